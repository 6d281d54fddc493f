/** Helpers shared by the embedded local sinks (email .eml files, SMS .json files). */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** A file name for a key: keys are `dk_<hex>`; anything outside [A-Za-z0-9_-] is percent-encoded. */
export function sinkFileName(idempotencyKey: string, extension: string): string {
  const safe = idempotencyKey.replace(/[^A-Za-z0-9_-]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return `${safe}.${extension}`;
}

/**
 * Writes files into a sink's directory, creating it on the first write — and again if it was removed
 * since — rather than on every message: a burst of sends costs one mkdir, not one each.
 * Returns the written file's path.
 */
export function sinkWriter(dir: string): (name: string, data: string | Uint8Array) => Promise<string> {
  let ready: Promise<unknown> | undefined;
  const ensureDir = () =>
    (ready ??= mkdir(dir, { recursive: true }).catch((error: unknown) => {
      ready = undefined;
      throw error;
    }));
  return async (name, data) => {
    const file = path.join(dir, name);
    await ensureDir();
    try {
      await writeFile(file, data);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      ready = undefined;
      await ensureDir();
      await writeFile(file, data);
    }
    return file;
  };
}
