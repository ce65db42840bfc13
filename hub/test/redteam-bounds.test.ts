// Red team, wave 2: times and durations past what a millisecond clock holds. The
// API took any finite number for a time or a bucket width (`to=99999999999999999999999`,
// `bucket=99999999999999999999999d`), which PostgreSQL's bigint cannot hold: the
// query failed with 500 there, where SQLite answered with a float. Both engines now
// refuse them with 400 naming the field.
//
// And answers bounded per metric only: one viewer's query of a device with 1,000
// metrics (3M points) made a 223 MB answer that held the event loop for 6 s and the
// heap at +1 GB. A raw page now holds `limit` points across metrics, and a bucketed
// answer at most MAX_ANSWER_BUCKETS.
//
// And a bucketed export over a sparse range: thousands of empty windows a metric,
// all read in one go before the first byte, held the event loop (1,000 metrics: 13 s
// in which no device was acknowledged and /healthz did not answer). A width without
// rollups now skips from an empty window to the next point; one that rollups answer
// (1m here) still reads every window, so that is the one tested.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestDevice } from './helpers/device.js';
import { startTestHub, type TestHub } from './helpers/hub.js';

describe('red team: absurd times and durations in telemetry queries and exports', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub();
    await t.api.provision('bounds-1');
  });
  after(() => t.close());

  const huge = '99999999999999999999999';
  const cases: [string, string][] = [
    [`/devices/bounds-1/telemetry?from=0&to=${huge}&bucket=1000000000000000000`, 'to'],
    [`/devices/bounds-1/telemetry?bucket=${huge}d`, 'bucket'],
    [`/devices/bounds-1/telemetry?from=${huge}&to=${huge}`, 'from'],
    [`/devices/bounds-1/telemetry/export?format=csv&bucket=${huge}d`, 'bucket'],
    [`/devices/bounds-1/telemetry/export?format=ndjson&from=0&to=${huge}&bucket=1000000000000000000`, 'to'],
    [`/events?since=${huge}`, 'since'],
  ];
  for (const [path, field] of cases) {
    it(`GET ${path.slice(0, 70)}: 400 on ${field}`, async () => {
      const r = await t.api.get(path);
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body.error.field, field);
    });
  }

  it('a command whose ttl is past any clock is refused with 400, not stored', async () => {
    const r = await t.api.post('/devices/bounds-1/commands', { name: 'noop', ttl: `${huge}d` });
    assert.equal(r.status, 400, JSON.stringify(r.body));
  });
});

describe('red team: one query over a device with many metrics', () => {
  const METRICS = 1_000;
  const STEPS = 510;
  const T0 = Date.UTC(2026, 0, 1);
  let t: TestHub;
  before(async () => {
    // Its points are from January 2026, past the default retention (30 days): upkeep
    // running while they arrive would rightly delete the first of them (seen under load).
    t = await startTestHub(['--retention', '0']);
    const d = await TestDevice.connect(t.ws, await t.api.provision('wide-1'));
    let seq = 0;
    for (let step = 0; step < STEPS; step++) {
      const pack = Array.from({ length: METRICS }, (_, k) => ({
        n: `m${String(k).padStart(4, '0')}`,
        v: step,
        t: (T0 + step * 1_000) / 1_000,
      }));
      seq = d.telemetry(pack);
      if (step % 50 === 49) await d.waitAck(seq, 30_000);
    }
    await d.waitAck(seq, 30_000);
    await d.close();
  });
  after(() => t.close());

  it('a raw page holds at most 100,000 points across metrics, and the pages hold every point once', async () => {
    const seen = new Map<string, number>();
    let pages = 0;
    let path = `/devices/wide-1/telemetry?from=${T0}&to=${T0 + STEPS * 1_000}&limit=20000`;
    for (;;) {
      const r = await t.api.get(path);
      assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 300));
      pages++;
      const series = r.body.series as { name: string; points: { t: number }[] }[];
      const points = series.reduce((a, s) => a + s.points.length, 0);
      assert.ok(points <= 100_000, `page ${pages} held ${points} points`);
      for (const s of series) for (const p of s.points) seen.set(`${s.name}@${p.t}`, (seen.get(`${s.name}@${p.t}`) ?? 0) + 1);
      if (r.body.next === null) break;
      path = `/devices/wide-1/telemetry?cursor=${r.body.next}&limit=20000`;
    }
    assert.equal(seen.size, METRICS * STEPS);
    assert.ok(
      [...seen.values()].every((n) => n === 1),
      'a point came twice',
    );
    assert.ok(pages >= (METRICS * STEPS) / 100_000, `${pages} pages`);
  });

  it('a bucketed answer past 500,000 buckets across metrics is refused with 400 on bucket; naming fewer metrics is answered', async () => {
    const r = await t.api.get(`/devices/wide-1/telemetry?from=${T0}&to=${T0 + STEPS * 1_000}&bucket=1s`);
    assert.equal(r.status, 400, JSON.stringify(r.body).slice(0, 300));
    assert.equal(r.body.error.field, 'bucket');
    assert.ok(t.logs.some((l) => l.msg === 'telemetry query refused: its answer would hold too many buckets' && l.device === 'wide-1'));
    const some = await t.api.get(`/devices/wide-1/telemetry?from=${T0}&to=${T0 + STEPS * 1_000}&bucket=1s&name=m0000,m0001`);
    assert.equal(some.status, 200);
    assert.equal((some.body.series as { points: unknown[] }[])[0]?.points.length, STEPS);
    // The console's shape: about 400 buckets a metric, every metric.
    assert.equal((await t.api.get(`/devices/wide-1/telemetry?from=${T0}&to=${T0 + STEPS * 1_000}&bucket=2s`)).status, 200);
  });

  it('runs at most 2 heavy bucketed queries of one user at once: a third gets 429 with Retry-After and one log line', async () => {
    const path = `/devices/wide-1/telemetry?from=${T0}&to=${T0 + STEPS * 1_000}&bucket=2s`;
    const answers = await Promise.all([t.api.get(path), t.api.get(path), t.api.get(path)]);
    const statuses = answers.map((a) => a.status).sort();
    assert.deepEqual(statuses, [200, 200, 429]);
    const refused = answers.find((a) => a.status === 429);
    assert.equal(refused?.body.error.code, 'HUB_ERR_RATE_LIMITED');
    assert.equal(refused?.headers.get('retry-after'), '2');
    assert.equal(t.logs.filter((l) => l.msg === 'telemetry query refused: at most 2 per user of its size at once').length, 1);
    // A light query of the same user is not counted.
    const light = await Promise.all(
      [1, 2, 3].map(() => t.api.get(`/devices/wide-1/telemetry?from=${T0}&to=${T0 + 10_000}&bucket=1s&name=m0001`)),
    );
    assert.deepEqual(
      light.map((a) => a.status),
      [200, 200, 200],
    );
  });
});

describe('red team: a bucketed query refused for its size', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub();
    const d = await TestDevice.connect(t.ws, await t.api.provision('few-1'));
    // 6 metrics of one point each: a 1 ms bucket over 100 s spans 100,001 buckets a metric.
    await d.waitAck(d.telemetry(Array.from({ length: 6 }, (_, k) => ({ n: `m${k}`, v: k, t: 1_700_000_000 }))));
    await d.close();
  });
  after(() => t.close());

  it('is refused before anything is read: by the buckets its range spans, however few hold points', async () => {
    // Counted as they were computed, up to 600,000 buckets were read before the refusal;
    // this query, whose buckets are nearly all empty, was answered.
    const from = 1_700_000_000_000 - 50_000;
    const r = await t.api.get(`/devices/few-1/telemetry?from=${from}&to=${from + 100_000}&bucket=1ms`);
    assert.equal(r.status, 400, JSON.stringify(r.body).slice(0, 300));
    assert.equal(r.body.error.field, 'bucket');
    assert.match(r.body.error.message, /100001 buckets for each of 6 metrics/);
    const line = t.logs.find((l) => l.msg === 'telemetry query refused: its answer would hold too many buckets');
    assert.equal(line?.buckets, 100_001);
    assert.equal(line?.metrics, 6);
    // Four of the six metrics fit (5 × 100,001 would not).
    const some = await t.api.get(`/devices/few-1/telemetry?from=${from}&to=${from + 100_000}&bucket=1ms&name=m0,m1,m2,m3`);
    assert.equal(some.status, 200, JSON.stringify(some.body).slice(0, 300));
    assert.deepEqual(
      (some.body.series as { points: { t: number; count: number; avg: number }[] }[]).map((s) =>
        s.points.map((p) => [p.t, p.count, p.avg]),
      ),
      [0, 1, 2, 3].map((k) => [[1_700_000_000_000, 1, k]]),
    );
  });
});

describe('red team: a bucketed export over a sparse range', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub();
    const d = await TestDevice.connect(t.ws, await t.api.provision('sparse-1'));
    // 10 metrics with one point each, after the range: the export reads 1,000 empty
    // windows of 10,000 one-minute buckets per metric.
    await d.waitAck(d.telemetry(Array.from({ length: 10 }, (_, k) => ({ n: `m${k}`, v: k, t: 1_700_000_000 }))));
    await d.close();
  });
  after(() => t.close());

  it('leaves the event loop to others between empty windows: /healthz is answered while it runs', async () => {
    const to = 10_000_000 * 60_000 - 1; // the most one-minute buckets an export takes
    const res = await fetch(`${t.http}/api/v1/devices/sparse-1/telemetry/export?format=csv&bucket=1m&from=0&to=${to}`, {
      headers: { authorization: `Bearer ${t.api.token}` },
    });
    assert.equal(res.status, 200);
    let exported = false;
    const body = res.text().then((text) => {
      exported = true;
      return text;
    });
    const health = await fetch(`${t.http}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(exported, false, '/healthz waited for the whole export');
    assert.equal((await body).trim(), 'time,ts,device,metric,unit,avg,min,max,count,last');
  });
});

describe('red team: a fleet export over devices with no series', () => {
  // A device without series gave the export's stream no page, so it ran through
  // every device in one go: 67 ms of the event loop at 3,000 devices, ~2 s at 100,000.
  const DEVICES = 6_000;
  let t: TestHub;
  before(async () => {
    t = await startTestHub();
    for (let i = 0; i < DEVICES; i += 100)
      await Promise.all(Array.from({ length: 100 }, (_, k) => t.api.provision(`idle-${String(i + k).padStart(5, '0')}`)));
  });
  after(() => t.close());

  for (const bucket of ['', '&bucket=1m']) {
    it(`leaves the event loop to others between devices${bucket === '' ? '' : ' (buckets)'}: /healthz is answered while it runs`, async () => {
      const res = await fetch(`${t.http}/api/v1/export/telemetry?format=csv&from=0&to=1000${bucket}`, {
        headers: { authorization: `Bearer ${t.api.token}` },
      });
      assert.equal(res.status, 200);
      let exported = false;
      const body = res.text().then((text) => {
        exported = true;
        return text;
      });
      const health = await fetch(`${t.http}/healthz`);
      assert.equal(health.status, 200);
      assert.equal(exported, false, '/healthz waited for the whole export');
      assert.equal((await body).split('\r\n')[1], '');
    });
  }
});
