import { ChangesRepository } from '../src/sync/changes.repository';
import { useTestDatabase, repository } from './helpers/test-database';

/** The tombstone sweep: what CHANGE_RETENTION_DAYS removes, and what it keeps. */
describe('ChangesRepository.sweep', () => {
  const t = useTestDatabase();

  it('removes the tombstones older than the retention, of every owner, and keeps the rest', async () => {
    await t.sql.query(
      `insert into deletions (user_id, position, kind, id, deleted_at) values
         ('old_a', 1, 'task', gen_random_uuid(), now() - interval '31 days'),
         ('old_b', 1, 'list', gen_random_uuid(), now() - interval '45 days'),
         ('young', 1, 'task', gen_random_uuid(), now() - interval '29 days'),
         ('young', 2, 'task', gen_random_uuid(), now())`,
    );

    const swept = await repository(ChangesRepository, t.orm.em).sweep(30);

    expect(swept).toBe(2);
    const { rows } = await t.sql.query('select user_id, position::int from deletions order by 1, 2');
    expect(rows).toEqual([
      { user_id: 'young', position: 1 },
      { user_id: 'young', position: 2 },
    ]);
  });

  it('removes at most one batch per call', async () => {
    await t.sql.query(
      `insert into deletions (user_id, position, kind, id, deleted_at)
       select 'batch', n, 'task', gen_random_uuid(), now() - interval '40 days' from generate_series(1, 5) n`,
    );

    expect(await repository(ChangesRepository, t.orm.em).sweep(30, 3)).toBe(3);
    expect(await repository(ChangesRepository, t.orm.em).sweep(30, 3)).toBe(2);
  });
});
