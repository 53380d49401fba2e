import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { EnvironmentVariables } from '../config/environment.js';
import { SqlRunner } from '../database/sql-runner.js';
import { ChangeStreams } from '../sync/change-streams.js';

/** The change stream's route: its requests last as long as the stream, so they are counted apart. */
const STREAM_ROUTE = '/api/v1/changes/stream';
/** The route label of a request no route matched, so that random paths cannot grow the series. */
const UNMATCHED = 'unmatched';

/**
 * The service's Prometheus metrics (README, Metrics), in a registry of this
 * app's own, served on a listener of their own (HOST:METRICS_PORT), never on
 * the API's port. METRICS_PORT=0 turns all of it off: no listener, no request
 * hooks.
 */
@Injectable()
export class MetricsService implements OnApplicationShutdown {
  private readonly logger = new Logger('Metrics');
  private readonly registry = new Registry();
  private readonly port: number;
  private readonly host: string;
  private server: Server | undefined;

  private readonly requestDuration = new Histogram({
    name: 'http_server_request_duration_seconds',
    help:
      'Seconds from a request reaching Fastify to its answer written out, by method, route pattern and status; ' +
      'change streams (200 on GET /api/v1/changes/stream) are left out, see tasks_change_streams_open.',
    labelNames: ['method', 'route', 'status_code'],
    // Dense around the 40 ms p99 target, so that histogram_quantile is precise where it matters.
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  private readonly activeRequests = new Gauge({
    name: 'http_server_active_requests',
    help: 'Requests received and not yet answered (or abandoned by their client); change streams are left out.',
    registers: [this.registry],
  });

  constructor(sql: SqlRunner, streams: ChangeStreams, config: ConfigService<EnvironmentVariables, true>) {
    this.port = config.get('METRICS_PORT', { infer: true });
    this.host = config.get('HOST', { infer: true });
    this.registry.registerMetric(sql.statementDuration);
    this.registry.registerMetric(streams.deliveryDelay);
    // Read when scraped: the pool and the streams keep their own counts.
    new Gauge({
      name: 'db_client_connections',
      help: 'Connections of the pg pool by state: idle, or used by a statement or transaction.',
      labelNames: ['state'],
      registers: [this.registry],
      async collect() {
        const pool = await sql.poolStats();
        this.set({ state: 'idle' }, pool.idle);
        this.set({ state: 'used' }, pool.total - pool.idle);
      },
    });
    new Gauge({
      name: 'db_client_connections_max',
      help: 'The most connections the pg pool opens (DB_POOL_MAX).',
      registers: [this.registry],
      async collect() {
        this.set((await sql.poolStats()).max);
      },
    });
    new Gauge({
      name: 'db_client_connections_pending_requests',
      help: 'Statements and transactions waiting for a free connection of the pg pool.',
      registers: [this.registry],
      async collect() {
        this.set((await sql.poolStats()).waiting);
      },
    });
    new Gauge({
      name: 'tasks_change_streams_open',
      help: 'Change streams (GET /api/v1/changes/stream) open on this instance.',
      registers: [this.registry],
      collect() {
        this.set(streams.count);
      },
    });
  }

  /**
   * Times every request from Fastify's hooks. Fastify's own clock
   * (reply.elapsedTime) gives the duration; callbacks, not async hooks, cost no
   * promise per request. A request leaves the in-flight count when its
   * response closes, which also happens when the client goes away first
   * (onResponse would not run then).
   */
  instrument(fastify: FastifyInstance): void {
    if (this.port === 0) return;
    const active = this.activeRequests;
    const duration = this.requestDuration;
    const answered = () => active.dec();
    fastify.addHook('onRequest', (request, reply, done) => {
      if (request.routeOptions.url !== STREAM_ROUTE) {
        active.inc();
        reply.raw.on('close', answered);
      }
      done();
    });
    fastify.addHook('onResponse', (request, reply, done) => {
      const route = request.is404 ? UNMATCHED : (request.routeOptions.url ?? UNMATCHED);
      // A refused stream (400, 429, 503…) is an ordinary short request and an
      // error the dashboard must see; only a stream that ran is left out.
      if (route !== STREAM_ROUTE || reply.statusCode !== 200) {
        duration.observe(
          { method: request.method, route, status_code: reply.statusCode },
          reply.elapsedTime / 1000,
        );
      }
      done();
    });
  }

  /**
   * Serves GET /metrics on HOST:METRICS_PORT and starts sampling the process
   * (CPU, memory, event loop delay, GC), which only a listener reads; returns
   * the port, or undefined when METRICS_PORT=0. main.ts calls it once the API
   * listens; app.close() stops it.
   */
  async listen(): Promise<number | undefined> {
    if (this.port === 0) return undefined;
    const server = createServer((request, response) => void this.answer(request, response));
    await new Promise<void>((resolve, reject) => {
      const refused = (error: Error) => reject(new Error(`METRICS_PORT=${this.port}: ${error.message}`));
      server.once('error', refused);
      server.listen(this.port, this.host, () => {
        server.off('error', refused);
        resolve();
      });
    });
    this.server = server;
    collectDefaultMetrics({ register: this.registry });
    // Gauges whose _total suffix Prometheus keeps for counters (promtool check metrics refuses
    // them); each is the sum of its unsuffixed gauge's series by type.
    for (const name of ['handles', 'requests', 'resources'])
      this.registry.removeSingleMetric(`nodejs_active_${name}_total`);
    this.logger.log(`metrics on http://${this.host}:${this.port}/metrics`);
    return (server.address() as AddressInfo).port;
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise((resolve) => server.close(resolve));
  }

  private async answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response
        .writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
        .end('Not found: GET /metrics\n');
      return;
    }
    try {
      const body = await this.registry.metrics();
      response.writeHead(200, { 'content-type': this.registry.contentType }).end(body);
    } catch (error) {
      this.logger.error(
        `collecting metrics failed: ${error instanceof Error ? error.message : String(error)}`,
      );
      response
        .writeHead(500, { 'content-type': 'text/plain; charset=utf-8' })
        .end('collecting metrics failed\n');
    }
  }
}
