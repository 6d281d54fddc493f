/**
 * An audience, resolved at fire time: the distinct zones of its users, and its users of one zone
 * page by page (keyset on the user id, so a page re-read after a crash is the same page and a user
 * added meanwhile is not skipped). Filters run in SQL over `users` (tags: GIN; zones: an expression
 * index on the stored zone).
 */
import { sql, type Expression, type ExpressionBuilder, type Kysely, type SqlBool } from 'kysely';
import type { TenantId, UserId } from '../domain/ids.js';
import type { Audience } from '../domain/schedules/index.js';
import type { AttributeValue } from '../domain/templates/index.js';
import { guard } from './errors.js';
import type { Database, UserPreferences } from './schema.js';

/** Recipients of one zone (`null`: those with no stored zone), or all of them. */
export type RecipientGroup = { zone: string | null } | 'all';

export interface AudienceMember {
  id: UserId;
  preferences: UserPreferences;
  tags: string[];
  attributes: Record<string, AttributeValue>;
}

export interface AudienceQuery {
  tenantId: TenantId;
  audience: Audience;
  /** The schedule's category (for `optedIn`). */
  category: string;
}

const zoneOf = sql<string | null>`preferences->>'timeZone'`;

function matches(eb: ExpressionBuilder<Database, 'users'>, { tenantId, audience, category }: AudienceQuery, group: RecipientGroup): Expression<SqlBool> {
  const conditions: Expression<SqlBool>[] = [eb('tenant_id', '=', tenantId)];
  if (group !== 'all') conditions.push(group.zone === null ? sql<SqlBool>`${zoneOf} IS NULL` : sql<SqlBool>`${zoneOf} = ${group.zone}`);
  if ('users' in audience) {
    conditions.push(eb('id', 'in', audience.users as UserId[]));
  } else {
    const { tags, locales, timeZones, optedIn } = audience.filter;
    if (tags?.all) conditions.push(sql<SqlBool>`tags @> ${tags.all}::text[]`);
    if (tags?.any) conditions.push(sql<SqlBool>`tags && ${tags.any}::text[]`);
    if (tags?.none) conditions.push(sql<SqlBool>`NOT (tags && ${tags.none}::text[])`);
    if (locales) {
      const wanted = locales.map((l) => l.toLowerCase());
      const locale = sql<string>`lower(coalesce(preferences->>'locale', 'en'))`;
      conditions.push(sql<SqlBool>`(${locale} = ANY(${wanted}::text[]) OR split_part(${locale}, '-', 1) = ANY(${wanted}::text[]))`);
    }
    if (timeZones) conditions.push(sql<SqlBool>`${zoneOf} = ANY(${timeZones}::text[])`);
    if (optedIn) conditions.push(sql<SqlBool>`coalesce(preferences->'optOuts'->>${category}, '') <> 'all'`);
  }
  return eb.and(conditions);
}

export function createAudienceStore(db: Kysely<Database>) {
  return {
    /** The distinct stored zones of the audience's users; `null` when some have none. */
    zones: (query: AudienceQuery): Promise<Array<string | null>> =>
      guard(async () => {
        const rows = await db
          .selectFrom('users')
          .select(zoneOf.as('zone'))
          .distinct()
          .where((eb) => matches(eb, query, 'all'))
          .execute();
        return rows.map((r) => r.zone);
      }),

    /** How many users of the audience per stored zone (`null`: no zone). */
    countByZone: (query: AudienceQuery): Promise<Map<string | null, number>> =>
      guard(async () => {
        const rows = await db
          .selectFrom('users')
          .select([zoneOf.as('zone'), sql<number>`count(*)::int`.as('n')])
          .where((eb) => matches(eb, query, 'all'))
          .groupBy(zoneOf)
          .execute();
        return new Map(rows.map((r) => [r.zone, r.n]));
      }),

    count: (query: AudienceQuery, group: RecipientGroup): Promise<number> =>
      guard(async () => {
        const row = await db
          .selectFrom('users')
          .select(sql<number>`count(*)::int`.as('n'))
          .where((eb) => matches(eb, query, group))
          .executeTakeFirstOrThrow();
        return row.n;
      }),

    /** The next `limit` users of the group after `afterUserId`, by id. */
    page: (query: AudienceQuery, group: RecipientGroup, page: { afterUserId?: string; limit: number }): Promise<AudienceMember[]> =>
      guard(async () => {
        let q = db
          .selectFrom('users')
          .select(['id', 'preferences', 'tags', 'attributes'])
          .where((eb) => matches(eb, query, group));
        if (page.afterUserId !== undefined) q = q.where('id', '>', page.afterUserId as UserId);
        const rows = await q.orderBy('id').limit(page.limit).execute();
        return rows.map((r) => ({ id: r.id, preferences: r.preferences, tags: r.tags, attributes: r.attributes ?? {} }));
      }),
  };
}
export type AudienceStore = ReturnType<typeof createAudienceStore>;
