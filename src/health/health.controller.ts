import { MikroORM } from '@mikro-orm/core';
import { applyDecorators, Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import {
  HealthCheck,
  HealthCheckService,
  HealthIndicatorService,
  MikroOrmHealthIndicator,
  type HealthCheckResult,
} from '@nestjs/terminus';
import { Public } from '../auth/public.decorator.js';
import { NoQuery } from '../common/no-query.dto.js';
import { ApiProblems, REQUEST_ID_HEADER } from '../common/problem.schema.js';
import { ChangeStreams } from '../sync/change-streams.js';
import { ShutdownState } from './shutdown-state.js';

const PING_TIMEOUT_MS = 1000;

const TERMINUS_BODY = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['ok', 'error', 'shutting_down'] },
    info: { type: 'object', additionalProperties: true },
    error: { type: 'object', additionalProperties: true },
    details: { type: 'object', additionalProperties: true },
  },
  example: {
    status: 'error',
    info: {},
    error: { database: { status: 'down', message: 'timeout of 1000ms exceeded' } },
    details: { database: { status: 'down', message: 'timeout of 1000ms exceeded' } },
  },
};

/** /health/ready and /health answer alike: 200 when ready, 503 naming the failed check. */
const ApiReadinessResponses = () =>
  applyDecorators(
    ApiResponse({ status: 200, description: 'Ready', headers: REQUEST_ID_HEADER, schema: TERMINUS_BODY }),
    ApiResponse({
      status: 503,
      description: 'Not ready; says which check failed',
      headers: REQUEST_ID_HEADER,
      schema: TERMINUS_BODY,
    }),
  );

/**
 * Terminus probes for the load balancer and the orchestrator: liveness never
 * touches the database (a database outage must not get healthy processes
 * restarted); readiness pings it, checks that no migration is pending and
 * turns 503 as soon as the process starts shutting down.
 */
@ApiTags('health')
@ApiProblems('/health', 'VALIDATION_ERROR')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly database: MikroOrmHealthIndicator,
    private readonly orm: MikroORM,
    private readonly shutdown: ShutdownState,
    private readonly streams: ChangeStreams,
  ) {}

  @Get('live')
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOperation({
    summary: 'Liveness: the process can serve requests (no database access)',
    operationId: 'live',
    security: [],
  })
  @ApiResponse({ status: 200, description: 'Alive', headers: REQUEST_ID_HEADER, schema: TERMINUS_BODY })
  live(@Query() _query: NoQuery): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  @Get('ready')
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOperation({
    summary: 'Readiness: database answers within 1 s, no pending migration',
    operationId: 'ready',
    security: [],
  })
  @ApiReadinessResponses()
  ready(@Query() _query: NoQuery): Promise<HealthCheckResult> {
    return this.readiness();
  }

  @Get()
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOperation({ summary: 'The same as /health/ready', operationId: 'health', security: [] })
  @ApiReadinessResponses()
  check(@Query() _query: NoQuery): Promise<HealthCheckResult> {
    return this.readiness();
  }

  private readiness(): Promise<HealthCheckResult> {
    return this.health.check([
      () => {
        const check = this.indicators.check('shutdown');
        return this.shutdown.isDraining ? check.down('shutting down') : check.up();
      },
      () => this.database.pingCheck('database').withTimeout(PING_TIMEOUT_MS),
      // Reported, never failing: without its LISTEN connection the instance refuses new change
      // streams (503) but serves everything else, so it stays ready.
      () =>
        this.indicators
          .check('changeStreams')
          .up({ listening: this.streams.listening, open: this.streams.count }),
      () =>
        this.indicators
          .check('migrations')
          .attempt(async () => {
            const pending = await this.orm.migrator.getPending();
            if (pending.length > 0) {
              throw new Error(`pending: ${pending.map((m) => m.name).join(', ')}`);
            }
          })
          .withTimeout(PING_TIMEOUT_MS),
    ]);
  }
}
