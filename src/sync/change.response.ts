import { ApiProperty, ApiSchema, getSchemaPath } from '@nestjs/swagger';
import { ListResponse } from '../lists/list.response.js';
import { TaskResponse } from '../tasks/task.response.js';
import { CHANGE_KINDS, type ChangeKind } from './deletion.entity.js';

@ApiSchema({
  name: 'Change',
  description: 'One list or task in its latest state, or gone (`deleted: true`, no `data`).',
})
export class ChangeResponse {
  @ApiProperty({ enum: CHANGE_KINDS, example: 'task' })
  kind!: ChangeKind;

  @ApiProperty({ format: 'uuid', example: '0b6f7c2e-5d0c-4f6e-9a43-9a2f3f1a8c11' })
  id!: string;

  @ApiProperty({ example: false })
  deleted!: boolean;

  @ApiProperty({
    required: false,
    oneOf: [{ $ref: getSchemaPath(TaskResponse) }, { $ref: getSchemaPath(ListResponse) }],
    description: 'The Task or List, absent when deleted.',
    example: {
      id: '5d0c0b6f-7c2e-4f6e-9a43-9a2f3f1a8c11',
      name: 'Groceries',
      createdAt: '2026-11-26T08:15:30.123Z',
      updatedAt: '2026-11-26T08:15:30.123Z',
      version: 1,
    },
  })
  data?: TaskResponse | ListResponse;
}

@ApiSchema({
  name: 'ChangesPage',
  description: "A page of the caller's changes, in the order of their last change, a page's lists first.",
})
export class ChangesPageResponse {
  @ApiProperty({ type: [ChangeResponse] })
  changes!: ChangeResponse[];

  @ApiProperty({
    description: 'Pass as `since` for the next page (opaque).',
    example: 'eyJwIjoiNDIiLCJ0IjoxNzk2NjgxNjAwfQ.3q2-7w_signature',
  })
  next!: string;

  @ApiProperty({
    description: 'true: call again with `next` at once; false: up to date as of this page.',
    example: false,
  })
  hasMore!: boolean;
}
