import type { TaskJson } from './http-assert';
import { ALICE, BASE, call } from './tasks-http';

/** One entry of a GET /api/v1/changes page. */
export interface Change {
  kind: 'list' | 'task';
  id: string;
  deleted: boolean;
  data?: Record<string, unknown>;
}

/** A client's copy, keyed `kind:id`: the changes applied in order. */
export function applyChanges(copy: Map<string, unknown>, changes: Change[]): Map<string, unknown> {
  for (const change of changes) {
    if (change.deleted) copy.delete(`${change.kind}:${change.id}`);
    else copy.set(`${change.kind}:${change.id}`, change.data);
  }
  return copy;
}

/** What the API says the user has now (up to 100 tasks), in the same form as applyChanges builds. */
export async function currentState(as = ALICE): Promise<Map<string, unknown>> {
  const tasks = (await call('GET', `${BASE}?limit=100`, { as })).json<{ items: TaskJson[] }>().items;
  const lists = (await call('GET', '/api/v1/lists', { as })).json<{ items: { id: string }[] }>().items;
  return new Map<string, unknown>([
    ...lists.map((l) => [`list:${l.id}`, l] as [string, unknown]),
    ...tasks.map((t) => [`task:${t.id}`, t] as [string, unknown]),
  ]);
}
