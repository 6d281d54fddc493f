/**
 * API keys: `chime_<scope>_<id>_<secret>`. Only a hash of the secret is stored; the id finds the
 * row. Secrets carry 256 bits of entropy, so a fast hash (SHA-256) is enough — as with Stripe's and
 * GitHub's tokens — and lookups stay cheap on every request.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Principal } from '../domain/principal.js';

export type ApiKeyScope = Principal['scope'];

export interface NewApiKey {
  keyId: string;
  /** Shown once to whoever created the key; never stored. */
  token: string;
  secretHash: string;
}

const TOKEN_RE = /^chime_(admin|user)_([a-z0-9]{16})_([A-Za-z0-9_-]{43})$/;

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function generateApiKey(scope: ApiKeyScope): NewApiKey {
  const keyId = randomBytes(10).toString('hex').slice(0, 16);
  const secret = randomBytes(32).toString('base64url');
  return { keyId, token: `chime_${scope}_${keyId}_${secret}`, secretHash: hashSecret(secret) };
}

export function parseToken(token: string): { scope: ApiKeyScope; keyId: string; secret: string } | undefined {
  const match = TOKEN_RE.exec(token);
  if (!match) return undefined;
  return { scope: match[1] as ApiKeyScope, keyId: match[2]!, secret: match[3]! };
}

export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
