import { Global, Logger, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ConfigService } from '@nestjs/config';
import type { EnvironmentVariables } from '../config/environment.js';
import { AuthGuard } from './auth.guard.js';
import { resolveAuthSettings, type AuthSettings } from './auth-settings.js';
import { JwtVerifier } from './jwt-verifier.js';

export const AUTH_SETTINGS = Symbol('AUTH_SETTINGS');

@Global()
@Module({
  providers: [
    {
      provide: AUTH_SETTINGS,
      inject: [ConfigService],
      useFactory: (config: ConfigService<EnvironmentVariables, true>): AuthSettings => {
        const settings = resolveAuthSettings({
          NODE_ENV: config.get('NODE_ENV', { infer: true }),
          JWT_SECRET: config.get('JWT_SECRET', { infer: true }),
          BETTER_AUTH_SECRET: config.get('BETTER_AUTH_SECRET', { infer: true }),
          JWT_JWKS_URL: config.get('JWT_JWKS_URL', { infer: true }),
          JWT_ISSUER: config.get('JWT_ISSUER', { infer: true }),
          JWT_AUDIENCE: config.get('JWT_AUDIENCE', { infer: true }),
          CURSOR_SECRET: config.get('CURSOR_SECRET', { infer: true }),
          EMBEDDED_DB_DIR: config.get('EMBEDDED_DB_DIR', { infer: true }),
        });
        const mode = settings.verifier.mode;
        new Logger('Auth').log(
          mode.kind === 'jwks'
            ? `verifying RS256/ES256/EdDSA tokens with the key set at ${mode.url}`
            : settings.devSecretFile
              ? `verifying HS256 tokens with the development secret in ${settings.devSecretFile} (npm run token -- <userId>)`
              : 'verifying HS256 tokens with JWT_SECRET',
        );
        return settings;
      },
    },
    {
      provide: JwtVerifier,
      inject: [AUTH_SETTINGS],
      useFactory: (settings: AuthSettings) => new JwtVerifier(settings.verifier),
    },
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  exports: [AUTH_SETTINGS, JwtVerifier],
})
export class AuthModule {}
