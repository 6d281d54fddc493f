import Type from 'typebox';
import { ID_PATTERN } from '../../domain/ids.js';
import { PreferencesSchema } from '../../domain/preferences/index.js';

export const UserParams = Type.Object({ userId: Type.String({ pattern: ID_PATTERN, maxLength: 128 }) });

/** Omitted fields take their defaults (no quiet hours, both channels on, no opt-outs); `contacts` omitted keep the stored ones. */
export const PreferencesInput = Type.Object(
  { ...Type.Partial(PreferencesSchema).properties, timeZone: PreferencesSchema.properties.timeZone },
  { additionalProperties: false, description: "A user's preferences; `timeZone` is required, omitted fields take their defaults" },
);

/** Validated after merging into the stored document (the merged result must be valid preferences). */
export const PreferencesMergePatch = Type.Record(Type.String(), Type.Unknown(), {
  propertyNames: { enum: Object.keys(PreferencesSchema.properties) },
  description: 'An RFC 7396 merge patch of the preferences, e.g. { "quietHours": null } or { "contacts": { "sms": { "number": "+33612345678", "verified": true } } }',
});

export const UserView = Type.Object(
  {
    id: Type.String(),
    preferences: PreferencesSchema,
    version: Type.Integer({ description: 'Send it back as If-Match to update without losing a concurrent change' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'User' },
);

export const IfMatchHeaders = Type.Object({
  'if-match': Type.Optional(Type.String({ pattern: '^"?[0-9]+"?$', description: 'The version read before the change' })),
});

/** Tenant-set attributes templates read (`recipient.attributes.<key>`; `name` is also `recipient.name`). */
export const UserAttributesBody = Type.Object(
  {
    // propertyNames, not a pattern key: a pattern-keyed Record becomes patternProperties, which lets other keys through.
    attributes: Type.Record(Type.String(), Type.Union([Type.String({ maxLength: 1_000 }), Type.Number(), Type.Boolean()]), {
      propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]{0,63}$' },
      maxProperties: 50,
      description: "Replaces them all; e.g. { name: 'Amélie', team: 'payments' }",
    }),
  },
  { additionalProperties: false },
);
export const UserAttributesView = Type.Object({
  id: Type.String(),
  attributes: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()])),
});
