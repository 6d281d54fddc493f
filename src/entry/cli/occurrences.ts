/**
 * `chime occurrences --ical "<lines>" [--after <RFC 3339 instant>] [--count N] [--json]`
 * (`--ical -` reads the lines from stdin). `--after` is exclusive; without it the series starts at
 * DTSTART. Invalid input: exit code 2 and one line on stderr.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { compileRecurrence, parseICal, RecurrenceError } from '../../domain/recurrence/index.js';

class UsageError extends Error {}

export async function occurrencesCommand(argv: string[]): Promise<number> {
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        ical: { type: 'string' },
        after: { type: 'string' },
        count: { type: 'string', default: '10' },
        json: { type: 'boolean', default: false },
      },
      strict: true,
    });
    if (values.ical === undefined) throw new UsageError('--ical is required (iCalendar lines, or - for stdin)');
    const text = values.ical === '-' ? readFileSync(0, 'utf8') : values.ical.replace(/\\n/g, '\n');
    const count = Number(values.count);
    if (!Number.isInteger(count) || count < 1 || count > 100_000) throw new UsageError('--count must be an integer from 1 to 100000');
    let after: number | undefined;
    if (values.after !== undefined) {
      after = Date.parse(values.after);
      if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(values.after) || Number.isNaN(after)) {
        throw new UsageError(`--after must be an RFC 3339 instant, got "${values.after}"`);
      }
    }
    const recurrence = compileRecurrence(parseICal(text));
    const occurrences = recurrence.take(count, after);
    if (values.json) {
      process.stdout.write(`${JSON.stringify(occurrences.map(({ utc, local, wall }) => ({ utc, local, wall })), null, 2)}\n`);
    } else {
      process.stdout.write(`${recurrence.describe()}\n`);
      for (const o of occurrences) process.stdout.write(`${o.local}  (${o.utc})\n`);
    }
    return 0;
  } catch (error) {
    if (error instanceof RecurrenceError || error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`chime: ${(error as Error).message.split('\n')[0]}\n`);
      return 2;
    }
    throw error;
  }
}
