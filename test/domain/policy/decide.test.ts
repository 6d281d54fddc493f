import { describe, expect, it } from 'vitest';
import {
  capLookups,
  decide,
  overallOutcome,
  recurrenceIdFor,
  resolvePolicy,
  type ChannelDecision,
} from '../../../src/domain/policy/index.js';
import { HOUR_MS, at, decideCase, input, only, prefs, type Case } from './fixtures.js';

type Row = [name: string, c: Case, expected: ChannelDecision];

const defer = (until: number, explanation: string): ChannelDecision => ({
  channel: 'email',
  action: 'defer',
  until,
  reason: 'quiet_hours',
  explanation,
});
const send: ChannelDecision = { channel: 'email', action: 'send', quietHoursBypassed: false, explanation: 'email: send now' };

describe('quiet hours crossing midnight (22:00–07:00 Europe/Paris)', () => {
  const rows: Row[] = [
    [
      'defers 23:30 to 07:00 the next morning',
      { now: at('2024-03-11T23:30[Europe/Paris]') },
      defer(at('2024-03-12T07:00[Europe/Paris]'), 'email deferred to 07:00 Europe/Paris on 2024-03-12 by quiet hours 22:00–07:00'),
    ],
    [
      'defers 00:30 (after midnight) to 07:00 the same morning',
      { now: at('2024-03-12T00:30[Europe/Paris]') },
      defer(at('2024-03-12T07:00[Europe/Paris]'), 'email deferred to 07:00 Europe/Paris on 2024-03-12 by quiet hours 22:00–07:00'),
    ],
    [
      'treats the start 22:00 as quiet (inclusive)',
      { now: at('2024-03-11T22:00[Europe/Paris]') },
      defer(at('2024-03-12T07:00[Europe/Paris]'), 'email deferred to 07:00 Europe/Paris on 2024-03-12 by quiet hours 22:00–07:00'),
    ],
    ['sends at 21:59, before the window', { now: at('2024-03-11T21:59[Europe/Paris]') }, send],
    ['sends at 07:00: the end is exclusive', { now: at('2024-03-12T07:00[Europe/Paris]') }, send],
  ];
  it.each(rows)('%s', (_name, c, expected) => expect(only(c)).toEqual(expected));

  it('defers within a same-day window (13:00–14:00) to its end', () => {
    const p = prefs({ quietHours: { default: { start: '13:00', end: '14:00' } } });
    expect(only({ now: at('2024-03-11T13:30[Europe/Paris]'), preferences: p })).toEqual(
      defer(at('2024-03-11T14:00[Europe/Paris]'), 'email deferred to 14:00 Europe/Paris on 2024-03-11 by quiet hours 13:00–14:00'),
    );
  });

  it('sends at any time when the user has no quiet hours', () => {
    expect(only({ now: at('2024-03-11T03:00[Europe/Paris]'), preferences: prefs({ quietHours: null }) })).toEqual(send);
  });
});

describe('per-weekday quiet windows (default 22:00–07:00, Friday 23:00–09:00, Saturday none)', () => {
  const p = prefs({
    quietHours: {
      default: { start: '22:00', end: '07:00' },
      weekdays: { fri: { start: '23:00', end: '09:00' }, sat: null },
    },
  });
  // 2024-03-15 is a Friday.
  const rows: Row[] = [
    ["sends Friday 22:30: Friday's own window starts at 23:00", { now: at('2024-03-15T22:30[Europe/Paris]'), preferences: p }, send],
    [
      "defers Saturday 08:00 to 09:00: Friday's window runs into Saturday morning",
      { now: at('2024-03-16T08:00[Europe/Paris]'), preferences: p },
      defer(at('2024-03-16T09:00[Europe/Paris]'), 'email deferred to 09:00 Europe/Paris on 2024-03-16 by quiet hours 23:00–09:00'),
    ],
    ['sends Saturday 23:00: no window starts on Saturday', { now: at('2024-03-16T23:00[Europe/Paris]'), preferences: p }, send],
    ['sends Sunday 02:00: the night after Saturday is not quiet', { now: at('2024-03-17T02:00[Europe/Paris]'), preferences: p }, send],
    [
      "defers Thursday 23:00 with Thursday's default window to Friday 07:00",
      { now: at('2024-03-14T23:00[Europe/Paris]'), preferences: p },
      defer(at('2024-03-15T07:00[Europe/Paris]'), 'email deferred to 07:00 Europe/Paris on 2024-03-15 by quiet hours 22:00–07:00'),
    ],
  ];
  it.each(rows)('%s', (_name, c, expected) => expect(only(c)).toEqual(expected));

  it("follows overlapping windows to the end of the last one (Monday 20:00–10:00, Tuesday 09:00–12:00)", () => {
    const chained = prefs({
      quietHours: { default: null, weekdays: { mon: { start: '20:00', end: '10:00' }, tue: { start: '09:00', end: '12:00' } } },
    });
    expect(only({ now: at('2024-03-11T21:00[Europe/Paris]'), preferences: chained })).toEqual(
      defer(at('2024-03-12T12:00[Europe/Paris]'), 'email deferred to 12:00 Europe/Paris on 2024-03-12 by quiet hours 20:00–10:00'),
    );
  });
});

describe('DST inside quiet hours', () => {
  const paris = (start: string, end: string) => prefs({ quietHours: { default: { start, end } } });
  const newYork = (start: string, end: string) =>
    prefs({ timeZone: 'America/New_York', quietHours: { default: { start, end } } });

  const rows: Row[] = [
    // Europe/Paris springs forward on 2024-03-31: 02:00 CET → 03:00 CEST.
    [
      'Paris gap: a window ending at 02:30 on the spring-forward night ends at 03:30 CEST (shifted by the gap)',
      { now: at('2024-03-31T01:30+01:00[Europe/Paris]'), preferences: paris('22:00', '02:30') },
      defer(at('2024-03-31T03:30+02:00[Europe/Paris]'), 'email deferred to 03:30 Europe/Paris on 2024-03-31 by quiet hours 22:00–02:30'),
    ],
    [
      'Paris gap: a window starting at 02:30 on the spring-forward night starts at 03:30 CEST, so 03:15 is not quiet',
      { now: at('2024-03-31T03:15+02:00[Europe/Paris]'), preferences: paris('02:30', '06:00') },
      send,
    ],
    [
      'Paris gap: the same window is quiet from 03:30 CEST',
      { now: at('2024-03-31T03:30+02:00[Europe/Paris]'), preferences: paris('02:30', '06:00') },
      defer(at('2024-03-31T06:00+02:00[Europe/Paris]'), 'email deferred to 06:00 Europe/Paris on 2024-03-31 by quiet hours 02:30–06:00'),
    ],
    [
      'Paris gap: a window 02:45–03:15 is empty on the spring-forward night (its shifted start 03:45 is after its end)',
      { now: at('2024-03-31T03:10+02:00[Europe/Paris]'), preferences: paris('02:45', '03:15') },
      send,
    ],
    [
      'Paris gap: the same window is quiet on an ordinary night',
      { now: at('2024-04-07T03:10+02:00[Europe/Paris]'), preferences: paris('02:45', '03:15') },
      defer(at('2024-04-07T03:15+02:00[Europe/Paris]'), 'email deferred to 03:15 Europe/Paris on 2024-04-07 by quiet hours 02:45–03:15'),
    ],
    // Europe/Paris falls back on 2024-10-27: 03:00 CEST → 02:00 CET; 02:00–03:00 happens twice.
    [
      'Paris fold: a window ending at 02:30 ends at the first 02:30 (CEST)',
      { now: at('2024-10-27T02:15+02:00[Europe/Paris]'), preferences: paris('22:00', '02:30') },
      defer(at('2024-10-27T02:30+02:00[Europe/Paris]'), 'email deferred to 02:30 Europe/Paris on 2024-10-27 by quiet hours 22:00–02:30'),
    ],
    [
      'Paris fold: the repeated 02:15 (CET) after that end is not quiet',
      { now: at('2024-10-27T02:15+01:00[Europe/Paris]'), preferences: paris('22:00', '02:30') },
      send,
    ],
    [
      'Paris fold: a window starting at 02:30 starts at the first 02:30 and lasts 4.5 h to 06:00 CET',
      { now: at('2024-10-27T02:45+02:00[Europe/Paris]'), preferences: paris('02:30', '06:00') },
      defer(at('2024-10-27T06:00+01:00[Europe/Paris]'), 'email deferred to 06:00 Europe/Paris on 2024-10-27 by quiet hours 02:30–06:00'),
    ],
    // America/New_York springs forward on 2024-03-10 (02:00 EST → 03:00 EDT), falls back on
    // 2024-11-03 (02:00 EDT → 01:00 EST).
    [
      'New York gap: a window 01:00–02:30 ends at 03:30 EDT on the spring-forward night',
      { now: at('2024-03-10T01:45-05:00[America/New_York]'), preferences: newYork('01:00', '02:30') },
      defer(at('2024-03-10T03:30-04:00[America/New_York]'), 'email deferred to 03:30 America/New_York on 2024-03-10 by quiet hours 01:00–02:30'),
    ],
    [
      'New York fold: a window 23:00–01:30 ends at the first 01:30 (EDT)',
      { now: at('2024-11-03T01:15-04:00[America/New_York]'), preferences: newYork('23:00', '01:30') },
      defer(at('2024-11-03T01:30-04:00[America/New_York]'), 'email deferred to 01:30 America/New_York on 2024-11-03 by quiet hours 23:00–01:30'),
    ],
    [
      'New York fold: the repeated 01:15 (EST) is not quiet',
      { now: at('2024-11-03T01:15-05:00[America/New_York]'), preferences: newYork('23:00', '01:30') },
      send,
    ],
  ];
  it.each(rows)('%s', (_name, c, expected) => expect(only(c)).toEqual(expected));

  it('Pacific/Apia skipped 2011-12-30: the window of Thursday 29th 22:00–07:00 ends at 07:00 on Saturday 31st', () => {
    const p = prefs({ timeZone: 'Pacific/Apia' });
    expect(only({ now: at('2011-12-31T03:00+14:00[Pacific/Apia]'), preferences: p })).toEqual(
      defer(at('2011-12-31T07:00+14:00[Pacific/Apia]'), 'email deferred to 07:00 Pacific/Apia on 2011-12-31 by quiet hours 22:00–07:00'),
    );
  });

  it('a 22:00–07:00 window lasts 8 h of real time on the spring-forward night and 10 h on the fall-back night', () => {
    const p = paris('22:00', '07:00');
    const spring = only({ now: at('2024-03-30T22:00[Europe/Paris]'), preferences: p });
    const autumn = only({ now: at('2024-10-26T22:00[Europe/Paris]'), preferences: p });
    expect(spring.action === 'defer' && spring.until - at('2024-03-30T22:00[Europe/Paris]')).toBe(8 * HOUR_MS);
    expect(autumn.action === 'defer' && autumn.until - at('2024-10-26T22:00[Europe/Paris]')).toBe(10 * HOUR_MS);
  });
});

describe('zone change between scheduling and send time', () => {
  it('evaluates quiet hours in the zone the user has at send time (moved Tokyo → New York)', () => {
    // Planned while the user lived in Tokyo: 12:00 JST. They now live in New York, where it is 23:00.
    const scheduledFor = at('2024-06-11T12:00[Asia/Tokyo]');
    const decision = decideCase({ now: scheduledFor, preferences: prefs({ timeZone: 'America/New_York' }) });
    expect(decision.timeZone).toBe('America/New_York');
    expect(decision.channels).toEqual([
      defer(at('2024-06-11T07:00[America/New_York]'), 'email deferred to 07:00 America/New_York on 2024-06-11 by quiet hours 22:00–07:00'),
    ]);
  });

  it('sends an occurrence that was quiet in the old zone once the user has moved (New York → Tokyo)', () => {
    const scheduledFor = at('2024-06-11T23:00[America/New_York]'); // 12:00 the next day in Tokyo
    expect(only({ now: scheduledFor, preferences: prefs({ timeZone: 'America/New_York' }) }).action).toBe('defer');
    expect(only({ now: scheduledFor, preferences: prefs({ timeZone: 'Asia/Tokyo' }) })).toEqual(send);
  });

  it('re-evaluates a deferred occurrence in the new zone when it wakes (moved Paris → New York during the night)', () => {
    const scheduledFor = at('2024-06-10T23:00[Europe/Paris]');
    const first = only({ now: scheduledFor });
    expect(first).toMatchObject({ action: 'defer', until: at('2024-06-11T07:00[Europe/Paris]') });
    // At 07:00 Paris it is 01:00 in New York: still quiet there, deferred to 07:00 New York.
    const woke = only({ now: at('2024-06-11T07:00[Europe/Paris]'), scheduledFor, preferences: prefs({ timeZone: 'America/New_York' }) });
    expect(woke).toEqual(
      defer(at('2024-06-11T07:00[America/New_York]'), 'email deferred to 07:00 America/New_York on 2024-06-11 by quiet hours 22:00–07:00'),
    );
  });

  it('identifies follow-user occurrences by wall time and pinned ones by instant', () => {
    const occurrence = { wall: '2024-06-11T09:00:00', utc: '2024-06-11T00:00:00Z' };
    expect(recurrenceIdFor('follow-user', occurrence)).toBe('2024-06-11T09:00:00');
    expect(recurrenceIdFor('pinned', occurrence)).toBe('2024-06-11T00:00:00Z');
  });
});

describe('frequency caps', () => {
  const noon = at('2024-03-11T12:00[Europe/Paris]');
  const capped = { frequencyCaps: { sms: { max: 3, windowMs: 24 * HOUR_MS } } };

  it('skips SMS when 3 of 3 SMS a day in the category were already sent, and still sends email', () => {
    const decision = decideCase({ now: noon, category: 'digest', channels: ['email', 'sms'], policy: capped, recentSends: { sms: 3, email: 9 } });
    expect(decision.channels).toEqual([
      send,
      {
        channel: 'sms',
        action: 'skip',
        reason: 'frequency_cap',
        explanation: 'SMS skipped: frequency cap of 3 per 1 d for category digest reached (3 sent)',
      },
    ]);
  });

  it('sends the third SMS of the day when 2 were sent', () => {
    expect(only({ now: noon, channels: ['sms'], policy: capped, recentSends: { sms: 2 } })).toMatchObject({ action: 'send' });
  });

  it('treats a missing count as zero sends', () => {
    expect(only({ now: noon, channels: ['sms'], policy: capped })).toMatchObject({ action: 'send' });
  });

  it('a cap of 0 never sends on that channel', () => {
    const none = { frequencyCaps: { sms: { max: 0, windowMs: HOUR_MS } } };
    expect(only({ now: noon, channels: ['sms'], policy: none })).toMatchObject({ action: 'skip', reason: 'frequency_cap' });
  });

  it('defers a capped channel during quiet hours: the cap is counted when it wakes', () => {
    const night = at('2024-03-11T23:00[Europe/Paris]');
    expect(only({ now: night, channels: ['sms'], policy: capped, recentSends: { sms: 3 } })).toMatchObject({ action: 'defer' });
  });

  it('asks the caller for counts only on capped channels, over each cap window before now', () => {
    expect(capLookups(resolvePolicy(capped), ['email', 'sms', 'sms'], noon)).toEqual([{ channel: 'sms', since: noon - 24 * HOUR_MS }]);
  });
});

describe('expiry', () => {
  const threeHours = { expireAfterMs: 3 * HOUR_MS };

  it('skips an occurrence decided 4 h after its scheduled time with a 3 h expiry', () => {
    const scheduledFor = at('2024-03-11T12:00[Europe/Paris]');
    expect(only({ scheduledFor, now: scheduledFor + 4 * HOUR_MS, policy: threeHours })).toEqual({
      channel: 'email',
      action: 'skip',
      reason: 'expired',
      explanation: 'email skipped: 4 h after its scheduled time, beyond the 3 h expiry',
    });
  });

  it('still sends exactly at the expiry', () => {
    const scheduledFor = at('2024-03-11T12:00[Europe/Paris]');
    expect(only({ scheduledFor, now: scheduledFor + 3 * HOUR_MS, policy: threeHours })).toEqual(send);
  });

  it('skips at once instead of deferring when quiet hours end beyond the expiry (23:00 → 07:00 is 8 h)', () => {
    const scheduledFor = at('2024-03-11T23:00[Europe/Paris]');
    expect(only({ now: scheduledFor, policy: threeHours })).toEqual({
      channel: 'email',
      action: 'skip',
      reason: 'expired',
      explanation:
        'email skipped: quiet hours 22:00–07:00 Europe/Paris end at 07:00 Europe/Paris on 2024-03-12, 8 h after its scheduled time, beyond the 3 h expiry',
    });
  });

  it('defers when quiet hours end within the expiry', () => {
    const scheduledFor = at('2024-03-12T05:30[Europe/Paris]');
    expect(only({ now: scheduledFor, policy: threeHours })).toMatchObject({ action: 'defer', until: at('2024-03-12T07:00[Europe/Paris]') });
  });
});

describe('collapse', () => {
  it('skips an occurrence when a later one of the same reminder is already due', () => {
    expect(only({ now: at('2024-03-12T07:00[Europe/Paris]'), pendingNewer: true })).toEqual({
      channel: 'email',
      action: 'skip',
      reason: 'collapsed',
      explanation: 'email skipped: a later occurrence of this reminder is already due; the backlog collapses to it',
    });
  });

  it('sends every occurrence of a backlog when collapse is off', () => {
    expect(only({ now: at('2024-03-12T07:00[Europe/Paris]'), pendingNewer: true, policy: { collapse: false } })).toEqual(send);
  });

  it('an hourly reminder deferred through the night sends only its 06:00 occurrence at 07:00', () => {
    const hours = ['2024-03-11T22:00', '2024-03-11T23:00', '2024-03-12T00:00', '2024-03-12T03:00', '2024-03-12T06:00'];
    const scheduled = hours.map((h) => at(`${h}[Europe/Paris]`));
    const wake = at('2024-03-12T07:00[Europe/Paris]');
    for (const scheduledFor of scheduled) expect(only({ now: scheduledFor })).toMatchObject({ action: 'defer', until: wake });
    const atWake = scheduled.map((scheduledFor, i) =>
      only({ scheduledFor, now: wake, pendingNewer: i < scheduled.length - 1 }).action,
    );
    expect(atWake).toEqual(['skip', 'skip', 'skip', 'skip', 'send']);
  });
});

describe('bypass, skip and opt-outs', () => {
  const night = at('2024-03-11T23:30[Europe/Paris]');

  it('bypass sends during quiet hours and says so', () => {
    expect(only({ now: night, policy: { quietHours: 'bypass' } })).toEqual({
      channel: 'email',
      action: 'send',
      quietHoursBypassed: true,
      explanation: 'email: send now, bypassing quiet hours 22:00–07:00 Europe/Paris (critical)',
    });
  });

  it('bypass does not override an opt-out of the category', () => {
    const p = prefs({ optOuts: { alerts: 'all' } });
    expect(only({ now: night, category: 'alerts', preferences: p, policy: { quietHours: 'bypass' } })).toMatchObject({
      action: 'skip',
      reason: 'opted_out_category',
    });
  });

  it('bypass does not override a channel the user turned off', () => {
    const p = prefs({ channels: { email: false, sms: true } });
    expect(only({ now: night, preferences: p, policy: { quietHours: 'bypass' } })).toEqual({
      channel: 'email',
      action: 'skip',
      reason: 'channel_disabled',
      explanation: "email skipped: email is turned off in the user's preferences",
    });
  });

  it('skip drops the occurrence during quiet hours', () => {
    expect(only({ now: night, policy: { quietHours: 'skip' } })).toEqual({
      channel: 'email',
      action: 'skip',
      reason: 'quiet_hours',
      explanation: 'email skipped: quiet hours 22:00–07:00 Europe/Paris (policy: skip during quiet hours)',
    });
  });

  it('an SMS-only opt-out of digest skips SMS and sends email', () => {
    const p = prefs({ optOuts: { digest: ['sms'] } });
    const decision = decideCase({ now: at('2024-03-11T12:00[Europe/Paris]'), category: 'digest', channels: ['email', 'sms'], preferences: p });
    expect(decision.channels).toEqual([
      send,
      { channel: 'sms', action: 'skip', reason: 'opted_out_category', explanation: 'SMS skipped: opted out of category digest' },
    ]);
  });

  it('an opt-out of another category does not apply', () => {
    const p = prefs({ optOuts: { marketing: 'all' } });
    expect(only({ now: at('2024-03-11T12:00[Europe/Paris]'), category: 'digest', preferences: p })).toEqual(send);
  });
});

describe('contact points', () => {
  const noon = at('2024-03-11T12:00[Europe/Paris]');

  it('skips SMS to an unverified number', () => {
    const p = prefs({ contacts: { sms: { number: '+33612345678', verified: false } } });
    expect(only({ now: noon, channels: ['sms'], preferences: p })).toEqual({
      channel: 'sms',
      action: 'skip',
      reason: 'contact_unverified',
      explanation: 'SMS skipped: the SMS number is not verified',
    });
  });

  it('skips email when the user has no email address', () => {
    const p = prefs({ contacts: { sms: { number: '+33612345678', verified: true } } });
    expect(only({ now: noon, channels: ['email'], preferences: p })).toEqual({
      channel: 'email',
      action: 'skip',
      reason: 'no_contact_point',
      explanation: 'email skipped: no email address on file',
    });
  });

  it('decides each requested channel once, in the requested order', () => {
    const decision = decideCase({ now: noon, channels: ['sms', 'email', 'sms'] });
    expect(decision.channels.map((c) => c.channel)).toEqual(['sms', 'email']);
  });
});

describe('overallOutcome', () => {
  const noon = at('2024-03-11T12:00[Europe/Paris]');

  it('is sent when any channel is sent, listing the sent channels', () => {
    const p = prefs({ optOuts: { digest: ['sms'] } });
    expect(overallOutcome(decideCase({ now: noon, category: 'digest', channels: ['email', 'sms'], preferences: p }))).toEqual({
      outcome: 'sent',
      channels: ['email'],
      explanation: 'email: send now; SMS skipped: opted out of category digest',
    });
  });

  it('is deferred until the earliest defer target when channels wait for quiet hours', () => {
    const outcome = overallOutcome(decideCase({ now: at('2024-03-11T23:30[Europe/Paris]'), channels: ['email', 'sms'] }));
    expect(outcome).toMatchObject({ outcome: 'deferred', until: at('2024-03-12T07:00[Europe/Paris]') });
  });

  it('is skipped with every distinct reason when no channel goes out', () => {
    const p = prefs({ optOuts: { digest: 'all' }, channels: { email: true, sms: false } });
    expect(overallOutcome(decideCase({ now: noon, category: 'digest', channels: ['email', 'sms'], preferences: p }))).toMatchObject({
      outcome: 'skipped',
      reasons: ['opted_out_category', 'channel_disabled'],
    });
  });

  it('is skipped with no_channel when no channel was requested', () => {
    expect(overallOutcome(decideCase({ now: noon, channels: [] }))).toEqual({
      outcome: 'skipped',
      reasons: ['no_channel'],
      explanation: 'skipped: no channel requested',
    });
  });
});

describe('the decision is plain data', () => {
  it('survives a JSON round trip unchanged (it is recorded in history and the ledger)', () => {
    const decision = decide(input({ now: at('2024-03-11T23:30[Europe/Paris]'), channels: ['email', 'sms'] }));
    expect(JSON.parse(JSON.stringify(decision))).toEqual(decision);
  });
});

describe('send-by bound of a send (the delivery window)', () => {
  const noQuiet = prefs({ quietHours: null });
  const sendOf = (c: Case & { deliveryWindowMs?: number }) => {
    const verdict = decide({ ...input({ ...c, preferences: noQuiet }), ...(c.deliveryWindowMs !== undefined ? { deliveryWindowMs: c.deliveryWindowMs } : {}) }).channels[0];
    expect(verdict?.action).toBe('send');
    return verdict as Extract<ChannelDecision, { action: 'send' }>;
  };
  const now = at('2024-03-11T09:00[Europe/Paris]');

  it('gives a send the delivery window from now', () => {
    expect(sendOf({ now, deliveryWindowMs: 15 * 60_000 }).sendBy).toBe(now + 15 * 60_000);
  });

  it('cuts the window at the expiry when that comes first', () => {
    const scheduledFor = now - 50 * 60_000; // an hour's expiry leaves ten minutes
    expect(sendOf({ now, scheduledFor, deliveryWindowMs: 15 * 60_000, policy: { expireAfterMs: HOUR_MS } }).sendBy).toBe(scheduledFor + HOUR_MS);
  });

  it('sets no bound when no window is given (previews)', () => {
    expect(sendOf({ now })).not.toHaveProperty('sendBy');
  });
});
