// Distinct series per device are bounded (--max-series-per-device, SPEC.md §9): the
// frame that would pass the limit is refused with ERROR 4400 and its seq, the
// device's existing metrics keep working, other devices carry on, and after a
// restart the count comes from the store. Fleet-wide latest values come in pages.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { CloseCode, MessageType } from '@halyard/firmware-protocol';
import { TestDevice } from './helpers/device.js';
import { startTestHub, type TestHub } from './helpers/hub.js';

const metric = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 'NaN');

describe('series per device', () => {
  let t: TestHub | undefined;
  after(() => t?.close());

  it('refuses the frame that would pass the limit, with ERROR 4400 and its seq; other devices carry on; a restart remembers', async () => {
    t = await startTestHub(['--max-series-per-device', '5']);
    const tokens = { greedy: await t.api.provision('greedy'), calm: await t.api.provision('calm') };
    const calm = await TestDevice.connect(t.ws, tokens.calm);
    let greedy = await TestDevice.connect(t.ws, tokens.greedy);
    await greedy.waitAck(greedy.telemetry(['a', 'b', 'c'].map((n) => ({ n, v: 1 }))));
    await t.hub.ctx.store.compactNow(); // a, b, c as series rows; d, e below stay in the log
    await greedy.waitAck(greedy.telemetry(['d', 'e', 'a'].map((n) => ({ n, v: 2 }))));

    const refusedSeq = greedy.telemetry([
      { n: 'a', v: 3 },
      { n: 'f', v: 3 },
    ]);
    const closed = await greedy.waitClosed();
    assert.equal(closed.code, CloseCode.Malformed);
    const error = greedy.received.find((m) => m.type === MessageType.Error) as { code: number; message: string; seq?: number };
    assert.equal(error.code, CloseCode.Malformed);
    assert.equal(error.seq, refusedSeq);
    assert.match(error.message, /series limit/);
    assert.equal(greedy.acked, refusedSeq - 1, 'nothing of the refused frame was stored');

    // The other device was never held up.
    await calm.waitAck(calm.telemetry([{ n: 'x', v: 1 }]));
    const metrics = await fetch(`${t.http}/metrics`).then((r) => r.text());
    assert.equal(metric(metrics, 'halyard_telemetry_series_refused_total'), 1);
    const latest = await t.api.get('/devices/greedy/telemetry/latest');
    assert.deepEqual(
      latest.body.metrics.map((m: { name: string }) => m.name),
      ['a', 'b', 'c', 'd', 'e'],
    );
    await calm.close();

    // After a restart the count comes from the store (rows and the log's tail).
    await t.stop();
    t = await startTestHub(['--max-series-per-device', '5'], t.dir);
    greedy = await TestDevice.connect(t.ws, tokens.greedy);
    await greedy.waitAck(greedy.telemetry(['e', 'd', 'c'].map((n) => ({ n, v: 4 }))));
    const again = greedy.telemetry([{ n: 'g', v: 4 }]);
    await greedy.waitClosed();
    assert.equal((greedy.received.find((m) => m.type === MessageType.Error) as { seq?: number }).seq, again);
  });

  it('pages the fleet-wide latest values', async () => {
    const hub = await startTestHub();
    try {
      for (const id of ['p-1', 'p-2', 'p-3']) {
        const d = await TestDevice.connect(hub.ws, await hub.api.provision(id));
        await d.waitAck(d.telemetry([{ n: 'v', v: Number(id.slice(2)) }]));
        await d.close();
      }
      const first = await hub.api.get('/telemetry/latest?limit=2');
      assert.deepEqual(Object.keys(first.body.devices), ['p-1', 'p-2']);
      assert.equal(first.body.next, 'p-2');
      const second = await hub.api.get(`/telemetry/latest?limit=2&after=${first.body.next}`);
      assert.deepEqual(Object.keys(second.body.devices), ['p-3']);
      assert.equal(second.body.next, null);
      const named = await hub.api.get('/telemetry/latest?devices=p-3,p-1,p-2&limit=2&after=p-3');
      assert.deepEqual(Object.keys(named.body.devices), ['p-1', 'p-2']);
    } finally {
      await hub.close();
    }
  });
});
