// DeviceSession against a fake host, over a real WebSocket pair on port 0: what
// the session decides itself (HELLO first, sequence space, refusals, ERROR then
// close) and what it leaves to its host (WELCOME, storing, ACK after commit).

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  CloseCode,
  CommandStatus,
  DEFAULT_LIMITS,
  DEVICE_SUBPROTOCOL,
  type DecodedUplink,
  type DownlinkMessage,
  decode,
  encode,
  type Hello,
  MessageType,
  PROTOCOL_VERSION,
  type PresenceReason,
  type UplinkMessage,
} from '@halyard/firmware-protocol';
import { WebSocket, WebSocketServer } from 'ws';
import { type DeviceEntry, Fleet } from '../fleet.js';
import { createLogger } from '../log.js';
import { createMetrics } from '../metrics.js';
import { DeviceSession, type DeviceSessionHost } from './session.js';

const metrics = createMetrics();
const log = createLogger({ logLevel: 'silent', logFormat: 'json' });

/** Records every call; WELCOME on HELLO and ACK on commit, as the gateway does. */
class FakeHost implements DeviceSessionHost {
  readonly config: DeviceSessionHost['config'];
  readonly limits = DEFAULT_LIMITS;
  readonly log = log;
  readonly metrics = metrics;
  storePaused = false;
  session: DeviceSession | undefined;
  readonly opened: Hello[] = [];
  readonly ended: { wasOpen: boolean; reason: PresenceReason; code: number | null }[] = [];
  readonly ingested: DecodedUplink[] = [];
  readonly accepted: string[] = [];
  readonly results: DecodedUplink[] = [];
  readonly endedOnce: Promise<void>;
  private resolveEnded: () => void = () => {};
  refuseTelemetry: string | undefined;
  private ackDue = false;

  constructor(
    readonly entry: DeviceEntry,
    helloTimeout: number,
  ) {
    this.config = { deviceRate: 1_000, helloTimeout, maxFrame: 65_536, pingInterval: 30_000 };
    this.endedOnce = new Promise((r) => {
      this.resolveEnded = r;
    });
  }

  sessionOpened(session: DeviceSession, hello: Hello): void {
    this.opened.push(hello);
    this.entry.session = session;
    session.send({ type: MessageType.Welcome, acked: this.entry.durableSeq, ping: 30, maxFrame: 65_536, time: 0, session: session.id });
  }
  sessionEnded(_s: DeviceSession, wasOpen: boolean, reason: PresenceReason, code: number | null): void {
    this.ended.push({ wasOpen, reason, code });
    this.resolveEnded();
  }
  ackNow(e: DeviceEntry): void {
    if (this.ackDue) e.session?.send({ type: MessageType.Ack, seq: e.durableSeq });
    this.ackDue = false;
  }
  ingest(_e: DeviceEntry, m: DecodedUplink): void {
    this.ingested.push(m);
  }
  /** The store committed everything ingested: what the gateway does on `committed`, without sending the ACK yet. */
  commitAll(): void {
    this.entry.durableSeq = this.entry.acceptedSeq;
    this.ackDue = true;
    this.entry.session?.committed();
  }
  /** The gateway's ACK after a commit. */
  sendAck(): void {
    this.ackNow(this.entry);
  }
  commandAccepted(_e: DeviceEntry, id: string): void {
    this.accepted.push(id);
  }
  commandResult(_e: DeviceEntry, m: DecodedUplink): void {
    this.results.push(m);
  }
  admitTelemetry(): string | undefined {
    return this.refuseTelemetry;
  }
  chunkRequest(): void {}
}

let server: Server;
let url: string;
let nextHost: FakeHost | undefined;
/** Every device socket, so a failed test cannot leave one holding the process open. */
const clients = new Set<WebSocket>();

before(async () => {
  const wss = new WebSocketServer({ noServer: true, handleProtocols: () => DEVICE_SUBPROTOCOL });
  server = createServer();
  server.on('upgrade', (req, socket, head) => {
    const host = nextHost as FakeHost;
    wss.handleUpgrade(req, socket, head, (ws) => {
      host.session = new DeviceSession(ws, socket, host.entry, host, 'test');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  for (const ws of clients) ws.terminate();
  server.closeAllConnections();
  server.close();
  await once(server, 'close');
});

let rowid = 0;
function newHost(lastSeq = 0, helloTimeout = 5_000): FakeHost {
  const id = `dev-${++rowid}`;
  const fleet = new Fleet([], { pendingCommands: () => 0 });
  const entry = fleet.add({
    rowid,
    id,
    name: null,
    model: null,
    firmware: null,
    tags: [],
    secretHash: new Uint8Array(32),
    createdAt: 0,
    revokedAt: null,
    boot: null,
    lastSeen: null,
    rtt: null,
    lastSeq,
    caps: [],
  });
  return new FakeHost(entry, helloTimeout);
}

/** A device end: sends uplinks, reads downlinks in order. */
class Device {
  private readonly inbox: DownlinkMessage[] = [];
  private waiting: ((m: DownlinkMessage) => void) | undefined;
  readonly closed: Promise<number>;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const r = decode(data, { accept: 'downlink' });
      assert.ok(r.ok, 'the hub sends only valid downlinks');
      const w = this.waiting;
      this.waiting = undefined;
      if (w) w(r.message as DownlinkMessage);
      else this.inbox.push(r.message as DownlinkMessage);
    });
    this.closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
  }

  send(m: UplinkMessage): void {
    this.ws.send(encode(m));
  }

  next(): Promise<DownlinkMessage> {
    const m = this.inbox.shift();
    if (m !== undefined) return Promise.resolve(m);
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  get unread(): number {
    return this.inbox.length;
  }
}

async function connect(host: FakeHost): Promise<Device> {
  nextHost = host;
  const ws = new WebSocket(url, DEVICE_SUBPROTOCOL);
  clients.add(ws);
  const device = new Device(ws);
  await once(ws, 'open');
  return device;
}

const hello: Hello = { type: MessageType.Hello, proto: PROTOCOL_VERSION, fw: '1.0.0', model: 'test' };

async function opened(lastSeq = 0): Promise<{ host: FakeHost; device: Device }> {
  const host = newHost(lastSeq);
  const device = await connect(host);
  device.send(hello);
  const welcome = await device.next();
  assert.equal(welcome.type, MessageType.Welcome);
  return { host, device };
}

/** Waits for a condition the host's calls make true, turn by turn (no fixed sleep). */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setImmediate(r));
}

const telemetry = (seq: number): UplinkMessage => ({ type: MessageType.Telemetry, seq, pack: [{ n: 'temp', v: seq }] });

describe('DeviceSession', () => {
  it('hands HELLO to the host, which answers WELCOME with the durable seq', async () => {
    const { host, device } = await opened(7);
    assert.equal(host.opened.length, 1);
    assert.equal(host.opened[0]?.fw, '1.0.0');
    assert.ok(host.session?.isOpen);
    device.ws.close(1000);
    await host.endedOnce;
    assert.deepEqual(host.ended, [{ wasOpen: true, reason: 'closed', code: 1000 }]);
  });

  it('stores new frames through the host and acknowledges only after the commit', async () => {
    const { host, device } = await opened();
    device.send(telemetry(1));
    device.send(telemetry(2));
    await until(() => host.ingested.length === 2);
    assert.deepEqual(
      host.ingested.map((m) => (m as { seq: number }).seq),
      [1, 2],
    );
    assert.equal(host.entry.acceptedSeq, 2);
    // A resend of a frame accepted but not yet durable: neither stored again nor acknowledged.
    const before = await duplicates();
    device.send(telemetry(2));
    while ((await duplicates()) === before) await new Promise((r) => setImmediate(r));
    assert.equal(host.ingested.length, 2);
    assert.equal(device.unread, 0, 'nothing is acknowledged before the commit');
    host.commitAll();
    host.sendAck();
    assert.deepEqual(await device.next(), { type: MessageType.Ack, seq: 2 });
    // A resend of a durable frame is acknowledged at once, by the session itself.
    device.send(telemetry(1));
    assert.deepEqual(await device.next(), { type: MessageType.Ack, seq: 2 });
    assert.equal(host.ingested.length, 2);
    device.ws.close(1000);
    await host.endedOnce;
  });

  it('passes command answers to the host', async () => {
    const { host, device } = await opened();
    device.send({ type: MessageType.CmdAccepted, id: 'c1' });
    device.send({ type: MessageType.CmdResult, id: 'c1', status: CommandStatus.Succeeded });
    await until(() => host.results.length === 1);
    assert.deepEqual(host.accepted, ['c1']);
    assert.equal(host.results[0]?.type, MessageType.CmdResult);
    device.ws.close(1000);
    await host.endedOnce;
  });

  it('answers anything before HELLO with ERROR, then closes; the host never sees it open', async () => {
    const host = newHost();
    const device = await connect(host);
    device.send(telemetry(1));
    const error = await device.next();
    assert.equal(error.type, MessageType.Error);
    assert.equal((error as { code: number }).code, CloseCode.Malformed);
    assert.equal(await device.closed, CloseCode.Malformed);
    await host.endedOnce;
    assert.equal(host.opened.length, 0);
    assert.equal(host.ingested.length, 0);
    assert.deepEqual(host.ended, [{ wasOpen: false, reason: 'malformed', code: CloseCode.Malformed }]);
  });

  it('refuses a frame the host will not admit, naming its seq, before storing anything', async () => {
    const { host, device } = await opened();
    host.refuseTelemetry = 'series limit';
    device.send(telemetry(1));
    const error = await device.next();
    assert.deepEqual(error, { type: MessageType.Error, code: CloseCode.Malformed, message: 'series limit', seq: 1 });
    assert.equal(await device.closed, CloseCode.Malformed);
    assert.equal(host.ingested.length, 0);
    assert.equal(host.entry.acceptedSeq, 0);
  });

  it('holds an ERROR until the frames before it are durable, and sends their ACK first', async () => {
    const { host, device } = await opened();
    device.send(telemetry(1));
    await until(() => host.ingested.length === 1);
    device.ws.send('not CBOR');
    // Refusing: the session stopped reading while its ERROR waits.
    await until(() => host.session?.ws.isPaused ?? false);
    assert.equal(device.unread, 0, 'the ERROR waits for the commit');
    host.commitAll();
    assert.deepEqual(await device.next(), { type: MessageType.Ack, seq: 1 });
    const error = await device.next();
    assert.equal(error.type, MessageType.Error);
    assert.equal((error as { code: number }).code, CloseCode.Malformed);
    assert.equal(await device.closed, CloseCode.Malformed);
    await host.endedOnce;
    assert.deepEqual(host.ended, [{ wasOpen: true, reason: 'malformed', code: CloseCode.Malformed }]);
  });

  it('closes a connection that sends no HELLO in time', async () => {
    const host = newHost(0, 50);
    const device = await connect(host);
    const error = await device.next();
    assert.equal((error as { code: number }).code, CloseCode.HelloTimeout);
    assert.equal(await device.closed, CloseCode.HelloTimeout);
    await host.endedOnce;
    assert.deepEqual(host.ended, [{ wasOpen: false, reason: 'hello_timeout', code: CloseCode.HelloTimeout }]);
  });
});

async function duplicates(): Promise<number> {
  return (await metrics.duplicates.get()).values.reduce((a, v) => a + v.value, 0);
}
