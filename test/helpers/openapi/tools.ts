import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../../..');

export interface ToolRun {
  code: number;
  output: string;
}

/**
 * Runs a dev-dependency's CLI script with the Node that runs jest (the project's
 * Node 24 from node_modules/.bin; the system Node may be too old for these tools).
 */
function runNodeScript(script: string, args: string[], cwd: string): Promise<ToolRun> {
  return new Promise((done, fail) => {
    execFile(
      process.execPath,
      [join(ROOT, script), ...args],
      // NO_COLOR and the telemetry switch keep the output plain and the run offline.
      {
        cwd,
        env: { ...process.env, NODE_OPTIONS: '', NO_COLOR: '1', REDOCLY_TELEMETRY: 'off' },
        timeout: 90_000,
      },
      (error, stdout, stderr) => {
        // A numeric code is the tool's exit status; anything else (spawn error, timeout) is a failure to run.
        const code = error ? error.code : 0;
        if (typeof code !== 'number') return fail(new Error(`${script} did not run`, { cause: error }));
        done({ code, output: `${stdout}${stderr}` });
      },
    );
  });
}

/**
 * Redocly's built-in `recommended` ruleset, made stricter where the contract asks
 * for more. Every rule that is relaxed says why.
 */
const REDOCLY_CONFIG = {
  extends: ['recommended'],
  rules: {
    // Warnings do not fail `redocly lint`; these are the contract, so they are errors.
    'no-invalid-media-type-examples': { severity: 'error', allowAdditionalProperties: false },
    'no-invalid-schema-examples': 'error',
    'no-invalid-parameter-examples': 'error',
    'operation-4xx-response': 'error',
    'operation-summary': 'error',
    // Every error is an RFC 9457 problem document.
    'operation-4xx-problem-details-rfc7807': 'error',
    'response-contains-header': {
      severity: 'error',
      names: {
        '2XX': ['X-Request-Id'],
        '3XX': ['X-Request-Id'],
        '4XX': ['X-Request-Id'],
        '5XX': ['X-Request-Id'],
      },
    },
    // A private service: there is no licence to name (package.json says UNLICENSED).
    'info-license': 'off',
  },
};

/** `redocly lint` on the document, with REDOCLY_CONFIG written next to it. */
export async function lintOpenApi(documentPath: string, dir: string): Promise<ToolRun> {
  const config = join(dir, 'redocly.yaml');
  // JSON is YAML: no YAML library needed.
  await writeFile(config, JSON.stringify(REDOCLY_CONFIG, null, 2));
  return runNodeScript(
    'node_modules/@redocly/cli/bin/cli.js',
    ['lint', documentPath, '--config', config, '--format', 'codeframe'],
    dir,
  );
}

/** A typed client (fetch) from the document, with @hey-api/openapi-ts's CLI. */
export function generateClient(documentPath: string, outputDir: string): Promise<ToolRun> {
  return runNodeScript(
    'node_modules/@hey-api/openapi-ts/bin/run.js',
    [
      '--input',
      documentPath,
      '--output',
      outputDir,
      '--client',
      '@hey-api/client-fetch',
      '--no-log-file',
      '--silent',
    ],
    ROOT,
  );
}

/**
 * `tsc` over a generated client folder, strict, with the DOM's fetch types (the
 * client's runtime) and no ambient @types, so it compiles as a consumer's would.
 */
export async function typecheck(dir: string): Promise<ToolRun> {
  await writeFile(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        noEmit: true,
        strict: true,
        target: 'ES2023',
        lib: ['ES2023', 'DOM'],
        module: 'nodenext',
        moduleResolution: 'nodenext',
        types: [],
        noUncheckedIndexedAccess: true,
      },
      include: ['**/*.ts'],
    }),
  );
  return runNodeScript('node_modules/typescript/bin/tsc', ['-p', dir], dir);
}
