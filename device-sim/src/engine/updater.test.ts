// Firmware updates in the simulator (SPEC.md §12) against a small scripted hub side:
// a ws server that offers one image, serves the chunks asked for, acknowledges
// UPDATE_STATUS and records everything, so each fault's exact outcome can be checked.
// The real hub's side is tested end to end in hub/test/firmware-update.test.ts.

import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  DEVICE_SUBPROTOCOL,
  type DecodedUplink,
  type DownlinkMessage,
  decode,
  encode,
  type Hello,
  MessageType,
  signedBytes,
  type UpdateOffer,
  UpdateState,
  type UpdateStatus,
} from '@halyard/firmware-protocol';
import { type WebSocket, WebSocketServer } from 'ws';
import type { FleetEventMap } from './context.js';
import { type Fleet, startFleet } from './fleet.js';
import type { UpdateOptions } from './updater.js';

const TIMEOUT_MS = 10_000;
const MODEL = 'sim-relay';
const IMAGE = Buffer.alloc(200_000).map((_, i) => (i * 7919) & 0xff);
const SHA256 = createHash('sha256').update(IMAGE).digest();

/** The hub side of updates, scripted: one offer, chunks served from IMAGE, statuses recorded and acknowledged. */
class OtaPeer {
  readonly wss: WebSocketServer;
  offer: UpdateOffer | undefined;
  readonly hellos: Hello[] = [];
  readonly statuses: UpdateStatus[] = [];
  readonly requests: { connection: number; offset: number; length: number }[] = [];
  maxOutstanding = 0;
  connections = 0;
  private acked = 0;
  private current: WebSocket | undefined;
  private waiter: (() => void) | undefined;

  constructor() {
    this.wss = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      handleProtocols: (p) => (p.has(DEVICE_SUBPROTOCOL) ? DEVICE_SUBPROTOCOL : false),
    });
    this.wss.on('connection', (ws) => {
      const connection = ++this.connections;
      this.current = ws;
      let outstanding = 0;
      ws.on('message', (data: Buffer) => {
        const d = decode(data, { accept: 'uplink' });
        assert.ok(d.ok, d.ok ? '' : d.error.message);
        const m = d.message as DecodedUplink;
        if (m.type === MessageType.Hello) {
          this.hellos.push(m);
          this.sendOn(ws, { type: MessageType.Welcome, acked: this.acked, ping: 30, maxFrame: 65_536, time: Date.now(), session: 's' });
          if (this.offer !== undefined) this.sendOn(ws, this.offer);
        } else if (m.type === MessageType.ChunkRequest) {
          this.requests.push({ connection, offset: m.offset, length: m.length });
          outstanding++;
          this.maxOutstanding = Math.max(this.maxOutstanding, outstanding);
          // Answered on the next turn, so requests can pile up as they would over a network.
          setImmediate(() => {
            outstanding--;
            const data = IMAGE.subarray(m.offset, m.offset + m.length);
            this.sendOn(ws, { type: MessageType.Chunk, job: m.job, offset: m.offset, data });
          });
        } else if ('seq' in m) {
          if (m.type === MessageType.UpdateStatus && m.seq > this.acked) {
            this.statuses.push(m);
            this.waiter?.();
          }
          this.acked = Math.max(this.acked, m.seq);
          this.sendOn(ws, { type: MessageType.Ack, seq: m.seq });
        }
      });
    });
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.wss.address() as AddressInfo).port}`;
  }

  /** The first status (from index `from`) that matches. */
  async waitStatus(pred: (s: UpdateStatus) => boolean, from = 0): Promise<UpdateStatus> {
    const deadline = Date.now() + TIMEOUT_MS;
    for (;;) {
      const found = this.statuses.slice(from).find(pred);
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for an UPDATE_STATUS');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  send(m: DownlinkMessage): void {
    if (this.current !== undefined) this.sendOn(this.current, m);
  }

  cancel(job: string): void {
    this.send({ type: MessageType.UpdateCancel, job });
  }

  private sendOn(ws: WebSocket, m: DownlinkMessage): void {
    if (ws.readyState === ws.OPEN) ws.send(encode(m));
  }

  close(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    return new Promise((resolve) => this.wss.close(() => resolve()));
  }
}

function offerOf(job: string, key?: KeyObject, over: Partial<UpdateOffer> = {}): UpdateOffer {
  const base = { type: MessageType.UpdateOffer, job, model: MODEL, fw: '9.9.9', size: IMAGE.length, sha256: SHA256, chunk: 8_192 } as const;
  const o: UpdateOffer = { ...base, ...over };
  if (key !== undefined) o.sig = sign(null, signedBytes(o), key);
  return o;
}

function waitUpdate(fleet: Fleet, pred: (e: FleetEventMap['update'][0]) => boolean): Promise<FleetEventMap['update'][0]> {
  const emitter = fleet.events as unknown as NodeJS.EventEmitter;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off('update', listener);
      reject(new Error('timed out waiting for an update event'));
    }, TIMEOUT_MS);
    const listener = (e: FleetEventMap['update'][0]) => {
      if (!pred(e)) return;
      clearTimeout(timer);
      emitter.off('update', listener);
      resolve(e);
    };
    emitter.on('update', listener);
  });
}

describe('simulated firmware updates (SPEC.md §12)', () => {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  let peer: OtaPeer;
  const fleets: Fleet[] = [];
  const run = (updates: Partial<UpdateOptions> = {}): Fleet => {
    const fleet = startFleet({
      hub: peer.url,
      devices: [{ id: 'dev-1', token: 'dev-1.secret' }],
      profile: 'relay',
      rate: 1,
      backoff: { baseMs: 5, capMs: 20 },
      seed: 7,
      updates: { installMs: 10, ...updates },
    });
    fleets.push(fleet);
    return fleet;
  };
  const states = () => peer.statuses.map((s) => s.state);

  before(async () => {
    peer = new OtaPeer();
    await new Promise((resolve) => peer.wss.once('listening', resolve));
  });
  test.afterEach(async () => {
    await Promise.all(fleets.splice(0).map((f) => f.stop()));
    peer.offer = undefined;
    peer.statuses.length = 0;
    peer.hellos.length = 0;
    peer.requests.length = 0;
    peer.maxOutstanding = 0;
  });
  after(() => peer.close());

  test('pulls the image within its window, verifies the signature, installs, reboots and confirms on the new version', async () => {
    peer.offer = offerOf('u-1', privateKey);
    const fleet = run({ publicKey, window: 3 });
    await waitUpdate(fleet, (e) => e.state === 'succeeded');
    assert.equal(peer.hellos[0]?.fw, '3.0.1', 'first boot on the profile firmware');
    assert.ok(peer.hellos[0]?.caps?.includes('ota'));
    assert.equal(peer.hellos.at(-1)?.fw, '9.9.9', 'the reboot came back on the new version');
    await peer.waitStatus((s) => s.state === UpdateState.Succeeded);
    const order = [...new Set(states())];
    assert.deepEqual(order, [
      UpdateState.Downloading,
      UpdateState.Downloaded,
      UpdateState.Verifying,
      UpdateState.Installing,
      UpdateState.Rebooting,
      UpdateState.Succeeded,
    ]);
    assert.ok(peer.maxOutstanding <= 3, `at most the window outstanding, saw ${peer.maxOutstanding}`);
    assert.ok(peer.maxOutstanding >= 2, 'requests are pipelined');
    const bytes = peer.requests.reduce((n, r) => n + r.length, 0);
    assert.equal(bytes, IMAGE.length, 'each byte asked for once');
    assert.ok(peer.requests.every((r) => r.length <= 8_192));
  });

  test('goes offline mid-download and resumes at the offset it holds (HELLO carries the update)', async () => {
    peer.offer = offerOf('u-2');
    const fleet = run({ fault: 'offline', speed: 1_000_000 });
    await waitUpdate(fleet, (e) => e.state === 'succeeded');
    const resumed = peer.hellos.find((h) => h.update !== undefined);
    assert.ok(resumed?.update !== undefined, 'a HELLO named the update in progress');
    assert.equal(resumed.update.job, 'u-2');
    const held = resumed.update.held;
    assert.ok(held >= IMAGE.length / 2 && held < IMAGE.length, `held ${held}`);
    const second = peer.requests.filter((r) => r.connection === peer.connections - 1);
    assert.equal(second[0]?.offset, held, 'the first request after the reconnect starts at the offset held');
    assert.ok(
      peer.statuses.some((s) => s.state === UpdateState.Downloading && s.progress === held),
      'downloading reported again with the bytes held',
    );
  });

  test('a reboot mid-download keeps what the slot holds: the next boot resumes there', async () => {
    peer.offer = offerOf('u-reboot');
    run({ speed: 100_000 });
    await peer.waitStatus((s) => s.state === UpdateState.Downloading && (s.progress ?? 0) >= IMAGE.length / 5);
    peer.send({ type: MessageType.Command, id: 'c-reboot', name: 'reboot', params: null, deadline: 0 });
    await peer.waitStatus((s) => s.state === UpdateState.Succeeded);
    const resumed = peer.hellos.find((h) => h.update !== undefined);
    assert.ok(resumed?.update !== undefined, 'the HELLO after the reboot named the update');
    assert.equal(resumed.boot, 2, 'a reboot, not a reconnect');
    const held = resumed.update.held;
    assert.ok(held >= IMAGE.length / 5, `held ${held}`);
    const after = peer.requests.filter((r) => r.connection === peer.connections - 1);
    assert.equal(after[0]?.offset, held, 'requests went on from the bytes held');
  });

  for (const [fault, state, reason] of [
    ['corrupt', UpdateState.Failed, 2],
    ['install-fail', UpdateState.Failed, 11],
    ['boot-fail', UpdateState.RolledBack, 12],
    ['reject', UpdateState.Rejected, 6],
  ] as const) {
    test(`fault ${fault}: ends ${state} with reason ${reason}`, async () => {
      peer.offer = offerOf(`u-${fault}`);
      run({ fault });
      const last = await peer.waitStatus((s) => [6, 7, 8, 11].includes(s.state));
      assert.equal(last.state, state);
      assert.equal(last.reason, reason);
      if (fault === 'boot-fail') assert.equal(peer.hellos.at(-1)?.fw, '3.0.1', 'back on the old version');
    });
  }

  test('refuses what it cannot take: another model, an unsigned offer when it holds a key, a bad signature', async () => {
    const other = generateKeyPairSync('ed25519').privateKey;
    peer.offer = offerOf('u-model', undefined, { model: 'sim-other' });
    let fleet = run();
    let end = await waitUpdate(fleet, () => true);
    assert.deepEqual([end.state, end.reason], ['rejected', 'wrong_model']);
    await fleet.stop();

    peer.offer = offerOf('u-unsigned');
    fleet = run({ publicKey });
    end = await waitUpdate(fleet, () => true);
    assert.deepEqual([end.state, end.reason], ['rejected', 'unsigned']);
    await fleet.stop();

    peer.offer = offerOf('u-forged', other);
    fleet = run({ publicKey });
    end = await waitUpdate(fleet, (e) => e.state === 'failed');
    assert.equal(end.reason, 'signature_invalid');
  });

  test("a device's own fault (its spec) wins over the fleet's, null meaning none", async () => {
    peer.offer = offerOf('u-mixed');
    const fleet = startFleet({
      hub: peer.url,
      devices: [
        { id: 'dev-1', token: 'dev-1.secret', updateFault: null },
        { id: 'dev-2', token: 'dev-2.secret', updateFault: 'reject' },
        { id: 'dev-3', token: 'dev-3.secret' },
      ],
      profile: 'relay',
      rate: 1,
      backoff: { baseMs: 5, capMs: 20 },
      seed: 8,
      updates: { installMs: 10, fault: 'install-fail' },
    });
    fleets.push(fleet);
    const ends = new Map<string, string>();
    await new Promise<void>((resolve) =>
      fleet.events.on('update', (e) => {
        if (['succeeded', 'failed', 'rejected'].includes(e.state)) ends.set(e.id, `${e.state} ${e.reason ?? ''}`.trim());
        if (ends.size === 3) resolve();
      }),
    );
    assert.deepEqual(Object.fromEntries(ends), { 'dev-1': 'succeeded', 'dev-2': 'rejected low_battery', 'dev-3': 'failed install_failed' });
    assert.throws(
      () => startFleet({ hub: peer.url, devices: [{ id: 'x', token: 'x.y', updateFault: 'melt' as never }] }),
      /updateFault must be one of/,
    );
  });

  test('UPDATE_CANCEL mid-download: reports cancelled and asks for nothing more', async () => {
    peer.offer = offerOf('u-cancel');
    const fleet = run({ speed: 50_000 });
    await waitUpdate(fleet, (e) => e.state === 'downloading');
    peer.cancel('u-cancel');
    const end = await peer.waitStatus((s) => s.state === UpdateState.Cancelled);
    assert.ok((end.progress ?? 0) < IMAGE.length);
    const asked = peer.requests.length;
    // A round trip: once the answer to this offer arrives, everything the device sent before it has too.
    peer.send(offerOf('u-probe', undefined, { model: 'sim-other' }));
    await peer.waitStatus((s) => s.job === 'u-probe');
    assert.equal(peer.requests.length, asked, 'no CHUNK_REQUEST after cancelled');
    assert.ok(!states().includes(UpdateState.Downloaded));
  });
});
