/**
 * `POST /v1/webhooks/twilio/status`: Twilio's message status callbacks, verified with Twilio's
 * request signature, mapped to the canonical SMS status (src/channels/sms-status.ts) and handed to
 * the ledger's `onStatus` port. Twilio authenticates by signature, so API-key auth and the
 * Idempotency-Key machinery are off for this route; idempotency comes from status ranking.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import twilio from 'twilio';
import { canonicalSmsStatus, type SmsStatusEvent, type SmsStatusSink } from '../../channels/sms-status.js';
import { STATUS_CALLBACK_KEY_PARAM } from '../../channels/sms-twilio.js';
import { ProblemType, type Problem } from '../problem.js';
import { TwilioStatusSchema, type TwilioStatusBody } from './twilio-status.schema.js';

export const TWILIO_STATUS_PATH = '/v1/webhooks/twilio/status';
const FORM = 'application/x-www-form-urlencoded';
const FORM_BODY_LIMIT_BYTES = 16 * 1024;

export interface TwilioStatusOptions {
  /** Twilio auth token: the HMAC key of `X-Twilio-Signature`. */
  authToken: string;
  /**
   * The public URL Twilio posts to (TWILIO_STATUS_CALLBACK_URL), as given to the SMS adapter.
   * Signatures cover the URL Twilio saw, so it is rebuilt from this, not from the Host header.
   */
  publicUrl: string;
  onStatus: SmsStatusSink;
  now?: () => Date;
}

function forbidden(reply: FastifyReply, detail: string) {
  const problem: Problem = { type: ProblemType.Forbidden, title: 'Invalid Twilio signature', status: 403, detail };
  return reply.code(403).type('application/problem+json').send(problem);
}

export const twilioStatusRoutes: FastifyPluginAsyncTypebox<TwilioStatusOptions> = async (app, options) => {
  const publicUrl = new URL(options.publicUrl);
  const now = options.now ?? (() => new Date());

  // Form bodies for this plugin's routes only (encapsulated: the rest of the API stays JSON-only).
  app.addContentTypeParser(FORM, { parseAs: 'string', bodyLimit: FORM_BODY_LIMIT_BYTES }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(typeof body === 'string' ? body : body.toString('utf8'))));
  });

  /** The URL Twilio signed: the public origin and path, and the query string exactly as received. */
  function signedUrl(request: FastifyRequest): string {
    const raw = request.raw.url ?? '';
    const q = raw.indexOf('?');
    return `${publicUrl.origin}${publicUrl.pathname}${q >= 0 ? raw.slice(q) : ''}`;
  }

  app.post(
    TWILIO_STATUS_PATH,
    {
      schema: TwilioStatusSchema,
      config: { auth: false, idempotency: false },
      // Verify before validating: an unsigned caller learns nothing about the expected shape.
      preValidation: async (request, reply) => {
        const signature = request.headers['x-twilio-signature'];
        if (typeof signature !== 'string' || signature === '') {
          return forbidden(reply, 'X-Twilio-Signature is missing');
        }
        const params = (request.body ?? {}) as Record<string, string>;
        if (typeof request.body !== 'object' || !twilio.validateRequest(options.authToken, signature, signedUrl(request), params)) {
          request.log.warn('twilio status callback with a forged or stale signature');
          return forbidden(reply, 'X-Twilio-Signature does not match this request');
        }
      },
    },
    async (request, reply) => {
      const body: TwilioStatusBody = request.body;
      const status = canonicalSmsStatus(body.MessageStatus);
      if (status === undefined) {
        request.log.warn({ twilioStatus: body.MessageStatus }, 'twilio status callback with an unknown status ignored');
        return reply.code(204).send(null);
      }
      const key = request.query[STATUS_CALLBACK_KEY_PARAM];
      const errorCode = body.ErrorCode ? Number(body.ErrorCode) : undefined;
      const event: SmsStatusEvent = {
        providerMessageId: body.MessageSid,
        status,
        occurredAt: now().toISOString(),
        ...(errorCode !== undefined && Number.isInteger(errorCode) && errorCode > 0 ? { errorCode } : {}),
        ...(typeof key === 'string' ? { idempotencyKey: key } : {}),
      };
      await options.onStatus(event);
      return reply.code(204).send(null);
    },
  );
};
