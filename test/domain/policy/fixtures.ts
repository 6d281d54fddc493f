/** Builders for decision tests: instants written as zoned wall times, preferences by override. */
import fc from 'fast-check';
import { Temporal } from 'temporal-polyfill';
import type { Channel } from '../../../src/domain/delivery.js';
import { WEEKDAYS, type Preferences, type QuietHours, type QuietWindow } from '../../../src/domain/preferences/index.js';
import {
  DEFAULT_POLICY,
  decide,
  resolvePolicy,
  type DecisionInput,
  type PolicyOverrides,
} from '../../../src/domain/policy/index.js';

/** `at('2024-03-11T23:30[Europe/Paris]')` → epoch ms; an offset pins a fold: `…T02:15+01:00[Europe/Paris]`. */
export function at(zoned: string): number {
  return Temporal.ZonedDateTime.from(zoned, { offset: 'reject' }).epochMilliseconds;
}

export const HOUR_MS = 3_600_000;

export function prefs(overrides: Partial<Preferences> = {}): Preferences {
  return {
    timeZone: 'Europe/Paris',
    locale: 'fr-FR',
    contacts: {
      email: { address: 'ada@example.org', verified: true },
      sms: { number: '+33612345678', verified: true },
    },
    channels: { email: true, sms: true },
    optOuts: {},
    quietHours: { default: { start: '22:00', end: '07:00' } },
    ...overrides,
  };
}

export interface Case {
  now: number;
  scheduledFor?: number;
  category?: string;
  channels?: Channel[];
  preferences?: Preferences;
  policy?: PolicyOverrides;
  recentSends?: DecisionInput['recentSends'];
  pendingNewer?: boolean;
}

export function input(c: Case): DecisionInput {
  return {
    occurrence: {
      scheduledFor: c.scheduledFor ?? c.now,
      recurrenceId: '20240311T090000',
      category: c.category ?? 'reminders',
      channels: c.channels ?? ['email'],
    },
    preferences: c.preferences ?? prefs(),
    policy: c.policy ? resolvePolicy(c.policy) : DEFAULT_POLICY,
    now: c.now,
    ...(c.recentSends ? { recentSends: c.recentSends } : {}),
    ...(c.pendingNewer !== undefined ? { pendingNewer: c.pendingNewer } : {}),
  };
}

export function decideCase(c: Case) {
  return decide(input(c));
}

/** The single channel's decision of a one-channel case. */
export function only(c: Case) {
  const [decision, ...rest] = decideCase(c).channels;
  if (!decision || rest.length > 0) throw new Error('expected exactly one channel decision');
  return decision;
}

/** Property-test arbitraries: wall times on the quarter hour (and :59), quiet windows, quiet hours with weekday overrides. */
export const hhmm = fc
  .tuple(fc.integer({ min: 0, max: 23 }), fc.constantFrom(0, 15, 30, 45, 59))
  .map(([h, m]) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`);
export const quietWindow: fc.Arbitrary<QuietWindow> = fc
  .tuple(hhmm, hhmm)
  .filter(([start, end]) => start !== end)
  .map(([start, end]) => ({ start, end }));
export const quietHours: fc.Arbitrary<QuietHours> = fc.record(
  {
    default: fc.option(quietWindow, { nil: null }),
    weekdays: fc.dictionary(fc.constantFrom(...WEEKDAYS), fc.option(quietWindow, { nil: null }), { maxKeys: 3 }),
  },
  { requiredKeys: ['default'] },
);
