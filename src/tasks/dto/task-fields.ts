import type { ApiPropertyOptions } from '@nestjs/swagger';
import { PRIORITIES, RECURRENCE_MAX_LENGTH, TAG_MAX_LENGTH, TAGS_MAX } from '../task.entity.js';
import { DueDto } from './due.dto.js';

/**
 * The OpenAPI descriptions of the 1.1 fields a create and a PATCH share; the
 * rules themselves are checked by TasksService (one place, before any database round trip).
 */
export const TASK_FIELD_DOCS = {
  listId: {
    required: false,
    type: String,
    format: 'uuid',
    nullable: true,
    description:
      'One of your lists, or null for the inbox. A list that is not yours is 422 REFERENCE_NOT_FOUND.',
    example: null,
  },
  parentId: {
    required: false,
    type: String,
    format: 'uuid',
    nullable: true,
    description:
      'A top-level task of yours in the same list (one level of nesting), or null. Without listId, the task goes ' +
      "into the parent's list. 422 REFERENCE_NOT_FOUND or INVALID_PARENT otherwise.",
    example: null,
  },
  priority: { required: false, enum: PRIORITIES, default: 'none', example: 'high' },
  tags: {
    required: false,
    type: 'array',
    items: { type: 'string', minLength: 1, maxLength: TAG_MAX_LENGTH },
    maxItems: TAGS_MAX,
    // Equal tags are a 400, so identical ones are too.
    uniqueItems: true,
    description:
      `At most ${TAGS_MAX}; each trimmed and lower-cased, 1–${TAG_MAX_LENGTH} characters, no control characters; ` +
      'two equal after that are a 400. Returned in the order sent.',
    example: ['errands'],
  },
  due: {
    required: false,
    type: DueDto,
    nullable: true,
    description:
      'null, or all three members: a date, and a time and timeZone that are both null (all day) or both set.',
    example: { date: '2026-12-24', time: '09:30', timeZone: 'Europe/Berlin' },
  },
  recurrence: {
    required: false,
    type: String,
    nullable: true,
    maxLength: RECURRENCE_MAX_LENGTH,
    description:
      'An RFC 5545 RRULE value without the RRULE: prefix, of FREQ, INTERVAL, BYDAY, BYMONTHDAY, BYMONTH, UNTIL ' +
      '(YYYYMMDD) and WKST only; needs a due.',
    example: 'FREQ=WEEKLY;BYDAY=MO',
  },
} satisfies Record<string, ApiPropertyOptions>;
