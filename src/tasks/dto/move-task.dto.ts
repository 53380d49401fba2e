import { ApiProperty, ApiSchema, type ApiSchemaOptions } from '@nestjs/swagger';
import { Allow } from 'class-validator';

// @nestjs/swagger copies every ApiSchema option into the schema, though its type only names `name` and `description`.
@ApiSchema({
  name: 'MoveTask',
  description:
    'Where the task goes; {} moves it last among its current siblings. Any other field is refused with 400.',
  additionalProperties: false,
} as ApiSchemaOptions)
export class MoveTaskDto {
  @ApiProperty({
    required: false,
    type: String,
    format: 'uuid',
    nullable: true,
    description:
      "The target list (null: the inbox). Absent: the task's list, or the parent's when parentId is given.",
    example: '5d0c0b6f-7c2e-4f6e-9a43-9a2f3f1a8c11',
  })
  @Allow()
  listId?: string | null;

  @ApiProperty({
    required: false,
    type: String,
    format: 'uuid',
    nullable: true,
    description:
      'The target parent (null: top level). Absent: the current parent when the list stays the same, else top level.',
    example: null,
  })
  @Allow()
  parentId?: string | null;

  @ApiProperty({
    required: false,
    type: String,
    format: 'uuid',
    nullable: true,
    description:
      'Absent: last among the target siblings; null: first; an id: directly after that sibling ' +
      '(422 REFERENCE_NOT_FOUND when it is not one).',
    example: '0b6f7c2e-5d0c-4f6e-9a43-9a2f3f1a8c11',
  })
  @Allow()
  after?: string | null;
}
