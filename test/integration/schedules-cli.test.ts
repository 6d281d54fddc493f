/**
 * `npx chime schedules apply` and `preview` as a product team runs them: spawned, against the API
 * of a running stack, with a schedule file kept in their own repository.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../support/stack.js';

const BIN = fileURLToPath(new URL('../../bin/chime.js', import.meta.url));

let stack: TestStack;
let dir: string;
beforeAll(async () => {
  stack = await startTestStack();
  dir = await mkdtemp(path.join(os.tmpdir(), 'chime-schedules-'));
});
afterAll(async () => {
  await stack?.close();
});

/** Runs the CLI without blocking this process: the API it talks to is served from here. */
function chime(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args, '--api', stack.url, '--key', stack.adminKey], { encoding: 'utf8' }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const digest = (title: string) => `# The weekly digest, kept in the product team's repository.
id: weekly-digest
name: Weekly digest
recurrence:
  dtstart: "2026-11-23T09:00:00"
  tzid: Europe/Paris
  rrule: FREQ=WEEKLY;BYDAY=MO
audience:
  filter:
    tags:
      all: [digest]
content:
  title: ${title}
  body: Everything that happened this week.
`;

describe('chime schedules', () => {
  it('prints a dry-run diff, applies idempotently, and changes only what the file changes', async () => {
    const file = path.join(dir, 'digest.yaml');
    await writeFile(file, digest('Your week'));

    const dry = await chime(['schedules', 'apply', '-f', file, '--dry-run']);
    expect(dry).toMatchObject({ code: 0, stdout: '+ weekly-digest: Weekly digest (would be created)\n' });
    await expect(stack.api.schedules.get('weekly-digest')).rejects.toMatchObject({ status: 404 });

    expect(await chime(['schedules', 'apply', '-f', file])).toMatchObject({ code: 0, stdout: '+ weekly-digest: Weekly digest (created)\n' });
    expect(await chime(['schedules', 'apply', '-f', file])).toMatchObject({ code: 0, stdout: '= weekly-digest: unchanged\n' });

    await writeFile(file, digest('Your week at Acme'));
    expect(await chime(['schedules', 'apply', '-f', file, '--dry-run'])).toMatchObject({ code: 0, stdout: '~ weekly-digest: content (would change)\n' });
    expect(await chime(['schedules', 'apply', '-f', file])).toMatchObject({ code: 0, stdout: '~ weekly-digest: content\n' });
    expect((await stack.api.schedules.get('weekly-digest')).content.title).toBe('Your week at Acme');
  });

  it('refuses an invalid file with its line and field, applying nothing', async () => {
    const file = path.join(dir, 'broken.yaml');
    await writeFile(file, digest('Broken').replace('id: weekly-digest', 'id: broken-digest').replace('all: [digest]', 'all: [Not A Tag]'));
    const result = await chime(['schedules', 'apply', '-f', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^.*broken\.yaml:11: audience\.filter\.tags\.all\.0: /);
    await expect(stack.api.schedules.get('broken-digest')).rejects.toMatchObject({ status: 404 });

    await writeFile(file, `${digest('Broken').replace('id: weekly-digest', 'id: broken-digest')}colour: blue\n`);
    const unknown = await chime(['schedules', 'apply', '-f', file]);
    expect(unknown).toMatchObject({ code: 2 });
    expect(unknown.stderr).toMatch(/broken\.yaml:15: colour: is not a known field/);
  });

  it('previews the next buckets per zone with their audience counts', async () => {
    for (const [id, zone] of [['pa', 'Asia/Tokyo'], ['pb', 'America/New_York'], ['pc', 'America/New_York']] as const) {
      await stack.api.users.putPreferences(id, { timeZone: zone, contacts: { email: { address: `${id}@example.com`, verified: true } } });
      await stack.api.users.setTags(id, ['digest']);
    }
    const result = await chime(['schedules', 'preview', 'weekly-digest', '--count', '2']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/every Monday at 09:00, in each recipient's time zone/);
    expect(result.stdout).toMatch(/audience: 3 recipients in 2 zones/);
    expect(result.stdout).toMatch(/T00:00:00.000Z {2}Asia\/Tokyo +\S+T09:00:00\+09:00 +1 recipients/);
    expect(result.stdout).toMatch(/T14:00:00.000Z {2}America\/New_York +\S+T09:00:00-05:00 +2 recipients/);
  });
});
