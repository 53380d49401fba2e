import type { IncomingMessage } from 'node:http';
import { UnsupportedMediaTypeException } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import secureJson from 'secure-json-parse';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { ConfigService } from '@nestjs/config';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module.js';
import type { AuthenticatedRequest } from './auth/current-user.decorator.js';
import type { EnvironmentVariables } from './config/environment.js';
import { sendProblem } from './common/problem-details.filter.js';
import { requestIdFrom } from './common/request-id.js';
import { ValidationError } from './database/data-layer.errors.js';
import { ShutdownState } from './health/shutdown-state.js';

export const BODY_LIMIT_BYTES = 64 * 1024;

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
    // A path Fastify cannot decode (`/api/v1/tasks/%zz`) is refused before any
    // hook or Nest filter runs; answer it as the same problem document.
    frameworkErrors: (_error: FastifyError, request: FastifyRequest, reply: FastifyReply) =>
      sendProblem(request, reply, {
        status: 400,
        code: 'VALIDATION_ERROR',
        title: 'Validation failed',
        detail: 'path must be valid percent-encoded UTF-8',
        errors: [{ field: 'path', message: 'must be valid percent-encoded UTF-8' }],
      }),
    // Kept on the raw request too, where nestjs-pino's middleware reads it, so
    // the response header and every log line of the request carry the same id.
    genReqId: (raw: IncomingMessage) =>
      ((raw as IncomingMessage & { id?: string }).id = requestIdFrom(raw.headers)),
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
  app.enableCors({
    origin: origins ? origins.split(',').map((o) => o.trim()) : false,
    exposedHeaders: ['ETag', 'Location', 'X-Request-Id', 'Retry-After', 'WWW-Authenticate', 'Allow'],
  });
  configureHttp(app.getHttpAdapter().getInstance(), app.get(Logger), app.get(ShutdownState));
  setUpOpenApi(app);
  return app;
}

function configureHttp(fastify: FastifyInstance, logger: Logger, shutdown: ShutdownState): void {
  // While draining, each answer closes its connection: a keep-alive client would
  // otherwise hold the server open until its idle timeout, past the grace period.
  fastify.addHook('onSend', async (_request, reply) => {
    if (shutdown.isDraining) void reply.header('connection', 'close');
  });

  // One line per request, when it is answered: method, route pattern, path (no
  // query: it may hold the user's search text), status, duration, request id and
  // user id. Never headers (tokens, cookies) or bodies.
  fastify.addHook('onResponse', async (request: AuthenticatedRequest, reply) => {
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
    if (reply.statusCode >= 500) logger.error(line, message, 'Http');
    else logger.log(line, message, 'Http');
  });

  fastify.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
    assertDecodableQuery(request);
  });
  // JSON only: text/plain (a Fastify default) and anything else is a 415. Our
  // own parser, because Fastify's hides why a body was refused.
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser(
    ['application/json', 'application/merge-patch+json'],
    { parseAs: 'string' },
    (_request, body, done) => {
      try {
        done(null, parseJsonBody(body as string));
      } catch (error) {
        done(error as Error, undefined);
      }
    },
  );
  fastify.addHook('preParsing', async (request) => {
    // An unknown route or method is a 404/405 whatever its body; only real routes check the type.
    if (request.is404 || (request.method !== 'POST' && request.method !== 'PATCH')) return;
    const type = request.headers['content-type'] ?? '';
    const accepted = JSON_TYPE.test(type) || (request.method === 'PATCH' && MERGE_PATCH_TYPE.test(type));
    if (!accepted) throw new UnsupportedMediaTypeException();
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
