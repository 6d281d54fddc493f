/**
 * Reminder use cases: validate, persist the definition, start (or find) the reminder's workflow.
 * Temporal holds the running state; the database holds the definition and contact points.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowIdConflictPolicy, type WorkflowClient } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import { compileRecurrence, parseICal, type RecurrenceInput } from '../domain/recurrence/index.js';
import type { Channel } from '../domain/delivery.js';
import { ReminderId, type TenantId, UserId } from '../domain/ids.js';
import {
  REMINDER_WORKFLOW_TYPE,
  reminderWorkflowId,
  reminderStateQuery,
  type reminderWorkflow,
  type ReminderWorkflowInput,
} from '../../workflows/reminder.js';
import { ReminderIdKey, StatusKey, TenantIdKey, UserIdKey } from '../../workflows/search-attributes.js';
import { InvalidInputError, NotFoundError } from '../domain/errors.js';

export interface CreateReminderInput {
  userId: string;
  email: string;
  title: string;
  body: string;
  channels?: Channel[];
  recurrence?: RecurrenceInput;
  ical?: string;
}

export type ReminderStatus = 'active' | 'completed' | 'cancelled';

export interface ReminderView {
  id: string;
  userId: string;
  status: ReminderStatus;
  title: string;
  description: string;
  recurrence: RecurrenceInput;
  channels: Channel[];
  upcoming: { utc: string; local: string }[];
  workflowId: string;
  createdAt: string;
}

export interface StoredReminder {
  tenantId: TenantId;
  userId: UserId;
  id: ReminderId;
  title: string;
  body: string;
  channels: Channel[];
  recurrence: RecurrenceInput;
  createdAt: string;
}

/** Port: the persistence the reminder use cases need (implemented by src/storage). */
export interface ReminderPersistence {
  saveEmailContact(tenantId: TenantId, userId: UserId, email: string): Promise<void>;
  insertReminder(reminder: StoredReminder): Promise<void>;
  findReminder(tenantId: TenantId, reminderId: ReminderId): Promise<StoredReminder | undefined>;
}

export interface ReminderServiceDeps {
  workflows: WorkflowClient;
  taskQueue: string;
  persistence: ReminderPersistence;
}

const UPCOMING_SHOWN = 5;

export function createReminderService({ workflows, taskQueue, persistence }: ReminderServiceDeps) {
  function view(reminder: StoredReminder, status: ReminderStatus): ReminderView {
    const recurrence = compileRecurrence(reminder.recurrence);
    return {
      id: reminder.id,
      userId: reminder.userId,
      status,
      title: reminder.title,
      description: recurrence.describe(),
      recurrence: reminder.recurrence,
      channels: reminder.channels,
      upcoming: recurrence.take(UPCOMING_SHOWN, Date.now()).map(({ utc, local }) => ({ utc, local })),
      workflowId: reminderWorkflowId(reminder.tenantId, reminder.userId, reminder.id),
      createdAt: reminder.createdAt,
    };
  }

  return {
    async create(tenantId: TenantId, body: CreateReminderInput): Promise<ReminderView> {
      if ((body.recurrence === undefined) === (body.ical === undefined)) {
        throw new InvalidInputError('recurrence', 'give exactly one of `recurrence` or `ical`');
      }
      const recurrenceInput = body.recurrence ?? parseICal(body.ical ?? '');
      const recurrence = compileRecurrence(recurrenceInput); // throws RecurrenceError naming the part
      const reminder: StoredReminder = {
        tenantId,
        userId: UserId(body.userId),
        id: ReminderId(`rem_${randomUUID().replaceAll('-', '')}`),
        title: body.title,
        body: body.body,
        channels: body.channels ?? ['email'],
        recurrence: recurrenceInput,
        createdAt: new Date().toISOString(),
      };
      await persistence.saveEmailContact(tenantId, reminder.userId, body.email);
      await persistence.insertReminder(reminder);

      const input: ReminderWorkflowInput = {
        tenantId,
        userId: reminder.userId,
        reminderId: reminder.id,
        recurrence: recurrenceInput,
        content: { title: reminder.title, body: reminder.body },
        channels: reminder.channels,
      };
      await workflows.start<typeof reminderWorkflow>(REMINDER_WORKFLOW_TYPE, {
        taskQueue,
        workflowId: reminderWorkflowId(tenantId, reminder.userId, reminder.id),
        args: [input],
        // Starting the same reminder twice finds the running workflow instead of a second one.
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
        typedSearchAttributes: new TypedSearchAttributes([
          { key: TenantIdKey, value: tenantId },
          { key: UserIdKey, value: reminder.userId },
          { key: ReminderIdKey, value: reminder.id },
          { key: StatusKey, value: 'active' },
        ]),
        memo: { description: recurrence.describe(), title: reminder.title },
        staticSummary: `${reminder.title} — ${recurrence.describe()}`,
      });
      return view(reminder, 'active');
    },

    async get(tenantId: TenantId, reminderId: ReminderId): Promise<ReminderView> {
      const reminder = await persistence.findReminder(tenantId, reminderId);
      if (!reminder) throw new NotFoundError('reminder');
      const handle = workflows.getHandle(reminderWorkflowId(tenantId, reminder.userId, reminder.id));
      const state = await handle.query(reminderStateQuery);
      return view(reminder, state.status);
    },
  };
}

export type ReminderService = ReturnType<typeof createReminderService>;
