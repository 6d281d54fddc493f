import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../src/domain/errors.js';
import {
  DEFAULT_POLICY,
  DEFAULT_ZONE_MODE,
  resolvePolicy,
  validatePolicyOverrides,
} from '../../../src/domain/policy/index.js';

const DAY_MS = 86_400_000;

describe('resolvePolicy', () => {
  it('defaults to defer through quiet hours, collapse, no expiry and no caps', () => {
    expect(resolvePolicy()).toEqual({ quietHours: 'defer', collapse: true, frequencyCaps: {} });
    expect(DEFAULT_POLICY).toEqual(resolvePolicy());
  });

  it('lets the reminder override its category, field by field', () => {
    const category = { quietHours: 'skip' as const, expireAfterMs: 3 * 3_600_000, frequencyCaps: { sms: { max: 3, windowMs: DAY_MS } } };
    const reminder = { quietHours: 'bypass' as const };
    expect(resolvePolicy(category, reminder)).toEqual({
      quietHours: 'bypass',
      expireAfterMs: 3 * 3_600_000,
      collapse: true,
      frequencyCaps: { sms: { max: 3, windowMs: DAY_MS } },
    });
  });

  it('removes an inherited expiry or cap when a later layer sets it to null', () => {
    const category = { expireAfterMs: 3_600_000, frequencyCaps: { sms: { max: 3, windowMs: DAY_MS }, email: { max: 1, windowMs: DAY_MS } } };
    const reminder = { expireAfterMs: null, frequencyCaps: { sms: null } };
    expect(resolvePolicy(category, reminder)).toEqual({
      quietHours: 'defer',
      collapse: true,
      frequencyCaps: { email: { max: 1, windowMs: DAY_MS } },
    });
  });

  it('does not share cap objects with its inputs or the defaults', () => {
    const category = { frequencyCaps: { sms: { max: 3, windowMs: DAY_MS } } };
    const resolved = resolvePolicy(category);
    resolved.frequencyCaps.sms!.max = 99;
    expect(category.frequencyCaps.sms.max).toBe(3);
    expect(DEFAULT_POLICY.frequencyCaps).toEqual({});
  });
});

describe('validatePolicyOverrides', () => {
  it('accepts a partial policy', () => {
    expect(validatePolicyOverrides({ quietHours: 'skip', frequencyCaps: { sms: { max: 3, windowMs: DAY_MS } } })).toEqual({
      quietHours: 'skip',
      frequencyCaps: { sms: { max: 3, windowMs: DAY_MS } },
    });
  });

  const rows: Array<[string, unknown, string]> = [
    ['an unknown quiet-hours mode', { quietHours: 'snooze' }, 'policy.quietHours'],
    ['a negative cap', { frequencyCaps: { sms: { max: -1, windowMs: DAY_MS } } }, 'policy.frequencyCaps.sms.max'],
    ['a cap on an unknown channel', { frequencyCaps: { fax: { max: 1, windowMs: DAY_MS } } }, 'policy.frequencyCaps.fax'],
    ['an expiry under a minute', { expireAfterMs: 500 }, 'policy.expireAfterMs'],
    ['an unknown field', { retries: 3 }, 'policy.retries'],
  ];
  it.each(rows)('rejects %s, naming %s', (_name, input, field) => {
    expect(() => validatePolicyOverrides(input)).toThrow(InvalidInputError);
    try {
      validatePolicyOverrides(input);
    } catch (error) {
      expect((error as InvalidInputError).field).toBe(field);
    }
  });
});

describe('zone modes', () => {
  it('pins reminders to their own zone unless they ask to follow the user', () => {
    expect(DEFAULT_ZONE_MODE).toBe('pinned');
  });
});
