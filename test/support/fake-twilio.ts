/**
 * A local fake of Twilio's Messages API (2010-04-01) on loopback: what the real `twilio` SDK talks
 * to in tests. It speaks the wire format (form-encoded create, JSON resources with Twilio's field
 * names and RFC 2822 dates, paged lists, `{code, message, more_info, status}` errors) and lets each
 * test script the answer to every create request: 201, 400 with a Twilio error code, 429 with
 * Retry-After, 500, a reset connection, or accept-then-stall (the message is stored and never
 * answered, so the client times out after the provider took it).
 *
 * `accepted` holds every message the fake took: "exactly one provider-accepted message per key"
 * is `fake.acceptedFor(key).length === 1`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import twilio from 'twilio';
import { idempotencyTag, STATUS_CALLBACK_KEY_PARAM } from '../../src/channels/sms-twilio.js';

export type FakeTwilioBehaviour = (
  | { kind: 'accept' }
  | { kind: 'error'; status: number; code: number; message?: string }
  | { kind: 'rate-limit'; retryAfter: string }
  | { kind: 'server-error'; status?: number }
  /** Store the message, then never answer: the client times out after the provider took it. */
  | { kind: 'accept-then-stall' }
  /** Destroy the connection without answering; nothing is stored. */
  | { kind: 'reset' }
) & { latencyMs?: number };

export const TWILIO_ERROR_MESSAGES: Readonly<Record<number, string>> = {
  20003: 'Authenticate',
  20429: 'Too Many Requests',
  21211: "Invalid 'To' Phone Number",
  21602: 'Message body is required.',
  21604: "A 'To' phone number is required.",
  21606: "The 'From' phone number provided is not a valid message-capable Twilio phone number for this destination/account",
  21610: 'Attempt to send to unsubscribed recipient',
  21614: "'To' number is not a valid mobile number",
};

export function twilioError(code: number, status = 400): FakeTwilioBehaviour {
  return { kind: 'error', status, code, message: TWILIO_ERROR_MESSAGES[code] ?? `Error ${code}` };
}

export interface FakeTwilioMessage {
  sid: string;
  accountSid: string;
  to: string;
  from: string | null;
  messagingServiceSid: string | null;
  body: string;
  status: string;
  errorCode: number | null;
  statusCallback: string | null;
  dateCreated: Date;
  dateSent: Date | null;
  dateUpdated: Date;
}

export interface FakeTwilioRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  behaviour: FakeTwilioBehaviour['kind'] | 'list';
}

export interface FakeTwilio {
  /** Base URL to hand to `createTwilioSmsSender({ baseUrl })`. */
  url: string;
  accountSid: string;
  authToken: string;
  /** Every message the fake accepted (including accept-then-stall), oldest first. */
  accepted: FakeTwilioMessage[];
  /** Every create/list request that reached the fake, oldest first. */
  requests: FakeTwilioRequest[];
  /** Script the next create requests, one behaviour each; afterwards `defaultBehaviour` applies. */
  enqueue(...behaviours: FakeTwilioBehaviour[]): void;
  /** Script the next list requests (e.g. a 500 while looking a message up). */
  enqueueList(...behaviours: FakeTwilioBehaviour[]): void;
  defaultBehaviour: FakeTwilioBehaviour;
  /** Messages accepted whose body carries this delivery key's tag. */
  acceptedFor(idempotencyKey: string): FakeTwilioMessage[];
  /** Resolves once `count` create requests have arrived. */
  waitForCreates(count: number, timeoutMs?: number): Promise<void>;
  /**
   * Moves a stored message to `status` (as the carrier would) and returns the status callback
   * Twilio would send for it: the URL it was created with and the form parameters.
   */
  advance(sid: string, status: string, errorCode?: number): { url: string; params: Record<string, string> };
  close(): Promise<void>;
}

const API_VERSION = '2010-04-01';

function rfc2822(date: Date): string {
  return date.toUTCString().replace('GMT', '+0000');
}

function messageJson(m: FakeTwilioMessage) {
  return {
    account_sid: m.accountSid,
    api_version: API_VERSION,
    body: m.body,
    date_created: rfc2822(m.dateCreated),
    date_sent: m.dateSent ? rfc2822(m.dateSent) : null,
    date_updated: rfc2822(m.dateUpdated),
    direction: 'outbound-api',
    error_code: m.errorCode,
    error_message: null,
    from: m.from,
    messaging_service_sid: m.messagingServiceSid,
    num_media: '0',
    num_segments: String(Math.max(1, Math.ceil(m.body.length / 160))),
    price: null,
    price_unit: 'USD',
    sid: m.sid,
    status: m.status,
    subresource_uris: { media: `/${API_VERSION}/Accounts/${m.accountSid}/Messages/${m.sid}/Media.json` },
    to: m.to,
    uri: `/${API_VERSION}/Accounts/${m.accountSid}/Messages/${m.sid}.json`,
  };
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  response.end(JSON.stringify(body));
}

function errorBody(status: number, code: number, message: string) {
  return { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status };
}

export async function startFakeTwilio(options: { accountSid?: string; authToken?: string; latencyMs?: number } = {}): Promise<FakeTwilio> {
  const accountSid = options.accountSid ?? `AC${randomBytes(16).toString('hex')}`;
  const authToken = options.authToken ?? randomBytes(16).toString('hex');
  const accepted: FakeTwilioMessage[] = [];
  const requests: FakeTwilioRequest[] = [];
  const createQueue: FakeTwilioBehaviour[] = [];
  const listQueue: FakeTwilioBehaviour[] = [];
  const waiters = new Set<() => void>();
  const base = `/${API_VERSION}/Accounts/${accountSid}/Messages`;
  const expectedAuth = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`;

  const fake: FakeTwilio = {
    url: '',
    accountSid,
    authToken,
    accepted,
    requests,
    defaultBehaviour: { kind: 'accept' },
    enqueue: (...behaviours) => void createQueue.push(...behaviours),
    enqueueList: (...behaviours) => void listQueue.push(...behaviours),
    acceptedFor: (key) => accepted.filter((m) => m.body.includes(idempotencyTag(key))),
    waitForCreates(count, timeoutMs = 10_000) {
      const creates = () => requests.filter((r) => r.method === 'POST').length;
      return new Promise((resolve, reject) => {
        const check = () => {
          if (creates() >= count) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`expected ${count} create requests, got ${creates()} after ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    advance(sid, status, errorCode) {
      const m = accepted.find((x) => x.sid === sid);
      if (!m) throw new Error(`fake twilio: no message ${sid}`);
      if (!m.statusCallback) throw new Error(`fake twilio: message ${sid} has no status callback`);
      m.status = status;
      m.dateUpdated = new Date();
      if (status === 'sent' || status === 'delivered') m.dateSent ??= m.dateUpdated;
      if (errorCode !== undefined) m.errorCode = errorCode;
      const params: Record<string, string> = {
        AccountSid: accountSid,
        ApiVersion: API_VERSION,
        From: m.from ?? '',
        MessageSid: sid,
        MessageStatus: status,
        SmsSid: sid,
        SmsStatus: status,
        To: m.to,
      };
      if (m.messagingServiceSid) params.MessagingServiceSid = m.messagingServiceSid;
      if (errorCode !== undefined) params.ErrorCode = String(errorCode);
      return { url: m.statusCallback, params };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };

  function record(request: FakeTwilioRequest) {
    requests.push(request);
    for (const wake of waiters) wake();
  }

  async function create(request: IncomingMessage, response: ServerResponse) {
    const params = Object.fromEntries(new URLSearchParams(await readBody(request)));
    const behaviour = createQueue.shift() ?? fake.defaultBehaviour;
    const latencyMs = behaviour.latencyMs ?? options.latencyMs ?? 0;
    if (latencyMs > 0) await new Promise((r) => setTimeout(r, latencyMs));
    record({ method: 'POST', path: base, params, behaviour: behaviour.kind });
    switch (behaviour.kind) {
      case 'error':
        return sendJson(response, behaviour.status, errorBody(behaviour.status, behaviour.code, behaviour.message ?? `Error ${behaviour.code}`));
      case 'rate-limit':
        return sendJson(response, 429, errorBody(429, 20429, 'Too Many Requests'), { 'retry-after': behaviour.retryAfter });
      case 'server-error':
        return sendJson(response, behaviour.status ?? 500, errorBody(behaviour.status ?? 500, 20500, 'Internal Server Error'));
      case 'reset':
        request.socket.destroy();
        return;
      case 'accept':
      case 'accept-then-stall':
        break;
    }
    // Twilio's own validation, for the fields Chime sends.
    if (!params.To) return sendJson(response, 400, errorBody(400, 21604, TWILIO_ERROR_MESSAGES[21604] ?? ''));
    if (!params.Body) return sendJson(response, 400, errorBody(400, 21602, TWILIO_ERROR_MESSAGES[21602] ?? ''));
    if (!params.From && !params.MessagingServiceSid) {
      return sendJson(response, 400, errorBody(400, 21606, TWILIO_ERROR_MESSAGES[21606] ?? ''));
    }
    const now = new Date();
    const message: FakeTwilioMessage = {
      sid: `SM${randomBytes(16).toString('hex')}`,
      accountSid,
      to: params.To,
      from: params.From ?? null,
      messagingServiceSid: params.MessagingServiceSid ?? null,
      body: params.Body,
      status: params.MessagingServiceSid ? 'accepted' : 'queued',
      errorCode: null,
      statusCallback: params.StatusCallback ?? null,
      dateCreated: now,
      dateSent: null,
      dateUpdated: now,
    };
    accepted.push(message);
    if (behaviour.kind === 'accept-then-stall') return; // never answer
    sendJson(response, 201, messageJson(message));
  }

  async function list(request: IncomingMessage, response: ServerResponse, url: URL) {
    const q = url.searchParams;
    const behaviour = listQueue.shift();
    record({ method: 'GET', path: base, params: Object.fromEntries(q), behaviour: 'list' });
    if (behaviour?.latencyMs) await new Promise((r) => setTimeout(r, behaviour.latencyMs));
    if (behaviour?.kind === 'server-error') return sendJson(response, 500, errorBody(500, 20500, 'Internal Server Error'));
    if (behaviour?.kind === 'reset') return void request.socket.destroy();
    if (behaviour?.kind === 'accept-then-stall') return;
    const day = (s: string) => new Date(s.length === 10 ? `${s}T00:00:00Z` : s).getTime();
    const sentAfter = q.get('DateSent>');
    const sentBefore = q.get('DateSent<');
    const matches = accepted
      .filter((m) => (q.get('To') ? m.to === q.get('To') : true))
      .filter((m) => (q.get('From') ? m.from === q.get('From') : true))
      // Like Twilio: a DateSent filter only matches messages that have been sent.
      .filter((m) => (sentAfter ? m.dateSent !== null && m.dateSent.getTime() >= day(sentAfter) : true))
      .filter((m) => (sentBefore ? m.dateSent !== null && m.dateSent.getTime() <= day(sentBefore) : true))
      .slice()
      .reverse(); // newest first
    const pageSize = Math.min(1000, Math.max(1, Number(q.get('PageSize') ?? 50)));
    const page = Math.max(0, Number(q.get('Page') ?? 0));
    const start = page * pageSize;
    const slice = matches.slice(start, start + pageSize);
    const pageUri = (n: number) => {
      const p = new URLSearchParams(q);
      p.set('PageSize', String(pageSize));
      p.set('Page', String(n));
      p.set('PageToken', `PA${n * pageSize}`);
      return `${base}.json?${p.toString()}`;
    };
    sendJson(response, 200, {
      messages: slice.map(messageJson),
      end: start + Math.max(0, slice.length - 1),
      first_page_uri: pageUri(0),
      next_page_uri: start + pageSize < matches.length ? pageUri(page + 1) : null,
      page,
      page_size: pageSize,
      previous_page_uri: page > 0 ? pageUri(page - 1) : null,
      start,
      uri: `${url.pathname}${url.search}`,
    });
  }

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://fake-twilio');
    if (request.headers.authorization !== expectedAuth) {
      return sendJson(response, 401, errorBody(401, 20003, 'Authenticate'));
    }
    const handle =
      url.pathname === `${base}.json` && request.method === 'POST'
        ? create(request, response)
        : url.pathname === `${base}.json` && request.method === 'GET'
          ? list(request, response, url)
          : Promise.resolve(sendJson(response, 404, errorBody(404, 20404, 'The requested resource was not found')));
    handle.catch((error: unknown) => {
      if (!response.headersSent) sendJson(response, 500, errorBody(500, 20500, String(error)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}

/**
 * A status callback as Twilio sends it, signed with `X-Twilio-Signature` by the SDK's own
 * `getExpectedTwilioSignature`, shaped for `app.inject`. `url` is the full public URL Twilio
 * posts to (the status callback the message was created with).
 */
export function signedStatusCallback(options: {
  authToken: string;
  url: string;
  params: Record<string, string>;
  /** Sign with this token instead (a forgery). */
  signWith?: string;
}) {
  const url = new URL(options.url);
  return {
    method: 'POST' as const,
    url: `${url.pathname}${url.search}`,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': twilio.getExpectedTwilioSignature(options.signWith ?? options.authToken, url.href, options.params),
    },
    payload: new URLSearchParams(options.params).toString(),
  };
}

export { STATUS_CALLBACK_KEY_PARAM };
