// Telemetry from a real device to the query API: group-commit ACKs, duplicates,
// resume after reconnect, replacement, events, raw and bucketed queries.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CloseCode, MessageType } from '@halyard/firmware-protocol';
import { TestDevice } from './helpers/device.js';
import { eventually } from './helpers/eventually.js';
import { startTestHub, type TestHub } from './helpers/hub.js';

describe('telemetry round trip', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub();
  });
  after(() => t.close());

  it('stores every frame once and acknowledges after commit', async () => {
    const token = await t.api.provision('tele-1');
    const d = await TestDevice.connect(t.ws, token);
    const base = Math.floor(Date.now() / 1000) - 600;
    let last = 0;
    for (let i = 0; i < 200; i++)
      last = d.telemetry([
        { bn: 'room.', bt: base + i, n: 'temp', u: 'Cel', v: 20 + (i % 5) },
        { n: 'hum', u: '%RH', v: 40 + i / 10 },
      ]);
    await d.waitAck(last);
    assert.ok(d.received.filter((m) => m.type === MessageType.Ack).length <= 200);
    const r = await t.api.get(`/devices/tele-1/telemetry?name=room.temp,room.hum&from=${(base - 1) * 1000}&to=${(base + 300) * 1000}`);
    assert.equal(r.status, 200);
    const temp = r.body.series.find((s: { name: string }) => s.name === 'room.temp');
    assert.equal(temp.unit, 'Cel');
    assert.equal(temp.points.length, 200);
    assert.deepStrictEqual(temp.points[3], { t: (base + 3) * 1000, v: 23 });
    await d.close();
  });

  it('acknowledges a resend without storing it twice', async () => {
    const token = await t.api.provision('tele-dup');
    const d = await TestDevice.connect(t.ws, token);
    const t0 = Math.floor(Date.now() / 1000) - 100;
    d.send({ type: MessageType.Telemetry, seq: 1, pack: [{ n: 'x', v: 1, t: t0 }] });
    d.send({ type: MessageType.Telemetry, seq: 2, pack: [{ n: 'x', v: 2, t: t0 + 1 }] });
    await d.waitAck(2);
    const before = d.received.length;
    d.send({ type: MessageType.Telemetry, seq: 1, pack: [{ n: 'x', v: 1, t: t0 }] });
    d.send({ type: MessageType.Telemetry, seq: 2, pack: [{ n: 'x', v: 2, t: t0 + 1 }] });
    await d.waitFor((m) => m.type === MessageType.Ack, 5_000, before);
    await d.until(() => d.received.slice(before).filter((m) => m.type === MessageType.Ack).length === 2, 'two more ACKs');
    const r = await t.api.get(`/devices/tele-dup/telemetry?name=x&from=${(t0 - 5) * 1000}`);
    assert.equal(r.body.series[0].points.length, 2);
    await d.close();
  });

  it('WELCOME carries the last durable sequence number after a reconnect', async () => {
    const token = await t.api.provision('tele-resume');
    const d = await TestDevice.connect(t.ws, token);
    for (let i = 0; i < 10; i++) d.telemetry([{ n: 'y', v: i }]);
    await d.waitAck(10);
    await d.close();
    const d2 = await TestDevice.connect(t.ws, token);
    assert.equal(d2.welcome?.acked, 10);
    await d2.close();
  });

  it('a device that lost its counter continues after WELCOME, and old numbers are duplicates', async () => {
    const token = await t.api.provision('tele-reboot');
    const d = await TestDevice.connect(t.ws, token);
    for (let i = 0; i < 5; i++) d.telemetry([{ n: 'z', v: i }]);
    await d.waitAck(5);
    await d.close();
    const d2 = await TestDevice.connect(t.ws, token);
    // Following SPEC.md §5.5: continue from acked + 1.
    assert.equal(d2.seq, 5);
    d2.telemetry([{ n: 'z', v: 99 }]);
    await d2.waitAck(6);
    const r = await t.api.get('/devices/tele-reboot/telemetry?name=z');
    assert.equal(r.body.series[0].points.length, 6);
    await d2.close();
  });

  it('a second connection replaces the first with 4409', async () => {
    const token = await t.api.provision('tele-replace');
    const a = await TestDevice.connect(t.ws, token);
    const b = await TestDevice.connect(t.ws, token);
    assert.equal((await a.waitClosed()).code, CloseCode.Replaced);
    const dev = await t.api.get('/devices/tele-replace');
    assert.equal(dev.body.online, true);
    b.telemetry([{ n: 'q', v: 1 }]);
    await b.waitAck(1);
    await b.close();
  });

  it('stores EVENTs in the same sequence space', async () => {
    const token = await t.api.provision('tele-events');
    const d = await TestDevice.connect(t.ws, token);
    d.telemetry([{ n: 'a', v: 1 }]);
    d.seq++;
    d.send({ type: MessageType.Event, seq: d.seq, name: 'door.opened', level: 2, data: { by: 'sensor', raw: new Uint8Array([1, 2]) } });
    await d.waitAck(2);
    const r = await t.api.get('/devices/tele-events/events');
    assert.equal(r.body.events.length, 1);
    assert.deepStrictEqual(r.body.events[0].data, { by: 'sensor', raw: { $base64: 'AQI=' } });
    assert.equal(r.body.events[0].level, 2);
    await d.close();
  });

  it('answers buckets and latest values, before and after compaction', async () => {
    const token = await t.api.provision('tele-buckets');
    const d = await TestDevice.connect(t.ws, token);
    const start = Math.floor(Date.now() / 600_000) * 600 - 3600; // an hour ago, on a 10-minute boundary
    let last = 0;
    for (let i = 0; i < 120; i++)
      last = d.telemetry([
        { n: 'p', u: 'W', v: i, t: start + i * 30 },
        { n: 'mode', vs: i % 2 ? 'eco' : 'boost', t: start + i * 30 },
      ]);
    await d.waitAck(last);
    const query = `/devices/tele-buckets/telemetry?name=p&from=${start * 1000}&to=${(start + 3600) * 1000}&bucket=10m`;
    const before = await t.api.get(query);
    assert.equal(before.status, 200);
    // An hour bucket and minute buckets: answered from rollups once compacted (README.md § Retention and rollups).
    const hourly = `/devices/tele-buckets/telemetry?name=p,mode&from=${(start - 3600) * 1000}&to=${(start + 7200) * 1000}&bucket=1h`;
    const minutes = `/devices/tele-buckets/telemetry?name=p&from=${start * 1000 + 1}&to=${(start + 1800) * 1000}&bucket=1m`;
    const hourlyBefore = await t.api.get(hourly);
    const minutesBefore = await t.api.get(minutes);
    assert.equal(minutesBefore.body.series[0].points.length, 31, 'a partial first minute, 29 whole ones, the minute of the last point');
    const b = before.body.series[0].points;
    assert.equal(b.length, 6);
    assert.deepStrictEqual(b[0], { t: start * 1000, avg: 9.5, min: 0, max: 19, count: 20, last: 19 });
    const latest = await t.api.get('/devices/tele-buckets/telemetry/latest');
    assert.deepStrictEqual(
      latest.body.metrics.map((m: { name: string }) => m.name),
      ['mode', 'p'],
    );
    assert.equal(latest.body.metrics[1].v, 119);
    assert.equal(latest.body.metrics[0].vs, 'eco');
    await t.hub.ctx.store.compactNow();
    const after = await t.api.get(query);
    assert.deepStrictEqual(after.body, before.body);
    assert.deepStrictEqual((await t.api.get(hourly)).body, hourlyBefore.body);
    assert.deepStrictEqual((await t.api.get(minutes)).body, minutesBefore.body);
    const onlyAvg = await t.api.get(`${query}&agg=avg,count`);
    assert.deepStrictEqual(onlyAvg.body.series[0].points[0], { t: start * 1000, avg: 9.5, count: 20 });
    await d.close();
  });

  it('answers the latest values of many devices in one call', async () => {
    const a = await TestDevice.connect(t.ws, await t.api.provision('many-a'));
    const b = await TestDevice.connect(t.ws, await t.api.provision('many-b'));
    a.telemetry([{ n: 'x', v: 1 }]);
    b.telemetry([{ n: 'y', vb: true }]);
    await a.waitAck(1);
    await b.waitAck(1);
    const r = await t.api.get('/telemetry/latest?devices=many-a,many-b');
    assert.equal(r.status, 200);
    assert.deepStrictEqual(
      Object.fromEntries(
        Object.entries(r.body.devices).map(([id, ms]) => [
          id,
          (ms as { name: string; v?: number; vb?: boolean }[]).map((m) => [m.name, m.v ?? m.vb]),
        ]),
      ),
      { 'many-a': [['x', 1]], 'many-b': [['y', true]] },
    );
    assert.equal((await t.api.get('/telemetry/latest?devices=many-a,ghost')).status, 404);
    await a.close();
    await b.close();
  });

  it('rejects bad telemetry queries with the field named', async () => {
    await t.api.provision('tele-q');
    for (const [q, field] of [
      ['from=yesterday', 'from'],
      ['bucket=fast', 'bucket'],
      ['bucket=1ms&from=0', 'bucket'],
      ['agg=median&bucket=1m', 'agg'],
      ['from=2000&to=1000', 'from'],
    ] as const) {
      const r = await t.api.get(`/devices/tele-q/telemetry?${q}`);
      assert.equal(r.status, 400, q);
      assert.equal(r.body.error.field, field, q);
    }
    assert.equal((await t.api.get('/devices/nope/telemetry')).status, 404);
  });

  it('records presence with reasons', async () => {
    const token = await t.api.provision('tele-presence');
    const d = await TestDevice.connect(t.ws, token);
    await d.close();
    const r = await eventually(async () => {
      const p = await t.api.get('/devices/tele-presence/presence');
      return p.body.presence.length === 2 ? p.body.presence : undefined;
    }, 'two presence rows');
    assert.deepStrictEqual(
      r.map((p: { online: boolean; reason: string }) => [p.online, p.reason]),
      [
        [false, 'closed'],
        [true, 'connected'],
      ],
    );
  });
});
