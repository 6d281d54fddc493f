/**
 * Cursor pagination over (timestamp, id), newest first. The cursor is opaque (base64url JSON) and
 * names the list it belongs to. Keyset pagination is stable under concurrent inserts: rows created
 * while a client walks the pages sort before its cursor, so a walk never repeats or skips a row
 * that existed when it started. Timestamps are `timestamptz(3)`, so a JS Date holds them exactly.
 */
import { sql, type RawBuilder, type SqlBool } from 'kysely';
import { StorageError, StorageErrorType } from './errors.js';

export interface PageRequest {
  /** Clamped to 1…MAX_PAGE_SIZE. */
  limit: number;
  cursor?: string | undefined;
}

export interface Page<T> {
  items: T[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

export const MAX_PAGE_SIZE = 100;

export interface CursorPosition {
  at: Date;
  id: string;
}

export function clampLimit(limit: number): number {
  if (!Number.isFinite(limit)) return MAX_PAGE_SIZE;
  return Math.min(MAX_PAGE_SIZE, Math.max(1, Math.trunc(limit)));
}

export function encodeCursor(list: string, position: CursorPosition): string {
  return Buffer.from(JSON.stringify([list, position.at.toISOString(), position.id])).toString('base64url');
}

export function decodeCursor(list: string, cursor: string): CursorPosition {
  const invalid = () => new StorageError(StorageErrorType.InvalidCursor, `not a cursor of this ${list} list`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(parsed) || parsed.length !== 3 || parsed[0] !== list) throw invalid();
  const [, at, id] = parsed as unknown[];
  if (typeof at !== 'string' || typeof id !== 'string' || id === '') throw invalid();
  const date = new Date(at);
  if (Number.isNaN(date.getTime())) throw invalid();
  return { at: date, id };
}

/** `(timeColumn, idColumn) < (cursor.at, cursor.id)`: the rows after the cursor, newest first. */
export function afterCursor(timeColumn: string, idColumn: string, position: CursorPosition): RawBuilder<SqlBool> {
  return sql<SqlBool>`(${sql.ref(timeColumn)}, ${sql.ref(idColumn)}) < (${position.at}, ${position.id})`;
}

/**
 * Turns `limit + 1` fetched rows into a page: the extra row only says whether there is a next page.
 */
export function toPage<Row, Item>(
  list: string,
  rows: Row[],
  limit: number,
  position: (row: Row) => CursorPosition,
  map: (row: Row) => Item,
): Page<Item> {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  const last = kept[kept.length - 1];
  return {
    items: kept.map(map),
    nextCursor: more && last !== undefined ? encodeCursor(list, position(last)) : null,
  };
}
