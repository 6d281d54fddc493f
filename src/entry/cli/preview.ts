/**
 * `chime preview --ical "<lines>" [--preferences '<json>' | --tenant <id> --user <id>]
 *   [--category c] [--category-policy '<json>'] [--channels email,sms] [--policy '<json>']
 *   [--title t] [--body b] [--template <id> | --template '<json>'] [--after <instant>] [--count N] [--json]`
 *
 * The next occurrences with the send-time policy applied and a reason for every change — the same
 * `previewOccurrences` (and so the same `decide()`) as the API and the workflow. Preferences come
 * from the flag, from the database (`--user`), or default to none (no quiet hours, both channels).
 * The policy layers like at send time: defaults → the category's (from `--category-policy`, or the
 * tenant's in the database with `--user`) → the reminder's (`--policy`). With `--title` or
 * `--template`, each occurrence shows each channel's message, rendered as the delivery would
 * render it (a template id is read from the database, inline JSON is checked like the API does).
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../../config.js';
import { CHANNELS, type Channel } from '../../domain/delivery.js';
import { InvalidInputError } from '../../domain/errors.js';
import { TenantId, UserId } from '../../domain/ids.js';
import { previewOccurrences, recurrenceIdFor, resolvePolicy, validatePolicyOverrides } from '../../domain/policy/index.js';
import { validatePreferences } from '../../domain/preferences/index.js';
import { compileRecurrence, parseICal, RecurrenceError } from '../../domain/recurrence/index.js';
import { openStorage } from '../runtime.js';
import { createStores } from '../../storage/index.js';
import Value from 'typebox/value';
import { templateIssues, TemplateContentSchema, type TemplateContent } from '../../domain/templates/index.js';
import { createComposer, previewMessages, recipientFacts, type StoredRecipient } from '../../templates/compose.js';

class UsageError extends Error {}

function json(flag: string, text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`--${flag} must be JSON`);
  }
}

/** The user as stored, the tenant's policy for the category and a template, from the database. */
async function stored(
  tenant: string,
  lookups: { user?: string; category: string; template?: string },
): Promise<{ recipient?: StoredRecipient; categoryPolicy: unknown; template?: TemplateContent }> {
  const storage = await openStorage(loadConfig());
  try {
    const stores = createStores(storage.db);
    const recipient = lookups.user !== undefined ? await stores.users.get(TenantId(tenant), UserId(lookups.user)) : undefined;
    const template = lookups.template !== undefined ? (await stores.templates.get(TenantId(tenant), lookups.template))?.content : undefined;
    if (lookups.template !== undefined && !template) throw new UsageError(`--template: no template "${lookups.template}" in tenant ${tenant}`);
    return {
      ...(recipient ? { recipient } : {}),
      categoryPolicy: lookups.user !== undefined ? (await stores.categoryPolicies.get(TenantId(tenant), lookups.category))?.policy : undefined,
      ...(template ? { template } : {}),
    };
  } finally {
    await storage.close();
  }
}

/** An inline template, checked as the API checks one. */
function inlineTemplate(text: string): TemplateContent {
  const template = json('template', text) as TemplateContent;
  if (!Value.Check(TemplateContentSchema, template)) throw new UsageError('--template: not a template (defaultLocale, locales)');
  const [issue] = templateIssues(template, { sources: ['reminder'], smsMaxSegments: loadConfig().smsMaxSegments });
  if (issue) throw new UsageError(`--template: ${issue.field}: ${issue.reason}`);
  return template;
}

export async function previewCommand(argv: string[]): Promise<number> {
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        ical: { type: 'string' },
        preferences: { type: 'string' },
        tenant: { type: 'string' },
        user: { type: 'string' },
        category: { type: 'string', default: 'reminders' },
        channels: { type: 'string', default: 'email' },
        policy: { type: 'string' },
        'category-policy': { type: 'string' },
        title: { type: 'string' },
        body: { type: 'string', default: '' },
        template: { type: 'string' },
        after: { type: 'string' },
        count: { type: 'string', default: '10' },
        json: { type: 'boolean', default: false },
      },
      strict: true,
    });
    if (values.ical === undefined) throw new UsageError('--ical is required');
    const channels = values.channels.split(',') as Channel[];
    const unknown = channels.find((c) => !CHANNELS.includes(c));
    if (unknown) throw new UsageError(`--channels: unknown channel ${unknown}`);
    const count = Number(values.count);
    if (!Number.isInteger(count) || count < 1 || count > 1000) throw new UsageError('--count must be an integer from 1 to 1000');
    const after = values.after === undefined ? Date.now() : Date.parse(values.after);
    if (Number.isNaN(after)) throw new UsageError('--after must be an RFC 3339 instant');

    const recurrence = parseICal(values.ical.replace(/\\n/g, '\n'));
    const inline = values.template?.trimStart().startsWith('{') ? inlineTemplate(values.template) : undefined;
    const templateId = values.template !== undefined && !inline ? values.template : undefined;
    const fromDb =
      values.user !== undefined || templateId !== undefined
        ? await stored(values.tenant ?? 'default', { category: values.category, ...(values.user !== undefined ? { user: values.user } : {}), ...(templateId !== undefined ? { template: templateId } : {}) })
        : undefined;
    const storedPreferences = values.user !== undefined ? fromDb?.recipient?.preferences : json('preferences', values.preferences);
    const preferences = validatePreferences({ timeZone: recurrence.tzid, ...((storedPreferences as object | undefined) ?? {}) });
    const categoryPolicy = values['category-policy'] !== undefined ? json('category-policy', values['category-policy']) : fromDb?.categoryPolicy;
    const policy = resolvePolicy(
      categoryPolicy === undefined ? undefined : validatePolicyOverrides(categoryPolicy, 'category-policy'),
      values.policy === undefined ? undefined : validatePolicyOverrides(json('policy', values.policy)),
    );
    const rule = compileRecurrence(recurrence);
    const decided = previewOccurrences(
      rule.take(count, after).map((o) => ({ ...o, recurrenceId: recurrenceIdFor('pinned', o) })),
      { preferences, policy, category: values.category, channels },
    );
    const template = inline ?? fromDb?.template;
    const content = values.title !== undefined || template ? { title: values.title ?? 'Reminder', body: values.body, ...(template ? { template } : {}) } : undefined;
    const compose = createComposer({ templates: { templateOf: async () => undefined } });
    const recipient = recipientFacts(values.user ?? 'preview', preferences, fromDb?.recipient);
    const items = await Promise.all(
      decided.map(async (item) => {
        if (!content) return item;
        const atEpochMs = Date.parse(item.utc);
        const messages = await previewMessages(compose, {
          tenantId: TenantId(values.tenant ?? 'default'),
          recipient,
          source: { kind: 'reminder', id: 'preview', title: content.title, body: content.body, category: values.category },
          content,
          channels,
          atEpochMs,
          sentAtEpochMs: item.afterDeferral ? Date.parse(item.afterDeferral.at) : atEpochMs,
        });
        return { ...item, messages };
      }),
    );
    if (values.json) {
      process.stdout.write(`${JSON.stringify(items, null, 2)}\n`);
    } else {
      process.stdout.write(`${rule.describe()} · quiet hours in ${preferences.timeZone}\n`);
      for (const item of items) {
        process.stdout.write(`${item.local}  ${item.outcome.padEnd(8)} ${item.explanation}\n`);
        const indent = ' '.repeat(item.local.length);
        if (item.afterDeferral) process.stdout.write(`${indent}  then ${item.afterDeferral.outcome}: ${item.afterDeferral.explanation}\n`);
        for (const m of 'messages' in item ? item.messages : []) {
          const said = m.channel === 'email' ? `${m.subject} — ${m.text.split('\n')[0]}` : m.text.replace(/\n/g, ' ⏎ ');
          const note = m.fallback ? ` (${m.fallback.reason}: ${'variable' in m.fallback ? m.fallback.variable : m.fallback.error})` : '';
          process.stdout.write(`${indent}  ${m.channel}${m.locale ? ` [${m.locale}]` : ''}: ${said}${note}\n`);
        }
      }
    }
    return 0;
  } catch (error) {
    if (error instanceof RecurrenceError || error instanceof InvalidInputError || error instanceof UsageError) {
      process.stderr.write(`chime: ${error.message.split('\n')[0]}\n`);
      return 2;
    }
    if ((error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`chime: ${(error as Error).message.split('\n')[0]}\n`);
      return 2;
    }
    throw error;
  }
}
