/**
 * Audience schedules as code, through the API:
 *
 *   npx chime schedules apply -f digest.yaml [--dry-run] [--api <url>] [--key <token>]
 *   npx chime schedules preview <id> [--count <n>] [--user <id>] [--api <url>] [--key <token>]
 *
 * A file (YAML or JSON) holds one schedule with its `id`, or `schedules: [...]`; the fields are the
 * API's (`PUT /v1/schedules/{id}`). `apply` validates the whole file first (an invalid file fails
 * with the line and the field, and nothing is applied), prints what would change, and — unless
 * `--dry-run` — puts each schedule, which is idempotent: applying the same file twice changes nothing.
 * The API defaults to CHIME_API_URL (else the local one) and the key to CHIME_API_KEY (else the
 * embedded stack's `data/admin-api-key`). Exit codes: 0 ok, 1 the API refused or failed, 2 invalid
 * file or usage.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import Type from 'typebox';
import Value from 'typebox/value';
import { LineCounter, parseDocument } from 'yaml';
import { PutScheduleBody } from '../../api/schemas/schedules.js';
import { ChimeApiError, type PutSchedule, type Schedule } from '../../client/index.js';
import { cliClient, CliUsageError } from './api-client.js';
import { ID_PATTERN } from '../../domain/ids.js';
import { normalizeRecurrence, parseICal } from '../../domain/recurrence/index.js';

const FileSchedule = Type.Object({ id: Type.String({ pattern: ID_PATTERN, maxLength: 128 }), ...PutScheduleBody.properties }, { additionalProperties: false });
type FileSchedule = PutSchedule & { id: string };

/** A file or a usage the command cannot take: one line on stderr, exit 2. */
class InvalidFile extends CliUsageError {}

/** The schedules of a file, validated; an error names the file, the line and the field. */
export function parseScheduleFile(text: string, name: string): FileSchedule[] {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const at = (offset: number | undefined) => (offset === undefined ? '' : `:${lines.linePos(offset).line}`);
  const [syntax] = doc.errors;
  if (syntax) throw new InvalidFile(`${name}${at(syntax.pos[0])}: ${syntax.message.split('\n')[0]}`);
  const value: unknown = doc.toJS();
  const list = value && typeof value === 'object' && 'schedules' in value ? (value as { schedules: unknown }).schedules : [value];
  const prefix = list === value || !(value && typeof value === 'object' && 'schedules' in value) ? [] : ['schedules'];
  if (!Array.isArray(list)) throw new InvalidFile(`${name}: \`schedules\` must be a list`);
  return list.map((item, index) => {
    const base = prefix.length > 0 ? [...prefix, index] : [];
    // The deepest error is the most specific; an unknown field shows as `schema is false` at its path.
    const [error] = Value.Errors(FileSchedule, item).sort((a, b) => b.instancePath.split('/').length - a.instancePath.split('/').length);
    if (error) {
      const segments = error.instancePath.split('/').filter(Boolean).map((s) => (/^\d+$/.test(s) ? Number(s) : s));
      const unknown = error.schemaPath.endsWith('/additionalProperties');
      const node = doc.getIn([...base, ...segments], true) as { range?: [number, number, number] } | undefined;
      const key = unknown ? findKey(doc.getIn(base.length > 0 ? [...base, ...segments.slice(0, -1)] : segments.slice(0, -1), false), segments.at(-1)) : undefined;
      const field = segments.join('.') || '(the schedule)';
      throw new InvalidFile(`${name}${at((key ?? node)?.range?.[0])}: ${field}: ${unknown ? 'is not a known field' : error.message}`);
    }
    return item as FileSchedule;
  });
}

/** The key node of `key` in a YAML map node (its line is where an unknown field was written). */
function findKey(map: unknown, key: string | number | undefined): { range?: [number, number, number] } | undefined {
  const items = (map as { items?: Array<{ key?: { value?: unknown; range?: [number, number, number] } }> } | undefined)?.items;
  return items?.find((pair) => pair.key?.value === key)?.key;
}

/** The fields the file sets that differ from the schedule as the API has it (the rule compared once normalized). */
function changedFields(wanted: FileSchedule, current: Schedule): string[] {
  const rule = wanted.recurrence ? normalizeRecurrence(wanted.recurrence) : parseICal(wanted.ical ?? '');
  const defaults = { zoneMode: 'recipient-local', channels: ['email'], category: 'digest', smoothingMs: 0 };
  const fields: string[] = [];
  if (JSON.stringify(rule) !== JSON.stringify(current.recurrence)) fields.push('recurrence');
  for (const key of ['name', 'zoneMode', 'audience', 'content', 'channels', 'category', 'policy', 'startsAt', 'endsAt', 'smoothingMs'] as const) {
    const want = wanted[key] ?? defaults[key as keyof typeof defaults];
    const have = key === 'startsAt' || key === 'endsAt' ? current[key] && new Date(current[key]).toISOString() : current[key];
    const norm = key === 'startsAt' || key === 'endsAt' ? want && new Date(want as string).toISOString() : want;
    if (JSON.stringify(norm) !== JSON.stringify(have)) fields.push(key);
  }
  return fields;
}

async function apply(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { file: { type: 'string', short: 'f' }, 'dry-run': { type: 'boolean' }, api: { type: 'string' }, key: { type: 'string' } } });
  if (!values.file) throw new InvalidFile('usage: chime schedules apply -f <file.yaml|json> [--dry-run] [--api <url>] [--key <token>]');
  const schedules = parseScheduleFile(await readFile(values.file, 'utf8'), values.file);
  const api = await cliClient(values);
  const dryRun = values['dry-run'] ?? false;
  for (const { id, ...body } of schedules) {
    const current = await api.schedules.get(id).catch((error: unknown) => {
      if (error instanceof ChimeApiError && error.status === 404) return undefined;
      throw error;
    });
    const changes = current ? changedFields({ id, ...body }, current) : [];
    const line = !current ? `+ ${id}: ${body.name} (${dryRun ? 'would be created' : 'created'})` : changes.length === 0 ? `= ${id}: unchanged` : `~ ${id}: ${changes.join(', ')}${dryRun ? ' (would change)' : ''}`;
    if (!dryRun && (!current || changes.length > 0)) await api.schedules.put(id, body);
    process.stdout.write(`${line}\n`);
  }
  return 0;
}

async function preview(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { count: { type: 'string' }, user: { type: 'string' }, api: { type: 'string' }, key: { type: 'string' } },
  });
  const [id] = positionals;
  if (!id) throw new InvalidFile('usage: chime schedules preview <id> [--count <n>] [--user <id>] [--api <url>] [--key <token>]');
  const view = await (await cliClient(values)).schedules.preview(id, values.count ? Number(values.count) : 5, values.user);
  process.stdout.write(`${view.description}\n\naudience: ${view.zones.reduce((n, z) => n + z.recipients, 0)} recipients in ${view.zones.length} zones\n`);
  for (const bucket of view.buckets) {
    for (const m of bucket.members) {
      process.stdout.write(`${bucket.firesAt}  ${m.zone.padEnd(24)} ${m.local}  ${String(m.recipients).padStart(7)} recipients\n`);
      for (const message of m.messages ?? []) {
        const said = message.channel === 'email' ? `${message.subject} — ${message.text.split('\n')[0]}` : message.text;
        process.stdout.write(`${' '.repeat(26)}${values.user} ${message.channel}${message.locale ? ` [${message.locale}]` : ''}: ${said}\n`);
      }
    }
  }
  return 0;
}

export async function schedulesCommand(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  try {
    if (action === 'apply') return await apply(rest);
    if (action === 'preview') return await preview(rest);
    throw new InvalidFile('usage: chime schedules <apply|preview> …');
  } catch (error) {
    if (error instanceof CliUsageError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    if (error instanceof ChimeApiError) {
      const fields = error.errors.map((e) => `${e.field}: ${e.reason}`).join('; ');
      process.stderr.write(`${error.message}${fields ? ` (${fields})` : ''}\n`);
      return error.status >= 400 && error.status < 500 && error.status !== 409 ? 2 : 1;
    }
    throw error;
  }
}
