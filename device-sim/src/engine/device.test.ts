// The device engine against a scripted peer: a tiny protocol-speaking ws server whose
// every move the test decides. It covers what a real hub cannot be made to do on
// demand (repeat a command, answer with a chosen `acked`, a chosen clock or close
// code). Behaviour against the real hub is in device-sim/test/.

import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  CommandStatus,
  DEVICE_SUBPROTOCOL,
  type DecodedUplink,
  type DownlinkMessage,
  decode,
  encode,
  MessageType,
} from '@halyard/firmware-protocol';
import { type WebSocket, WebSocketServer } from 'ws';
import type { FleetEventMap } from './context.js';
import { type Fleet, type FleetOptions, startFleet } from './fleet.js';

const TIMEOUT_MS = 5_000;

class Session {
  private readonly inbox: DecodedUplink[] = [];
  private waiter: (() => void) | undefined;
  closed = false;

  constructor(
    readonly ws: WebSocket,
    readonly token: string,
    readonly remoteAddress: string | undefined,
  ) {
    ws.on('message', (data: Buffer) => {
      const d = decode(data, { accept: 'uplink' });
      assert.ok(d.ok, d.ok ? '' : `device sent a malformed message: ${d.error.message}`);
      this.inbox.push(d.message as DecodedUplink);
      this.waiter?.();
    });
    ws.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
  }

  /** The next uplink message of `type`; earlier messages of other types are skipped. */
  next<T extends DecodedUplink['type']>(type: T, timeoutMs = TIMEOUT_MS): Promise<Extract<DecodedUplink, { type: T }>> {
    return this.take((m) => m.type === type, `message type ${type}`, timeoutMs) as Promise<Extract<DecodedUplink, { type: T }>>;
  }

  /** The next TELEMETRY, EVENT or REPORTED, in arrival order. */
  nextSequenced(timeoutMs = TIMEOUT_MS): Promise<DecodedUplink> {
    return this.take((m) => 'seq' in m, 'a sequenced message', timeoutMs);
  }

  private async take(pred: (m: DecodedUplink) => boolean, what: string, timeoutMs: number): Promise<DecodedUplink> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.inbox.findIndex(pred);
      if (i >= 0) return this.inbox.splice(0, i + 1)[i] as DecodedUplink;
      if (this.closed) throw new Error(`session closed while waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  send(message: DownlinkMessage): void {
    this.ws.send(encode(message));
  }

  welcome(acked: number, time = Date.now()): void {
    this.send({ type: MessageType.Welcome, acked, ping: 30, maxFrame: 65_536, time, session: 's-test' });
  }
}

class ScriptedHub {
  readonly wss: WebSocketServer;
  upgrades = 0;
  /** HTTP status to refuse a token with; absent = accept. */
  refuse = new Map<string, number>();
  private readonly sessions: Session[] = [];
  private waiter: (() => void) | undefined;

  constructor() {
    this.wss = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      handleProtocols: (protocols) => (protocols.has(DEVICE_SUBPROTOCOL) ? DEVICE_SUBPROTOCOL : false),
      verifyClient: (info, cb) => {
        this.upgrades++;
        const token = (info.req.headers.authorization ?? '').replace(/^Bearer /, '');
        const status = this.refuse.get(token);
        if (status === undefined) cb(true);
        else cb(false, status);
      },
    });
    this.wss.on('connection', (ws, req) => {
      this.sessions.push(new Session(ws, (req.headers.authorization ?? '').replace(/^Bearer /, ''), req.socket.remoteAddress));
      this.waiter?.();
    });
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.wss.address() as AddressInfo).port}`;
  }

  async nextSession(timeoutMs = TIMEOUT_MS): Promise<Session> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = this.sessions.shift();
      if (s !== undefined) return s;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a connection');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  close(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    return new Promise((resolve) => this.wss.close(() => resolve()));
  }
}

function waitEvent<K extends keyof FleetEventMap>(
  fleet: Fleet,
  name: K,
  pred: (arg: FleetEventMap[K][0]) => boolean = () => true,
  timeoutMs = TIMEOUT_MS,
): Promise<FleetEventMap[K][0]> {
  return new Promise((resolve, reject) => {
    const emitter = fleet.events as unknown as NodeJS.EventEmitter;
    const timer = setTimeout(() => {
      emitter.off(name, listener);
      reject(new Error(`timed out waiting for fleet event ${name}`));
    }, timeoutMs);
    const listener = (arg: FleetEventMap[K][0]) => {
      if (!pred(arg)) return;
      clearTimeout(timer);
      emitter.off(name, listener);
      resolve(arg);
    };
    emitter.on(name, listener);
  });
}

describe('SimDevice against a scripted peer', () => {
  let hub: ScriptedHub;
  const fleets: Fleet[] = [];
  const run = (opts: Partial<FleetOptions> = {}): Fleet => {
    const fleet = startFleet({
      hub: hub.url,
      devices: [{ id: 'dev-1', token: 'dev-1.secret' }],
      profile: 'relay',
      rate: 20,
      backoff: { baseMs: 5, capMs: 20 },
      seed: 42,
      ...opts,
    });
    fleets.push(fleet);
    return fleet;
  };

  before(async () => {
    hub = new ScriptedHub();
    await new Promise((resolve) => hub.wss.once('listening', resolve));
  });
  after(async () => {
    await Promise.all(fleets.map((f) => f.stop()));
    await hub.close();
  });

  test('HELLO first, then numbered telemetry; a cumulative ACK clears the buffer and feeds the histogram', async () => {
    const fleet = run();
    const s = await hub.nextSession();
    const hello = await s.next(MessageType.Hello);
    assert.equal(hello.model, 'sim-relay');
    assert.equal(hello.boot, 1);
    s.welcome(0);
    // The boot's full report and readings share one sequence space from 1. (A reading
    // taken while connecting is numbered before the report: either order is right.)
    const first: DecodedUplink[] = [];
    while (first.length < 3) first.push(await s.nextSequenced());
    assert.deepEqual(
      first.map((m) => ('seq' in m ? m.seq : 0)),
      [1, 2, 3],
    );
    const reported = first.find((m) => m.type === MessageType.Reported);
    assert.deepEqual(Object.keys(reported?.type === MessageType.Reported ? reported.patch : {}).sort(), ['loadW', 'on']);
    s.send({ type: MessageType.Ack, seq: 3 });
    const deadline = Date.now() + TIMEOUT_MS;
    while (fleet.stats().acked < 3) {
      assert.ok(Date.now() < deadline, 'acks counted');
      await new Promise((r) => setImmediate(r));
    }
    assert.ok(fleet.stats().ackLatency.count >= 3);
    await fleet.stop();
    assert.equal(fleet.device('dev-1')?.state, 'stopped');
  });

  test('replays unacknowledged messages after WELCOME from its acked, without gaps or repeats', async () => {
    const fleet = run();
    const s1 = await hub.nextSession();
    s1.welcome(0);
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) seen.push((await s1.next(MessageType.Telemetry)).seq);
    // The hub stored up to seq 3, then the link died.
    s1.ws.terminate();
    const s2 = await hub.nextSession();
    await s2.next(MessageType.Hello);
    s2.welcome(3);
    const after: number[] = [];
    for (let i = 0; i < 4; i++) after.push((await s2.next(MessageType.Telemetry)).seq);
    // Nothing <= 3 comes again; what follows is consecutive (REPORTED seq 1 came first).
    assert.ok(after.every((x) => x > 3));
    assert.equal(after[0], 4);
    for (let i = 1; i < after.length; i++) assert.equal(after[i], (after[i - 1] as number) + 1);
    assert.ok(fleet.stats().resent >= 2);
    await fleet.stop();
  });

  test('continues numbering from acked + 1 when its counter is behind the hub', async () => {
    const fleet = run();
    const s1 = await hub.nextSession();
    s1.welcome(0);
    await s1.next(MessageType.Telemetry);
    fleet.device('dev-1')?.forgetMemory();
    const s2 = await hub.nextSession();
    assert.equal((await s2.next(MessageType.Hello)).boot, 2);
    s2.welcome(500);
    const seqs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const m = await s2.nextSequenced();
      seqs.push('seq' in m ? m.seq : 0);
    }
    assert.deepEqual(seqs, [501, 502, 503]);
    await fleet.stop();
  });

  test('deduplicates commands by id and honours deadlines on the hub clock', async () => {
    const fleet = run();
    const s = await hub.nextSession();
    // The hub's clock runs an hour ahead of the device's: deadlines are on the hub's clock.
    const hubNow = Date.now() + 3_600_000;
    s.welcome(0, hubNow);
    const commandEvents: string[] = [];
    fleet.events.on('command', (e) => commandEvents.push(e.command.id));
    s.send({ type: MessageType.Command, id: 'c-1', name: 'toggle', params: null, deadline: hubNow + 30_000 });
    assert.equal((await s.next(MessageType.CmdAccepted)).id, 'c-1');
    const r1 = await s.next(MessageType.CmdResult);
    assert.deepEqual([r1.id, r1.status, r1.body], ['c-1', CommandStatus.Succeeded, { on: true }]);
    // The state change is reported in the sequence space.
    assert.deepEqual((await s.next(MessageType.Reported)).patch, { on: true });
    // At-least-once delivery: the same id again gets the same answer, not a second toggle.
    s.send({ type: MessageType.Command, id: 'c-1', name: 'toggle', params: null, deadline: hubNow + 30_000 });
    const r2 = await s.next(MessageType.CmdResult);
    assert.deepEqual([r2.id, r2.status, r2.body], ['c-1', CommandStatus.Succeeded, { on: true }]);
    // Still in time by the device's own clock, but past on the hub's: rejected, not run.
    s.send({ type: MessageType.Command, id: 'c-2', name: 'toggle', params: null, deadline: Date.now() + 60_000 });
    const r3 = await s.next(MessageType.CmdResult);
    assert.deepEqual([r3.id, r3.status, r3.body], ['c-2', CommandStatus.Rejected, { reason: 'deadline' }]);
    s.send({ type: MessageType.Command, id: 'c-3', name: 'explode', params: null, deadline: hubNow + 30_000 });
    const r4 = await s.next(MessageType.CmdResult);
    assert.deepEqual([r4.status, r4.body], [CommandStatus.Rejected, { reason: 'unknown_command' }]);
    assert.deepEqual(commandEvents, ['c-1', 'c-2', 'c-3']);
    assert.equal(fleet.stats().commands.duplicates, 1);
    await fleet.stop();
  });

  test('applies DESIRED then reports the result; an old version is ignored', async () => {
    const fleet = run({ profile: 'thermostat' });
    const s = await hub.nextSession();
    s.welcome(0);
    await s.next(MessageType.Reported); // the boot report
    s.send({ type: MessageType.Desired, version: 2, desired: { setpoint: 23, colour: 'blue' } });
    assert.deepEqual((await s.next(MessageType.Reported)).patch, { setpoint: 23 });
    s.send({ type: MessageType.Desired, version: 1, desired: { setpoint: 10 } });
    s.send({ type: MessageType.Desired, version: 3, desired: { mode: 'off' } });
    assert.deepEqual((await s.next(MessageType.Reported)).patch, { mode: 'off' });
    assert.equal(fleet.stats().desiredApplied, 2);
    await fleet.stop();
  });

  test('reboot: the result goes out, then the device comes back with the next boot number', async () => {
    const fleet = run();
    const s1 = await hub.nextSession();
    s1.welcome(0);
    s1.send({ type: MessageType.Command, id: 'r-1', name: 'reboot', params: null, deadline: Date.now() + 60_000 });
    assert.equal((await s1.next(MessageType.CmdResult)).status, CommandStatus.Succeeded);
    const s2 = await hub.nextSession();
    assert.equal((await s2.next(MessageType.Hello)).boot, 2);
    await fleet.stop();
  });

  test('spreads connections over the given source addresses', async () => {
    const fleet = run({
      devices: [
        { id: 'src-1', token: 'src-1.x' },
        { id: 'src-2', token: 'src-2.x' },
      ],
      sourceAddresses: ['127.0.0.2', '127.0.0.3'],
    });
    const a = await hub.nextSession();
    const b = await hub.nextSession();
    const byToken = new Map([a, b].map((s) => [s.token, s.remoteAddress]));
    assert.deepEqual(Object.fromEntries(byToken), { 'src-1.x': '127.0.0.2', 'src-2.x': '127.0.0.3' });
    await fleet.stop();
  });

  test('stops without retrying after HTTP 401 and 403 at the upgrade', async () => {
    for (const [status, reason] of [
      [401, 'unauthorized'],
      [403, 'revoked'],
    ] as const) {
      hub.refuse.set(`bad-${status}.x`, status);
      const before = hub.upgrades;
      const fleet = run({ devices: [{ id: `bad-${status}`, token: `bad-${status}.x` }] });
      const stopped = await waitEvent(fleet, 'stopped');
      assert.equal(stopped.reason, reason);
      assert.equal(hub.upgrades - before, 1, 'exactly one attempt');
      assert.equal(fleet.device(`bad-${status}`)?.state, 'stopped');
    }
  });

  test('stops after close 4403 and 4409; waits at least 10 s after 4429; retries after 1011', async () => {
    for (const [code, reason] of [
      [4403, 'revoked'],
      [4409, 'replaced'],
    ] as const) {
      const fleet = run();
      const s = await hub.nextSession();
      s.welcome(0);
      s.send({ type: MessageType.Error, code, message: 'bye' });
      s.ws.close(code);
      assert.equal((await waitEvent(fleet, 'stopped')).reason, reason);
    }
    const fleet = run();
    const s = await hub.nextSession();
    s.welcome(0);
    s.ws.close(4429);
    assert.ok(((await waitEvent(fleet, 'offline')).retryInMs ?? 0) >= 10_000);
    await fleet.stop();
    const fleet2 = run();
    const s2 = await hub.nextSession();
    s2.welcome(0);
    s2.ws.close(1011);
    const off = await waitEvent(fleet2, 'offline');
    assert.ok(off.retryInMs !== undefined && off.retryInMs <= 20);
    await hub.nextSession(); // it came back
    await fleet2.stop();
  });

  test('after a 4400 for one of its messages, it drops that message instead of resending it forever', async () => {
    const fleet = run();
    const s1 = await hub.nextSession();
    s1.welcome(0);
    await s1.next(MessageType.Reported); // seq 1, which this "hub" refuses
    s1.send({ type: MessageType.Error, code: 4400, message: 'bad pack', seq: 1 });
    s1.ws.close(4400);
    const s2 = await hub.nextSession();
    s2.welcome(0);
    const first = await s2.next(MessageType.Telemetry);
    assert.ok(first.seq >= 2);
    assert.equal(fleet.stats().refused, 1);
    await fleet.stop();
  });

  test('drops nothing after an ERROR without seq: the hub named no message of its own (SPEC.md §8.3)', async () => {
    const fleet = run();
    const s1 = await hub.nextSession();
    s1.welcome(0);
    await s1.next(MessageType.Reported); // seq 1, never acknowledged
    s1.send({ type: MessageType.Error, code: 4400, message: 'text messages are not allowed' });
    s1.ws.close(4400);
    const s2 = await hub.nextSession();
    s2.welcome(0);
    const first = await s2.nextSequenced();
    assert.equal('seq' in first ? first.seq : 0, 1, 'seq 1 is resent');
    assert.equal(fleet.stats().refused, 0);
    await fleet.stop();
  });

  test('drops the message whose seq the ERROR names, not the oldest one it had sent (SPEC.md §8.3)', async () => {
    const fleet = run();
    const s1 = await hub.nextSession();
    s1.welcome(0);
    await s1.next(MessageType.Reported); // seq 1, never acknowledged
    const bad = (await s1.next(MessageType.Telemetry)).seq;
    s1.send({ type: MessageType.Error, code: 4400, message: 'bad pack', seq: bad });
    s1.ws.close(4400);
    const s2 = await hub.nextSession();
    s2.welcome(0);
    const seqOf = (m: DecodedUplink) => ('seq' in m ? m.seq : 0);
    const resent = [seqOf(await s2.nextSequenced()), seqOf(await s2.nextSequenced())];
    assert.equal(resent[0], 1, 'the good, older message is resent');
    assert.ok(!resent.includes(bad), `seq ${bad} is dropped`);
    assert.equal(fleet.stats().refused, 1);
    await fleet.stop();
  });
});
