import { ApiProperty, ApiSchema, type ApiSchemaOptions } from '@nestjs/swagger';
import { IsDefined, IsString } from 'class-validator';
import { LIST_NAME_MAX_LENGTH } from '../list.entity.js';

// @nestjs/swagger copies every ApiSchema option into the schema, though its type only names `name` and `description`.
@ApiSchema({
  name: 'ListName',
  description: 'The body of a list create or PATCH. Any other field is refused with 400.',
  additionalProperties: false,
} as ApiSchemaOptions)
export class ListNameDto {
  @ApiProperty({
    minLength: 1,
    maxLength: LIST_NAME_MAX_LENGTH,
    description: `Trimmed; 1–${LIST_NAME_MAX_LENGTH} characters, no control characters; unique among your lists (case-insensitively).`,
    example: 'Groceries',
  })
  @IsDefined({ message: 'is required' })
  @IsString({ message: 'must be a string' })
  name!: string;
}
