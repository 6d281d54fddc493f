/**
 * One message for one recipient, one channel, one occurrence: the variant chosen by the locale
 * chain, rendered with the recipient's facts. Never throws: a value missing at send time renders
 * empty (or as the template's `default:`), anything else falls back to the plain title and body,
 * and either is reported so the decision can record it.
 */
import type { Channel } from '../delivery.js';
import { engineFor, parseField, positionOf, reasonOf, type TemplateField } from './engine.js';
import { findLocaleKey, localeChain, textDirection } from './locale.js';
import type { TemplateContent } from './schema.js';
import { templateScope, type OccurrenceFacts, type RecipientFacts, type SourceFacts, type TemplateScope } from './variables.js';

export interface RenderedMessage {
  /** Email subject (no line breaks); unused by SMS. */
  subject: string;
  text: string;
  /** A whole HTML document (email only, when the template has an HTML part). */
  html?: string;
}

/** Why a message is not exactly what its template says. */
export type RenderFallback =
  /** A value the template reads was absent (a recipient attribute): it rendered empty. */
  | { reason: 'missing_value'; variable: string }
  /** The template could not be rendered (or found): the plain title and body were sent. */
  | { reason: 'render_failed'; error: string };

export interface Rendering {
  message: RenderedMessage;
  /** The variant used; absent when the plain title and body were sent. */
  locale?: string;
  fallback?: RenderFallback;
}

export interface RenderRequest {
  channel: Channel;
  recipient: RecipientFacts;
  source: SourceFacts;
  occurrence: OccurrenceFacts;
}

/** The message as it was before templates: the title as subject, the body as text. */
export function plainMessage(source: SourceFacts): RenderedMessage {
  return { subject: foldLine(source.title), text: source.body };
}

/** A header cannot be injected through a value: line breaks and other controls become spaces. */
function foldLine(value: string): string {
  return [...value].map((c) => (isControl(c) ? ' ' : c)).join('').replace(/ {2,}/g, ' ').trim();
}

function isControl(c: string): boolean {
  const code = c.codePointAt(0) ?? 0;
  return code < 0x20 || code === 0x7f || code === 0x85 || code === 0x2028 || code === 0x2029;
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** An HTML fragment becomes a document that says its language and direction (Arabic reads right to left). */
function htmlDocument(body: string, locale: string, subject: string): string {
  if (/<html[\s>]/i.test(body)) return body;
  return `<!doctype html>\n<html lang="${escapeHtml(locale)}" dir="${textDirection(locale)}">\n<head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head>\n<body>\n${body}\n</body>\n</html>\n`;
}

class MissingValue extends Error {}

function renderField(field: TemplateField, source: string, scope: TemplateScope, strict: boolean): string {
  const engine = engineFor(field);
  try {
    return engine.renderSync(parseField(field, source), scope, { strictVariables: strict }) as string;
  } catch (error) {
    if (strict && error instanceof Error && error.name === 'UndefinedVariableError') {
      throw new MissingValue([/undefined variable: ([^,\s]+)/.exec(error.message)?.[1] ?? 'a value', positionOf(error)].filter(Boolean).join(' at '));
    }
    throw error;
  }
}

export function renderMessage(template: TemplateContent, request: RenderRequest): Rendering {
  const { channel, recipient, source } = request;
  const keys = Object.keys(template.locales);
  const locale = localeChain(recipient.locale, template.defaultLocale)
    .map((tag) => findLocaleKey(keys, tag))
    .find((key) => key !== undefined && template.locales[key]?.[channel] !== undefined);
  const variant = locale !== undefined ? template.locales[locale] : undefined;
  if (locale === undefined || !variant) return { message: plainMessage(source), fallback: { reason: 'render_failed', error: `the template has no ${channel} message` } };
  const scope = templateScope(recipient, source, request.occurrence, locale);
  const render = (strict: boolean): RenderedMessage => {
    if (channel === 'sms') return { subject: '', text: renderField('text', variant.sms?.text ?? '', scope, strict) };
    const email = variant.email;
    if (!email) throw new Error('no email variant');
    const subject = foldLine(renderField('subject', email.subject, scope, strict));
    const html = email.html !== undefined ? htmlDocument(renderField('html', email.html, scope, strict), locale, subject) : undefined;
    return { subject, text: renderField('text', email.text, scope, strict), ...(html !== undefined ? { html } : {}) };
  };
  const failed = (error: unknown): Rendering => ({
    message: plainMessage(source),
    fallback: { reason: 'render_failed', error: `${locale}.${channel}: ${[positionOf(error), reasonOf(error)].filter(Boolean).join(': ')}` },
  });
  try {
    return { message: render(true), locale };
  } catch (error) {
    if (!(error instanceof MissingValue)) return failed(error);
    try {
      return { message: render(false), locale, fallback: { reason: 'missing_value', variable: error.message } };
    } catch (second) {
      return failed(second);
    }
  }
}
