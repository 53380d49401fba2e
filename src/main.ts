import { Logger } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import { EnvironmentVariables, validateEnvironmentOrExit } from './config/environment.js';

async function bootstrap(): Promise<void> {
  const env = validateEnvironmentOrExit(EnvironmentVariables);
  // Started before the application is imported, so that http, pg and pino are
  // instrumented when first loaded; without an endpoint no part of OpenTelemetry is loaded.
  const tracing = env.OTEL_EXPORTER_OTLP_ENDPOINT
    ? (await import('./telemetry/tracing.js')).startTracing({
        endpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT,
        serviceName: env.OTEL_SERVICE_NAME,
      })
    : undefined;
  // Imported only once the environment is known to be valid: the module graph
  // validates it again while it is built, and would report it less clearly.
  const { createApp } = await import('./app.factory.js');
  const { DatabaseLifecycle } = await import('./database/database.module.js');
  const { ShutdownState } = await import('./health/shutdown-state.js');
  const { MetricsService } = await import('./metrics/metrics.service.js');
  const app = await createApp();
  const logger = new Logger('Bootstrap');

  // SIGTERM (orchestrators) and SIGINT (Ctrl-C) drain instead of dropping requests:
  // readiness turns 503 at once while everything is still served for
  // SHUTDOWN_DELAY_MS (so the load balancer sees the 503 before any refusal), then
  // the server stops accepting connections and waits for in-flight requests, then
  // the pool and any embedded PostgreSQL are closed.
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.log(
      `${signal} received: readiness 503 for ${env.SHUTDOWN_DELAY_MS} ms, then draining (at most ${env.SHUTDOWN_GRACE_MS} ms)`,
    );
    app.get(ShutdownState).beginDraining();
    setTimeout(() => drain(), env.SHUTDOWN_DELAY_MS);
  };
  const drain = () => {
    // Past the grace period, connections still open (a stalled upload, a client
    // that never reads) are cut, so the close can complete; if even that hangs,
    // the process exits 1 shortly after.
    const deadline = setTimeout(() => {
      logger.warn(
        `requests still open after SHUTDOWN_GRACE_MS=${env.SHUTDOWN_GRACE_MS}: closing their connections`,
      );
      app.getHttpServer().closeAllConnections();
      setTimeout(() => {
        logger.error('shutdown did not complete; exiting');
        process.exit(1);
      }, 2000).unref();
    }, env.SHUTDOWN_GRACE_MS);
    deadline.unref();
    app
      .close()
      // The spans of the last requests, sent before the process exits (within a second).
      .then(() => tracing?.stop())
      .then(
        () => {
          logger.log('stopped');
          process.exit(0);
        },
        (error: unknown) => {
          logger.error(`shutdown failed: ${error instanceof Error ? error.message : String(error)}`);
          process.exit(1);
        },
      );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);

  await app.init();
  // Fastify's own listen: Nest's would log a listen error itself, and the failure
  // is reported once, below, as the one start-up line.
  const fastify: FastifyInstance = app.getHttpAdapter().getInstance();
  await fastify.listen({ port: env.PORT, host: env.HOST });
  // /metrics on METRICS_PORT, never on the API's port; app.close() stops it, after the API.
  await app.get(MetricsService).listen();
  logger.log(
    `ready on http://${env.HOST}:${env.PORT} (NODE_ENV=${env.NODE_ENV}); ${app.get(DatabaseLifecycle).summary}`,
  );
}

bootstrap().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`Start-up failed: ${message}\n`);
  process.exit(1);
});
