/** `npx chime occurrences`, as people and scripts run it: spawned, exit codes, JSON on stdout. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../../bin/chime.js', import.meta.url));

function chime(args: string[], input?: string) {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', input, env: { ...process.env, TZ: 'Asia/Kolkata' } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('chime occurrences', () => {
  it('prints the DST-shifted 02:30 of the spring-forward day as 03:30 local, in order, as JSON', () => {
    const { code, stdout } = chime([
      'occurrences',
      '--ical',
      'DTSTART;TZID=America/New_York:20250308T023000\nRRULE:FREQ=DAILY;COUNT=3',
      '--json',
    ]);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual([
      { utc: '2025-03-08T07:30:00Z', local: '2025-03-08T02:30:00-05:00', wall: '2025-03-08T02:30:00' },
      { utc: '2025-03-09T07:30:00Z', local: '2025-03-09T03:30:00-04:00', wall: '2025-03-09T02:30:00' },
      { utc: '2025-03-10T06:30:00Z', local: '2025-03-10T02:30:00-04:00', wall: '2025-03-10T02:30:00' },
    ]);
  });

  it('reads the lines from stdin with --ical - and starts strictly after --after', () => {
    const { code, stdout } = chime(
      ['occurrences', '--ical', '-', '--after', '2026-12-07T08:00:00Z', '--count', '2', '--json'],
      'DTSTART;TZID=Europe/Paris:20261123T090000\nRRULE:FREQ=WEEKLY;BYDAY=MO\n',
    );
    expect(code).toBe(0);
    expect(JSON.parse(stdout).map((o: { local: string }) => o.local)).toEqual(['2026-12-14T09:00:00+01:00', '2026-12-21T09:00:00+01:00']);
  });

  it('exits 2 with one line naming the problem for invalid input', () => {
    for (const ical of ['DTSTART;TZID=Mars/Olympus:20250309T023000', 'DTSTART:20250309T023000Z\nRRULE:FREQ=DAILY;BYHOUR=24']) {
      const { code, stdout, stderr } = chime(['occurrences', '--ical', ical]);
      expect(code).toBe(2);
      expect(stdout).toBe('');
      expect(stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(chime(['occurrences', '--ical', 'DTSTART:20250309T023000Z', '--after', 'yesterday']).code).toBe(2);
  });
});

describe('chime preview', () => {
  it('explains each change: deferred to 07:00 by quiet hours, SMS skipped by an opt-out, then sent', () => {
    const preferences = {
      contacts: { email: { address: 'a@example.com', verified: true }, sms: { number: '+33612345678', verified: true } },
      optOuts: { digest: ['sms'] },
      quietHours: { default: { start: '22:00', end: '07:00' } },
    };
    const { code, stdout } = chime([
      'preview',
      '--ical',
      'DTSTART;TZID=Europe/Paris:20300107T063000\nRRULE:FREQ=DAILY;COUNT=1',
      '--after',
      '2030-01-01T00:00:00Z',
      '--channels',
      'email,sms',
      '--category',
      'digest',
      '--preferences',
      JSON.stringify(preferences),
      '--json',
    ]);
    expect(code).toBe(0);
    const [item] = JSON.parse(stdout);
    expect(item.outcome).toBe('deferred');
    expect(item.explanation).toMatch(/deferred to 07:00 Europe\/Paris .* by quiet hours/);
    expect(item.explanation).toMatch(/SMS skipped: opted out of category digest/);
    expect(item.afterDeferral).toMatchObject({ at: '2030-01-07T06:00:00.000Z', outcome: 'sent' });
  });

  it('layers the category policy under the reminder policy: the category skips in quiet hours, the reminder may defer', () => {
    const args = [
      'preview',
      '--ical',
      'DTSTART;TZID=Europe/Paris:20300107T063000\nRRULE:FREQ=DAILY;COUNT=1',
      '--after',
      '2030-01-01T00:00:00Z',
      '--preferences',
      JSON.stringify({ contacts: { email: { address: 'a@example.com', verified: true } }, quietHours: { default: { start: '22:00', end: '07:00' } } }),
      '--category-policy',
      '{"quietHours":"skip"}',
      '--json',
    ];
    const skipped = chime(args);
    expect(skipped.code).toBe(0);
    expect(JSON.parse(skipped.stdout)[0]).toMatchObject({ outcome: 'skipped', explanation: expect.stringMatching(/quiet hours/) });
    const deferred = chime([...args, '--policy', '{"quietHours":"defer"}']);
    expect(JSON.parse(deferred.stdout)[0]).toMatchObject({ outcome: 'deferred' });
  });

  it('shows the message each channel would carry, rendered with an inline template in the recipient locale; a bad template exits 2 naming the field', () => {
    const template = {
      defaultLocale: 'en',
      locales: { en: { sms: { text: '{{ reminder.title }} {{ occurrence.time }}' } }, de: { sms: { text: '{{ reminder.title }} um {{ occurrence.time }} ({{ occurrence.weekday }})' } } },
    };
    const args = ['preview', '--ical', 'DTSTART;TZID=Europe/Berlin:20300107T090000\nRRULE:FREQ=DAILY;COUNT=1', '--after', '2030-01-01T00:00:00Z', '--channels', 'sms'];
    const prefs = JSON.stringify({ locale: 'de-AT', contacts: { sms: { number: '+43612345678', verified: true } } });
    const { code, stdout } = chime([...args, '--preferences', prefs, '--title', 'Stand-up', '--template', JSON.stringify(template)]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/sms \[de\]: Stand-up um 09:00 \(Montag\)/);
    const bad = chime([...args, '--title', 'x', '--template', JSON.stringify({ ...template, defaultLocale: 'fr' })]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--template: defaultLocale: "fr" is not one of the template's locales/);
  });
});
