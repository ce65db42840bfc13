// Fleet jobs in a cluster (docs/jobs.md): the scheduler is singleton work. Two hub
// processes on one PostgreSQL and one Redis (helpers/cluster.ts); a job created
// through the node that does not lead is run by the leader; when the leader is
// killed (SIGKILL, a crash) in the middle, the other node takes the leadership,
// reloads the job from PostgreSQL and completes it, every device once; a job's
// deadline that passes after the leader died is kept by the next leader; a console on
// the other node follows the job's progress live.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConsoleClient } from './console-client.js';
import { startTestCluster, type TestCluster } from './helpers/cluster.js';
import { eventually } from './helpers/eventually.js';
import { Api } from './helpers/hub.js';

const DEVICES = 12;

describe('fleet jobs in a cluster', () => {
  let c: TestCluster;
  before(async () => {
    c = await startTestCluster({ nodes: 2 });
  });
  after(async () => {
    await c?.stop();
  });

  it('a job survives the death of the leader running it', async () => {
    const leads = (i: number) => c.nodes[i]?.hub.stdout.some((l) => l.includes('this node leads the cluster')) === true;
    const leader = await eventually(() => (leads(0) ? 0 : leads(1) ? 1 : undefined), 'a leader');
    const other = 1 - leader;
    const api = (i: number) => new Api(`http://127.0.0.1:${c.nodes[i]?.hub.port}`);
    const follower = api(other);
    await follower.login('admin', c.adminPassword);
    for (let i = 0; i < DEVICES; i++) await follower.provision(`cj-${String(i).padStart(2, '0')}`, { tags: ['cj'] });
    // A console on the node that does not run the scheduler follows the job live (over the cluster bus).
    const watcher = await ConsoleClient.open(`ws://127.0.0.1:${c.nodes[other]?.hub.port}`, { token: follower.token as string });
    watcher.send({ t: 'sub', stream: 'jobs' });
    await watcher.request({ t: 'cancel', command: 'none' });
    // Desired patches need no device online; 120 a minute: one every 0.5 s, time to kill the leader mid-way.
    const created = await follower.post('/jobs', {
      action: { type: 'desired', patch: { mode: 'night' } },
      selection: { tags: ['cj'] },
      rollout: { ratePerMinute: 120 },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id as string;
    await eventually(
      async () => {
        const j = (await follower.get(`/jobs/${id}`)).body;
        return j.counts.succeeded >= 3 ? true : undefined;
      },
      'a few devices done under the first leader',
      20_000,
    );
    await watcher.waitFor((m) => m.t === 'job' && m.job.id === id && m.job.counts.succeeded >= 3, 10_000);
    await watcher.close();
    const before = (await follower.get(`/jobs/${id}`)).body.counts.succeeded as number;
    assert.ok(before < DEVICES, 'killed in the middle');
    // A job whose one device never connects: its deadline passes after the leader is gone.
    const stuck = await follower.post('/jobs', {
      action: { type: 'command', name: 'calibrate' },
      selection: { devices: ['cj-00'] },
      deadline: '5s',
    });
    assert.equal(stuck.status, 201, JSON.stringify(stuck.body));
    await c.kill(leader);
    const killedAt = Date.now();
    const done = await eventually(
      async () => {
        const j = (await follower.get(`/jobs/${id}`)).body;
        return j.state === 'completed' ? j : undefined;
      },
      'the job completed by the new leader',
      30_000,
    );
    assert.ok(leads(other), 'the surviving node took the leadership');
    assert.deepEqual(done.counts, { pending: 0, in_progress: 0, succeeded: DEVICES, failed: 0, skipped: 0, cancelled: 0, timed_out: 0 });
    const timedOut = await eventually(
      async () => {
        const j = (await follower.get(`/jobs/${stuck.body.id}`)).body;
        return j.state === 'timed_out' ? j : undefined;
      },
      'the stuck job timed out by the new leader',
      30_000,
    );
    assert.ok(stuck.body.deadlineAt > killedAt, 'the deadline passed after the first leader was gone');
    assert.deepEqual([timedOut.counts.timed_out, timedOut.total], [1, 1]);
    for (let i = 0; i < DEVICES; i++) {
      const twin = (await follower.get(`/devices/cj-${String(i).padStart(2, '0')}/twin`)).body;
      assert.equal(twin.desired.mode, 'night');
    }
  });
});
