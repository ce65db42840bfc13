// The series limit (--max-series-per-device, SPEC.md §9) across a cluster: a device
// that moves between two nodes (in this process, on one PostgreSQL and one Redis)
// is counted with every series it made on either, on every move, not only the
// first: node B must not keep the count it had before the device went to A.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CloseCode, MessageType } from '@halyard/firmware-protocol';
import { type InProcessNode, startClusterNode } from './helpers/cluster-node.js';
import { TestDevice } from './helpers/device.js';
import { startPostgres, type TestPostgres } from './helpers/postgres.js';
import { startRedis, type TestRedis } from './helpers/redis.js';

const PASSWORD = 'cluster-series-password';
const LIMIT = 5;

function startNode(id: string, pgUrl: string, redis: TestRedis): Promise<InProcessNode> {
  return startClusterNode(id, pgUrl, redis, {
    password: PASSWORD,
    flags: ['--max-series-per-device', String(LIMIT)],
    logLevel: 'silent',
  });
}

describe('cluster: the series limit of a device that moves', () => {
  let pg: TestPostgres;
  let redis: TestRedis;
  let a: Awaited<ReturnType<typeof startNode>>;
  let b: Awaited<ReturnType<typeof startNode>>;

  before(async () => {
    [pg, redis] = await Promise.all([startPostgres({ fsync: false }), startRedis()]);
    const db = await pg.newDatabase();
    a = await startNode('node-a', db.url, redis);
    b = await startNode('node-b', db.url, redis);
  });

  after(async () => {
    await Promise.all([a, b].map((n) => n?.hub.close()));
    await redis?.stop();
    await pg?.stop();
  });

  it('B -> A -> B: B counts the series made on A, so the frame past the limit is refused', async () => {
    const token = await a.api.provision('mover');
    const send = async (url: string, names: string[]) => {
      const d = await TestDevice.connect(url, token);
      await d.waitAck(d.telemetry(names.map((n) => ({ n, v: 1 }))));
      return d;
    };
    // On B: 2 series (B counts them); on A: 2 more (A reads the 2 from PostgreSQL at its claim).
    let d = await send(b.ws, ['s1', 's2']);
    await d.close();
    d = await send(a.ws, ['s3', 's4']);
    await d.close();
    // Back on B: 4 series. The fifth is the last the limit allows; a sixth is one too many.
    d = await send(b.ws, ['s5']);
    const refused = d.telemetry([{ n: 's6', v: 1 }]);
    const closed = await d.waitClosed();
    assert.equal(closed.code, CloseCode.Malformed);
    const error = d.received.find((m) => m.type === MessageType.Error) as { seq?: number; message: string } | undefined;
    assert.equal(error?.seq, refused);
    assert.match(error?.message ?? '', /series limit: the device has 5 metrics/);
    const latest = await b.api.get('/devices/mover/telemetry/latest');
    assert.deepEqual(latest.body.metrics.map((m: { name: string }) => m.name).sort(), ['s1', 's2', 's3', 's4', 's5']);
  });
});
