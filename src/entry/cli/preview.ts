/**
 * `chime preview --ical "<lines>" [--preferences '<json>' | --tenant <id> --user <id>]
 *   [--category c] [--category-policy '<json>'] [--channels email,sms] [--policy '<json>']
 *   [--after <instant>] [--count N] [--json]`
 *
 * The next occurrences with the send-time policy applied and a reason for every change — the same
 * `previewOccurrences` (and so the same `decide()`) as the API and the workflow. Preferences come
 * from the flag, from the database (`--user`), or default to none (no quiet hours, both channels).
 * The policy layers like at send time: defaults → the category's (from `--category-policy`, or the
 * tenant's in the database with `--user`) → the reminder's (`--policy`).
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

class UsageError extends Error {}

function json(flag: string, text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`--${flag} must be JSON`);
  }
}

/** The user's stored preferences and the tenant's policy for the category, from the database. */
async function stored(tenant: string, user: string, category: string): Promise<{ preferences: unknown; categoryPolicy: unknown }> {
  const storage = await openStorage(loadConfig());
  try {
    const stores = createStores(storage.db);
    return {
      preferences: (await stores.users.get(TenantId(tenant), UserId(user)))?.preferences,
      categoryPolicy: (await stores.categoryPolicies.get(TenantId(tenant), category))?.policy,
    };
  } finally {
    await storage.close();
  }
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
    const fromDb = values.user !== undefined ? await stored(values.tenant ?? 'default', values.user, values.category) : undefined;
    const storedPreferences = fromDb ? fromDb.preferences : json('preferences', values.preferences);
    const preferences = validatePreferences({ timeZone: recurrence.tzid, ...((storedPreferences as object | undefined) ?? {}) });
    const categoryPolicy = values['category-policy'] !== undefined ? json('category-policy', values['category-policy']) : fromDb?.categoryPolicy;
    const policy = resolvePolicy(
      categoryPolicy === undefined ? undefined : validatePolicyOverrides(categoryPolicy, 'category-policy'),
      values.policy === undefined ? undefined : validatePolicyOverrides(json('policy', values.policy)),
    );
    const rule = compileRecurrence(recurrence);
    const items = previewOccurrences(
      rule.take(count, after).map((o) => ({ ...o, recurrenceId: recurrenceIdFor('pinned', o) })),
      { preferences, policy, category: values.category, channels },
    );
    if (values.json) {
      process.stdout.write(`${JSON.stringify(items, null, 2)}\n`);
    } else {
      process.stdout.write(`${rule.describe()} · quiet hours in ${preferences.timeZone}\n`);
      for (const item of items) {
        process.stdout.write(`${item.local}  ${item.outcome.padEnd(8)} ${item.explanation}\n`);
        if (item.afterDeferral) process.stdout.write(`${' '.repeat(item.local.length)}  then ${item.afterDeferral.outcome}: ${item.afterDeferral.explanation}\n`);
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
