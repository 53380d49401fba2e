import { createHash } from 'node:crypto';

/**
 * Statement names by SQL text, so that TasksRepository runs each statement as a
 * named prepared statement: PostgreSQL parses and plans it once per connection
 * rather than on every request. Unprepared, a GET cost PostgreSQL 206 µs of CPU
 * against the benchmark baseline's 90 µs with its prepared statements. Every
 * text comes from the repository's templates, with each value a bound
 * parameter, so there are a few dozen; the cap guards against that ever
 * changing (past it, statements simply run unnamed).
 */
const names = new Map<string, string>();
const MAX_NAMED_STATEMENTS = 500;

export function statementName(text: string): string | undefined {
  let name = names.get(text);
  if (name === undefined && names.size < MAX_NAMED_STATEMENTS) {
    name = `s_${createHash('sha256').update(text).digest('hex').slice(0, 32)}`;
    names.set(text, name);
  }
  return name;
}
