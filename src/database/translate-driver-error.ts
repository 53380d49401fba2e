import {
  DatabaseConnectionError,
  ListNameTakenError,
  ReferenceNotFoundError,
  ValidationError,
} from './data-layer.errors.js';

interface DriverErrorLike {
  code?: string;
  constraint?: string;
  column?: string;
  message?: string;
  cause?: unknown;
}

// Node socket errors and SQLSTATEs that mean "the database is not there or not answering".
const CONNECTION_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);
const UNAVAILABLE_SQLSTATES = new Set([
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
  '57014', // query_canceled: the statement timeout fired
  '3D000', // the database does not exist
  '28P01', // bad password
  '28000', // not allowed to connect
]);
// pg reports these without a code.
const CONNECTION_MESSAGES = [
  'timeout exceeded when trying to connect',
  'Connection terminated',
  'connection error and is not queryable',
  'Client was closed and is not queryable',
  'Cannot use a pool after calling end',
];

/**
 * Which API field a check constraint protects; the names come from the
 * entities. The service checks every rule it can before any round trip, so
 * these are the last wall (and the rules of a merged PATCH of `due`).
 */
const CONSTRAINT_FIELDS: Record<string, [string, string]> = {
  tasks_title_not_blank: ['title', 'must not be blank'],
  tasks_description_length: ['description', 'must be at most 10000 characters'],
  tasks_user_id_not_empty: ['userId', 'must not be empty'],
  tasks_version_positive: ['version', 'must be at least 1'],
  tasks_not_own_parent: ['parentId', 'must not be the task itself'],
  tasks_completed_at: ['completed', 'must agree with completedAt'],
  tasks_tags_count: ['tags', 'must have at most 20 tags'],
  tasks_due_date_range: ['due.date', 'must be from 1900-01-01 to 9999-12-31'],
  tasks_due_time_zone: ['due', 'must have both time and timeZone, or neither'],
  tasks_due_whole: ['due', 'must have a date when it has a time'],
  tasks_recurrence_due: ['recurrence', 'needs a due'],
  tasks_position_not_empty: ['position', 'must not be empty'],
  lists_name_not_blank: ['name', 'must not be blank'],
  lists_version_positive: ['version', 'must be at least 1'],
};

/** Foreign keys, by name: which reference of the body named nothing of the caller's. */
const FOREIGN_KEY_FIELDS: Record<string, 'listId' | 'parentId'> = {
  tasks_user_id_list_id_foreign: 'listId',
  tasks_user_id_parent_id_foreign: 'parentId',
};

function driverError(error: unknown): DriverErrorLike | undefined {
  // MikroORM wraps driver errors; the repository gets pg's own. Look a few causes deep.
  let e = error;
  for (let depth = 0; depth < 3 && e !== null && typeof e === 'object'; depth++) {
    const candidate = e as DriverErrorLike;
    if (typeof candidate.code === 'string') return candidate;
    if (CONNECTION_MESSAGES.some((m) => candidate.message?.includes(m))) return candidate;
    e = candidate.cause;
  }
  return undefined;
}

/**
 * The one place where driver errors become DataLayerErrors. Anything it does not
 * recognise is returned unchanged: an unexpected error is a bug and must reach the
 * logs as itself, not disguised as a validation or availability problem.
 */
export function translateDriverError(error: unknown): unknown {
  const e = driverError(error);
  if (!e) return error;
  const code = e.code ?? '';
  if (
    CONNECTION_ERRNOS.has(code) ||
    code.startsWith('08') ||
    UNAVAILABLE_SQLSTATES.has(code) ||
    CONNECTION_MESSAGES.some((m) => e.message?.includes(m))
  ) {
    const reason = code === '57014' ? 'did not answer in time' : 'cannot be reached';
    return new DatabaseConnectionError(`The database ${reason} (${code || e.message})`, { cause: error });
  }
  switch (code) {
    case '23514': {
      const [field, message] = CONSTRAINT_FIELDS[e.constraint ?? ''] ?? [
        'body',
        'violates a rule of the task',
      ];
      return ValidationError.field(field, message, { cause: error });
    }
    case '23502': {
      // Report the API's field name (userId), not the column's (user_id).
      const field = (e.column ?? 'body').replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
      return ValidationError.field(field, 'is required', { cause: error });
    }
    case '22001':
      // pg names no column for a value too long; the service checks every length first.
      return ValidationError.field('body', 'has a value longer than its field allows', { cause: error });
    case '23505':
      if (e.constraint === 'lists_user_name_key_unique') return new ListNameTakenError();
      return error;
    case '23503': {
      const field = FOREIGN_KEY_FIELDS[e.constraint ?? ''];
      return field ? new ReferenceNotFoundError(field) : error;
    }
    case '22021': // invalid byte sequence: the NUL character
    case '22P05':
      return ValidationError.field('body', 'must not contain the NUL character', { cause: error });
    default:
      return error;
  }
}
