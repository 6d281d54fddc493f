/**
 * SMS through Twilio's Messages API with the real `twilio` SDK. The SDK's types, DTOs and errors
 * stay in this file: the rest of Chime sees MessageSender, ProviderAcceptance and DeliveryError.
 *
 * Retries: none here. The SDK's own 429 retry is off; Temporal's activity retry policy is the one
 * retry layer, fed by the error types below.
 *
 * Duplicates: Twilio has no idempotency key for message creation, so a create whose response is
 * lost (timeout, reset, 5xx) may or may not have produced a message. Before re-sending such a key
 * this adapter lists recent messages to the same number and looks for one carrying the key's tag
 * (`ref:<10 hex>` appended to the body, see `idempotencyTag`); when found it returns that message
 * instead of sending again. The window that remains is documented on `findByIdempotencyKey`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import twilio from 'twilio';
import { ChimeErrorType, DeliveryError } from '../domain/errors.js';
import type { MessageSender, OutboundMessage, ProviderAcceptance } from '../domain/delivery.js';

/** The query parameter of the status callback URL that carries the delivery idempotency key. */
export const STATUS_CALLBACK_KEY_PARAM = 'chime_key';

/** Twilio error codes meaning "this recipient can never get this SMS". */
export const TWILIO_RECIPIENT_INVALID_CODES: ReadonlySet<number> = new Set([
  21211, // invalid 'To' phone number
  21610, // recipient replied STOP (unsubscribed)
  21614, // 'To' is not a mobile / SMS-capable number
]);

export interface TwilioSmsOptions {
  accountSid: string;
  authToken: string;
  /** Sender: a number/alphanumeric id (`from`) or a Messaging Service (`messagingServiceSid`). */
  from?: string;
  messagingServiceSid?: string;
  /** Public URL of Chime's `POST /v1/webhooks/twilio/status`; the key is added as `chime_key`. */
  statusCallbackUrl?: string;
  /**
   * Where the Messages API lives (scheme, host, port, optional path prefix). Unset: the SDK's own
   * host (`api.twilio.com`, or the region/edge host). Tests point it at a local fake.
   */
  baseUrl?: string;
  /** Twilio region/edge (e.g. `ie1` / `dublin`), when not using `baseUrl`. */
  region?: string;
  edge?: string;
  /** Per-request timeout (connect + response). Default 10 000 ms. */
  timeoutMs?: number;
  /**
   * Append `ref:<tag>` to each body so a lost create can be found again (default true). Without it
   * `findByIdempotencyKey` cannot find anything and the ambiguous-timeout window stays fully open.
   */
  tagBody?: boolean;
  /** How far back a lookup searches when the caller gives no first-attempt time. Default 24 h. */
  lookbackMs?: number;
  /** Upper bound on messages inspected per lookup (pages of 50). Default 200. */
  lookupMaxMessages?: number;
  now?: () => Date;
}

/** What the caller knows about earlier attempts of this key (the ledger knows; the port is optional). */
export interface SmsSendContext {
  /** An earlier attempt may have reached Twilio (a claimed-but-unsettled ledger row, attempt > 1). */
  possiblyAttempted?: boolean;
  /** When the first attempt started; bounds the lookup. Defaults to now − lookbackMs. */
  since?: Date;
}

export interface TwilioSmsSender extends MessageSender {
  readonly channel: 'sms';
  send(message: OutboundMessage, context?: SmsSendContext): Promise<ProviderAcceptance>;
  /**
   * The message Twilio accepted for this key since `since`, if any, found by the body tag among
   * recent messages to `to`. Where a duplicate stays possible:
   * - the earlier create is still being processed by Twilio when the lookup runs (the request
   *   reached Twilio but the message is not yet listed): the lookup misses it and a resend follows;
   * - `tagBody: false`, or content not retrievable (Messaging Service `ContentRetention: discard`);
   * - more than `lookupMaxMessages` messages to that number since `since`.
   * A failed lookup throws ProviderUnavailable: we never resend blind after an ambiguous outcome.
   */
  findByIdempotencyKey(
    message: Pick<OutboundMessage, 'to' | 'idempotencyKey'>,
    since: Date,
  ): Promise<ProviderAcceptance | undefined>;
}

/** The short tag put in the body: 10 hex chars of sha256(key). Collision odds per number are nil. */
export function idempotencyTag(idempotencyKey: string): string {
  return `ref:${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 10)}`;
}

export function bodyWithTag(text: string, idempotencyKey: string): string {
  return `${text}\n${idempotencyTag(idempotencyKey)}`;
}

export function statusCallbackFor(statusCallbackUrl: string, idempotencyKey: string): string {
  const url = new URL(statusCallbackUrl);
  url.searchParams.set(STATUS_CALLBACK_KEY_PARAM, idempotencyKey);
  return url.href;
}

/** Retry-After: delta-seconds or an HTTP-date → milliseconds from `now` (undefined if absent/garbled). */
export function parseRetryAfter(value: unknown, now: Date = new Date()): number | undefined {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}

interface TwilioLikeError {
  status?: unknown;
  code?: unknown;
  message?: unknown;
}

/**
 * Twilio SDK/transport error → DeliveryError. `retryAfter` is the raw Retry-After header of the
 * failed response, when there was one.
 */
export function classifyTwilioError(error: unknown, retryAfter?: unknown, now: Date = new Date()): DeliveryError {
  const e = (typeof error === 'object' && error !== null ? error : {}) as TwilioLikeError;
  const text = typeof e.message === 'string' ? e.message : String(error);
  if (typeof e.status === 'number') {
    const status = e.status;
    const code = typeof e.code === 'number' ? e.code : undefined;
    const label = `Twilio HTTP ${status}${code === undefined ? '' : ` code ${code}`}: ${text}`;
    if (status === 429) {
      const retryAfterMs = parseRetryAfter(retryAfter, now);
      return new DeliveryError(ChimeErrorType.ProviderUnavailable, label, {
        cause: error,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      });
    }
    // 5xx, and 401/403 (credentials or account state: an operator can fix it, so keep retrying,
    // and the circuit breaker fails fast meanwhile rather than losing every reminder for good).
    if (status >= 500 || status === 401 || status === 403) {
      return new DeliveryError(ChimeErrorType.ProviderUnavailable, label, { cause: error });
    }
    if (code !== undefined && TWILIO_RECIPIENT_INVALID_CODES.has(code)) {
      return new DeliveryError(ChimeErrorType.RecipientInvalid, label, { cause: error });
    }
    if (status >= 400) return new DeliveryError(ChimeErrorType.ProviderRejected, label, { cause: error });
  }
  // Timeouts, resets, refused connections, DNS: the provider could not take it now.
  return new DeliveryError(ChimeErrorType.ProviderUnavailable, `Twilio unreachable: ${text}`, { cause: error });
}

/** A failure after which Twilio may nevertheless have created the message. */
function ambiguous(error: DeliveryError): boolean {
  const cause = error.options.cause as TwilioLikeError | undefined;
  if (typeof cause?.status === 'number') return cause.status >= 500;
  const code = (cause as { code?: unknown } | undefined)?.code;
  return code !== 'ECONNREFUSED' && code !== 'ENOTFOUND' && code !== 'EAI_AGAIN';
}

type ResponseCapture = { headers?: Record<string, unknown> };
type TwilioRequestOptions = Parameters<InstanceType<typeof twilio.RequestClient>['request']>[0];

/**
 * The SDK's own RequestClient (axios underneath, the real request/response code), with two
 * additions: URIs are rebased onto `baseUrl` (the SDK hard-codes api.twilio.com), and each
 * response's headers are handed to the capture of the calling `send` (RestException drops them,
 * and Retry-After lives there). The capture travels in AsyncLocalStorage, so concurrent sends on
 * one client never see each other's responses.
 */
class ChimeTwilioRequestClient extends twilio.RequestClient {
  constructor(
    private readonly base: URL | undefined,
    private readonly capture: AsyncLocalStorage<ResponseCapture>,
    options: { timeout: number },
  ) {
    super({ timeout: options.timeout, autoRetry: false, keepAlive: true });
  }

  override async request<TData>(options: TwilioRequestOptions & { data?: TData }) {
    let uri = options.uri;
    if (this.base) {
      const original = new URL(options.uri);
      const rebased = new URL(this.base.href);
      rebased.pathname = `${this.base.pathname.replace(/\/$/, '')}${original.pathname}`;
      rebased.search = original.search;
      uri = rebased.href;
    }
    const response = await super.request<TData>({ ...options, uri });
    const store = this.capture.getStore();
    if (store) store.headers = response.headers as Record<string, unknown>;
    return response;
  }
}

const MAX_REMEMBERED_AMBIGUOUS = 10_000;

export function createTwilioSmsSender(options: TwilioSmsOptions): TwilioSmsSender {
  if ((options.from === undefined) === (options.messagingServiceSid === undefined)) {
    throw new TypeError('createTwilioSmsSender: set exactly one of `from` and `messagingServiceSid`');
  }
  const now = options.now ?? (() => new Date());
  const tagBody = options.tagBody ?? true;
  const lookbackMs = options.lookbackMs ?? 24 * 3_600_000;
  const lookupMaxMessages = options.lookupMaxMessages ?? 200;
  const capture = new AsyncLocalStorage<ResponseCapture>();
  const httpClient = new ChimeTwilioRequestClient(options.baseUrl === undefined ? undefined : new URL(options.baseUrl), capture, {
    timeout: options.timeoutMs ?? 10_000,
  });
  const client = twilio(options.accountSid, options.authToken, {
    httpClient,
    autoRetry: false,
    accountSid: options.accountSid,
    ...(options.region !== undefined ? { region: options.region } : {}),
    ...(options.edge !== undefined ? { edge: options.edge } : {}),
  });
  /** Keys whose last attempt in this process ended ambiguously, with when that attempt began. */
  const ambiguousSince = new Map<string, Date>();

  async function call<T>(operation: () => Promise<T>): Promise<T> {
    const store: ResponseCapture = {};
    try {
      return await capture.run(store, operation);
    } catch (error) {
      throw classifyTwilioError(error, store.headers?.['retry-after'], now());
    }
  }

  const sender: TwilioSmsSender = {
    channel: 'sms',

    async findByIdempotencyKey(message, since) {
      if (!tagBody) return undefined;
      const tag = idempotencyTag(message.idempotencyKey);
      // Small clock-skew allowance between us and Twilio.
      const from = since.getTime() - 5 * 60_000;
      return call(async () => {
        type ListedPage = {
          instances: { sid: string; body: string; direction: string; dateCreated: Date }[];
          nextPageUrl?: string;
          nextPage(): Promise<ListedPage> | undefined;
        };
        let page: ListedPage = await client.messages.page({ to: message.to, pageSize: 50 });
        let inspected = 0;
        for (;;) {
          for (const m of page.instances) {
            inspected += 1;
            const created = m.dateCreated instanceof Date ? m.dateCreated.getTime() : Number.NaN;
            if (!(created >= from) || !m.direction.startsWith('outbound')) continue;
            if (typeof m.body === 'string' && m.body.includes(tag)) {
              return { provider: 'twilio', providerMessageId: m.sid, acceptedAt: new Date(created).toISOString() };
            }
          }
          if (inspected >= lookupMaxMessages || !page.nextPageUrl) return undefined;
          const next = page.nextPage();
          if (!next) return undefined;
          page = await next;
        }
      });
    },

    async send(message, context = {}) {
      if (message.channel !== 'sms') {
        throw new DeliveryError(ChimeErrorType.ProviderRejected, `SMS sender got a ${message.channel} message`);
      }
      const startedAt = now();
      const remembered = ambiguousSince.get(message.idempotencyKey);
      if (context.possiblyAttempted || remembered) {
        const since = context.since ?? remembered ?? new Date(startedAt.getTime() - lookbackMs);
        const found = await sender.findByIdempotencyKey(message, since);
        if (found) {
          ambiguousSince.delete(message.idempotencyKey);
          return found;
        }
      }
      try {
        const created = await call(() =>
          client.messages.create({
            to: message.to,
            body: tagBody ? bodyWithTag(message.text, message.idempotencyKey) : message.text,
            ...(options.from !== undefined ? { from: options.from } : {}),
            ...(options.messagingServiceSid !== undefined ? { messagingServiceSid: options.messagingServiceSid } : {}),
            ...(options.statusCallbackUrl !== undefined
              ? { statusCallback: statusCallbackFor(options.statusCallbackUrl, message.idempotencyKey) }
              : {}),
          }),
        );
        ambiguousSince.delete(message.idempotencyKey);
        const acceptedAt = created.dateCreated instanceof Date && !Number.isNaN(created.dateCreated.getTime())
          ? created.dateCreated.toISOString()
          : now().toISOString();
        return { provider: 'twilio', providerMessageId: created.sid, acceptedAt };
      } catch (error) {
        if (error instanceof DeliveryError && ambiguous(error) && !ambiguousSince.has(message.idempotencyKey)) {
          if (ambiguousSince.size >= MAX_REMEMBERED_AMBIGUOUS) {
            const oldest = ambiguousSince.keys().next();
            if (!oldest.done) ambiguousSince.delete(oldest.value);
          }
          ambiguousSince.set(message.idempotencyKey, context.since ?? startedAt);
        }
        throw error;
      }
    },
  };
  return sender;
}
