/**
 * The load of bench/count.sh: one user with 20 tasks (created first, the same in
 * every run), then `count` requests of one scenario, 8 at a time.
 * Usage: node count-load.mts <port> <count> <get|list|create|patch> <JWT secret>
 */
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';

const [port, countArg, scenario, secret] = process.argv.slice(2);
const count = Number(countArg);
const token = await new SignJWT({})
  .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
  .setSubject(`count-${randomUUID()}`)
  .setExpirationTime('1h')
  .sign(new TextEncoder().encode(secret));
const base = `http://127.0.0.1:${port}/api/v1/tasks`;
const json = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };

async function call(method: string, url: string, payload?: string): Promise<Response> {
  const response = await fetch(url, { method, headers: json, body: payload });
  if (response.status >= 300)
    throw new Error(`${method} ${url}: ${response.status} ${await response.text()}`);
  return response;
}

const ids: string[] = [];
for (let i = 0; i < 20; i++) {
  const response = await call('POST', base, JSON.stringify({ title: `task ${i}`, description: 'counted' }));
  ids.push(((await response.json()) as { id: string }).id);
}

let next = 0;
async function worker(): Promise<void> {
  for (let i = next++; i < count; i = next++) {
    const id = ids[i % ids.length];
    const response =
      scenario === 'get'
        ? await call('GET', `${base}/${id}`)
        : scenario === 'list'
          ? await call('GET', base)
          : scenario === 'patch'
            ? await call('PATCH', `${base}/${id}`, JSON.stringify({ completed: i % 2 === 0 }))
            : await call('POST', base, JSON.stringify({ title: `new ${i}`, description: 'counted' }));
    await response.arrayBuffer();
  }
}
await Promise.all(Array.from({ length: 8 }, worker));
