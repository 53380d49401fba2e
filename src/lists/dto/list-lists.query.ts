import { ApiProperty } from '@nestjs/swagger';
import { IsOptional, IsString, Matches } from 'class-validator';

export class ListListsQuery {
  @ApiProperty({ required: false, minimum: 1, maximum: 100, default: 100, type: 'integer', example: 100 })
  @IsOptional()
  @Matches(/^[0-9]{1,3}$/, { message: 'must be an integer from 1 to 100' })
  limit?: string;

  @ApiProperty({ required: false, description: 'The nextCursor of the previous page (opaque, signed).' })
  @IsOptional()
  @IsString({ message: 'must be given once' })
  cursor?: string;
}
