/**
 * A real SMTP server in the test process (smtp-server): what nodemailer talks to in tests.
 * It records every accepted message, raw, with its envelope, and can be scripted to misbehave per
 * delivery attempt: answer 4xx/5xx at RCPT or after DATA, drop the connection, or take the message
 * and never answer (the client times out after the provider accepted it).
 *
 * It can also be put on hold as a whole (`hold()` / `release()`): every message whose DATA completes
 * meanwhile is kept unanswered and unstored; on release, a held message whose client is still
 * connected is answered and stored, one whose client went away is dropped — the ambiguous window of
 * a real relay, where the sender cannot know whether the message was taken.
 */
import type { Socket } from 'node:net';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import { freePort } from './ports.js';

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
  headers: Record<string, string>;
  receivedAt: number;
  /** True when the server kept the message but never confirmed it (stall-after-data). */
  unconfirmed: boolean;
}

/** One scripted misbehaviour, applied to one delivery attempt (one RCPT TO). */
export type SmtpFault =
  /** Reply `code` (4xx or 5xx) to RCPT TO. */
  | { kind: 'reject-rcpt'; code: number; message?: string }
  /** Read the whole message, then reply `code` (4xx or 5xx) instead of 250. */
  | { kind: 'reject-data'; code: number; message?: string }
  /** Close the TCP connection in answer to RCPT TO. */
  | { kind: 'drop-at-rcpt' }
  /** Read the whole message, then close the TCP connection without a reply (nothing stored). */
  | { kind: 'drop-after-data' }
  /** Read and store the message, then never reply: the client times out after success. */
  | { kind: 'stall-after-data' };

export interface SmtpAttempt {
  to: string;
  fault: SmtpFault['kind'] | 'none';
}

function parseHeaders(raw: string): Record<string, string> {
  const head = raw.split(/\r?\n\r?\n/, 1)[0] ?? '';
  const unfolded = head.replace(/\r?\n[ \t]+/g, ' ');
  const headers: Record<string, string> = {};
  for (const line of unfolded.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

/** A message whose DATA completed while the server was on hold: neither answered nor stored yet. */
export interface HeldMail {
  to: string[];
  headers: Record<string, string>;
  heldAt: number;
  /** False once the client's connection has closed (the message will be dropped on release). */
  connectionOpen: boolean;
}

export interface TestSmtpServer {
  url: string;
  received: ReceivedMail[];
  /** Every delivery attempt (RCPT TO) with the fault applied to it, oldest first. */
  attempts: SmtpAttempt[];
  /** Script the next attempts, one fault each, for any recipient. */
  scriptFaults(...faults: SmtpFault[]): void;
  /** Script the next attempts to `to` (consulted before the general script). */
  scriptFaultsFor(to: string, ...faults: SmtpFault[]): void;
  /** Resolves once `count` messages have arrived (or rejects after `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  /** Received messages carrying this Message-ID. */
  receivedWithMessageId(messageId: string): ReceivedMail[];
  /**
   * From now on, keep every message whose DATA completes without answering and without storing it
   * (scripted faults still take precedence for the attempts they name).
   */
  hold(): void;
  /** Messages held since `hold()` and not yet released. */
  held(): HeldMail[];
  /** Client connections open now. */
  openConnections(): number;
  /**
   * Ends the hold: answers (250) and stores each held message whose client connection is still
   * open; drops, never storing, each one whose connection closed meanwhile.
   */
  release(): { stored: number; dropped: number };
  close(): Promise<void>;
}

export async function startSmtpServer(): Promise<TestSmtpServer> {
  const received: ReceivedMail[] = [];
  const attempts: SmtpAttempt[] = [];
  const script: SmtpFault[] = [];
  const scriptByRecipient = new Map<string, SmtpFault[]>();
  const faultBySession = new Map<string, SmtpFault>();
  const sockets = new Map<string, Socket>();
  const waiters = new Set<() => void>();
  let holding = false;
  const heldMails: {
    mail: HeldMail;
    from: string;
    raw: string;
    socket: Socket | undefined;
    answer: () => void;
  }[] = [];

  const socketKey = (address: string | undefined, port: number | undefined) => `${address ?? ''}|${port ?? ''}`;
  const socketOf = (session: SMTPServerSession) => sockets.get(socketKey(session.remoteAddress, session.remotePort));
  const smtpError = (code: number, message: string) => Object.assign(new Error(message), { responseCode: code });

  const envelopeOf = (session: SMTPServerSession) => ({
    from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
    to: session.envelope.rcptTo.map((r) => r.address),
  });

  function storeMail(envelope: { from: string; to: string[] }, raw: string, unconfirmed: boolean) {
    received.push({ ...envelope, raw, headers: parseHeaders(raw), receivedAt: Date.now(), unconfirmed });
    for (const wake of waiters) wake();
  }

  function store(session: SMTPServerSession, raw: string, unconfirmed: boolean) {
    storeMail(envelopeOf(session), raw, unconfirmed);
  }

  const isOpen = (socket: Socket | undefined) => socket !== undefined && !socket.destroyed && !socket.readableEnded;

  /** Keeps a message unanswered until `release()`; remembers whether its client stays connected. */
  function holdMessage(session: SMTPServerSession, raw: string, answer: () => void) {
    const socket = socketOf(session);
    const envelope = envelopeOf(session);
    const mail: HeldMail = { to: envelope.to, headers: parseHeaders(raw), heldAt: Date.now(), connectionOpen: isOpen(socket) };
    if (socket && mail.connectionOpen) {
      const closed = () => {
        mail.connectionOpen = false;
      };
      socket.once('close', closed);
      socket.once('end', closed);
    }
    heldMails.push({ mail, from: envelope.from, raw, socket, answer });
  }

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(address, session, callback) {
      const fault = scriptByRecipient.get(address.address)?.shift() ?? script.shift();
      attempts.push({ to: address.address, fault: fault?.kind ?? 'none' });
      if (fault) faultBySession.set(session.id, fault);
      else faultBySession.delete(session.id);
      switch (fault?.kind) {
        case 'reject-rcpt':
          return callback(smtpError(fault.code, fault.message ?? `${fault.code} recipient rejected by test script`));
        case 'drop-at-rcpt':
          socketOf(session)?.destroy();
          return;
        default:
          return callback();
      }
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const fault = faultBySession.get(session.id);
        faultBySession.delete(session.id);
        switch (fault?.kind) {
          case 'reject-data':
            return callback(smtpError(fault.code, fault.message ?? `${fault.code} message rejected by test script`));
          case 'drop-after-data':
            socketOf(session)?.destroy();
            return;
          case 'stall-after-data':
            store(session, raw, true);
            return; // never answer
          default:
            if (holding) return holdMessage(session, raw, () => callback());
            store(session, raw, false);
            return callback();
        }
      });
    },
  });
  // A client killed mid-session (the fault suite's SIGKILLed worker) resets its connection; a real
  // server logs that and carries on — without a listener, smtp-server's 'error' would throw.
  server.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') throw error;
  });
  server.server.on('connection', (socket: Socket) => {
    const key = socketKey(socket.remoteAddress, socket.remotePort);
    sockets.set(key, socket);
    socket.once('close', () => sockets.delete(key));
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    attempts,
    scriptFaults: (...faults) => void script.push(...faults),
    scriptFaultsFor(to, ...faults) {
      scriptByRecipient.set(to, [...(scriptByRecipient.get(to) ?? []), ...faults]);
    },
    receivedWithMessageId: (messageId) => received.filter((m) => m.headers['message-id'] === messageId),
    hold() {
      holding = true;
    },
    openConnections: () => sockets.size,
    held: () => heldMails.map(({ mail, socket }) => ({ ...mail, connectionOpen: mail.connectionOpen && isOpen(socket) })),
    release() {
      holding = false;
      let stored = 0;
      let dropped = 0;
      for (const { mail, from, raw, socket, answer } of heldMails.splice(0)) {
        if (mail.connectionOpen && isOpen(socket)) {
          storeMail({ from, to: mail.to }, raw, false);
          answer();
          stored++;
        } else {
          dropped++;
        }
      }
      return { stored, dropped };
    },
    waitFor(count, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (received.length >= count) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(received.slice());
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`expected ${count} mails, got ${received.length} after ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets.values()) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
