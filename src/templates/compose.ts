/**
 * The message one recipient gets on one channel: the plain title and body, or the reminder's or
 * schedule's template rendered with the recipient's facts as they are at send time. One composer
 * for reminders and audience schedules alike; rendering never fails a delivery (see
 * src/domain/templates/render.ts for the fallbacks, which the decision records).
 */
import type { Channel } from '../domain/delivery.js';
import type { RenderingNote } from '../domain/decisions.js';
import type { TenantId } from '../domain/ids.js';
import type { Preferences } from '../domain/preferences/index.js';
import {
  plainMessage,
  renderMessage,
  type AttributeValue,
  type MessageContent,
  type OccurrenceFacts,
  type RecipientFacts,
  type RenderedMessage,
  type RenderFallback,
  type SourceFacts,
  type TemplateContent,
} from '../domain/templates/index.js';

/** What is stored about a user: the preference document (validated by the reader) and the tenant's tags and attributes. */
export interface StoredRecipient {
  preferences: unknown;
  tags: readonly string[];
  attributes: Readonly<Record<string, AttributeValue>>;
}

/** Port: a tenant's templates as they are now. */
export interface TemplateSource {
  templateOf(tenantId: TenantId, id: string): Promise<TemplateContent | undefined>;
}

export interface ComposeRequest {
  tenantId: TenantId;
  channel: Channel;
  recipient: RecipientFacts;
  /** The reminder or schedule, with its content's title and body. */
  source: SourceFacts;
  occurrence: OccurrenceFacts;
  content: MessageContent;
}

export interface Composed {
  message: RenderedMessage;
  /** Absent for plain content: nothing was rendered. */
  rendering?: RenderingNote;
}

/** The facts templates read about a recipient, from their validated preferences and tenant-set data. */
export function recipientFacts(id: string, preferences: Preferences, stored: { tags?: readonly string[]; attributes?: Readonly<Record<string, AttributeValue>> } = {}): RecipientFacts {
  return { id, locale: preferences.locale, timeZone: preferences.timeZone, tags: stored.tags ?? [], attributes: stored.attributes ?? {} };
}

/**
 * The same lookups, each made once: for one page of a fan-out, so 200 recipients of a tenant
 * template read it once — and an edit still reaches the next page.
 */
export function oncePerBatch(source: TemplateSource): TemplateSource {
  const seen = new Map<string, Promise<TemplateContent | undefined>>();
  return {
    templateOf(tenantId, id) {
      const key = `${tenantId}\u0000${id}`;
      let found = seen.get(key);
      if (!found) seen.set(key, (found = source.templateOf(tenantId, id)));
      return found;
    },
  };
}

export function createComposer({ templates }: { templates: TemplateSource }) {
  return async function compose({ tenantId, channel, recipient, source, occurrence, content }: ComposeRequest): Promise<Composed> {
    const ref = content.template;
    if (ref === undefined) return { message: plainMessage(source) };
    const template = typeof ref === 'string' ? await templates.templateOf(tenantId, ref) : ref;
    if (!template) return { message: plainMessage(source), rendering: { fallback: { reason: 'render_failed', error: `template "${String(ref)}" no longer exists` } } };
    const { message, locale, fallback } = renderMessage(template, { channel, recipient, source, occurrence });
    return { message, rendering: { ...(locale !== undefined ? { locale } : {}), ...(fallback ? { fallback } : {}) } };
  };
}
export type Compose = ReturnType<typeof createComposer>;

/** The message one channel would carry, as a preview shows it. */
export interface PreviewMessage extends RenderedMessage {
  channel: Channel;
  locale?: string;
  fallback?: RenderFallback;
}

/** Each channel's message for one occurrence, rendered exactly as its delivery at `sentAtEpochMs` would render it. */
export async function previewMessages(
  compose: Compose,
  request: Omit<ComposeRequest, 'channel' | 'occurrence'> & { channels: readonly Channel[]; atEpochMs: number; sentAtEpochMs: number },
): Promise<PreviewMessage[]> {
  const { channels, atEpochMs, sentAtEpochMs, ...rest } = request;
  return Promise.all(
    channels.map(async (channel) => {
      const { message, rendering } = await compose({ ...rest, channel, occurrence: { atEpochMs, nowEpochMs: sentAtEpochMs } });
      return { channel, ...message, ...(rendering?.locale !== undefined ? { locale: rendering.locale } : {}), ...(rendering?.fallback ? { fallback: rendering.fallback } : {}) };
    }),
  );
}
