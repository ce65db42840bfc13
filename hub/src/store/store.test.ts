import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encode, type SenmlRecord } from '@halyard/firmware-protocol';
import { TelemetryService } from '../telemetry/service.js';
import { Reader } from './reader.js';
import { SqliteStore } from './sqlite-store.js';
import type { BatchOutcome } from './store.js';

describe('store: writer thread, group commit, compaction, queries', () => {
  let dir: string;
  let writer: SqliteStore<number>;
  let reader: Reader;
  const T0 = 1_700_000_000_000;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'halyard-store-'));
    writer = await SqliteStore.open<number>({
      path: join(dir, 'halyard.db'),
      cacheMiB: 16,
      retentionMs: 0,
      compactIntervalMs: 60_000,
      compactRows: 1_000_000,
      commitIntervalMs: 2,
      maxBatchFrames: 1000,
      maxFrame: 65536,
    });
    reader = new Reader(join(dir, 'halyard.db'));
  });
  after(async () => {
    reader.close();
    await writer.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('commits frames in batches and reports durable sequence numbers', async () => {
    const dev = await writer.op('createDevice', {
      id: 'd1',
      name: null,
      model: null,
      tags: [],
      secretHash: new Uint8Array(32),
      createdAt: T0,
    });
    const outcomes: BatchOutcome<number>[] = [];
    writer.on('committed', (o) => outcomes.push(o));
    for (let seq = 1; seq <= 300; seq++) {
      const pack: SenmlRecord[] = [
        { n: 'temp', u: 'Cel', v: 20 + (seq % 10), t: 0 },
        { n: 'state', vs: seq % 2 ? 'on' : 'off' },
      ];
      writer.ingest(dev.rowid, seq, T0 + seq * 1000, 3, encode({ type: 3, seq, pack }), seq);
    }
    await writer.drain();
    const metas = outcomes.flatMap((o) => o.metas);
    assert.deepStrictEqual(
      metas,
      Array.from({ length: 300 }, (_, i) => i + 1),
      'every frame comes back once, in order',
    );
    assert.ok(outcomes.length < 300, 'frames were grouped');
    assert.ok(outcomes.every((o) => o.error === undefined));
    const last = outcomes.at(-1)?.result?.seqs;
    assert.deepStrictEqual(last, [[dev.rowid, 300]]);
    const seq = reader.db.prepare('SELECT seq FROM device_seq WHERE device = ?').pluck().get(dev.rowid);
    assert.equal(seq, 300);
  });

  it('answers raw and bucketed queries the same before and after compaction', async () => {
    // Started after the ingest: the service's tail is filled from the log, as after a restart.
    const telemetry = await TelemetryService.start(writer.telemetry, writer.seriesLookup(), 1_000);
    writer.on('compacted', (gen) => telemetry.compacted(gen));
    const series = (await telemetry.series(1, ['temp']))[0];
    assert.ok(series);
    const before = {
      raw: await telemetry.raw(1, series, T0, T0 + 400_000, 10_000),
      buckets: await telemetry.buckets(1, series, T0, T0 + 400_000, 60_000),
      latest: await telemetry.latest(1),
    };
    assert.equal(before.raw.points.ts.length, 300);
    assert.equal(telemetry.tail.size, 600);
    await writer.compactNow();
    assert.equal(telemetry.tail.size, 0, 'the tail is dropped once compacted');
    assert.equal(reader.db.prepare('SELECT count(*) FROM telemetry_log0').pluck().get(), 0);
    assert.equal(reader.db.prepare('SELECT count(*) FROM telemetry_log1').pluck().get(), 0);
    assert.ok((reader.db.prepare('SELECT count(*) FROM telemetry_blocks').pluck().get() as number) > 0);
    // Until compaction the series lived only in the tail (id -1); now it is stored.
    assert.equal(series.id, -1);
    const stored = (await telemetry.series(1, ['temp']))[0];
    assert.ok(stored && stored.id > 0);
    assert.deepStrictEqual(await telemetry.raw(1, stored, T0, T0 + 400_000, 10_000), before.raw);
    assert.deepStrictEqual(await telemetry.buckets(1, stored, T0, T0 + 400_000, 60_000), before.buckets);
    assert.deepStrictEqual(await telemetry.latest(1), before.latest);
    const b = before.buckets[0];
    assert.ok(b);
    assert.equal(b.t, Math.floor((T0 + 1000) / 60_000) * 60_000);
    const latest = before.latest.find((p) => p.name === 'state');
    assert.deepStrictEqual(latest, { name: 'state', unit: null, time: T0 + 300_000, value: 'off' });
  });
});
