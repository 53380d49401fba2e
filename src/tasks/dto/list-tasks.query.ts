import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches } from 'class-validator';
import { TASK_SORTS } from '../task.types.js';

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
    enum: TASK_SORTS,
    default: '-createdAt',
    description: 'Sort key; `-` for descending. Titles sort by Unicode code point.',
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
    description: 'The nextCursor of the previous page (opaque, signed; only valid with the same sort).',
  })
  @IsOptional()
  @IsString({ message: 'must be given once' })
  cursor?: string;
}
