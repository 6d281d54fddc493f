/**
 * `POST /codec/decode` and `POST /codec/encode`: Temporal's remote codec protocol, so the Web UI
 * (`temporal server start-dev --ui-codec-endpoint http://127.0.0.1:3000/codec`) and the CLI
 * (`temporal workflow show --codec-endpoint http://127.0.0.1:3000/codec --codec-auth 'Bearer chime_…'`)
 * can show what the encryption codec sealed. Bodies are the `Payloads` message as proto3 JSON:
 * `{ payloads: [{ metadata: { key: base64 }, data: base64 }] }`, answered in the same shape.
 *
 * Decoding hands out plaintext, so every call must pass `authorize` (an admin API key, say): these
 * routes sit outside /v1 and its API-key hook, and they check before the body is even read.
 * The Web UI calls from its own origin, so `uiOrigin` enables CORS for exactly that origin.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Payload, PayloadCodec } from '@temporalio/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { ProblemType, type Problem } from '../problem.js';

export const CODEC_PATH = '/codec';
/** A Temporal payload may be 2 MB (2.7 MB in base64), and a history page carries several. */
const CODEC_BODY_LIMIT_BYTES = 8 * 1024 * 1024;

export interface CodecServerOptions {
  codec: PayloadCodec;
  /** Whether this caller may use the keys; `false` answers 401. Runs before the body is parsed. */
  authorize(request: FastifyRequest): Promise<boolean>;
  /** The Temporal Web UI's origin (e.g. `http://localhost:8233`), allowed to call from the browser. */
  uiOrigin?: string;
}

/** proto3 JSON of a `Payload`: every bytes field, metadata values included, is base64. */
const JsonPayload = Type.Object({
  metadata: Type.Optional(Type.Record(Type.String(), Type.String())),
  data: Type.Optional(Type.String()),
});
type JsonPayload = { metadata?: Record<string, string>; data?: string };
const PayloadsBody = Type.Object({ payloads: Type.Array(JsonPayload) });

function fromJson({ metadata, data }: JsonPayload): Payload {
  return {
    metadata: Object.fromEntries(Object.entries(metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
    data: Buffer.from(data ?? '', 'base64'),
  };
}

function toJson({ metadata, data }: Payload): JsonPayload {
  return {
    metadata: Object.fromEntries(Object.entries(metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')])),
    data: Buffer.from(data ?? new Uint8Array()).toString('base64'),
  };
}

function problem(reply: FastifyReply, status: number, body: Omit<Problem, 'status'>) {
  return reply.code(status).type('application/problem+json').send({ ...body, status });
}

export const codecRoutes: FastifyPluginAsyncTypebox<CodecServerOptions> = async (app, options) => {
  const { codec, authorize, uiOrigin } = options;

  /** On every answer, 401s and 400s included, so the UI can read why it failed. */
  const cors = (reply: FastifyReply) => {
    if (uiOrigin === undefined) return;
    void reply
      .header('access-control-allow-origin', uiOrigin)
      .header('access-control-allow-credentials', 'true')
      .header('vary', 'Origin');
  };

  for (const direction of ['decode', 'encode'] as const) {
    const url = `${CODEC_PATH}/${direction}`;

    if (uiOrigin !== undefined) {
      // Preflight: browsers send it without credentials, so it is answered without authorization.
      app.options(url, { schema: { hide: true } }, async (_request, reply) => {
        cors(reply);
        return reply
          .code(204)
          .header('access-control-allow-methods', 'POST, OPTIONS')
          .header('access-control-allow-headers', 'content-type, x-namespace, authorization')
          .header('access-control-max-age', '600')
          .send();
      });
    }

    app.post(
      url,
      {
        schema: { hide: true, body: PayloadsBody },
        bodyLimit: CODEC_BODY_LIMIT_BYTES,
        onRequest: async (request, reply) => {
          cors(reply);
          if (!(await authorize(request))) {
            return problem(reply.header('www-authenticate', 'Bearer'), 401, {
              type: ProblemType.Unauthenticated,
              title: 'The codec endpoint needs an authorized caller',
            });
          }
        },
      },
      async (request, reply) => {
        // One keyring serves every namespace, so the X-Namespace header the UI sends is not needed.
        const input = request.body.payloads.map(fromJson);
        let output: Payload[];
        try {
          output = direction === 'decode' ? await codec.decode(input) : await codec.encode(input);
        } catch (error) {
          // The codec's messages name key ids, never keys. The protocol answers codec failures with 400.
          return problem(reply, 400, {
            type: ProblemType.InvalidRequest,
            title: `The payloads could not be ${direction}d`,
            detail: error instanceof Error ? error.message : String(error),
          });
        }
        request.log.info({ payloads: output.length, namespace: request.headers['x-namespace'] }, `codec ${direction}`);
        return { payloads: output.map(toJson) };
      },
    );
  }
};
