// A big export gives way to other work (red team, wave 2): a fast client never makes
// the socket push back, so the hub read page after page in microtasks and an 846 MB
// export held every device's ACK for 11 s. The hub runs in its own process here, as in
// production, so the test's client reads as fast as loopback allows.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TestDevice } from './helpers/device.js';
import { Api } from './helpers/hub.js';
import { type HubProcess, spawnHub } from './helpers/process.js';
import { releaseStore } from './helpers/test-store.js';

const PASSWORD = 'export-turns-password';
/** Points stored before the export: enough for an export of several seconds. */
const FRAMES = 400;
const PER_FRAME = 1000;

describe('a big export and the devices beside it', { timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'halyard-export-turns-'));
  let hub: HubProcess;
  let api: Api;

  before(async () => {
    hub = await spawnHub(['--data-dir', dir, `--admin-password=${PASSWORD}`, '--retention', '0']);
    api = new Api(`http://127.0.0.1:${hub.port}`);
    await api.login('admin', PASSWORD);
  });
  after(async () => {
    hub?.proc.kill('SIGTERM');
    await hub?.exited;
    await releaseStore(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  it("a device's frame is acknowledged while an export of 400,000 points streams to a fast client", async () => {
    const loader = await TestDevice.connect(`ws://127.0.0.1:${hub.port}`, await api.provision('bulk'));
    const base = Math.floor(Date.now() / 1000) - 86_400;
    for (let f = 0; f < FRAMES; f++) {
      const pack = Array.from({ length: PER_FRAME }, (_, i) => ({
        ...(i === 0 ? { bt: base + f * 10 } : {}),
        n: `m${i % 10}`,
        v: i,
        t: i / 100,
      }));
      const seq = loader.telemetry(pack);
      if (f % 20 === 19 || f === FRAMES - 1) await loader.until(() => loader.acked >= seq, `ACK ${seq}`, 30_000);
    }
    await loader.close();
    const probe = await TestDevice.connect(`ws://127.0.0.1:${hub.port}`, await api.provision('probe'));

    const res = await fetch(`http://127.0.0.1:${hub.port}/api/v1/export/telemetry?from=${(base - 1) * 1000}&format=ndjson`, {
      headers: { authorization: `Bearer ${api.token}` },
    });
    assert.equal(res.status, 200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let bytes = 0;
    let lines = 0;
    let exportDone = false;
    let ackedDuringExport: boolean | undefined;
    // Once the export is under way, the probe sends a frame; its ACK must not wait for the export's end.
    const first = await reader.read();
    assert.equal(first.done, false);
    const seq = probe.telemetry([{ n: 'x', v: 1 }]);
    const acked = probe
      .until(() => probe.acked >= seq, 'the probe ACK', 60_000)
      .then(() => {
        ackedDuringExport = !exportDone;
      });
    const count = (chunk: Uint8Array) => {
      bytes += chunk.length;
      for (const b of chunk) if (b === 10) lines++;
    };
    count(first.value as Uint8Array);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      count(value);
    }
    exportDone = true;
    await acked;
    assert.equal(lines, FRAMES * PER_FRAME, `${bytes} bytes`);
    assert.equal(ackedDuringExport, true, 'the probe was acknowledged only after the export ended');
    await probe.close();
  });
});
