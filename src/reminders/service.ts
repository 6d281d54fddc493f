/**
 * Reminder use cases: validate, persist the definition, start the reminder's workflow, and drive
 * its lifecycle through the workflow's typed Updates. Temporal holds the running state; the
 * database holds the definition, contact points and decisions.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  WorkflowIdConflictPolicy,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type WorkflowClient,
} from '@temporalio/client';
import { ApplicationFailure, TypedSearchAttributes } from '@temporalio/common';
import { compileRecurrence, normalizeRecurrence, parseICal, type RecurrenceInput } from '../domain/recurrence/index.js';
import type { Channel } from '../domain/delivery.js';
import { ReminderId, type TenantId, UserId } from '../domain/ids.js';
import { ConflictError, ForbiddenError, IdempotencyKeyReusedError, InvalidInputError, NotFoundError } from '../domain/errors.js';
import {
  cancelReminderUpdate,
  editReminderUpdate,
  pauseReminderUpdate,
  REMINDER_WORKFLOW_TYPE,
  reminderStateQuery,
  reminderWorkflowId,
  resumeReminderUpdate,
  skipNextOccurrenceUpdate,
  snoozeOccurrenceUpdate,
  UpdateRejection,
  type EditReminderPatch,
  type OccurrenceDecision,
  type ReminderDefinition,
  type ReminderState,
  type ReminderStatus,
  type reminderWorkflow,
  type ZoneMode,
} from '../../workflows/reminder.js';
import { ReminderIdKey, StatusKey, TenantIdKey, UserIdKey } from '../../workflows/search-attributes.js';
import {
  previewOccurrences,
  previewTimeline,
  recurrenceIdFor,
  recurrenceInZone,
  resolvePolicy,
  type PolicyOverrides,
  type PreviewItem,
  type PreviewTimeline,
} from '../domain/policy/index.js';
import { validatePreferences, type Preferences } from '../domain/preferences/index.js';
import type { Actor } from '../domain/principal.js';
import type { MessageContent, TemplateChecker, TemplateRef } from '../domain/templates/index.js';
import { previewMessages, recipientFacts, type Compose, type PreviewMessage, type StoredRecipient } from '../templates/compose.js';

export const DEFAULT_CATEGORY = 'reminders';


export interface CreateReminderInput {
  userId: string;
  email: string;
  title: string;
  body: string;
  template?: TemplateRef;
  channels?: Channel[];
  category?: string;
  zoneMode?: ZoneMode;
  policy?: PolicyOverrides;
  recurrence?: RecurrenceInput;
  ical?: string;
}

/** A rule to preview without saving: for a user's current preferences, or defaults. */
export interface PreviewRuleInput {
  userId?: string;
  recurrence?: RecurrenceInput;
  ical?: string;
  zoneMode?: ZoneMode;
  category?: string;
  channels?: Channel[];
  policy?: PolicyOverrides;
  /** With content, each occurrence shows the message each channel would carry. */
  content?: MessageContent;
  count?: number;
  after?: string;
}

export interface PreviewView {
  description: string;
  timeZone: string;
  occurrences: (PreviewItem & { messages?: PreviewMessage[] })[];
  /** The user's zone and quiet hours over the occurrences' local days: offset changes, quiet windows (absent: no occurrence). */
  timeline?: PreviewTimeline;
}

export interface ReminderView {
  id: string;
  userId: string;
  status: ReminderStatus;
  /** Why a `blocked` reminder cannot plan. */
  statusReason?: string;
  title: string;
  /** The template its messages are rendered with (an id, or inline); absent: title and body as written. */
  template?: TemplateRef;
  description: string;
  recurrence: RecurrenceInput;
  /** The zone the rule is expanded in now: the rule's own (pinned), or the user's current one (follow-user). */
  timeZone: string;
  channels: Channel[];
  category: string;
  upcoming: { utc: string; local: string }[];
  /** What the workflow waits for now (a snooze or a deferral moves `dueAt`); only when read live. */
  next?: { utc: string; local: string; dueAt: string };
  /**
   * `live`: read from the running workflow; `stored`: from the database, because the workflow has
   * ended, is past retention, or did not answer within the query timeout (no worker running).
   */
  state: 'live' | 'stored';
  workflowId: string;
  createdAt: string;
}

/** One ledger row as the API shows it: no contact point, ever. */
export interface DeliveryView {
  idempotencyKey: string;
  channel: Channel;
  recurrenceId: string;
  occurrenceAt: string;
  status: 'claimed' | 'sent' | 'failed' | 'unknown';
  provider?: string;
  providerMessageId?: string;
  providerStatus?: string;
  attempts: number;
  lastError?: { type: string; message: string };
  settledAt?: string;
}

export interface StoredReminder {
  tenantId: TenantId;
  userId: UserId;
  id: ReminderId;
  definition: ReminderDefinition;
  status: ReminderStatus;
  statusReason?: string;
  createdAt: string;
}

/** Port: the persistence the reminder use cases need (implemented in src/reminders/persistence.ts). */
export interface ReminderPersistence {
  /** Sets the user's email unless it is already that address; `verified` only when an admin key gave it. */
  saveEmailContact(tenantId: TenantId, userId: UserId, email: string, verified: boolean): Promise<void>;
  insertReminder(reminder: StoredReminder): Promise<void>;
  updateReminder(reminder: Pick<StoredReminder, 'tenantId' | 'id' | 'definition' | 'status'>): Promise<void>;
  findReminder(tenantId: TenantId, reminderId: ReminderId): Promise<StoredReminder | undefined>;
  /** One page of the reminder's delivery ledger, newest first. */
  listDeliveries(
    tenantId: TenantId,
    reminderId: ReminderId,
    page: { limit: number; cursor?: string },
  ): Promise<{ items: DeliveryView[]; nextCursor: string | null }>;
  /** The user as stored: preference document (validated and completed by the caller), tags, attributes. */
  recipientOf(tenantId: TenantId, userId: UserId): Promise<StoredRecipient | undefined>;
  /** The tenant's policy overrides for a category, if it defined any. */
  categoryPolicyOf(tenantId: TenantId, category: string): Promise<PolicyOverrides | undefined>;
  listReminders(
    tenantId: TenantId,
    filter: { userId?: string; status?: ReminderStatus; limit: number; cursor?: string },
  ): Promise<{ items: StoredReminder[]; nextCursor: string | null }>;
  /** The reminder's latest recorded decisions, newest first. */
  latestDecisions(tenantId: TenantId, reminderId: ReminderId, limit: number): Promise<OccurrenceDecision[]>;
}

export interface ReminderServiceDeps {
  workflows: WorkflowClient;
  taskQueue: string;
  persistence: ReminderPersistence;
  /** Passed to every new reminder workflow; see ReminderWorkflowInput.catchUpWindowMs. */
  catchUpWindowMs?: number;
  /** How long a read waits for the workflow's answer before it answers from the database. */
  queryTimeoutMs?: number;
  /** Checks a template as it is attached (without it, a reminder with a template is refused). */
  templates?: TemplateChecker;
  /** Renders previews' messages the way deliveries do (without it, previews show decisions only). */
  compose?: Compose;
}


const UPCOMING_SHOWN = 5;
export const DEFAULT_QUERY_TIMEOUT_MS = 3_000;

const digest = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 32);
const updateId = (requestKey: string | undefined): { updateId?: string } => (requestKey ? { updateId: `req-${digest(requestKey)}` } : {});
/** Key order and absent-vs-empty do not make two definitions different. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => a.localeCompare(b))) : v,
  );

/** Validates a recurrence (throws RecurrenceError naming the part) and returns its description. */
function checkRecurrence(recurrence: RecurrenceInput): string {
  return compileRecurrence(recurrence).describe();
}

export function createReminderService({
  workflows,
  taskQueue,
  persistence,
  catchUpWindowMs,
  queryTimeoutMs = DEFAULT_QUERY_TIMEOUT_MS,
  templates,
  compose,
}: ReminderServiceDeps) {
  async function checkTemplate(tenantId: TenantId, ref: TemplateRef | undefined, field: string): Promise<void> {
    if (ref === undefined) return;
    if (!templates) throw new InvalidInputError(field, 'templates are not available in this deployment');
    await templates(tenantId, ref, 'reminder', field);
  }

  /** The user's preferences as stored now, completed with defaults (the rule's zone when they have none). */
  async function preferencesFor(tenantId: TenantId, userId: UserId, fallbackTimeZone: string): Promise<{ stored?: StoredRecipient; preferences: Preferences }> {
    const stored = await persistence.recipientOf(tenantId, userId);
    return { ...(stored ? { stored } : {}), preferences: validatePreferences({ timeZone: fallbackTimeZone, ...((stored?.preferences as object | undefined) ?? {}) }) };
  }



  /**
   * The reminder as the API shows it. Upcoming occurrences come from the rule in the zone the
   * workflow plans with — the user's current one for follow-user reminders, read the same way — so
   * create, read, preview and delivery agree.
   */
  async function view(reminder: StoredReminder, live?: ReminderState): Promise<ReminderView> {
    const definition = live?.definition ?? reminder.definition;
    let userZone: string | undefined;
    if (definition.zoneMode === 'follow-user') {
      // Unreadable stored preferences block the workflow (its status says why); the view falls back to the rule's zone.
      userZone = await preferencesFor(reminder.tenantId, reminder.userId, definition.recurrence.tzid).then(
        ({ preferences }) => preferences.timeZone,
        () => undefined,
      );
    }
    const rule = recurrenceInZone(definition.recurrence, definition.zoneMode, userZone);
    const recurrence = compileRecurrence(rule);
    const status = live?.status ?? reminder.status;
    const statusReason = live ? live.blockedReason : reminder.statusReason;
    return {
      id: reminder.id,
      userId: reminder.userId,
      status,
      ...(status === 'blocked' && statusReason ? { statusReason } : {}),
      title: definition.content.title,
      ...(definition.content.template !== undefined ? { template: definition.content.template } : {}),
      description: recurrence.describe(),
      recurrence: definition.recurrence,
      timeZone: rule.tzid,
      channels: definition.channels,
      category: definition.category,
      upcoming:
        status === 'active' || status === 'paused' || status === 'blocked'
          ? recurrence.take(UPCOMING_SHOWN, Date.now()).map(({ utc, local }) => ({ utc, local }))
          : [],
      ...(live?.next ? { next: live.next } : {}),
      state: live ? 'live' : 'stored',
      workflowId: reminderWorkflowId(reminder.tenantId, reminder.userId, reminder.id),
      createdAt: reminder.createdAt,
    };
  }

  /** The workflow's state, or undefined when it has ended past retention, is gone or does not answer in time. */
  async function liveState(reminder: StoredReminder): Promise<ReminderState | undefined> {
    try {
      return await workflows.connection.withDeadline(Date.now() + queryTimeoutMs, () => handleOf(reminder).query(reminderStateQuery));
    } catch {
      return undefined; // the database holds the definition, the status and every decision
    }
  }

  async function load(actor: Actor, reminderId: ReminderId): Promise<StoredReminder> {
    const reminder = await persistence.findReminder(actor.tenantId, reminderId);
    // Another user's reminder looks exactly like a missing one.
    if (!reminder || (actor.userId !== undefined && reminder.userId !== actor.userId)) throw new NotFoundError('reminder');
    return reminder;
  }

  const handleOf = (r: StoredReminder) => workflows.getHandle<typeof reminderWorkflow>(reminderWorkflowId(r.tenantId, r.userId, r.id));

  /** Runs one lifecycle Update; a rejected Update (validator) becomes a ConflictError with its reason. */
  async function act(
    actor: Actor,
    reminderId: ReminderId,
    run: (handle: ReturnType<typeof handleOf>) => Promise<ReminderState>,
  ): Promise<ReminderView> {
    const reminder = await load(actor, reminderId);
    let state: ReminderState;
    try {
      state = await run(handleOf(reminder));
    } catch (error) {
      if (error instanceof WorkflowUpdateFailedError) {
        const cause = error.cause;
        if (cause instanceof ApplicationFailure && cause.type === UpdateRejection.InvalidInput) {
          const field = typeof cause.details?.[0] === 'string' ? cause.details[0] : 'body';
          throw new InvalidInputError(field, cause.message.startsWith(`${field} `) ? cause.message.slice(field.length + 1) : cause.message);
        }
        throw new ConflictError(cause instanceof Error ? cause.message : 'the reminder refused the change');
      }
      if (error instanceof WorkflowNotFoundError) throw new ConflictError(`the reminder has ended`);
      throw error;
    }
    const updated = { ...reminder, definition: state.definition, status: state.status };
    await persistence.updateReminder(updated);
    return view(updated, state);
  }

  /** The next occurrences of a definition, each decided as the workflow would decide it now. */
  async function preview(
    actor: Actor,
    userId: string | undefined,
    definition: Pick<ReminderDefinition, 'recurrence' | 'zoneMode' | 'category' | 'channels' | 'policy'> & { content?: MessageContent },
    count: number,
    afterEpochMs: number,
    reminderId = 'preview',
  ): Promise<PreviewView> {
    const { stored, preferences } = userId
      ? await preferencesFor(actor.tenantId, UserId(userId), definition.recurrence.tzid)
      : { stored: undefined, preferences: validatePreferences({ timeZone: definition.recurrence.tzid }) };
    const rule = compileRecurrence(recurrenceInZone(definition.recurrence, definition.zoneMode, stored ? preferences.timeZone : undefined));
    const occurrences = rule.take(count, afterEpochMs).map((o) => ({ ...o, recurrenceId: recurrenceIdFor(definition.zoneMode, o) }));
    const items = previewOccurrences(occurrences, {
      preferences,
      // The same layering as the activity that decides at send time: default → category → reminder.
      policy: resolvePolicy(await persistence.categoryPolicyOf(actor.tenantId, definition.category), definition.policy),
      category: definition.category,
      channels: definition.channels,
    });
    const { content } = definition;
    const recipient = recipientFacts(userId ?? 'preview', preferences, stored);
    const timeline = previewTimeline({
      instants: items.flatMap((item) => [Date.parse(item.utc), ...(item.afterDeferral ? [Date.parse(item.afterDeferral.at)] : [])]),
      timeZone: preferences.timeZone,
      quietHours: preferences.quietHours,
    });
    return {
      description: rule.describe(),
      timeZone: preferences.timeZone,
      ...(timeline ? { timeline } : {}),
      occurrences:
        content && compose
          ? await Promise.all(
              items.map(async (item) => {
                const atEpochMs = Date.parse(item.utc);
                const messages = await previewMessages(compose, {
                  tenantId: actor.tenantId,
                  recipient,
                  source: { kind: 'reminder', id: reminderId, title: content.title, body: content.body, category: definition.category },
                  content,
                  channels: definition.channels,
                  atEpochMs,
                  // Rendered at the instant it would be sent: after a deferral, then.
                  sentAtEpochMs: item.afterDeferral ? Date.parse(item.afterDeferral.at) : atEpochMs,
                });
                return { ...item, messages };
              }),
            )
          : items,
    };
  }

  return {
    /** Preview of a rule for a user (or default preferences) without saving anything. */
    async previewRule(actor: Actor, input: PreviewRuleInput): Promise<PreviewView> {
      if ((input.recurrence === undefined) === (input.ical === undefined)) {
        throw new InvalidInputError('recurrence', 'give exactly one of `recurrence` or `ical`');
      }
      await checkTemplate(actor.tenantId, input.content?.template, 'content.template');
      if (actor.userId !== undefined && input.userId !== undefined && input.userId !== actor.userId) throw new NotFoundError('user');
      const userId = input.userId ?? actor.userId;
      const after = input.after !== undefined ? Date.parse(input.after) : Date.now();
      return preview(
        actor,
        userId,
        {
          recurrence: input.recurrence ? normalizeRecurrence(input.recurrence) : parseICal(input.ical ?? ''),
          zoneMode: input.zoneMode ?? 'pinned',
          category: input.category ?? DEFAULT_CATEGORY,
          channels: input.channels ?? ['email'],
          ...(input.policy ? { policy: input.policy } : {}),
          ...(input.content ? { content: input.content } : {}),
        },
        input.count ?? 10,
        after,
      );
    },

    /** Preview of an existing reminder's next occurrences under its user's current preferences. */
    async previewReminder(actor: Actor, reminderId: ReminderId, count: number): Promise<PreviewView> {
      const reminder = await load(actor, reminderId);
      return preview(actor, reminder.userId, reminder.definition, count, Date.now(), reminder.id);
    },

    /**
     * `requestKey` (the HTTP Idempotency-Key) makes the reminder id deterministic, so a retry after
     * a partial failure finds the same reminder and the same workflow instead of making a second.
     */
    async create(actor: Actor, input: CreateReminderInput, requestKey?: string): Promise<ReminderView> {
      const { tenantId } = actor;
      if (actor.userId !== undefined && actor.userId !== input.userId) {
        throw new ForbiddenError('userId', `this key may act only for user ${actor.userId}`);
      }
      if ((input.recurrence === undefined) === (input.ical === undefined)) {
        throw new InvalidInputError('recurrence', 'give exactly one of `recurrence` or `ical`');
      }
      const recurrence = input.recurrence ? normalizeRecurrence(input.recurrence) : parseICal(input.ical ?? '');
      const description = checkRecurrence(recurrence);
      await checkTemplate(tenantId, input.template, 'template');
      const reminder: StoredReminder = {
        tenantId,
        userId: UserId(input.userId),
        id: ReminderId(`rem_${requestKey ? digest(`${tenantId}\n${requestKey}`) : randomUUID().replaceAll('-', '')}`),
        definition: {
          recurrence,
          zoneMode: input.zoneMode ?? 'pinned',
          content: { title: input.title, body: input.body, ...(input.template !== undefined ? { template: input.template } : {}) },
          channels: input.channels ?? ['email'],
          category: input.category ?? DEFAULT_CATEGORY,
          ...(input.policy ? { policy: input.policy } : {}),
        },
        status: 'active',
        createdAt: new Date().toISOString(),
      };
      // The same key again (its HTTP record expired, or a 5xx released it): the reminder it made, if
      // this is the same request; a 422 if not — never a 201 describing something not stored.
      const earlier = requestKey ? await persistence.findReminder(tenantId, reminder.id) : undefined;
      if (earlier) {
        const same = earlier.userId === reminder.userId && canonical({ ...earlier.definition, policy: earlier.definition.policy ?? {} }) === canonical({ ...reminder.definition, policy: reminder.definition.policy ?? {} });
        if (!same) throw new IdempotencyKeyReusedError('reminder');
        Object.assign(reminder, { createdAt: earlier.createdAt, status: earlier.status });
        // Its workflow ended: starting one again would revive a cancelled or completed reminder.
        if (earlier.status === 'cancelled' || earlier.status === 'completed') return view(reminder);
      } else {
        await persistence.saveEmailContact(tenantId, reminder.userId, input.email, actor.userId === undefined);
        await persistence.insertReminder(reminder);
      }

      await workflows.start<typeof reminderWorkflow>(REMINDER_WORKFLOW_TYPE, {
        taskQueue,
        workflowId: reminderWorkflowId(tenantId, reminder.userId, reminder.id),
        args: [
          {
            tenantId,
            userId: reminder.userId,
            reminderId: reminder.id,
            definition: reminder.definition,
            // A retry plans from its own start: an earlier run may have handled what lies between.
            ...(earlier ? {} : { acceptedAtEpochMs: Date.parse(reminder.createdAt) }),
            ...(catchUpWindowMs !== undefined ? { catchUpWindowMs } : {}),
          },
        ],
        // Starting the same reminder twice finds the running workflow instead of a second one.
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
        typedSearchAttributes: new TypedSearchAttributes([
          { key: TenantIdKey, value: tenantId },
          { key: UserIdKey, value: reminder.userId },
          { key: ReminderIdKey, value: reminder.id },
          { key: StatusKey, value: 'active' },
        ]),
        // Ids and descriptions only: never a contact point.
        memo: { title: input.title, description },
        staticSummary: `${input.title} — ${description}`,
      });
      return view(reminder);
    },

    async list(
      actor: Actor,
      query: { userId?: string; status?: ReminderStatus; limit?: number; cursor?: string },
    ): Promise<{ data: ReminderView[]; nextCursor: string | null }> {
      // A user-scoped key lists its own user's reminders whatever filter it asks for.
      const userId = actor.userId ?? query.userId;
      const page = await persistence.listReminders(actor.tenantId, {
        ...(userId !== undefined ? { userId } : {}),
        ...(query.status ? { status: query.status } : {}),
        ...(query.cursor ? { cursor: query.cursor } : {}),
        limit: query.limit ?? 20,
      });
      return { data: await Promise.all(page.items.map((r) => view(r))), nextCursor: page.nextCursor };
    },

    /** Live from the workflow when it answers within the query timeout, else from the database (`state: 'stored'`). */
    async get(actor: Actor, reminderId: ReminderId): Promise<ReminderView> {
      const reminder = await load(actor, reminderId);
      return view(reminder, await liveState(reminder));
    },

    async deliveries(actor: Actor, reminderId: ReminderId, page: { limit?: number; cursor?: string }) {
      const reminder = await load(actor, reminderId);
      const result = await persistence.listDeliveries(reminder.tenantId, reminder.id, { limit: page.limit ?? 20, ...(page.cursor ? { cursor: page.cursor } : {}) });
      return { data: result.items, nextCursor: result.nextCursor };
    },

    /** The latest decisions, oldest first: always from the database, where the workflow records each one. */
    async decisions(actor: Actor, reminderId: ReminderId, limit: number): Promise<OccurrenceDecision[]> {
      const reminder = await load(actor, reminderId);
      return (await persistence.latestDecisions(reminder.tenantId, reminder.id, limit)).reverse();
    },

    async edit(actor: Actor, reminderId: ReminderId, patch: EditReminderPatch): Promise<ReminderView> {
      // Validated here: the workflow's validator cannot read tz data or templates.
      const normalized = patch.recurrence ? { ...patch, recurrence: normalizeRecurrence(patch.recurrence) } : patch;
      if (normalized.recurrence) checkRecurrence(normalized.recurrence);
      await checkTemplate(actor.tenantId, normalized.content?.template, 'content.template');
      return act(actor, reminderId, (h) => h.executeUpdate(editReminderUpdate, { args: [normalized] }));
    },
    // `requestKey` (the scoped Idempotency-Key) is the Update's id: Temporal runs an Update once per
    // id, so a request retried after a 5xx (the database write after the Update failed) acts once.
    pause: (actor: Actor, reminderId: ReminderId, requestKey?: string) =>
      act(actor, reminderId, (h) => h.executeUpdate(pauseReminderUpdate, updateId(requestKey))),
    resume: (actor: Actor, reminderId: ReminderId, requestKey?: string) =>
      act(actor, reminderId, (h) => h.executeUpdate(resumeReminderUpdate, updateId(requestKey))),
    skipNext: (actor: Actor, reminderId: ReminderId, requestKey?: string) =>
      act(actor, reminderId, (h) => h.executeUpdate(skipNextOccurrenceUpdate, updateId(requestKey))),
    cancel: (actor: Actor, reminderId: ReminderId, requestKey?: string) =>
      act(actor, reminderId, (h) => h.executeUpdate(cancelReminderUpdate, updateId(requestKey))),
    snooze: (actor: Actor, reminderId: ReminderId, until: Date, requestKey?: string) =>
      act(actor, reminderId, (h) => h.executeUpdate(snoozeOccurrenceUpdate, { args: [{ untilEpochMs: until.getTime() }], ...updateId(requestKey) })),
  };
}

export type ReminderService = ReturnType<typeof createReminderService>;
