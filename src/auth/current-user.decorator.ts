import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

export interface AuthenticatedRequest extends FastifyRequest {
  userId?: string;
}

/** The authenticated caller's id (the token's `sub`), set by AuthGuard. */
export const CurrentUser = createParamDecorator((_data: unknown, ctx: ExecutionContext): string => {
  const userId = ctx.switchToHttp().getRequest<AuthenticatedRequest>().userId;
  // AuthGuard runs first on every non-public route; reaching here without a user is a bug.
  if (!userId) throw new Error('CurrentUser used on a route without authentication');
  return userId;
});
