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
  EXAMPLE_LIST_ID,
  ProblemSchema,
  REQUEST_ID_HEADER,
} from '../common/problem.schema.js';
import { ValidationError } from '../database/data-layer.errors.js';
import { UUID } from '../tasks/task.types.js';
import { ListListsQuery } from './dto/list-lists.query.js';
import { ListNameDto } from './dto/list-name.dto.js';
import { ListPageResponse, ListResponse, toListResponse } from './list.response.js';
import { ListsService } from './lists.service.js';

const ETAG_HEADER = { ETag: { description: 'The list version, quoted: "3"', schema: { type: 'string' } } };
const ID_PARAM = { name: 'id', format: 'uuid', description: 'List id' } as const;
// The request paths of the problem examples.
const LISTS = '/api/v1/lists';
const LIST = `${LISTS}/${EXAMPLE_LIST_ID}`;

function listId(id: string): string {
  if (!UUID.test(id)) throw ValidationError.field('id', 'must be a UUID');
  return id;
}

/** The list routes of the HTTP contract; thin, like TasksController. */
@ApiTags('lists')
@ApiBearerAuth()
@ApiExtraModels(ProblemSchema)
@ApiProblems(LISTS, ...API_ROUTE_PROBLEMS)
@Controller('api/v1/lists')
export class ListsController {
  constructor(private readonly lists: ListsService) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Create a list', operationId: 'createList' })
  @ApiBody({ type: ListNameDto })
  @ApiResponse({
    status: 201,
    type: ListResponse,
    headers: {
      ...REQUEST_ID_HEADER,
      ...ETAG_HEADER,
      Location: { description: '/api/v1/lists/{id}', schema: { type: 'string' } },
    },
  })
  @ApiProblems(
    LISTS,
    'VALIDATION_ERROR',
    'QUOTA_EXCEEDED',
    'LIST_NAME_TAKEN',
    'PAYLOAD_TOO_LARGE',
    'UNSUPPORTED_MEDIA_TYPE',
  )
  async create(
    @CurrentUser() userId: string,
    @Body() body: ListNameDto,
    @Query() _query: NoQuery,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ListResponse> {
    const list = await this.lists.create(userId, body.name);
    void reply.header('location', `/api/v1/lists/${list.id}`).header('etag', etagOf(list.version));
    return toListResponse(list);
  }

  @Get()
  @ApiOperation({ summary: "List the caller's lists, by name", operationId: 'listLists' })
  @ApiResponse({ status: 200, type: ListPageResponse, headers: REQUEST_ID_HEADER })
  @ApiProblems(LISTS, 'VALIDATION_ERROR')
  async list(@CurrentUser() userId: string, @Query() query: ListListsQuery): Promise<ListPageResponse> {
    const page = await this.lists.list(
      userId,
      query.limit === undefined ? undefined : Number(query.limit),
      query.cursor,
    );
    return { items: page.items.map(toListResponse), nextCursor: page.nextCursor };
  }

  @Get(':id')
  @ApiOperation({ summary: 'Read one list', operationId: 'getList' })
  @ApiParam(ID_PARAM)
  @ApiHeader({ name: 'If-None-Match', required: false, description: 'ETag(s) or *; a match gives 304' })
  @ApiResponse({ status: 200, type: ListResponse, headers: { ...REQUEST_ID_HEADER, ...ETAG_HEADER } })
  @ApiResponse({
    status: 304,
    description: 'Not modified (If-None-Match matched)',
    headers: { ...REQUEST_ID_HEADER, ...ETAG_HEADER },
  })
  @ApiProblems(LIST, 'VALIDATION_ERROR', 'LIST_NOT_FOUND')
  async get(
    @CurrentUser() userId: string,
    @Param('id') id: string,
    @Query() _query: NoQuery,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ListResponse | undefined> {
    const list = await this.lists.get(userId, listId(id));
    void reply.header('etag', etagOf(list.version));
    if (ifNoneMatchMatches(ifNoneMatch, list.version)) {
      void reply.status(304);
      return undefined;
    }
    return toListResponse(list);
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Rename a list', operationId: 'updateList' })
  @ApiConsumes('application/json', 'application/merge-patch+json')
  @ApiParam(ID_PARAM)
  @ApiBody({ type: ListNameDto })
  @ApiHeader({ name: 'If-Match', required: false, description: 'ETag(s) or *; strong comparison' })
  @ApiResponse({ status: 200, type: ListResponse, headers: { ...REQUEST_ID_HEADER, ...ETAG_HEADER } })
  @ApiProblems(
    LIST,
    'VALIDATION_ERROR',
    'LIST_NOT_FOUND',
    'LIST_NAME_TAKEN',
    'PRECONDITION_FAILED',
    'PAYLOAD_TOO_LARGE',
    'UNSUPPORTED_MEDIA_TYPE',
  )
  async update(
    @CurrentUser() userId: string,
    @Param('id') id: string,
    @Body() body: ListNameDto,
    @Query() _query: NoQuery,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ListResponse> {
    const list = await this.lists.rename(userId, listId(id), body.name, ifMatchVersions(ifMatch));
    void reply.header('etag', etagOf(list.version));
    return toListResponse(list);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a list and every task in it', operationId: 'deleteList' })
  @ApiParam(ID_PARAM)
  @ApiHeader({ name: 'If-Match', required: false, description: 'ETag(s) or *; strong comparison' })
  @ApiResponse({ status: 204, description: 'Deleted, with its tasks', headers: REQUEST_ID_HEADER })
  @ApiProblems(LIST, 'VALIDATION_ERROR', 'LIST_NOT_FOUND', 'PRECONDITION_FAILED')
  async delete(
    @CurrentUser() userId: string,
    @Param('id') id: string,
    @Query() _query: NoQuery,
    @Headers('if-match') ifMatch: string | undefined,
  ): Promise<void> {
    await this.lists.delete(userId, listId(id), ifMatchVersions(ifMatch));
  }
}
