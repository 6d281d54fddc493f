/**
 * Who an audience schedule goes to: an explicit list of user ids, or a filter over what the tenant
 * knows of its users (tags it sets through the API, locale, zone, category opt-in). Resolved when
 * an occurrence fires, never when the schedule is saved: a user added on Sunday gets Monday's digest.
 */
import Type, { type Static } from 'typebox';
import { ID_PATTERN } from '../ids.js';

export const TAG_PATTERN = '^[a-z0-9][a-z0-9_:.-]{0,63}$';
const Tag = Type.String({ pattern: TAG_PATTERN, description: 'A tag the tenant set on users, e.g. plan:pro' });
const Tags = Type.Array(Tag, { minItems: 1, maxItems: 50, uniqueItems: true });

export const AudienceFilterSchema = Type.Object(
  {
    tags: Type.Optional(
      Type.Object(
        {
          all: Type.Optional({ ...Tags, description: 'users carrying every one of these tags' }),
          any: Type.Optional({ ...Tags, description: 'users carrying at least one of these tags' }),
          none: Type.Optional({ ...Tags, description: 'users carrying none of these tags' }),
        },
        { additionalProperties: false },
      ),
    ),
    locales: Type.Optional(
      Type.Array(Type.String({ minLength: 2, maxLength: 35 }), {
        minItems: 1,
        maxItems: 50,
        uniqueItems: true,
        description: "BCP 47 tags; 'fr' also matches 'fr-CA'",
      }),
    ),
    timeZones: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 500, uniqueItems: true })),
    optedIn: Type.Optional(
      Type.Boolean({ description: "true: leave out users opted out of the schedule's category on every channel" }),
    ),
  },
  { additionalProperties: false, description: 'Every condition given must hold; {} is the whole tenant' },
);
export type AudienceFilter = Static<typeof AudienceFilterSchema>;

export const AudienceSchema = Type.Union(
  [
    Type.Object(
      { users: Type.Array(Type.String({ pattern: ID_PATTERN, maxLength: 128 }), { minItems: 1, maxItems: 10_000, uniqueItems: true }) },
      { additionalProperties: false },
    ),
    Type.Object({ filter: AudienceFilterSchema }, { additionalProperties: false }),
  ],
  { $id: 'Audience', description: 'An explicit list of user ids, or a filter resolved at fire time' },
);
export type Audience = Static<typeof AudienceSchema>;
