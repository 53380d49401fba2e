import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiExtraModels, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CurrentUser } from '../auth/current-user.decorator.js';
import {
  API_ROUTE_PROBLEMS,
  ApiProblems,
  ProblemSchema,
  REQUEST_ID_HEADER,
} from '../common/problem.schema.js';
import { ListResponse } from '../lists/list.response.js';
import { TaskResponse } from '../tasks/task.response.js';
import { ChangesPageResponse } from './change.response.js';
import { ChangesService } from './changes.service.js';
import { ChangesQuery } from './dto/changes.query.js';

const CHANGES = '/api/v1/changes';

/** The change feed of the HTTP contract; thin, like TasksController. */
@ApiTags('changes')
@ApiBearerAuth()
@ApiExtraModels(ProblemSchema, TaskResponse, ListResponse)
@ApiProblems(CHANGES, ...API_ROUTE_PROBLEMS)
@Controller('api/v1/changes')
export class ChangesController {
  constructor(private readonly changes: ChangesService) {}

  @Get()
  @ApiOperation({
    summary: "The caller's changes since a sync token, in the order they committed",
    description:
      'Without `since`: the current lists and tasks (no deletions). With it: every list and task created, ' +
      'updated or deleted after it, each once per page in its latest state, a page’s lists first. ' +
      'Call again with `next` while `hasMore` is true. Nothing is ever skipped, even when transactions ' +
      'commit out of order.',
    operationId: 'listChanges',
  })
  @ApiResponse({ status: 200, type: ChangesPageResponse, headers: REQUEST_ID_HEADER })
  @ApiProblems(CHANGES, 'VALIDATION_ERROR', 'SYNC_TOKEN_EXPIRED')
  async page(@CurrentUser() userId: string, @Query() query: ChangesQuery): Promise<ChangesPageResponse> {
    return this.changes.page(userId, {
      since: query.since,
      limit: query.limit === undefined ? undefined : Number(query.limit),
    });
  }
}
