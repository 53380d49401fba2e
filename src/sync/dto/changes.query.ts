import { ApiProperty } from '@nestjs/swagger';
import { IsOptional, IsString, Matches } from 'class-validator';

/** Query parameters arrive as strings; unknown ones are refused (400). */
export class ChangesQuery {
  @ApiProperty({
    required: false,
    description:
      'The `next` of an earlier page (opaque, signed, yours only). Without it: your current lists and tasks, no deletions.',
  })
  @IsOptional()
  @IsString({ message: 'must be given once' })
  since?: string;

  @ApiProperty({
    required: false,
    minimum: 1,
    maximum: 1000,
    default: 100,
    type: 'integer',
    description: 'Page size.',
    example: 100,
  })
  @IsOptional()
  @Matches(/^[0-9]{1,4}$/, { message: 'must be an integer from 1 to 1000' })
  limit?: string;
}

export class ChangeStreamQuery {
  @ApiProperty({
    required: false,
    description: 'A token to start after (a `next` or an event `id`); `Last-Event-ID` wins over it.',
  })
  @IsOptional()
  @IsString({ message: 'must be given once' })
  since?: string;
}
