// Hostile clients of firmware updates (docs/firmware.md, SPEC.md §12), each found by a
// red-team pass over real sockets: a device that asks for chunks and never reads
// them, uploads cut off mid-body. Each case names the defect it guards against.

import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CloseCode, encode, type Message, MessageType, UPDATE_STATE_NAMES } from '@halyard/firmware-protocol';
import fc from 'fast-check';
import { TestDevice } from './helpers/device.js';
import { eventually } from './helpers/eventually.js';
import { metricSample, startTestHub, type TestHub } from './helpers/hub.js';
import { testSeed } from './helpers/random.js';
import { frame, RawWs } from './helpers/raw-ws.js';

const MODEL = 'hostile-model';
const IMAGE = Buffer.from(new Uint8Array(200_000).map((_, i) => (i * 13) & 0xff));

describe('hostile firmware clients', () => {
  let t: TestHub;
  let image: string;
  let n = 0;

  async function upload(version: string, body: Uint8Array): Promise<{ status: number; body: { id?: string } }> {
    const res = await fetch(`${t.http}/api/v1/firmware?model=${MODEL}&version=${version}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.api.token}`, 'content-type': 'application/octet-stream' },
      body,
    });
    return { status: res.status, body: (await res.json()) as { id?: string } };
  }

  before(async () => {
    t = await startTestHub();
    const r = await upload('2.0.0', IMAGE);
    assert.equal(r.status, 201);
    image = r.body.id as string;
  });
  after(() => t.close());

  /** Streams a chunked body that never ends to the upload route; the bytes the hub took before it closed the connection. */
  async function endlessUpload(headers: string): Promise<{ status: string; sent: number }> {
    const s = connect(Number(new URL(t.http).port), '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    let answer = '';
    let closed = false;
    s.on('data', (d) => {
      answer += d;
    });
    s.on('close', () => {
      closed = true;
    });
    s.on('error', () => {});
    s.write(
      `POST /api/v1/firmware?model=${MODEL}&version=9.9.9 HTTP/1.1\r\nHost: x\r\n${headers}Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n`,
    );
    const piece = Buffer.concat([Buffer.from('10000\r\n'), Buffer.alloc(65_536, 1), Buffer.from('\r\n')]);
    let sent = 0;
    // Up to 64 MiB, as fast as the hub takes it.
    while (!closed && sent < 64 * 1024 * 1024) {
      if (!s.write(piece))
        await new Promise<void>((r) => {
          s.once('drain', r);
          s.once('close', r);
        });
      sent += piece.length;
    }
    if (!closed) await new Promise((r) => s.once('close', r)).catch(() => {});
    s.destroy();
    return { status: answer.split('\r\n')[0] ?? '', sent };
  }

  it('an anonymous upload is refused and its connection closed, not read to its end past every body limit', {
    timeout: 60_000,
  }, async () => {
    const anonymous = await endlessUpload('');
    assert.match(anonymous.status, / 401 /);
    assert.ok(anonymous.sent < 8 * 1024 * 1024, `${anonymous.sent} bytes read from an anonymous client`);
    const forged = await endlessUpload('Authorization: Bearer not-a-token\r\n');
    assert.match(forged.status, / 401 /);
    assert.ok(forged.sent < 8 * 1024 * 1024, `${forged.sent} bytes read from a client with a bad token`);
  });

  it('a device that asks for chunks and never reads them is closed with 4429, not answered into an unbounded send buffer', async () => {
    const id = `hostile-${++n}`;
    const token = await t.api.provision(id);
    const raw = await RawWs.open(Number(new URL(t.http).port), token);
    const send = (m: Message) => raw.write(frame(2, encode(m)));
    send({ type: MessageType.Hello, proto: 1, fw: '1.0.0', model: MODEL, caps: ['ota'] });
    await raw.until(() => raw.binary.length > 0, 'WELCOME');
    const r = await t.api.post(`/devices/${id}/update`, { firmware: image });
    assert.equal(r.status, 201);
    const job = r.body.id as string;
    await raw.until(() => raw.binary.length > 1, 'the offer');
    // Stop reading: the hub's answers pile up in the kernel, then in the hub.
    raw.socket.pause();
    // The attacker asks for 16 chunks at a time, and for 16 more once the hub has sent
    // those (it paces itself by the hub's public counter), so none waits at the hub's
    // door: up to 32 MiB of answers it never reads.
    const served = () => metricSample(t, 'halyard_firmware_bytes_served_total');
    const ask = (i: number) =>
      frame(2, encode({ type: MessageType.ChunkRequest, job, offset: (i * 16_384) % (IMAGE.length - 16_384), length: 16_384 }));
    const closedForIt = () => t.logs.find((l) => (l as { device?: string }).device === id && l.msg.startsWith('closing device session'));
    const start = await served();
    for (let round = 0; round < 128 && closedForIt() === undefined; round++) {
      raw.write(Buffer.concat(Array.from({ length: 16 }, (_, i) => ask(round * 16 + i))));
      const want = start + (round + 1) * 16 * 16_384;
      await eventually(async () => closedForIt() !== undefined || (await served()) >= want, 'the round answered or the session closed');
    }
    const line = closedForIt();
    assert.ok(line !== undefined, `the hub sent ${(await served()) - start} bytes to a device that reads nothing, and kept its session`);
    assert.equal((line as { code?: number }).code, CloseCode.RateLimited, line.msg);
    assert.ok(
      (await served()) - start < 16 * 1024 * 1024,
      'closed once the kernel holds what it can (about 4 MiB here), long before 16 MiB',
    );
    raw.destroy();
  });

  it('update messages in any order and with any values: handled or refused with a typed ERROR, never 1011, the update left in a valid state', {
    timeout: 120_000,
  }, async () => {
    const u53 = fc.oneof(fc.nat({ max: IMAGE.length + 20_000 }), fc.constantFrom(0, 2 ** 31, 2 ** 32, 2 ** 53 - 1));
    const message = fc.oneof(
      fc.record({
        kind: fc.constant('chunk' as const),
        offset: u53,
        length: fc.oneof(fc.integer({ min: 1, max: 16_384 }), fc.constant(16_385)),
      }),
      fc.record({
        kind: fc.constant('status' as const),
        state: fc.constantFrom(1, 2, 3, 4, 5, 6, 7, 8, 9, 11),
        progress: u53,
        reason: fc.option(fc.oneof(fc.nat({ max: 14 }), fc.constantFrom(2 ** 31, 2 ** 53 - 1)), { nil: undefined }),
        detail: fc.option(fc.string({ minLength: 1, maxLength: 40 }), { nil: undefined }),
        foreign: fc.boolean(),
      }),
    );
    let run = 0;
    const outcomes = { handled: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 8 }), async (messages) => {
        const id = `fuzz-${++run}`;
        const d = await TestDevice.connect(t.ws, await t.api.provision(id), { model: MODEL, fw: '1.0.0', caps: ['ota'] });
        const r = await t.api.post(`/devices/${id}/update`, { firmware: image });
        assert.equal(r.status, 201);
        const job = r.body.id as string;
        await d.waitFor((m) => m.type === MessageType.UpdateOffer);
        for (const m of messages) {
          if (m.kind === 'chunk') d.send({ type: MessageType.ChunkRequest, job, offset: m.offset, length: m.length });
          else
            d.send({
              type: MessageType.UpdateStatus,
              seq: ++d.seq,
              job: m.foreign ? 'u-000000000000' : job,
              state: m.state as 1,
              progress: m.progress,
              ...(m.reason === undefined ? (m.state === 7 || m.state === 8 || m.state === 11 ? { reason: 0 } : {}) : { reason: m.reason }),
              ...(m.detail === undefined ? {} : { detail: m.detail }),
            });
        }
        const seq = d.telemetry([{ n: 'probe', v: 1 }]);
        await d.until(() => d.acked >= seq || d.closed !== undefined, 'the probe ACK or a close');
        if (d.closed === undefined) outcomes.handled++;
        else {
          outcomes.refused++;
          const err = d.error;
          assert.ok(err !== undefined, `closed ${d.closed.code} without an ERROR`);
          assert.ok([CloseCode.Malformed, CloseCode.RateLimited].includes(err.code as 4400), `ERROR ${err.code}: ${err.message}`);
        }
        const u = await t.api.get(`/updates/${job}`);
        assert.equal(u.status, 200);
        assert.ok((UPDATE_STATE_NAMES as readonly string[]).includes(u.body.state), u.body.state);
        await d.close();
        await t.api.delete(`/devices/${id}`);
      }),
      { numRuns: 150, seed: testSeed(0xf1a5) },
    );
    assert.ok(outcomes.handled > 0 && outcomes.refused > 0, JSON.stringify(outcomes));
    assert.equal((await fetch(`${t.http}/healthz`)).status, 200);
    const errors = t.logs.filter((l) => l.level >= 50);
    assert.deepEqual(errors, [], 'no error logged');
  });

  it('an upload cut off mid-body leaves no image behind, and the same version can be uploaded at once', async () => {
    const declared = 150_000;
    await new Promise<void>((resolve) => {
      const req = request(`${t.http}/api/v1/firmware?model=${MODEL}&version=3.0.0`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${t.api.token}`,
          'content-type': 'application/octet-stream',
          'content-length': String(declared),
        },
      });
      req.on('error', () => resolve());
      req.on('response', () => resolve());
      // Past one stored chunk (64 KiB), then the connection drops.
      req.write(IMAGE.subarray(0, 100_000), () => setTimeout(() => req.destroy(), 50));
    });
    const list = await eventually(async () => {
      const l = (await t.api.get(`/firmware?model=${MODEL}`)).body.firmware as { version: string; status: string }[];
      return l.every((f) => f.version !== '3.0.0') && l;
    }, 'the partial upload removed');
    assert.ok(list.every((f) => f.status === 'ready'));
    const again = await upload('3.0.0', IMAGE.subarray(0, 1_000));
    assert.equal(again.status, 201, JSON.stringify(again.body));
  });
});
