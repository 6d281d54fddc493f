/**
 * libical's recurrence test data, run against Chime's engine when `../shared/vectors/` is present
 * (skipped cleanly otherwise; the data is read in place, never copied into the project).
 *
 * Data: libical (github.com/libical/libical, src/test/icalrecur_test.txt, commit d31d57c),
 * dual-licensed LGPL-2.1 / MPL-2.0. The cases carry no zones: they test the wall-clock engine,
 * which we run with TZID=UTC. Like libical's own driver, every case is re-run from START-AT when it
 * has one, and with DTSTART moved to its n-th instance (COUNT reduced by n).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compileRecurrence, type Occurrence } from '../../../src/domain/recurrence/index.js';

/** `../shared/vectors/` next to the checkout, or wherever CHIME_VECTORS_DIR points. */
const FILE = process.env.CHIME_VECTORS_DIR
  ? `${process.env.CHIME_VECTORS_DIR}/libical-icalrecur_test.txt`
  : fileURLToPath(new URL('../../../../shared/vectors/libical-icalrecur_test.txt', import.meta.url));

interface Vector {
  title: string;
  rrule: string;
  dtstart: string;
  startAt?: string;
  instances: string[];
}

/**
 * Cases where Chime knowingly differs, with the reason. Both are rules whose DTSTART the rule
 * does not match, which RFC 5545 leaves undefined.
 */
const DIFFERENCES: Record<string, string> = {
  'FREQ=DAILY;BYMINUTE=1,2,3,4;INTERVAL=2;COUNT=3':
    'libical ignores time BYxxx parts for an all-day DATE DTSTART; Chime has no all-day recurrences (a DATE DTSTART is midnight)',
  'FREQ=YEARLY;BYWEEKNO=53;INTERVAL=6;BYDAY=TH;COUNT=1':
    'unsynchronised DTSTART (a Sunday, for Thursdays) in week 53 of the previous week-year: Chime counts INTERVAL from the week-year DTSTART belongs to, as libical itself does when DTSTART is synchronised',
  'FREQ=YEARLY;BYWEEKNO=53;INTERVAL=5;BYDAY=TH;COUNT=1': 'as above',
};

function parse(text: string): Vector[] {
  return text
    .split(/\n\s*\n/)
    .map((block) => {
      const fields = new Map<string, string>();
      const comments: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('#')) comments.push(line.slice(1).trim());
        else if (line.includes(':')) fields.set(line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim());
      }
      const instances = fields.get('INSTANCES') ?? '';
      return {
        title: comments.join(' ') || (fields.get('RRULE') ?? ''),
        rrule: fields.get('RRULE') ?? '',
        dtstart: fields.get('DTSTART') ?? '',
        ...(fields.has('START-AT') ? { startAt: fields.get('START-AT') as string } : {}),
        instances: instances.includes('UNIMPLEMENTED') ? ['UNIMPLEMENTED'] : instances.split(',').filter(Boolean).map((s) => s.replace(/Z$/, '')),
      };
    })
    .filter((v) => v.rrule && v.instances[0] !== 'UNIMPLEMENTED');
}

/** 'YYYYMMDD[THHMMSS]' → 'YYYY-MM-DDTHH:mm:ss' */
const iso = (v: string) => `${v.slice(0, 4)}-${v.slice(4, 6)}-${v.slice(6, 8)}T${v.slice(9, 11) || '00'}:${v.slice(11, 13) || '00'}:${v.slice(13, 15) || '00'}`;
const epochMs = (v: string) => Date.parse(`${iso(v)}Z`);

const vectors = existsSync(FILE) ? parse(readFileSync(FILE, 'utf8')) : [];

describe.skipIf(vectors.length === 0)('libical recurrence vectors', () => {
  it('has the cases to run', () => {
    expect(vectors.length).toBeGreaterThan(100);
  });

  for (const v of vectors.filter((x) => !DIFFERENCES[x.rrule])) {
    it(`${v.title}: ${v.rrule}`, () => {
      const dateOnly = v.dtstart.length === 8;
      const format = (o: Occurrence) => (dateOnly ? o.wall.slice(0, 10) : o.wall).replace(/[-:]/g, '');
      const rule = compileRecurrence({ dtstart: iso(v.dtstart.replace(/Z$/, '')), tzid: 'UTC', rrule: v.rrule });
      const bounded = /COUNT|UNTIL/.test(v.rrule);
      const got = rule.take(v.instances.length + (bounded ? 1 : 0)).map(format);
      expect(got).toEqual(v.instances);

      if (v.startAt) {
        const after = epochMs(v.startAt) - 1;
        const rest = v.instances.filter((i) => epochMs(i) > after);
        expect(rule.take(rest.length + (bounded ? 1 : 0), after).map(format)).toEqual(rest);
      }

      // Metamorphic: DTSTART moved to the n-th instance gives the rest of the series.
      const count = /COUNT=(\d+)/.exec(v.rrule);
      for (const n of [1, Math.floor(v.instances.length / 2)]) {
        const from = v.instances[n];
        if (!from || n === 0) continue;
        const rrule = count ? v.rrule.replace(/COUNT=\d+/, `COUNT=${Number(count[1]) - n}`) : v.rrule;
        const moved = compileRecurrence({ dtstart: iso(from), tzid: 'UTC', rrule });
        expect(moved.take(v.instances.length - n + (bounded ? 1 : 0)).map(format)).toEqual(v.instances.slice(n));
      }
    });
  }
});
