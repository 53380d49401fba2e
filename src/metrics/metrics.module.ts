import { Module } from '@nestjs/common';
import { DatabaseModule } from '../database/database.module.js';
import { SyncModule } from '../sync/sync.module.js';
import { MetricsService } from './metrics.service.js';

/** Prometheus metrics on a listener of their own: a feature module beside Tasks, Lists, Sync and Health. */
@Module({
  imports: [DatabaseModule, SyncModule],
  providers: [MetricsService],
  exports: [MetricsService],
})
export class MetricsModule {}
