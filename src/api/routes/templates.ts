import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { TemplateService } from '../../templates/service.js';
import { actorOf } from '../auth.js';
import { problemResponses } from '../problem.js';
import { PutTemplateBody, TemplateList, TemplateListQuery, TemplateParams, TemplateView } from '../schemas/templates.js';

const problems = problemResponses(403, 404, 413, 415);

export const templateRoutes: FastifyPluginAsyncTypebox<{ templates: TemplateService }> = async (app, { templates }) => {
  app.put(
    '/v1/templates/:id',
    {
      bodyLimit: 1024 * 1024, // an HTML part may be long
      schema: {
        summary: 'Define a message template (admin): per-locale variants per channel, checked now, rendered per recipient at send time',
        params: TemplateParams,
        body: PutTemplateBody,
        response: { 200: TemplateView, 201: TemplateView, ...problems },
      },
    },
    async (request, reply) => {
      const { created, ...template } = await templates.put(actorOf(request.principal), request.params.id, request.body);
      return reply.status(created ? 201 : 200).send(template);
    },
  );

  app.get(
    '/v1/templates/:id',
    { schema: { summary: 'A template', params: TemplateParams, response: { 200: TemplateView, ...problems } } },
    async (request) => templates.get(actorOf(request.principal), request.params.id),
  );

  app.get(
    '/v1/templates',
    { schema: { summary: "The tenant's templates, newest first, by cursor", querystring: TemplateListQuery, response: { 200: TemplateList, ...problems } } },
    async (request) => templates.list(actorOf(request.principal), request.query),
  );

  app.delete(
    '/v1/templates/:id',
    {
      schema: {
        summary: 'Remove a template (admin); reminders and schedules still naming it send their plain title and body, recorded as a fallback',
        params: TemplateParams,
        response: { 204: Type.Null({ description: 'Removed' }), ...problems },
      },
    },
    async (request, reply) => {
      await templates.remove(actorOf(request.principal), request.params.id);
      return reply.status(204).send(null);
    },
  );
};
