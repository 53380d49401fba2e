import { ApiProperty } from '@nestjs/swagger';
import { Allow, IsIn, IsOptional, IsString, Matches } from 'class-validator';
import { PRIORITIES } from '../task.entity.js';
import { TASK_SORTS } from '../task.types.js';

// A UUID in any case, as the service accepts it (task.types.ts's UUID).
const UUID_PATTERN = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';

/**
 * Query parameters arrive as strings; they are checked here and converted by the controller.
 * Unknown query parameters are refused (400).
 */
export class ListTasksQuery {
  // Documented as a boolean: on the wire a boolean query parameter is `true` or `false`.
  @ApiProperty({ required: false, type: 'boolean', description: 'Only tasks in this state.', example: false })
  @IsOptional()
  @IsIn(['true', 'false'], { message: 'must be true or false' })
  completed?: 'true' | 'false';

  @ApiProperty({
    required: false,
    minLength: 1,
    maxLength: 255,
    description: 'Case-insensitive substring of the title (1–255 characters).',
    example: 'milk',
  })
  @IsOptional()
  @IsString({ message: 'must be given once' })
  q?: string;

  @ApiProperty({
    required: false,
    pattern: `^(inbox|${UUID_PATTERN})$`,
    description: 'A list id, or `inbox` for tasks in no list. A list that is not yours gives an empty page.',
    example: 'inbox',
  })
  @IsOptional()
  @IsString({ message: 'must be given once' })
  listId?: string;

  @ApiProperty({
    required: false,
    pattern: `^(none|${UUID_PATTERN})$`,
    description:
      'A task id (only its subtasks; a task that is not yours gives an empty page), or `none` (only top-level tasks). ' +
      'Absent: every level.',
    example: 'none',
  })
  @IsOptional()
  @IsString({ message: 'must be given once' })
  parentId?: string;

  // Repeatable: `string` once, `string[]` when repeated; TasksService normalises both.
  @ApiProperty({
    required: false,
    type: 'array',
    items: { type: 'string', minLength: 1 },
    description:
      'Repeatable (`tag=a&tag=b`): only tasks carrying every given tag (compared trimmed and lower-cased).',
    example: ['errands'],
  })
  @Allow()
  tag?: string | string[];

  @ApiProperty({
    required: false,
    type: [String],
    enum: PRIORITIES,
    description: 'Repeatable (`priority=low&priority=high`): only tasks with any of the given priorities.',
    example: ['high'],
  })
  @Allow()
  priority?: string | string[];

  @ApiProperty({
    required: false,
    format: 'date',
    description:
      'Only tasks whose due.date is on or after this date (inclusive; excludes tasks without a due). ' +
      'dueFrom after dueTo gives an empty page.',
    example: '2026-12-01',
  })
  @IsOptional()
  @IsString({ message: 'must be given once' })
  dueFrom?: string;

  @ApiProperty({
    required: false,
    format: 'date',
    description:
      'Only tasks whose due.date is on or before this date (inclusive; excludes tasks without a due).',
    example: '2026-12-31',
  })
  @IsOptional()
  @IsString({ message: 'must be given once' })
  dueTo?: string;

  @ApiProperty({
    required: false,
    enum: TASK_SORTS,
    default: '-createdAt',
    description:
      'Sort key; `-` for descending. Titles sort by Unicode code point; `due` by date, all-day before timed, ' +
      'tasks without a due last in both directions; `priority` none < low < medium < high; `position` is the manual order.',
    example: '-createdAt',
  })
  @IsOptional()
  @IsIn(TASK_SORTS, { message: `must be one of ${TASK_SORTS.join(', ')}` })
  sort?: (typeof TASK_SORTS)[number];

  @ApiProperty({
    required: false,
    minimum: 1,
    maximum: 100,
    default: 20,
    type: 'integer',
    description: 'Page size.',
    example: 20,
  })
  @IsOptional()
  @Matches(/^[0-9]{1,3}$/, { message: 'must be an integer from 1 to 100' })
  limit?: string;

  @ApiProperty({
    required: false,
    description:
      'The nextCursor of the previous page (opaque, signed; only valid with the same sort and filters).',
  })
  @IsOptional()
  @IsString({ message: 'must be given once' })
  cursor?: string;
}
