/** Helpers shared by the embedded local sinks (email .eml files, SMS .json files). */

/** A file name for a key: keys are `dk_<hex>`; anything outside [A-Za-z0-9_-] is percent-encoded. */
export function sinkFileName(idempotencyKey: string, extension: string): string {
  const safe = idempotencyKey.replace(/[^A-Za-z0-9_-]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return `${safe}.${extension}`;
}
