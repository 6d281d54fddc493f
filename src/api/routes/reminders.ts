import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ReminderId } from '../../domain/ids.js';
import type { ReminderService } from '../../reminders/service.js';
import { actorOf } from '../auth.js';
import { problemResponses } from '../problem.js';
import { scopedIdempotencyKey } from '../idempotency.js';
import {
  CreateReminderBody,
  DecisionList,
  DeliveryList,
  DeliveryListQuery,
  DecisionsQuery,
  EditReminderBody,
  PreviewQuery,
  PreviewRuleBody,
  PreviewView,
  ReminderList,
  ReminderListQuery,
  ReminderParams,
  ReminderView,
  SnoozeBody,
} from '../schemas/reminders.js';

export interface ReminderRoutesOptions {
  reminders: ReminderService;
}

const problems = problemResponses(403, 404, 409, 413, 415, 422);

export const reminderRoutes: FastifyPluginAsyncTypebox<ReminderRoutesOptions> = async (app, { reminders }) => {
  app.post(
    '/v1/reminders',
    { schema: { summary: 'Create a reminder', body: CreateReminderBody, response: { 201: ReminderView, ...problems } } },
    async (request, reply) => {
      const created = await reminders.create(actorOf(request.principal), request.body, scopedIdempotencyKey(request));
      request.log.info({ reminderId: created.id, workflowId: created.workflowId, userId: created.userId }, 'reminder created');
      return reply.status(201).header('location', `/v1/reminders/${created.id}`).send(created);
    },
  );

  app.get(
    '/v1/reminders',
    {
      schema: {
        summary: 'List reminders, newest first, by cursor (stable under concurrent inserts)',
        querystring: ReminderListQuery,
        response: { 200: ReminderList, ...problems },
      },
    },
    async (request) => reminders.list(actorOf(request.principal), request.query),
  );

  app.get(
    '/v1/reminders/:reminderId',
    { schema: { summary: 'Get a reminder', params: ReminderParams, response: { 200: ReminderView, ...problems } } },
    async (request) => reminders.get(actorOf(request.principal), ReminderId(request.params.reminderId)),
  );

  app.patch(
    '/v1/reminders/:reminderId',
    {
      schema: {
        summary: 'Edit the rule, content, channels or category; pending occurrences are recomputed',
        params: ReminderParams,
        body: EditReminderBody,
        response: { 200: ReminderView, ...problems },
      },
    },
    async (request) => reminders.edit(actorOf(request.principal), ReminderId(request.params.reminderId), request.body),
  );

  app.get(
    '/v1/reminders/:reminderId/decisions',
    {
      schema: {
        summary: 'The latest send-time decisions, oldest first',
        params: ReminderParams,
        querystring: DecisionsQuery,
        response: { 200: DecisionList, ...problems },
      },
    },
    async (request) => ({
      data: await reminders.decisions(actorOf(request.principal), ReminderId(request.params.reminderId), request.query.limit ?? 20),
    }),
  );

  app.get(
    '/v1/reminders/:reminderId/deliveries',
    {
      schema: {
        summary: 'The delivery ledger of the reminder: one row per occurrence and channel, newest first',
        params: ReminderParams,
        querystring: DeliveryListQuery,
        response: { 200: DeliveryList, ...problems },
      },
    },
    async (request) => reminders.deliveries(actorOf(request.principal), ReminderId(request.params.reminderId), request.query),
  );

  app.get(
    '/v1/reminders/:reminderId/preview',
    {
      schema: {
        summary: "The next occurrences with the user's current preferences and the policy applied, and why",
        params: ReminderParams,
        querystring: PreviewQuery,
        response: { 200: PreviewView, ...problems },
      },
    },
    async (request) => reminders.previewReminder(actorOf(request.principal), ReminderId(request.params.reminderId), request.query.count ?? 10),
  );

  app.post(
    '/v1/previews',
    {
      // Creates nothing, so it needs no Idempotency-Key.
      config: { idempotency: false },
      schema: {
        summary: 'Preview a rule without saving it: occurrences, decisions and reasons',
        body: PreviewRuleBody,
        response: { 200: PreviewView, ...problems },
      },
    },
    async (request) => reminders.previewRule(actorOf(request.principal), request.body),
  );

  const actions = {
    pause: reminders.pause,
    resume: reminders.resume,
    cancel: reminders.cancel,
    'skip-next': reminders.skipNext,
  } as const;
  for (const [action, run] of Object.entries(actions)) {
    app.post(
      `/v1/reminders/:reminderId/${action}`,
      { schema: { summary: `${action} the reminder`, params: ReminderParams, response: { 200: ReminderView, ...problems } } },
      async (request) => run(actorOf(request.principal), ReminderId(request.params.reminderId), scopedIdempotencyKey(request)),
    );
  }

  app.post(
    '/v1/reminders/:reminderId/snooze',
    {
      schema: {
        summary: 'Send the pending occurrence later',
        params: ReminderParams,
        body: SnoozeBody,
        response: { 200: ReminderView, ...problems },
      },
    },
    async (request) => reminders.snooze(actorOf(request.principal), ReminderId(request.params.reminderId), new Date(request.body.until), scopedIdempotencyKey(request)),
  );
};
