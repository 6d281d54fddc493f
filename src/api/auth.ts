/**
 * Bearer API keys. Every /v1 route needs one, except those that opt out (provider webhooks carry
 * their own signatures). The request's principal decides what it may see: a user-scoped key sees
 * only its user's resources, and nothing of another tenant exists for it (404, never 403).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { parseToken, secretMatches } from '../auth/api-keys.js';
import type { Principal } from '../domain/principal.js';
import type { Actor } from '../domain/principal.js';
import { ApiError, ProblemType } from './problem.js';

/** Port: API key lookup by id (src/storage implements it). */
export interface ApiKeyDirectory {
  findActive(keyId: string): Promise<{ principal: Principal; secretHash: string } | undefined>;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
  interface FastifyContextConfig {
    /** `false` for routes that authenticate otherwise (health, docs, signed webhooks). */
    auth?: false;
  }
}

async function auth(app: FastifyInstance, { keys }: { keys: ApiKeyDirectory }) {
  app.decorateRequest('principal', null as never);
  app.addHook('onRequest', async (request: FastifyRequest) => {
    if (request.routeOptions.config?.auth === false || !request.routeOptions.url?.startsWith('/v1/')) return;
    const header = request.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : undefined;
    const parsed = token ? parseToken(token) : undefined;
    const found = parsed ? await keys.findActive(parsed.keyId) : undefined;
    if (!parsed || !found || found.principal.scope !== parsed.scope || !secretMatches(parsed.secret, found.secretHash)) {
      throw new ApiError(401, ProblemType.Unauthenticated, 'A valid API key is required (Authorization: Bearer chime_…)');
    }
    request.principal = found.principal;
  });
}

export const authPlugin = fp(auth, { name: 'chime-auth' });

/** The use-case actor of a principal: a user-scoped key acts for its user only. */
export function actorOf(principal: Principal): Actor {
  return principal.scope === 'user' ? { tenantId: principal.tenantId, userId: principal.userId } : { tenantId: principal.tenantId };
}
