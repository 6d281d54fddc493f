/**
 * Templates through the API on the real dev server: the resource (admin writes, 400s that name the
 * template, locale, channel and position), and messages rendered per recipient at send time —
 * received by the SMTP server with a plain and an HTML part, in the recipient's language and zone —
 * for a reminder and for an audience schedule alike; a missing value recorded in the decision.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpleParser } from 'mailparser';
import { createChimeClient, type PutTemplate } from '../../src/client/index.js';
import { eventually } from '../support/histories.js';
import { startTestStack, utcWallTime, type TestStack } from '../support/stack.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.close();
});

const standup: PutTemplate = {
  description: 'Stand-up reminder',
  defaultLocale: 'en',
  locales: {
    en: {
      email: {
        subject: '{{ reminder.title }} at {{ occurrence.time }}',
        text: 'Hi {{ recipient.name | default: "there" }}, {{ reminder.title }} is {{ occurrence.datetime }} ({{ occurrence.relative }}).',
        html: '<p>Hi <b>{{ recipient.name | default: "there" }}</b>, {{ reminder.title }} is {{ occurrence.datetime }}.</p>',
      },
      sms: { text: '{{ reminder.title }} {{ occurrence.time }}' },
    },
    fr: {
      email: {
        subject: '{{ reminder.title }} à {{ occurrence.time }}',
        text: 'Bonjour {{ recipient.name }}, {{ reminder.title }} a lieu {{ occurrence.datetime }}.',
        html: '<p>Bonjour <b>{{ recipient.name }}</b>, {{ reminder.title }} a lieu {{ occurrence.datetime }}.</p>',
      },
    },
    ar: { email: { subject: '{{ reminder.title }} الساعة {{ occurrence.time }}', text: 'مرحبا {{ recipient.name }}', html: '<p>مرحبا {{ recipient.name }}</p>' } },
  },
};

async function mailTo(address: string) {
  const mail = await eventually(async () => stack.smtp.received.find((m) => m.to.includes(address)), 30_000);
  return simpleParser(mail.raw);
}

const wallClock = (zone: string, locale: string, at: number) => new Intl.DateTimeFormat(locale, { timeZone: zone, timeStyle: 'short' }).format(at);

describe('the template resource', () => {
  it('creates, replaces (version grows), reads, lists and deletes; a user key may read but not write', async () => {
    const created = await stack.api.templates.put('resource-check', standup);
    expect(created).toMatchObject({ id: 'resource-check', version: 1, defaultLocale: 'en', description: 'Stand-up reminder' });
    const replaced = await stack.api.templates.put('resource-check', { ...standup, description: 'v2' });
    expect(replaced).toMatchObject({ version: 2, description: 'v2' });
    const asUser = createChimeClient({ baseUrl: stack.url, apiKey: await stack.createKey({ userId: 'reader' }), maxRetries: 0 });
    expect(await asUser.templates.get('resource-check')).toMatchObject({ version: 2 });
    await expect(asUser.templates.put('resource-check', standup)).rejects.toMatchObject({ status: 403 });
    const ids: string[] = [];
    for await (const t of stack.api.templates.list()) ids.push(t.id);
    expect(ids).toContain('resource-check');
    await stack.api.templates.remove('resource-check');
    await expect(stack.api.templates.get('resource-check')).rejects.toMatchObject({ status: 404 });
  });

  it('refuses a template with mistakes at definition time, naming template, locale, channel and position', async () => {
    const broken: PutTemplate = {
      defaultLocale: 'de',
      locales: {
        en: { email: { subject: 'Hi {{ recipient.nmae }}', text: 'x' }, sms: { text: '{% if recipient.name %}' } },
        fr: { sms: { text: 'é'.repeat(10) + '{{ reminder.title | shout }}' } },
      },
    };
    await expect(stack.api.templates.put('broken', broken)).rejects.toMatchObject({
      status: 400,
      errors: [
        { field: 'body.defaultLocale', reason: 'template "broken": "de" is not one of the template\'s locales (en, fr)' },
        { field: 'body.locales.en.email.subject', reason: expect.stringMatching(/^template "broken": line 1, column 7: unknown variable recipient\.nmae/) },
        { field: 'body.locales.en.sms.text', reason: expect.stringMatching(/^template "broken": line 1, column 1: tag \{% if recipient.name %\} not closed/) },
        { field: 'body.locales.fr.sms.text', reason: expect.stringMatching(/^template "broken": line 1, column 11: undefined filter: shout/) },
      ],
    });
    const long = { defaultLocale: 'en', locales: { en: { sms: { text: '😀'.repeat(120) } } } };
    await expect(stack.api.templates.put('too-long', long)).rejects.toMatchObject({
      status: 400,
      errors: [{ field: 'body.locales.en.sms.text', reason: expect.stringMatching(/takes 4 SMS segments \(UCS-2, 255 units.*over the limit of 3/) }],
    });
  });

  it('checks a template as it is attached: it must exist, and a reminder has no schedule.* to read', async () => {
    const base = { userId: 'attach', email: 'attach@example.com', title: 'T', body: '', recurrence: { dtstart: utcWallTime(3_600_000), tzid: 'UTC', rrule: 'FREQ=DAILY' } };
    await expect(stack.api.reminders.create({ ...base, template: 'nope' })).rejects.toMatchObject({ status: 400, errors: [{ field: 'body.template', reason: 'no template "nope" in this tenant' }] });
    await expect(
      stack.api.reminders.create({ ...base, template: { defaultLocale: 'en', locales: { en: { email: { subject: '{{ schedule.name }}', text: 'x' } } } } }),
    ).rejects.toMatchObject({ status: 400, errors: [{ field: 'body.template.locales.en.email.subject', reason: expect.stringMatching(/^inline template: line 1, column 4: unknown variable schedule\.name/) }] });
    // A reminder carries its content through history into each delivery: a big template is saved once and named.
    const part = { email: { subject: 's', text: 't', html: `<p>${'x'.repeat(5_000)}</p>` } };
    const big = { defaultLocale: 'en', locales: { en: part, fr: part } };
    await expect(stack.api.reminders.create({ ...base, template: big })).rejects.toMatchObject({
      status: 400,
      errors: [{ field: 'body.template', reason: expect.stringMatching(/at most 8 KiB; save a larger one with PUT \/v1\/templates\/\{id\}/) }],
    });
  });
});

describe('messages rendered per recipient at send time', () => {
  it("sends a reminder in the recipient's language and zone, with a plain and an HTML part; values are escaped", { timeout: 60_000 }, async () => {
    await stack.api.templates.put('standup', standup);
    await stack.api.users.putPreferences('amelie', { timeZone: 'America/Montreal', locale: 'fr-CA', contacts: { email: { address: 'amelie@example.com', verified: true } } });
    await stack.api.users.setAttributes('amelie', { name: 'Amélie <script>alert(1)</script>' });
    const dtstart = utcWallTime(3_000);
    const reminder = await stack.api.reminders.create({
      userId: 'amelie',
      email: 'amelie@example.com',
      title: 'Stand-up',
      body: 'plain fallback',
      template: 'standup',
      recurrence: { dtstart, tzid: 'UTC', rrule: 'FREQ=DAILY;COUNT=1' },
    });
    expect(reminder.template).toBe('standup');
    const at = Date.parse(`${dtstart}Z`);
    const mail = await mailTo('amelie@example.com');
    // fr-CA falls back to the fr variant; the time is Montreal's, written the fr-CA way ("09 h 00").
    expect(mail.subject).toBe(`Stand-up à ${wallClock('America/Montreal', 'fr-CA', at)}`);
    expect(mail.text?.trim()).toBe(
      `Bonjour Amélie <script>alert(1)</script>, Stand-up a lieu ${new Intl.DateTimeFormat('fr-CA', { timeZone: 'America/Montreal', dateStyle: 'full', timeStyle: 'short' }).format(at)}.`,
    );
    expect(mail.html).toContain('<html lang="fr" dir="ltr">');
    expect(mail.html).toContain('<b>Amélie &lt;script&gt;alert(1)&lt;/script&gt;</b>');
    expect(mail.html).not.toContain('<script>');

    const decisions = await eventually(async () => {
      const { data } = await stack.api.reminders.decisions(reminder.id);
      return data.length > 0 ? data : undefined;
    });
    expect(decisions[0]).toMatchObject({ kind: 'delivered', channels: [{ channel: 'email', outcome: 'sent', rendering: { locale: 'fr' } }] });
  });

  it('records a value missing at send time in the decision and still sends the template', { timeout: 60_000 }, async () => {
    await stack.api.templates.put('team', { defaultLocale: 'en', locales: { en: { email: { subject: 'Team {{ recipient.attributes.team }}', text: '{{ reminder.title }}' } } } });
    const reminder = await stack.api.reminders.create({
      userId: 'noteam',
      email: 'noteam@example.com',
      title: 'Retro',
      body: '',
      template: 'team',
      recurrence: { dtstart: utcWallTime(3_000), tzid: 'UTC', rrule: 'FREQ=DAILY;COUNT=1' },
    });
    const mail = await mailTo('noteam@example.com');
    expect(mail.subject).toBe('Team');
    expect(mail.text?.trim()).toBe('Retro');
    const decisions = await eventually(async () => {
      const { data } = await stack.api.reminders.decisions(reminder.id);
      return data.length > 0 ? data : undefined;
    });
    expect(decisions[0]).toMatchObject({
      channels: [{ outcome: 'sent', rendering: { locale: 'en', fallback: { reason: 'missing_value', variable: 'recipient.attributes.team at line 1, column 9' } } }],
    });
  });

  it('renders an audience schedule per recipient: each in their own language, script and direction', { timeout: 90_000 }, async () => {
    const people = [
      { id: 'sched-fr', locale: 'fr-FR', zone: 'Europe/Paris', name: 'Zoé' },
      { id: 'sched-ar', locale: 'ar-EG', zone: 'Africa/Cairo', name: 'ليلى' },
      { id: 'sched-ja', locale: 'ja', zone: 'Asia/Tokyo', name: '花子' },
    ];
    for (const p of people) {
      await stack.api.users.putPreferences(p.id, { timeZone: p.zone, locale: p.locale, contacts: { email: { address: `${p.id}@example.com`, verified: true } } });
      await stack.api.users.setTags(p.id, ['templated']);
      await stack.api.users.setAttributes(p.id, { name: p.name });
    }
    const weekly: PutTemplate = {
      defaultLocale: 'en',
      locales: {
        en: { email: { subject: '{{ schedule.title }}, {{ recipient.name }}', text: '{{ schedule.name }}: {{ occurrence.weekday }}' } },
        fr: { email: { subject: '{{ schedule.title }}, {{ recipient.name }}', text: '{{ schedule.name }} : {{ occurrence.weekday }}' } },
        ar: { email: { subject: '{{ schedule.title }}، {{ recipient.name }}', text: '{{ occurrence.weekday }}', html: '<p>{{ recipient.name }}</p>' } },
      },
    };
    await stack.api.templates.put('weekly', weekly);
    const schedule = await stack.api.schedules.create({
      name: 'Weekly',
      recurrence: { dtstart: '2026-01-01T00:00:00', tzid: 'UTC', rrule: 'FREQ=SECONDLY;INTERVAL=20' },
      audience: { filter: { tags: { all: ['templated'] } } },
      content: { title: 'News', body: '', template: 'weekly' },
    });
    const [fr, ar, ja] = await Promise.all(people.map((p) => mailTo(`${p.id}@example.com`)));
    await stack.api.schedules.archive(schedule.id);
    expect(fr?.subject).toBe('News, Zoé');
    expect(fr?.text?.trim()).toMatch(/^Weekly : (lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)$/);
    expect(ar?.subject).toBe('News، ليلى');
    expect(ar?.html).toContain('<html lang="ar" dir="rtl">');
    expect(ar?.text?.trim()).toMatch(/^(الاثنين|الثلاثاء|الأربعاء|الخميس|الجمعة|السبت|الأحد)$/);
    expect(ja?.subject).toBe('News, 花子'); // no ja variant: the default locale, with a Japanese weekday
    expect(ja?.text?.trim()).toMatch(/^Weekly: [月火水木金土日]曜日$/);
  });

  it('shows the rendered message per occurrence in the preview, as the delivery would render it', async () => {
    await stack.api.templates.put('standup', standup);
    await stack.api.users.putPreferences('previewer', {
      timeZone: 'Europe/Paris',
      locale: 'fr',
      contacts: { email: { address: 'previewer@example.com', verified: true } },
      quietHours: { default: { start: '22:00', end: '07:00' } },
    });
    const preview = await stack.api.preview({
      userId: 'previewer',
      recurrence: { dtstart: '2027-03-27T23:30:00', tzid: 'Europe/Paris', rrule: 'FREQ=DAILY;COUNT=2' },
      content: { title: 'Stand-up', body: '', template: 'standup' },
      after: '2027-03-01T00:00:00Z',
    });
    const [first] = preview.occurrences;
    // 23:30 is in quiet hours: deferred to 07:00, the morning DST begins, and rendered then.
    expect(first).toMatchObject({ outcome: 'deferred', afterDeferral: { at: '2027-03-28T05:00:00.000Z' } });
    expect(first?.messages).toEqual([
      expect.objectContaining({ channel: 'email', locale: 'fr', subject: 'Stand-up à 23:30', text: expect.stringContaining('samedi 27 mars 2027 à 23:30') }),
    ]);
  });

  it("shows a user's rendered message in an audience schedule's preview, in the buckets that hold their zone", async () => {
    await stack.api.users.putPreferences('preview-de', { timeZone: 'Europe/Berlin', locale: 'de-DE', contacts: { email: { address: 'preview-de@example.com', verified: true } } });
    await stack.api.users.setTags('preview-de', ['preview-only']);
    await stack.api.users.setAttributes('preview-de', { name: 'Jörg' });
    await stack.api.templates.put('monday', {
      defaultLocale: 'en',
      locales: {
        en: { email: { subject: '{{ schedule.name }} for {{ recipient.name }}', text: '{{ occurrence.datetime }}' } },
        de: { email: { subject: '{{ schedule.name }} für {{ recipient.name }}', text: '{{ occurrence.datetime }}' } },
      },
    });
    const schedule = await stack.api.schedules.create({
      name: 'Wochenbericht',
      recurrence: { dtstart: '2027-03-22T09:00:00', tzid: 'UTC', rrule: 'FREQ=WEEKLY;BYDAY=MO;COUNT=2' },
      audience: { filter: { tags: { all: ['preview-only'] } } },
      content: { title: 'Weekly', body: '', template: 'monday' },
    });
    const preview = await stack.api.schedules.preview(schedule.id, 2, 'preview-de');
    await stack.api.schedules.archive(schedule.id);
    // 09:00 in Berlin: CET (08:00Z) before the 2027-03-28 change, CEST (07:00Z) after it.
    expect(preview.buckets.map((b) => b.firesAt)).toEqual(['2027-03-22T08:00:00.000Z', '2027-03-29T07:00:00.000Z']);
    expect(preview.buckets.map((b) => b.members[0]?.messages)).toEqual([
      [expect.objectContaining({ channel: 'email', locale: 'de', subject: 'Wochenbericht für Jörg', text: 'Montag, 22. März 2027 um 09:00' })],
      [expect.objectContaining({ channel: 'email', locale: 'de', subject: 'Wochenbericht für Jörg', text: 'Montag, 29. März 2027 um 09:00' })],
    ]);
  });
});
