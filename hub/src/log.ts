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

/**
 * Lines per key (an account, say) and window: a refusal a client can repeat at line
 * rate gets its own line up to `lines` per `windowMs`; beyond, it is counted, and
 * one line (`summary`) says how many went unlogged when the window ends. Metrics
 * count every one. So one client cannot fill the disk with the hub's log.
 */
export class LogBudget {
  private readonly windows = new Map<string, { until: number; lines: number; quiet: number }>();

  constructor(
    private readonly limits: { lines: number; windowMs: number },
    private readonly summary: (key: string, unlogged: number) => void,
  ) {}

  /** Whether this event of `key` gets its own line. */
  take(key: string): boolean {
    const now = Date.now();
    let w = this.windows.get(key);
    if (w === undefined || now >= w.until) {
      if (this.windows.size >= 10_000) this.forgetEnded(now);
      w = { until: now + this.limits.windowMs, lines: 0, quiet: 0 };
      this.windows.set(key, w);
    }
    if (w.lines < this.limits.lines) {
      w.lines++;
      return true;
    }
    if (w.quiet++ === 0) {
      const window = w;
      setTimeout(() => {
        if (this.windows.get(key) === window) this.windows.delete(key);
        this.summary(key, window.quiet);
      }, window.until - now).unref();
    }
    return false;
  }

  private forgetEnded(now: number): void {
    for (const [key, w] of this.windows) if (now >= w.until && w.quiet === 0) this.windows.delete(key);
  }
}
