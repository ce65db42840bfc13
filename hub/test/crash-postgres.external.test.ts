// Crash durability on PostgreSQL (helpers/crash-scenario.ts), against a server of
// the test's own with fsync on: the hub is killed with SIGKILL under load and
// restarted; nothing acknowledged is lost, nothing stored twice, every command ran
// once. The server itself is not killed here (postgres-outage.external.test.ts does that):
// after each kill the check is that every device's durable mark is covered by
// exactly that many stored points, none beyond.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { crashScenario, KILLS, SEED } from './helpers/crash-scenario.js';
import { telemetryPoints } from './helpers/pg-points.js';
import { startPostgres, type TestDatabase, type TestPostgres } from './helpers/postgres.js';

describe(`crash durability on PostgreSQL (${KILLS} kills)`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'halyard-crash-pg-'));
  let server: TestPostgres;
  let db: TestDatabase;
  before(async () => {
    server = await startPostgres({ fsync: true });
    db = await server.newDatabase();
  });
  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`loses nothing acknowledged and runs every command once (seed ${SEED})`, (t) =>
    crashScenario(t, {
      name: 'postgres',
      args: ['--data-dir', dir, '--store', db.url],
      integrity: async () => {
        const c = new pg.Client({ connectionString: db.url });
        await c.connect();
        try {
          // Each frame carries one point of "v": a mark above the points is a frame lost, below one stored twice.
          const marks = (await c.query<{ device: string; seq: string }>('SELECT device, seq FROM device_seq')).rows;
          const series = new Map(
            (await c.query<{ id: string; device: string }>("SELECT id, device FROM series WHERE name = 'v'")).rows.map((r) => [
              Number(r.id),
              Number(r.device),
            ]),
          );
          const points = new Map<number, number>();
          for (const p of await telemetryPoints(c)) {
            const d = series.get(p.series);
            if (d !== undefined) points.set(d, (points.get(d) ?? 0) + 1);
          }
          const bad = {
            rows: marks
              .map((m) => ({ device: Number(m.device), seq: Number(m.seq), points: points.get(Number(m.device)) ?? 0 }))
              .filter((m) => m.points !== m.seq),
          };
          return bad.rows.length === 0 ? 'ok' : JSON.stringify(bad.rows);
        } finally {
          await c.end();
        }
      },
    }));
});
