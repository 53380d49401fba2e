import {
  Body,
  Controller,
  Delete,
  Get,
  Headers,
  HttpCode,
  Param,
  Patch,
  Post,
  Query,
  Res,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiConsumes,
  ApiExtraModels,
  ApiHeader,
  ApiOperation,
  ApiParam,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CurrentUser } from '../auth/current-user.decorator.js';
import { etagOf, ifMatchVersions, ifNoneMatchMatches } from '../common/conditional-requests.js';
import { NoQuery } from '../common/no-query.dto.js';
import {
  API_ROUTE_PROBLEMS,
  ApiProblems,
  EXAMPLE_TASK_ID,
  ProblemSchema,
  REQUEST_ID_HEADER,
} from '../common/problem.schema.js';
import { ValidationError } from '../database/data-layer.errors.js';
import { CreateTaskDto } from './dto/create-task.dto.js';
import { ListTasksQuery } from './dto/list-tasks.query.js';
import { MoveTaskDto } from './dto/move-task.dto.js';
import { UpdateTaskDto } from './dto/update-task.dto.js';
import { IDEMPOTENCY_KEY_MAX_LENGTH } from './idempotency-key.entity.js';
import { TagListResponse, TaskListResponse, TaskResponse, toTaskResponse } from './task.response.js';
import { UUID } from './task.types.js';
import { TasksService } from './tasks.service.js';

const IDEMPOTENCY_KEY = new RegExp(`^[\\x21-\\x7e]{1,${IDEMPOTENCY_KEY_MAX_LENGTH}}$`);

const ETAG_HEADER = { ETag: { description: 'The task version, quoted: "3"', schema: { type: 'string' } } };
const ID_PARAM = { name: 'id', format: 'uuid', description: 'Task id' } as const;
// The request paths of the problem examples.
const TASKS = '/api/v1/tasks';
const TASK = `${TASKS}/${EXAMPLE_TASK_ID}`;

function taskId(id: string): string {
  if (!UUID.test(id)) throw ValidationError.field('id', 'must be a UUID');
  return id;
}

/**
 * The task routes of the HTTP contract. Thin: validated input in, one service
 * call, one mapping out. Everything that can fail is a DataLayerError or an
 * AuthenticationError, answered by ProblemDetailsFilter.
 */
@ApiTags('tasks')
@ApiBearerAuth()
@ApiExtraModels(ProblemSchema)
@ApiProblems(TASKS, ...API_ROUTE_PROBLEMS)
@Controller('api/v1/tasks')
export class TasksController {
  constructor(private readonly tasks: TasksService) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Create a task', operationId: 'createTask' })
  @ApiBody({ type: CreateTaskDto })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    schema: {
      type: 'string',
      minLength: 1,
      maxLength: IDEMPOTENCY_KEY_MAX_LENGTH,
      pattern: '^[\\x21-\\x7e]+$',
      example: 'b3f1c0de-create-1',
    },
    description:
      '1–255 visible ASCII characters. A retry with the same key and body within 24 hours returns the first response and creates nothing.',
  })
  @ApiResponse({
    status: 201,
    type: TaskResponse,
    headers: {
      ...REQUEST_ID_HEADER,
      ...ETAG_HEADER,
      Location: { description: '/api/v1/tasks/{id}', schema: { type: 'string' } },
    },
  })
  @ApiProblems(
    TASKS,
    'VALIDATION_ERROR',
    'QUOTA_EXCEEDED',
    'IDEMPOTENCY_KEY_IN_PROGRESS',
    'PAYLOAD_TOO_LARGE',
    'UNSUPPORTED_MEDIA_TYPE',
    'IDEMPOTENCY_KEY_REUSED',
    'REFERENCE_NOT_FOUND',
    'INVALID_PARENT',
  )
  async create(
    @CurrentUser() userId: string,
    @Body() body: CreateTaskDto,
    @Query() _query: NoQuery,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<TaskResponse> {
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw ValidationError.field('Idempotency-Key', 'must be 1 to 255 visible ASCII characters');
    }
    const task = await this.tasks.create(userId, body, idempotencyKey);
    void reply.header('location', `/api/v1/tasks/${task.id}`).header('etag', etagOf(task.version));
    return toTaskResponse(task);
  }

  @Get()
  @ApiOperation({ summary: "List the caller's tasks (keyset pagination)", operationId: 'listTasks' })
  @ApiResponse({ status: 200, type: TaskListResponse, headers: REQUEST_ID_HEADER })
  @ApiProblems(TASKS, 'VALIDATION_ERROR')
  async list(@CurrentUser() userId: string, @Query() query: ListTasksQuery): Promise<TaskListResponse> {
    const page = await this.tasks.list(userId, {
      completed: query.completed === undefined ? undefined : query.completed === 'true',
      q: query.q,
      listId: query.listId,
      parentId: query.parentId,
      tags: query.tag === undefined ? undefined : [query.tag].flat(),
      priorities: query.priority === undefined ? undefined : [query.priority].flat(),
      dueFrom: query.dueFrom,
      dueTo: query.dueTo,
      sort: query.sort,
      limit: query.limit === undefined ? undefined : Number(query.limit),
      cursor: query.cursor,
    });
    return { items: page.items.map(toTaskResponse), nextCursor: page.nextCursor };
  }

  @Get(':id')
  @ApiOperation({ summary: 'Read one task', operationId: 'getTask' })
  @ApiParam(ID_PARAM)
  @ApiHeader({ name: 'If-None-Match', required: false, description: 'ETag(s) or *; a match gives 304' })
  @ApiResponse({ status: 200, type: TaskResponse, headers: { ...REQUEST_ID_HEADER, ...ETAG_HEADER } })
  @ApiResponse({
    status: 304,
    description: 'Not modified (If-None-Match matched)',
    headers: { ...REQUEST_ID_HEADER, ...ETAG_HEADER },
  })
  @ApiProblems(TASK, 'VALIDATION_ERROR', 'TASK_NOT_FOUND')
  async get(
    @CurrentUser() userId: string,
    @Param('id') id: string,
    @Query() _query: NoQuery,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<TaskResponse | undefined> {
    const task = await this.tasks.get(userId, taskId(id));
    void reply.header('etag', etagOf(task.version));
    if (ifNoneMatchMatches(ifNoneMatch, task.version)) {
      void reply.status(304);
      return undefined;
    }
    return toTaskResponse(task);
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Update a task (JSON Merge Patch)', operationId: 'updateTask' })
  @ApiConsumes('application/json', 'application/merge-patch+json')
  @ApiParam(ID_PARAM)
  @ApiBody({ type: UpdateTaskDto })
  @ApiHeader({
    name: 'If-Match',
    required: false,
    description: 'ETag(s) or *; strong comparison. A stale version gives 412 and changes nothing.',
  })
  @ApiResponse({ status: 200, type: TaskResponse, headers: { ...REQUEST_ID_HEADER, ...ETAG_HEADER } })
  @ApiProblems(
    TASK,
    'VALIDATION_ERROR',
    'TASK_NOT_FOUND',
    'PRECONDITION_FAILED',
    'PAYLOAD_TOO_LARGE',
    'UNSUPPORTED_MEDIA_TYPE',
    'REFERENCE_NOT_FOUND',
    'INVALID_PARENT',
  )
  async update(
    @CurrentUser() userId: string,
    @Param('id') id: string,
    @Body() body: UpdateTaskDto,
    @Query() _query: NoQuery,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<TaskResponse> {
    const task = await this.tasks.update(userId, taskId(id), body, ifMatchVersions(ifMatch));
    void reply.header('etag', etagOf(task.version));
    return toTaskResponse(task);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a task', operationId: 'deleteTask' })
  @ApiParam(ID_PARAM)
  @ApiHeader({ name: 'If-Match', required: false, description: 'ETag(s) or *; strong comparison' })
  @ApiResponse({ status: 204, description: 'Deleted', headers: REQUEST_ID_HEADER })
  @ApiProblems(TASK, 'VALIDATION_ERROR', 'TASK_NOT_FOUND', 'PRECONDITION_FAILED')
  async delete(
    @CurrentUser() userId: string,
    @Param('id') id: string,
    @Query() _query: NoQuery,
    @Headers('if-match') ifMatch: string | undefined,
  ): Promise<void> {
    await this.tasks.delete(userId, taskId(id), ifMatchVersions(ifMatch));
  }

  @Post(':id/move')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Move a task: its list, parent and place among its siblings',
    operationId: 'moveTask',
  })
  @ApiParam(ID_PARAM)
  @ApiBody({ type: MoveTaskDto })
  @ApiHeader({ name: 'If-Match', required: false, description: 'ETag(s) or *; strong comparison' })
  @ApiResponse({ status: 200, type: TaskResponse, headers: { ...REQUEST_ID_HEADER, ...ETAG_HEADER } })
  @ApiProblems(
    `${TASK}/move`,
    'VALIDATION_ERROR',
    'TASK_NOT_FOUND',
    'PRECONDITION_FAILED',
    'PAYLOAD_TOO_LARGE',
    'UNSUPPORTED_MEDIA_TYPE',
    'REFERENCE_NOT_FOUND',
    'INVALID_PARENT',
  )
  async move(
    @CurrentUser() userId: string,
    @Param('id') id: string,
    @Body() body: MoveTaskDto,
    @Query() _query: NoQuery,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<TaskResponse> {
    const task = await this.tasks.move(userId, taskId(id), { ...body }, ifMatchVersions(ifMatch));
    void reply.header('etag', etagOf(task.version));
    return toTaskResponse(task);
  }
}

/** GET /api/v1/tags: the caller's tags with their counts. */
@ApiTags('tasks')
@ApiBearerAuth()
@ApiExtraModels(ProblemSchema)
@ApiProblems('/api/v1/tags', ...API_ROUTE_PROBLEMS)
@Controller('api/v1/tags')
export class TagsController {
  constructor(private readonly tasks: TasksService) {}

  @Get()
  @ApiOperation({ summary: "List the caller's tags with how many tasks carry each", operationId: 'listTags' })
  @ApiResponse({ status: 200, type: TagListResponse, headers: REQUEST_ID_HEADER })
  @ApiProblems('/api/v1/tags', 'VALIDATION_ERROR')
  async list(@CurrentUser() userId: string, @Query() _query: NoQuery): Promise<TagListResponse> {
    return { items: await this.tasks.tags(userId) };
  }
}
