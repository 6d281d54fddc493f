import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ScheduleService } from '../../schedules/service.js';
import { actorOf } from '../auth.js';
import { problemResponses } from '../problem.js';
import {
  CreateScheduleBody,
  EditScheduleBody,
  PutScheduleBody,
  ScheduleList,
  ScheduleListQuery,
  ScheduleParams,
  SchedulePreviewQuery,
  SchedulePreviewView,
  ScheduleRunsQuery,
  ScheduleRunsView,
  ScheduleView,
} from '../schemas/schedules.js';

const problems = problemResponses(403, 404, 409, 413, 415, 422);
/** An explicit audience may list 10,000 user ids: more than the API's default body limit. */
const DEFINITION_BODY_LIMIT = 2 * 1024 * 1024;

export const scheduleRoutes: FastifyPluginAsyncTypebox<{ schedules: ScheduleService }> = async (app, { schedules }) => {
  app.post(
    '/v1/schedules',
    { bodyLimit: DEFINITION_BODY_LIMIT, schema: { summary: 'Create an audience schedule (admin)', body: CreateScheduleBody, response: { 201: ScheduleView, ...problems } } },
    async (request, reply) => {
      const created = await schedules.create(actorOf(request.principal), request.body, request.idempotency?.key);
      return reply.status(201).header('location', `/v1/schedules/${created.id}`).send(created);
    },
  );

  app.put(
    '/v1/schedules/:scheduleId',
    {
      bodyLimit: DEFINITION_BODY_LIMIT,
      schema: {
        summary: 'Create or replace the schedule with this id (admin): what `chime schedules apply` uses',
        params: ScheduleParams,
        body: PutScheduleBody,
        response: { 200: ScheduleView, 201: ScheduleView, ...problems },
      },
    },
    async (request, reply) => {
      const { created, ...schedule } = await schedules.put(actorOf(request.principal), request.params.scheduleId, request.body);
      return reply.status(created ? 201 : 200).send(schedule);
    },
  );

  app.get(
    '/v1/schedules',
    { schema: { summary: "The tenant's schedules, newest first, by cursor", querystring: ScheduleListQuery, response: { 200: ScheduleList, ...problems } } },
    async (request) => schedules.list(actorOf(request.principal), request.query),
  );

  app.get(
    '/v1/schedules/:scheduleId',
    { schema: { summary: 'A schedule, with its next bucket and any fan-out in progress', params: ScheduleParams, response: { 200: ScheduleView, ...problems } } },
    async (request) => schedules.get(actorOf(request.principal), request.params.scheduleId),
  );

  app.patch(
    '/v1/schedules/:scheduleId',
    {
      bodyLimit: DEFINITION_BODY_LIMIT,
      schema: {
        summary: 'Edit a schedule (admin): pages not yet started use the new definition; a rule change applies from now on',
        params: ScheduleParams,
        body: EditScheduleBody,
        response: { 200: ScheduleView, ...problems },
      },
    },
    async (request) => schedules.edit(actorOf(request.principal), request.params.scheduleId, request.body),
  );

  for (const action of ['pause', 'resume', 'archive'] as const) {
    app.post(
      `/v1/schedules/:scheduleId/${action}`,
      { schema: { summary: `${action} the schedule (admin)`, params: ScheduleParams, response: { 200: ScheduleView, ...problems } } },
      async (request) => schedules[action](actorOf(request.principal), request.params.scheduleId),
    );
  }

  app.get(
    '/v1/schedules/:scheduleId/preview',
    {
      schema: {
        summary: 'The audience per zone now and the next buckets: when each zone fires and for how many recipients',
        params: ScheduleParams,
        querystring: SchedulePreviewQuery,
        response: { 200: SchedulePreviewView, ...problems },
      },
    },
    async (request) => schedules.preview(actorOf(request.principal), request.params.scheduleId, request.query.count ?? 10, request.query.userId),
  );

  app.get(
    '/v1/schedules/:scheduleId/runs',
    {
      schema: {
        summary: 'What the latest occurrences did: targeted, sent, deferred, skipped by reason, failed',
        params: ScheduleParams,
        querystring: ScheduleRunsQuery,
        response: { 200: ScheduleRunsView, ...problems },
      },
    },
    async (request) => ({ data: await schedules.runs(actorOf(request.principal), request.params.scheduleId, request.query.limit ?? 20) }),
  );
};
