import { ApiProperty } from '@nestjs/swagger';
import { IsBoolean, IsString, ValidateIf } from 'class-validator';
import { DESCRIPTION_MAX_LENGTH, TITLE_MAX_LENGTH } from '../task.entity.js';

/**
 * JSON Merge Patch of a task: an absent field is unchanged; `description: null`
 * clears it; `null` for title or completed is refused (they cannot be empty).
 */
export class UpdateTaskDto {
  @ApiProperty({
    required: false,
    description: `Trimmed; 1–${TITLE_MAX_LENGTH} characters after trimming. null is refused.`,
    minLength: 1,
    maxLength: TITLE_MAX_LENGTH,
    example: 'Buy oat milk',
  })
  @ValidateIf((dto: UpdateTaskDto) => dto.title !== undefined)
  @IsString({ message: 'must be a string' })
  title?: string;

  @ApiProperty({
    required: false,
    type: String,
    nullable: true,
    maxLength: DESCRIPTION_MAX_LENGTH,
    description: 'null clears the description.',
  })
  @ValidateIf((dto: UpdateTaskDto) => dto.description !== undefined && dto.description !== null)
  @IsString({ message: 'must be a string or null' })
  description?: string | null;

  @ApiProperty({ required: false, description: 'null is refused.' })
  @ValidateIf((dto: UpdateTaskDto) => dto.completed !== undefined)
  @IsBoolean({ message: 'must be true or false' })
  completed?: boolean;
}
