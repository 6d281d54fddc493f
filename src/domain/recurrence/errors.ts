/** Invalid recurrence input: `part` names the property or rule part (e.g. 'BYMONTHDAY'), `reason` says why. */
export class RecurrenceError extends Error {
  readonly type = 'recurrence_invalid';
  constructor(
    readonly part: string,
    readonly reason: string,
  ) {
    super(`${part}: ${reason}`);
    this.name = 'RecurrenceError';
  }

  /** The field of the structured input (`RecurrenceInput`) at fault: rule parts all live in `rrule`. */
  get field(): 'dtstart' | 'tzid' | 'rdate' | 'exdate' | 'rrule' | 'ical' {
    const fields = { DTSTART: 'dtstart', TZID: 'tzid', RDATE: 'rdate', EXDATE: 'exdate', ical: 'ical' } as const;
    return fields[this.part as keyof typeof fields] ?? 'rrule';
  }
}
