import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthenticationError } from './auth.errors.js';
import type { AuthenticatedRequest } from './current-user.decorator.js';
import { JwtVerifier } from './jwt-verifier.js';
import { IS_PUBLIC } from './public.decorator.js';

const BEARER = /^Bearer +([^ ]+) *$/i;

/** Global guard: every route needs a valid bearer token unless it is marked @Public(). */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly verifier: JwtVerifier,
  ) {}

  // Not async: with a shared secret the whole check is synchronous, and Nest
  // awaits a guard's answer only when it is a promise.
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (isPublic) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = request.headers.authorization;
    if (!header || !/^bearer(\s|$)/i.test(header)) {
      throw new AuthenticationError('MISSING_TOKEN', 'A bearer token is required');
    }
    const token = BEARER.exec(header)?.[1];
    if (!token)
      throw new AuthenticationError('INVALID_TOKEN', 'The Authorization header must be: Bearer <token>');
    const userId = this.verifier.verify(token);
    if (typeof userId === 'string') {
      request.userId = userId;
      return true;
    }
    return userId.then((id) => {
      request.userId = id;
      return true;
    });
  }
}
