// The stored telemetry the export and queries benchmarks read (export.bench.ts,
// queries.bench.ts), written straight into a seedDevices data dir as the hub stores it
// (compacted blocks, docs/telemetry.md): one `temp` series (Cel) per device, `per`
// points `step` ms apart from `start`, a daily sine with a little noise.

import { join } from 'node:path';
import { blockRanges, openDatabase, packBlocks } from '@halyard/hub';

type Database = ReturnType<typeof openDatabase>;

/** More rows for one series, in its transaction: `series` is its id, `device` the devices.rowid. */
export type SeriesExtra = (series: number, device: number, ts: number[], values: number[]) => void;

/** Writes the series of devices 1..`devices`; `extra`, given the open database, returns what else to write per series. */
export function seedTemperature(
  dir: string,
  o: { devices: number; per: number; start: number; step: number; extra?: (db: Database) => SeriesExtra },
): void {
  const db = openDatabase(join(dir, 'halyard.db'), { cacheMiB: 256 });
  db.pragma('synchronous = OFF');
  const metric = Number(db.prepare("INSERT INTO metrics (name) VALUES ('temp')").run().lastInsertRowid);
  const series = db.prepare('INSERT INTO series (device, metric, unit, last_ts, last_v) VALUES (?, ?, ?, ?, ?)');
  const block = db.prepare(
    'INSERT INTO telemetry_blocks (series, t0, id, t1, level, gen, n, nnum, sum, min, max, data) VALUES (?, ?, ?, ?, 1, 1, ?, ?, ?, ?, ?, ?)',
  );
  const extra = o.extra?.(db);
  const { per } = o;
  const perDay = 86_400_000 / o.step;
  let id = 1;
  const ts: number[] = new Array(per);
  const values: number[] = new Array(per);
  for (let d = 1; d <= o.devices; d++) {
    for (let i = 0; i < per; i++) {
      ts[i] = o.start + i * o.step;
      values[i] = Math.round((20 + 5 * Math.sin((i / perDay) * 2 * Math.PI) + (i % 7) / 10) * 10) / 10;
    }
    db.transaction(() => {
      const s = Number(series.run(d, metric, 'Cel', ts[per - 1], values[per - 1]).lastInsertRowid);
      for (const [a, b] of blockRanges(ts)) {
        for (const p of packBlocks(ts, values, a, b)) block.run(s, p.t0, id++, p.t1, p.n, p.nnum, p.sum, p.min, p.max, p.data);
      }
      extra?.(s, d, ts, values);
    })();
  }
  db.prepare("INSERT INTO meta (key, value) VALUES ('telemetry.compacted', '1'), ('telemetry.gen', '2')").run();
  db.close();
}
