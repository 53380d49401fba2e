import { Global, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { SyncModule } from '../sync/sync.module.js';
import { HealthController } from './health.controller.js';
import { ShutdownState } from './shutdown-state.js';

@Global()
@Module({
  // Terminus logs failed checks itself; our request log line already says 503.
  imports: [TerminusModule.forRoot({ logger: false, errorLogStyle: 'pretty' }), SyncModule],
  controllers: [HealthController],
  providers: [ShutdownState],
  exports: [ShutdownState],
})
export class HealthModule {}
