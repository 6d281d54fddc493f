/**
 * Reminder resource schemas: they validate requests, type the handlers and feed the OpenAPI
 * document. One source of truth.
 */
import Type, { type Static } from 'typebox';
import { ID_PATTERN } from '../../domain/ids.js';
import { CHANNELS } from '../../domain/delivery.js';
import { PolicyOverridesSchema } from '../../domain/policy/index.js';
import { CATEGORY_PATTERN } from '../../domain/preferences/index.js';
import { MessageContentSchema, TemplateRefSchema } from '../../domain/templates/index.js';

const Id = Type.String({ pattern: ID_PATTERN, maxLength: 128 });
const Category = Type.String({ pattern: CATEGORY_PATTERN, description: 'Tenant-defined category, e.g. reminders, digest' });
const ZoneMode = Type.Union([Type.Literal('pinned'), Type.Literal('follow-user')], {
  description: "pinned: the rule's own tzid; follow-user: the user's current zone (09:00 stays 09:00 local when they move)",
});
const Channels = Type.Array(Type.Union([Type.Literal('email'), Type.Literal('sms')]), {
  minItems: 1,
  uniqueItems: true,
  description: `Channels, in order: ${CHANNELS.join(', ')}`,
});
const Content = MessageContentSchema;

export const RecurrenceSchema = Type.Object(
  {
    dtstart: Type.String({
      description: "Wall-clock start 'YYYY-MM-DDTHH:mm:ss' in `tzid`, or a UTC instant ending in 'Z'",
      minLength: 1,
      maxLength: 40,
    }),
    tzid: Type.String({ description: 'IANA time zone, e.g. Europe/Paris', minLength: 1, maxLength: 64 }),
    rrule: Type.Optional(Type.String({ description: "RFC 5545 rule parts, e.g. 'FREQ=WEEKLY;BYDAY=MO'", maxLength: 1_000 })),
    rdate: Type.Optional(Type.Array(Type.String({ maxLength: 40 }), { maxItems: 1_000 })),
    exdate: Type.Optional(Type.Array(Type.String({ maxLength: 40 }), { maxItems: 1_000 })),
  },
  { additionalProperties: false },
);

/** A rule is given one way: `recurrence` (JSON fields) or `ical` (lines), never both, never neither. */
export const ONE_RULE = { oneOf: [{ required: ['recurrence'] }, { required: ['ical'] }] };

export const CreateReminderBody = Type.Object(
  {
    userId: Id,
    email: Type.String({ format: 'email', maxLength: 254, description: "The user's email contact point" }),
    title: Type.String({ minLength: 1, maxLength: 200 }),
    body: Type.String({ maxLength: 10_000 }),
    template: Type.Optional(TemplateRefSchema),
    channels: Type.Optional(Channels),
    category: Type.Optional(Category),
    zoneMode: Type.Optional(ZoneMode),
    policy: Type.Optional(PolicyOverridesSchema),
    recurrence: Type.Optional(RecurrenceSchema),
    ical: Type.Optional(
      Type.String({ description: 'iCalendar DTSTART/RRULE/RDATE/EXDATE lines, instead of `recurrence`', maxLength: 20_000 }),
    ),
  },
  { additionalProperties: false, ...ONE_RULE },
);
export type CreateReminderBody = Static<typeof CreateReminderBody>;

export const OccurrenceView = Type.Object({
  utc: Type.String({ format: 'date-time' }),
  local: Type.String(),
});

const Status = Type.Union(
  [Type.Literal('active'), Type.Literal('paused'), Type.Literal('blocked'), Type.Literal('completed'), Type.Literal('cancelled')],
  { description: 'blocked: the workflow cannot plan (see statusReason); it plans again after an edit or a preference change' },
);

export const ReminderView = Type.Object(
  {
    id: Id,
    userId: Id,
    status: Status,
    statusReason: Type.Optional(Type.String({ description: 'Why a blocked reminder cannot plan' })),
    title: Type.String(),
    template: Type.Optional(TemplateRefSchema),
    description: Type.String({ description: 'Human description of the recurrence' }),
    recurrence: RecurrenceSchema,
    timeZone: Type.String({ description: "The zone the rule is expanded in now: its own (pinned) or the user's current one (follow-user)" }),
    channels: Type.Array(Type.String()),
    category: Type.String(),
    upcoming: Type.Array(OccurrenceView),
    next: Type.Optional(
      Type.Object(
        { utc: Type.String({ format: 'date-time' }), local: Type.String(), dueAt: Type.String({ format: 'date-time' }) },
        { description: 'What the workflow waits for now; dueAt moves with a snooze or a deferral (live reads only)' },
      ),
    ),
    state: Type.Union([Type.Literal('live'), Type.Literal('stored')], {
      description: 'live: read from the running workflow; stored: from the database (the workflow has ended, is gone, or did not answer in time)',
    }),
    workflowId: Type.String(),
    createdAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'Reminder' },
);
export type ReminderView = Static<typeof ReminderView>;

export const ReminderParams = Type.Object({ reminderId: Id });

export const EditReminderBody = Type.Object(
  {
    recurrence: Type.Optional(RecurrenceSchema),
    zoneMode: Type.Optional(ZoneMode),
    content: Type.Optional(Content),
    channels: Type.Optional(Channels),
    category: Type.Optional(Category),
    policy: Type.Optional(PolicyOverridesSchema),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const SnoozeBody = Type.Object(
  { until: Type.String({ format: 'date-time', description: 'When to send the pending occurrence instead' }) },
  { additionalProperties: false },
);

export const DecisionsQuery = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 50, default: 20 })) });
export const DecisionList = Type.Object({ data: Type.Array(Type.Unknown()) });

export const ReminderListQuery = Type.Object(
  {
    userId: Type.Optional(Id),
    status: Type.Optional(Status),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    cursor: Type.Optional(Type.String({ maxLength: 512, description: 'nextCursor of the previous page' })),
  },
  { additionalProperties: false },
);

export const ReminderList = Type.Object({
  data: Type.Array(ReminderView),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'null on the last page' }),
});

const ChannelDecisionView = Type.Object({
  channel: Type.String(),
  action: Type.Union([Type.Literal('send'), Type.Literal('defer'), Type.Literal('skip')]),
  explanation: Type.String(),
  until: Type.Optional(Type.Number({ description: 'defer: epoch ms' })),
  reason: Type.Optional(Type.String()),
  quietHoursBypassed: Type.Optional(Type.Boolean()),
});
const Outcome = Type.Union([Type.Literal('sent'), Type.Literal('deferred'), Type.Literal('skipped')]);

export const PreviewMessageView = Type.Object({
  channel: Type.String(),
  subject: Type.String({ description: 'Email only (empty for SMS)' }),
  text: Type.String(),
  html: Type.Optional(Type.String()),
  locale: Type.Optional(Type.String({ description: 'The template variant used' })),
  fallback: Type.Optional(
    Type.Object({ reason: Type.String(), variable: Type.Optional(Type.String()), error: Type.Optional(Type.String()) }, { description: 'Why the message is not exactly the template (missing_value, render_failed)' }),
  ),
});

/** A UTC offset as Temporal writes it: '-05:00', '+05:45' (seconds only for historical local mean time). */
const UtcOffset = Type.String({ pattern: '^[+-][0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]+)?)?$', description: "UTC offset, e.g. '-05:00'" });

export const PreviewTimelineView = Type.Object(
  {
    from: Type.String({ format: 'date-time', description: 'Start of the span (inclusive): the start of the first occurrence\'s local day in `timeZone`' }),
    to: Type.String({
      format: 'date-time',
      description: 'End of the span (exclusive): the start of the local day after the last occurrence or deferral, at most 366 days after `from`',
    }),
    timeZone: Type.String({ description: "The zone of the days, offsets and quiet hours: the user's current one (the rule's without a user)" }),
    offsetAtFrom: UtcOffset,
    dstTransitions: Type.Array(
      Type.Object({
        at: Type.String({ format: 'date-time', description: 'When the offset changes' }),
        offsetBefore: UtcOffset,
        offsetAfter: UtcOffset,
      }),
      { description: 'Offset changes (DST starting or ending) strictly inside the span, in order; with `offsetAtFrom`, the offset at any instant of the span' },
    ),
    quietWindows: Type.Array(
      Type.Object({
        start: Type.String({ format: 'date-time', description: 'Inclusive' }),
        end: Type.String({ format: 'date-time', description: 'Exclusive' }),
      }),
      { description: "The user's quiet hours as instants inside the span, in order, disjoint (the windows the send-time decision defers by)" },
    ),
  },
  { description: 'What the zone and the quiet hours do over the previewed span, so a client can draw it without tz data of its own' },
);

export const PreviewView = Type.Object(
  {
    description: Type.String(),
    timeZone: Type.String({ description: "The zone quiet hours are evaluated in (the user's current zone)" }),
    occurrences: Type.Array(
      Type.Object({
        utc: Type.String(),
        local: Type.String(),
        outcome: Outcome,
        explanation: Type.String(),
        channels: Type.Array(ChannelDecisionView),
        afterDeferral: Type.Optional(
          Type.Object({ at: Type.String(), outcome: Outcome, explanation: Type.String(), channels: Type.Array(ChannelDecisionView) }),
        ),
        messages: Type.Optional(Type.Array(PreviewMessageView, { description: 'Per channel, rendered at the instant it would be sent (after a deferral, then)' })),
      }),
    ),
    timeline: Type.Optional(PreviewTimelineView),
  },
  { $id: 'Preview' },
);

export const PreviewRuleBody = Type.Object(
  {
    userId: Type.Optional(Id),
    recurrence: Type.Optional(RecurrenceSchema),
    ical: Type.Optional(Type.String({ maxLength: 20_000 })),
    zoneMode: Type.Optional(ZoneMode),
    category: Type.Optional(Category),
    channels: Type.Optional(Channels),
    policy: Type.Optional(PolicyOverridesSchema),
    content: Type.Optional(Content),
    count: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 10 })),
    after: Type.Optional(Type.String({ format: 'date-time', description: 'Exclusive; default now' })),
  },
  { additionalProperties: false, ...ONE_RULE },
);

export const PreviewQuery = Type.Object({ count: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 10 })) });

export const DeliveryListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    cursor: Type.Optional(Type.String({ maxLength: 512 })),
  },
  { additionalProperties: false },
);

export const DeliveryList = Type.Object({
  data: Type.Array(
    Type.Object({
      idempotencyKey: Type.String(),
      channel: Type.String(),
      recurrenceId: Type.String(),
      occurrenceAt: Type.String({ format: 'date-time' }),
      status: Type.Union([Type.Literal('claimed'), Type.Literal('sent'), Type.Literal('failed'), Type.Literal('unknown')]),
      provider: Type.Optional(Type.String()),
      providerMessageId: Type.Optional(Type.String()),
      providerStatus: Type.Optional(Type.String()),
      attempts: Type.Integer(),
      lastError: Type.Optional(Type.Object({ type: Type.String(), message: Type.String() })),
      settledAt: Type.Optional(Type.String({ format: 'date-time' })),
    }),
  ),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});
