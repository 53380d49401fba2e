import { Module } from '@nestjs/common';
import { DatabaseModule } from '../database/database.module.js';
import { TasksModule } from '../tasks/tasks.module.js';
import { ListsController } from './lists.controller.js';
import { ListsRepository } from './lists.repository.js';
import { ListsService } from './lists.service.js';

/** Lists: their own feature module beside Tasks, sharing its cursor codec. */
@Module({
  imports: [DatabaseModule, TasksModule],
  controllers: [ListsController],
  providers: [ListsRepository, ListsService],
})
export class ListsModule {}
