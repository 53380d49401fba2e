import { Logger } from '@nestjs/common';
import {
  ConfigValidationError,
  EnvironmentVariables,
  readEnvironment,
  validateEnvironment,
} from './config/environment.js';

async function bootstrap(): Promise<void> {
  let env: EnvironmentVariables;
  try {
    env = validateEnvironment(EnvironmentVariables, readEnvironment());
  } catch (error) {
    if (!(error instanceof ConfigValidationError)) throw error;
    // One message naming every bad variable; a stack trace would only hide it.
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  // Imported only once the environment is known to be valid: the module graph
  // validates it again while it is built, and would report it less clearly.
  const { createApp } = await import('./app.factory.js');
  const app = await createApp();
  await app.listen(env.PORT, env.HOST);
  new Logger('Bootstrap').log(`ready on http://${env.HOST}:${env.PORT} (NODE_ENV=${env.NODE_ENV})`);
}

bootstrap().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`Start-up failed: ${message}\n`);
  process.exit(1);
});
