/**
 * Delivery policy: how an occurrence of a reminder (or of every reminder in a category) treats
 * quiet hours, lateness, backlogs and frequency caps. Category policy and reminder policy are
 * partial overrides layered over `DEFAULT_POLICY` by `resolvePolicy`.
 */
import Type, { type Static } from 'typebox';
import Value from 'typebox/value';
import { CHANNELS, type Channel } from '../delivery.js';
import { InvalidInputError } from '../errors.js';

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;

export const QuietHoursModeSchema = Type.Union([Type.Literal('defer'), Type.Literal('skip'), Type.Literal('bypass')], {
  description:
    'defer: deliver when the quiet window ends (default); skip: drop the occurrence; bypass: deliver anyway (critical messages — opt-outs still apply)',
});
export type QuietHoursMode = Static<typeof QuietHoursModeSchema>;

export const FrequencyCapSchema = Type.Object(
  {
    /** At most this many sends of the category on the channel within the window (0: never). */
    max: Type.Integer({ minimum: 0, maximum: 10_000 }),
    /** Rolling window ending at the decision's `now`, e.g. 86_400_000 for "a day". */
    windowMs: Type.Integer({ minimum: MINUTE_MS, maximum: 31 * DAY_MS }),
  },
  { additionalProperties: false },
);
export type FrequencyCap = Static<typeof FrequencyCapSchema>;

const ExpireAfterMs = Type.Integer({
  minimum: MINUTE_MS,
  maximum: 31 * DAY_MS,
  description: 'Drop the occurrence rather than deliver it more than this long after its scheduled instant',
});

export const DeliveryPolicySchema = Type.Object(
  {
    quietHours: QuietHoursModeSchema,
    expireAfterMs: Type.Optional(ExpireAfterMs),
    /** A backlog collapses to the most recent occurrence: an occurrence is skipped once a later one is due. */
    collapse: Type.Boolean(),
    frequencyCaps: Type.Object(
      { email: Type.Optional(FrequencyCapSchema), sms: Type.Optional(FrequencyCapSchema) },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false, $id: 'DeliveryPolicy' },
);
export type DeliveryPolicy = Static<typeof DeliveryPolicySchema>;

/** What a category or a reminder sets; anything absent is inherited. `null` removes an inherited value. */
export const PolicyOverridesSchema = Type.Object(
  {
    quietHours: Type.Optional(QuietHoursModeSchema),
    expireAfterMs: Type.Optional(Type.Union([ExpireAfterMs, Type.Null()])),
    collapse: Type.Optional(Type.Boolean()),
    frequencyCaps: Type.Optional(
      Type.Object(
        {
          email: Type.Optional(Type.Union([FrequencyCapSchema, Type.Null()])),
          sms: Type.Optional(Type.Union([FrequencyCapSchema, Type.Null()])),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false, $id: 'DeliveryPolicyOverrides' },
);
export type PolicyOverrides = Static<typeof PolicyOverridesSchema>;

/** Defer through quiet hours, never expire, collapse backlogs, no caps. */
export const DEFAULT_POLICY: DeliveryPolicy = Object.freeze({
  quietHours: 'defer',
  collapse: true,
  frequencyCaps: Object.freeze({}),
}) as DeliveryPolicy;

/**
 * Layers overrides over `DEFAULT_POLICY`, later layers winning:
 * `resolvePolicy(categoryPolicy, reminderPolicy)`.
 */
export function resolvePolicy(...layers: ReadonlyArray<PolicyOverrides | undefined>): DeliveryPolicy {
  let quietHours = DEFAULT_POLICY.quietHours;
  let expireAfterMs: number | undefined = DEFAULT_POLICY.expireAfterMs;
  let collapse = DEFAULT_POLICY.collapse;
  const frequencyCaps: DeliveryPolicy['frequencyCaps'] = { ...DEFAULT_POLICY.frequencyCaps };
  for (const layer of layers) {
    if (!layer) continue;
    if (layer.quietHours !== undefined) quietHours = layer.quietHours;
    if (layer.expireAfterMs !== undefined) expireAfterMs = layer.expireAfterMs ?? undefined;
    if (layer.collapse !== undefined) collapse = layer.collapse;
    for (const channel of CHANNELS) {
      const cap = layer.frequencyCaps?.[channel];
      if (cap === null) delete frequencyCaps[channel];
      else if (cap !== undefined) frequencyCaps[channel] = { ...cap };
    }
  }
  return expireAfterMs === undefined
    ? { quietHours, collapse, frequencyCaps }
    : { quietHours, expireAfterMs, collapse, frequencyCaps };
}

/** @throws InvalidInputError naming the field (`${field}.frequencyCaps.sms.max`) and the reason. */
export function validatePolicyOverrides(input: unknown, field = 'policy'): PolicyOverrides {
  // The deepest error is the most specific (a union reports its branches' errors and its own).
  const [error] = Value.Errors(PolicyOverridesSchema, input).sort(
    (a, b) => b.instancePath.split('/').length - a.instancePath.split('/').length,
  );
  if (error) {
    const path = error.instancePath === '' ? field : `${field}${error.instancePath.replace(/\//g, '.')}`;
    const extra = (error.params as { additionalProperties?: unknown[] } | undefined)?.additionalProperties?.[0];
    throw extra !== undefined
      ? new InvalidInputError(`${path}.${String(extra)}`, 'unknown field')
      : new InvalidInputError(path, error.message);
  }
  return structuredClone(input as PolicyOverrides);
}

/**
 * Which ledger counts `decide` needs: for each requested channel with a cap, the number of sends of
 * this category to this user on that channel at or after `since` (and before `now`). Pass them as
 * `recentSends[channel]`.
 */
export function capLookups(
  policy: DeliveryPolicy,
  channels: readonly Channel[],
  now: number,
): Array<{ channel: Channel; since: number }> {
  const out: Array<{ channel: Channel; since: number }> = [];
  for (const channel of new Set(channels)) {
    const cap = policy.frequencyCaps[channel];
    if (cap) out.push({ channel, since: now - cap.windowMs });
  }
  return out;
}
