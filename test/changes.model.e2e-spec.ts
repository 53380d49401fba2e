import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { TaskJson } from './helpers/http-assert';
import { applyChanges, currentState, type Change } from './helpers/changes';
import { BASE, call, taskUrl, useTasksHttp } from './helpers/tasks-http';

/**
 * A property of the change feed (shared/spec/http-api.md, Change feed):
 * whatever two users write, in whatever interleaving, and however each reads
 * the feed (random page sizes, at random moments), a user who applies every
 * page in order holds exactly that user's tasks and lists, and nothing of the
 * other's. fast-check prints the seed and the shrunk sequence on a failure;
 * the seed is fixed so the suite is deterministic (CHANGES_MODEL_SEED=random
 * and CHANGES_MODEL_RUNS explore further).
 */

useTasksHttp();

const RUNS = Number(process.env.CHANGES_MODEL_RUNS ?? 12);
const SEED =
  process.env.CHANGES_MODEL_SEED === 'random'
    ? undefined
    : Number(process.env.CHANGES_MODEL_SEED ?? 20261207);

type Who = 0 | 1;
type Command =
  | { type: 'createTask'; who: Who; inList: number | null }
  | { type: 'patchTask'; who: Who; task: number }
  | { type: 'deleteTask'; who: Who; task: number }
  | { type: 'createList'; who: Who }
  | { type: 'deleteList'; who: Who; list: number }
  | { type: 'read'; who: Who; limit: number };

const who = fc.constantFrom<Who>(0, 1);
const index = fc.nat({ max: 50 });
const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ type: fc.constant('createTask' as const), who, inList: fc.option(index) }),
  },
  { weight: 3, arbitrary: fc.record({ type: fc.constant('patchTask' as const), who, task: index }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('deleteTask' as const), who, task: index }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('createList' as const), who }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('deleteList' as const), who, list: index }) },
  {
    weight: 3,
    arbitrary: fc.record({ type: fc.constant('read' as const), who, limit: fc.integer({ min: 1, max: 4 }) }),
  },
);

class Client {
  readonly copy = new Map<string, unknown>();
  since: string | undefined;

  constructor(readonly user: string) {}

  /** One page, applied; whether more is to come. */
  async read(limit: number): Promise<boolean> {
    const query = new URLSearchParams({ limit: String(limit) });
    if (this.since !== undefined) query.set('since', this.since);
    const res = await call('GET', `/api/v1/changes?${query.toString()}`, { as: this.user });
    expect(res.statusCode).toBe(200);
    const page = res.json<{ changes: Change[]; next: string; hasMore: boolean }>();
    applyChanges(this.copy, page.changes);
    this.since = page.next;
    return page.hasMore;
  }
}

/** The ids each user created, to pick from by index (some may be gone: a 404 is fine). */
const pick = (ids: string[], i: number) => (ids.length === 0 ? undefined : ids[i % ids.length]);

it('replaying a user’s pages always gives exactly that user’s tasks and lists', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 20 }), async (commands) => {
      const run = randomUUID().slice(0, 8);
      const clients = [new Client(`model_${run}_a`), new Client(`model_${run}_b`)];
      const tasks: string[][] = [[], []];
      const lists: string[][] = [[], []];
      for (const c of commands) {
        const as = clients[c.who].user;
        if (c.type === 'createTask') {
          const listId = c.inList === null ? undefined : pick(lists[c.who], c.inList);
          const res = await call('POST', BASE, { as, body: { title: `t${tasks[c.who].length}`, listId } });
          if (res.statusCode === 201) tasks[c.who].push(res.json<TaskJson>().id);
        } else if (c.type === 'patchTask') {
          const id = pick(tasks[c.who], c.task);
          if (id) await call('PATCH', taskUrl(id), { as, body: { title: `patched ${c.task}` } });
        } else if (c.type === 'deleteTask') {
          const id = pick(tasks[c.who], c.task);
          if (id) await call('DELETE', taskUrl(id), { as });
        } else if (c.type === 'createList') {
          const res = await call('POST', '/api/v1/lists', { as, body: { name: `l${lists[c.who].length}` } });
          if (res.statusCode === 201) lists[c.who].push(res.json<{ id: string }>().id);
        } else if (c.type === 'deleteList') {
          const id = pick(lists[c.who], c.list);
          if (id) await call('DELETE', `/api/v1/lists/${id}`, { as });
        } else {
          await clients[c.who].read(c.limit);
        }
      }
      for (const client of clients) {
        while (await client.read(3));
        expect(client.copy).toEqual(await currentState(client.user));
      }
    }),
    { numRuns: RUNS, seed: SEED },
  );
}, 120_000);
