import fc from 'fast-check';
import { Temporal } from 'temporal-polyfill';
import { afterEach, describe, expect, it } from 'vitest';
import { quietHours } from './fixtures.js';
import { CHANNELS, type Channel } from '../../../src/domain/delivery.js';
import type { Preferences } from '../../../src/domain/preferences/index.js';
import {
  decide,
  quietIntervalAt,
  resolvePolicy,
  type DecisionInput,
  type PolicyOverrides,
} from '../../../src/domain/policy/index.js';

// Zones with DST in both hemispheres, half-hour DST (Lord Howe), odd offsets (Chatham, Kolkata),
// a zone that skipped a whole day (Apia, 2011-12-30), and UTC.
const ZONES = [
  'Europe/Paris',
  'America/New_York',
  'Australia/Adelaide',
  'Australia/Lord_Howe',
  'Pacific/Chatham',
  'Asia/Kolkata',
  'America/Sao_Paulo',
  'Pacific/Apia',
  'Europe/London',
  'UTC',
] as const;

const MINUTE_MS = 60_000;
const FROM = Date.UTC(2010, 0, 1);
const TO = Date.UTC(2032, 0, 1);

/** Any instant on the minute, 2010–2031. */
const instant = fc.integer({ min: FROM / MINUTE_MS, max: TO / MINUTE_MS }).map((m) => m * MINUTE_MS);

/** An instant within 30 h of one of `timeZone`'s offset transitions (or any instant in a zone without). */
function nearTransition(timeZone: string): fc.Arbitrary<number> {
  return fc
    .tuple(fc.integer({ min: 2010, max: 2031 }), fc.constantFrom(1, 7), fc.integer({ min: -30 * 60, max: 30 * 60 }))
    .map(([year, month, minutes]) => {
      const from = Temporal.PlainDate.from({ year, month, day: 1 }).toZonedDateTime({ timeZone });
      const transition = from.getTimeZoneTransition('next') ?? from;
      return transition.epochMilliseconds + minutes * MINUTE_MS;
    });
}
/** Preferences with an instant that is often near a DST change in their zone. */
function withInstant<T extends { timeZone: string }>(prefs: fc.Arbitrary<T>): fc.Arbitrary<[T, number]> {
  return prefs.chain((p) => fc.tuple(fc.constant(p), fc.oneof(instant, nearTransition(p.timeZone))));
}
const channels = fc.uniqueArray(fc.constantFrom(...CHANNELS), { minLength: 1, maxLength: 2 });

const preferences: fc.Arbitrary<Preferences> = fc.record({
  timeZone: fc.constantFrom(...ZONES),
  locale: fc.constant('en'),
  contacts: fc.record(
    {
      email: fc.record({ address: fc.constant('ada@example.org'), verified: fc.boolean() }),
      sms: fc.record({ number: fc.constant('+33612345678'), verified: fc.boolean() }),
    },
    { requiredKeys: [] },
  ),
  channels: fc.record({ email: fc.boolean(), sms: fc.boolean() }),
  optOuts: fc.dictionary(
    fc.constantFrom('reminders', 'digest'),
    fc.oneof(fc.constant('all' as const), fc.uniqueArray(fc.constantFrom(...CHANNELS), { minLength: 1 })),
    { maxKeys: 1 },
  ),
  quietHours: fc.option(quietHours, { nil: null }),
});
/** Preferences under which every channel can be sent: only quiet hours stand in the way. */
const reachable: fc.Arbitrary<Preferences> = fc.record({
  timeZone: fc.constantFrom(...ZONES),
  quietHours,
}).map(({ timeZone, quietHours }) => ({
  timeZone,
  locale: 'en',
  contacts: { email: { address: 'ada@example.org', verified: true }, sms: { number: '+33612345678', verified: true } },
  channels: { email: true, sms: true },
  optOuts: {},
  quietHours,
}));
const policy: fc.Arbitrary<PolicyOverrides> = fc.record(
  {
    quietHours: fc.constantFrom('defer' as const, 'skip' as const, 'bypass' as const),
    expireAfterMs: fc.integer({ min: 1, max: 48 * 60 }).map((m) => m * MINUTE_MS),
    collapse: fc.boolean(),
    frequencyCaps: fc.record({ sms: fc.record({ max: fc.integer({ min: 0, max: 3 }), windowMs: fc.constant(86_400_000) }) }, { requiredKeys: [] }),
  },
  { requiredKeys: [] },
);

function inputOf(p: {
  preferences: Preferences;
  policy?: PolicyOverrides;
  now: number;
  scheduledFor?: number;
  channels?: Channel[];
  category?: string;
  sent?: number;
  pendingNewer?: boolean;
}): DecisionInput {
  return {
    occurrence: {
      scheduledFor: p.scheduledFor ?? p.now,
      recurrenceId: 'r1',
      category: p.category ?? 'reminders',
      channels: p.channels ?? ['email', 'sms'],
    },
    preferences: p.preferences,
    policy: resolvePolicy(p.policy),
    now: p.now,
    recentSends: { sms: p.sent ?? 0 },
    pendingNewer: p.pendingNewer ?? false,
  };
}

describe('properties of the decision', () => {
  it('a defer target is after now, outside every quiet window, and the first such instant', () => {
    fc.assert(
      fc.property(withInstant(reachable), ([prefs, now]) => {
        for (const c of decide(inputOf({ preferences: prefs, now })).channels) {
          if (c.action !== 'defer') continue;
          expect(c.until).toBeGreaterThan(now);
          expect(quietIntervalAt(c.until, prefs.timeZone, prefs.quietHours)).toBeUndefined();
          expect(quietIntervalAt(c.until - 1, prefs.timeZone, prefs.quietHours)).toBeDefined();
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it('re-deciding at the defer target sends (what the workflow does when it wakes)', () => {
    fc.assert(
      fc.property(withInstant(reachable), ([prefs, now]) => {
        const first = decide(inputOf({ preferences: prefs, now }));
        const deferred = first.channels.find((c) => c.action === 'defer');
        if (!deferred || deferred.action !== 'defer') return;
        const woke = decide(inputOf({ preferences: prefs, now: deferred.until, scheduledFor: now }));
        expect(woke.channels.map((c) => c.action)).toEqual(['send', 'send']);
      }),
      { numRuns: 1_000 },
    );
  });

  it('an instant inside quiet hours is always deferred, skipped or bypassed — never plainly sent', () => {
    fc.assert(
      fc.property(withInstant(reachable), fc.constantFrom('defer' as const, 'skip' as const, 'bypass' as const), ([prefs, now], mode) => {
        const quiet = quietIntervalAt(now, prefs.timeZone, prefs.quietHours) !== undefined;
        for (const c of decide(inputOf({ preferences: prefs, now, policy: { quietHours: mode } })).channels) {
          if (!quiet) expect(c).toMatchObject({ action: 'send', quietHoursBypassed: false });
          else if (mode === 'defer') expect(c.action).toBe('defer');
          else if (mode === 'skip') expect(c).toMatchObject({ action: 'skip', reason: 'quiet_hours' });
          else expect(c).toMatchObject({ action: 'send', quietHoursBypassed: true });
        }
      }),
      { numRuns: 1_000 },
    );
  });

  it('a skipped channel never becomes a send by moving now within the same quiet window', () => {
    fc.assert(
      fc.property(
        withInstant(preferences),
        policy.filter((p) => p.quietHours !== 'bypass'),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 4 }),
        fc.boolean(),
        ([prefs, now], pol, fraction, sent, pendingNewer) => {
          const interval = quietIntervalAt(now, prefs.timeZone, prefs.quietHours);
          if (!interval) return;
          const later = Math.min(interval.end - 1, Math.floor(interval.start + fraction * (interval.end - interval.start)));
          const scheduledFor = Math.min(now, later);
          const a = decide(inputOf({ preferences: prefs, policy: pol, now, scheduledFor, sent, pendingNewer }));
          const b = decide(inputOf({ preferences: prefs, policy: pol, now: later, scheduledFor, sent, pendingNewer }));
          a.channels.forEach((c, i) => {
            if (c.action === 'skip') expect(b.channels[i]?.action).not.toBe('send');
          });
        },
      ),
      { numRuns: 1_000 },
    );
  });

  it('opt-outs, switched-off channels and missing or unverified contacts skip whatever the policy and the time', () => {
    fc.assert(
      fc.property(preferences, policy, instant, channels, fc.constantFrom('reminders', 'digest'), (prefs, pol, now, chans, category) => {
        for (const c of decide(inputOf({ preferences: prefs, policy: pol, now, channels: chans, category })).channels) {
          const optOut = prefs.optOuts[category];
          const contact = prefs.contacts[c.channel];
          const blocked =
            !prefs.channels[c.channel] || optOut === 'all' || optOut?.includes(c.channel) || !contact || !contact.verified;
          if (blocked) expect(c.action).toBe('skip');
        }
      }),
      { numRuns: 1_000 },
    );
  });

  it('never mixes a send with a defer in one decision, and bypass never defers', () => {
    fc.assert(
      fc.property(preferences, policy, instant, fc.integer({ min: 0, max: 4 }), (prefs, pol, now, sent) => {
        const actions = decide(inputOf({ preferences: prefs, policy: pol, now, sent })).channels.map((c) => c.action);
        expect(actions.includes('send') && actions.includes('defer')).toBe(false);
        if (pol.quietHours === 'bypass') expect(actions).not.toContain('defer');
      }),
      { numRuns: 1_000 },
    );
  });
});

describe('independence from the host time zone', () => {
  const original = process.env.TZ;
  afterEach(() => {
    if (original === undefined) delete process.env.TZ;
    else process.env.TZ = original;
  });

  it('gives the same decision whatever TZ the process runs in', () => {
    fc.assert(
      fc.property(withInstant(preferences), policy, ([prefs, now], pol) => {
        const decisions = ['UTC', 'Pacific/Chatham', 'America/St_Johns', 'Asia/Kathmandu'].map((tz) => {
          process.env.TZ = tz;
          return decide(inputOf({ preferences: prefs, policy: pol, now }));
        });
        for (const d of decisions.slice(1)) expect(d).toEqual(decisions[0]);
      }),
      { numRuns: 300 },
    );
  });
});
