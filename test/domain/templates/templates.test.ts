import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { localeChain, renderMessage, templateIssues, textDirection, type RecipientFacts, type SourceFacts, type TemplateContent } from '../../../src/domain/templates/index.js';

const standup: TemplateContent = {
  defaultLocale: 'en',
  locales: {
    en: {
      email: { subject: '{{ reminder.title }} at {{ occurrence.time }}', text: 'Hi {{ recipient.name | default: "there" }}, {{ reminder.title }} starts {{ occurrence.datetime }}.', html: '<p>Hi <b>{{ recipient.name }}</b>, {{ reminder.title }} starts {{ occurrence.datetime }}.</p>' },
      sms: { text: '{{ reminder.title }}: {{ occurrence.datetime }}' },
    },
    fr: {
      email: { subject: '{{ reminder.title }} à {{ occurrence.time }}', text: 'Bonjour {{ recipient.name }}, {{ reminder.title }} commence {{ occurrence.datetime }}.' },
      sms: { text: '{{ reminder.title }} : {{ occurrence.datetime }}' },
    },
    ja: { email: { subject: '{{ reminder.title }}（{{ occurrence.time }}）', text: '{{ recipient.name }}さん、{{ occurrence.datetime }}に{{ reminder.title }}が始まります。' } },
    ar: { email: { subject: '{{ reminder.title }} الساعة {{ occurrence.time }}', text: 'مرحبا {{ recipient.name }}، يبدأ {{ reminder.title }} {{ occurrence.datetime }}.', html: '<p>مرحبا {{ recipient.name }}</p>' } },
    he: { email: { subject: '{{ reminder.title }} ב-{{ occurrence.time }}', text: 'שלום {{ recipient.name }}, {{ reminder.title }} מתחיל {{ occurrence.datetime }}.' } },
    de: { email: { subject: '{{ reminder.title }} um {{ occurrence.time }}', text: 'Hallo {{ recipient.name }}, {{ reminder.title }} beginnt {{ occurrence.datetime }}.' } },
    'zh-Hans': { email: { subject: '{{ reminder.title }} {{ occurrence.time }}', text: '{{ recipient.name }}，{{ reminder.title }}将于{{ occurrence.datetime }}开始。' } },
  },
};

const source: SourceFacts = { kind: 'reminder', id: 'r1', title: 'Stand-up', body: 'plain body', category: 'reminders' };
const recipient = (over: Partial<RecipientFacts> = {}): RecipientFacts => ({ id: 'u1', locale: 'en', timeZone: 'Europe/Paris', tags: [], attributes: { name: 'Amélie' }, ...over });
// Monday 2026-11-23 09:00 in Paris (CET, UTC+1).
const monday = { atEpochMs: Date.parse('2026-11-23T08:00:00Z'), nowEpochMs: Date.parse('2026-11-23T08:00:00Z') };
const render = (over: Partial<RecipientFacts>, channel: 'email' | 'sms' = 'email', occurrence = monday, template = standup) =>
  renderMessage(template, { channel, recipient: recipient(over), source, occurrence });

describe('rendering per recipient: locale, zone, script', () => {
  it.each([
    ['en', 'Europe/Paris', 'Stand-up at 9:00 AM', 'Monday, November 23, 2026 at 9:00 AM'],
    ['fr', 'Europe/Paris', 'Stand-up à 09:00', 'lundi 23 novembre 2026 à 09:00'],
    ['fr-CA', 'America/Montreal', 'Stand-up à 03 h 00', 'lundi 23 novembre 2026 à 03 h 00'],
    ['de', 'Europe/Berlin', 'Stand-up um 09:00', 'Montag, 23. November 2026 um 09:00'],
    ['ja', 'Asia/Tokyo', 'Stand-up（17:00）', '2026年11月23日月曜日 17:00'],
    ['zh-Hans', 'Asia/Shanghai', 'Stand-up 16:00', '2026年11月23日星期一 16:00'],
    ['ar', 'Asia/Dubai', 'Stand-up الساعة 12:00 م', 'الاثنين، 23 نوفمبر 2026 في 12:00 م'],
    ['he', 'Asia/Jerusalem', 'Stand-up ב-10:00', 'יום שני, 23 בנובמבר 2026 בשעה 10:00'],
  ])('%s in %s', (locale, timeZone, subject, datetime) => {
    const { message, fallback } = render({ locale, timeZone });
    expect(fallback).toBeUndefined();
    expect(message.subject).toBe(subject);
    expect(message.text).toContain(datetime);
  });

  it('says the language and direction of an HTML part: Arabic reads right to left', () => {
    const ar = render({ locale: 'ar', timeZone: 'Asia/Dubai' }).message.html ?? '';
    expect(ar).toMatch(/<html lang="ar" dir="rtl">/);
    expect(render({}).message.html).toMatch(/<html lang="en" dir="ltr">/);
    expect([textDirection('he'), textDirection('fa-IR'), textDirection('fr')]).toEqual(['rtl', 'rtl', 'ltr']);
  });

  it('formats next to a DST change in the recipient zone: 09:00 the day after the spring-forward is 09:00, not 08:00 or 10:00', () => {
    const after = { atEpochMs: Date.parse('2027-03-15T13:00:00Z'), nowEpochMs: Date.parse('2027-03-15T13:00:00Z') }; // EDT: UTC-4
    const before = { atEpochMs: Date.parse('2027-03-13T14:00:00Z'), nowEpochMs: Date.parse('2027-03-13T14:00:00Z') }; // EST: UTC-5
    expect(render({ timeZone: 'America/New_York' }, 'email', after).message.subject).toBe('Stand-up at 9:00 AM');
    expect(render({ timeZone: 'America/New_York' }, 'email', before).message.subject).toBe('Stand-up at 9:00 AM');
    const paris = { atEpochMs: Date.parse('2027-03-28T07:00:00Z'), nowEpochMs: Date.parse('2027-03-28T07:00:00Z') }; // CEST from 02:00
    expect(render({ locale: 'fr' }, 'email', paris).message.text).toContain('dimanche 28 mars 2027 à 09:00');
  });

  it('phrases the occurrence relative to the send: a deferred message says how long ago', () => {
    const template: TemplateContent = { defaultLocale: 'en', locales: { en: { sms: { text: 'was due {{ occurrence.relative }}' } }, fr: { sms: { text: 'prévu {{ occurrence.relative }}' } } } };
    const late = { atEpochMs: monday.atEpochMs, nowEpochMs: monday.atEpochMs + 2 * 3_600_000 };
    expect(render({}, 'sms', late, template).message.text).toBe('was due 2 hours ago');
    expect(render({ locale: 'fr' }, 'sms', { ...late, nowEpochMs: late.atEpochMs + 86_400_000 }, template).message.text).toBe('prévu hier');
    expect(render({}, 'sms', monday, template).message.text).toBe('was due now');
  });
});

describe('fallback chain', () => {
  it('fr-CA → fr → default, per channel', () => {
    expect(localeChain('fr-CA', 'en')).toEqual(['fr-CA', 'fr', 'en']);
    expect(localeChain('zh-Hant-TW', 'en')).toEqual(['zh-Hant-TW', 'zh-Hant', 'zh', 'en']);
    expect(localeChain(undefined, 'en')).toEqual(['en']);
    expect(render({ locale: 'fr-CA', timeZone: 'America/Montreal' }).locale).toBe('fr');
    expect(render({ locale: 'pt-BR' }).locale).toBe('en');
    // ja has no SMS: a Japanese recipient's SMS comes from the default locale.
    expect(render({ locale: 'ja' }, 'sms').locale).toBe('en');
    expect(render({ locale: 'ja' }, 'email').locale).toBe('ja');
  });
});

describe('safe by default', () => {
  const hostile = ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', "' onmouseover='x", '&amp;'];

  it('escapes every value in the HTML part, and `raw` cannot undo it', () => {
    const template: TemplateContent = { defaultLocale: 'en', locales: { en: { email: { subject: 's', text: '{{ recipient.name }}', html: '<p title="{{ recipient.name }}">{{ recipient.name }}{{ recipient.name | raw }}{{ recipient.name | escape }}</p>' } } } };
    for (const name of hostile) {
      const { message } = render({ attributes: { name } }, 'email', monday, template);
      const [, title, inner] = /<p title="([^"]*)">([\s\S]*)<\/p>/.exec(message.html ?? '') ?? [];
      expect(title, 'the attribute stays one attribute').toBeDefined();
      expect(`${title}${inner}`).not.toMatch(/["'<>]/);
      expect(message.text).toBe(name); // the plain part is plain text
    }
  });

  it('never lets a value inject a header: line breaks in the subject become spaces', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', '\r', '\n', '\u2028', 'Bcc: x@evil.test', ' ', '\u0085', '\t') }), (name) => {
        const { message } = render({ attributes: { name } }, 'email', monday, { defaultLocale: 'en', locales: { en: { email: { subject: 'Hi {{ recipient.name }}', text: 't' } } } });
        expect(message.subject).not.toMatch(/[\r\n\u2028\u0085\t]/);
      }),
    );
  });

  it('has no file access and no prototype walking', () => {
    expect(templateIssues({ defaultLocale: 'en', locales: { en: { sms: { text: '{% include "/etc/passwd" %}' } } } }, { sources: ['reminder'], smsMaxSegments: 3 })[0]?.reason).toMatch(/include tag is not available/);
    expect(templateIssues({ defaultLocale: 'en', locales: { en: { sms: { text: '{{ reminder.title.constructor }}' } } } }, { sources: ['reminder'], smsMaxSegments: 3 })[0]?.reason).toMatch(/unknown variable reminder.title.constructor/);
  });
});

describe('errors at definition time', () => {
  const rules = { sources: ['reminder'] as const, smsMaxSegments: 3 };

  it('names locale, channel, field and position for syntax errors, unknown filters and variables', () => {
    const issues = templateIssues(
      {
        defaultLocale: 'en',
        locales: {
          en: { email: { subject: 'Hi {{ recipient.nmae }}', text: 'ok' }, sms: { text: 'x' } },
          fr: { email: { subject: 'ok', text: 'line one\n{% if x %}' }, sms: { text: '{{ reminder.title | shout }}' } },
          de: { email: { subject: '{{ schedule.name }}', text: '{{ occurrence.when }}' } },
        },
      },
      rules,
    );
    expect(issues).toEqual([
      { field: 'locales.en.email.subject', reason: expect.stringMatching(/^line 1, column 7: unknown variable recipient.nmae \(recipient has id, name/) },
      { field: 'locales.fr.email.text', reason: expect.stringMatching(/^line 2, column 1: tag \{% if x %\} not closed/) },
      { field: 'locales.fr.sms.text', reason: 'line 1, column 1: undefined filter: shout' },
      { field: 'locales.de.email.subject', reason: expect.stringMatching(/^line 1, column 4: unknown variable schedule.name \(use recipient\.\*, occurrence\.\*, reminder\.\*, message\.\*\)/) },
      { field: 'locales.de.email.text', reason: expect.stringMatching(/unknown variable occurrence.when/) },
    ]);
  });

  it('refuses a default locale that is missing, or that lacks a channel a variant has', () => {
    expect(templateIssues({ defaultLocale: 'es', locales: { en: { sms: { text: 'x' } } } }, rules)).toEqual([
      { field: 'defaultLocale', reason: '"es" is not one of the template\'s locales (en)' },
    ]);
    expect(templateIssues({ defaultLocale: 'en', locales: { en: { email: { subject: 's', text: 't' } }, fr: { sms: { text: 'x' } } } }, rules)).toEqual([
      { field: 'locales.en.sms', reason: 'the default locale must have every channel a variant has (sms is in fr)' },
    ]);
  });

  it('refuses SMS text over the segment limit with sample values, counting UCS-2 for non-GSM scripts', () => {
    const gsm = 'x'.repeat(400);
    expect(templateIssues({ defaultLocale: 'en', locales: { en: { sms: { text: gsm } } } }, rules)).toEqual([]);
    expect(templateIssues({ defaultLocale: 'en', locales: { en: { sms: { text: gsm } } } }, { ...rules, smsMaxSegments: 2 })[0]?.reason).toMatch(/takes 3 SMS segments \(GSM-7, 415 units/);
    const arabic = 'مرحبا '.repeat(30) + '{{ occurrence.datetime }}';
    expect(templateIssues({ defaultLocale: 'ar', locales: { ar: { sms: { text: arabic } } } }, rules)[0]?.reason).toMatch(/takes 4 SMS segments \(UCS-2/);
  });

  it('a missing value at send time renders empty and is reported; the template is used, not the plain body', () => {
    const template: TemplateContent = { defaultLocale: 'en', locales: { en: { sms: { text: 'Team {{ recipient.attributes.team }}: {{ reminder.title }}' } } } };
    const rendering = render({}, 'sms', monday, template);
    expect(rendering.message.text).toBe('Team : Stand-up');
    expect(rendering.fallback).toEqual({ reason: 'missing_value', variable: 'recipient.attributes.team at line 1, column 9' });
    expect(render({ attributes: { team: 'payments' } }, 'sms', monday, template)).toEqual({ message: { subject: '', text: 'Team payments: Stand-up' }, locale: 'en' });
  });

  it('a template that cannot render falls back to the plain title and body, saying why', () => {
    const template: TemplateContent = { defaultLocale: 'en', locales: { en: { sms: { text: '{% for i in (1..100000000) %}{{ i }}{% endfor %}' } } } };
    const rendering = render({}, 'sms', monday, template);
    expect(rendering.message).toEqual({ subject: 'Stand-up', text: 'plain body' });
    expect(rendering.fallback).toMatchObject({ reason: 'render_failed', error: expect.stringMatching(/^en\.sms: /) });
  });
});
