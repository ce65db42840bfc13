#!/usr/bin/env -S node --max-semi-space-size=32
// halyard-hub: the command-line entry. Reads the configuration, starts the hub,
// prints one `listening` line, and shuts down cleanly on SIGTERM/SIGINT.

import { fileURLToPath } from 'node:url';
import { ConfigError, helpText, loadConfig, redact, wantsHelp } from './config.js';
import { startHub } from './hub.js';
import { createLogger } from './log.js';

const argv = process.argv.slice(2);
if (wantsHelp(argv)) {
  process.stdout.write(helpText());
  process.exit(0);
}

const consoleDir = fileURLToPath(
  new URL(import.meta.url.endsWith('.ts') ? '../../web-console/dist' : '../../../web-console/dist', import.meta.url),
);
let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig(argv, process.env, { consoleDir });
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`halyard-hub: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
}

const log = createLogger(config);
process.on('uncaughtException', (err) => {
  log.fatal({ err }, 'uncaught exception');
  process.exit(1);
});
process.on('unhandledRejection', (err) => {
  log.fatal({ err }, 'unhandled rejection');
  process.exit(1);
});

try {
  const hub = await startHub(config, log, { onFatal: () => process.exit(1) });
  if (hub.createdAdminPassword !== undefined) {
    process.stderr.write(
      [
        '',
        '  First start: created the operator "admin".',
        `  Password: ${hub.createdAdminPassword}`,
        '  It is shown only this once. Log in and change it, or set --admin-password on an empty database.',
        '',
        '',
      ].join('\n'),
    );
  }
  log.info(
    {
      port: hub.port,
      mqttPort: hub.mqttPort,
      host: config.host,
      tls: config.tlsCert !== undefined,
      ...(config.store === undefined ? { dataDir: config.dataDir } : { store: redact(config.store) }),
    },
    'listening',
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'stopping');
    hub.close().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
} catch (err) {
  log.fatal({ err }, 'could not start');
  process.exit(1);
}
