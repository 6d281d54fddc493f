/**
 * Message templates: the schema is the single source of the type and of the OpenAPI description;
 * what a schema cannot say (Liquid syntax, known variables, a default locale that exists, SMS
 * length) is checked in `validate.ts`.
 */
import Type, { type Static } from 'typebox';

/** A BCP 47 tag as templates key their variants: language, then optional script/region subtags. */
export const LOCALE_PATTERN = '^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$';
/** Tenant template ids: the category alphabet, so they read well in URLs and files. */
export const TEMPLATE_ID_PATTERN = '^[a-z0-9][a-z0-9_.-]{0,63}$';

const Liquid = (description: string, maxLength: number) => Type.String({ minLength: 1, maxLength, description });

/** Sizes a template's parts may have: a tenant template's, or an inline one's (it travels in requests and history). */
interface TemplateLimits {
  text: number;
  html: number;
  locales: number;
}

function templateSchemas(limits: TemplateLimits) {
  const email = Type.Object(
    {
      subject: Liquid('Subject line (Liquid); line breaks in values are folded to spaces', 998),
      text: Liquid('Plain-text part (Liquid)', limits.text),
      html: Type.Optional(Liquid('HTML part (Liquid); every value is HTML-escaped', limits.html)),
    },
    { additionalProperties: false },
  );
  const sms = Type.Object({ text: Liquid('SMS text (Liquid)', 1_600) }, { additionalProperties: false });
  const variant = Type.Object(
    { email: Type.Optional(email), sms: Type.Optional(sms) },
    { additionalProperties: false, minProperties: 1, description: 'The message in one locale, per channel' },
  );
  const content = Type.Object(
    {
      defaultLocale: Type.String({ pattern: LOCALE_PATTERN, description: 'The last step of every fallback chain; must be one of `locales`' }),
      locales: Type.Record(Type.String(), variant, {
        propertyNames: { pattern: LOCALE_PATTERN },
        minProperties: 1,
        maxProperties: limits.locales,
        description: "Variants by locale. A recipient's locale falls back by dropping subtags (fr-CA → fr), then to defaultLocale, per channel",
      }),
    },
    { additionalProperties: false },
  );
  return { variant, content };
}

const tenantTemplate = templateSchemas({ text: 100_000, html: 200_000, locales: 100 });
/** Inline on a reminder or schedule: small (a reminder carries it through history; see INLINE_REMINDER_TEMPLATE_MAX). */
const inlineTemplate = templateSchemas({ text: 4_000, html: 8_000, locales: 10 });

export const TemplateVariantSchema = tenantTemplate.variant;
export type TemplateVariant = Static<typeof TemplateVariantSchema>;
export const TemplateContentSchema = tenantTemplate.content;
export type TemplateContent = Static<typeof TemplateContentSchema>;

/** What a reminder or schedule renders: a tenant template by id, or one written inline. */
export const TemplateRefSchema = Type.Union(
  [Type.String({ pattern: TEMPLATE_ID_PATTERN, description: 'A tenant template id (see /v1/templates)' }), inlineTemplate.content],
  { description: 'A tenant template id or an inline template; without one, title and body are sent as written' },
);
export type TemplateRef = Static<typeof TemplateRefSchema>;

/** What a reminder or schedule sends: the title and body, rendered through a template when it names one. */
export const MessageContentSchema = Type.Object(
  { title: Type.String({ minLength: 1, maxLength: 200 }), body: Type.String({ maxLength: 10_000 }), template: Type.Optional(TemplateRefSchema) },
  { additionalProperties: false, description: 'Replaced whole: without `template`, a template it had is removed. The title and body are also the fallback when a template cannot render' },
);
export type MessageContent = Static<typeof MessageContentSchema>;
