import { TasksRepository } from '../src/tasks/tasks.repository';
import { repository, useTestDatabase } from './helpers/test-database';
import { LIMITS, newTask } from './helpers/tasks';

const HASH = 'a'.repeat(64);
const OTHER_HASH = 'b'.repeat(64);

const t = useTestDatabase();
let repo: TasksRepository;

beforeEach(async () => {
  await t.sql.query('truncate tasks, idempotency_keys');
  repo = repository(TasksRepository, t.orm.em.fork());
});

const keys = async () =>
  (
    await t.sql.query(
      `select user_id, key, response is not null as done from idempotency_keys order by user_id, key`,
    )
  ).rows;

describe('Idempotency-Key records', () => {
  it('claims a key once; a second claim sees it in progress, then done with the created task', async () => {
    await expect(repo.claimIdempotencyKey('alice', 'k1', HASH)).resolves.toEqual({ state: 'claimed' });
    await expect(repo.claimIdempotencyKey('alice', 'k1', HASH)).resolves.toEqual({ state: 'in-progress' });

    const task = await repo.create('alice', newTask({ title: 'once' }), { ...LIMITS, idempotencyKey: 'k1' });

    await expect(repo.claimIdempotencyKey('alice', 'k1', HASH)).resolves.toEqual({ state: 'done', task });
    await expect(repo.claimIdempotencyKey('alice', 'k1', OTHER_HASH)).resolves.toEqual({ state: 'reused' });
    expect((await t.sql.query('select count(*)::int as n from tasks')).rows[0].n).toBe(1);
  });

  it('scopes keys to their owner', async () => {
    await repo.claimIdempotencyKey('alice', 'k1', HASH);
    await expect(repo.claimIdempotencyKey('bob', 'k1', OTHER_HASH)).resolves.toEqual({ state: 'claimed' });
    expect(await keys()).toEqual([
      { user_id: 'alice', key: 'k1', done: false },
      { user_id: 'bob', key: 'k1', done: false },
    ]);
  });

  it('gives a released key back, and only while it is unfinished', async () => {
    await repo.claimIdempotencyKey('alice', 'k1', HASH);
    await repo.releaseIdempotencyKey('alice', 'k1');
    await expect(repo.claimIdempotencyKey('alice', 'k1', OTHER_HASH)).resolves.toEqual({ state: 'claimed' });

    await repo.create('alice', newTask({ title: 'kept' }), { ...LIMITS, idempotencyKey: 'k1' });
    await repo.releaseIdempotencyKey('alice', 'k1');
    expect(await keys()).toEqual([{ user_id: 'alice', key: 'k1', done: true }]);
  });

  it('lets an expired key, or one whose request died mid-way, be claimed again', async () => {
    await repo.claimIdempotencyKey('alice', 'expired', HASH);
    await repo.create('alice', newTask({ title: 'old' }), { ...LIMITS, idempotencyKey: 'expired' });
    await repo.claimIdempotencyKey('alice', 'abandoned', HASH);
    await t.sql.query(
      `update idempotency_keys set expires_at = now() - interval '1 second' where key = 'expired'`,
    );
    await t.sql.query(
      `update idempotency_keys set locked_at = now() - interval '61 seconds' where key = 'abandoned'`,
    );

    await expect(repo.claimIdempotencyKey('alice', 'expired', OTHER_HASH)).resolves.toEqual({
      state: 'claimed',
    });
    await expect(repo.claimIdempotencyKey('alice', 'abandoned', OTHER_HASH)).resolves.toEqual({
      state: 'claimed',
    });
  });

  it("purges the owner's expired keys on each claim, and sweeps everyone else's in batches", async () => {
    for (const [user, key] of [
      ['alice', 'a1'],
      ['alice', 'a2'],
      ['bob', 'b1'],
      ['carol', 'c1'],
    ]) {
      await repo.claimIdempotencyKey(user, key, HASH);
    }
    await t.sql.query(
      `update idempotency_keys set expires_at = now() - interval '1 second' where key <> 'b1'`,
    );

    await repo.claimIdempotencyKey('alice', 'a3', HASH);
    expect(await keys()).toEqual([
      { user_id: 'alice', key: 'a3', done: false },
      { user_id: 'bob', key: 'b1', done: false },
      { user_id: 'carol', key: 'c1', done: false },
    ]);

    await expect(repo.sweepExpiredIdempotencyKeys()).resolves.toBe(1);
    expect(await keys()).toEqual([
      { user_id: 'alice', key: 'a3', done: false },
      { user_id: 'bob', key: 'b1', done: false },
    ]);
  });

  it('lets exactly one of 10 concurrent claims win', async () => {
    const claims = await Promise.all(
      Array.from({ length: 10 }, () =>
        repository(TasksRepository, t.orm.em.fork()).claimIdempotencyKey('alice', 'k', HASH),
      ),
    );
    expect(claims.filter((c) => c.state === 'claimed')).toHaveLength(1);
    expect(claims.filter((c) => c.state === 'in-progress')).toHaveLength(9);
  });

  it('replays a response stored before a migration added columns as a complete task of the current shape', async () => {
    await repo.claimIdempotencyKey('alice', 'old', HASH);
    const task = await repo.create('alice', newTask({ title: 'stored by 1.0' }), {
      ...LIMITS,
      idempotencyKey: 'old',
    });
    // What a key stored by 1.0 holds once the 1.1 migration has rewritten it: the
    // 1.0 members only (position, for one, is not among them).
    await t.sql.query(
      `update idempotency_keys set response = response - 'position' - 'priority' - 'tags' where key = 'old'`,
    );

    const replay = await repo.claimIdempotencyKey('alice', 'old', HASH);

    expect(replay).toEqual({ state: 'done', task });
  });

  it('replays the first response exactly, even after the task has changed since', async () => {
    await repo.claimIdempotencyKey('alice', 'first', HASH);
    const task = await repo.create('alice', newTask({ title: 'as created' }), {
      ...LIMITS,
      idempotencyKey: 'first',
    });
    await repo.update('alice', task.id, { title: 'changed later' });

    await expect(repo.claimIdempotencyKey('alice', 'first', HASH)).resolves.toEqual({ state: 'done', task });
  });
});
