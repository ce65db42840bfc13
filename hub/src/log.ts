// Logging: JSON lines (pino), or a readable form for a terminal. Secrets are
// redacted by path so a careless log call cannot leak them.

import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { HubConfig } from './config.js';

export type { Logger };

const REDACT = [
  'password',
  'token',
  'secret',
  'authorization',
  '*.password',
  '*.token',
  '*.secret',
  '*.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
];

export function createLogger(config: Pick<HubConfig, 'logLevel' | 'logFormat'>, destination?: NodeJS.WritableStream): Logger {
  const options = { level: config.logLevel, base: { name: 'halyard' }, redact: { paths: REDACT, censor: '[redacted]' } };
  if (config.logFormat === 'pretty') {
    return pino(
      options,
      pretty({ sync: true, colorize: process.stdout.isTTY, ignore: 'pid,hostname,name', destination: destination ?? 1 }),
    );
  }
  // Synchronous writes: log volume is low (never per frame) and nothing is lost on exit.
  return pino(options, destination ?? pino.destination({ dest: 1, sync: true }));
}
