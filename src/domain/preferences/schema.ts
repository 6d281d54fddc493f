/**
 * A user's delivery preferences: the schema is the single source of the type, of the OpenAPI
 * description and of the structural half of validation (the semantic half — real IANA zones,
 * BCP 47 tags, quiet windows that are not empty — is in `validate.ts`).
 *
 * Preferences are read when an occurrence is due, never copied into a reminder when it is
 * scheduled (DESIGN.md, "Send-time policy").
 */
import Type, { type Static } from 'typebox';
import { CHANNELS, type Channel } from '../delivery.js';

/** 24-hour local wall time, `HH:MM`, 00:00–23:59. */
export const HHMM_PATTERN = '^([01][0-9]|2[0-3]):[0-5][0-9]$';
/** E.164: a plus, a non-zero country-code digit, at most 15 digits in all. */
export const E164_PATTERN = '^\\+[1-9][0-9]{1,14}$';
/** Tenant-defined category names (`reminders`, `digest`, `marketing`); same alphabet as the reminder API. */
export const CATEGORY_PATTERN = '^[a-z0-9][a-z0-9_-]{0,63}$';

/** Weekday keys, ISO order (Temporal's `dayOfWeek` 1 = Monday … 7 = Sunday). */
export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const HHMM = Type.String({ pattern: HHMM_PATTERN, description: "Local wall time 'HH:MM' (24-hour)" });

export const QuietWindowSchema = Type.Object(
  {
    start: HHMM,
    end: Type.String({
      pattern: HHMM_PATTERN,
      description: 'Exclusive end. An end at or before the start means the window crosses midnight (22:00–07:00).',
    }),
  },
  { additionalProperties: false },
);
export type QuietWindow = Static<typeof QuietWindowSchema>;

const WindowOrNone = Type.Union([QuietWindowSchema, Type.Null()]);

export const QuietHoursSchema = Type.Object(
  {
    /** The window for every weekday that has no entry in `weekdays`; null: none. */
    default: WindowOrNone,
    /**
     * Per-weekday override. A window belongs to the weekday on which it *starts*: `fri: 23:00–08:00`
     * runs from Friday 23:00 to Saturday 08:00. null: no quiet hours starting that day.
     */
    weekdays: Type.Optional(
      Type.Object(
        Object.fromEntries(WEEKDAYS.map((d) => [d, Type.Optional(WindowOrNone)])) as Record<
          Weekday,
          Type.TOptional<typeof WindowOrNone>
        >,
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type QuietHours = Static<typeof QuietHoursSchema>;

/** The channel names as a schema; the assertion below fails to compile if `CHANNELS` grows. */
export const ChannelSchema = Type.Union([Type.Literal('email'), Type.Literal('sms')]);
type SameChannels = [Static<typeof ChannelSchema>] extends [Channel] ? ([Channel] extends [Static<typeof ChannelSchema>] ? true : never) : never;
const channelsInStep: SameChannels = true;
void channelsInStep;

export const EmailContactSchema = Type.Object(
  {
    address: Type.String({ format: 'email', maxLength: 254 }),
    verified: Type.Boolean(),
  },
  { additionalProperties: false },
);
export const SmsContactSchema = Type.Object(
  {
    number: Type.String({ pattern: E164_PATTERN, description: 'E.164, e.g. +33612345678' }),
    verified: Type.Boolean(),
  },
  { additionalProperties: false },
);

/** One key per channel; keep in step with `CHANNELS` (a type test in the suite checks it). */
export const ContactsSchema = Type.Object(
  { email: Type.Optional(EmailContactSchema), sms: Type.Optional(SmsContactSchema) },
  { additionalProperties: false },
);
export type Contacts = Static<typeof ContactsSchema>;

export const ChannelSwitchesSchema = Type.Object(
  Object.fromEntries(CHANNELS.map((c) => [c, Type.Boolean()])) as Record<Channel, Type.TBoolean>,
  { additionalProperties: false, description: 'Per-channel on/off' },
);
export type ChannelSwitches = Static<typeof ChannelSwitchesSchema>;

/** `'all'`: opted out of the category on every channel; a list: only on those channels. */
export const OptOutSchema = Type.Union([
  Type.Literal('all'),
  Type.Array(ChannelSchema, { minItems: 1, uniqueItems: true }),
]);
export type OptOut = Static<typeof OptOutSchema>;

export const PreferencesSchema = Type.Object(
  {
    timeZone: Type.String({ minLength: 1, maxLength: 64, description: 'IANA time zone, e.g. Europe/Paris' }),
    locale: Type.String({ minLength: 1, maxLength: 35, description: 'BCP 47 language tag, e.g. fr-FR' }),
    contacts: ContactsSchema,
    channels: ChannelSwitchesSchema,
    optOuts: Type.Record(Type.String(), OptOutSchema, {
      propertyNames: { pattern: CATEGORY_PATTERN },
      description: "Per-category opt-outs, e.g. { marketing: 'all', digest: ['sms'] }",
    }),
    quietHours: Type.Union([QuietHoursSchema, Type.Null()]),
  },
  { additionalProperties: false, $id: 'Preferences' },
);
export type Preferences = Static<typeof PreferencesSchema>;
