import { Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import Router, { type HTTPMethod } from 'find-my-way';

// OPTIONS is left out: the CORS preflight route answers it on every path.
const METHODS: HTTPMethod[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

/**
 * Which methods a path supports, for 405 + Allow: Fastify only says "no route"
 * for a known path with the wrong method. Routes are copied from Fastify's own
 * registrations (onRoute), so the table cannot drift from what is served.
 */
@Injectable()
export class RouteTable {
  private readonly router = Router();

  constructor(adapterHost: HttpAdapterHost) {
    // Providers are built before Nest registers its routes, so the hook sees them all.
    const fastify = adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) {
        const m = method as HTTPMethod;
        if (METHODS.includes(m) && !this.router.hasRoute(m, route.url)) {
          this.router.on(m, route.url, () => undefined);
        }
      }
    });
  }

  allowedMethods(path: string): string[] {
    // Fastify never matches a parameter to an empty segment (`/tasks/`); neither do we.
    return METHODS.filter((method) => {
      const match = this.router.find(method, path);
      return match !== null && Object.values(match.params).every((value) => value !== '');
    });
  }
}
