import { Module } from '@nestjs/common';
import { AUTH_SETTINGS } from '../auth/auth.module.js';
import type { AuthSettings } from '../auth/auth-settings.js';
import { DatabaseModule } from '../database/database.module.js';
import { ChangeListener } from './change-listener.js';
import { ChangeStreams } from './change-streams.js';
import { ChangesController } from './changes.controller.js';
import { ChangesRepository } from './changes.repository.js';
import { ChangesService } from './changes.service.js';
import { SyncTokenCodec } from './sync-token-codec.js';

/** The change feed and its live stream: their own feature module beside Tasks and Lists. */
@Module({
  imports: [DatabaseModule],
  controllers: [ChangesController],
  providers: [
    ChangesRepository,
    ChangesService,
    ChangeListener,
    ChangeStreams,
    {
      provide: SyncTokenCodec,
      inject: [AUTH_SETTINGS],
      useFactory: (settings: AuthSettings) => new SyncTokenCodec(settings.cursorSecret),
    },
  ],
  exports: [ChangeStreams],
})
export class SyncModule {}
