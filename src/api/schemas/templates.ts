/** Template resource schemas: request validation, handler types and the OpenAPI document. */
import Type from 'typebox';
import { TEMPLATE_ID_PATTERN, TemplateContentSchema } from '../../domain/templates/index.js';

export const TemplateParams = Type.Object({
  id: Type.String({ pattern: TEMPLATE_ID_PATTERN, description: 'Tenant-chosen template id, e.g. standup, weekly-digest' }),
});

export const PutTemplateBody = Type.Object(
  { ...TemplateContentSchema.properties, description: Type.Optional(Type.String({ maxLength: 500 })) },
  { additionalProperties: false },
);

export const TemplateView = Type.Object(
  {
    id: Type.String(),
    description: Type.Optional(Type.String()),
    ...TemplateContentSchema.properties,
    version: Type.Integer({ description: 'Grows with every replace; each delivery renders the version current when it is sent' }),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'Template' },
);

export const TemplateListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    cursor: Type.Optional(Type.String({ maxLength: 512, description: 'nextCursor of the previous page' })),
  },
  { additionalProperties: false },
);

export const TemplateList = Type.Object({
  data: Type.Array(TemplateView),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'null on the last page' }),
});
