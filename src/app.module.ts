import { Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { ConfigService } from '@nestjs/config';
import { LoggerModule } from 'nestjs-pino';
import pino, { type DestinationStream } from 'pino';
import type { Options } from 'pino-http';
import { AuthModule } from './auth/auth.module.js';
import { ProblemDetailsFilter } from './common/problem-details.filter.js';
import { RequestValidationPipe } from './common/request-validation.pipe.js';
import { RouteTable } from './common/route-table.js';
import { AppConfigModule } from './config/config.module.js';
import type { EnvironmentVariables } from './config/environment.js';
import { DatabaseModule } from './database/database.module.js';
import { HealthModule } from './health/health.module.js';
import { ListsModule } from './lists/lists.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { SyncModule } from './sync/sync.module.js';
import { TasksModule } from './tasks/tasks.module.js';

@Module({
  imports: [
    AppConfigModule,
    LoggerModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<EnvironmentVariables, true>) => {
        const options: Options = {
          level: config.get('LOG_LEVEL', { infer: true }),
          // What each line of a request carries about it (bound in src/app.factory.ts):
          // its id, method and path; never headers (tokens, cookies), the query
          // string or the body.
          serializers: {
            req: (req: { id: string; method: string; url: string }) => ({
              id: req.id,
              method: req.method,
              path: req.url.split('?')[0],
            }),
          },
        };
        // No Nest middleware: a Fastify hook binds each request to its log lines
        // (src/app.factory.ts says why).
        const forRoutes: never[] = [];
        if (config.get('NODE_ENV', { infer: true }) === 'development') {
          // Readable lines for a developer.
          const transport = { target: 'pino-pretty', options: { singleLine: true, ignore: 'pid,hostname' } };
          return { forRoutes, pinoHttp: { ...options, transport } };
        }
        // JSON lines for log shippers (and tests), written in batches: one write per
        // request line was a tenth of the service's CPU under load. A line waits at
        // most 100 ms, and whatever is buffered is written when the process exits.
        const destination = pino.destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: 100 });
        return { forRoutes, pinoHttp: [options, destination] as [Options, DestinationStream] };
      },
    }),
    DatabaseModule,
    AuthModule,
    TasksModule,
    ListsModule,
    SyncModule,
    HealthModule,
    MetricsModule,
  ],
  providers: [
    RouteTable,
    { provide: APP_FILTER, useClass: ProblemDetailsFilter },
    { provide: APP_PIPE, useClass: RequestValidationPipe },
  ],
})
export class AppModule {}
