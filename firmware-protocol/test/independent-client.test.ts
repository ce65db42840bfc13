// A device client written from SPEC.md alone, as an outside firmware author would:
// plain `ws` and a general CBOR library (cbor-x, set up as SPEC.md Appendix B, 9
// says), none of this package's codec. It runs against a real hub process (the built
// hub/dist/src/main.js, like an operator's, on 127.0.0.1 and port 0) and does what
// firmware does: telemetry resent across a broken link and stored once (§5.5), and a
// firmware update (§12) with a disconnect in the middle resumed at its offset, the
// SHA-256 and Ed25519 signature checked with the key from the HTTP API (§12.8), the
// reboot into the new version reported in HELLO, and an operator's cancel. If the spec
// and the hub drift apart, this fails where the reference codec's own tests would not.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { Decoder, Encoder } from 'cbor-x';
import WebSocket from 'ws';

// SPEC.md Appendix B, 9: plain integers for 8-byte heads, no tag 259 on maps, no tag 64 on bytes.
// (Options this version of cbor-x reads but does not declare in its types.)
const encOptions = { useRecords: false, mapsAsObjects: true, tagUint8Array: false, useTag259ForMaps: false, variableMapSize: true };
const decOptions = { useRecords: false, mapsAsObjects: true, int64AsNumber: true };
const enc = new Encoder(encOptions);
const dec = new Decoder(decOptions);
const HUB_MAIN = new URL('../../hub/dist/src/main.js', import.meta.url).pathname;
const PASSWORD = 'independent-client-pw';
const MODEL = 'indie-t1';
// biome-ignore lint/suspicious/noExplicitAny: a client decodes whatever the hub sends
type Msg = any[];
// biome-ignore lint/suspicious/noExplicitAny: the HTTP API's JSON answers
type Json = any;

/** The device's non-volatile memory: it outlives connections and reboots. */
interface Flash {
  fw: string;
  seq: number;
  /** Sequenced messages not yet acknowledged: [type, seq, body]. */
  unacked: [number, number, unknown][];
  update: {
    job: string;
    size: number;
    sha256: Buffer;
    sig: Buffer | undefined;
    fw: string;
    chunk: number;
    state: number;
    held: Buffer[];
  } | null;
}

/** One connection of the device: HELLO, WELCOME, resend, and what the hub sent. */
class Link {
  readonly got: Msg[] = [];
  private readonly waiters = new Set<() => void>();
  readonly ws: WebSocket;
  constructor(
    url: string,
    token: string,
    readonly flash: Flash,
  ) {
    this.ws = new WebSocket(`${url}/v1/device`, 'halyard.v1', { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
    this.ws.on('open', () => {
      const u = flash.update;
      const held = u === null ? 0 : u.held.reduce((n, b) => n + b.length, 0);
      this.send([1, { proto: 1, fw: flash.fw, model: MODEL, caps: ['ota'], ...(u === null ? {} : { update: { job: u.job, held } }) }]);
    });
    this.ws.on('message', (data: Buffer) => {
      const m = dec.decode(data) as Msg;
      if (m[0] === 2) {
        // §5.5: drop what the hub holds, resend the rest in order.
        flash.unacked = flash.unacked.filter(([, seq]) => seq > m[1].acked);
        for (const e of flash.unacked) this.send(e);
      }
      if (m[0] === 4) flash.unacked = flash.unacked.filter(([, seq]) => seq > m[1]);
      this.got.push(m);
      for (const w of [...this.waiters]) w();
    });
    this.ws.on('close', () => {
      this.got.push(['closed']);
      for (const w of [...this.waiters]) w();
    });
  }
  send(m: unknown[]): void {
    this.ws.send(enc.encode(m));
  }
  /** A sequenced message (§5.5): buffered until acknowledged. */
  sendSeq(type: number, body: unknown): number {
    const e: [number, number, unknown] = [type, ++this.flash.seq, body];
    this.flash.unacked.push(e);
    this.send(e);
    return e[1];
  }
  status(job: string, state: number, extra: Record<string, number> = {}): number {
    return this.sendSeq(14, { job, state, ...extra });
  }
  waitFor(pred: (m: Msg) => boolean, from = 0): Promise<Msg> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no such message; got ${JSON.stringify(this.got.map((m) => m[0]))}`)), 10_000);
      const w = () => {
        const m = this.got.slice(from).find(pred);
        if (m === undefined) return;
        clearTimeout(timer);
        this.waiters.delete(w);
        resolve(m);
      };
      this.waiters.add(w);
      w();
    });
  }
  drained(): Promise<Msg> {
    return this.waitFor(() => this.flash.unacked.length === 0);
  }
  /** A broken link: no close frame. */
  async cut(): Promise<void> {
    this.ws.terminate();
    await this.waitFor((m) => m[0] === 'closed');
  }
}

/**
 * Downloads the offered image from where the flash leaves off, 4 requests in flight,
 * until `stopAt` bytes are held (then leaves the rest outstanding) or the whole image.
 */
async function download(link: Link, stopAt = Number.POSITIVE_INFINITY): Promise<number> {
  const u = link.flash.update;
  assert.ok(u);
  const length = Math.min(u.chunk, 4096);
  let held = u.held.reduce((n, b) => n + b.length, 0);
  const firstOffset = held;
  let next = held;
  const ask = () => {
    if (next >= u.size || held >= stopAt) return;
    link.send([12, u.job, next, Math.min(length, u.size - next)]);
    next += length;
  };
  for (let i = 0; i < 4; i++) ask();
  while (held < Math.min(u.size, stopAt)) {
    const c = await link.waitFor((m) => m[0] === 13 && m[1] === u.job && m[2] === held);
    u.held.push(Buffer.from(c[3]));
    held += c[3].length;
    ask();
  }
  return firstOffset;
}

describe('an independent client from SPEC.md against a real hub', () => {
  let hub: ChildProcess;
  let dir: string;
  let base: string;
  let wsUrl: string;
  let admin: string;
  let token: string;
  let publicKey: Buffer;
  const flash: Flash = { fw: '1.0.0', seq: 0, unacked: [], update: null };

  const api = async (method: string, path: string, body?: unknown) => {
    const binary = Buffer.isBuffer(body);
    const res = await fetch(`${base}/api/v1${path}`, {
      method,
      headers: {
        ...(admin ? { authorization: `Bearer ${admin}` } : {}),
        ...(body === undefined ? {} : { 'content-type': binary ? 'application/octet-stream' : 'application/json' }),
      },
      ...(body === undefined ? {} : { body: binary ? body : JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Json };
  };
  const upload = async (version: string, image: Buffer) => {
    const r = await api('POST', `/firmware?model=${MODEL}&version=${version}`, image);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.id as string;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'halyard-indie-'));
    hub = spawn(
      process.execPath,
      [
        HUB_MAIN,
        '--host',
        '127.0.0.1',
        '--port',
        '0',
        '--mqtt-port',
        '0',
        '--data-dir',
        dir,
        '--admin-password',
        PASSWORD,
        '--log-format',
        'json',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const port = await new Promise<number>((resolve, reject) => {
      hub.once('exit', (code) => reject(new Error(`hub exited ${code}`)));
      createInterface({ input: hub.stdout as NodeJS.ReadableStream }).on('line', (line) => {
        if (line.includes('"listening"')) resolve((JSON.parse(line) as { port: number }).port);
      });
    });
    base = `http://127.0.0.1:${port}`;
    wsUrl = `ws://127.0.0.1:${port}`;
    admin = (await api('POST', '/login', { username: 'admin', password: PASSWORD })).body.token;
    token = (await api('POST', '/devices', { id: 'indie-1' })).body.token;
    publicKey = Buffer.from((await api('GET', '/firmware/signing-key')).body.publicKey, 'base64');
  });
  after(async () => {
    hub.kill('SIGTERM');
    if (hub.exitCode === null) await once(hub, 'exit');
    rmSync(dir, { recursive: true, force: true });
  });

  it('§5.5: telemetry cut off before its ACK is resent after WELCOME and stored once', async () => {
    let link = new Link(wsUrl, token, flash);
    await link.waitFor((m) => m[0] === 2);
    for (let v = 1; v <= 3; v++)
      link.sendSeq(3, [
        new Map<number, unknown>([
          [0, 'temp'],
          [1, 'Cel'],
          [2, v + 0.5],
        ]),
      ]);
    await link.drained();
    for (let v = 4; v <= 5; v++)
      link.sendSeq(3, [
        new Map<number, unknown>([
          [0, 'temp'],
          [2, v + 0.5],
        ]),
      ]);
    await link.cut();
    link = new Link(wsUrl, token, flash);
    await link.drained();
    const series = (await api('GET', '/devices/indie-1/telemetry?name=temp')).body.series as { points: { v: number }[] }[];
    assert.deepEqual(
      series[0]?.points.map((p) => p.v).sort((a, b) => a - b), // points of the same millisecond come in any order
      [1.5, 2.5, 3.5, 4.5, 5.5],
    );
    await link.cut();
  });

  it('§12: an update resumed at its offset after a cut, verified, and confirmed by HELLO on the new version', async () => {
    const image = randomBytes(60_000);
    const firmware = await upload('1.1.0', image);
    let link = new Link(wsUrl, token, flash);
    await link.waitFor((m) => m[0] === 2);
    const job = (await api('POST', '/devices/indie-1/update', { firmware })).body.id as string;
    const [, offer] = await link.waitFor((m) => m[0] === 11);
    assert.deepEqual(
      [offer.job, offer.model, offer.fw, offer.size, offer.sha256.length, offer.sig?.length],
      [job, MODEL, '1.1.0', 60_000, 32, 64],
    );
    flash.update = {
      job,
      size: offer.size,
      sha256: Buffer.from(offer.sha256),
      sig: Buffer.from(offer.sig),
      fw: offer.fw,
      chunk: offer.chunk,
      state: 1,
      held: [],
    };
    link.status(job, 1, { progress: 0 });
    await download(link, 20_000);
    await link.cut();

    // §12.4: HELLO says what the device holds; the hub offers the same job again; the download goes on from there.
    link = new Link(wsUrl, token, flash);
    const held = flash.update.held.reduce((n, b) => n + b.length, 0);
    assert.equal((await link.waitFor((m) => m[0] === 11))[1].job, job);
    link.status(job, 1, { progress: held });
    assert.equal(await download(link), held, 'resumed at the offset held');

    // §12.8: size, SHA-256, then the signature over the signed bytes, with the key from the API.
    const got = Buffer.concat(flash.update.held);
    assert.equal(got.length, offer.size);
    assert.deepEqual(createHash('sha256').update(got).digest(), flash.update.sha256);
    const size = Buffer.alloc(8);
    size.writeBigUInt64BE(BigInt(offer.size));
    const signed = Buffer.concat([Buffer.from(`halyard-firmware-v1\0${MODEL}\0${offer.fw}\0`), size, flash.update.sha256]);
    const key = createPublicKey({
      key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), publicKey]),
      format: 'der',
      type: 'spki',
    });
    assert.ok(verify(null, signed, key, flash.update.sig as Buffer), 'the signature verifies');
    for (const s of [2, 3, 4, 5]) link.status(job, s, { progress: offer.size });
    await link.drained();
    await link.cut();

    // The reboot: the new image says HELLO with its version (and the job, until it reports the outcome, §5.1).
    flash.fw = '1.1.0';
    link = new Link(wsUrl, token, flash);
    await link.waitFor((m) => m[0] === 2);
    link.status(job, 6, { progress: offer.size });
    flash.update = null;
    await link.drained();
    const u = (await api('GET', `/updates/${job}`)).body;
    assert.deepEqual([u.state, u.toFw, u.progress], ['succeeded', '1.1.0', 60_000]);
    assert.equal(link.got.filter((m) => m[0] === 11 || m[0] === 16).length, 0, 'no offer and no cancel after the deciding HELLO');
    await link.cut();
  });

  it('§12.9: an operator cancel reaches the device, which drops the job and reports cancelled', async () => {
    const firmware = await upload('1.2.0', randomBytes(40_000));
    const link = new Link(wsUrl, token, flash);
    await link.waitFor((m) => m[0] === 2);
    const job = (await api('POST', '/devices/indie-1/update', { firmware })).body.id as string;
    const [, offer] = await link.waitFor((m) => m[0] === 11);
    flash.update = {
      job,
      size: offer.size,
      sha256: Buffer.from(offer.sha256),
      sig: Buffer.from(offer.sig),
      fw: offer.fw,
      chunk: offer.chunk,
      state: 1,
      held: [],
    };
    link.status(job, 1, { progress: 0 });
    await download(link, 8_000);
    assert.equal((await api('POST', `/updates/${job}/cancel`)).status, 200);
    assert.equal((await link.waitFor((m) => m[0] === 16))[1], job);
    link.status(job, 9, { progress: flash.update.held.reduce((n, b) => n + b.length, 0) });
    flash.update = null;
    await link.drained();
    assert.equal((await api('GET', `/updates/${job}`)).body.state, 'cancelled');
    link.ws.close(1000);
    await link.waitFor((m) => m[0] === 'closed');
  });
});
