/**
 * Payload encryption: the AES-256-GCM codec (round trip, fresh IVs, tamper evidence, key rotation,
 * plaintext pass-through), CHIME_PAYLOAD_KEYS parsing, and the remote codec endpoint the Temporal
 * Web UI and CLI call.
 */
import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEncryptionCodec, ENCRYPTED_ENCODING, KEY_ID_METADATA_KEY, parseEncryptionKeys } from '../../src/temporal/codec.js';
import { codecRoutes } from '../../src/api/routes/codec.js';
import { dataConverterFor } from '../../src/temporal/data-converter.js';

const k1 = randomBytes(32);
const k2 = randomBytes(32);
const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? new Uint8Array()).toString('utf8');
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
/** Payloads with Buffers for bytes (what decode returns), for deep equality. */
const plain = (p: Payload | undefined) => ({
  metadata: Object.fromEntries(Object.entries(p?.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? [])])),
  data: Buffer.from(p?.data ?? []),
});
const only = <T>(xs: T[]): T => {
  expect(xs).toHaveLength(1);
  return xs[0] as T;
};

const secret: Payload = defaultPayloadConverter.toPayload({ title: 'TOP-SECRET-TITLE', body: 'the body' });

describe('createEncryptionCodec', () => {
  const codec = createEncryptionCodec({ keys: new Map([['k1', k1]]), activeKeyId: 'k1' });

  it('round-trips any payload, metadata and data byte for byte', async () => {
    const bytes = fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b));
    const payload = fc.record({ metadata: fc.dictionary(fc.string({ minLength: 1 }), bytes, { maxKeys: 4 }), data: bytes });
    await fc.assert(
      fc.asyncProperty(fc.array(payload, { maxLength: 4 }), async (payloads) => {
        const encoded = await codec.encode(payloads);
        expect(encoded).toHaveLength(payloads.length);
        for (const p of encoded) expect(text(p.metadata?.encoding)).toBe(ENCRYPTED_ENCODING);
        expect(await codec.decode(encoded)).toEqual(payloads);
      }),
    );
  });

  it('round-trips values through the default payload converter', async () => {
    await fc.assert(
      fc.asyncProperty(fc.json(), async (json) => {
        const value: unknown = JSON.parse(json);
        const decoded = only(await codec.decode(await codec.encode([defaultPayloadConverter.toPayload(value)])));
        expect(defaultPayloadConverter.fromPayload(decoded)).toEqual(value);
      }),
    );
  });

  it('leaves only the encoding and the key id in the clear', async () => {
    const encoded = only(await codec.encode([secret]));
    expect(Object.keys(encoded.metadata ?? {}).sort()).toEqual([KEY_ID_METADATA_KEY, 'encoding'].sort());
    expect(text(encoded.metadata?.[KEY_ID_METADATA_KEY])).toBe('k1');
    expect(Buffer.from(encoded.data ?? []).includes('TOP-SECRET-TITLE')).toBe(false);
    expect(Buffer.from(encoded.data ?? []).includes('json/plain')).toBe(false);
  });

  it('uses a fresh IV every time: the same input never gives the same ciphertext', async () => {
    const [a, b] = await codec.encode([secret, secret]);
    const c = only(await codec.encode([secret]));
    const datas = [a, b, c].map((p) => Buffer.from(p?.data ?? []));
    expect(new Set(datas.map((d) => d.toString('hex'))).size).toBe(3);
    expect(new Set(datas.map((d) => d.subarray(0, 12).toString('hex'))).size).toBe(3);
  });

  it('refuses altered ciphertext, IV or tag', async () => {
    const encoded = only(await codec.encode([secret]));
    const data = Buffer.from(encoded.data ?? []);
    for (const at of [0, 12, data.length - 20, data.length - 1]) {
      const altered = Buffer.from(data);
      altered[at] = (altered[at] ?? 0) ^ 0x01;
      await expect(codec.decode([{ ...encoded, data: altered }])).rejects.toThrow(/failed authentication/);
    }
    await expect(codec.decode([{ ...encoded, data: data.subarray(0, 20) }])).rejects.toThrow(/truncated/);
  });

  it('refuses a payload sealed with another key under the same id', async () => {
    const other = createEncryptionCodec({ keys: new Map([['k1', k2]]), activeKeyId: 'k1' });
    await expect(codec.decode(await other.encode([secret]))).rejects.toThrow(/failed authentication/);
  });

  it('rotates: old payloads decode with the kept key, new ones use the active key', async () => {
    const before = createEncryptionCodec({ keys: new Map([['k1', k1]]), activeKeyId: 'k1' });
    const old = only(await before.encode([secret]));

    const after = createEncryptionCodec({ keys: new Map([['k2', k2], ['k1', k1]]), activeKeyId: 'k2' });
    expect(plain(only(await after.decode([old])))).toEqual(plain(secret));
    const fresh = only(await after.encode([secret]));
    expect(text(fresh.metadata?.[KEY_ID_METADATA_KEY])).toBe('k2');
    expect(plain(only(await after.decode([fresh])))).toEqual(plain(secret));
    // Without k2 the old codec cannot read the new payload.
    await expect(before.decode([fresh])).rejects.toThrow('"k2"');
  });

  it('names an unknown key id, and never any key material', async () => {
    const sealed = only(await createEncryptionCodec({ keys: new Map([['retired-2024', k2]]), activeKeyId: 'retired-2024' }).encode([secret]));
    const error = await codec.decode([sealed]).then(
      () => expect.unreachable('decoded with an unknown key'),
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toContain('retired-2024');
    for (const key of [k1, k2]) {
      expect(error.message).not.toContain(key.toString('base64'));
      expect(error.message).not.toContain(key.toString('hex'));
      expect(error.message).not.toContain(key.toString('latin1'));
    }
  });

  it('passes payloads without the encrypted encoding through unchanged (histories from before)', async () => {
    const nullPayload = defaultPayloadConverter.toPayload(undefined);
    const decoded = await codec.decode([secret, nullPayload, {}]);
    expect(decoded[0]).toBe(secret);
    expect(decoded[1]).toBe(nullPayload);
    expect(decoded[2]).toEqual({});
  });

  it('refuses keys that are not 32 bytes and an active key that is missing', () => {
    expect(() => createEncryptionCodec({ keys: new Map([['short', randomBytes(16)]]), activeKeyId: 'short' })).toThrow(/"short" must be 32 bytes/);
    expect(() => createEncryptionCodec({ keys: new Map([['k1', k1]]), activeKeyId: 'k9' })).toThrow(/"k9"/);
  });
});

describe('parseEncryptionKeys', () => {
  it('is undefined when unset or blank', () => {
    expect(parseEncryptionKeys(undefined)).toBeUndefined();
    expect(parseEncryptionKeys('')).toBeUndefined();
    expect(parseEncryptionKeys('  ')).toBeUndefined();
  });

  it('takes the first key as active and keeps them all', () => {
    const parsed = parseEncryptionKeys(` k2:${b64(k2)} , k1:${b64(k1)}`);
    expect(parsed?.activeKeyId).toBe('k2');
    expect([...(parsed?.keys.keys() ?? [])]).toEqual(['k2', 'k1']);
    expect(Buffer.from(parsed?.keys.get('k1') ?? []).equals(k1)).toBe(true);
    expect(Buffer.from(parsed?.keys.get('k2') ?? []).equals(k2)).toBe(true);
  });

  it.each([
    ['an entry without an id', `${b64(k1)}`, /entry 1 is not <key id>:<base64 key>/],
    ['an empty entry', `k1:${b64(k1)},`, /entry 2 is not <key id>/],
    ['an empty id', `:${b64(k1)}`, /entry 1 has an invalid key id/],
    ['an id with spaces', `my key:${b64(k1)}`, /entry 1 has an invalid key id/],
    ['a repeated id', `k1:${b64(k1)},k1:${b64(k2)}`, /entry 2 repeats key id "k1"/],
    ['a key that is not base64', `k1:${b64(k1).slice(0, -4)}!!!!`, /entry 1 \(key "k1"\) is not base64/],
    ['a 16-byte key', `k1:${b64(randomBytes(16))}`, /entry 1 \(key "k1"\) must be 32 bytes, got 16/],
    ['a 33-byte key', `k2:${b64(k2)},k1:${b64(randomBytes(33))}`, /entry 2 \(key "k1"\) must be 32 bytes, got 33/],
  ])('refuses %s, naming the entry but no key', (_name, env, message) => {
    let error: Error | undefined;
    try {
      parseEncryptionKeys(env);
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).toMatch(message);
    expect(error?.message).toContain('CHIME_PAYLOAD_KEYS');
    expect(error?.message).not.toContain(b64(k1).slice(0, 16));
    expect(error?.message).not.toContain(b64(k2).slice(0, 16));
  });
});

describe('dataConverterFor', () => {
  it('is the default converter without keys and one encryption codec with them', async () => {
    expect(dataConverterFor(undefined)).toBeUndefined();
    const converter = dataConverterFor(parseEncryptionKeys(`k1:${b64(k1)}`));
    const [codec] = converter?.payloadCodecs ?? [];
    expect(converter?.payloadCodecs).toHaveLength(1);
    expect(text(only((await codec?.encode([secret])) ?? []).metadata?.encoding)).toBe(ENCRYPTED_ENCODING);
  });
});

describe('codec endpoint', () => {
  const UI = 'http://localhost:8233';
  const TOKEN = 'Bearer admin-token';
  const codec = createEncryptionCodec({ keys: new Map([['k1', k1]]), activeKeyId: 'k1' });
  let app: FastifyInstance;
  let authorized: string[];

  beforeEach(async () => {
    authorized = [];
    app = Fastify({ logger: false }).withTypeProvider<TypeBoxTypeProvider>();
    await app.register(codecRoutes, {
      codec,
      uiOrigin: UI,
      authorize: async (request) => {
        authorized.push(request.url);
        return request.headers.authorization === TOKEN;
      },
    });
    await app.ready();
  });
  afterEach(async () => {
    await app.close();
  });

  /** proto3 JSON: metadata values and data are base64. */
  const json = (p: Payload) => ({
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, b64(v ?? new Uint8Array())])),
    data: b64(p.data ?? new Uint8Array()),
  });
  const post = (direction: 'encode' | 'decode', body: unknown, authorization: string | null = TOKEN) =>
    app.inject({
      method: 'POST',
      url: `/codec/${direction}`,
      headers: { 'content-type': 'application/json', origin: UI, 'x-namespace': 'default', ...(authorization ? { authorization } : {}) },
      payload: JSON.stringify(body),
    });

  it('decodes what the worker encrypted, in the protocol shape, for the UI origin', async () => {
    const sealed = await codec.encode([secret, secret]);
    const response = await post('decode', { payloads: sealed.map(json) });
    expect(response.statusCode).toBe(200);
    expect(response.headers['access-control-allow-origin']).toBe(UI);
    expect(response.headers['access-control-allow-credentials']).toBe('true');
    expect(response.json()).toEqual({ payloads: [json(secret), json(secret)] });
    // Plaintext payloads (the UI sends every payload of a history) come back as they are.
    const plain = await post('decode', { payloads: [json(secret)] });
    expect(plain.json()).toEqual({ payloads: [json(secret)] });
  });

  it('encodes for the UI and CLI (start or signal with input), decodable by the codec', async () => {
    const response = await post('encode', { payloads: [json(secret)] });
    expect(response.statusCode).toBe(200);
    const [encoded] = (response.json() as { payloads: { metadata: Record<string, string>; data: string }[] }).payloads;
    expect(Buffer.from(encoded?.metadata.encoding ?? '', 'base64').toString()).toBe(ENCRYPTED_ENCODING);
    const back = await post('decode', { payloads: [encoded] });
    expect(back.json()).toEqual({ payloads: [json(secret)] });
  });

  it('answers 401 without authorization, before reading the body, with CORS headers the UI can read', async () => {
    const sealed = await codec.encode([secret]);
    const denied = await post('decode', { payloads: sealed.map(json) }, null);
    expect(denied.statusCode).toBe(401);
    expect(denied.headers['access-control-allow-origin']).toBe(UI);
    expect(denied.body).not.toContain('TOP-SECRET');
    const wrong = await post('encode', { payloads: [json(secret)] }, 'Bearer nope');
    expect(wrong.statusCode).toBe(401);
    // Not even a malformed body is looked at first.
    const garbage = await app.inject({ method: 'POST', url: '/codec/decode', headers: { 'content-type': 'application/json' }, payload: '{nope' });
    expect(garbage.statusCode).toBe(401);
  });

  it('answers the preflight without authorization, for the UI origin and the headers it sends', async () => {
    for (const direction of ['decode', 'encode']) {
      const response = await app.inject({
        method: 'OPTIONS',
        url: `/codec/${direction}`,
        headers: { origin: UI, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace,authorization' },
      });
      expect(response.statusCode).toBe(204);
      expect(response.headers['access-control-allow-origin']).toBe(UI);
      expect(response.headers['access-control-allow-credentials']).toBe('true');
      expect(response.headers['access-control-allow-methods']).toContain('POST');
      expect(String(response.headers['access-control-allow-headers']).split(/,\s*/).sort()).toEqual(['authorization', 'content-type', 'x-namespace']);
    }
    expect(authorized).toEqual([]);
  });

  it('answers 400 for a payload it cannot decode, naming the key id only, and for a malformed body', async () => {
    const foreign = createEncryptionCodec({ keys: new Map([['k7', k2]]), activeKeyId: 'k7' });
    const response = await post('decode', { payloads: (await foreign.encode([secret])).map(json) });
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect((response.json() as { detail: string }).detail).toContain('"k7"');
    expect(response.body).not.toContain(k2.toString('base64'));
    expect((await post('decode', { payload: [] })).statusCode).toBe(400);
    expect((await post('decode', { payloads: [{ metadata: 'nope' }] })).statusCode).toBe(400);
  });
});
