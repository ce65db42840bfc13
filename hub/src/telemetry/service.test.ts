import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Db, openDatabase } from '../store/db.js';
import { migrate } from '../store/migrations.js';
import { sqliteTelemetry } from '../store/sqlite-store.js';
import { TelemetryReader } from '../store/telemetry/query.js';
import { SeriesLimit } from './series-limit.js';
import { TelemetryService } from './service.js';

describe('latest values in pages', () => {
  let dir: string;
  let db: Db;
  let service: TelemetryService;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'halyard-latest-'));
    db = openDatabase(join(dir, 't.db'));
    migrate(db);
    const metric = db.prepare('INSERT INTO metrics (name) VALUES (?)');
    const series = db.prepare('INSERT INTO series (device, metric, unit, last_ts, last_v) VALUES (?, ?, NULL, ?, ?)');
    const a = Number(metric.run('a').lastInsertRowid);
    const b = Number(metric.run('b').lastInsertRowid);
    for (const device of [1, 2, 3]) {
      series.run(device, a, 1000, device);
      series.run(device, b, 1000, device * 10);
    }
    const reader = new TelemetryReader(db);
    service = await TelemetryService.start(sqliteTelemetry(reader), reader, 1_000);
  });
  after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers every device when their values fit the budget', async () => {
    const page = await service.latestPage([3, 1, 2], 10);
    assert.deepStrictEqual(
      page.map((l) => l.map((p) => p.value)),
      [
        [3, 30],
        [1, 10],
        [2, 20],
      ],
    );
  });

  it('stops once the budget is reached, device by device, answering at least one', async () => {
    assert.deepStrictEqual(
      (await service.latestPage([2, 3, 1], 3)).map((l) => l.map((p) => p.value)),
      [
        [2, 20],
        [3, 30],
      ],
    );
    assert.equal((await service.latestPage([1, 2], 1)).length, 1);
  });
});

describe('series limit', () => {
  const stored = new Map<number, Set<string>>([[7, new Set(['x', 'y'])]]);
  const limit = new SeriesLimit(3, {
    count: (d) => stored.get(d)?.size ?? 0,
    has: (d, n) => stored.get(d)?.has(n) ?? false,
  });
  const rec = (name: string, sum?: number) => ({ name, time: 0, value: 1, ...(sum === undefined ? {} : { sum }) });

  it('counts what the store holds, admits known names at any time, and refuses the frame that would pass the limit', () => {
    assert.equal(limit.admit(7, [rec('x'), rec('z')]), undefined);
    // A value with a sum is two series: z:sum would be the fourth.
    assert.deepStrictEqual(limit.admit(7, [rec('y'), rec('z', 5)]), { name: 'z:sum', count: 3 });
    assert.equal(limit.admit(7, [rec('x'), rec('y'), rec('z')]), undefined);
    assert.deepStrictEqual(limit.admit(7, [rec('w')]), { name: 'w', count: 3 });
    limit.forget(7);
    stored.delete(7);
    assert.equal(limit.admit(7, [rec('a'), rec('b'), rec('c')]), undefined);
  });
});
