/**
 * Twilio message status callbacks (`application/x-www-form-urlencoded`, Twilio's parameter names).
 * Only the fields Chime reads are declared; Twilio adds fields over time, so others are allowed.
 */
import Type, { type Static } from 'typebox';
import { problemResponses } from '../problem.js';
import { STATUS_CALLBACK_KEY_PARAM } from '../../channels/sms-twilio.js';

export const TwilioStatusBody = Type.Object(
  {
    MessageSid: Type.String({ minLength: 2, maxLength: 64, description: 'Twilio message SID (SM…/MM…)' }),
    MessageStatus: Type.String({
      minLength: 1,
      maxLength: 32,
      description: 'queued, sending, sent, delivered, undelivered, failed, read, canceled, accepted, scheduled',
    }),
    ErrorCode: Type.Optional(Type.String({ pattern: '^[0-9]*$', maxLength: 10 })),
    AccountSid: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: Type.String() },
);
export type TwilioStatusBody = Static<typeof TwilioStatusBody>;

export const TwilioStatusQuery = Type.Object(
  { [STATUS_CALLBACK_KEY_PARAM]: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) },
  { additionalProperties: true },
);

export const TwilioStatusSchema = {
  summary: 'Twilio message status callback',
  description:
    'Called by Twilio, authenticated by `X-Twilio-Signature` (HMAC-SHA1 over the public callback URL and ' +
    'the form parameters). Unsigned or forged requests get 403. Replays and out-of-order callbacks are ' +
    'harmless: statuses only move forward (accepted < sent < failed < delivered).',
  hide: false,
  security: [],
  consumes: ['application/x-www-form-urlencoded'],
  querystring: TwilioStatusQuery,
  body: TwilioStatusBody,
  response: {
    204: Type.Null({ description: 'Recorded (or a replay / a status Chime ignores)' }),
    ...problemResponses(403, 413, 415),
  },
};
