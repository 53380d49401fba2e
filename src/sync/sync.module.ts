import { Module } from '@nestjs/common';
import { AUTH_SETTINGS } from '../auth/auth.module.js';
import type { AuthSettings } from '../auth/auth-settings.js';
import { ChangesController } from './changes.controller.js';
import { ChangesRepository } from './changes.repository.js';
import { ChangesService } from './changes.service.js';
import { SyncTokenCodec } from './sync-token-codec.js';

/** The change feed: its own feature module beside Tasks and Lists. */
@Module({
  controllers: [ChangesController],
  providers: [
    ChangesRepository,
    ChangesService,
    {
      provide: SyncTokenCodec,
      inject: [AUTH_SETTINGS],
      useFactory: (settings: AuthSettings) => new SyncTokenCodec(settings.cursorSecret),
    },
  ],
})
export class SyncModule {}
