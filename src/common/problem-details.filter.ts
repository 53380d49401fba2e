import {
  Catch,
  HttpException,
  Logger,
  ServiceUnavailableException,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AuthenticationError, KeySetUnavailableError } from '../auth/auth.errors.js';
import {
  DataLayerError,
  DatabaseConnectionError,
  QuotaExceededError,
  StreamsUnavailableError,
  ValidationError,
  type FieldProblem,
} from '../database/data-layer.errors.js';
import { RouteTable } from './route-table.js';

/** RFC 9457 problem document, as the contract shapes it. */
export interface Problem {
  type: 'about:blank';
  title: string;
  status: number;
  code: string;
  detail: string;
  instance: string;
  requestId: string;
  errors?: FieldProblem[];
  limit?: number;
}

export interface Mapped {
  status: number;
  code: string;
  title: string;
  detail: string;
  errors?: FieldProblem[];
  limit?: number;
  headers?: Record<string, string>;
}

export const RETRY_AFTER_SECONDS = '5';

const DATA_LAYER: Record<string, Pick<Mapped, 'status' | 'title'>> = {
  TASK_NOT_FOUND: { status: 404, title: 'Task not found' },
  VALIDATION_ERROR: { status: 400, title: 'Validation failed' },
  PRECONDITION_FAILED: { status: 412, title: 'Precondition failed' },
  SERVICE_UNAVAILABLE: { status: 503, title: 'Service unavailable' },
  IDEMPOTENCY_KEY_IN_PROGRESS: { status: 409, title: 'Idempotency key in progress' },
  IDEMPOTENCY_KEY_REUSED: { status: 422, title: 'Idempotency key reused' },
  LIST_NOT_FOUND: { status: 404, title: 'List not found' },
  REFERENCE_NOT_FOUND: { status: 422, title: 'Reference not found' },
  INVALID_PARENT: { status: 422, title: 'Invalid parent' },
  QUOTA_EXCEEDED: { status: 403, title: 'Quota exceeded' },
  LIST_NAME_TAKEN: { status: 409, title: 'List name taken' },
  SYNC_TOKEN_EXPIRED: { status: 410, title: 'Sync token expired' },
  TOO_MANY_STREAMS: { status: 429, title: 'Too many streams' },
};

// Framework errors (routing, body parsing) arrive as HttpExceptions with a status only.
const BY_STATUS: Record<number, Pick<Mapped, 'code' | 'title' | 'detail'>> = {
  400: { code: 'VALIDATION_ERROR', title: 'Validation failed', detail: 'The request is malformed' },
  404: { code: 'ROUTE_NOT_FOUND', title: 'Route not found', detail: 'No such route' },
  405: {
    code: 'METHOD_NOT_ALLOWED',
    title: 'Method not allowed',
    detail: 'The route does not support this method',
  },
  413: {
    code: 'PAYLOAD_TOO_LARGE',
    title: 'Payload too large',
    detail: 'The request body is larger than 64 KiB',
  },
  415: {
    code: 'UNSUPPORTED_MEDIA_TYPE',
    title: 'Unsupported media type',
    detail: 'The request body must be sent as application/json',
  },
};

const INTERNAL: Mapped = {
  status: 500,
  code: 'INTERNAL_ERROR',
  title: 'Internal server error',
  detail: 'An unexpected error occurred',
};

/**
 * The one place where errors become HTTP responses: DataLayerErrors by their
 * code, authentication failures as 401 with WWW-Authenticate, framework errors
 * by status, and anything else as a bare 500 whose stack goes to the log only.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemDetails');

  constructor(private readonly routes: RouteTable) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    if (exception instanceof ServiceUnavailableException && request.routeOptions.url?.startsWith('/health')) {
      // The contract's one exception: probes and dashboards expect Terminus's body.
      void reply.status(503).send(exception.getResponse());
      return;
    }
    const mapped = this.map(exception, request);
    if (mapped.status >= 500) {
      // Logged once, here, where it is answered; 503s are expected during outages.
      const log = mapped.status === 503 ? 'warn' : 'error';
      this.logger[log](
        { err: exception, requestId: request.id },
        `${request.method} ${request.url.split('?')[0]} failed: ${exception instanceof Error ? exception.message : String(exception)}`,
      );
    }
    sendProblem(request, reply, mapped);
  }

  private map(exception: unknown, request: FastifyRequest): Mapped {
    if (exception instanceof ValidationError) {
      return {
        ...DATA_LAYER.VALIDATION_ERROR,
        code: exception.code,
        detail: exception.errors.map((e) => `${e.field} ${e.message}`).join('; '),
        errors: exception.errors,
      };
    }
    if (exception instanceof DatabaseConnectionError || exception instanceof KeySetUnavailableError) {
      return {
        ...DATA_LAYER.SERVICE_UNAVAILABLE,
        code: 'SERVICE_UNAVAILABLE',
        detail: 'The service cannot reach a dependency; try again shortly',
        headers: { 'retry-after': RETRY_AFTER_SECONDS },
      };
    }
    if (exception instanceof StreamsUnavailableError) {
      return {
        ...DATA_LAYER.SERVICE_UNAVAILABLE,
        code: exception.code,
        detail: exception.message,
        headers: { 'retry-after': RETRY_AFTER_SECONDS },
      };
    }
    if (exception instanceof QuotaExceededError) {
      return {
        ...DATA_LAYER.QUOTA_EXCEEDED,
        code: exception.code,
        detail: exception.message,
        limit: exception.limit,
      };
    }
    if (exception instanceof DataLayerError && DATA_LAYER[exception.code]) {
      return { ...DATA_LAYER[exception.code], code: exception.code, detail: exception.message };
    }
    if (exception instanceof AuthenticationError) {
      // RFC 6750: no error attribute when no credentials were sent at all.
      const challenge =
        exception.code === 'MISSING_TOKEN'
          ? 'Bearer realm="tasks"'
          : `Bearer realm="tasks", error="invalid_token", error_description="${quotable(exception.message)}"`;
      return {
        status: 401,
        code: exception.code,
        title: 'Unauthorized',
        detail: exception.message,
        headers: { 'www-authenticate': challenge },
      };
    }
    if (exception instanceof HttpException) return this.mapHttp(exception, request);
    return INTERNAL;
  }

  private mapHttp(exception: HttpException, request: FastifyRequest): Mapped {
    let status: number = exception.getStatus();
    const headers: Record<string, string> = {};
    if (status === 404) {
      const allowed = this.routes.allowedMethods(request.url.split('?')[0]);
      // A route that exists for this very method and still says 404 (a missing
      // static file under /docs) is a plain 404, not a 405.
      if (allowed.length > 0 && !allowed.includes(request.method)) {
        status = 405;
        headers.allow = allowed.join(', ');
      }
    }
    const known = BY_STATUS[status];
    if (!known) return status >= 500 ? INTERNAL : { status, ...BY_STATUS[400], headers };
    return { status, ...known, headers };
  }
}

/** RFC 6750 allows only %x20-21 / %x23-5B / %x5D-7E inside error_description. */
function quotable(text: string): string {
  return text.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, "'");
}

/** The RFC 9457 body for a mapped error: the one place its shape is written. */
export function problemDocument(mapped: Mapped, instance: string, requestId: string): Problem {
  return {
    type: 'about:blank',
    title: mapped.title,
    status: mapped.status,
    code: mapped.code,
    detail: mapped.detail,
    instance,
    requestId,
    ...(mapped.errors ? { errors: mapped.errors } : {}),
    ...(mapped.limit !== undefined ? { limit: mapped.limit } : {}),
  };
}

/** Writes a problem document; also used for errors Fastify raises before Nest sees the request. */
export function sendProblem(request: FastifyRequest, reply: FastifyReply, mapped: Mapped): void {
  const problem = problemDocument(mapped, request.url.split('?')[0], request.id);
  void reply
    .status(mapped.status)
    .headers(mapped.headers ?? {})
    // Also set by the onSend hook (src/app.factory.ts), which frameworkErrors' replies never reach.
    .header('x-request-id', request.id)
    .header('content-type', 'application/problem+json')
    .send(problem);
}
