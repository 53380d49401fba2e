import { Global, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { EnvironmentVariables, readEnvironment, validateEnvironment } from './environment.js';

/**
 * The validated environment for every module (ConfigService<EnvironmentVariables, true>).
 * .env is read by readEnvironment, not by @nestjs/config, so the service and the
 * migration CLI read it the same way.
 */
@Global()
@Module({
  imports: [
    ConfigModule.forRoot({
      ignoreEnvFile: true,
      cache: true,
      validate: (env) => validateEnvironment(EnvironmentVariables, readEnvironment(env as NodeJS.ProcessEnv)),
    }),
  ],
  exports: [ConfigModule],
})
export class AppConfigModule {}
