import { ApiProperty } from '@nestjs/swagger';
import type { TaskRecord } from './task.types.js';

/** The Task resource of the contract: exactly these eight fields. */
export class TaskResponse {
  @ApiProperty({ format: 'uuid', example: '0b6f7c2e-5d0c-4f6e-9a43-9a2f3f1a8c11' })
  id!: string;

  @ApiProperty({ description: "The owner: the token's sub.", example: 'user_abc123' })
  userId!: string;

  @ApiProperty({ example: 'Buy milk' })
  title!: string;

  @ApiProperty({ type: String, nullable: true, example: null })
  description!: string | null;

  @ApiProperty({ example: false })
  completed!: boolean;

  @ApiProperty({ format: 'date-time', example: '2026-11-26T08:15:30.123Z' })
  createdAt!: string;

  @ApiProperty({ format: 'date-time', example: '2026-11-26T08:15:30.123Z' })
  updatedAt!: string;

  @ApiProperty({ minimum: 1, example: 1, description: 'Starts at 1, +1 on every update; the ETag.' })
  version!: number;
}

export class TaskListResponse {
  @ApiProperty({ type: [TaskResponse] })
  items!: TaskResponse[];

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Pass as `cursor` for the next page; null when no further task exists.',
  })
  nextCursor!: string | null;
}

/** The one mapping from the data layer's task to the API's shape. */
export function toTaskResponse(task: TaskRecord): TaskResponse {
  return {
    id: task.id,
    userId: task.userId,
    title: task.title,
    description: task.description,
    completed: task.completed,
    createdAt: task.createdAt.toISOString(),
    updatedAt: task.updatedAt.toISOString(),
    version: task.version,
  };
}
