import { createHash } from 'node:crypto';

/**
 * Statement names by SQL text, so that TasksRepository runs each statement as a
 * named prepared statement: PostgreSQL parses and plans it once per connection
 * rather than on every request. Unprepared, a GET cost PostgreSQL 206 µs of CPU
 * against the benchmark baseline's 90 µs with its prepared statements. Every
 * text comes from the repositories' builders, with each value a bound
 * parameter, so the set is bounded: some 40 fixed statements, an UPDATE per
 * combination of patched columns, and a list statement per sort and filter
 * combination (TasksRepository.listStatement) — a few dozen in ordinary use,
 * a few thousand at the very most. The cap keeps the map, and each
 * connection's prepared statements, bounded even then: past it, a new text
 * runs unnamed, parsed and planned for that call, which is still correct.
 */
const names = new Map<string, string>();
const MAX_NAMED_STATEMENTS = 1000;

export function statementName(text: string): string | undefined {
  let name = names.get(text);
  if (name === undefined && names.size < MAX_NAMED_STATEMENTS) {
    name = `s_${createHash('sha256').update(text).digest('hex').slice(0, 32)}`;
    names.set(text, name);
  }
  return name;
}
