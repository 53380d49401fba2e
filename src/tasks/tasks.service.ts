import { Injectable } from '@nestjs/common';
import { ValidationError, type FieldProblem } from '../database/data-layer.errors.js';
import { DESCRIPTION_MAX_LENGTH, TITLE_MAX_LENGTH } from './task.entity.js';
import type { IfMatch, ListQuery, NewTask, TaskPage, TaskPatch, TaskRecord } from './task.types.js';
import { TasksRepository } from './tasks.repository.js';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;
export const Q_MAX_LENGTH = 255;

/** Lengths are counted in code points, so 255 emoji fit in a title (JS .length counts UTF-16 units). */
const codePoints = (s: string) => {
  let n = 0;
  for (const _ of s) n++;
  return n;
};

/**
 * The task rules (trimming, limits, defaults) in front of the repository. All
 * problems of one input are reported together; errors are DataLayerErrors, never
 * HTTP exceptions, so only the exception filter knows about HTTP.
 */
@Injectable()
export class TasksService {
  constructor(private readonly tasks: TasksRepository) {}

  async create(ownerId: string, input: NewTask): Promise<TaskRecord> {
    const problems: FieldProblem[] = [];
    const title = this.title(input.title, problems);
    this.description(input.description, problems);
    this.throwIfAny(problems);
    return this.tasks.create(ownerId, {
      title,
      description: input.description ?? null,
      completed: input.completed ?? false,
    });
  }

  async get(ownerId: string, id: string): Promise<TaskRecord> {
    return this.tasks.findOne(ownerId, id);
  }

  async list(ownerId: string, query: Partial<ListQuery>): Promise<TaskPage> {
    const problems: FieldProblem[] = [];
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
      problems.push({ field: 'limit', message: `must be an integer from 1 to ${MAX_PAGE_SIZE}` });
    }
    if (query.q !== undefined && (query.q.length === 0 || codePoints(query.q) > Q_MAX_LENGTH)) {
      problems.push({ field: 'q', message: `must be 1 to ${Q_MAX_LENGTH} characters` });
    }
    this.throwIfAny(problems);
    return this.tasks.list(ownerId, { ...query, sort: query.sort ?? '-createdAt', limit });
  }

  async update(ownerId: string, id: string, patch: TaskPatch, ifMatch?: IfMatch): Promise<TaskRecord> {
    const problems: FieldProblem[] = [];
    const changes: TaskPatch = {};
    if (patch.title !== undefined) changes.title = this.title(patch.title, problems);
    if (patch.description !== undefined) changes.description = this.description(patch.description, problems);
    if (patch.completed !== undefined) changes.completed = patch.completed;
    if (Object.keys(changes).length === 0 && problems.length === 0) {
      problems.push({ field: 'body', message: 'must contain at least one of title, description, completed' });
    }
    this.throwIfAny(problems);
    return this.tasks.update(ownerId, id, changes, ifMatch);
  }

  async delete(ownerId: string, id: string, ifMatch?: IfMatch): Promise<void> {
    return this.tasks.delete(ownerId, id, ifMatch);
  }

  private title(raw: unknown, problems: FieldProblem[]): string {
    if (typeof raw !== 'string') {
      problems.push({ field: 'title', message: 'must be a string' });
      return '';
    }
    const title = raw.trim();
    const length = codePoints(title);
    if (length < 1 || length > TITLE_MAX_LENGTH) {
      problems.push({ field: 'title', message: `must be 1 to ${TITLE_MAX_LENGTH} characters` });
    }
    return title;
  }

  private description(raw: unknown, problems: FieldProblem[]): string | null | undefined {
    if (raw === undefined || raw === null) return raw;
    if (typeof raw !== 'string') {
      problems.push({ field: 'description', message: 'must be a string or null' });
      return undefined;
    }
    if (codePoints(raw) > DESCRIPTION_MAX_LENGTH) {
      problems.push({
        field: 'description',
        message: `must be at most ${DESCRIPTION_MAX_LENGTH} characters`,
      });
    }
    return raw;
  }

  private throwIfAny(problems: FieldProblem[]): void {
    if (problems.length > 0) throw new ValidationError(problems);
  }
}
