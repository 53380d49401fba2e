import { Logger as NestLogger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
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
  const { AppModule } = await import('./app.module.js');
  const app = await NestFactory.create<NestFastifyApplication>(AppModule, new FastifyAdapter(), {
    bufferLogs: true,
    abortOnError: false,
  });
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  await app.listen(env.PORT, env.HOST);
  new NestLogger('Bootstrap').log(`ready on http://${env.HOST}:${env.PORT} (NODE_ENV=${env.NODE_ENV})`);
}

bootstrap().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`Start-up failed: ${message}\n`);
  process.exit(1);
});
