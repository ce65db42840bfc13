// Raw telemetry read page by page with the cursor while the device keeps sending and
// the store compacts between pages: every point stored before the first page comes
// back exactly once, equal times included. Runs on the test store (SQLite, or
// PostgreSQL with HALYARD_TEST_STORE=postgres).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SenmlRecord } from '@halyard/firmware-protocol';
import { TestDevice } from './helpers/device.js';
import { startTestHub, type TestHub } from './helpers/hub.js';

interface Point {
  t: number;
  v?: number;
  vs?: string;
}

const key = (name: string, p: Point) => `${name}@${p.t}=${p.v ?? p.vs}`;

describe('raw telemetry paging', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub();
  });
  after(() => t.close());

  /** Moves what is stored into compacted form: SQLite's log into blocks, PostgreSQL's closed days (all, with a later now) into blocks. */
  let packed = 0;
  async function compact(): Promise<void> {
    const store = t.hub.ctx.store;
    await store.compactNow();
    if ('compactTelemetry' in store)
      packed += (
        await (store as unknown as { compactTelemetry(now: number): Promise<{ points: number }> }).compactTelemetry(
          Date.now() + 5 * 86_400_000,
        )
      ).points;
  }

  /** Reads every page of a query; `between` runs after each page. */
  async function readAll(first: string, between: (page: number) => Promise<void>): Promise<{ points: Map<string, number>; pages: number }> {
    const points = new Map<string, number>();
    let url: string | undefined = first;
    let pages = 0;
    while (url !== undefined) {
      const r = await t.api.get(url);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      pages++;
      for (const s of r.body.series as { name: string; points: Point[] }[])
        for (const p of s.points) points.set(key(s.name, p), (points.get(key(s.name, p)) ?? 0) + 1);
      url =
        r.body.next === null
          ? undefined
          : `${first.split('?')[0]}?cursor=${r.body.next}&limit=${new URL(first, 'http://x').searchParams.get('limit')}`;
      if (url !== undefined) await between(pages);
      assert.ok(pages < 1_000, 'the pages end');
    }
    return { points, pages };
  }

  it('delivers every point once across pages while ingest and compaction run', async () => {
    const token = await t.api.provision('page-1');
    const d = await TestDevice.connect(t.ws, token);
    // Three days back: on PostgreSQL a closed day, which compaction packs into blocks.
    const base = Math.floor(Date.now() / 1000) - 3 * 86_400;
    const expected = new Map<string, number>();
    const add = (name: string, p: Point) => expected.set(key(name, p), (expected.get(key(name, p)) ?? 0) + 1);
    let last = 0;
    for (let i = 0; i < 60; i++) {
      // Three values at one time (one of them twice: indistinguishable points), text beside numbers.
      const pack: SenmlRecord[] = [
        { bn: 'm.', bt: base + i, n: 'a', v: 3 - (i % 2) },
        { n: 'a', v: 1 },
        { n: 'a', v: 1 },
        { n: 'b', vs: `s${i % 4}` },
      ];
      last = d.telemetry(pack);
      for (const v of [3 - (i % 2), 1, 1]) add('m.a', { t: (base + i) * 1000, v });
      add('m.b', { t: (base + i) * 1000, vs: `s${i % 4}` });
    }
    await d.waitAck(last);
    const from = base * 1000;
    const to = (base + 200) * 1000;
    let late = 0;
    const sent = new Map<string, number>();
    const { points, pages } = await readAll(`/devices/page-1/telemetry?from=${from}&to=${to}&limit=7`, async (page) => {
      // Points before every position (time base), at a time already paged, and after the range.
      const pack: SenmlRecord[] = [
        { bn: 'm.', bt: base, n: 'a', v: 0.5 },
        { n: 'a', bt: base + 30, v: 1.25 },
        { n: 'a', bt: base + 150 + page, v: 7 },
      ];
      await d.waitAck(d.telemetry(pack));
      late++;
      for (const [tt, v] of [
        [base, 0.5],
        [base + 30, 1.25],
        [base + 150 + page, 7],
      ] as const) {
        const k = key('m.a', { t: tt * 1000, v });
        sent.set(k, (sent.get(k) ?? 0) + 1);
      }
      if (page % 3 === 0) await compact();
    });
    assert.ok(pages > 10, `${pages} pages`);
    const stats = await t.hub.ctx.store.stats();
    // Points moved into blocks between pages: PostgreSQL packed closed days; SQLite emptied its log.
    assert.ok(
      packed > 0 || (stats.frames > 0 && stats.logRows < stats.frames / 4),
      `compacted between pages: ${packed}, ${JSON.stringify(stats)}`,
    );
    for (const [k, n] of expected) assert.equal(points.get(k), n, `${k} delivered ${points.get(k) ?? 0} times, stored ${n}`);
    // Late points after every position came too (each at its own time).
    for (let page = 1; page <= late; page++) assert.equal(points.get(`m.a@${(base + 150 + page) * 1000}=7`), 1);
    // Nothing but stored points, none more often than stored.
    for (const [k, n] of points) if (!expected.has(k)) assert.ok(n <= (sent.get(k) ?? 0), `${k}: ${n}`);
    // Late points before the first position (time base) never come: pages resume after it.
    assert.equal(points.get(key('m.a', { t: base * 1000, v: 0.5 })), undefined);
    await d.close();
  });

  it('pages through more metrics than one cursor holds', async () => {
    const token = await t.api.provision('page-wide');
    const d = await TestDevice.connect(t.ws, token);
    const base = Math.floor(Date.now() / 1000) - 5_000;
    let last = 0;
    for (let i = 0; i < 3; i++) {
      const pack: SenmlRecord[] = [];
      for (let m = 0; m < 45; m++) pack.push({ bt: base + i, n: `w${String(m).padStart(2, '0')}`, v: m * 10 + i });
      last = d.telemetry(pack);
    }
    await d.waitAck(last);
    const { points, pages } = await readAll(
      `/devices/page-wide/telemetry?from=${base * 1000}&to=${(base + 10) * 1000}&limit=2`,
      async () => {},
    );
    assert.equal(points.size, 45 * 3);
    for (const n of points.values()) assert.equal(n, 1);
    assert.ok(pages >= 3, `${pages} pages`);
    await d.close();
  });

  it('keeps cursors small after long text values, at equal times too', async () => {
    const token = await t.api.provision('page-text');
    const d = await TestDevice.connect(t.ws, token);
    const base = Math.floor(Date.now() / 1000) - 100;
    const long = (c: string) => c.repeat(4_000);
    await d.waitAck(
      d.telemetry([
        { bt: base, n: 'note', vs: long('b') },
        { n: 'note', vs: long('a') },
        { n: 'note', vs: long('c') },
      ]),
    );
    const seen: string[] = [];
    let url = `/devices/page-text/telemetry?from=${base * 1000}&limit=1`;
    for (let i = 0; i < 5; i++) {
      const r = await t.api.get(url);
      assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 300));
      seen.push(...r.body.series.flatMap((x: { points: Point[] }) => x.points.map((p) => (p.vs ?? '').slice(0, 1))));
      if (r.body.next === null) break;
      assert.ok(r.body.next.length < 400, `a cursor of ${r.body.next.length} characters`);
      url = `/devices/page-text/telemetry?cursor=${r.body.next}&limit=1`;
    }
    assert.deepStrictEqual([...seen].sort(), ['a', 'b', 'c']);
    await d.close();
  });

  it('ends a page of long text values at about 8 MiB, and the cursor goes on to the rest', async () => {
    const token = await t.api.provision('page-big');
    const d = await TestDevice.connect(t.ws, token);
    const base = Math.floor(Date.now() / 1000) - 1_000;
    // 640 values of 15,000 characters (9.6 MB), four to a frame.
    for (let f = 0; f < 160; f++) {
      const records: SenmlRecord[] = [];
      for (let k = 0; k < 4; k++) records.push({ bt: base + f * 4 + k, n: 'log', vs: String.fromCharCode(97 + (k % 26)).repeat(15_000) });
      await d.waitAck(d.telemetry(records));
    }
    await d.close();
    const first = `/devices/page-big/telemetry?from=${base * 1000}&limit=10000`;
    const r = await t.api.get(first);
    assert.equal(r.status, 200);
    const onFirst = (r.body.series as { points: Point[] }[]).reduce((n, x) => n + x.points.length, 0);
    assert.ok(onFirst > 0 && onFirst < 640, `the first page holds part: ${onFirst} points`);
    assert.ok(JSON.stringify(r.body).length < 9 * 1024 * 1024, 'about 8 MiB at most');
    assert.notEqual(r.body.next, null);
    const { points } = await readAll(first, async () => {});
    assert.equal(points.size, 640, 'every value, across the pages');
    assert.ok(
      [...points.values()].every((n) => n === 1),
      'each once',
    );
  });

  it('refuses a cursor of another device, a forged one, and a cursor with bucket', async () => {
    await t.api.provision('page-other');
    const token = await t.api.provision('page-2');
    const d = await TestDevice.connect(t.ws, token);
    const base = Math.floor(Date.now() / 1000) - 100;
    await d.waitAck(
      d.telemetry([
        { bt: base, n: 'x', v: 1 },
        { t: 1, n: 'x', v: 2 },
      ]),
    );
    const first = await t.api.get(`/devices/page-2/telemetry?from=${base * 1000}&limit=1`);
    assert.equal(first.body.series[0].truncated, true);
    const next = first.body.next as string;
    for (const url of [
      `/devices/page-other/telemetry?cursor=${next}`,
      '/devices/page-2/telemetry?cursor=bm90LWEtY3Vyc29y',
      `/devices/page-2/telemetry?cursor=${next}&bucket=1m`,
    ]) {
      const r = await t.api.get(url);
      assert.equal(r.status, 400, url);
      assert.equal(r.body.error.field, 'cursor');
    }
    const second = await t.api.get(`/devices/page-2/telemetry?cursor=${next}&limit=1`);
    assert.deepStrictEqual(second.body.series[0].points, [{ t: (base + 1) * 1000, v: 2 }]);
    assert.equal(second.body.next, null);
    await d.close();
  });
});
