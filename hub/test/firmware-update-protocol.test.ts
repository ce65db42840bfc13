// SPEC.md §12 statements about the hub's side of firmware updates, checked byte by
// byte with a protocol-speaking test device (the simulator's full updates run in
// bench/test/firmware-update.test.ts): who is offered, what the offer holds, how
// chunk requests are answered and bounded, UPDATE_STATUS in the sequence space,
// succeeded and rolled_back from HELLO, UPDATE_CANCEL for a job that is over, and
// the step timeouts with the retry limit. Runs on both stores.

import assert from 'node:assert/strict';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  type Chunk,
  CloseCode,
  type DecodedDownlink,
  MessageType,
  signedBytes,
  type UpdateOffer,
  UpdateState,
} from '@halyard/firmware-protocol';
import { TestDevice } from './helpers/device.js';
import { eventually } from './helpers/eventually.js';
import { metricSample, startTestHub, type TestHub } from './helpers/hub.js';

const MODEL = 'ota-model';
const IMAGE = Buffer.from(new Uint8Array(100_000).map((_, i) => (i * 7) & 0xff));
const OTA = ['ota'];

const isOffer = (m: DecodedDownlink): m is UpdateOffer => m.type === MessageType.UpdateOffer;

describe('SPEC.md §12: the hub side of firmware updates', () => {
  let t: TestHub;
  let image: string;
  let n = 0;

  /** A provisioned device, connected with `caps`; its id. */
  async function connected(caps: string[] = OTA, fw = '1.0.0'): Promise<{ id: string; token: string; d: TestDevice }> {
    const id = `ota-${++n}`;
    const token = await t.api.provision(id);
    const d = await TestDevice.connect(t.ws, token, { model: MODEL, fw, caps });
    return { id, token, d };
  }

  async function startUpdate(id: string): Promise<string> {
    const r = await t.api.post(`/devices/${id}/update`, { firmware: image });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.id as string;
  }

  /** A round trip: once the ACK of this telemetry is back, everything the hub sent before it has arrived. */
  async function roundTrip(d: TestDevice): Promise<void> {
    const seq = d.telemetry([{ n: 'x', v: 1 }]);
    await d.until(() => d.acked >= seq, `ACK ${seq}`);
  }

  const state = async (u: string) =>
    (await t.api.get(`/updates/${u}`)).body as { state: string; progress: number; attempts: number; reason: string | null };

  before(async () => {
    t = await startTestHub();
    const res = await fetch(`${t.http}/api/v1/firmware?model=${MODEL}&version=2.0.0`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.api.token}`, 'content-type': 'application/octet-stream' },
      body: IMAGE,
    });
    image = ((await res.json()) as { id: string }).id;
  });
  after(() => t.close());

  it('§12.1: a device that does not list ota is not offered updates', async () => {
    const { id, d } = await connected(['commands']);
    await startUpdate(id);
    await roundTrip(d);
    assert.equal(d.received.filter(isOffer).length, 0);
    await d.close();
  });

  it('§12.2, §12.8: the offer holds the job, model, version, size, SHA-256, chunk and a signature over the signed bytes', async () => {
    const { id, d } = await connected();
    const job = await startUpdate(id);
    const offer = (await d.waitFor(isOffer)) as UpdateOffer;
    const sha256 = createHash('sha256').update(IMAGE).digest();
    assert.equal(offer.job, job);
    assert.equal(offer.model, MODEL);
    assert.equal(offer.fw, '2.0.0');
    assert.equal(offer.size, IMAGE.length);
    assert.deepEqual(Buffer.from(offer.sha256), sha256);
    assert.equal(offer.chunk, 16_384);
    const key = createPublicKey((await t.api.get('/firmware/signing-key')).body.pem);
    assert.ok(
      offer.sig !== undefined && verify(null, signedBytes({ model: MODEL, fw: '2.0.0', size: IMAGE.length, sha256 }), key, offer.sig),
    );
    await d.close();
  });

  it('§12.3: chunks are the image bytes asked for, answered in order; a request past the image is refused with 4400', async () => {
    const { id, d } = await connected();
    const job = await startUpdate(id);
    await d.waitFor(isOffer);
    const asks = [
      [90_000, 10_000],
      [0, 16_384],
      [65_530, 100],
    ] as const;
    for (const [offset, length] of asks) d.send({ type: MessageType.ChunkRequest, job, offset, length });
    await d.until(() => d.received.filter((m) => m.type === MessageType.Chunk).length === 3, 'three chunks');
    const chunks = d.received.filter((m): m is Chunk => m.type === MessageType.Chunk);
    assert.deepEqual(
      chunks.map((c) => c.offset),
      asks.map(([o]) => o),
      'answered in the order asked',
    );
    for (const c of chunks) assert.deepEqual(Buffer.from(c.data), IMAGE.subarray(c.offset, c.offset + c.data.length));
    assert.equal(chunks[2]?.data.length, 100, 'a range across two stored rows');
    assert.ok((await metricSample(t, 'halyard_firmware_bytes_served_total')) >= 26_484, 'the bytes served are counted');
    d.send({ type: MessageType.ChunkRequest, job, offset: 99_990, length: 11 });
    const closed = await d.waitClosed();
    assert.equal(closed.code, CloseCode.Malformed);
    assert.match(d.error?.message ?? '', /past the image/);
  });

  it('§12.3: more than 16 outstanding CHUNK_REQUESTs end the session with 4429', async () => {
    const { id, d } = await connected();
    const job = await startUpdate(id);
    await d.waitFor(isOffer);
    // In one TCP write, as a device pipelining too far would: the hub reads all 17 before it answers any.
    const socket = (d.ws as unknown as { _socket: import('node:net').Socket })._socket;
    socket.cork();
    for (let i = 0; i < 17; i++) d.send({ type: MessageType.ChunkRequest, job, offset: i * 1_000, length: 1_000 });
    socket.uncork();
    assert.equal((await d.waitClosed()).code, CloseCode.RateLimited);
  });

  it('§12.5: UPDATE_STATUS is acknowledged after commit and applied once; a resend does not apply again', async () => {
    const { id, d } = await connected();
    const job = await startUpdate(id);
    await d.waitFor(isOffer);
    const seq = ++d.seq;
    d.send({ type: MessageType.UpdateStatus, seq, job, state: UpdateState.Downloading, progress: 4_096 });
    await d.until(() => d.acked >= seq, 'the ACK');
    assert.deepEqual([(await state(job)).state, (await state(job)).progress], ['downloading', 4_096]);
    // The same seq again with other contents is a duplicate: acknowledged, not applied.
    d.send({ type: MessageType.UpdateStatus, seq, job, state: UpdateState.Downloading, progress: 99_999 });
    await roundTrip(d);
    assert.equal((await state(job)).progress, 4_096);
    await d.close();
  });

  it('§12.5: the device saying succeeded is not enough; the HELLO with the new version is', async () => {
    const { id, token, d } = await connected();
    const job = await startUpdate(id);
    await d.waitFor(isOffer);
    const seq = ++d.seq;
    d.send({ type: MessageType.UpdateStatus, seq, job, state: UpdateState.Succeeded, progress: IMAGE.length });
    await d.until(() => d.acked >= seq, 'the ACK');
    assert.equal((await state(job)).state, 'offered');
    await d.close();
    const back = await TestDevice.connect(t.ws, token, { model: MODEL, fw: '2.0.0', caps: OTA });
    await eventually(async () => ((await state(job)).state === 'succeeded' ? true : undefined), 'succeeded');
    assert.ok((await metricSample(t, 'halyard_updates_finished_total{state="succeeded"}')) >= 1);
    await back.close();
  });

  it('§12.5: coming back on the old version after rebooting is rolled_back; the device’s report adds the reason', async () => {
    const { id, token, d } = await connected();
    const job = await startUpdate(id);
    await d.waitFor(isOffer);
    for (const s of [UpdateState.Downloaded, UpdateState.Verifying, UpdateState.Installing, UpdateState.Rebooting])
      d.send({ type: MessageType.UpdateStatus, seq: ++d.seq, job, state: s, progress: IMAGE.length });
    await d.until(() => d.acked >= d.seq, 'the ACKs');
    await d.close();
    const back = await TestDevice.connect(t.ws, token, { model: MODEL, fw: '1.0.0', caps: OTA });
    await eventually(async () => ((await state(job)).state === 'rolled_back' ? true : undefined), 'rolled_back');
    back.seq = back.welcome?.acked ?? 0;
    back.send({ type: MessageType.UpdateStatus, seq: ++back.seq, job, state: UpdateState.RolledBack, reason: 12 });
    await back.until(() => back.acked >= back.seq, 'the ACK');
    assert.equal((await state(job)).reason, 'boot_failed');
    await roundTrip(back);
    assert.equal(back.received.filter(isOffer).length, 0, 'a rolled back update is not offered again');
    await back.close();
  });

  it('§12.4, §12.9: a HELLO naming a job that is over gets UPDATE_CANCEL; an open one is offered again', async () => {
    const { id, token, d } = await connected();
    const job = await startUpdate(id);
    await d.waitFor(isOffer);
    await d.close();
    const again = await TestDevice.connect(t.ws, token, { model: MODEL, fw: '1.0.0', caps: OTA, update: { job, held: 32_768 } });
    assert.equal(((await again.waitFor(isOffer)) as UpdateOffer).job, job, 'resumed, not cancelled');
    await again.close();
    assert.equal((await t.api.post(`/updates/${job}/cancel`)).status, 200);
    const later = await TestDevice.connect(t.ws, token, { model: MODEL, fw: '1.0.0', caps: OTA, update: { job, held: 32_768 } });
    const cancel = await later.waitFor((m) => m.type === MessageType.UpdateCancel);
    assert.equal((cancel as { job: string }).job, job);
    await later.close();
    // Another update waiting: the cancel of the old job comes before the new offer, so the device is not busy with it.
    const next = await startUpdate(id);
    const third = await TestDevice.connect(t.ws, token, { model: MODEL, fw: '1.0.0', caps: OTA, update: { job, held: 32_768 } });
    await third.waitFor((m) => isOffer(m) && m.job === next);
    assert.deepEqual(
      third.received.filter((m) => m.type === MessageType.UpdateCancel || isOffer(m)).map((m) => [m.type, (m as { job: string }).job]),
      [
        [MessageType.UpdateCancel, job],
        [MessageType.UpdateOffer, next],
      ],
    );
    await third.close();
  });

  it('§12.7: an offer left unanswered counts attempts; after the third the update is timed_out and cancelled', async () => {
    const { id, d } = await connected();
    const job = await startUpdate(id);
    await d.waitFor(isOffer);
    const updates = t.hub.ctx.updates;
    let now = Date.now();
    for (const attempts of [2, 3]) {
      now += 31_000;
      await updates.checkTimeouts(now);
      assert.deepEqual([(await state(job)).state, (await state(job)).attempts], ['offered', attempts]);
    }
    now += 31_000;
    await updates.checkTimeouts(now);
    assert.equal((await state(job)).state, 'timed_out');
    const cancel = await d.waitFor((m) => m.type === MessageType.UpdateCancel);
    assert.equal((cancel as { job: string }).job, job);
    await d.close();
  });

  it('§12.7: the install deadline runs from the first installing; a device repeating installing or rebooting does not push it back', async () => {
    const { id, d } = await connected();
    const job = await startUpdate(id);
    await d.waitFor(isOffer);
    d.send({ type: MessageType.UpdateStatus, seq: ++d.seq, job, state: UpdateState.Installing, progress: IMAGE.length });
    await d.until(() => d.acked >= d.seq, 'the ACK');
    const began = ((await t.api.get(`/updates/${job}`)).body as { updatedAt: number }).updatedAt;
    // Later by the clock (a few ms), the device says it again, and again: a loop, or a device holding its update open.
    await eventually(() => Date.now() > began + 5, 'the clock past the first installing');
    for (const s of [UpdateState.Installing, UpdateState.Rebooting, UpdateState.Installing])
      d.send({ type: MessageType.UpdateStatus, seq: ++d.seq, job, state: s, progress: IMAGE.length });
    await d.until(() => d.acked >= d.seq, 'the ACKs');
    await t.hub.ctx.updates.checkTimeouts(began + 600_001);
    assert.equal((await state(job)).state, 'timed_out', 'ten minutes after the first installing');
    await d.close();
  });

  it('§12.5: past installing, a step back to the download is acknowledged and changes nothing (the deadline and the cancel point hold)', async () => {
    const { id, d } = await connected();
    const job = await startUpdate(id);
    await d.waitFor(isOffer);
    d.send({ type: MessageType.UpdateStatus, seq: ++d.seq, job, state: UpdateState.Rebooting, progress: IMAGE.length });
    await d.until(() => d.acked >= d.seq, 'the ACK');
    const before = (await t.api.get(`/updates/${job}`)).body as { state: string; updatedAt: number };
    assert.equal(before.state, 'rebooting');
    for (const s of [UpdateState.Downloading, UpdateState.Downloaded, UpdateState.Verifying])
      d.send({ type: MessageType.UpdateStatus, seq: ++d.seq, job, state: s, progress: 5 });
    await d.until(() => d.acked >= d.seq, 'the ACKs');
    const after = (await t.api.get(`/updates/${job}`)).body as { state: string; updatedAt: number; progress: number };
    assert.deepEqual([after.state, after.updatedAt, after.progress], ['rebooting', before.updatedAt, IMAGE.length]);
    await t.hub.ctx.updates.checkTimeouts(before.updatedAt + 600_001);
    assert.equal((await state(job)).state, 'timed_out', 'the install deadline still runs from rebooting');
    await d.close();
  });

  it('§12.5: a progress past the image size is read as the whole image', async () => {
    const { id, d } = await connected();
    const job = await startUpdate(id);
    await d.waitFor(isOffer);
    d.send({ type: MessageType.UpdateStatus, seq: ++d.seq, job, state: UpdateState.Downloading, progress: 10 * IMAGE.length });
    await d.until(() => d.acked >= d.seq, 'the ACK');
    const u = (await t.api.get(`/updates/${job}`)).body as { state: string; progress: number };
    assert.deepEqual([u.state, u.progress], ['downloading', IMAGE.length]);
    await d.close();
  });

  it('deleting a device takes its updates with it; the image is no longer in use', async () => {
    const second = await fetch(`${t.http}/api/v1/firmware?model=${MODEL}&version=3.0.0`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.api.token}`, 'content-type': 'application/octet-stream' },
      body: IMAGE,
    });
    const fw = ((await second.json()) as { id: string }).id;
    const { id, d } = await connected();
    const job = (await t.api.post(`/devices/${id}/update`, { firmware: fw })).body.id as string;
    await d.waitFor(isOffer);
    assert.equal((await t.api.delete(`/firmware/${fw}`)).status, 409);
    assert.equal((await t.api.delete(`/devices/${id}`)).status, 204);
    assert.equal((await t.api.get(`/updates/${job}`)).status, 404);
    assert.equal((await t.api.delete(`/firmware/${fw}`)).status, 204);
  });

  it('§12.7: time offline does not count', async () => {
    const { id, token, d } = await connected();
    const job = await startUpdate(id);
    await d.waitFor(isOffer);
    await d.close();
    await eventually(async () => ((await t.api.get(`/devices/${id}`)).body.online === false ? true : undefined), 'offline');
    await t.hub.ctx.updates.checkTimeouts(Date.now() + 3_600_000);
    assert.deepEqual([(await state(job)).state, (await state(job)).attempts], ['offered', 1]);
    const back = await TestDevice.connect(t.ws, token, { model: MODEL, fw: '1.0.0', caps: OTA });
    await back.waitFor(isOffer);
    await back.close();
  });
});
