// `halyard-hub migrate-store --from <sqlite file> --to postgres://…`: the command
// line of migrate-store.ts. Exit 0 when every count matches, 1 on a mismatch or an
// error (rerun to resume), 2 on bad arguments.

import { parseArgs } from 'node:util';
import { HubError } from '../errors.js';
import { migrateStore } from './migrate-store.js';

export const MIGRATE_STORE_HELP = `Usage: halyard-hub migrate-store --from <halyard.db> --to <postgres://…> [--force]

Copies a hub's whole state (devices, operators, sessions, integrators, commands,
twins, events, presence, audit, telemetry) from its SQLite file into PostgreSQL,
then compares row counts. Stop the hub first. Safe to rerun after an interruption:
nothing is copied twice.

  --from <file>   the SQLite database (the hub's <data-dir>/halyard.db), opened read-only
  --to <url>      the PostgreSQL database; its schema is created if missing
  --force         copy even if the database already holds another hub's data
`;

export async function runMigrateStore(argv: string[]): Promise<number> {
  let values: { from?: string; to?: string; force?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { from: { type: 'string' }, to: { type: 'string' }, force: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`halyard-hub migrate-store: ${(err as Error).message}\n\n${MIGRATE_STORE_HELP}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(MIGRATE_STORE_HELP);
    return 0;
  }
  if (values.from === undefined || values.to === undefined || !/^postgres(ql)?:\/\//.test(values.to)) {
    process.stderr.write(`halyard-hub migrate-store: --from <file> and --to postgres://… are required\n\n${MIGRATE_STORE_HELP}`);
    return 2;
  }
  try {
    const r = await migrateStore({ from: values.from, to: values.to, force: values.force === true });
    return r.ok ? 0 : 1;
  } catch (err) {
    const msg = err instanceof HubError ? err.message : ((err as Error).stack ?? String(err));
    process.stderr.write(`halyard-hub migrate-store: ${msg}\nRerun the same command to resume.\n`);
    return 1;
  }
}
