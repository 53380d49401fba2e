import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The repository's root. */
export const ROOT = resolve(__dirname, '..');

/**
 * How `npm run start:prod` runs the service: its node flags and its script, so
 * that the benches run the service exactly as production does.
 */
export const START_PROD = (() => {
  const scripts = (
    JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  ).scripts;
  const [command, ...words] = scripts['start:prod'].split(/\s+/);
  if (command !== 'node') throw new Error('the benches expect start:prod to be `node [flags] <script>`');
  return { flags: words.slice(0, -1), script: join(ROOT, words[words.length - 1]) };
})();
