// Slow consoles (SPEC.md §10.4) with real sockets: a console that stops reading gets
// coalesced updates and a `dropped` count once it reads again, and is closed with
// 4429 when it stays backed up. A second gateway on the test hub's context, with small
// thresholds, so the test needs megabytes instead of a flood.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ConsoleUpdate } from '@halyard/firmware-protocol';
import type { ConsoleGateway } from '../src/console/gateway.js';
import { ConsoleClient, gatewayServer } from './console-client.js';
import { TestDevice } from './helpers/device.js';
import { eventually } from './helpers/eventually.js';
import { startTestHub, type TestHub } from './helpers/hub.js';

/** A twin of ~15 KB: each `sub twins` makes the hub send one, which fills socket buffers fast. */
const BIG = { blob: 'x'.repeat(15_000) };

/** Makes the hub queue far more than the thresholds for a console that is not reading. */
async function backUp(c: ConsoleClient, gw: ConsoleGateway, device: string): Promise<void> {
  c.ws.pause();
  for (let i = 0; i < 1_500; i++) c.send({ t: 'sub', stream: 'twins', devices: [device] });
  await eventually(async () => gw.backedUp === 1, 'the console to back up', 10_000);
}

describe('slow consoles', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub(['--device-rate', '10000']);
  });
  after(() => t.close());

  it('coalesces to the latest point per metric and says how many were dropped', async () => {
    const s = await gatewayServer(t, { outbox: { highWaterBytes: 64 << 10, lowWaterBytes: 16 << 10 } });
    const token = await t.api.provision('slow-1');
    assert.equal((await t.api.patch('/devices/slow-1/twin/desired', BIG)).status, 200);
    const d = await TestDevice.connect(t.ws, token);
    const c = await ConsoleClient.open(s.url, { token: t.api.token as string });
    c.send({ t: 'sub', stream: 'telemetry', devices: ['slow-1'] });
    await backUp(c, s.gw, 'slow-1');

    let seq = 0;
    for (let i = 1; i <= 50; i++)
      seq = d.telemetry([
        { n: 'temp', v: i },
        { n: 'hum', v: 100 + i },
      ]);
    await d.waitAck(seq);

    c.ws.resume();
    const dropped = (await c.waitFor((m) => m.t === 'dropped' && m.stream === 'telemetry', 20_000)) as Extract<
      ConsoleUpdate,
      { t: 'dropped' }
    >;
    assert.equal(dropped.count, 98);
    // The twin each `sub twins` answered with is state too: coalesced while backed up, not queued 1,500 times.
    const twins = c.received.filter((m) => m.t === 'twin').length;
    assert.ok(twins < 1_500, `${twins} twins sent for 1,500 subscriptions while backed up`);
    assert.ok(c.received.some((m) => m.t === 'dropped' && m.stream === 'twins'));
    const tel = c.received.filter((m): m is Extract<ConsoleUpdate, { t: 'telemetry' }> => m.t === 'telemetry');
    assert.equal(tel.length, 1, 'one coalesced message instead of fifty');
    assert.deepEqual(
      tel[0]?.points.map((p) => [p.name, p.value]),
      [
        ['temp', 50],
        ['hum', 150],
      ],
    );
    assert.equal(s.gw.backedUp, 0);

    // Drained: updates flow one by one again.
    d.telemetry([{ n: 'temp', v: 51 }]);
    await c.waitFor((m) => m.t === 'telemetry' && m.points[0]?.value === 51);
    await Promise.all([d.close(), c.close()]);
    await s.close();
  });

  it('closes a console that stays backed up with 4429', async () => {
    const s = await gatewayServer(t, { outbox: { highWaterBytes: 64 << 10, lowWaterBytes: 16 << 10, maxBackedUpMs: 200 } });
    await t.api.provision('slow-2');
    assert.equal((await t.api.patch('/devices/slow-2/twin/desired', BIG)).status, 200);
    const c = await ConsoleClient.open(s.url, { token: t.api.token as string });
    await backUp(c, s.gw, 'slow-2');
    await eventually(async () => t.logs.find((l) => l.msg.startsWith('closing console') && l.code === 4429), 'a 4429 close', 5_000);
    await eventually(async () => s.gw.connections === 0, 'the console to be gone');
    c.ws.terminate();
    await s.close();
  });
});
