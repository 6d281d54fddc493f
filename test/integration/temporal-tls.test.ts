/**
 * TLS and mTLS to Temporal, for real: the CLI's dev server speaks plaintext only (`temporal server
 * start-dev` has no TLS flags), so this test puts a TLS-terminating TCP proxy in front of the run's
 * dev server — a server certificate for `temporal.chime.test` from a throw-away CA, client
 * certificates required — and connects through it with the options src/temporal/connection.ts
 * builds from TEMPORAL_TLS_* settings: the API's client Connection, and a worker's NativeConnection
 * that polls a task queue. The same settings without the client pair or without the server name are
 * refused by the handshake. (API-key auth needs Temporal Cloud; its options are unit-tested.)
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { connectionOptions } from '../../src/temporal/connection.js';
import { freePort } from '../support/ports.js';
import { waitUntil } from '../support/processes.js';

const run = promisify(execFile);
const SERVER_NAME = 'temporal.chime.test';

let dir: string;
let proxy: tls.Server;
let proxyAddress: string;
/** One entry per accepted TLS session: the client certificate's CN. */
const sessions: string[] = [];

async function openssl(...args: string[]) {
  await run('openssl', args, { cwd: dir });
}

/** A certificate for `cn` signed by the test CA, with `extensions` (an openssl extfile). */
async function issue(name: string, cn: string, extensions: string) {
  await writeFile(path.join(dir, `${name}.ext`), extensions);
  await openssl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
  await openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-out', `${name}.pem`, '-extfile', `${name}.ext`);
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'chime-tls-'));
  await openssl(
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1',
    '-subj', '/CN=Chime test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  );
  await issue('server', SERVER_NAME, `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:${SERVER_NAME}\n`);
  await issue('client', 'chime-worker', 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n');

  const [upstreamHost, upstreamPort] = inject('temporalAddress').split(':') as [string, string];
  const [key, cert, ca] = await Promise.all(['server.key', 'server.pem', 'ca.pem'].map((f) => readFile(path.join(dir, f))));
  proxy = tls.createServer({ key, cert, ca, requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['h2'] }, (socket) => {
    sessions.push(String(socket.getPeerCertificate().subject?.CN));
    const upstream = net.connect(Number(upstreamPort), upstreamHost);
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
  });
  const port = await freePort();
  await new Promise<void>((resolve) => proxy.listen(port, '127.0.0.1', resolve));
  proxyAddress = `127.0.0.1:${port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve()));
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** TEMPORAL_* settings pointing at the TLS proxy. */
const env = (extra: Record<string, string> = {}) => ({ TEMPORAL_ADDRESS: proxyAddress, TEMPORAL_TLS_CA_PATH: path.join(dir, 'ca.pem'), ...extra });
const mtls = () =>
  env({ TEMPORAL_TLS_CERT_PATH: path.join(dir, 'client.pem'), TEMPORAL_TLS_KEY_PATH: path.join(dir, 'client.key'), TEMPORAL_TLS_SERVER_NAME: SERVER_NAME });

describe('Temporal over TLS / mTLS (TLS proxy in front of the dev server)', () => {
  it("the API's client connects with mTLS: server CA, client pair and server name from TEMPORAL_TLS_*", async () => {
    const before = sessions.length;
    const connection = await Connection.connect(connectionOptions(loadConfig(mtls()).temporal));
    try {
      const info = await connection.workflowService.getSystemInfo({});
      expect(info.serverVersion).toBeTruthy();
    } finally {
      await connection.close();
    }
    expect(sessions.slice(before)).toContain('chime-worker');
  });

  it("a worker's native connection polls its task queue over mTLS", async () => {
    const config = loadConfig({ ...mtls(), CHIME_TASK_QUEUE: `tls-${Date.now()}` });
    const connection = await NativeConnection.connect(connectionOptions(config.temporal));
    const client = await Connection.connect(connectionOptions(config.temporal));
    try {
      const worker = await Worker.create({ connection, taskQueue: config.temporal.taskQueue, workflowBundle: { codePath: inject('workflowBundlePath') } });
      await worker.runUntil(
        waitUntil(
          'the worker polling through the TLS proxy',
          async () => {
            const { pollers } = await client.workflowService.describeTaskQueue({
              namespace: config.temporal.namespace,
              taskQueue: { name: config.temporal.taskQueue },
              taskQueueType: 1, // TASK_QUEUE_TYPE_WORKFLOW (@temporalio/proto is no direct dependency)
            });
            return pollers.some((p) => p.identity === worker.options.identity);
          },
          { timeoutMs: 20_000, intervalMs: 200 },
        ),
      );
    } finally {
      await client.close();
      await connection.close();
    }
  });

  it.each([
    ['without the client pair', () => env({ TEMPORAL_TLS_SERVER_NAME: SERVER_NAME })],
    ['without the server name (the certificate names temporal.chime.test, not 127.0.0.1)', () => env({ TEMPORAL_TLS_CERT_PATH: path.join(dir, 'client.pem'), TEMPORAL_TLS_KEY_PATH: path.join(dir, 'client.key') })],
    ['without the server CA', () => ({ ...mtls(), TEMPORAL_TLS_CA_PATH: '' })],
  ])('the handshake fails %s', async (_, settings) => {
    const before = sessions.length;
    const connecting = Connection.connect({ ...connectionOptions(loadConfig(settings()).temporal), connectTimeout: 3_000 });
    await expect(connecting).rejects.toThrow();
    expect(sessions.length, 'no TLS session was established').toBe(before);
  });
});
