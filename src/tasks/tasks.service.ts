import { createHash } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { codePoints, CONTROL_CHARACTERS } from '../common/text.js';
import type { EnvironmentVariables } from '../config/environment.js';
import {
  IdempotencyKeyInProgressError,
  IdempotencyKeyReusedError,
  ValidationError,
  VersionConflictError,
  type FieldProblem,
} from '../database/data-layer.errors.js';
import { CursorCodec } from './cursor-codec.js';
import {
  nextOccurrence,
  RECURRENCE_PERIODS,
  recurrenceGivesADate,
  recurrenceProblems,
} from './recurrence.js';
import {
  DESCRIPTION_MAX_LENGTH,
  PRIORITIES,
  TAG_MAX_LENGTH,
  TAGS_MAX,
  TIME_ZONE_MAX_LENGTH,
  TITLE_MAX_LENGTH,
  type Priority,
} from './task.entity.js';
import {
  UUID,
  type IfMatch,
  type MoveRequest,
  type NewTaskInput,
  type PlacementChange,
  type TagCount,
  type TaskFilters,
  type TaskPatch,
  type TaskRecord,
  type TaskSort,
} from './task.types.js';
import { TasksRepository } from './tasks.repository.js';

/** A due as the API writes it. */
export interface DueInput {
  date?: unknown;
  time?: unknown;
  timeZone?: unknown;
}

/** A create or PATCH body as it arrives (types checked by the DTO, rules here). */
export interface TaskInput {
  title?: unknown;
  description?: unknown;
  completed?: unknown;
  listId?: unknown;
  parentId?: unknown;
  priority?: unknown;
  tags?: unknown;
  due?: unknown;
  recurrence?: unknown;
}

export interface ListRequest {
  completed?: boolean;
  q?: string;
  listId?: string;
  parentId?: string;
  tags?: string[];
  priorities?: string[];
  dueFrom?: string;
  dueTo?: string;
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
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME = /^([01]\d|2[0-3]):[0-5]\d$/;

const PATCH_FIELDS = [
  'title',
  'description',
  'completed',
  'listId',
  'parentId',
  'priority',
  'tags',
  'due',
  'recurrence',
];

/** One create in this many also sweeps other users' expired idempotency keys. */
const SWEEP_EVERY = 100;

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;
export const Q_MAX_LENGTH = 255;

/** JSON with object members in a fixed order: the same value gives the same text, whatever order it was sent in. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    // An absent member (undefined, as a DTO's declared field may hold) is left out, as JSON.stringify does.
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function isRealDate(text: string): boolean {
  const m = DATE.exec(text);
  if (!m) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(2000, month - 1, day));
  date.setUTCFullYear(year);
  return (
    year >= 1900 &&
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day
  );
}

/**
 * An IANA zone name the runtime knows, aliases included (UTC, Asia/Kolkata),
 * which Intl.supportedValuesOf leaves out; an offset such as +05:30, which
 * recent runtimes also accept, is not a name.
 */
function isTimeZone(name: string): boolean {
  if (!/^[A-Za-z]/.test(name) || name.length > TIME_ZONE_MAX_LENGTH) return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

const DUE_MEMBERS = ['date', 'time', 'timeZone'] as const;
/**
 * Tries of a PATCH that read the task first, when other writes keep getting
 * there first. Each round lets at least one of the racing writes land, so
 * this many writes to one task at the same moment all land.
 */
const CHECKED_UPDATE_ATTEMPTS = 20;

/**
 * The task rules (trimming, limits, defaults, references' form) in front of
 * the repository: every input is checked once, here, before any database
 * round trip, and all problems of one input are reported together. Errors
 * are DataLayerErrors, never HTTP exceptions, so only the exception filter
 * knows about HTTP.
 */
@Injectable()
export class TasksService {
  private readonly logger = new Logger(TasksService.name);
  private readonly maxTasks: number;

  constructor(
    private readonly tasks: TasksRepository,
    private readonly cursors: CursorCodec,
    config: ConfigService<EnvironmentVariables, true>,
  ) {
    this.maxTasks = config.get('MAX_TASKS_PER_USER', { infer: true });
  }

  /**
   * Creates a task. With an Idempotency-Key, a retry of the same body within
   * 24 hours returns the task the first request created (and creates nothing);
   * the same key with another body, or while the first is still running, is refused.
   */
  async create(ownerId: string, input: TaskInput, idempotencyKey?: string): Promise<TaskRecord> {
    const problems: FieldProblem[] = [];
    const due = this.due(input.due, problems);
    const data: NewTaskInput = {
      title: this.title(input.title ?? undefined, problems), // null is as absent: required
      description: this.description(input.description, problems) ?? null,
      completed: this.completed(input.completed, problems) ?? false,
      listId: this.reference('listId', input.listId, problems),
      parentId: this.reference('parentId', input.parentId, problems),
      priority: this.priority(input.priority, problems) ?? 'none',
      tags: this.tagList(input.tags, problems) ?? [],
      dueDate: due?.date ?? null,
      dueTime: due?.time ?? null,
      dueTimeZone: due?.timeZone ?? null,
      recurrence: this.recurrence(input.recurrence, problems) ?? null,
    };
    if (data.recurrence !== null && data.dueDate === null && problems.length === 0) {
      problems.push({ field: 'recurrence', message: 'needs a due' });
    }
    this.throwIfAny(problems);
    this.checkGivesADate(data.recurrence, data.dueDate);
    const options = { maxTasks: this.maxTasks, idempotencyKey };
    if (idempotencyKey === undefined) return this.tasks.create(ownerId, data, options);

    // The body as sent (before trimming) identifies the request; member order does not matter.
    const requestHash = createHash('sha256').update(canonicalJson(input)).digest('hex');
    const claim = await this.tasks.claimIdempotencyKey(ownerId, idempotencyKey, requestHash);
    if (claim.state === 'reused') throw new IdempotencyKeyReusedError();
    if (claim.state === 'in-progress') throw new IdempotencyKeyInProgressError();
    if (claim.state === 'done') return claim.task;
    if (Math.random() * SWEEP_EVERY < 1) this.sweepExpiredKeys();
    try {
      return await this.tasks.create(ownerId, data, options);
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

  async tags(ownerId: string): Promise<TagCount[]> {
    return this.tasks.tags(ownerId);
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
    const filters: TaskFilters = { completed: request.completed, q: request.q };
    if (request.listId !== undefined) {
      if (request.listId === 'inbox' || UUID.test(request.listId))
        filters.listId = request.listId.toLowerCase();
      else problems.push({ field: 'listId', message: 'must be a list id or inbox' });
    }
    if (request.parentId !== undefined) {
      if (request.parentId === 'none' || UUID.test(request.parentId))
        filters.parentId = request.parentId.toLowerCase();
      else problems.push({ field: 'parentId', message: 'must be a task id or none' });
    }
    if (request.tags !== undefined) {
      const tags = new Set<string>();
      for (const raw of request.tags) {
        const tag = this.tag(raw);
        if (tag === null) {
          problems.push({ field: 'tag', message: this.tagRule() });
          break;
        }
        tags.add(tag);
      }
      filters.tags = [...tags].sort();
    }
    if (request.priorities !== undefined) {
      if (request.priorities.every((p) => (PRIORITIES as readonly string[]).includes(p))) {
        filters.priorities = [...new Set(request.priorities as Priority[])].sort();
      } else {
        problems.push({ field: 'priority', message: `must be one of ${PRIORITIES.join(', ')}` });
      }
    }
    for (const field of ['dueFrom', 'dueTo'] as const) {
      const value = request[field];
      if (value === undefined) continue;
      if (isRealDate(value)) filters[field] = value;
      else problems.push({ field, message: 'must be a date, YYYY-MM-DD' });
    }
    this.throwIfAny(problems);
    // A cursor is bound to the sort and to these filters (tags and priorities as sets).
    const bound = canonicalJson(filters);
    const after =
      request.cursor === undefined ? undefined : this.cursors.decode(ownerId, sort, bound, request.cursor);
    const page = await this.tasks.list(ownerId, { ...filters, sort, limit, after });
    return {
      items: page.items,
      nextCursor: page.next ? this.cursors.encode(ownerId, sort, bound, page.next) : null,
    };
  }

  async update(ownerId: string, id: string, input: TaskInput, ifMatch?: IfMatch): Promise<TaskRecord> {
    const problems: FieldProblem[] = [];
    const patch: TaskPatch = {};
    const placement: PlacementChange = {};
    if (Object.values(input).every((v) => v === undefined)) {
      problems.push({ field: 'body', message: `must contain at least one of ${PATCH_FIELDS.join(', ')}` });
    }
    // null for title and completed gets their 1.0 type messages; for the 1.1 fields, its own.
    for (const field of ['priority', 'tags'] as const) {
      if (input[field] === null) problems.push({ field, message: 'must not be null' });
    }
    if (input.title !== undefined) patch.title = this.title(input.title, problems);
    if (input.description !== undefined) patch.description = this.description(input.description, problems);
    if (input.completed !== undefined) patch.completed = this.completed(input.completed, problems);
    if (input.priority !== undefined && input.priority !== null)
      patch.priority = this.priority(input.priority, problems);
    if (input.tags !== undefined && input.tags !== null) patch.tags = this.tagList(input.tags, problems);
    if (input.recurrence !== undefined) patch.recurrence = this.recurrence(input.recurrence, problems);
    if (input.listId !== undefined) placement.listId = this.reference('listId', input.listId, problems);
    if (input.parentId !== undefined)
      placement.parentId = this.reference('parentId', input.parentId, problems);
    let partialDue = false;
    if (input.due === null) {
      Object.assign(patch, { dueDate: null, dueTime: null, dueTimeZone: null });
    } else if (input.due !== undefined) {
      const members = this.dueMembers(input.due, problems);
      if (members.date !== undefined) patch.dueDate = members.date;
      if (members.time !== undefined) patch.dueTime = members.time;
      if (members.timeZone !== undefined) patch.dueTimeZone = members.timeZone;
      const given = Object.keys(members).length;
      partialDue = given > 0 && given < 3;
    }
    this.throwIfAny(problems);
    const options = { ifMatch, placement, partialDue };
    this.checkGivesADate(patch.recurrence ?? null, patch.dueDate ?? null);
    // A new rule over the stored date, or a new date under the stored rule, needs the stored task.
    const ruleOverStoredDate = typeof patch.recurrence === 'string' && patch.dueDate === undefined;
    const dateUnderStoredRule = typeof patch.dueDate === 'string' && patch.recurrence === undefined;
    // So does completing a task that may be recurring, which advances its due instead.
    const completing = patch.completed === true && patch.recurrence !== null;
    const relocating = placement.listId !== undefined || placement.parentId !== undefined;
    if (
      ruleOverStoredDate ||
      dateUnderStoredRule ||
      (completing && (relocating || patch.recurrence !== undefined))
    )
      return this.updateReadingFirst(ownerId, id, patch, options);
    if (!completing) return this.tasks.update(ownerId, id, patch, options);
    // Most completed tasks do not recur: one UPDATE that leaves a recurring task alone, and a read only for one.
    const completed = await this.tasks.completeUnlessRecurring(ownerId, id, patch, { ifMatch, partialDue });
    return completed ?? this.updateReadingFirst(ownerId, id, patch, options);
  }

  /**
   * A PATCH whose result depends on the stored task: a rule without the date
   * or the date without the rule (does the merged rule give a date?), or the
   * completion of a recurring task (its next due, computed from the due after
   * the rest of the PATCH is applied). It reads the task, decides, and writes
   * only over the version it read, in the one UPDATE of any PATCH. When
   * another write got there first, it reads and decides again, unless the
   * caller sent If-Match with a version: then that write wins and the caller
   * gets 412. So concurrent completions advance a task one occurrence each.
   */
  private async updateReadingFirst(
    ownerId: string,
    id: string,
    patch: TaskPatch,
    options: { ifMatch?: IfMatch; placement: PlacementChange; partialDue: boolean },
  ): Promise<TaskRecord> {
    const { ifMatch } = options;
    for (let attempt = 1; ; attempt++) {
      const current = await this.tasks.findOne(ownerId, id);
      if (Array.isArray(ifMatch) && !ifMatch.includes(current.version))
        throw new VersionConflictError(current.version);
      const rule = patch.recurrence !== undefined ? patch.recurrence : current.recurrence;
      const date = patch.dueDate !== undefined ? patch.dueDate : current.dueDate;
      const changesRule = patch.recurrence !== undefined || patch.dueDate !== undefined;
      if (changesRule && rule !== null && date !== null) this.checkGivesADate(rule, date);
      let write = patch;
      if (patch.completed === true && !current.completed && rule !== null && date !== null) {
        const next = nextOccurrence(rule, date);
        if (next !== null) {
          // Not completed: its due moves on (time and zone kept), completed stays false.
          const { completed: _, ...rest } = patch;
          write = { ...rest, dueDate: next };
        }
      }
      try {
        return await this.tasks.update(ownerId, id, write, { ...options, ifMatch: [current.version] });
      } catch (error) {
        const retry = error instanceof VersionConflictError && !Array.isArray(ifMatch);
        if (!retry || attempt === CHECKED_UPDATE_ATTEMPTS) throw error;
      }
    }
  }

  /** The contract's 400 for a rule with no date in its first 1,000 periods from the due. */
  private checkGivesADate(rule: string | null, dueDate: string | null): void {
    if (rule === null || dueDate === null || recurrenceGivesADate(rule, dueDate)) return;
    throw ValidationError.field(
      'recurrence',
      `gives no date in its first ${RECURRENCE_PERIODS} periods from the due (UNTIL aside)`,
    );
  }

  async delete(ownerId: string, id: string, ifMatch?: IfMatch): Promise<void> {
    return this.tasks.delete(ownerId, id, ifMatch);
  }

  async move(
    ownerId: string,
    id: string,
    input: Record<string, unknown>,
    ifMatch?: IfMatch,
  ): Promise<TaskRecord> {
    const problems: FieldProblem[] = [];
    const request: MoveRequest = {};
    if (input.listId !== undefined) request.listId = this.reference('listId', input.listId, problems);
    if (input.parentId !== undefined) request.parentId = this.reference('parentId', input.parentId, problems);
    if (input.after !== undefined) request.after = this.reference('after', input.after, problems);
    this.throwIfAny(problems);
    return this.tasks.move(ownerId, id, request, ifMatch);
  }

  private title(raw: unknown, problems: FieldProblem[]): string {
    if (typeof raw !== 'string') {
      problems.push({ field: 'title', message: raw === undefined ? 'is required' : 'must be a string' });
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

  /** A list or task id in a body: null, or a UUID (lower-cased, as the database returns it). */
  private reference(field: string, raw: unknown, problems: FieldProblem[]): string | null | undefined {
    if (raw === undefined || raw === null) return raw;
    if (typeof raw === 'string' && UUID.test(raw)) return raw.toLowerCase();
    problems.push({ field, message: 'must be a UUID or null' });
    return undefined;
  }

  private priority(raw: unknown, problems: FieldProblem[]): Priority | undefined {
    if (raw === undefined) return undefined;
    if ((PRIORITIES as readonly unknown[]).includes(raw)) return raw as Priority;
    problems.push({ field: 'priority', message: `must be one of ${PRIORITIES.join(', ')}` });
    return undefined;
  }

  /** Trimmed, lower-cased (toLowerCase, locale-independent), or null when it breaks the rule. */
  private tag(raw: unknown): string | null {
    if (typeof raw !== 'string' || !raw.isWellFormed()) return null;
    const tag = raw.trim().toLowerCase();
    const length = codePoints(tag);
    return length >= 1 && length <= TAG_MAX_LENGTH && !CONTROL_CHARACTERS.test(tag) ? tag : null;
  }

  private tagRule(): string {
    return `must be 1 to ${TAG_MAX_LENGTH} characters after trimming, without control characters`;
  }

  private tagList(raw: unknown, problems: FieldProblem[]): string[] | undefined {
    if (raw === undefined) return undefined;
    if (!Array.isArray(raw)) {
      problems.push({ field: 'tags', message: 'must be an array of strings' });
      return undefined;
    }
    if (raw.length > TAGS_MAX) {
      problems.push({ field: 'tags', message: `must have at most ${TAGS_MAX} tags` });
      return undefined;
    }
    const tags: string[] = [];
    for (const [i, item] of raw.entries()) {
      const tag = this.tag(item);
      if (tag === null) {
        problems.push({ field: `tags[${i}]`, message: this.tagRule() });
      } else if (tags.includes(tag)) {
        problems.push({
          field: `tags[${i}]`,
          message: 'repeats another tag (tags are compared lower-cased)',
        });
      } else {
        tags.push(tag);
      }
    }
    return tags;
  }

  /** A whole due (create, or PATCH of a task that has none): null, or all three members. */
  private due(
    raw: unknown,
    problems: FieldProblem[],
  ): { date: string; time: string | null; timeZone: string | null } | null | undefined {
    if (raw === undefined || raw === null) return raw;
    const members = this.dueMembers(raw, problems);
    if (members.date === undefined || members.time === undefined || members.timeZone === undefined) {
      // A member that is there but wrong has its own problem already.
      const given = raw as Record<string, unknown>;
      if (typeof raw === 'object' && !Array.isArray(raw) && DUE_MEMBERS.some((m) => given[m] === undefined))
        problems.push({ field: 'due', message: 'must have date, time and timeZone' });
      return undefined;
    }
    return members as { date: string; time: string | null; timeZone: string | null };
  }

  /** The members of a due that are present, each checked on its own. */
  private dueMembers(
    raw: unknown,
    problems: FieldProblem[],
  ): { date?: string; time?: string | null; timeZone?: string | null } {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      problems.push({ field: 'due', message: 'must be an object with date, time and timeZone, or null' });
      return {};
    }
    const due = raw as DueInput & Record<string, unknown>;
    const members: { date?: string; time?: string | null; timeZone?: string | null } = {};
    for (const key of Object.keys(due)) {
      if (!(DUE_MEMBERS as readonly string[]).includes(key))
        problems.push({ field: `due.${key}`, message: 'is not allowed' });
    }
    if (due.date !== undefined) {
      if (typeof due.date === 'string' && isRealDate(due.date)) members.date = due.date;
      else
        problems.push({
          field: 'due.date',
          message: 'must be a calendar date from 1900-01-01 to 9999-12-31, YYYY-MM-DD',
        });
    }
    if (due.time !== undefined) {
      if (due.time === null || (typeof due.time === 'string' && TIME.test(due.time))) members.time = due.time;
      else problems.push({ field: 'due.time', message: 'must be HH:MM from 00:00 to 23:59, or null' });
    }
    if (due.timeZone !== undefined) {
      if (due.timeZone === null || (typeof due.timeZone === 'string' && isTimeZone(due.timeZone)))
        members.timeZone = due.timeZone;
      else
        problems.push({
          field: 'due.timeZone',
          message: 'must be an IANA time-zone name such as Europe/Berlin, or null',
        });
    }
    if (
      members.time !== undefined &&
      members.timeZone !== undefined &&
      (members.time === null) !== (members.timeZone === null)
    ) {
      problems.push({ field: 'due', message: 'must have both time and timeZone, or neither' });
    }
    return members;
  }

  private recurrence(raw: unknown, problems: FieldProblem[]): string | null | undefined {
    if (raw === undefined || raw === null) return raw;
    if (typeof raw !== 'string') {
      problems.push({ field: 'recurrence', message: 'must be a string or null' });
      return undefined;
    }
    for (const message of recurrenceProblems(raw)) problems.push({ field: 'recurrence', message });
    return raw;
  }

  private throwIfAny(problems: FieldProblem[]): void {
    if (problems.length > 0) throw new ValidationError(problems);
  }
}
