/**
 * Branded identifiers: a UserId cannot be passed where a ReminderId is expected.
 * Ids are opaque, URL-safe strings chosen by Chime (or by the tenant for users).
 */
declare const brand: unique symbol;
export type Brand<T, B extends string> = T & { readonly [brand]: B };

export type TenantId = Brand<string, 'TenantId'>;
export type UserId = Brand<string, 'UserId'>;
export type ReminderId = Brand<string, 'ReminderId'>;
export type ScheduleId = Brand<string, 'ScheduleId'>;

/** Tenant-chosen ids and Chime ids share one alphabet so they are safe in workflow ids and URLs. */
export const ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$';
const ID_RE = new RegExp(ID_PATTERN);

export function isValidId(value: string): boolean {
  return ID_RE.test(value);
}

function asId<T extends string>(value: string, what: string): T {
  if (!isValidId(value)) throw new TypeError(`${what} "${value}" is not a valid id (${ID_PATTERN})`);
  return value as T;
}

export const TenantId = (v: string): TenantId => asId<TenantId>(v, 'tenant id');
export const UserId = (v: string): UserId => asId<UserId>(v, 'user id');
export const ReminderId = (v: string): ReminderId => asId<ReminderId>(v, 'reminder id');
export const ScheduleId = (v: string): ScheduleId => asId<ScheduleId>(v, 'schedule id');
