import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { UnsupportedMediaTypeException } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import secureJson from 'secure-json-parse';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { ConfigService } from '@nestjs/config';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Logger, PinoLogger } from 'nestjs-pino';
import { AppModule } from './app.module.js';
import type { AuthenticatedRequest } from './auth/current-user.decorator.js';
import type { EnvironmentVariables } from './config/environment.js';
import { problemDocument, sendProblem } from './common/problem-details.filter.js';
import { lingerAfterRefusedBody } from './common/lingering-close.js';
import { requestIdFrom } from './common/request-id.js';
import { ValidationError } from './database/data-layer.errors.js';
import { ShutdownState } from './health/shutdown-state.js';
import { MetricsService } from './metrics/metrics.service.js';

export const BODY_LIMIT_BYTES = 64 * 1024;
// Above Fastify's keep-alive timeout (72 s), itself above the usual 60 s idle
// timeout of load balancers, so idle keep-alive connections end on their terms.
const IDLE_CONNECTION_TIMEOUT_MS = 75_000;

/** What the HTTP parser refused, as a problem document on the raw socket. */
function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable) return;
  const [status, reason, title, detail] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [
          431,
          'Request Header Fields Too Large',
          'Request header fields too large',
          'headers are larger than the server accepts',
        ]
      : [400, 'Bad Request', 'Bad request', 'the request is not valid HTTP'];
  const requestId = randomUUID();
  const body = JSON.stringify(
    problemDocument({ status, code: 'VALIDATION_ERROR', title, detail }, '/', requestId),
  );
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\n` +
      `content-type: application/problem+json\r\nx-request-id: ${requestId}\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

const JSON_TYPE = /^application\/json\s*(;|$)/i;
const MERGE_PATCH_TYPE = /^application\/merge-patch\+json\s*(;|$)/i;

/**
 * Builds the application exactly as it runs in production; main.ts and the
 * tests both use it, so what the tests exercise is what is deployed. Only what
 * Nest modules cannot express lives here: Fastify's own options and hooks,
 * CORS and the OpenAPI document.
 */
export async function createApp(): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: BODY_LIMIT_BYTES,
    // Long non-UUID ids must reach the handler to be answered 400, not 404.
    routerOptions: { maxParamLength: 2048 },
    // A path Fastify cannot decode (`/api/v1/tasks/%zz`) or an over-long id is
    // refused before any hook or Nest filter runs; answer it as the same problem document.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const [field, message] =
        error.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? ['id', 'must be a UUID']
          : ['path', 'must be valid percent-encoded UTF-8'];
      sendProblem(request, reply, {
        status: 400,
        code: 'VALIDATION_ERROR',
        title: 'Validation failed',
        detail: `${field} ${message}`,
        errors: [{ field, message }],
      });
    },
    // Requests that the HTTP parser itself refuses (a malformed request line,
    // headers over the size limit) never become Fastify requests: answer them
    // with a problem document too, rather than Fastify's own JSON.
    clientErrorHandler: answerClientError,
    // A client that stops sending (a stalled body, a slowloris) must not hold a
    // connection forever: it is closed after this long without any data.
    connectionTimeout: IDLE_CONNECTION_TIMEOUT_MS,
    // Requests already on an open connection when draining starts are served;
    // their answers close the connection (see the onSend hook).
    return503OnClosing: false,
    genReqId: (raw: IncomingMessage) => requestIdFrom(raw.headers),
    // No Nest middleware is used (see the onRequest hook in configureHttp), so
    // @fastify/middie is not registered and costs nothing per request. Adding
    // Nest middleware or app.use() would need it back: without it they fail at start-up.
    skipMiddie: true,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule, adapter, {
    bufferLogs: true,
    abortOnError: false,
    // Bodies are parsed by our own JSON parser (configureHttp), not Nest's.
    bodyParser: false,
  });
  app.useLogger(app.get(Logger));
  const config = app.get<ConfigService<EnvironmentVariables, true>>(ConfigService);
  const origins = config.get('CORS_ORIGINS', { infer: true });
  // Without CORS_ORIGINS no origin is allowed, so the CORS hook is not installed at
  // all: it would otherwise run on every request to say no.
  if (origins) {
    app.enableCors({
      origin: origins.split(',').map((o) => o.trim()),
      exposedHeaders: ['ETag', 'Location', 'X-Request-Id', 'Retry-After', 'WWW-Authenticate', 'Allow'],
    });
  }
  configureHttp(
    app.getHttpAdapter().getInstance(),
    app.get(Logger),
    await app.resolve(PinoLogger),
    app.get(ShutdownState),
  );
  app.get(MetricsService).instrument(app.getHttpAdapter().getInstance());
  setUpOpenApi(app);
  return app;
}

function configureHttp(
  fastify: FastifyInstance,
  logger: Logger,
  pinoLogger: PinoLogger,
  shutdown: ShutdownState,
): void {
  // Every answer carries X-Request-Id, set here rather than on request: a CORS
  // preflight is answered by Nest's CORS hook before any hook of ours runs.
  // While draining, each answer closes its connection: a keep-alive client would
  // otherwise hold the server open until its idle timeout, past the grace period.
  // The hooks take callbacks rather than being async: each async hook costs a
  // promise and a microtask turn per request.
  fastify.addHook('onSend', (request, reply, payload, done) => {
    void reply.header('x-request-id', request.id);
    if (shutdown.isDraining) void reply.header('connection', 'close');
    done(null, payload);
  });
  // Turns a 413's payload into a stream: onSend hooks that read payloads belong above it.
  lingerAfterRefusedBody(fastify, BODY_LIMIT_BYTES);

  // One line per request, when it is answered: method, route pattern, path (no
  // query: it may hold the user's search text), status, duration, request id and
  // user id. Never headers (tokens, cookies) or bodies.
  fastify.addHook('onResponse', (request: AuthenticatedRequest, reply, done) => {
    const route = request.routeOptions.url;
    const path = request.url.split('?')[0];
    const durationMs = Math.round(reply.elapsedTime * 10) / 10;
    const line = {
      requestId: request.id,
      method: request.method,
      route,
      path,
      status: reply.statusCode,
      durationMs,
      userId: request.userId,
    };
    const message = `${request.method} ${route ?? path} ${reply.statusCode} ${durationMs}ms`;
    // Always info: a 5xx was already logged once, with its stack, by the filter.
    logger.log(line, message, 'Http');
    done();
  });

  // Every line logged while the request runs (the request line above, a 5xx
  // with its stack) carries its id, method and path (the `req` serializer in
  // app.module.ts). Bound here, not by nestjs-pino's pino-http middleware: through
  // Nest's middleware layer that cost a tenth of the instructions of a GET.
  fastify.addHook('onRequest', (request, _reply, done) => {
    pinoLogger.runInContext(
      () => {
        try {
          assertDecodableQuery(request);
          done();
        } catch (error) {
          done(error as Error);
        }
      },
      { bindings: { req: request } },
    );
  });
  // JSON only: text/plain (a Fastify default) and anything else is a 415. Our
  // own parser, because Fastify's hides why a body was refused.
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser(
    ['application/json', 'application/merge-patch+json'],
    { parseAs: 'string' },
    (request, body, done) => {
      // Only POST and PATCH take a body; a Content-Type on a DELETE (common in
      // fetch wrappers) must not turn an empty body into an error.
      if (request.method !== 'POST' && request.method !== 'PATCH') return done(null, undefined);
      try {
        done(null, parseJsonBody(body as string));
      } catch (error) {
        done(error as Error, undefined);
      }
    },
  );
  fastify.addHook('preParsing', (request, _reply, payload, done) => {
    // An unknown route or method is a 404/405 whatever its body; only real routes check the type.
    if (request.is404 || (request.method !== 'POST' && request.method !== 'PATCH'))
      return done(null, payload);
    const type = request.headers['content-type'] ?? '';
    const accepted = JSON_TYPE.test(type) || (request.method === 'PATCH' && MERGE_PATCH_TYPE.test(type));
    done(accepted ? null : new UnsupportedMediaTypeException(), payload);
  });
}

/**
 * JSON with prototype-poisoning keys refused (secure-json-parse, as Fastify
 * does), each failure reported as what it is.
 */
function parseJsonBody(body: string): unknown {
  if (body.length === 0) throw ValidationError.field('body', 'must not be empty');
  try {
    return secureJson.parse(body, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (error) {
    const prototypeKey = error instanceof SyntaxError && /prototype/.test(error.message);
    throw ValidationError.field(
      'body',
      prototypeKey ? 'must not contain __proto__ or constructor.prototype keys' : 'must be valid JSON',
    );
  }
}

/** `q=%zz`, `q=%` or percent-encoded bytes that are not UTF-8 are a 400, not silently kept. */
function assertDecodableQuery(request: FastifyRequest): void {
  const start = request.url.indexOf('?');
  if (start < 0) return;
  for (const part of request.url.slice(start + 1).split('&')) {
    try {
      decodeURIComponent(part.replaceAll('+', ' '));
    } catch {
      throw ValidationError.field('query', 'must be valid percent-encoded UTF-8');
    }
  }
}

function setUpOpenApi(app: NestFastifyApplication): void {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Tasks API')
      .setDescription(
        'Multi-user tasks. Every /api/v1 route needs `Authorization: Bearer <JWT>`; the token’s `sub` is the ' +
          'owner, and a task of another user is indistinguishable from a missing one (404). Errors are RFC 9457 ' +
          'problem documents (application/problem+json) with a stable `code`. Every response has X-Request-Id.',
      )
      .setVersion('1')
      .addServer('/')
      .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi.json', raw: ['json'] });
}
