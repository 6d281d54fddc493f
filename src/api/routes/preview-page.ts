/**
 * The schedule preview page (`GET /preview`): plain HTML, CSS and one ES module from
 * src/api/preview-page/, read once when the app is built and served by the API itself — no build
 * step, nothing from elsewhere. The page is public (it holds no data); everything it shows comes
 * from the API with the key typed into it. A strict Content-Security-Policy keeps it to this origin.
 */
import { readFileSync } from 'node:fs';
import type { FastifyPluginAsync } from 'fastify';

const DIRECTORY = new URL('../preview-page/', import.meta.url);

/** Path → file and media type. */
const ASSETS = {
  '/preview': ['index.html', 'text/html; charset=utf-8'],
  '/preview/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/preview/app.css': ['app.css', 'text/css; charset=utf-8'],
  '/preview/icon.svg': ['icon.svg', 'image/svg+xml'],
} as const;

/** Only this origin, no inline script or style, not framed, no form posts anywhere. */
export const PREVIEW_PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const previewPageRoutes: FastifyPluginAsync = async (app) => {
  for (const [path, [file, type]] of Object.entries(ASSETS)) {
    const body = readFileSync(new URL(file, DIRECTORY));
    app.get(path, { config: { auth: false }, schema: { hide: true } }, async (_request, reply) =>
      reply
        .type(type)
        .header('content-security-policy', PREVIEW_PAGE_CSP)
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer')
        .header('cache-control', 'no-cache')
        .send(body),
    );
  }
};
