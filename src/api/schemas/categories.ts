/** Category resource schemas: request validation, handler types and the OpenAPI document. */
import Type from 'typebox';
import { DeliveryPolicySchema, PolicyOverridesSchema } from '../../domain/policy/index.js';
import { CATEGORY_PATTERN } from '../../domain/preferences/index.js';

export const CategoryParams = Type.Object({
  category: Type.String({ pattern: CATEGORY_PATTERN, description: 'Tenant-defined category name, e.g. reminders, digest' }),
});

export const PutCategoryBody = Type.Object(
  {
    policy: PolicyOverridesSchema,
    description: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
);

export const CategoryView = Type.Object(
  {
    category: Type.String(),
    description: Type.Optional(Type.String()),
    policy: PolicyOverridesSchema,
    effectivePolicy: Type.Object(DeliveryPolicySchema.properties, {
      additionalProperties: false,
      description: "Chime's defaults with this category's overrides applied; a reminder's own policy still wins",
    }),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'Category' },
);

export const CategoryListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    cursor: Type.Optional(Type.String({ maxLength: 512, description: 'nextCursor of the previous page' })),
  },
  { additionalProperties: false },
);

export const CategoryList = Type.Object({
  data: Type.Array(CategoryView),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'null on the last page' }),
});
