/**
 * Audience schedule resource schemas: they validate requests, type the handlers and feed the
 * OpenAPI document.
 */
import Type, { type Static } from 'typebox';
import { ID_PATTERN } from '../../domain/ids.js';
import { PolicyOverridesSchema } from '../../domain/policy/index.js';
import { CATEGORY_PATTERN } from '../../domain/preferences/index.js';
import { AudienceSchema } from '../../domain/schedules/index.js';
import { MessageContentSchema } from '../../domain/templates/index.js';
import { ONE_RULE, PreviewMessageView, RecurrenceSchema } from './reminders.js';

const Id = Type.String({ pattern: ID_PATTERN, maxLength: 128 });
const ZoneMode = Type.Union([Type.Literal('recipient-local'), Type.Literal('pinned')], {
  description: "recipient-local (default): the rule's wall-clock times in each recipient's own zone; pinned: the rule's tzid for everyone",
});
const Status = Type.Union([Type.Literal('active'), Type.Literal('paused'), Type.Literal('archived')]);
const Content = MessageContentSchema;
const Channels = Type.Array(Type.Union([Type.Literal('email'), Type.Literal('sms')]), { minItems: 1, uniqueItems: true });

const definitionFields = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  recurrence: Type.Optional(RecurrenceSchema),
  ical: Type.Optional(Type.String({ description: 'iCalendar DTSTART/RRULE/RDATE/EXDATE lines, instead of `recurrence`', maxLength: 20_000 })),
  zoneMode: Type.Optional(ZoneMode),
  audience: AudienceSchema,
  content: Content,
  channels: Type.Optional(Channels),
  category: Type.Optional(Type.String({ pattern: CATEGORY_PATTERN, description: 'Default: digest' })),
  policy: Type.Optional(PolicyOverridesSchema),
  startsAt: Type.Optional(Type.String({ format: 'date-time', description: 'No occurrence before this instant' })),
  endsAt: Type.Optional(Type.String({ format: 'date-time', description: 'No occurrence after this instant' })),
  smoothingMs: Type.Optional(
    Type.Integer({ minimum: 0, maximum: 3_600_000, description: "Spread each occurrence's fan-out over this long, so providers see no thundering herd" }),
  ),
};

export const CreateScheduleBody = Type.Object({ id: Type.Optional(Id), ...definitionFields }, { additionalProperties: false, ...ONE_RULE });
export const PutScheduleBody = Type.Object(definitionFields, { additionalProperties: false, ...ONE_RULE });
export const EditScheduleBody = Type.Partial(Type.Object(definitionFields), { additionalProperties: false, minProperties: 1 });
export type CreateScheduleBody = Static<typeof CreateScheduleBody>;

export const ScheduleParams = Type.Object({ scheduleId: Id });

export const ScheduleView = Type.Object(
  {
    id: Id,
    name: Type.String(),
    status: Status,
    description: Type.String(),
    recurrence: RecurrenceSchema,
    zoneMode: ZoneMode,
    audience: AudienceSchema,
    content: Content,
    channels: Type.Array(Type.String()),
    category: Type.String(),
    policy: Type.Optional(PolicyOverridesSchema),
    startsAt: Type.Optional(Type.String({ format: 'date-time' })),
    endsAt: Type.Optional(Type.String({ format: 'date-time' })),
    smoothingMs: Type.Integer(),
    next: Type.Optional(
      Type.Object({
        firesAt: Type.String({ format: 'date-time' }),
        members: Type.Array(Type.Object({ key: Type.String(), local: Type.String(), recurrenceId: Type.String() })),
      }),
    ),
    fanout: Type.Optional(
      Type.Object({
        firesAt: Type.String({ format: 'date-time' }),
        groups: Type.Integer(),
        groupsDone: Type.Integer(),
        pagesDone: Type.Integer(),
        recipientsProcessed: Type.Integer(),
      }),
    ),
    state: Type.Union([Type.Literal('live'), Type.Literal('stored')]),
    version: Type.Integer(),
    workflowId: Type.String(),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'Schedule' },
);

export const ScheduleListQuery = Type.Object(
  {
    status: Type.Optional(Status),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    cursor: Type.Optional(Type.String({ maxLength: 512 })),
  },
  { additionalProperties: false },
);
export const ScheduleList = Type.Object({ data: Type.Array(ScheduleView), nextCursor: Type.Union([Type.String(), Type.Null()]) });

export const SchedulePreviewQuery = Type.Object({
  count: Type.Optional(Type.Integer({ minimum: 1, maximum: 50, default: 10 })),
  userId: Type.Optional(Type.String({ pattern: ID_PATTERN, maxLength: 128, description: "Also render this user's message in each bucket that holds their zone" })),
});
export const SchedulePreviewView = Type.Object({
  description: Type.String(),
  zones: Type.Array(Type.Object({ zone: Type.String(), recipients: Type.Integer() })),
  buckets: Type.Array(
    Type.Object({
      firesAt: Type.String({ format: 'date-time' }),
      members: Type.Array(
        Type.Object({ zone: Type.String(), local: Type.String(), recurrenceId: Type.String(), recipients: Type.Integer(), messages: Type.Optional(Type.Array(PreviewMessageView)) }),
      ),
    }),
  ),
});

export const ScheduleRunsQuery = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })) });
export const ScheduleRunsView = Type.Object({
  data: Type.Array(
    Type.Object({
      recurrenceId: Type.String({ description: "The occurrence's nominal local time (recipient-local) or instant (pinned)" }),
      firstFiresAt: Type.String({ format: 'date-time' }),
      lastFiresAt: Type.String({ format: 'date-time' }),
      zones: Type.Integer(),
      targeted: Type.Integer(),
      sent: Type.Integer(),
      deferred: Type.Integer(),
      failed: Type.Integer(),
      skipped: Type.Record(Type.String(), Type.Integer(), { description: 'Recipients skipped, by reason' }),
      completed: Type.Boolean(),
    }),
  ),
});

export const UserTagsBody = Type.Object(
  { tags: Type.Array(Type.String({ pattern: '^[a-z0-9][a-z0-9_:.-]{0,63}$' }), { maxItems: 100, uniqueItems: true }) },
  { additionalProperties: false },
);
export const UserTagsView = Type.Object({ id: Type.String(), tags: Type.Array(Type.String()) });
