import { ApiProperty, ApiSchema, type ApiSchemaOptions } from '@nestjs/swagger';
import { TIME_ZONE_MAX_LENGTH } from '../task.entity.js';

/** A due as the API reads and writes it: a local date, and a local time in an IANA zone or neither. */
@ApiSchema({
  name: 'Due',
  description:
    'A local date; with a local time in an IANA time zone, or all day (time and timeZone both null). ' +
    'Kept as sent, not as an instant: 09:30 in Europe/Berlin stays 09:30 there. Exactly these three members.',
  // @nestjs/swagger copies every ApiSchema option into the schema, though its type only names
  // `name` and `description`: any other member is a 400.
  additionalProperties: false,
} as ApiSchemaOptions)
export class DueDto {
  @ApiProperty({
    format: 'date',
    description: 'A calendar date from 1900-01-01 to 9999-12-31.',
    example: '2026-12-24',
  })
  date!: string;

  @ApiProperty({
    type: String,
    nullable: true,
    pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$',
    description: 'HH:MM, 00:00–23:59; null for all day (then timeZone is null too).',
    example: '09:30',
  })
  time!: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    minLength: 1,
    maxLength: TIME_ZONE_MAX_LENGTH,
    description:
      'An IANA time-zone name (Area/Location, UTC, Etc/…, or an alias such as Asia/Kolkata), returned exactly as sent; ' +
      'an offset such as +05:30 is refused. null exactly when time is null.',
    example: 'Europe/Berlin',
  })
  timeZone!: string | null;
}
