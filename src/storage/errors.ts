/**
 * Storage errors carry an explicit, stable `type` string; callers branch on it, never on class
 * names or message text. Driver errors (pg and PGlite both report SQLSTATE codes) are mapped here,
 * in one place.
 */
export const StorageErrorType = {
  /** The row does not exist (or is not visible to this tenant). */
  NotFound: 'not_found',
  /** An optimistic-concurrency check failed: someone else changed the row since it was read. */
  VersionConflict: 'version_conflict',
  /** A unique constraint refused the write. */
  UniqueViolation: 'unique_violation',
  /** A referenced row does not exist, or a row is still referenced. */
  ForeignKeyViolation: 'foreign_key_violation',
  /** A CHECK or NOT NULL constraint refused the data. */
  CheckViolation: 'check_violation',
  /** The data could not be stored as given (bad format, out of range, too long). */
  InvalidData: 'invalid_data',
  /** A pagination cursor that this store did not issue (or issued for another list). */
  InvalidCursor: 'invalid_cursor',
  /** The write raced another transaction (serialization failure, deadlock); retrying may work. */
  TransactionConflict: 'transaction_conflict',
  /** The database could not be reached, timed out, or is shutting down; retrying may work. */
  Unavailable: 'unavailable',
  /** The embedded database directory is in use by another process. */
  DatabaseLocked: 'database_locked',
  /** A schema migration failed (the schema is left as it was before that migration). */
  MigrationFailed: 'migration_failed',
} as const;
export type StorageErrorType = (typeof StorageErrorType)[keyof typeof StorageErrorType];

/** Error types for which retrying the same operation later may succeed. */
export const TRANSIENT_STORAGE_ERRORS: readonly StorageErrorType[] = [
  StorageErrorType.TransactionConflict,
  StorageErrorType.Unavailable,
];

export class StorageError extends Error {
  constructor(
    readonly type: StorageErrorType,
    message: string,
    readonly details: { constraint?: string; table?: string; column?: string; sqlState?: string; cause?: unknown } = {},
  ) {
    super(message, { cause: details.cause });
    this.name = 'StorageError';
  }

  get transient(): boolean {
    return TRANSIENT_STORAGE_ERRORS.includes(this.type);
  }
}

export function isStorageError(error: unknown, type?: StorageErrorType): error is StorageError {
  return error instanceof StorageError && (type === undefined || error.type === type);
}

interface DriverError {
  code?: unknown;
  constraint?: unknown;
  table?: unknown;
  column?: unknown;
  detail?: unknown;
  message?: unknown;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Maps a driver error to a StorageError by its SQLSTATE; anything unrecognised is returned as is. */
export function toStorageError(error: unknown): unknown {
  if (error instanceof StorageError || typeof error !== 'object' || error === null) return error;
  const e = error as DriverError;
  const rawCode = str(e.code);
  const code = rawCode !== undefined && /^[0-9A-Z]{5}$/.test(rawCode) ? rawCode : undefined;
  const details = {
    constraint: str(e.constraint),
    table: str(e.table),
    column: str(e.column),
    sqlState: code,
    cause: error,
  };
  const clean = Object.fromEntries(Object.entries(details).filter(([, v]) => v !== undefined)) as StorageError['details'];
  const what = [str(e.message), str(e.detail)].filter(Boolean).join(': ');
  if (code === undefined) {
    // Node socket errors from pg (ECONNREFUSED, ETIMEDOUT…), pool timeouts, dropped connections.
    const message = str(e.message) ?? '';
    if ((rawCode !== undefined && /^E[A-Z]+$/.test(rawCode)) || /timeout|terminated|connection/i.test(message)) {
      return new StorageError(StorageErrorType.Unavailable, `database unavailable: ${message || rawCode}`, { cause: error });
    }
    return error;
  }
  if (code === '23505') return new StorageError(StorageErrorType.UniqueViolation, what, clean);
  // 23503 foreign_key_violation; 23001 restrict_violation (deleting a row that ON DELETE RESTRICT protects).
  if (code === '23503' || code === '23001') return new StorageError(StorageErrorType.ForeignKeyViolation, what, clean);
  if (code === '23514' || code === '23502') return new StorageError(StorageErrorType.CheckViolation, what, clean);
  if (code === '40001' || code === '40P01') return new StorageError(StorageErrorType.TransactionConflict, what, clean);
  // Class 22 = data exception (invalid text representation, out of range, string too long, bad JSON…).
  if (code.startsWith('22')) return new StorageError(StorageErrorType.InvalidData, what, clean);
  // Class 08 = connection exception, 57 = operator intervention (statement timeout, shutdown), 53 = resources.
  if (code.startsWith('08') || code.startsWith('57') || code.startsWith('53')) {
    return new StorageError(StorageErrorType.Unavailable, what, clean);
  }
  return error;
}

/** Runs a storage operation and maps driver errors to typed StorageErrors. */
export async function guard<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw toStorageError(error);
  }
}
