import {
  DatabaseConnectionError,
  ListNameTakenError,
  ReferenceNotFoundError,
  ValidationError,
} from './data-layer.errors';
import { translateDriverError } from './translate-driver-error';

const pgError = (fields: Record<string, string>) =>
  Object.assign(new Error(fields.message ?? 'pg error'), fields);

describe('translateDriverError', () => {
  it.each([
    ['a refused connection', pgError({ code: 'ECONNREFUSED' })],
    ['a connection exception SQLSTATE', pgError({ code: '08006' })],
    ['an admin shutdown', pgError({ code: '57P01' })],
    ['too many connections', pgError({ code: '53300' })],
    ['a pool connect timeout', new Error('timeout exceeded when trying to connect')],
    ['a dropped connection', new Error('Connection terminated unexpectedly')],
    [
      'a wrapped driver error',
      Object.assign(new Error('wrapper'), { cause: pgError({ code: 'ECONNRESET' }) }),
    ],
  ])('reports %s as DatabaseConnectionError, keeping the cause', (_case, error) => {
    const translated = translateDriverError(error);
    expect(translated).toBeInstanceOf(DatabaseConnectionError);
    expect((translated as Error).cause).toBe(error);
  });

  it('says when the database was too slow', () => {
    expect(translateDriverError(pgError({ code: '57014' }))).toMatchObject({
      message: 'The database did not answer in time (57014)',
    });
  });

  it.each([
    [{ code: '23514', constraint: 'tasks_title_not_blank' }, 'title', 'must not be blank'],
    [
      { code: '23514', constraint: 'tasks_description_length' },
      'description',
      'must be at most 10000 characters',
    ],
    [{ code: '23514', constraint: 'some_future_check' }, 'body', 'violates a rule of the task'],
    [{ code: '23502', column: 'title' }, 'title', 'is required'],
    [{ code: '23502', column: 'user_id' }, 'userId', 'is required'],
    [
      { code: '22001', message: 'value too long for type character varying(128)' },
      'body',
      'has a value longer than its field allows',
    ],
    [
      { code: '23514', constraint: 'tasks_due_time_zone' },
      'due',
      'must have both time and timeZone, or neither',
    ],
    [{ code: '22021' }, 'body', 'must not contain the NUL character'],
  ])('reports %p as a ValidationError of %s', (fields, field, message) => {
    const translated = translateDriverError(pgError(fields));
    expect(translated).toBeInstanceOf(ValidationError);
    expect((translated as ValidationError).errors).toEqual([{ field, message }]);
  });

  it('maps a taken list name and a dangling reference by constraint name', () => {
    expect(
      translateDriverError(pgError({ code: '23505', constraint: 'lists_user_name_key_unique' })),
    ).toBeInstanceOf(ListNameTakenError);
    const dangling = translateDriverError(
      pgError({ code: '23503', constraint: 'tasks_user_id_parent_id_foreign' }),
    );
    expect(dangling).toBeInstanceOf(ReferenceNotFoundError);
    expect((dangling as ReferenceNotFoundError).field).toBe('parentId');
    const unknown = pgError({ code: '23505', constraint: 'some_other_unique' });
    expect(translateDriverError(unknown)).toBe(unknown);
  });

  it('leaves anything else as it is, so a bug is logged as itself', () => {
    const syntax = pgError({ code: '42601' });
    const plain = new TypeError('boom');
    expect(translateDriverError(syntax)).toBe(syntax);
    expect(translateDriverError(plain)).toBe(plain);
    expect(translateDriverError('a string')).toBe('a string');
  });
});
