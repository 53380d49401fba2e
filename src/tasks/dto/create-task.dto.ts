import { ApiProperty, ApiSchema, type ApiSchemaOptions } from '@nestjs/swagger';
import { Allow } from 'class-validator';
import type { DueDto } from './due.dto.js';
import { TASK_FIELD_DOCS } from './task-fields.js';
import { DESCRIPTION_MAX_LENGTH, TITLE_MAX_LENGTH } from '../task.entity.js';

// Every rule (types, lengths in code points after trimming, cross-field rules) is TasksService's, so
// that one 400 lists every problem of a body; the DTO only names the allowed fields.
// @nestjs/swagger copies every ApiSchema option into the schema, though its type only names
// `name` and `description`; additionalProperties documents that unknown fields are a 400.
@ApiSchema({
  name: 'CreateTask',
  description: 'A new task. Any other field (id, userId, version, …) is refused with 400.',
  additionalProperties: false,
} as ApiSchemaOptions)
export class CreateTaskDto {
  @ApiProperty({
    description: `Trimmed; 1–${TITLE_MAX_LENGTH} characters (Unicode code points) after trimming. No NUL character.`,
    example: 'Buy milk',
    minLength: 1,
    maxLength: TITLE_MAX_LENGTH,
  })
  @Allow()
  title!: string;

  @ApiProperty({
    description: `At most ${DESCRIPTION_MAX_LENGTH} characters, or null. No NUL character.`,
    type: String,
    nullable: true,
    required: false,
    maxLength: DESCRIPTION_MAX_LENGTH,
    example: '2 litres, semi-skimmed',
  })
  @Allow()
  description?: string | null;

  @ApiProperty({ required: false, default: false, example: false })
  @Allow()
  completed?: boolean;

  @ApiProperty(TASK_FIELD_DOCS.listId)
  @Allow()
  listId?: string | null;

  @ApiProperty(TASK_FIELD_DOCS.parentId)
  @Allow()
  parentId?: string | null;

  @ApiProperty(TASK_FIELD_DOCS.priority)
  @Allow()
  priority?: string;

  @ApiProperty(TASK_FIELD_DOCS.tags)
  @Allow()
  tags?: string[];

  @ApiProperty(TASK_FIELD_DOCS.due)
  @Allow()
  due?: DueDto | null;

  @ApiProperty(TASK_FIELD_DOCS.recurrence)
  @Allow()
  recurrence?: string | null;
}
