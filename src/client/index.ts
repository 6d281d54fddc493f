/**
 * The typed TypeScript client of Chime's HTTP API. Its types are derived from the same TypeBox
 * schemas that validate requests and generate /openapi.json, so client, server and spec agree.
 *
 * One retry layer (like stripe-node): network errors, 409 in-flight, 429 and 5xx are retried with
 * capped, jittered exponential backoff, reusing the same Idempotency-Key, which is made once per
 * intent. Lists are async iterators over cursor pages.
 */
import { randomUUID } from 'node:crypto';
import type { Static } from 'typebox';
import type {
  CreateReminderBody,
  DeliveryList,
  EditReminderBody,
  ReminderList,
  ReminderListQuery,
  ReminderView,
  PreviewRuleBody,
  PreviewView,
} from '../api/schemas/reminders.js';
import type { Problem } from '../api/problem.js';
import type { CategoryList, CategoryView, PutCategoryBody } from '../api/schemas/categories.js';
import type { PutTemplateBody, TemplateList, TemplateView } from '../api/schemas/templates.js';
import type { ApiKeyList, CreateApiKeyBody, CreatedApiKeyView } from '../api/schemas/api-keys.js';
import type { PreferencesInput, UserAttributesView, UserView } from '../api/schemas/users.js';
import type {
  CreateScheduleBody,
  EditScheduleBody,
  PutScheduleBody,
  ScheduleList,
  ScheduleListQuery,
  SchedulePreviewView,
  ScheduleRunsView,
  ScheduleView,
  UserTagsView,
} from '../api/schemas/schedules.js';

export type Reminder = Static<typeof ReminderView>;
export type CreateReminder = Static<typeof CreateReminderBody>;
export type EditReminder = Static<typeof EditReminderBody>;
export type ReminderPage = Static<typeof ReminderList>;
export type Preview = Static<typeof PreviewView>;
export type PreviewRule = Static<typeof PreviewRuleBody>;
export type ListRemindersParams = Omit<Static<typeof ReminderListQuery>, 'cursor'>;
export type Template = Static<typeof TemplateView>;
export type PutTemplate = Static<typeof PutTemplateBody>;
export type TemplatePage = Static<typeof TemplateList>;
export type Category = Static<typeof CategoryView>;
export type PutCategory = Static<typeof PutCategoryBody>;
export type CategoryPage = Static<typeof CategoryList>;
export type User = Static<typeof UserView>;
export type PreferencesUpdate = Static<typeof PreferencesInput>;
export type Schedule = Static<typeof ScheduleView>;
export type CreateSchedule = Static<typeof CreateScheduleBody>;
export type PutSchedule = Static<typeof PutScheduleBody>;
export type EditSchedule = Static<typeof EditScheduleBody>;
export type SchedulePage = Static<typeof ScheduleList>;
export type SchedulePreview = Static<typeof SchedulePreviewView>;
export type ScheduleRuns = Static<typeof ScheduleRunsView>;
export type ListSchedulesParams = Omit<Static<typeof ScheduleListQuery>, 'cursor'>;

/** An error answer of the API, with its stable problem `type`. */
export class ChimeApiError extends Error {
  readonly type: string;
  readonly status: number;
  readonly errors: { field: string; reason: string }[];
  readonly requestId: string | undefined;
  constructor(problem: Problem, readonly headers: Headers) {
    super(`${problem.status} ${problem.title}${problem.detail ? `: ${problem.detail}` : ''}`);
    this.name = 'ChimeApiError';
    this.type = problem.type;
    this.status = problem.status;
    this.errors = problem.errors ?? [];
    this.requestId = problem.instance;
  }
}

export interface ChimeClientOptions {
  baseUrl: string;
  apiKey: string;
  maxRetries?: number;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export interface RequestOptions {
  /** Defaults to a fresh UUID per call; pass your own to make a retry of yours idempotent too. */
  idempotencyKey?: string;
}

export interface WriteOptions {
  /** The `version` read before the change: the write fails with 409 if someone wrote since. */
  ifMatch?: number;
}

const RETRYABLE_STATUS = new Set([409, 429, 500, 502, 503, 504]);

function backoffMs(attempt: number, retryAfter: string | null): number {
  const hinted = retryAfter ? Number(retryAfter) * 1_000 : NaN;
  if (Number.isFinite(hinted) && hinted >= 0) return Math.min(hinted, 30_000);
  const capped = Math.min(250 * 2 ** attempt, 8_000);
  return capped / 2 + Math.random() * (capped / 2);
}

export function createChimeClient(options: ChimeClientOptions) {
  const fetchImpl = options.fetch ?? fetch;
  const maxRetries = options.maxRetries ?? 2;

  async function call<T>(
    method: string,
    path: string,
    init: { body?: unknown; query?: Record<string, unknown>; headers?: Record<string, string> } & RequestOptions = {},
  ): Promise<T> {
    const url = new URL(path, options.baseUrl);
    for (const [k, v] of Object.entries(init.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { authorization: `Bearer ${options.apiKey}`, accept: 'application/json' };
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    Object.assign(headers, init.headers);
    // Made once per intent, reused by every retry below.
    if (method === 'POST') headers['idempotency-key'] = init.idempotencyKey ?? randomUUID();
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await fetchImpl(url, {
          method,
          headers,
          ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
          signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
        });
      } catch (error) {
        if (attempt >= maxRetries) throw error;
        await new Promise((r) => setTimeout(r, backoffMs(attempt, null)));
        continue;
      }
      if (response.ok) return (response.status === 204 ? undefined : await response.json()) as T;
      if (RETRYABLE_STATUS.has(response.status) && attempt < maxRetries) {
        await response.body?.cancel();
        await new Promise((r) => setTimeout(r, backoffMs(attempt, response.headers.get('retry-after'))));
        continue;
      }
      throw new ChimeApiError((await response.json()) as Problem, response.headers);
    }
  }

  const reminderPath = (id: string, action = '') => `/v1/reminders/${encodeURIComponent(id)}${action}`;
  const categoryPath = (category: string) => `/v1/categories/${encodeURIComponent(category)}`;
  const preferencesPath = (userId: string) => `/v1/users/${encodeURIComponent(userId)}/preferences`;
  const templatePath = (id: string) => `/v1/templates/${encodeURIComponent(id)}`;
  const schedulePath = (id: string, action = '') => `/v1/schedules/${encodeURIComponent(id)}${action}`;
  const ifMatch = (opts?: WriteOptions): Record<string, string> => (opts?.ifMatch !== undefined ? { 'if-match': `"${opts.ifMatch}"` } : {});

  /** Every item of a cursor-paginated list, page by page. */
  async function* walk<T>(path: string, query: Record<string, unknown>): AsyncGenerator<T> {
    let cursor: string | undefined;
    do {
      const page: { data: T[]; nextCursor: string | null } = await call('GET', path, { query: { ...query, cursor } });
      yield* page.data;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }

  return {
    /** A rule's next occurrences, decided with a user's current preferences; nothing is saved. */
    preview: (body: PreviewRule) => call<Preview>('POST', '/v1/previews', { body }),
    reminders: {
      create: (body: CreateReminder, opts?: RequestOptions) => call<Reminder>('POST', '/v1/reminders', { body, ...opts }),
      get: (id: string) => call<Reminder>('GET', reminderPath(id)),
      edit: (id: string, patch: EditReminder) => call<Reminder>('PATCH', reminderPath(id), { body: patch }),
      pause: (id: string, opts?: RequestOptions) => call<Reminder>('POST', reminderPath(id, '/pause'), opts),
      resume: (id: string, opts?: RequestOptions) => call<Reminder>('POST', reminderPath(id, '/resume'), opts),
      cancel: (id: string, opts?: RequestOptions) => call<Reminder>('POST', reminderPath(id, '/cancel'), opts),
      skipNext: (id: string, opts?: RequestOptions) => call<Reminder>('POST', reminderPath(id, '/skip-next'), opts),
      snooze: (id: string, until: Date, opts?: RequestOptions) =>
        call<Reminder>('POST', reminderPath(id, '/snooze'), { body: { until: until.toISOString() }, ...opts }),
      deliveries: (id: string, page: { limit?: number; cursor?: string } = {}) =>
        call<Static<typeof DeliveryList>>('GET', reminderPath(id, '/deliveries'), { query: page }),
      preview: (id: string, count?: number) => call<Preview>('GET', reminderPath(id, '/preview'), { query: { count } }),
      decisions: (id: string, limit?: number) =>
        call<{ data: unknown[] }>('GET', reminderPath(id, '/decisions'), { query: { limit } }),
      /** One page; pass the previous page's `nextCursor` to continue. */
      page: (params: ListRemindersParams & { cursor?: string } = {}) =>
        call<ReminderPage>('GET', '/v1/reminders', { query: params }),
      /** Every reminder matching `params`, page by page. */
      list: (params: ListRemindersParams = {}): AsyncGenerator<Reminder> => walk<Reminder>('/v1/reminders', params),
    },
    /** Audience schedules (writes need an admin key). */
    schedules: {
      create: (body: CreateSchedule, opts?: RequestOptions) => call<Schedule>('POST', '/v1/schedules', { body, ...opts }),
      /** Creates or replaces the schedule with this id. */
      put: (id: string, body: PutSchedule) => call<Schedule>('PUT', schedulePath(id), { body }),
      get: (id: string) => call<Schedule>('GET', schedulePath(id)),
      edit: (id: string, patch: EditSchedule) => call<Schedule>('PATCH', schedulePath(id), { body: patch }),
      pause: (id: string, opts?: RequestOptions) => call<Schedule>('POST', schedulePath(id, '/pause'), opts),
      resume: (id: string, opts?: RequestOptions) => call<Schedule>('POST', schedulePath(id, '/resume'), opts),
      archive: (id: string, opts?: RequestOptions) => call<Schedule>('POST', schedulePath(id, '/archive'), opts),
      /** The audience per zone and the next buckets; with `userId`, that user's rendered message where their zone fires. */
      preview: (id: string, count?: number, userId?: string) => call<SchedulePreview>('GET', schedulePath(id, '/preview'), { query: { count, userId } }),
      runs: (id: string, limit?: number) => call<ScheduleRuns>('GET', schedulePath(id, '/runs'), { query: { limit } }),
      page: (params: ListSchedulesParams & { cursor?: string } = {}) => call<SchedulePage>('GET', '/v1/schedules', { query: params }),
      list: (params: ListSchedulesParams = {}): AsyncGenerator<Schedule> => walk<Schedule>('/v1/schedules', params),
    },
    users: {
      get: (userId: string) => call<User>('GET', `/v1/users/${encodeURIComponent(userId)}`),
      /** Replaces the tags audience filters select on (admin). */
      setTags: (userId: string, tags: string[]) =>
        call<Static<typeof UserTagsView>>('PUT', `/v1/users/${encodeURIComponent(userId)}/tags`, { body: { tags } }),
      /** Replaces the attributes templates read as `recipient.attributes.*` (admin). */
      setAttributes: (userId: string, attributes: Record<string, string | number | boolean>) =>
        call<Static<typeof UserAttributesView>>('PUT', `/v1/users/${encodeURIComponent(userId)}/attributes`, { body: { attributes } }),
      /** Replaces the preferences; omitted `contacts` keep the stored ones. */
      putPreferences: (userId: string, preferences: PreferencesUpdate, opts?: WriteOptions) =>
        call<User>('PUT', preferencesPath(userId), { body: preferences, headers: ifMatch(opts) }),
      /** An RFC 7396 merge patch: members given replace the stored ones, null removes. */
      patchPreferences: (userId: string, patch: Record<string, unknown>, opts?: WriteOptions) =>
        call<User>('PATCH', preferencesPath(userId), {
          body: patch,
          headers: { 'content-type': 'application/merge-patch+json', ...ifMatch(opts) },
        }),
    },
    /** Tenant-defined categories and their delivery policies (writes need an admin key). */
    categories: {
      /** Creates or replaces the category's policy. */
      put: (category: string, body: PutCategory) => call<Category>('PUT', categoryPath(category), { body }),
      get: (category: string) => call<Category>('GET', categoryPath(category)),
      remove: (category: string) => call<undefined>('DELETE', categoryPath(category)),
      page: (params: { limit?: number; cursor?: string } = {}) => call<CategoryPage>('GET', '/v1/categories', { query: params }),
      list: (params: { limit?: number } = {}): AsyncGenerator<Category> => walk<Category>('/v1/categories', params),
    },
    /** The tenant's API keys (admin): the token of a new key is in the create answer only. */
    apiKeys: {
      create: (body: Static<typeof CreateApiKeyBody>, opts?: RequestOptions) => call<Static<typeof CreatedApiKeyView>>('POST', '/v1/api-keys', { body, ...opts }),
      list: () => call<Static<typeof ApiKeyList>>('GET', '/v1/api-keys'),
      revoke: (keyId: string) => call<undefined>('DELETE', `/v1/api-keys/${encodeURIComponent(keyId)}`),
    },
    /** Message templates: per-locale variants per channel, rendered per recipient at send time (writes need an admin key). */
    templates: {
      /** Creates or replaces the template; a 400 names each problem (locale, channel, line and column). */
      put: (id: string, body: PutTemplate) => call<Template>('PUT', templatePath(id), { body }),
      get: (id: string) => call<Template>('GET', templatePath(id)),
      remove: (id: string) => call<undefined>('DELETE', templatePath(id)),
      page: (params: { limit?: number; cursor?: string } = {}) => call<TemplatePage>('GET', '/v1/templates', { query: params }),
      list: (params: { limit?: number } = {}): AsyncGenerator<Template> => walk<Template>('/v1/templates', params),
    },
  };
}

export type ChimeClient = ReturnType<typeof createChimeClient>;
