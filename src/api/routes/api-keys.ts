import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { InvalidInputError } from '../../domain/errors.js';
import type { ApiKeyService } from '../../keys/service.js';
import { actorOf } from '../auth.js';
import { problemResponses } from '../problem.js';
import { ApiKeyList, ApiKeyParams, CreateApiKeyBody, CreatedApiKeyView } from '../schemas/api-keys.js';

const problems = problemResponses(403, 404, 409, 413, 415, 422);

export const apiKeyRoutes: FastifyPluginAsyncTypebox<{ apiKeys: ApiKeyService }> = async (app, { apiKeys }) => {
  app.post(
    '/v1/api-keys',
    {
      schema: {
        summary: "Create an API key of the caller's tenant (admin): an admin key, or one scoped to a user; the token is shown once",
        body: CreateApiKeyBody,
        response: { 201: CreatedApiKeyView, ...problems },
      },
    },
    async (request, reply) => {
      const { scope, userId } = request.body;
      if (scope === 'user' && userId === undefined) throw new InvalidInputError('userId', 'a user key needs the user it acts for');
      if (scope === 'admin' && userId !== undefined) throw new InvalidInputError('userId', 'an admin key acts for the whole tenant: no userId');
      return reply.status(201).send(await apiKeys.create(actorOf(request.principal), request.body));
    },
  );

  app.get(
    '/v1/api-keys',
    { schema: { summary: "The tenant's API keys, revoked ones included (admin); never a secret", response: { 200: ApiKeyList, ...problems } } },
    async (request) => apiKeys.list(actorOf(request.principal)),
  );

  app.delete(
    '/v1/api-keys/:keyId',
    { schema: { summary: 'Revoke a key (admin): refused from the next request on', params: ApiKeyParams, response: { 204: Type.Null({ description: 'Revoked' }), ...problems } } },
    async (request, reply) => {
      await apiKeys.revoke({ ...actorOf(request.principal), keyId: request.principal.keyId }, request.params.keyId);
      return reply.status(204).send(null);
    },
  );
};
