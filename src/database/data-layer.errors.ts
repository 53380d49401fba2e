/**
 * Errors of the data layer. Each has a stable `code` (the API's error code) so
 * the HTTP filter maps classes to problem documents without looking at
 * messages, and services never need to know about HTTP.
 */
export abstract class DataLayerError extends Error {
  abstract readonly code: string;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Missing and not-owned are the same error, so nobody can detect another user's task. */
export class TaskNotFoundError extends DataLayerError {
  readonly code = 'TASK_NOT_FOUND';

  constructor() {
    super('Task not found');
  }
}

export interface FieldProblem {
  field: string;
  message: string;
}

export class ValidationError extends DataLayerError {
  readonly code = 'VALIDATION_ERROR';

  constructor(
    readonly errors: FieldProblem[],
    options?: ErrorOptions,
  ) {
    super(errors.map((e) => `${e.field} ${e.message}`).join('; '), options);
  }

  static field(field: string, message: string, options?: ErrorOptions): ValidationError {
    return new ValidationError([{ field, message }], options);
  }
}

/** A conditional write (If-Match) whose versions do not include the current one. */
export class VersionConflictError extends DataLayerError {
  readonly code = 'PRECONDITION_FAILED';

  constructor(
    readonly currentVersion?: number,
    resource: 'task' | 'list' = 'task',
  ) {
    super(`The ${resource} has been changed since the given version`);
  }
}

/** The database could not be reached or did not answer in time; the cause is kept for the logs. */
export class DatabaseConnectionError extends DataLayerError {
  readonly code = 'SERVICE_UNAVAILABLE';

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** A create with an Idempotency-Key whose first request is still running. */
export class IdempotencyKeyInProgressError extends DataLayerError {
  readonly code = 'IDEMPOTENCY_KEY_IN_PROGRESS';

  constructor() {
    super('A request with this Idempotency-Key is still being processed');
  }
}

/** The same Idempotency-Key sent again with a different body. */
export class IdempotencyKeyReusedError extends DataLayerError {
  readonly code = 'IDEMPOTENCY_KEY_REUSED';

  constructor() {
    super('This Idempotency-Key was already used with a different request body');
  }
}

/** Missing and not-owned are the same error, as for tasks. */
export class ListNotFoundError extends DataLayerError {
  readonly code = 'LIST_NOT_FOUND';

  constructor() {
    super('List not found');
  }
}

/** A listId, parentId or after in a body that names none of the caller's lists or tasks. */
export class ReferenceNotFoundError extends DataLayerError {
  readonly code = 'REFERENCE_NOT_FOUND';

  constructor(readonly field: 'listId' | 'parentId' | 'after') {
    super(`${field} does not name one of your ${field === 'listId' ? 'lists' : 'tasks'}`);
  }
}

/** A parentId that breaks the one-level nesting or the same-list rule. */
export class InvalidParentError extends DataLayerError {
  readonly code = 'INVALID_PARENT';

  constructor(reason: string) {
    super(reason);
  }
}

/** A create past the owner's quota of tasks or lists. */
export class QuotaExceededError extends DataLayerError {
  readonly code = 'QUOTA_EXCEEDED';

  constructor(
    readonly resource: 'tasks' | 'lists',
    readonly limit: number,
  ) {
    super(`You have reached the limit of ${limit} ${resource}`);
  }
}

/** Another of the caller's lists has this name (compared case-insensitively). */
export class ListNameTakenError extends DataLayerError {
  readonly code = 'LIST_NAME_TAKEN';

  constructor() {
    super('You already have a list with this name');
  }
}

/** A sync token older than the change retention: deletions it would need may be gone. */
export class SyncTokenExpiredError extends DataLayerError {
  readonly code = 'SYNC_TOKEN_EXPIRED';

  constructor(retentionDays: number) {
    super(`The sync token is older than ${retentionDays} days; sync again without since`);
  }
}

/** The caller already has STREAM_MAX_PER_USER change streams open on this instance. */
export class TooManyStreamsError extends DataLayerError {
  readonly code = 'TOO_MANY_STREAMS';

  constructor(limit: number) {
    super(`You already have ${limit} change streams open; close one first`);
  }
}

/** No new change stream now: the instance is full, or its LISTEN connection is down. */
export class StreamsUnavailableError extends DataLayerError {
  readonly code = 'SERVICE_UNAVAILABLE';
}
