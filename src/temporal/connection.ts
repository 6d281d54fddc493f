/**
 * How the worker and the API reach Temporal: the address, TLS (the server's CA, an mTLS client
 * certificate and key, a server name) and a Temporal Cloud API key, as one options object that both
 * `NativeConnection.connect` (worker) and `Connection.connect` (client) take. src/config.ts has
 * checked the settings at start; the PEM files are read here, when connecting.
 */
import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import type { Config } from '../config.js';

type TemporalSettings = Pick<Config['temporal'], 'address' | 'tls' | 'apiKey'>;

export interface TemporalConnectionOptions {
  address: string;
  /** Absent: plaintext (the dev server). `{}`: TLS with the system's roots (Temporal Cloud). */
  tls?: TLSConfig;
  /** Sent by the SDK as `authorization: Bearer …`. */
  apiKey?: string;
}

export function connectionOptions(temporal: TemporalSettings): TemporalConnectionOptions {
  const { tls } = temporal;
  return {
    address: temporal.address,
    ...(tls
      ? {
          tls: {
            ...(tls.serverName ? { serverNameOverride: tls.serverName } : {}),
            ...(tls.serverCaPath ? { serverRootCACertificate: readFileSync(tls.serverCaPath) } : {}),
            ...(tls.clientCertPath && tls.clientKeyPath
              ? { clientCertPair: { crt: readFileSync(tls.clientCertPath), key: readFileSync(tls.clientKeyPath) } }
              : {}),
          },
        }
      : {}),
    ...(temporal.apiKey ? { apiKey: temporal.apiKey } : {}),
  };
}

/** For start-up lines: the address and how the connection is secured — never the key itself. */
export function describeConnection(temporal: TemporalSettings): string {
  const how = [temporal.tls ? (temporal.tls.clientCertPath ? 'mTLS' : 'TLS') : undefined, temporal.apiKey ? 'API key' : undefined].filter(Boolean);
  return how.length > 0 ? `${temporal.address} (${how.join(', ')})` : temporal.address;
}
