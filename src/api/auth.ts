/**
 * Bearer API keys. Every /v1 route needs one, except those that opt out (provider webhooks carry
 * their own signatures). The request's principal decides what it may see: a user-scoped key sees
 * only its user's resources, and nothing of another tenant exists for it (404, never 403).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { parseToken, secretMatches } from '../auth/api-keys.js';
import type { Actor, Principal } from '../domain/principal.js';
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

/**
 * Failed authentications per client address in a fixed one-minute window. A client over the limit
 * is refused before its key is looked up, so a flood of invalid keys costs no database work.
 */
export function createAuthFailureLimiter({ maxPerMinute, now = Date.now }: { maxPerMinute: number; now?: () => number }) {
  const windows = new Map<string, { failures: number; resetAt: number }>();
  const current = (ip: string) => {
    const w = windows.get(ip);
    return w && w.resetAt > now() ? w : undefined;
  };
  return {
    /** Seconds until the client may try again, when it is over the limit. */
    blockedFor(ip: string): number | undefined {
      const w = current(ip);
      return w && w.failures >= maxPerMinute ? Math.ceil((w.resetAt - now()) / 1000) : undefined;
    },
    fail(ip: string): void {
      if (windows.size > 10_000) for (const [key, w] of windows) if (w.resetAt <= now()) windows.delete(key);
      const w = current(ip) ?? { failures: 0, resetAt: now() + 60_000 };
      w.failures++;
      windows.set(ip, w);
    },
  };
}

async function auth(app: FastifyInstance, { keys, maxFailuresPerMinute = 30 }: { keys: ApiKeyDirectory; maxFailuresPerMinute?: number }) {
  const limiter = createAuthFailureLimiter({ maxPerMinute: maxFailuresPerMinute });
  app.decorateRequest('principal', null as never);
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.routeOptions.config?.auth === false || !request.routeOptions.url?.startsWith('/v1/')) return;
    const retryAfter = limiter.blockedFor(request.ip);
    if (retryAfter !== undefined) {
      void reply.header('retry-after', String(retryAfter));
      throw new ApiError(429, ProblemType.RateLimited, 'Too many failed authentications from this address; try again later');
    }
    const header = request.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : undefined;
    const parsed = token ? parseToken(token) : undefined;
    const found = parsed ? await keys.findActive(parsed.keyId) : undefined;
    if (!parsed || !found || found.principal.scope !== parsed.scope || !secretMatches(parsed.secret, found.secretHash)) {
      limiter.fail(request.ip);
      throw new ApiError(401, ProblemType.Unauthenticated, 'A valid API key is required (Authorization: Bearer chime_…)');
    }
    request.principal = found.principal;
    // Every later line of this request (its "request completed" too) names its tenant and key (ids, never the secret).
    request.log = reply.log = request.log.child({ tenantId: found.principal.tenantId, keyId: found.principal.keyId });
  });
}

export const authPlugin = fp(auth, { name: 'chime-auth' });

/** The use-case actor of a principal: a user-scoped key acts for its user only. */
export function actorOf(principal: Principal): Actor {
  return principal.scope === 'user' ? { tenantId: principal.tenantId, userId: principal.userId } : { tenantId: principal.tenantId };
}
