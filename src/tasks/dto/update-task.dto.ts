import { ApiProperty, ApiSchema, type ApiSchemaOptions } from '@nestjs/swagger';
import { Allow } from 'class-validator';
import type { DueDto } from './due.dto.js';
import { TASK_FIELD_DOCS } from './task-fields.js';
import { DESCRIPTION_MAX_LENGTH, TIME_ZONE_MAX_LENGTH, TITLE_MAX_LENGTH } from '../task.entity.js';

/**
 * JSON Merge Patch of a task: an absent field is unchanged; `description: null`
 * clears it; `null` for title, completed, priority or tags is refused.
 */
// @nestjs/swagger copies every ApiSchema option into the schema, though its type only names
// `name` and `description`. Every rule is TasksService's, so that one 400 lists every problem of a body.
@ApiSchema({
  name: 'UpdateTask',
  description:
    'JSON Merge Patch: a non-empty subset of the fields. An absent field is unchanged; ' +
    'null clears description, listId, parentId, due and recurrence. Any other field is refused with 400.',
  additionalProperties: false,
  minProperties: 1,
} as ApiSchemaOptions)
export class UpdateTaskDto {
  @ApiProperty({
    required: false,
    description: `Trimmed; 1–${TITLE_MAX_LENGTH} characters after trimming. null is refused.`,
    minLength: 1,
    maxLength: TITLE_MAX_LENGTH,
    example: 'Buy oat milk',
  })
  @Allow()
  title?: string;

  @ApiProperty({
    required: false,
    type: String,
    nullable: true,
    maxLength: DESCRIPTION_MAX_LENGTH,
    description: `At most ${DESCRIPTION_MAX_LENGTH} characters; null clears the description.`,
    example: null,
  })
  @Allow()
  description?: string | null;

  @ApiProperty({
    required: false,
    description:
      'null is refused. true on a recurring task not yet completed does not complete it: its due.date moves to ' +
      "the rule's next occurrence after the due (after the rest of this PATCH), time and timeZone kept, and " +
      'completed stays false; with no next occurrence (UNTIL, 1,000 periods, year 9999) it completes.',
    example: true,
  })
  @Allow()
  completed?: boolean;

  @ApiProperty({
    ...TASK_FIELD_DOCS.listId,
    description: `${TASK_FIELD_DOCS.listId.description} A task that changes list or parent goes last among its new siblings and takes its subtasks along.`,
  })
  @Allow()
  listId?: string | null;

  @ApiProperty({
    ...TASK_FIELD_DOCS.parentId,
    description: `${TASK_FIELD_DOCS.parentId.description} Absent: unchanged.`,
  })
  @Allow()
  parentId?: string | null;

  @ApiProperty({ ...TASK_FIELD_DOCS.priority, description: 'null is refused.' })
  @Allow()
  priority?: string;

  @ApiProperty({
    ...TASK_FIELD_DOCS.tags,
    description: `${TASK_FIELD_DOCS.tags.description} Replaced as a whole; null is refused.`,
  })
  @Allow()
  tags?: string[];

  // Not the Due schema: a merge patch may send some of its members (none required), so it is described here.
  @ApiProperty({
    type: 'object',
    selfRequired: false,
    nullable: true,
    properties: {
      date: { type: 'string', format: 'date', description: 'null is refused.', example: '2026-12-24' },
      time: {
        type: 'string',
        nullable: true,
        pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$',
        description: 'HH:MM; null together with timeZone makes the task all day.',
        example: '10:00',
      },
      timeZone: {
        type: 'string',
        nullable: true,
        minLength: 1,
        maxLength: TIME_ZONE_MAX_LENGTH,
        description: 'An IANA time-zone name; null together with time.',
        example: 'UTC',
      },
    },
    additionalProperties: false,
    example: { time: '10:00', timeZone: 'UTC' },
    description:
      'Merged member by member (RFC 7396): {"time": "10:00", "timeZone": "UTC"} gives an all-day task a time, ' +
      '{"time": null, "timeZone": null} makes it all day, null removes the due. On a task without a due, all ' +
      'three members are needed.',
  })
  @Allow()
  due?: Partial<DueDto> | null;

  @ApiProperty(TASK_FIELD_DOCS.recurrence)
  @Allow()
  recurrence?: string | null;
}
