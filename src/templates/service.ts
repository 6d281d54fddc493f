/**
 * Templates are the tenant's: a message written once per locale and channel, rendered for each
 * recipient at send time. Everything that can be checked is checked when a template is saved or
 * attached to a reminder or schedule (syntax, variables, default locale, SMS length), so a mistake
 * is a 400 now rather than a fallback at 09:00 on Monday.
 *
 * Admin keys define templates; any key of the tenant may read them.
 */
import { ForbiddenError, InvalidInputError, NotFoundError } from '../domain/errors.js';
import type { TenantId } from '../domain/ids.js';
import { templateIssues, type SourceKind, type TemplateContent, type TemplateRef } from '../domain/templates/index.js';
import type { Actor } from '../domain/principal.js';

export interface TemplateView extends TemplateContent {
  id: string;
  description?: string;
  /** Grows with every replace: a delivery renders the version current at its send time. */
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface StoredTemplate {
  id: string;
  content: TemplateContent;
  description: string | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

/** Port: template rows (src/storage implements it). */
export interface TemplatePersistence {
  put(tenantId: TenantId, id: string, content: TemplateContent, description: string | null): Promise<StoredTemplate & { created: boolean }>;
  get(tenantId: TenantId, id: string): Promise<StoredTemplate | undefined>;
  delete(tenantId: TenantId, id: string): Promise<boolean>;
  list(tenantId: TenantId, page: { limit: number; cursor?: string }): Promise<{ items: StoredTemplate[]; nextCursor: string | null }>;
}

/** Serialized size of an inline template a reminder may carry. */
export const INLINE_REMINDER_TEMPLATE_MAX = 8 * 1024;

function view(t: StoredTemplate): TemplateView {
  return {
    id: t.id,
    ...(t.description !== null ? { description: t.description } : {}),
    ...t.content,
    version: t.version,
    createdAt: t.createdAt.toISOString(),
    updatedAt: t.updatedAt.toISOString(),
  };
}

export function createTemplateService({ persistence, smsMaxSegments }: { persistence: TemplatePersistence; smsMaxSegments: number }) {
  /** Throws a 400 naming every problem: `field` under `prefix` (the template's place in the request). */
  function check(content: TemplateContent, sources: readonly SourceKind[], prefix: string, name: string): void {
    const issues = templateIssues(content, { sources, smsMaxSegments });
    const [first, ...rest] = issues.map((i) => ({ field: [prefix, i.field].filter(Boolean).join('.'), reason: `${name}: ${i.reason}` }));
    if (first) throw new InvalidInputError(first.field, first.reason, rest);
  }

  return {
    /** Creates or replaces the template; `created` tells the two apart. */
    async put(actor: Actor, id: string, input: TemplateContent & { description?: string }): Promise<TemplateView & { created: boolean }> {
      if (actor.userId !== undefined) throw new ForbiddenError('template', 'only an admin key may change templates');
      const { description, ...content } = input;
      check(content, ['reminder', 'schedule'], '', `template "${id}"`);
      const stored = await persistence.put(actor.tenantId, id, content, description ?? null);
      return { ...view(stored), created: stored.created };
    },

    async get(actor: Actor, id: string): Promise<TemplateView> {
      const stored = await persistence.get(actor.tenantId, id);
      if (!stored) throw new NotFoundError('template');
      return view(stored);
    },

    async remove(actor: Actor, id: string): Promise<void> {
      if (actor.userId !== undefined) throw new ForbiddenError('template', 'only an admin key may change templates');
      if (!(await persistence.delete(actor.tenantId, id))) throw new NotFoundError('template');
    },

    async list(actor: Actor, page: { limit?: number; cursor?: string }): Promise<{ data: TemplateView[]; nextCursor: string | null }> {
      const result = await persistence.list(actor.tenantId, { limit: page.limit ?? 20, ...(page.cursor ? { cursor: page.cursor } : {}) });
      return { data: result.items.map(view), nextCursor: result.nextCursor };
    },

    /**
     * A reminder's or schedule's `template` as it is attached: a tenant template must exist and use
     * only what that source has (a reminder has no `schedule.*`); an inline one is checked whole.
     */
    async checkRef(tenantId: TenantId, ref: TemplateRef, source: SourceKind, field = 'template'): Promise<void> {
      if (typeof ref !== 'string') {
        // A reminder carries its content through workflow history into every delivery: keep that small.
        if (source === 'reminder' && JSON.stringify(ref).length > INLINE_REMINDER_TEMPLATE_MAX) {
          throw new InvalidInputError(field, `an inline template on a reminder may be at most ${INLINE_REMINDER_TEMPLATE_MAX / 1024} KiB; save a larger one with PUT /v1/templates/{id} and name it`);
        }
        return check(ref, [source], field, `inline template`);
      }
      const stored = await persistence.get(tenantId, ref);
      if (!stored) throw new InvalidInputError(field, `no template "${ref}" in this tenant`);
      check(stored.content, [source], field, `template "${ref}"`);
    },

    /** The content to render: the tenant template as it is now, or the inline one. Undefined when the template is gone. */
    async contentOf(tenantId: TenantId, ref: TemplateRef): Promise<TemplateContent | undefined> {
      return typeof ref === 'string' ? (await persistence.get(tenantId, ref))?.content : ref;
    },
  };
}

export type TemplateService = ReturnType<typeof createTemplateService>;
