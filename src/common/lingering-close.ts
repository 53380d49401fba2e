import type { IncomingMessage } from 'node:http';
import { finished, PassThrough } from 'node:stream';
import type { FastifyInstance } from 'fastify';

/** How much of a refused request, body limit included, is read before its connection is closed. */
const LINGER_MAX_BYTES = 1024 * 1024;
// nginx's lingering_timeout and lingering_time: a client that stops sending, or
// sends too slowly to reach the byte bound, does not hold the connection longer.
const LINGER_IDLE_MS = 5_000;
const LINGER_MAX_MS = 30_000;

/**
 * A body over the limit is refused (413) as soon as the limit is crossed, while
 * the client is still sending. Node then closes the connection with the rest of
 * the body unread, which makes the kernel reset it, and a client still writing
 * gets EPIPE/ECONNRESET and may never see the 413 already in its receive
 * buffer. So, as nginx's lingering close does, the 413 is sent at once and its
 * response held open while the rest of the body is read and thrown away, up to
 * LINGER_MAX_BYTES; only then does the response end and the connection close
 * (so such a 413's logged duration includes that drain). Fastify has no such
 * option: it only marks the answer `Connection: close`.
 */
export function lingerAfterRefusedBody(fastify: FastifyInstance, bodyLimit: number): void {
  fastify.addHook('onSend', (request, reply, payload, done) => {
    // `complete` is false only while body bytes are still expected; inject's requests have no
    // such property, and no socket to reset.
    if (reply.statusCode !== 413 || request.raw.complete !== false) return done(null, payload);
    if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return done(null, payload);
    const body = new PassThrough();
    body.write(payload);
    void reply.header('content-length', Buffer.byteLength(payload)).header('connection', 'close');
    discardRest(request.raw, LINGER_MAX_BYTES - bodyLimit, () => {
      if (!body.destroyed) body.end();
    });
    done(null, body);
  });
}

/** Reads and drops the request's remaining body; `stop` once it ended or a bound is reached. */
function discardRest(raw: IncomingMessage, budget: number, stop: () => void): void {
  let left = budget;
  const end = () => {
    clearTimeout(idle);
    clearTimeout(deadline);
    raw.off('data', onData);
    cleanup();
    stop();
  };
  const onData = (chunk: Buffer) => {
    left -= chunk.length;
    if (left < 0) end();
    else idle.refresh();
  };
  const idle = setTimeout(end, LINGER_IDLE_MS);
  const deadline = setTimeout(end, LINGER_MAX_MS);
  const cleanup = finished(raw, end);
  raw.on('data', onData);
  // Fastify refuses an announced Content-Length over the limit without reading any of it.
  raw.resume();
}
