import { AsyncLocalStorage } from 'node:async_hooks';
import { Logger } from '@nestjs/common';
import { diag, DiagLogLevel, type DiagLogFunction } from '@opentelemetry/api';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { PinoInstrumentation } from '@opentelemetry/instrumentation-pino';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { FastifyOtelInstrumentation } from '@fastify/otel';

/** How long shutdown waits for the last spans to reach the collector. */
const FLUSH_ON_EXIT_MS = 1000;
/** At most one line per this period about the exporter failing: a collector outage must not flood the logs. */
const DIAG_LINE_EVERY_MS = 60_000;

// Probes arrive every few seconds from every orchestrator and load balancer:
// as traces they would outnumber the requests worth looking at. (/metrics has
// a listener of its own, which is not traced.)
const UNTRACED_PATHS = /^\/health(\/|\?|$)/;

export interface Tracing {
  /** Exports the spans still buffered; resolves within FLUSH_ON_EXIT_MS even when the collector does not answer. */
  stop(): Promise<void>;
}

/**
 * Starts the OpenTelemetry SDK. It must run before the modules it
 * instruments (http, pg, pino) are first required, so main.ts calls it before
 * importing the application; fastify is instrumented through the
 * diagnostics channel every Fastify instance announces itself on.
 *
 * The exporter, sampler and propagators are the SDK's own, configured by the
 * standard OTEL_* variables of the process environment (OTLP over
 * http/protobuf by default); only traces are set up here: metrics have their
 * own /metrics listener, and logs stay JSON lines on stdout.
 */
export function startTracing(settings: { endpoint: string; serviceName?: string }): Tracing {
  // Validated by our environment schema, possibly read from .env, which the SDK never reads.
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = settings.endpoint;
  reportSdkProblemsThroughLogs();
  const sdk = new NodeSDK({
    serviceName: settings.serviceName ?? 'tasks-service',
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      // The server span is @fastify/otel's (below); this one instruments outgoing
      // requests only: its incoming-request span, a second per request, cost a
      // quarter of the traced throughput of a GET.
      new HttpInstrumentation({ disableIncomingRequestInstrumentation: true }),
      // Outgoing fetch calls: the JWKS download when tokens are verified against one.
      new UndiciInstrumentation(),
      // One SERVER span per request, named by its route pattern (http.route), and
      // continuing the caller's trace when a traceparent header comes with it.
      new FastifyOtelInstrumentation({
        registerOnInitialization: true,
        // Spans for each hook and for the handler would cost more than they tell.
        instrumentHooks: false,
        instrumentHandler: false,
        ignorePaths: (route) => UNTRACED_PATHS.test(route.url),
        requestHook: (span, request) => {
          span.updateName(`${request.method} ${request.routeOptions.url ?? ''}`.trim());
          // Its url.path would be the whole URL: the query may hold the user's search text.
          span.setAttribute('url.path', request.url.split('?')[0]);
        },
      }),
      new PgInstrumentation({
        // Bound values are user data (titles, notes, ids): never recorded; the
        // statement text has only $n placeholders.
        enhancedDatabaseReporting: false,
        // Statements outside a request (migrations, the change listener) would
        // each be a trace of one span.
        requireParentSpan: true,
        // A wait for a pooled connection shows as the gap before a statement's
        // span (and in /metrics); a span of its own per statement doubled their number.
        ignoreConnectSpans: true,
      }),
      // trace_id, span_id and trace_flags on each log line written during a
      // request; the lines themselves are not sent to the collector.
      new PinoInstrumentation({ disableLogSending: true }),
    ],
  });
  sdk.start();
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, FLUSH_ON_EXIT_MS);
        sdk.shutdown().then(
          () => {
            clearTimeout(timer);
            resolve();
          },
          () => resolve(),
        );
      }),
  };
}

/**
 * The SDK reports a failed export (collector down, refused, too slow) through
 * its diagnostic logger, silent by default. Its warnings and errors become our
 * log lines (JSON once the application's logger is in place), at most one per
 * DIAG_LINE_EVERY_MS with a count of those left out. OTEL_LOG_LEVEL, when set,
 * replaces this with the SDK's own console output.
 */
function reportSdkProblemsThroughLogs(): void {
  const logger = new Logger('Tracing');
  // The SDK warns about bad OTEL_* settings while it starts, before the
  // application and its pino logger exist: Nest's console logger would print
  // them as coloured text among the JSON lines. Held until the application's
  // logger takes over (app.useLogger flushes them), as Nest's bufferLogs does.
  Logger.attachBuffer();
  // The export timer starts inside whichever request ended the first span of a
  // batch: without this, the line would carry that request's id and trace id.
  const outsideRequests = AsyncLocalStorage.snapshot();
  let lastLineAt = -Infinity;
  let suppressed = 0;
  const report =
    (level: 'error' | 'warn'): DiagLogFunction =>
    (message, ...args) => {
      const now = Date.now();
      if (now - lastLineAt < DIAG_LINE_EVERY_MS) {
        suppressed++;
        return;
      }
      const details = [message, ...args].map(describe).join(' ');
      const skipped = suppressed > 0 ? ` (${suppressed} similar messages left out)` : '';
      outsideRequests(() => logger[level](`OpenTelemetry: ${details}${skipped}`));
      lastLineAt = now;
      suppressed = 0;
    };
  const ignore: DiagLogFunction = () => undefined;
  diag.setLogger(
    { error: report('error'), warn: report('warn'), info: ignore, debug: ignore, verbose: ignore },
    DiagLogLevel.WARN,
  );
}

/** The message of an error, which the SDK hands over as a JSON string with its stack. */
function describe(value: unknown): string {
  if (value instanceof Error) return value.message;
  if (typeof value !== 'string' || !value.startsWith('{')) return String(value);
  try {
    const flattened = JSON.parse(value) as { message?: unknown };
    return typeof flattened.message === 'string' ? flattened.message : value;
  } catch {
    return value;
  }
}
