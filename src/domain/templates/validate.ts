/**
 * Definition-time checks, so a template fails when it is saved, not at 09:00 on Monday: Liquid
 * syntax, variables that exist, a default locale that covers every channel, canonical locale tags,
 * and SMS text that fits the configured number of segments with sample values.
 */
import type { Template } from 'liquidjs';
import { CHANNELS, type Channel } from '../delivery.js';
import { canonicalLocale, findLocaleKey } from './locale.js';
import { engineFor, positionOf, reasonOf, variablesOf, type TemplateField, type VariableUse } from './engine.js';
import type { TenantId } from '../ids.js';
import type { TemplateContent, TemplateRef } from './schema.js';
import { smsLength } from './sms-segments.js';
import { KNOWN_VARIABLES, templateScope, type SourceFacts, type SourceKind, type VariableRoot } from './variables.js';

/** A field (relative to the template: `locales.fr.sms.text`) and what is wrong with it. */
export interface TemplateIssue {
  field: string;
  reason: string;
}

export interface TemplateRules {
  /** What the template is attached to: the other source's variables do not exist there. Both for a tenant template. */
  sources: readonly SourceKind[];
  /** SMS segments a rendering with sample values may take (the `ref:` tag Chime appends included). */
  smsMaxSegments: number;
}

/** Twilio's adapter appends "\nref:<10 hex>" to find a lost send again (src/channels/sms-twilio.ts). */
export const SMS_REFERENCE_CHARACTERS = 15;

const FIELDS: Record<Channel, TemplateField[]> = { email: ['subject', 'text', 'html'], sms: ['text'] };

function unknownVariable(use: VariableUse, sources: readonly SourceKind[]): string | undefined {
  const [root, field, ...rest] = use.path;
  const name = use.path.join('.');
  const roots = (Object.keys(KNOWN_VARIABLES) as VariableRoot[]).filter((r) => (r !== 'reminder' && r !== 'schedule') || sources.includes(r));
  if (typeof root !== 'string' || !roots.includes(root as VariableRoot)) {
    return `unknown variable ${name} (use ${roots.map((r) => `${r}.*`).join(', ')})`;
  }
  const fields: readonly string[] = KNOWN_VARIABLES[root as VariableRoot];
  if (field === undefined) return `${root} is an object: name one of its fields (${fields.join(', ')})`;
  if (typeof field !== 'string' || !fields.includes(field)) return `unknown variable ${name} (${root} has ${fields.join(', ')})`;
  if (root === 'recipient' && field === 'attributes' && rest.length > 1) return `${name}: attributes are single values`;
  if (rest.length > 0 && !(root === 'recipient' && (field === 'attributes' || field === 'tags'))) return `unknown variable ${name}`;
  return undefined;
}

/** Sample facts for estimating lengths: long-ish names and titles, an occurrence with a long date. */
function sampleScope(uses: VariableUse[], locale: string, source: SourceKind) {
  const attributes: Record<string, string> = { name: 'Maximiliana' };
  for (const { path } of uses) if (path[0] === 'recipient' && path[1] === 'attributes' && typeof path[2] === 'string') attributes[path[2]] = 'x'.repeat(20);
  const title = 'x'.repeat(40);
  const facts: SourceFacts =
    source === 'reminder'
      ? { kind: 'reminder', id: 'r_0123456789abcdef', title, body: title, category: 'reminders' }
      : { kind: 'schedule', id: 'weekly-digest', name: title, title, body: title, category: 'digest' };
  // A Wednesday in September: among the longest weekday and month names in most languages.
  const at = Date.UTC(2026, 8, 30, 9, 0);
  return templateScope({ id: 'user-0123456789', locale, timeZone: 'America/Argentina/Buenos_Aires', tags: ['x'.repeat(20)], attributes }, facts, { atEpochMs: at, nowEpochMs: at - 3 * 3_600_000 }, locale);
}

/** Port: checks a reminder's or schedule's `template` as it is attached; throws InvalidInputError naming `field`. */
export type TemplateChecker = (tenantId: TenantId, ref: TemplateRef, source: SourceKind, field: string) => Promise<void>;

export function templateIssues(content: TemplateContent, rules: TemplateRules): TemplateIssue[] {
  const issues: TemplateIssue[] = [];
  const keys = Object.keys(content.locales);
  for (const key of keys) {
    const canonical = canonicalLocale(key);
    if (!canonical) issues.push({ field: `locales.${key}`, reason: `"${key}" is not a BCP 47 language tag` });
    if (keys.some((k) => k !== key && k.toLowerCase() === key.toLowerCase())) issues.push({ field: `locales.${key}`, reason: 'appears twice (locale tags are case-insensitive)' });
  }
  const defaultKey = findLocaleKey(keys, content.defaultLocale);
  if (!defaultKey) {
    issues.push({ field: 'defaultLocale', reason: `"${content.defaultLocale}" is not one of the template's locales (${keys.join(', ')})` });
  } else {
    for (const channel of CHANNELS) {
      const usedBy = keys.filter((k) => content.locales[k]?.[channel]);
      if (usedBy.length > 0 && !content.locales[defaultKey]?.[channel]) {
        issues.push({ field: `locales.${defaultKey}.${channel}`, reason: `the default locale must have every channel a variant has (${channel} is in ${usedBy.join(', ')})` });
      }
    }
  }
  for (const key of keys) {
    const variant = content.locales[key];
    for (const channel of CHANNELS) {
      const fields = variant?.[channel] as Partial<Record<TemplateField, string>> | undefined;
      if (!fields) continue;
      for (const field of FIELDS[channel]) {
        const source = fields[field];
        if (source === undefined) continue;
        const where = `locales.${key}.${channel}.${field}`;
        const engine = engineFor(field);
        let parsed: Template[];
        try {
          parsed = engine.parse(source);
        } catch (error) {
          issues.push({ field: where, reason: [positionOf(error), reasonOf(error)].filter(Boolean).join(': ') });
          continue;
        }
        const uses = variablesOf(engine, parsed);
        for (const use of uses) {
          const problem = unknownVariable(use, rules.sources);
          if (problem) issues.push({ field: where, reason: `${use.position}: ${problem}` });
        }
        if (channel !== 'sms' || issues.some((i) => i.field === where)) continue;
        for (const source of rules.sources) {
          let sample: string;
          try {
            sample = engine.renderSync(parsed, sampleScope(uses, canonicalLocale(key) ?? key, source));
          } catch (error) {
            issues.push({ field: where, reason: [positionOf(error), reasonOf(error)].filter(Boolean).join(': ') });
            break;
          }
          const length = smsLength(`${sample}${'0'.repeat(SMS_REFERENCE_CHARACTERS)}`);
          if (length.segments > rules.smsMaxSegments) {
            issues.push({
              field: where,
              reason: `takes ${length.segments} SMS segments (${length.encoding}, ${length.units} units with sample values and Chime's reference tag), over the limit of ${rules.smsMaxSegments}`,
            });
            break;
          }
        }
      }
    }
  }
  return issues;
}
