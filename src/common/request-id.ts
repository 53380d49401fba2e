import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

const SANE_REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

/**
 * The caller's X-Request-Id when it is 1–128 visible ASCII characters (safe to
 * echo in a header and a log line), otherwise a fresh UUID.
 */
export function requestIdFrom(headers: IncomingHttpHeaders): string {
  const given = headers['x-request-id'];
  return typeof given === 'string' && SANE_REQUEST_ID.test(given) ? given : randomUUID();
}
