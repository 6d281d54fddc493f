export { canonicalLocale, localeChain, textDirection } from './locale.js';
export { plainMessage, renderMessage, type RenderedMessage, type RenderFallback, type Rendering, type RenderRequest } from './render.js';
export {
  LOCALE_PATTERN,
  TEMPLATE_ID_PATTERN,
  MessageContentSchema,
  TemplateContentSchema,
  TemplateRefSchema,
  TemplateVariantSchema,
  type MessageContent,
  type TemplateContent,
  type TemplateRef,
  type TemplateVariant,
} from './schema.js';
export { smsLength, type SmsEncoding, type SmsLength } from './sms-segments.js';
export { SMS_REFERENCE_CHARACTERS, templateIssues, type TemplateChecker, type TemplateIssue, type TemplateRules } from './validate.js';
export { KNOWN_VARIABLES, type AttributeValue, type OccurrenceFacts, type RecipientFacts, type SourceFacts, type SourceKind } from './variables.js';
