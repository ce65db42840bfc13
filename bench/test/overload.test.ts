// Overload: 5,000 devices connect at once against --max-connections 2000 (the rest
// get HTTP 503 with Retry-After), then flood messages far beyond --device-rate (2/s here)
// (throttled, not dropped); /healthz answers throughout.

import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { seedDevices, startHub, startLoadgen } from '../src/lib.js';

const DEVICES = 5_000;
const MAX = 2_000;

async function healthLatency(port: number): Promise<number> {
  const t0 = performance.now();
  const r = await fetch(`http://127.0.0.1:${port}/healthz`);
  assert.equal(r.status, 200);
  await r.text();
  return performance.now() - t0;
}

describe('overload', () => {
  const seeded = seedDevices(DEVICES);
  after(() => rmSync(seeded.dir, { recursive: true, force: true }));

  it('refuses connections past the limit with 503, throttles floods, keeps /healthz answering', async () => {
    const hub = await startHub(seeded.dir, ['--max-connections', String(MAX), '--device-rate', '2']);
    const gen = await startLoadgen(hub.port, seeded.tokensFile, { window: 1_000 });
    try {
      const connected = gen.request({ cmd: 'connect' }, 'connected');
      // Meanwhile the hub still answers its health check.
      const during: number[] = [];
      let done = false;
      void connected.then(() => {
        done = true;
      });
      while (!done) during.push(await healthLatency(hub.port));
      const c = (await connected) as { online: number };
      assert.equal(c.online, MAX, 'exactly --max-connections devices got in');
      const metrics = await (await fetch(`http://127.0.0.1:${hub.port}/metrics`)).text();
      const refused = Number(/halyard_upgrades_rejected_total\{status="503"\} (\d+)/.exec(metrics)?.[1] ?? 0);
      assert.ok(refused >= DEVICES - MAX, `${refused} upgrades refused with 503`);

      // A flood: every connected device sends as fast as its window allows (far beyond 2/s).
      gen.send({ cmd: 'rate', value: 0 });
      const throttled = async () =>
        Number(/halyard_device_throttled_total (\d+)/.exec(await (await fetch(`http://127.0.0.1:${hub.port}/metrics`)).text())?.[1] ?? 0);
      const deadline = Date.now() + 30_000;
      while ((await throttled()) < MAX / 2 && Date.now() < deadline) during.push(await healthLatency(hub.port));
      assert.ok((await throttled()) >= MAX / 2, 'the flood was throttled');
      const stats = (await gen.request({ cmd: 'stats' }, 'stats')) as {
        sent: number;
        acked: number;
        online: number;
        refused: number;
        closes: Record<string, number>;
      };
      // The only closes are the refused upgrades: no admitted device was cut off.
      assert.equal(stats.online, MAX, 'throttled, not disconnected');
      assert.equal(
        Object.values(stats.closes).reduce((a, b) => a + b, 0),
        stats.refused,
      );
      const sorted = [...during].sort((a, b) => a - b);
      console.log(
        JSON.stringify({
          healthChecks: during.length,
          healthP50ms: Math.round(sorted[Math.floor(sorted.length / 2)] as number),
          healthMaxMs: Math.round(sorted.at(-1) as number),
          refused,
          sent: stats.sent,
          acked: stats.acked,
        }),
      );
      assert.ok((sorted.at(-1) as number) < 5_000, '/healthz kept answering');
    } finally {
      await gen.stop('SIGKILL');
      await hub.child.stop();
    }
  });
});
