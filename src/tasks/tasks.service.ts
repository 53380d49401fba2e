import { createHash } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import {
  IdempotencyKeyInProgressError,
  IdempotencyKeyReusedError,
  ValidationError,
  type FieldProblem,
} from '../database/data-layer.errors.js';
import { CursorCodec } from './cursor-codec.js';
import { DESCRIPTION_MAX_LENGTH, TITLE_MAX_LENGTH } from './task.entity.js';
import type { IfMatch, NewTask, TaskPatch, TaskRecord, TaskSort } from './task.types.js';
import { TasksRepository } from './tasks.repository.js';

export interface ListRequest {
  completed?: boolean;
  q?: string;
  sort?: TaskSort;
  limit?: number;
  cursor?: string;
}

export interface TaskList {
  items: TaskRecord[];
  nextCursor: string | null;
}

// PostgreSQL would store an unpaired surrogate as U+FFFD, changing the text silently.
const WELL_FORMED = 'must be well-formed Unicode text (no unpaired surrogates)';
// PostgreSQL cannot store U+0000 in text; refused before any database round trip.
const NO_NUL = 'must not contain the NUL character';

/** One create in this many also sweeps other users' expired idempotency keys. */
const SWEEP_EVERY = 100;

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
  private readonly logger = new Logger(TasksService.name);

  constructor(
    private readonly tasks: TasksRepository,
    private readonly cursors: CursorCodec,
  ) {}

  /**
   * Creates a task. With an Idempotency-Key, a retry of the same body within
   * 24 hours returns the task the first request created (and creates nothing);
   * the same key with another body, or while the first is still running, is refused.
   */
  async create(ownerId: string, input: NewTask, idempotencyKey?: string): Promise<TaskRecord> {
    const problems: FieldProblem[] = [];
    const title = this.title(input.title, problems);
    this.description(input.description, problems);
    this.completed(input.completed, problems);
    this.throwIfAny(problems);
    const data = { title, description: input.description ?? null, completed: input.completed ?? false };
    if (idempotencyKey === undefined) return this.tasks.create(ownerId, data);

    // The body as sent (before trimming) identifies the request; key order does not matter.
    const requestHash = createHash('sha256')
      .update(JSON.stringify([input.title, input.description, input.completed]))
      .digest('hex');
    const claim = await this.tasks.claimIdempotencyKey(ownerId, idempotencyKey, requestHash);
    if (claim.state === 'reused') throw new IdempotencyKeyReusedError();
    if (claim.state === 'in-progress') throw new IdempotencyKeyInProgressError();
    if (claim.state === 'done') return claim.task;
    if (Math.random() * SWEEP_EVERY < 1) this.sweepExpiredKeys();
    try {
      return await this.tasks.create(ownerId, data, idempotencyKey);
    } catch (error) {
      await this.tasks.releaseIdempotencyKey(ownerId, idempotencyKey).catch(() => undefined);
      throw error;
    }
  }

  private sweepExpiredKeys(): void {
    // Housekeeping must never fail or slow down the request that triggered it.
    this.tasks.sweepExpiredIdempotencyKeys().then(
      (n) => n > 0 && this.logger.log(`swept ${n} expired idempotency keys`),
      (error: unknown) => this.logger.warn(`sweeping expired idempotency keys failed: ${String(error)}`),
    );
  }

  async get(ownerId: string, id: string): Promise<TaskRecord> {
    return this.tasks.findOne(ownerId, id);
  }

  async list(ownerId: string, request: ListRequest): Promise<TaskList> {
    const problems: FieldProblem[] = [];
    const limit = request.limit ?? DEFAULT_PAGE_SIZE;
    const sort = request.sort ?? '-createdAt';
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
      problems.push({ field: 'limit', message: `must be an integer from 1 to ${MAX_PAGE_SIZE}` });
    }
    if (request.q !== undefined && (request.q.length === 0 || codePoints(request.q) > Q_MAX_LENGTH)) {
      problems.push({ field: 'q', message: `must be 1 to ${Q_MAX_LENGTH} characters` });
    } else if (request.q?.includes('\u0000')) {
      problems.push({ field: 'q', message: NO_NUL });
    }
    this.throwIfAny(problems);
    const after =
      request.cursor === undefined ? undefined : this.cursors.decode(ownerId, sort, request.cursor);
    const page = await this.tasks.list(ownerId, {
      completed: request.completed,
      q: request.q,
      sort,
      limit,
      after,
    });
    return {
      items: page.items,
      nextCursor: page.next ? this.cursors.encode(ownerId, sort, page.next) : null,
    };
  }

  async update(ownerId: string, id: string, patch: TaskPatch, ifMatch?: IfMatch): Promise<TaskRecord> {
    const problems: FieldProblem[] = [];
    const changes: TaskPatch = {};
    if (patch.title !== undefined) changes.title = this.title(patch.title, problems);
    if (patch.description !== undefined) changes.description = this.description(patch.description, problems);
    if (patch.completed !== undefined) changes.completed = this.completed(patch.completed, problems);
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
    if (!raw.isWellFormed()) {
      problems.push({ field: 'title', message: WELL_FORMED });
      return raw;
    }
    if (raw.includes('\u0000')) problems.push({ field: 'title', message: NO_NUL });
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
    if (!raw.isWellFormed()) {
      problems.push({ field: 'description', message: WELL_FORMED });
    } else if (raw.includes('\u0000')) {
      problems.push({ field: 'description', message: NO_NUL });
    } else if (codePoints(raw) > DESCRIPTION_MAX_LENGTH) {
      problems.push({
        field: 'description',
        message: `must be at most ${DESCRIPTION_MAX_LENGTH} characters`,
      });
    }
    return raw;
  }

  private completed(raw: unknown, problems: FieldProblem[]): boolean | undefined {
    if (raw === undefined || typeof raw === 'boolean') return raw;
    problems.push({ field: 'completed', message: 'must be true or false' });
    return undefined;
  }

  private throwIfAny(problems: FieldProblem[]): void {
    if (problems.length > 0) throw new ValidationError(problems);
  }
}
