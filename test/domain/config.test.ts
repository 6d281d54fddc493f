/**
 * Temporal connection settings (TLS, mTLS, Temporal Cloud API key) and the worker's shutdown grace:
 * what loadConfig accepts and refuses at start, and the connection options built from them.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { connectionOptions, describeConnection } from '../../src/temporal/connection.js';

let dir: string;
let cert: string;
let key: string;
let ca: string;
let notPem: string;
const API_KEY = 'tcld_secret_1234567890';

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'chime-config-'));
  [cert, key, ca, notPem] = ['client.pem', 'client.key', 'ca.pem', 'notes.txt'].map((f) => path.join(dir, f)) as [string, string, string, string];
  await writeFile(cert, '-----BEGIN CERTIFICATE-----\nY2VydA==\n-----END CERTIFICATE-----\n');
  await writeFile(key, '-----BEGIN PRIVATE KEY-----\na2V5\n-----END PRIVATE KEY-----\n');
  await writeFile(ca, '-----BEGIN CERTIFICATE-----\nY2E=\n-----END CERTIFICATE-----\n');
  await writeFile(notPem, 'not a certificate\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The ConfigError's message for `env`, or undefined when it loads. */
function refusal(env: Record<string, string>): string | undefined {
  try {
    loadConfig(env);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
}

describe('Temporal TLS and API key settings', () => {
  it('default: plaintext to the local dev server, no key; shutdown grace 30 s', () => {
    const config = loadConfig({});
    expect(config.temporal.tls).toBeUndefined();
    expect(config.temporal.apiKey).toBeUndefined();
    expect(connectionOptions(config.temporal)).toEqual({ address: '127.0.0.1:7233' });
    expect(config.worker.shutdownGraceMs).toBe(30_000);
    expect(loadConfig({ CHIME_WORKER_SHUTDOWN_GRACE_MS: '5000' }).worker.shutdownGraceMs).toBe(5_000);
    expect(refusal({ CHIME_WORKER_SHUTDOWN_GRACE_MS: '-1' })).toMatch(/worker\/shutdownGraceMs/);
  });

  it('the sticky queue holds a workflow task 30 s by default (docs/performance.md), at least 1 s', () => {
    expect(loadConfig({}).worker.stickyTimeoutMs).toBe(30_000);
    expect(loadConfig({ CHIME_WORKER_STICKY_TIMEOUT_MS: '10000' }).worker.stickyTimeoutMs).toBe(10_000);
    expect(refusal({ CHIME_WORKER_STICKY_TIMEOUT_MS: '500' })).toMatch(/worker\/stickyTimeoutMs/);
  });

  it('TEMPORAL_TLS=true: TLS with the system roots', () => {
    const config = loadConfig({ TEMPORAL_ADDRESS: 'temporal.example.com:7233', TEMPORAL_TLS: 'true' });
    expect(connectionOptions(config.temporal)).toEqual({ address: 'temporal.example.com:7233', tls: {} });
    expect(describeConnection(config.temporal)).toBe('temporal.example.com:7233 (TLS)');
    expect(refusal({ TEMPORAL_TLS: 'yes' })).toBe('TEMPORAL_TLS must be true or false, got "yes"');
  });

  it('mTLS: client pair, server CA and server name read into the options (TLS implied by the files)', () => {
    const config = loadConfig({ TEMPORAL_TLS_CERT_PATH: cert, TEMPORAL_TLS_KEY_PATH: key, TEMPORAL_TLS_CA_PATH: ca, TEMPORAL_TLS_SERVER_NAME: 'temporal.internal' });
    expect(config.temporal.tls).toEqual({ clientCertPath: cert, clientKeyPath: key, serverCaPath: ca, serverName: 'temporal.internal' });
    const options = connectionOptions(config.temporal);
    expect(options.tls?.serverNameOverride).toBe('temporal.internal');
    expect(Buffer.from(options.tls!.serverRootCACertificate!).toString()).toContain('Y2E=');
    expect(Buffer.from(options.tls!.clientCertPair!.crt).toString()).toContain('BEGIN CERTIFICATE');
    expect(Buffer.from(options.tls!.clientCertPair!.key).toString()).toContain('BEGIN PRIVATE KEY');
    expect(describeConnection(config.temporal)).toBe('127.0.0.1:7233 (mTLS)');
  });

  it('a relative path is resolved against the working directory', () => {
    const relative = path.relative(process.cwd(), ca);
    expect(loadConfig({ TEMPORAL_TLS_CA_PATH: relative }).temporal.tls).toEqual({ serverCaPath: ca });
  });

  it('Temporal Cloud API key: implies TLS, goes into the options, never into a description', () => {
    const config = loadConfig({ TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_NAMESPACE: 'ns.acct', TEMPORAL_API_KEY: API_KEY });
    expect(connectionOptions(config.temporal)).toEqual({ address: 'ns.acct.tmprl.cloud:7233', tls: {}, apiKey: API_KEY });
    expect(describeConnection(config.temporal)).toBe('ns.acct.tmprl.cloud:7233 (TLS, API key)');
  });

  it.each([
    [{ TEMPORAL_API_KEY: API_KEY, TEMPORAL_TLS: 'false' }, 'TEMPORAL_API_KEY is set but TEMPORAL_TLS=false (an API key is only sent over TLS): unset TEMPORAL_TLS or set it to true'],
    [{ TEMPORAL_TLS_CA_PATH: 'ca.pem', TEMPORAL_TLS: '0' }, 'TEMPORAL_TLS_CA_PATH is set but TEMPORAL_TLS=false (it is a TLS setting): unset TEMPORAL_TLS or set it to true'],
    [{ TEMPORAL_TLS_CERT_PATH: 'client.pem' }, 'TEMPORAL_TLS_CERT_PATH is set without TEMPORAL_TLS_KEY_PATH: the mTLS client certificate and its key go together (set both or neither)'],
    [{ TEMPORAL_TLS_KEY_PATH: 'client.key' }, 'TEMPORAL_TLS_KEY_PATH is set without TEMPORAL_TLS_CERT_PATH: the mTLS client certificate and its key go together (set both or neither)'],
  ])('refuses %j', (env, message) => {
    const got = refusal(env);
    expect(got).toBe(message);
    expect(got).not.toContain(API_KEY);
  });

  it('refuses a missing file, a directory and a non-PEM file, naming the variable and the path', () => {
    const missing = path.join(dir, 'nope.pem');
    expect(refusal({ TEMPORAL_TLS_CA_PATH: missing })).toBe(`TEMPORAL_TLS_CA_PATH: cannot read ${missing} (no such file)`);
    expect(refusal({ TEMPORAL_TLS_CERT_PATH: dir, TEMPORAL_TLS_KEY_PATH: key })).toBe(`TEMPORAL_TLS_CERT_PATH: cannot read ${dir} (a directory, not a file)`);
    expect(refusal({ TEMPORAL_TLS_CERT_PATH: cert, TEMPORAL_TLS_KEY_PATH: notPem })).toBe(`TEMPORAL_TLS_KEY_PATH: ${notPem} is not a PEM file (no "-----BEGIN" line)`);
    expect(refusal({ TEMPORAL_API_KEY: API_KEY, TEMPORAL_TLS_CA_PATH: missing })).not.toContain(API_KEY);
  });
});
