/**
 * Wall-clock time ↔ instants in an IANA zone, fast. The zone's offset transitions are read once
 * (per zone, per ~13-month slice of time, cached for the process) through the Temporal API; after
 * that a lookup is a short scan of plain numbers, about a thousand times cheaper than building a
 * ZonedDateTime per occurrence.
 *
 * Resolution follows RFC 5545 §3.3.5 exactly as `Temporal.PlainDateTime#toZonedDateTime(tz,
 * { disambiguation: 'compatible' })` does: in a fold the earlier instant; in a gap the wall time
 * moved forward by the gap's length.
 */
import { Temporal } from 'temporal-polyfill';
import { RecurrenceError } from './errors.js';

/** Slice length in seconds (2^25 s ≈ 388 days): one or two DST transitions per slice. */
const SLICE = 2 ** 25;
const DAY = 86_400;

interface Slice {
  /** Offset (seconds) at the slice's first instant. */
  base: number;
  /** Transition instants (epoch seconds) inside the slice, ascending, and the offset from each on. */
  at: number[];
  offsets: number[];
}

export interface Resolved {
  epochSeconds: number;
  /** UTC offset in effect at the instant, in seconds. */
  offset: number;
  /** Seconds the wall time was moved forward because it fell in a gap (0 almost always). */
  shifted: number;
}

export class Zone {
  private readonly slices = new Map<number, Slice>();

  private constructor(readonly id: string) {}

  private static readonly known = new Map<string, Zone>();

  /** The zone for an IANA name; 'UTC' is allowed, numeric offsets are not (they have no DST rules to follow). */
  static of(tzid: string): Zone {
    let zone = Zone.known.get(tzid);
    if (zone) return zone;
    if (/^[+-]\d/.test(tzid)) throw new RecurrenceError('TZID', `"${tzid}" is an offset; use an IANA zone name such as Europe/Paris`);
    try {
      Temporal.Instant.fromEpochMilliseconds(0).toZonedDateTimeISO(tzid);
    } catch {
      throw new RecurrenceError('TZID', `unknown time zone "${tzid}"`);
    }
    zone = new Zone(tzid);
    Zone.known.set(tzid, zone);
    return zone;
  }

  private slice(index: number): Slice {
    let slice = this.slices.get(index);
    if (slice) return slice;
    const start = index * SLICE;
    const end = start + SLICE;
    let zdt = Temporal.Instant.fromEpochMilliseconds(start * 1000).toZonedDateTimeISO(this.id);
    slice = { base: zdt.offsetNanoseconds / 1e9, at: [], offsets: [] };
    for (;;) {
      const next = zdt.getTimeZoneTransition('next');
      if (!next || next.epochMilliseconds / 1000 >= end) break;
      slice.at.push(next.epochMilliseconds / 1000);
      slice.offsets.push(next.offsetNanoseconds / 1e9);
      zdt = next;
    }
    this.slices.set(index, slice);
    return slice;
  }

  /** UTC offset in seconds at an instant. */
  offsetAt(epochSeconds: number): number {
    const slice = this.slice(Math.floor(epochSeconds / SLICE));
    let offset = slice.base;
    for (let i = 0; i < slice.at.length && (slice.at[i] as number) <= epochSeconds; i++) offset = slice.offsets[i] as number;
    return offset;
  }

  /** Wall-clock seconds at an instant. */
  wallAt(epochSeconds: number): number {
    return epochSeconds + this.offsetAt(epochSeconds);
  }

  /** The instant of a wall-clock time, §3.3.5 ('compatible') in gaps and folds. */
  resolve(wall: number): Resolved {
    const before = this.offsetAt(wall - DAY);
    const after = this.offsetAt(wall + DAY);
    if (before === after) {
      // No transition within a day either side (almost always), unless two cancel out: check.
      if (this.offsetAt(wall - before) === before) return { epochSeconds: wall - before, offset: before, shifted: 0 };
    }
    // A fold has both offsets valid: the earlier instant is the one with the larger offset.
    const valid = [before, after].filter((o) => this.offsetAt(wall - o) === o).sort((a, b) => b - a);
    const offset = valid[0];
    if (offset !== undefined) return { epochSeconds: wall - offset, offset, shifted: 0 };
    // A gap: keep the offset from before the transition, which lands the gap's length later on the clock.
    const epochSeconds = wall - before;
    return { epochSeconds, offset: this.offsetAt(epochSeconds), shifted: after - before };
  }
}
