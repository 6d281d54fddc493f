/**
 * `chime occurrences --ical "<lines>" [--after <RFC 3339 instant>] [--count N] [--json]
 *   [--horizon-years Y] [--max-iterations N]`
 * (`--ical -` reads the lines from stdin). `--after` is exclusive; without it the series starts at
 * DTSTART. The last two bound the search (defaults 200 years, 1,000,000 candidates). Invalid input:
 * exit code 2 and one line on stderr.
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
        'horizon-years': { type: 'string' },
        'max-iterations': { type: 'string' },
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
    const limit = (flag: 'horizon-years' | 'max-iterations') => {
      const raw = values[flag];
      if (raw === undefined) return undefined;
      if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new UsageError(`--${flag} must be a positive integer`);
      return Number(raw);
    };
    const horizonYears = limit('horizon-years');
    const maxIterations = limit('max-iterations');
    const recurrence = compileRecurrence(parseICal(text), {
      ...(horizonYears !== undefined ? { horizonYears } : {}),
      ...(maxIterations !== undefined ? { maxIterations } : {}),
    });
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
