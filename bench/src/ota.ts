// What the firmware and jobs benchmarks share (firmware.bench.ts, jobs.bench.ts): the
// image version, the device list from seeded tokens, a fleet that reports when all of
// it is online and when all of it is back on the new version, the bare-ws baseline
// (baseline-ota.ts), the upload, the hub's RSS sampled at its peak, and the row's
// extra figures.

import { type Fleet, startFleet } from '@halyard/device-sim';
import { firmwareImage } from './firmware-image.js';
import { Child, procUsage } from './lib.js';

export const VERSION = '9.0.0';
const BASELINE_OTA = new URL('../../bench/dist/src/baseline-ota.js', import.meta.url).pathname;

export type Device = { id: string; token: string };

export const mb = (bytes: number) => Math.round(bytes / 1e5) / 10;

export function tokensOf(seeded: { tokens: string[] }): Device[] {
  return seeded.tokens.map((token) => ({ id: token.slice(0, token.lastIndexOf('.')), token }));
}

/** Starts the fleet against `url`; resolves once every device is online, with a promise of all of them back on VERSION. */
export async function fleetOn(url: string, devices: Device[]): Promise<{ fleet: Fleet; updated: Promise<void> }> {
  const fleet = startFleet({ hub: url, devices, profile: 'relay', rate: 0.05, rampMs: 2_000, seed: 3 });
  let online = 0;
  let back = 0;
  let allBack = () => {};
  const updated = new Promise<void>((resolve) => {
    allBack = resolve;
  });
  await new Promise<void>((resolve) =>
    fleet.events.on('online', (e) => {
      if (e.fw === VERSION) {
        if (++back === devices.length) allBack();
      } else if (++online === devices.length) resolve();
    }),
  );
  return { fleet, updated };
}

/** Seconds for `devices` to pull a `size`-byte image from a bare ws server serving it from memory. */
export async function baselineOta(devices: Device[], size: number): Promise<number> {
  const server = new Child([BASELINE_OTA, String(size), VERSION]);
  const port = (await server.next((m) => m.event === 'listening')).port as number;
  const { fleet, updated } = await fleetOn(`ws://127.0.0.1:${port}`, devices);
  const t0 = performance.now();
  server.send({ cmd: 'offer' });
  await updated;
  const seconds = (performance.now() - t0) / 1000;
  await fleet.stop();
  await server.stop();
  return seconds;
}

/** Uploads the benchmark image (model sim-relay, VERSION) to the hub on `port`; its firmware id. */
export async function uploadImage(port: number, token: string, size: number): Promise<string> {
  const up = await fetch(`http://127.0.0.1:${port}/api/v1/firmware?model=sim-relay&version=${VERSION}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
    body: firmwareImage(size),
  });
  if (up.status !== 201) throw new Error(`upload: ${up.status} ${await up.text()}`);
  return ((await up.json()) as { id: string }).id;
}

/** Samples the RSS of `pid` every 100 ms from now; `stop` gives the usage at the start and the peak. */
export function sampleUsage(pid: number): () => { before: { cpuSeconds: number; rssBytes: number }; peak: number } {
  const before = procUsage(pid);
  let peak = before.rssBytes;
  const sampler = setInterval(() => {
    peak = Math.max(peak, procUsage(pid).rssBytes);
  }, 100);
  return () => {
    clearInterval(sampler);
    return { before, peak };
  };
}

export interface OtaRun {
  seconds: number;
  succeeded: number;
  lagMs: number;
  cpuSeconds: number;
  rssBefore: number;
  rssPeak: number;
}

/** The extra figures of an image-to-every-device row. */
export function otaExtra(run: OtaRun, devices: number, size: number, baseSeconds: number): Record<string, number> {
  return {
    succeeded: run.succeeded,
    throughputMBps: mb((devices * size) / run.seconds),
    baselineMBps: mb((devices * size) / baseSeconds),
    hubRssBeforeMB: mb(run.rssBefore),
    hubRssPeakMB: mb(run.rssPeak),
    hubCpuSeconds: Math.round(run.cpuSeconds * 10) / 10,
    lagMaxMs: run.lagMs,
  };
}
