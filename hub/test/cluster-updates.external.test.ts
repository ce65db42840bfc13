// Firmware updates in a cluster (docs/firmware.md): two hubs in this process on one
// PostgreSQL and one Redis, each started by the test. An update made through one
// node reaches a device connected to the other, which serves the image from the
// shared store; the first node's API follows the device's statuses; a cancel made on
// one node withdraws the update from a device on the other; and the HELLO with the
// new version decides `succeeded` on whichever node the device comes back to.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Chunk, type DecodedDownlink, MessageType, UpdateState } from '@halyard/firmware-protocol';
import type { Hub } from '../src/hub.js';
import { startClusterNode } from './helpers/cluster-node.js';
import { TestDevice } from './helpers/device.js';
import { eventually } from './helpers/eventually.js';
import type { Api } from './helpers/hub.js';
import { startPostgres, type TestPostgres } from './helpers/postgres.js';
import { startRedis, type TestRedis } from './helpers/redis.js';

const PASSWORD = 'cluster-updates-password';
const MODEL = 'm-cluster';
const IMAGE = Buffer.from(new Uint8Array(40_000).map((_, i) => (i * 13) & 0xff));

interface Node {
  hub: Hub;
  http: string;
  ws: string;
  api: Api;
}

function startNode(id: string, pgUrl: string, redis: TestRedis): Promise<Node> {
  return startClusterNode(id, pgUrl, redis, { password: PASSWORD, logLevel: 'warn' });
}

const isOffer = (m: DecodedDownlink) => m.type === MessageType.UpdateOffer;

describe('firmware updates across cluster nodes', () => {
  let pg: TestPostgres;
  let redis: TestRedis;
  let a: Node;
  let b: Node;
  let image: string;

  before(async () => {
    [pg, redis] = await Promise.all([startPostgres({ fsync: false }), startRedis()]);
    const db = await pg.newDatabase();
    a = await startNode('node-a', db.url, redis);
    b = await startNode('node-b', db.url, redis);
    const res = await fetch(`${a.http}/api/v1/firmware?model=${MODEL}&version=2.0.0`, {
      method: 'POST',
      headers: { authorization: `Bearer ${a.api.token}`, 'content-type': 'application/octet-stream' },
      body: IMAGE,
    });
    assert.equal(res.status, 201);
    image = ((await res.json()) as { id: string }).id;
  });
  after(async () => {
    await Promise.all([a, b].map((n) => n?.hub.close()));
    await redis?.stop();
    await pg?.stop();
  });

  /** A device provisioned on node A, connected to `node` once that node knows it. */
  async function deviceOn(id: string, node: Node, fw = '1.0.0'): Promise<{ d: TestDevice; token: string }> {
    const token = await a.api.provision(id);
    const d = await eventually(
      () => TestDevice.connect(node.ws, token, { model: MODEL, fw, caps: ['ota'] }).catch(() => undefined),
      `${id} connected to the other node`,
    );
    return { d, token };
  }

  it('an update made on node A is offered by node B, which serves the image; A follows the statuses', async () => {
    const { d } = await deviceOn('cl-1', b);
    const started = await a.api.post('/devices/cl-1/update', { firmware: image });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const job = started.body.id as string;
    await d.waitFor(isOffer, 10_000);
    d.send({ type: MessageType.ChunkRequest, job, offset: 30_000, length: 10_000 });
    const chunk = (await d.waitFor((m) => m.type === MessageType.Chunk)) as Chunk;
    assert.deepEqual(Buffer.from(chunk.data), IMAGE.subarray(30_000, 40_000));
    const seq = ++d.seq;
    d.send({ type: MessageType.UpdateStatus, seq, job, state: UpdateState.Downloading, progress: 20_000 });
    await d.waitAck(seq);
    const seen = await a.api.get(`/updates/${job}`);
    assert.deepEqual([seen.body.state, seen.body.progress], ['downloading', 20_000]);

    // Cancelled on A: B withdraws it from the device.
    assert.equal((await a.api.post(`/updates/${job}/cancel`)).status, 200);
    const cancel = await d.waitFor((m) => m.type === MessageType.UpdateCancel, 10_000);
    assert.equal((cancel as { job: string }).job, job);
    await d.close();
  });

  it('the HELLO with the new version decides succeeded on the node the device comes back to', async () => {
    const { d, token } = await deviceOn('cl-2', a);
    const started = await a.api.post('/devices/cl-2/update', { firmware: image });
    const job = started.body.id as string;
    await d.waitFor(isOffer);
    for (const state of [
      UpdateState.Downloading,
      UpdateState.Downloaded,
      UpdateState.Verifying,
      UpdateState.Installing,
      UpdateState.Rebooting,
    ])
      d.send({ type: MessageType.UpdateStatus, seq: ++d.seq, job, state, progress: IMAGE.length });
    await d.waitAck(d.seq);
    await d.close();
    const back = await TestDevice.connect(b.ws, token, { model: MODEL, fw: '2.0.0', caps: ['ota'] });
    await eventually(async () => ((await b.api.get(`/updates/${job}`)).body.state === 'succeeded' ? true : undefined), 'succeeded', 10_000);
    await back.close();
  });
});
