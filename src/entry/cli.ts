/**
 * `chime <command>`: occurrences (expand a recurrence), preview (occurrences with the send-time
 * policy applied), keys (API keys), schedules (audience schedules as code: apply, preview). Exit codes: 0 ok,
 * 1 failure, 2 invalid input or usage.
 */
import { keysCommand } from './cli/keys.js';
import { occurrencesCommand } from './cli/occurrences.js';
import { previewCommand } from './cli/preview.js';
import { schedulesCommand } from './cli/schedules.js';

const commands: Record<string, (argv: string[]) => Promise<number>> = {
  occurrences: occurrencesCommand,
  preview: previewCommand,
  keys: keysCommand,
  schedules: schedulesCommand,
};

const [name, ...argv] = process.argv.slice(2);
const command = name ? commands[name] : undefined;
if (!command) {
  process.stderr.write(`usage: chime <${Object.keys(commands).join('|')}> …\n`);
  process.exitCode = 2;
} else {
  process.exitCode = await command(argv);
}
