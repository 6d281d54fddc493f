import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import Value from 'typebox/value';
import { InvalidInputError } from '../../../src/domain/errors.js';
import { defaultPreferences, PreferencesSchema, validatePreferences, type Preferences } from '../../../src/domain/preferences/index.js';

const valid: Preferences = {
  timeZone: 'Europe/Paris',
  locale: 'fr-FR',
  contacts: {
    email: { address: 'ada@example.org', verified: true },
    sms: { number: '+33612345678', verified: false },
  },
  channels: { email: true, sms: true },
  optOuts: { marketing: 'all', digest: ['sms'] },
  quietHours: {
    default: { start: '22:00', end: '07:00' },
    weekdays: { fri: { start: '23:30', end: '09:00' }, sat: null },
  },
};

function rejection(input: unknown): { field: string; reason: string } {
  try {
    validatePreferences(input);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    const { field, reason } = error as InvalidInputError;
    return { field, reason };
  }
  throw new Error('expected validatePreferences to throw');
}

const withContacts = (contacts: unknown) => ({ ...valid, contacts });
const withQuiet = (quietHours: unknown) => ({ ...valid, quietHours });

describe('validatePreferences accepts', () => {
  it('a complete document and returns an equal copy', () => {
    const out = validatePreferences(valid);
    expect(out).toEqual(valid);
    expect(out).not.toBe(valid);
  });

  it('the zone and locale in any case, returning their canonical spelling', () => {
    const out = validatePreferences({ ...valid, timeZone: 'europe/paris', locale: 'FR-fr' });
    expect(out.timeZone).toBe('Europe/Paris');
    expect(out.locale).toBe('fr-FR');
  });

  it('a document with only a time zone, filling every other field with the defaults', () => {
    expect(validatePreferences({ timeZone: 'Asia/Tokyo' })).toEqual(defaultPreferences('Asia/Tokyo'));
  });

  it('no quiet hours (null) and windows that do not cross midnight', () => {
    expect(validatePreferences(withQuiet(null)).quietHours).toBeNull();
    expect(validatePreferences(withQuiet({ default: { start: '13:00', end: '14:30' } })).quietHours).toEqual({
      default: { start: '13:00', end: '14:30' },
    });
  });

  it('00:00 and 23:59 as times', () => {
    expect(() => validatePreferences(withQuiet({ default: { start: '23:59', end: '00:00' } }))).not.toThrow();
  });
});

describe('defaultPreferences', () => {
  it('turns every channel on, with no contacts, opt-outs or quiet hours', () => {
    expect(defaultPreferences('America/New_York')).toEqual({
      timeZone: 'America/New_York',
      locale: 'en',
      contacts: {},
      channels: { email: true, sms: true },
      optOuts: {},
      quietHours: null,
    });
  });

  it('refuses an unknown zone, naming timeZone', () => {
    expect(() => defaultPreferences('Mars/Olympus_Mons')).toThrow(InvalidInputError);
  });
});

describe('validatePreferences names the field and the reason', () => {
  const rows: Array<[string, unknown, string, RegExp]> = [
    ['an unknown time zone', { ...valid, timeZone: 'Mars/Olympus_Mons' }, 'timeZone', /not a known IANA time zone/],
    ['a UTC offset instead of a zone', { ...valid, timeZone: '+02:00' }, 'timeZone', /UTC offset/],
    ['a missing time zone', { locale: 'en' }, 'timeZone', /is required/],
    ['a locale that is not BCP 47', { ...valid, locale: 'en_US' }, 'locale', /not a BCP 47 language tag/],
    ['a time without a leading zero', withQuiet({ default: { start: '7:00', end: '08:00' } }), 'quietHours.default.start', /HH:MM/],
    ['24:00', withQuiet({ default: { start: '22:00', end: '24:00' } }), 'quietHours.default.end', /HH:MM/],
    ['minute 60', withQuiet({ default: { start: '12:60', end: '13:00' } }), 'quietHours.default.start', /HH:MM/],
    [
      'a malformed per-weekday time',
      withQuiet({ default: null, weekdays: { fri: { start: '23:00', end: '9am' } } }),
      'quietHours.weekdays.fri.end',
      /HH:MM/,
    ],
    ['an unknown weekday key', withQuiet({ default: null, weekdays: { monday: null } }), 'quietHours.weekdays.monday', /unknown field/],
    ['an empty window (start = end)', withQuiet({ default: { start: '22:00', end: '22:00' } }), 'quietHours.default', /cannot be empty/],
    ['a national phone number', withContacts({ sms: { number: '0612345678', verified: true } }), 'contacts.sms.number', /E\.164/],
    ['a phone number with spaces', withContacts({ sms: { number: '+33 6 12 34 56 78', verified: true } }), 'contacts.sms.number', /E\.164/],
    ['a phone number with 16 digits', withContacts({ sms: { number: '+1234567890123456', verified: true } }), 'contacts.sms.number', /E\.164/],
    ['an email without @', withContacts({ email: { address: 'ada.example.org', verified: true } }), 'contacts.email.address', /not a valid email/],
    ['an email with two @', withContacts({ email: { address: 'ada@@example.org', verified: true } }), 'contacts.email.address', /not a valid email/],
    ['an email with a dotless domain', withContacts({ email: { address: 'ada@localhost', verified: true } }), 'contacts.email.address', /fully qualified/],
    ['an email to an IP address', withContacts({ email: { address: 'ada@10.0.0.1', verified: true } }), 'contacts.email.address', /fully qualified/],
    ['an email to an address literal', withContacts({ email: { address: 'ada@[10.0.0.1]', verified: true } }), 'contacts.email.address', /fully qualified/],
    ['a contact without its verification state', withContacts({ email: { address: 'ada@example.org' } }), 'contacts.email.verified', /is required/],
    ['an unknown channel switch', { ...valid, channels: { email: true, sms: true, fax: true } }, 'channels.fax', /unknown channel "fax" \(channels are email, sms\)/],
    ['an unknown channel contact', withContacts({ fax: { number: '+33612345678', verified: true } }), 'contacts.fax', /unknown channel "fax"/],
    ['an unknown channel in an opt-out', { ...valid, optOuts: { digest: ['fax'] } }, 'optOuts.digest.0', /unknown channel "fax"/],
    ['an opt-out that is neither "all" nor a list', { ...valid, optOuts: { digest: 'some' } }, 'optOuts.digest', /"all" or a non-empty list/],
    ['an empty opt-out list', { ...valid, optOuts: { digest: [] } }, 'optOuts.digest', /"all" or a non-empty list/],
    ['a category name with spaces', { ...valid, optOuts: { 'Big News': 'all' } }, 'optOuts.Big News', /not a category name/],
    ['a channel switch that is not a boolean', { ...valid, channels: { email: 'yes', sms: true } }, 'channels.email', /boolean/],
    ['an unknown top-level field', { ...valid, theme: 'dark' }, 'theme', /unknown field/],
    ['a document that is not an object', 42, '(preferences)', /object/],
  ];
  it.each(rows)('rejects %s', (_name, input, field, reason) => {
    const error = rejection(input);
    expect(error.field).toBe(field);
    expect(error.reason).toMatch(reason);
  });
});

describe('validatePreferences on arbitrary documents', () => {
  // A stored row is checked on every send: whatever it holds, the answer is a copy or an InvalidInputError naming a field.
  const fields = ['timeZone', 'locale', 'contacts', 'channels', 'optOuts', 'quietHours'] as const;
  it('accepts or names the offending field, never anything else', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...fields),
        fc.oneof(fc.jsonValue(), fc.record({ email: fc.jsonValue(), sms: fc.jsonValue() }, { requiredKeys: [] })),
        (field, value) => {
          let outcome: { accepted: Preferences } | { error: unknown };
          try {
            outcome = { accepted: validatePreferences({ ...valid, [field]: value }) };
          } catch (error) {
            outcome = { error };
          }
          // Accepted only what the schema's reference checker (not the compiled one) accepts.
          if ('accepted' in outcome) expect(Value.Check(PreferencesSchema, outcome.accepted)).toBe(true);
          else {
            expect(outcome.error).toBeInstanceOf(InvalidInputError);
            expect((outcome.error as InvalidInputError).field).not.toBe('');
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
