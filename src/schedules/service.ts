/**
 * Audience schedule use cases: define a schedule (a rule in each recipient's local time, or pinned
 * to one zone; an audience; content, channels, category, policy), start its workflow, and drive its
 * life — edit, pause, resume, archive — plus a preview of its next buckets per zone and the runs of
 * the occurrences it fanned out. The definition lives in the database; the workflow is told when
 * it changes. Admin keys write; any key of the tenant reads.
 */
import { createHash, randomUUID } from 'node:crypto';
import { WorkflowIdConflictPolicy, WorkflowNotFoundError, WorkflowUpdateFailedError, type WorkflowClient } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import type { Channel } from '../domain/delivery.js';
import { ConflictError, ForbiddenError, InvalidInputError, NotFoundError } from '../domain/errors.js';
import { ScheduleId, UserId, type TenantId } from '../domain/ids.js';
import { validatePolicyOverrides, type PolicyOverrides } from '../domain/policy/index.js';
import { compileRecurrence, normalizeRecurrence, parseICal, type RecurrenceInput } from '../domain/recurrence/index.js';
import { nextBucket, zoneKey, type Audience } from '../domain/schedules/index.js';
import type { MessageContent, TemplateChecker } from '../domain/templates/index.js';
import { validatePreferences } from '../domain/preferences/index.js';
import { previewMessages, recipientFacts, type Compose, type PreviewMessage, type StoredRecipient } from '../templates/compose.js';
import type { Actor } from '../domain/principal.js';
import {
  archiveScheduleUpdate,
  pauseScheduleUpdate,
  resumeScheduleUpdate,
  SCHEDULE_WORKFLOW_TYPE,
  scheduleChangedSignal,
  scheduleStateQuery,
  scheduleWorkflowId,
  type ScheduleState,
  type scheduleWorkflow,
} from '../../workflows/schedule.js';
import { ScheduleIdKey, StatusKey, TenantIdKey } from '../../workflows/search-attributes.js';

export type ScheduleZoneMode = 'recipient-local' | 'pinned';
export type ScheduleStatus = 'active' | 'paused' | 'archived';

export interface ScheduleDefinition {
  name: string;
  recurrence: RecurrenceInput;
  zoneMode: ScheduleZoneMode;
  audience: Audience;
  content: MessageContent;
  channels: Channel[];
  category: string;
  policy?: PolicyOverrides;
  startsAt?: string;
  endsAt?: string;
  smoothingMs: number;
}

export interface StoredSchedule {
  tenantId: TenantId;
  id: ScheduleId;
  definition: ScheduleDefinition;
  status: ScheduleStatus;
  version: number;
  createdAt: string;
  updatedAt: string;
}

/** Port: what the schedule use cases need from the database (src/schedules/persistence.ts). */
export interface SchedulePersistence {
  insert(schedule: Omit<StoredSchedule, 'version' | 'createdAt' | 'updatedAt'>): Promise<StoredSchedule>;
  update(tenantId: TenantId, id: ScheduleId, change: { definition?: ScheduleDefinition; status?: ScheduleStatus }): Promise<StoredSchedule>;
  find(tenantId: TenantId, id: ScheduleId): Promise<StoredSchedule | undefined>;
  list(tenantId: TenantId, page: { status?: ScheduleStatus; limit: number; cursor?: string }): Promise<{ items: StoredSchedule[]; nextCursor: string | null }>;
  /** Per stored zone (`null`: none), how many users the audience holds now. */
  audienceByZone(tenantId: TenantId, audience: Audience, category: string): Promise<Map<string | null, number>>;
  runs(tenantId: TenantId, id: ScheduleId, limit: number): Promise<RunRow[]>;
  /** A user as stored (for a preview of their message). */
  recipientOf(tenantId: TenantId, userId: UserId): Promise<StoredRecipient | undefined>;
}

export interface RunRow {
  recurrenceId: string;
  zone: string;
  firesAt: Date;
  targeted: number;
  sent: number;
  deferred: number;
  failed: number;
  skipped: Record<string, number>;
  completedAt?: Date;
}

export interface ScheduleInput {
  id?: string;
  name: string;
  recurrence?: RecurrenceInput;
  ical?: string;
  zoneMode?: ScheduleZoneMode;
  audience: Audience;
  content: MessageContent;
  channels?: Channel[];
  category?: string;
  policy?: PolicyOverrides;
  startsAt?: string;
  endsAt?: string;
  smoothingMs?: number;
}

export type SchedulePatch = Partial<Omit<ScheduleInput, 'id'>>;

export interface ScheduleView {
  id: string;
  name: string;
  status: ScheduleStatus;
  description: string;
  recurrence: RecurrenceInput;
  zoneMode: ScheduleZoneMode;
  audience: Audience;
  content: MessageContent;
  channels: Channel[];
  category: string;
  policy?: PolicyOverrides;
  startsAt?: string;
  endsAt?: string;
  smoothingMs: number;
  /** The next bucket as the workflow has planned it (live reads only). */
  next?: ScheduleState['next'];
  /** The occurrence being fanned out now, if any (live reads only). */
  fanout?: ScheduleState['fanout'];
  state: 'live' | 'stored';
  version: number;
  workflowId: string;
  createdAt: string;
  updatedAt: string;
}

export interface SchedulePreview {
  description: string;
  /** The audience now, per zone (recipients with no zone of their own use the rule's). */
  zones: { zone: string; recipients: number }[];
  /** The next buckets: when each fires, in which zones, for how many recipients. */
  buckets: { firesAt: string; members: { zone: string; local: string; recurrenceId: string; recipients: number; messages?: PreviewMessage[] }[] }[];
}

export interface ScheduleRun {
  recurrenceId: string;
  /** When its first and last zone fired. */
  firstFiresAt: string;
  lastFiresAt: string;
  zones: number;
  targeted: number;
  sent: number;
  deferred: number;
  failed: number;
  skipped: Record<string, number>;
  /** Every zone's fan-out has finished (deferred recipients may still be waiting out quiet hours). */
  completed: boolean;
}

export interface ScheduleServiceDeps {
  workflows: WorkflowClient;
  taskQueue: string;
  persistence: SchedulePersistence;
  catchUpWindowMs?: number;
  queryTimeoutMs?: number;
  /** Recipients per page and pages in flight (see ScheduleWorkflowInput); the workflow's defaults otherwise. */
  fanout?: { pageSize?: number; maxPagesInFlight?: number };
  /** Checks a template as it is attached (without it, a schedule with a template is refused). */
  templates?: TemplateChecker;
  /** Renders a preview's messages the way deliveries do (without it, previews show buckets only). */
  compose?: Compose;
}

const digest = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 32);

function assertAdmin(actor: Actor) {
  if (actor.userId !== undefined) throw new ForbiddenError('schedule', 'only an admin key may change audience schedules');
}

function instant(field: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new InvalidInputError(field, 'is not a date-time');
  return new Date(ms).toISOString();
}

/** Validates and completes a definition (throws InvalidInputError / RecurrenceError naming the field). */
function definitionOf(input: Omit<ScheduleInput, 'id'>): ScheduleDefinition {
  if ((input.recurrence === undefined) === (input.ical === undefined)) {
    throw new InvalidInputError('recurrence', 'give exactly one of `recurrence` or `ical`');
  }
  const recurrence = input.recurrence ? normalizeRecurrence(input.recurrence) : parseICal(input.ical ?? '');
  compileRecurrence(recurrence); // names the rule part at fault
  const startsAt = instant('startsAt', input.startsAt);
  const endsAt = instant('endsAt', input.endsAt);
  if (startsAt && endsAt && endsAt <= startsAt) throw new InvalidInputError('endsAt', 'must be after startsAt');
  return {
    name: input.name,
    recurrence,
    zoneMode: input.zoneMode ?? 'recipient-local',
    audience: input.audience,
    content: input.content,
    channels: input.channels ?? ['email'],
    category: input.category ?? 'digest',
    ...(input.policy ? { policy: validatePolicyOverrides(input.policy, 'policy') } : {}),
    ...(startsAt ? { startsAt } : {}),
    ...(endsAt ? { endsAt } : {}),
    smoothingMs: input.smoothingMs ?? 0,
  };
}

const ruleChanged = (a: ScheduleDefinition, b: ScheduleDefinition) =>
  JSON.stringify([a.recurrence, a.zoneMode, a.startsAt, a.endsAt]) !== JSON.stringify([b.recurrence, b.zoneMode, b.startsAt, b.endsAt]);

export function createScheduleService({ workflows, taskQueue, persistence, catchUpWindowMs, queryTimeoutMs = 3_000, fanout, templates, compose }: ScheduleServiceDeps) {
  /** Renders `userId`'s message for a schedule's occurrence, as the fan-out would (their zone decides which buckets hold them). */
  async function previewRecipient(tenantId: TenantId, userId: UserId, d: ScheduleDefinition) {
    const stored = await persistence.recipientOf(tenantId, userId);
    if (!stored) throw new InvalidInputError('userId', `no user ${userId} in this tenant`);
    const preferences = validatePreferences({ timeZone: d.recurrence.tzid, ...((stored.preferences as object | undefined) ?? {}) });
    const recipient = recipientFacts(userId, preferences, stored);
    const { title, body } = d.content;
    return {
      recipient,
      messagesAt: (atEpochMs: number) =>
        previewMessages(compose as Compose, {
          tenantId,
          recipient,
          source: { kind: 'schedule', id: 'preview', name: d.name, title, body, category: d.category },
          content: d.content,
          channels: d.channels,
          atEpochMs,
          sentAtEpochMs: atEpochMs,
        }),
    };
  }

  /** A definition as it may be saved: valid on its own (definitionOf), and with a template that fits a schedule. */
  async function checked(tenantId: TenantId, input: Omit<ScheduleInput, 'id'>): Promise<ScheduleDefinition> {
    const definition = definitionOf(input);
    const ref = definition.content.template;
    if (ref !== undefined) {
      if (!templates) throw new InvalidInputError('content.template', 'templates are not available in this deployment');
      await templates(tenantId, ref, 'schedule', 'content.template');
    }
    return definition;
  }

  const handleOf = (s: Pick<StoredSchedule, 'tenantId' | 'id'>) => workflows.getHandle<typeof scheduleWorkflow>(scheduleWorkflowId(s.tenantId, s.id));
  const workflowArgs = (s: Pick<StoredSchedule, 'tenantId' | 'id'>) => ({
    tenantId: s.tenantId,
    scheduleId: s.id,
    ...(catchUpWindowMs !== undefined ? { catchUpWindowMs } : {}),
    ...(fanout?.pageSize !== undefined ? { pageSize: fanout.pageSize } : {}),
    ...(fanout?.maxPagesInFlight !== undefined ? { maxPagesInFlight: fanout.maxPagesInFlight } : {}),
  });

  async function load(actor: Actor, id: string): Promise<StoredSchedule> {
    const schedule = await persistence.find(actor.tenantId, ScheduleId(id));
    if (!schedule) throw new NotFoundError('schedule');
    return schedule;
  }

  function view(s: StoredSchedule, live?: ScheduleState): ScheduleView {
    const { definition: d } = s;
    return {
      id: s.id,
      name: d.name,
      status: s.status,
      description: compileRecurrence(d.recurrence).describe().replace(`, ${d.recurrence.tzid}`, d.zoneMode === 'recipient-local' ? ", in each recipient's time zone" : `, ${d.recurrence.tzid}`),
      recurrence: d.recurrence,
      zoneMode: d.zoneMode,
      audience: d.audience,
      content: d.content,
      channels: d.channels,
      category: d.category,
      ...(d.policy ? { policy: d.policy } : {}),
      ...(d.startsAt ? { startsAt: d.startsAt } : {}),
      ...(d.endsAt ? { endsAt: d.endsAt } : {}),
      smoothingMs: d.smoothingMs,
      ...(live?.next ? { next: live.next } : {}),
      ...(live?.fanout ? { fanout: live.fanout } : {}),
      state: live ? 'live' : 'stored',
      version: s.version,
      workflowId: scheduleWorkflowId(s.tenantId, s.id),
      createdAt: s.createdAt,
      updatedAt: s.updatedAt,
    };
  }

  async function liveState(s: StoredSchedule): Promise<ScheduleState | undefined> {
    try {
      return await workflows.connection.withDeadline(Date.now() + queryTimeoutMs, () => handleOf(s).query(scheduleStateQuery));
    } catch {
      return undefined;
    }
  }

  async function start(s: StoredSchedule): Promise<void> {
    await workflows.start<typeof scheduleWorkflow>(SCHEDULE_WORKFLOW_TYPE, {
      taskQueue,
      workflowId: scheduleWorkflowId(s.tenantId, s.id),
      args: [workflowArgs(s)],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      typedSearchAttributes: new TypedSearchAttributes([
        { key: TenantIdKey, value: s.tenantId },
        { key: ScheduleIdKey, value: s.id },
        { key: StatusKey, value: s.status },
      ]),
      memo: { name: s.definition.name },
      staticSummary: `${s.definition.name} — ${view(s).description}`,
    });
  }

  /** Tells the workflow the definition changed, starting it again if it had ended (a rule or window extended). */
  async function notify(s: StoredSchedule, rule: boolean): Promise<void> {
    await workflows.signalWithStart<typeof scheduleWorkflow, [{ rule: boolean }]>(SCHEDULE_WORKFLOW_TYPE, {
      taskQueue,
      workflowId: scheduleWorkflowId(s.tenantId, s.id),
      args: [workflowArgs(s)],
      signal: scheduleChangedSignal,
      signalArgs: [{ rule }],
    });
  }

  /** Runs a lifecycle Update; a refusal is a 409 with its reason. An ended workflow needs none. */
  async function lifecycle(actor: Actor, id: string, status: ScheduleStatus, update: typeof pauseScheduleUpdate): Promise<ScheduleView> {
    assertAdmin(actor);
    const schedule = await load(actor, id);
    if (schedule.status === 'archived') throw new ConflictError('the schedule is archived');
    if (schedule.status === status) throw new ConflictError(`the schedule is already ${status}`);
    let live: ScheduleState | undefined;
    try {
      live = await handleOf(schedule).executeUpdate(update);
    } catch (error) {
      if (error instanceof WorkflowUpdateFailedError) throw new ConflictError(error.cause instanceof Error ? error.cause.message : 'the schedule refused the change');
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
    const updated = await persistence.update(schedule.tenantId, schedule.id, { status });
    // A resumed schedule whose workflow had ended (its window was over) starts again.
    if (status === 'active' && live === undefined) await notify(updated, false);
    return view(updated, live);
  }

  return {
    /** Creates a schedule and starts its workflow. With an Idempotency-Key and no `id`, the id derives from the key. */
    async create(actor: Actor, input: ScheduleInput, requestKey?: string): Promise<ScheduleView> {
      assertAdmin(actor);
      const definition = await checked(actor.tenantId, input);
      const id = ScheduleId(input.id ?? `sch_${requestKey ? digest(`${actor.tenantId}\n${requestKey}`) : randomUUID().replaceAll('-', '')}`);
      if (await persistence.find(actor.tenantId, id)) throw new ConflictError(`schedule ${id} exists: edit it, or PUT it`);
      const stored = await persistence.insert({ tenantId: actor.tenantId, id, definition, status: 'active' });
      await start(stored);
      return view(stored);
    },

    /** Creates or replaces the schedule `id` (schedules as code); `created` tells the two apart. */
    async put(actor: Actor, id: string, input: Omit<ScheduleInput, 'id'>): Promise<ScheduleView & { created: boolean }> {
      assertAdmin(actor);
      const definition = await checked(actor.tenantId, input);
      const existing = await persistence.find(actor.tenantId, ScheduleId(id));
      if (!existing) {
        const stored = await persistence.insert({ tenantId: actor.tenantId, id: ScheduleId(id), definition, status: 'active' });
        await start(stored);
        return { ...view(stored), created: true };
      }
      if (existing.status === 'archived') throw new ConflictError('the schedule is archived');
      if (JSON.stringify(existing.definition) === JSON.stringify(definition)) return { ...view(existing), created: false };
      const updated = await persistence.update(existing.tenantId, existing.id, { definition });
      await notify(updated, ruleChanged(existing.definition, definition));
      return { ...view(updated), created: false };
    },

    async get(actor: Actor, id: string): Promise<ScheduleView> {
      const schedule = await load(actor, id);
      return view(schedule, await liveState(schedule));
    },

    async list(actor: Actor, query: { status?: ScheduleStatus; limit?: number; cursor?: string }): Promise<{ data: ScheduleView[]; nextCursor: string | null }> {
      const page = await persistence.list(actor.tenantId, { ...(query.status ? { status: query.status } : {}), limit: query.limit ?? 20, ...(query.cursor ? { cursor: query.cursor } : {}) });
      return { data: page.items.map((s) => view(s)), nextCursor: page.nextCursor };
    },

    /** Edits the definition: pages not yet started use it; a rule change applies from now on. */
    async edit(actor: Actor, id: string, patch: SchedulePatch): Promise<ScheduleView> {
      assertAdmin(actor);
      const schedule = await load(actor, id);
      if (schedule.status === 'archived') throw new ConflictError('the schedule is archived');
      const current = schedule.definition;
      const merged = {
        ...current,
        ...patch,
        ...(patch.ical !== undefined ? { recurrence: undefined } : patch.recurrence === undefined ? { ical: undefined } : {}),
      };
      const definition = await checked(actor.tenantId, merged);
      const updated = await persistence.update(schedule.tenantId, schedule.id, { definition });
      await notify(updated, ruleChanged(current, definition));
      return view(updated);
    },

    pause: (actor: Actor, id: string) => lifecycle(actor, id, 'paused', pauseScheduleUpdate),
    resume: (actor: Actor, id: string) => lifecycle(actor, id, 'active', resumeScheduleUpdate),
    archive: (actor: Actor, id: string) => lifecycle(actor, id, 'archived', archiveScheduleUpdate),

    /** The audience per zone now, and the next `count` buckets: when each zone's local occurrence fires. */
    /** The audience per zone and the next buckets; with `userId`, that user's message in the buckets that hold their zone. */
    async preview(actor: Actor, id: string, count: number, userId?: string): Promise<SchedulePreview> {
      const { definition: d } = await load(actor, id);
      const forUser = userId !== undefined && compose ? await previewRecipient(actor.tenantId, UserId(userId), d) : undefined;
      const byZone = await persistence.audienceByZone(actor.tenantId, d.audience, d.category);
      const total = [...byZone.values()].reduce((a, b) => a + b, 0);
      const recipientsOf = (key: string) => (key === '*' ? total : (byZone.get(key === '~rule' ? null : key) ?? 0));
      const fences: Record<string, number> = {};
      const fence = Math.max(Date.now(), d.startsAt ? Date.parse(d.startsAt) - 1 : -Infinity);
      const buckets: SchedulePreview['buckets'] = [];
      while (buckets.length < count) {
        const bucket = nextBucket({
          recurrence: d.recurrence,
          zoneMode: d.zoneMode,
          zones: [...byZone.keys()],
          fences,
          fence,
          ...(d.endsAt ? { endsAt: Date.parse(d.endsAt) } : {}),
        });
        if (!bucket) break;
        buckets.push({
          firesAt: new Date(bucket.firesAt).toISOString(),
          members: await Promise.all(
            bucket.members.map(async (m) => ({
              zone: m.zone,
              local: m.occurrence.local,
              recurrenceId: m.recurrenceId,
              recipients: recipientsOf(zoneKey(m.recipients)),
              ...(forUser && (d.zoneMode === 'pinned' || m.zone === forUser.recipient.timeZone) ? { messages: await forUser.messagesAt(m.occurrence.epochMs) } : {}),
            })),
          ),
        });
        for (const m of bucket.members) fences[zoneKey(m.recipients)] = bucket.firesAt;
      }
      return {
        description: view({ tenantId: actor.tenantId, id: ScheduleId(id), definition: d, status: 'active', version: 0, createdAt: '', updatedAt: '' }).description,
        zones: [...[...byZone].reduce((acc, [zone, n]) => acc.set(zone ?? d.recurrence.tzid, (acc.get(zone ?? d.recurrence.tzid) ?? 0) + n), new Map<string, number>())]
          .map(([zone, recipients]) => ({ zone, recipients }))
          .sort((a, b) => a.zone.localeCompare(b.zone)),
        buckets,
      };
    },

    /** What the latest occurrences did, newest first: targeted, sent, deferred, skipped by reason, failed. */
    async runs(actor: Actor, id: string, limit: number): Promise<ScheduleRun[]> {
      const schedule = await load(actor, id);
      const rows = await persistence.runs(schedule.tenantId, schedule.id, 500);
      const byOccurrence = new Map<string, RunRow[]>();
      for (const row of rows) byOccurrence.set(row.recurrenceId, [...(byOccurrence.get(row.recurrenceId) ?? []), row]);
      return [...byOccurrence.entries()].slice(0, limit).map(([recurrenceId, zones]) => {
        const skipped: Record<string, number> = {};
        for (const z of zones) for (const [reason, n] of Object.entries(z.skipped)) skipped[reason] = (skipped[reason] ?? 0) + n;
        const times = zones.map((z) => z.firesAt.getTime());
        const sum = (f: (z: RunRow) => number) => zones.reduce((a, z) => a + f(z), 0);
        return {
          recurrenceId,
          firstFiresAt: new Date(Math.min(...times)).toISOString(),
          lastFiresAt: new Date(Math.max(...times)).toISOString(),
          zones: zones.length,
          targeted: sum((z) => z.targeted),
          sent: sum((z) => z.sent),
          deferred: sum((z) => z.deferred),
          failed: sum((z) => z.failed),
          skipped,
          completed: zones.every((z) => z.completedAt !== undefined),
        };
      });
    },
  };
}

export type ScheduleService = ReturnType<typeof createScheduleService>;
