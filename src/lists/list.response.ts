import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import { toMillis } from '../tasks/task.response.js';
import { LIST_NAME_MAX_LENGTH } from './list.entity.js';
import type { ListRecord } from './lists.repository.js';

/** The List resource of the contract: exactly these five fields. */
@ApiSchema({ name: 'List', description: 'A list of tasks. Its `version` is its ETag.' })
export class ListResponse {
  @ApiProperty({ format: 'uuid', example: '5d0c0b6f-7c2e-4f6e-9a43-9a2f3f1a8c11' })
  id!: string;

  @ApiProperty({
    minLength: 1,
    maxLength: LIST_NAME_MAX_LENGTH,
    description: 'Trimmed; unique among your lists, compared case-insensitively.',
    example: 'Groceries',
  })
  name!: string;

  @ApiProperty({ format: 'date-time', example: '2026-11-26T08:15:30.123Z' })
  createdAt!: string;

  @ApiProperty({ format: 'date-time', example: '2026-11-26T08:15:30.123Z' })
  updatedAt!: string;

  @ApiProperty({ type: 'integer', minimum: 1, example: 1 })
  version!: number;
}

@ApiSchema({ name: 'ListPage', description: 'One page of lists, by name (code point) then id.' })
export class ListPageResponse {
  @ApiProperty({ type: [ListResponse] })
  items!: ListResponse[];

  @ApiProperty({ type: String, nullable: true, example: null })
  nextCursor!: string | null;
}

/** The one mapping from the data layer's list to the API's shape. */
export function toListResponse(list: ListRecord): ListResponse {
  return {
    id: list.id,
    name: list.name,
    createdAt: toMillis(list.createdAt),
    updatedAt: toMillis(list.updatedAt),
    version: list.version,
  };
}
