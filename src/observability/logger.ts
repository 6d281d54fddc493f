/**
 * One JSON line per event (pino), for the API, the worker and the Temporal SDK inside the worker.
 * Lines carry ids — request, tenant, workflow, reminder or schedule, occurrence, idempotency key —
 * and never a contact point or a message: fields that could hold one are censored wherever they
 * appear, as a second line of defence behind code that never logs them.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';

export type { Logger };

/** Field names that could carry an address, a number or a message's text. */
const CONTACT_AND_CONTENT_FIELDS = ['to', 'email', 'phone', 'number', 'address', 'body', 'text', 'html', 'subject', 'content', 'contacts'];
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'apiKey',
  '*.apiKey',
  'authToken',
  '*.authToken',
  'password',
  '*.password',
  ...CONTACT_AND_CONTENT_FIELDS,
  ...CONTACT_AND_CONTENT_FIELDS.map((field) => `*.${field}`),
];

export function createLogger(options: { level: string; service: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
      base: { service: options.service },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination,
  );
}

const PINO_LEVEL: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/** The Temporal SDK's logger interface over pino, for `Runtime.install({ logger })`: workflow, activity and core lines alike. */
export function temporalLogger(logger: Logger): TemporalLogger {
  const log = (level: LogLevel, message: string, meta?: LogMetadata) => logger[PINO_LEVEL[level]]({ ...meta }, message);
  return {
    log,
    trace: (message, meta) => log('TRACE', message, meta),
    debug: (message, meta) => log('DEBUG', message, meta),
    info: (message, meta) => log('INFO', message, meta),
    warn: (message, meta) => log('WARN', message, meta),
    error: (message, meta) => log('ERROR', message, meta),
  };
}
