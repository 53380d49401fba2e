/**
 * The load of bench/count.sh: one user with 20 tasks (created first, the same in
 * every run), then `count` requests of one scenario, 8 at a time.
 * Usage: node count-load.mts <port> <count> <get|list|create|patch> <JWT secret>
 */
import { createHmac, randomUUID } from 'node:crypto';

const [port, countArg, scenario, secret] = process.argv.slice(2);
const count = Number(countArg);
const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const head = b64({ alg: 'HS256', typ: 'JWT' });
const body = b64({ sub: `count-${randomUUID()}`, exp: Math.floor(Date.now() / 1000) + 3600 });
const token = `${head}.${body}.${createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url')}`;
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
