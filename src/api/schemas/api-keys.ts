/** API key resource schemas: request validation, handler types and the OpenAPI document. */
import Type from 'typebox';
import { ID_PATTERN } from '../../domain/ids.js';

export const CreateApiKeyBody = Type.Object(
  {
    scope: Type.Union([Type.Literal('admin'), Type.Literal('user')], { description: "admin: the whole tenant; user: one user's own resources (end-user apps)" }),
    userId: Type.Optional(Type.String({ pattern: ID_PATTERN, maxLength: 128, description: 'Required for a user key (the user is created if needed); not allowed for an admin key' })),
    label: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);

export const ApiKeyView = Type.Object(
  {
    id: Type.String(),
    scope: Type.Union([Type.Literal('admin'), Type.Literal('user')]),
    userId: Type.Optional(Type.String()),
    label: Type.Optional(Type.String()),
    createdAt: Type.String({ format: 'date-time' }),
    revokedAt: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { $id: 'ApiKey' },
);

export const CreatedApiKeyView = Type.Object({
  ...ApiKeyView.properties,
  token: Type.String({ description: 'The bearer token: shown in this answer only; Chime stores a hash of its secret' }),
});

export const ApiKeyParams = Type.Object({ keyId: Type.String({ pattern: '^[a-z0-9]{16}$', description: 'The key id (the part of the token after the scope)' }) });

export const ApiKeyList = Type.Object({
  tenantId: Type.String({ description: 'The tenant these keys (and the caller) belong to' }),
  data: Type.Array(ApiKeyView),
  nextCursor: Type.Null({ description: 'A tenant has few keys: one page' }),
});
