import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches } from 'class-validator';
import { TASK_SORTS } from '../task.types.js';

/** Query parameters arrive as strings; they are checked here and converted by the controller. */
export class ListTasksQuery {
  @ApiProperty({ required: false, enum: ['true', 'false'], description: 'Only tasks in this state.' })
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

  @ApiProperty({ required: false, enum: TASK_SORTS, default: '-createdAt' })
  @IsOptional()
  @IsIn(TASK_SORTS, { message: `must be one of ${TASK_SORTS.join(', ')}` })
  sort?: (typeof TASK_SORTS)[number];

  @ApiProperty({ required: false, minimum: 1, maximum: 100, default: 20, type: 'integer' })
  @IsOptional()
  @Matches(/^[0-9]{1,3}$/, { message: 'must be an integer from 1 to 100' })
  limit?: string;

  @ApiProperty({ required: false, description: 'The nextCursor of the previous page (opaque).' })
  @IsOptional()
  @IsString({ message: 'must be given once' })
  cursor?: string;
}
