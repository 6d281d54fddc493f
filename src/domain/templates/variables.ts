/**
 * What a template can refer to, and the values behind each name at send time. The occurrence is
 * formatted in the recipient's zone and locale with Intl (CLDR): "lundi 23 novembre 2026 à 09:00".
 */
import { Temporal } from 'temporal-polyfill';
import { textDirection } from './locale.js';

export type AttributeValue = string | number | boolean;

export interface RecipientFacts {
  id: string;
  locale?: string;
  timeZone: string;
  tags: readonly string[];
  /** Tenant-set attributes (`PUT /v1/users/{id}/attributes`); `name` is also `recipient.name`. */
  attributes: Readonly<Record<string, AttributeValue>>;
}

/** The reminder or schedule the message belongs to. */
export type SourceFacts =
  | { kind: 'reminder'; id: string; title: string; body: string; category: string }
  | { kind: 'schedule'; id: string; name: string; title: string; body: string; category: string };
export type SourceKind = SourceFacts['kind'];

export interface OccurrenceFacts {
  /** The occurrence's nominal instant. */
  atEpochMs: number;
  /** When the message is rendered (the send): what `occurrence.relative` is relative to. */
  nowEpochMs: number;
}

/** Every variable a template may use; `recipient.attributes.*` takes any attribute name. */
export const KNOWN_VARIABLES = {
  recipient: ['id', 'name', 'locale', 'timeZone', 'tags', 'attributes'],
  occurrence: ['date', 'time', 'datetime', 'weekday', 'relative', 'local', 'utc', 'timeZone'],
  reminder: ['id', 'title', 'body', 'category'],
  schedule: ['id', 'name', 'title', 'body', 'category'],
  message: ['locale', 'dir'],
} as const;
export type VariableRoot = keyof typeof KNOWN_VARIABLES;

export type TemplateScope = Record<string, unknown>;

const RELATIVE_UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
];

/** "in 5 minutes", "2 hours ago", "yesterday", "now": the largest whole unit, CLDR phrasing. */
export function relativePhrase(locale: string, deltaMs: number): string {
  const format = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' });
  for (const [unit, ms] of RELATIVE_UNITS) {
    if (Math.abs(deltaMs) >= ms) return format.format(Math.trunc(deltaMs / ms), unit);
  }
  return format.format(0, 'second');
}

/** The occurrence as a recipient reads it, in their zone and locale. */
export function occurrenceVariables(occurrence: OccurrenceFacts, timeZone: string, locale: string) {
  const at = new Date(occurrence.atEpochMs);
  const format = (options: Intl.DateTimeFormatOptions) => new Intl.DateTimeFormat(locale, { timeZone, ...options }).format(at);
  return {
    date: format({ dateStyle: 'full' }),
    time: format({ timeStyle: 'short' }),
    datetime: format({ dateStyle: 'full', timeStyle: 'short' }),
    weekday: format({ weekday: 'long' }),
    relative: relativePhrase(locale, occurrence.atEpochMs - occurrence.nowEpochMs),
    local: Temporal.Instant.fromEpochMilliseconds(occurrence.atEpochMs).toZonedDateTimeISO(timeZone).toPlainDateTime().toString({ smallestUnit: 'minute' }),
    utc: at.toISOString(),
    timeZone,
  };
}

/**
 * The scope one message renders with. `variantLocale` is the template variant chosen; dates follow
 * the recipient's own locale when they have one (fr-CA writes "09 h 00" in the fr variant).
 */
export function templateScope(recipient: RecipientFacts, source: SourceFacts, occurrence: OccurrenceFacts, variantLocale: string): TemplateScope {
  const locale = recipient.locale ?? variantLocale;
  const { kind, ...fields } = source;
  const name = recipient.attributes['name'];
  return {
    recipient: {
      id: recipient.id,
      ...(name !== undefined ? { name: String(name) } : {}),
      ...(recipient.locale !== undefined ? { locale: recipient.locale } : {}),
      timeZone: recipient.timeZone,
      tags: [...recipient.tags],
      attributes: { ...recipient.attributes },
    },
    occurrence: occurrenceVariables(occurrence, recipient.timeZone, locale),
    [kind]: fields,
    message: { locale: variantLocale, dir: textDirection(variantLocale) },
  };
}
