import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { CategoryService } from '../../categories/service.js';
import { actorOf } from '../auth.js';
import { problemResponses } from '../problem.js';
import { CategoryList, CategoryListQuery, CategoryParams, CategoryView, PutCategoryBody } from '../schemas/categories.js';

const problems = problemResponses(403, 404, 413, 415);

export const categoryRoutes: FastifyPluginAsyncTypebox<{ categories: CategoryService }> = async (app, { categories }) => {
  app.put(
    '/v1/categories/:category',
    {
      schema: {
        summary: "Define a category's delivery policy (admin); pending occurrences of the category follow it at send time",
        params: CategoryParams,
        body: PutCategoryBody,
        response: { 200: CategoryView, 201: CategoryView, ...problems },
      },
    },
    async (request, reply) => {
      const { created, ...category } = await categories.put(actorOf(request.principal), request.params.category, request.body);
      return reply.status(created ? 201 : 200).send(category);
    },
  );

  app.get(
    '/v1/categories/:category',
    { schema: { summary: 'A category and its policy', params: CategoryParams, response: { 200: CategoryView, ...problems } } },
    async (request) => categories.get(actorOf(request.principal), request.params.category),
  );

  app.get(
    '/v1/categories',
    { schema: { summary: "The tenant's categories, newest first, by cursor", querystring: CategoryListQuery, response: { 200: CategoryList, ...problems } } },
    async (request) => categories.list(actorOf(request.principal), request.query),
  );

  app.delete(
    '/v1/categories/:category',
    { schema: { summary: 'Remove a category policy (admin); its reminders fall back to the defaults', params: CategoryParams, response: { 204: Type.Null({ description: 'Removed' }), ...problems } } },
    async (request, reply) => {
      await categories.remove(actorOf(request.principal), request.params.category);
      return reply.status(204).send(null);
    },
  );
};
