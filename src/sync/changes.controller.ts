import { Controller, Get, Headers, Query, Req, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiExtraModels,
  ApiHeader,
  ApiOperation,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { bearerExpiry } from '../auth/jwt-verifier.js';
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
import { ChangeStreams } from './change-streams.js';
import { ChangesService } from './changes.service.js';
import { ChangesQuery, ChangeStreamQuery } from './dto/changes.query.js';

const CHANGES = '/api/v1/changes';
const CHANGES_STREAM = `${CHANGES}/stream`;

/** The change feed of the HTTP contract; thin, like TasksController. */
@ApiTags('changes')
@ApiBearerAuth()
@ApiExtraModels(ProblemSchema, TaskResponse, ListResponse)
@ApiProblems(CHANGES, ...API_ROUTE_PROBLEMS)
@Controller('api/v1/changes')
export class ChangesController {
  constructor(
    private readonly changes: ChangesService,
    private readonly streams: ChangeStreams,
  ) {}

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

  @Get('stream')
  @ApiOperation({
    summary: "The caller's changes as Server-Sent Events, live from every instance",
    description:
      'First every list and task changed after the token (`Last-Event-ID`, which wins, or `since`; neither: ' +
      'from now), then each change as it commits on any instance, within 1 s. Each event is `event: change`, ' +
      '`id: <token after it>`, `data: <one change object>`, in the order of the last change; `: ping` every 15 s. ' +
      'Ends when the token expires and when the service drains, without a closing event.',
    operationId: 'streamChanges',
  })
  @ApiHeader({
    name: 'Last-Event-ID',
    required: false,
    description: 'A token to resume from; wins over since',
  })
  @ApiResponse({
    status: 200,
    description: 'text/event-stream',
    content: { 'text/event-stream': { schema: { type: 'string' } } },
    headers: REQUEST_ID_HEADER,
  })
  @ApiProblems(CHANGES_STREAM, 'VALIDATION_ERROR', 'SYNC_TOKEN_EXPIRED', 'TOO_MANY_STREAMS')
  async stream(
    @CurrentUser() userId: string,
    @Query() query: ChangeStreamQuery,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const token =
      lastEventId !== undefined
        ? { value: lastEventId, field: 'Last-Event-ID' }
        : query.since !== undefined
          ? { value: query.since, field: 'since' }
          : undefined;
    // Every refusal is a problem document, answered before the stream starts.
    const admission = await this.streams.admit(userId, token);
    reply.hijack();
    reply.raw.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      // Set by the app's onSend hook on every other answer; a hijacked reply skips it.
      'x-request-id': request.id,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      // Proxies such as nginx would otherwise hold events back.
      'x-accel-buffering': 'no',
    });
    // The client learns at once that the stream is open, before any event.
    reply.raw.flushHeaders();
    this.streams.run(admission, reply.raw, bearerExpiry(request.headers.authorization));
  }
}
