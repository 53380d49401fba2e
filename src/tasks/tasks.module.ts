import { Module } from '@nestjs/common';
import { AUTH_SETTINGS } from '../auth/auth.module.js';
import type { AuthSettings } from '../auth/auth-settings.js';
import { DatabaseModule } from '../database/database.module.js';
import { CursorCodec } from './cursor-codec.js';
import { TagsController, TasksController } from './tasks.controller.js';
import { TasksRepository } from './tasks.repository.js';
import { TasksService } from './tasks.service.js';

@Module({
  imports: [DatabaseModule],
  controllers: [TasksController, TagsController],
  providers: [
    TasksRepository,
    TasksService,
    {
      provide: CursorCodec,
      inject: [AUTH_SETTINGS],
      useFactory: (settings: AuthSettings) => new CursorCodec(settings.cursorSecret),
    },
  ],
  exports: [TasksService, CursorCodec],
})
export class TasksModule {}
