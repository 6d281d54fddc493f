import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ReminderId, type TenantId } from '../../domain/ids.js';
import type { ReminderService } from '../../reminders/service.js';
import { ProblemSchema } from '../problem.js';
import { CreateReminderBody, ReminderParams, ReminderView } from '../schemas/reminders.js';

export interface ReminderRoutesOptions {
  reminders: ReminderService;
  tenantId: TenantId;
}

export const reminderRoutes: FastifyPluginAsyncTypebox<ReminderRoutesOptions> = async (app, { reminders, tenantId }) => {
  app.post(
    '/v1/reminders',
    {
      schema: {
        summary: 'Create a reminder',
        body: CreateReminderBody,
        response: { 201: ReminderView, 400: ProblemSchema },
      },
    },
    async (request, reply) => {
      const created = await reminders.create(tenantId, request.body);
      return reply.status(201).header('location', `/v1/reminders/${created.id}`).send(created);
    },
  );

  app.get(
    '/v1/reminders/:reminderId',
    { schema: { summary: 'Get a reminder', params: ReminderParams, response: { 200: ReminderView, 404: ProblemSchema } } },
    async (request) => reminders.get(tenantId, ReminderId(request.params.reminderId)),
  );
};
