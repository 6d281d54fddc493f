import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { UserId } from '../../domain/ids.js';
import type { UserService } from '../../users/service.js';
import { actorOf } from '../auth.js';
import { problemResponses } from '../problem.js';
import { IfMatchHeaders, PreferencesInput, PreferencesMergePatch, UserAttributesBody, UserAttributesView, UserParams, UserView } from '../schemas/users.js';
import { UserTagsBody, UserTagsView } from '../schemas/schedules.js';

const problems = problemResponses(403, 404, 409, 412, 413, 415);

/** The version in an `If-Match` header (`"3"` or `3`), if one was sent. */
const expectedVersion = (ifMatch: string | undefined) => (ifMatch === undefined ? undefined : Number(ifMatch.replaceAll('"', '')));

export const userRoutes: FastifyPluginAsyncTypebox<{ users: UserService }> = async (app, { users }) => {
  // RFC 7396's media type is JSON to parse; the route accepts plain JSON too.
  app.addContentTypeParser('application/merge-patch+json', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));

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
        summary:
          "Replace a user's preferences (creates the user): omitted fields take their defaults, except `contacts`, which are kept when omitted; running reminders pick them up at once",
        params: UserParams,
        headers: IfMatchHeaders,
        body: PreferencesInput,
        response: { 200: UserView, ...problems },
      },
    },
    async (request, reply) => {
      const expected = expectedVersion(request.headers['if-match']);
      const user = await users.putPreferences(actorOf(request.principal), UserId(request.params.userId), request.body, expected);
      return reply.header('etag', `"${user.version}"`).send(user);
    },
  );

  app.patch(
    '/v1/users/:userId/preferences',
    {
      schema: {
        summary:
          "Change some of a user's preferences with a JSON Merge Patch (RFC 7396, `application/merge-patch+json`): members given replace the stored ones, objects merge, null removes; the result must be valid as a whole",
        params: UserParams,
        headers: IfMatchHeaders,
        body: PreferencesMergePatch,
        response: { 200: UserView, ...problems },
      },
    },
    async (request, reply) => {
      const expected = expectedVersion(request.headers['if-match']);
      const user = await users.patchPreferences(actorOf(request.principal), UserId(request.params.userId), request.body, expected);
      return reply.header('etag', `"${user.version}"`).send(user);
    },
  );

  app.put(
    '/v1/users/:userId/tags',
    {
      schema: {
        summary: "Replace a user's tags (admin), which audience filters select on (creates the user)",
        params: UserParams,
        body: UserTagsBody,
        response: { 200: UserTagsView, ...problems },
      },
    },
    async (request) => users.setTags(actorOf(request.principal), UserId(request.params.userId), request.body.tags),
  );

  app.put(
    '/v1/users/:userId/attributes',
    {
      schema: {
        summary: "Replace a user's attributes (admin), which templates read as recipient.attributes.* (creates the user)",
        params: UserParams,
        body: UserAttributesBody,
        response: { 200: UserAttributesView, ...problems },
      },
    },
    async (request) => users.setAttributes(actorOf(request.principal), UserId(request.params.userId), request.body.attributes),
  );
};
