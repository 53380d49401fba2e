import type { HTTPMethods } from 'fastify';
import type { HttpFixture } from './http';
import { tokenFor } from './http';
import { expectTaskShape, type InjectResponse, type TaskJson } from './http-assert';

export const TASKS = '/api/v1/tasks';
export const LISTS = '/api/v1/lists';

/** The contract's bound on a position: 1–64 visible ASCII characters. */
export const POSITION_RE = /^[\x21-\x7e]{1,64}$/;

/** A sibling group: one list (null: the inbox) and one parent (null: top level). */
export interface Group {
  listId: string | null;
  parentId: string | null;
}

export interface CallOptions {
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * The task and list routes as one user sees them, through Fastify's inject on
 * the production app. Each helper that expects success asserts its status, so a
 * test reads as the steps of a scenario.
 */
export class ApiClient {
  private token?: string;

  constructor(
    private readonly fixture: HttpFixture,
    readonly user: string,
  ) {}

  async call(method: HTTPMethods, url: string, options: CallOptions = {}): Promise<InjectResponse> {
    this.token ??= await tokenFor(this.user, undefined, '30m');
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` };
    let payload: string | undefined;
    if (options.body !== undefined) {
      payload = JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
    }
    return this.fixture.app.inject({ method, url, headers: { ...headers, ...options.headers }, payload });
  }

  async createList(name: string): Promise<string> {
    const res = await this.call('POST', LISTS, { body: { name } });
    expectStatus(res, 201);
    return res.json<{ id: string }>().id;
  }

  async createTask(body: { title: string; listId?: string | null; parentId?: string | null }) {
    const res = await this.call('POST', TASKS, { body });
    expectStatus(res, 201);
    const task = res.json<unknown>();
    expectTaskShape(task);
    return task;
  }

  /** Several top-level tasks created one after the other (so in this order) in one group. */
  async createTasks(titles: readonly string[], placement: Partial<Group> = {}): Promise<TaskJson[]> {
    const tasks: TaskJson[] = [];
    for (const title of titles) tasks.push(await this.createTask({ title, ...placement }));
    return tasks;
  }

  move(id: string, body: Record<string, unknown> = {}, headers?: Record<string, string>) {
    return this.call('POST', `${TASKS}/${id}/move`, { body, headers });
  }

  async get(id: string): Promise<TaskJson> {
    const res = await this.call('GET', `${TASKS}/${id}`);
    expect(res.statusCode).toBe(200);
    const task = res.json<unknown>();
    expectTaskShape(task);
    return task;
  }

  /** Every page of a GET /api/v1/tasks with this query string. */
  async listAll(query: string): Promise<TaskJson[]> {
    const items: TaskJson[] = [];
    let cursor: string | null = null;
    do {
      const page = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
      const res = await this.call('GET', `${TASKS}?${query}&limit=100${page}`);
      expect(res.statusCode).toBe(200);
      const body = res.json<{ items: TaskJson[]; nextCursor: string | null }>();
      items.push(...body.items);
      cursor = body.nextCursor;
    } while (cursor !== null);
    return items;
  }

  /** A sibling group in the manual order: GET ?listId=…&parentId=…&sort=position. */
  async order(group: Group): Promise<TaskJson[]> {
    return this.listAll(
      `listId=${group.listId ?? 'inbox'}&parentId=${group.parentId ?? 'none'}&sort=position`,
    );
  }

  /** The ids of a sibling group in the manual order, after checking its positions are well-formed and ascending. */
  async orderIds(group: Group): Promise<string[]> {
    const items = await this.order(group);
    expectPositionsAscending(items);
    return items.map((t) => t.id);
  }

  /** Every task of the user, at every level. */
  all(): Promise<TaskJson[]> {
    return this.listAll('sort=createdAt');
  }
}

/** The status, and on a mismatch the problem document in the failure message. */
export function expectStatus(res: InjectResponse, status: number): void {
  expect({ status: res.statusCode, body: res.statusCode === status ? '…' : res.body }).toEqual({
    status,
    body: '…',
  });
}

/**
 * The manual order really is the byte order of `position` (then id): every
 * position is 1–64 visible ASCII characters and each is strictly greater than
 * the one before (for ASCII, JavaScript's code-unit comparison is byte order).
 */
export function expectPositionsAscending(items: readonly { position: string; id: string }[]): void {
  const bad = items.filter((t) => !POSITION_RE.test(t.position)).map((t) => t.position);
  expect(bad).toEqual([]);
  const unordered = items
    .slice(1)
    .map((t, i) => [items[i].position, t.position] as const)
    .filter(([before, after]) => !(before < after))
    .map(([before, after]) => `${before} !< ${after}`);
  expect(unordered).toEqual([]);
}

/**
 * A successful move's answer: 200, the whole Task as GET then shows it, and
 * the ETag of its version.
 */
export async function expectMoved(
  client: ApiClient,
  res: InjectResponse,
  expected: Partial<TaskJson> & { id: string },
): Promise<TaskJson> {
  expect({ status: res.statusCode, etag: res.headers.etag }).toEqual({
    status: 200,
    etag: `"${expected.version ?? res.json<TaskJson>().version}"`,
  });
  const task = res.json<unknown>();
  expectTaskShape(task);
  expect(task).toMatchObject(expected);
  expect(await client.get(task.id)).toEqual(task);
  return task;
}
