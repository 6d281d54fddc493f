/**
 * The reminder use cases' persistence port, implemented over the storage layer.
 */
import type { Kysely } from 'kysely';
import { ConflictError, InvalidInputError } from '../domain/errors.js';
import type { RecurrenceInput } from '../domain/recurrence/index.js';
import type { TenantId, UserId } from '../domain/ids.js';
import { createReminderStore, type ReminderRecord, type StoredRecurrence } from '../storage/reminders.js';
import { createCategoryPolicyStore } from '../storage/category-policies.js';
import { createDecisionLog, type DecisionRecord } from '../storage/decisions.js';
import type { OccurrenceDecision } from '../domain/decisions.js';
import { createLedger } from '../storage/ledger.js';
import { createTenantStore } from '../storage/tenants.js';
import { createUserStore } from '../storage/users.js';
import { isStorageError, StorageErrorType } from '../storage/errors.js';
import type { Database } from '../storage/schema.js';
import type { ReminderPersistence, StoredReminder } from './service.js';

function recurrenceOf(stored: StoredRecurrence): RecurrenceInput {
  if (!stored.dtstart || !stored.tzid) throw new InvalidInputError('recurrence', 'stored reminder lacks dtstart or tzid');
  return {
    dtstart: stored.dtstart,
    tzid: stored.tzid,
    ...(stored.rrule ? { rrule: stored.rrule } : {}),
    ...(stored.rdate ? { rdate: stored.rdate } : {}),
    ...(stored.exdate ? { exdate: stored.exdate } : {}),
  };
}

function toStored(record: ReminderRecord): StoredReminder {
  return {
    tenantId: record.tenantId,
    userId: record.userId,
    id: record.id,
    definition: {
      recurrence: recurrenceOf(record.recurrence),
      zoneMode: record.zoneMode,
      content: record.content,
      channels: record.channels,
      category: record.category,
      ...(Object.keys(record.policy).length > 0 ? { policy: record.policy } : {}),
    },
    status: record.status,
    ...(record.statusReason !== undefined ? { statusReason: record.statusReason } : {}),
    createdAt: record.createdAt.toISOString(),
  };
}

/** A stored decision as the workflow made it (rows written before the full decision was kept: rebuilt from the columns). */
function toDecision(record: DecisionRecord): OccurrenceDecision {
  const kept = record.details.decision as OccurrenceDecision | undefined;
  if (kept) return kept;
  const occurrence = {
    reminderId: 'reminderId' in record.source ? record.source.reminderId : record.source.scheduleId,
    recurrenceId: record.recurrenceId,
    scheduledFor: record.occurrenceAt.toISOString(),
  };
  const decidedAt = record.decidedAt.toISOString();
  const channels = record.channels as Extract<OccurrenceDecision, { kind: 'delivered' }>['channels'];
  switch (record.kind) {
    case 'deferred':
      return { kind: 'deferred', occurrence, decidedAt, until: (record.deferredUntil ?? record.decidedAt).toISOString(), explanation: record.reason ?? '' };
    case 'missed':
      return { kind: 'missed', occurrence, decidedAt, lateByMs: Number(record.details.lateByMs ?? 0), count: Number(record.details.count ?? 1) };
    case 'skipped':
      return { kind: 'skipped', occurrence, decidedAt, reason: record.reason ?? '', channels };
    default:
      return { kind: 'delivered', occurrence, decidedAt, channels };
  }
}

export function createStoragePersistence(db: Kysely<Database>): ReminderPersistence {
  const tenants = createTenantStore(db);
  const users = createUserStore(db);
  const reminders = createReminderStore(db);
  const ledger = createLedger(db);
  const categoryPolicies = createCategoryPolicyStore(db);
  const decisionLog = createDecisionLog(db);

  return {
    async saveEmailContact(tenantId: TenantId, userId: UserId, email: string, verified: boolean) {
      await tenants.ensure({ id: tenantId, name: tenantId });
      // An admin key (the tenant) vouches for the address it gives (Chime runs no verification
      // flow); one given with a user key waits, unverified, for the tenant to verify it.
      const contact = { address: email, verified };
      // A new user is created with it (one statement); an existing one gets it only if it differs.
      const user = await users.ensure(tenantId, userId, { contacts: { email: contact } });
      if (user.preferences.contacts?.email?.address === email) return;
      await users.modifyPreferences(tenantId, userId, (current) =>
        current.contacts?.email?.address === email ? current : { ...current, contacts: { ...current.contacts, email: contact } },
      );
    },

    async insertReminder(reminder: StoredReminder) {
      try {
        await reminders.insert({
          tenantId: reminder.tenantId,
          userId: reminder.userId,
          id: reminder.id,
          recurrence: reminder.definition.recurrence,
          zoneMode: reminder.definition.zoneMode,
          content: reminder.definition.content,
          channels: reminder.definition.channels,
          category: reminder.definition.category,
          ...(reminder.definition.policy ? { policy: reminder.definition.policy } : {}),
        });
      } catch (error) {
        // The same create retried (same Idempotency-Key → same id) finds the row it wrote before.
        if (!isStorageError(error, StorageErrorType.UniqueViolation)) throw error;
        const existing = await reminders.get(reminder.tenantId, reminder.id);
        if (!existing || existing.userId !== reminder.userId) throw new ConflictError('reminder id already in use');
      }
    },

    async updateReminder({ tenantId, id, definition, status }) {
      await reminders.update(tenantId, id, {
        recurrence: definition.recurrence,
        zoneMode: definition.zoneMode,
        content: definition.content,
        channels: definition.channels,
        category: definition.category,
        policy: definition.policy ?? {},
        status,
      });
    },

    async listDeliveries(tenantId, reminderId, page) {
      const result = await ledger.listForReminder(tenantId, reminderId, page);
      return {
        nextCursor: result.nextCursor,
        items: result.items.map((d) => ({
          idempotencyKey: d.idempotencyKey,
          channel: d.channel,
          recurrenceId: d.recurrenceId,
          occurrenceAt: d.occurrenceAt.toISOString(),
          status: d.status,
          attempts: d.attempts,
          ...(d.provider ? { provider: d.provider } : {}),
          ...(d.providerMessageId ? { providerMessageId: d.providerMessageId } : {}),
          ...(d.providerStatus ? { providerStatus: d.providerStatus.status } : {}),
          ...(d.lastError ? { lastError: d.lastError } : {}),
          ...(d.settledAt ? { settledAt: d.settledAt.toISOString() } : {}),
        })),
      };
    },

    recipientOf: (tenantId, userId) => users.get(tenantId, userId),

    async categoryPolicyOf(tenantId, category) {
      return (await categoryPolicies.get(tenantId, category))?.policy;
    },

    async findReminder(tenantId, reminderId) {
      const record = await reminders.get(tenantId, reminderId);
      return record && toStored(record);
    },

    async latestDecisions(tenantId, reminderId, limit) {
      return (await decisionLog.listForReminder(tenantId, reminderId, { limit })).items.map(toDecision);
    },

    async listReminders(tenantId, filter) {
      const page = await reminders.list(tenantId, {
        ...(filter.userId !== undefined ? { userId: filter.userId as UserId } : {}),
        ...(filter.status !== undefined ? { status: filter.status } : {}),
        ...(filter.cursor !== undefined ? { cursor: filter.cursor } : {}),
        limit: filter.limit,
      });
      return { items: page.items.map(toStored), nextCursor: page.nextCursor };
    },
  };
}
