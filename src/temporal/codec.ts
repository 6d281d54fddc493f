/**
 * Payload encryption: a Temporal `PayloadCodec` that seals every payload Chime writes (workflow and
 * activity inputs and results, update and query arguments, memos, static summaries) with
 * AES-256-GCM, so titles, bodies and templates are ciphertext in the Temporal server's history.
 * Search attributes are not payloads the codec sees: they must stay free of secrets.
 *
 * A codec runs in the client's and the worker's data converter, outside the workflow sandbox, so
 * node:crypto is fine here. Configured by `CHIME_PAYLOAD_KEYS=k2:<base64>,k1:<base64>`: the first
 * key encrypts, every listed key decrypts, which is how keys rotate without losing old histories.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import protobuf from 'protobufjs';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA_KEY = 'encryption-key-id';
export const PAYLOAD_KEYS_ENV = 'CHIME_PAYLOAD_KEYS';

const ALGORITHM = 'aes-256-gcm';
const KEY_BYTES = 32;
/** 96-bit IVs are GCM's native size; a fresh random one per payload, never reused with a key. */
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Ids travel in payload metadata and in error messages: keep them short and printable. */
const KEY_ID_RE = /^[A-Za-z0-9._-]{1,64}$/;
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export interface EncryptionKeyring {
  /** Key id → 32-byte AES key. Every key here can decrypt. */
  keys: ReadonlyMap<string, Uint8Array>;
  /** The key new payloads are encrypted with. */
  activeKeyId: string;
}

/**
 * Temporal's own `Payload` message (metadata = 1, data = 2), declared here so the plaintext we seal
 * is the original payload byte for byte as other SDKs' codecs and tools would serialize it, without
 * depending on @temporalio/proto directly.
 */
const PayloadMessage = new protobuf.Type('Payload')
  .add(new protobuf.MapField('metadata', 1, 'string', 'bytes'))
  .add(new protobuf.Field('data', 2, 'bytes'));
new protobuf.Root().define('temporal.api.common.v1').add(PayloadMessage);

const bytes = (s: string) => Buffer.from(s, 'utf8');
const text = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString('utf8') : undefined);

export function createEncryptionCodec({ keys, activeKeyId }: EncryptionKeyring): PayloadCodec {
  for (const [id, key] of keys) {
    // Name the id only: a key never appears in an error, a log or a history.
    if (key.length !== KEY_BYTES) throw new Error(`payload key "${id}" must be ${KEY_BYTES} bytes, got ${key.length}`);
  }
  const activeKey = keys.get(activeKeyId);
  if (!activeKey) throw new Error(`the active payload key "${activeKeyId}" is not among the keys`);

  const seal = (payload: Payload): Payload => {
    const plaintext = PayloadMessage.encode({ metadata: payload.metadata ?? {}, data: payload.data ?? new Uint8Array() }).finish();
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, activeKey, iv);
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return {
      // Only what decoding needs is left in the clear: the original encoding is inside the seal.
      metadata: { [METADATA_ENCODING_KEY]: bytes(ENCRYPTED_ENCODING), [KEY_ID_METADATA_KEY]: bytes(activeKeyId) },
      data: Buffer.concat([iv, ciphertext, cipher.getAuthTag()]),
    };
  };

  const open = (payload: Payload): Payload => {
    // Histories written before encryption was turned on (or by another codec-less client) still read.
    if (text(payload.metadata?.[METADATA_ENCODING_KEY]) !== ENCRYPTED_ENCODING) return payload;
    const keyId = text(payload.metadata?.[KEY_ID_METADATA_KEY]);
    if (keyId === undefined) throw new Error(`an encrypted payload has no ${KEY_ID_METADATA_KEY}`);
    const key = keys.get(keyId);
    if (!key) throw new Error(`payload encrypted with unknown key id "${keyId}": add it to ${PAYLOAD_KEYS_ENV} to read it`);
    const sealed = payload.data ?? new Uint8Array();
    if (sealed.length < IV_BYTES + TAG_BYTES) throw new Error(`an encrypted payload (key "${keyId}") is truncated`);
    const decipher = createDecipheriv(ALGORITHM, key, sealed.subarray(0, IV_BYTES));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    let plaintext: Buffer;
    try {
      plaintext = Buffer.concat([decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
    } catch (cause) {
      throw new Error(`an encrypted payload (key "${keyId}") failed authentication: altered, or sealed with another key of that id`, { cause });
    }
    const inner = PayloadMessage.toObject(PayloadMessage.decode(plaintext)) as { metadata?: Record<string, Uint8Array>; data?: Uint8Array };
    // proto3 drops empty bytes fields; a payload as the server would hand it back has both.
    return { metadata: inner.metadata ?? {}, data: inner.data ?? new Uint8Array() };
  };

  return {
    async encode(payloads) {
      return payloads.map(seal);
    },
    async decode(payloads) {
      return payloads.map(open);
    },
  };
}

/**
 * Parses `CHIME_PAYLOAD_KEYS` (`k2:<base64 of 32 bytes>,k1:<base64 of 32 bytes>`; the first is
 * active). Unset or blank: no encryption. Errors name the entry and its id, never key material.
 */
export function parseEncryptionKeys(env: string | undefined): EncryptionKeyring | undefined {
  if (env === undefined || env.trim() === '') return undefined;
  const keys = new Map<string, Uint8Array>();
  for (const [i, raw] of env.split(',').entries()) {
    const entry = raw.trim();
    const where = `${PAYLOAD_KEYS_ENV} entry ${i + 1}`;
    const colon = entry.indexOf(':');
    // Without a well-formed id the entry may be nothing but a key: do not echo any of it.
    if (colon < 0) throw new Error(`${where} is not <key id>:<base64 key>`);
    const id = entry.slice(0, colon).trim();
    const encoded = entry.slice(colon + 1).trim();
    if (!KEY_ID_RE.test(id)) throw new Error(`${where} has an invalid key id: use 1 to 64 of A-Z a-z 0-9 . _ -`);
    if (keys.has(id)) throw new Error(`${where} repeats key id "${id}"`);
    // Buffer.from(…, 'base64') skips what it cannot read; a typo must fail, not shorten the key.
    if (!BASE64_RE.test(encoded)) throw new Error(`${where} (key "${id}") is not base64`);
    const key = Buffer.from(encoded, 'base64');
    if (key.length !== KEY_BYTES) throw new Error(`${where} (key "${id}") must be ${KEY_BYTES} bytes, got ${key.length}`);
    keys.set(id, key);
  }
  const [activeKeyId] = keys.keys();
  return { keys, activeKeyId: activeKeyId as string };
}
