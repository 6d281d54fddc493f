/**
 * The data converter every Temporal client and worker of Chime is built with. Both sides must
 * agree: a worker without the keys cannot read what an encrypting client started, and vice versa.
 */
import type { DataConverter } from '@temporalio/common';
import { createEncryptionCodec, type EncryptionKeyring } from './codec.js';

/**
 * With keys, payloads are encrypted (`payloadCodecs: [codec]`); without, `undefined`: the SDK's
 * default converter, plaintext as before. Pass it on as
 * `...(dataConverter ? { dataConverter } : {})` (exactOptionalPropertyTypes).
 */
export function dataConverterFor(keyring?: EncryptionKeyring): DataConverter | undefined {
  return keyring ? { payloadCodecs: [createEncryptionCodec(keyring)] } : undefined;
}
