import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { UserId } from '../../domain/ids.js';
import type { UserService } from '../../users/service.js';
import { actorOf } from '../auth.js';
import { ProblemSchema } from '../problem.js';
import { IfMatchHeaders, PreferencesInput, UserParams, UserView } from '../schemas/users.js';

const problems = { 400: ProblemSchema, 401: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema, 429: ProblemSchema };

export const userRoutes: FastifyPluginAsyncTypebox<{ users: UserService }> = async (app, { users }) => {
  app.get(
    '/v1/users/:userId',
    { schema: { summary: "A user and their preferences", params: UserParams, response: { 200: UserView, ...problems } } },
    async (request, reply) => {
      const user = await users.get(actorOf(request.principal), UserId(request.params.userId));
      return reply.header('etag', `"${user.version}"`).send(user);
    },
  );

  app.put(
    '/v1/users/:userId/preferences',
    {
      schema: {
        summary: "Replace a user's preferences (creates the user); running reminders pick them up at once",
        params: UserParams,
        headers: IfMatchHeaders,
        body: PreferencesInput,
        response: { 200: UserView, ...problems },
      },
    },
    async (request, reply) => {
      const ifMatch = request.headers['if-match'];
      const expected = ifMatch === undefined ? undefined : Number(ifMatch.replaceAll('"', ''));
      const user = await users.putPreferences(actorOf(request.principal), UserId(request.params.userId), request.body, expected);
      return reply.header('etag', `"${user.version}"`).send(user);
    },
  );
};
