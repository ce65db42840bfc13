// The probe delays (exponential, jittered, capped), error messages without
// credentials, calls under way across a change not speaking for the server, and
// only a probe on a fresh connection bringing the state back up.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay, ConnectionState, redact } from './connection-state.js';

describe('PostgreSQL connection state', () => {
  it('backs off exponentially with jitter, up to the cap', () => {
    const top = (n: number) => backoffDelay(n, { initialMs: 100, maxMs: 5_000, random: () => 0.999999 });
    const bottom = (n: number) => backoffDelay(n, { initialMs: 100, maxMs: 5_000, random: () => 0 });
    assert.deepEqual([0, 1, 2, 3, 6, 40].map(top), [100, 200, 400, 800, 5_000, 5_000]);
    assert.deepEqual([0, 1, 2, 6].map(bottom), [10, 20, 40, 500]);
  });

  it('takes credentials out of error messages', () => {
    const url = 'postgres://hub:s3cr%40t@db.example:5432/halyard';
    assert.equal(redact('password authentication failed: s3cr@t', url), 'password authentication failed: ***');
    assert.equal(redact('cannot reach postgres://hub:s3cr@t@db.example/x', 'not a url'), 'cannot reach postgres://***@t@db.example/x');
  });

  it('reports each change once and probes until the server answers', async () => {
    const changes: boolean[] = [];
    let answers = false;
    let probes = 0;
    let upSeen: () => void = () => {};
    const upNow = new Promise<void>((r) => {
      upSeen = r;
    });
    const state = new ConnectionState(
      'postgres://u:pw@h/d',
      async () => {
        probes++;
        if (probes === 3) answers = true;
        if (!answers) throw new Error('connect ECONNREFUSED (pw)');
      },
      (s) => {
        changes.push(s.up);
        if (s.up) upSeen();
      },
      { initialMs: 1, maxMs: 4 },
    );
    state.down(new Error('terminating connection due to administrator command'));
    state.down(new Error('again'));
    assert.equal(state.state.up, false);
    assert.equal(state.state.error, 'again');
    // The probe timer is unref'd (a hub never waits for it): hold the loop open meanwhile.
    const hold = setInterval(() => {}, 1_000);
    await upNow;
    clearInterval(hold);
    // A call that succeeds now, with the state up, changes nothing.
    state.answered();
    assert.deepEqual(changes, [false, true]);
    assert.equal(probes, 3);
    assert.equal(state.state.error, 'connect ECONNREFUSED (***)');
    state.stop();
  });

  it('a call begun before the last change does not change the state again', async () => {
    const changes: boolean[] = [];
    let probeResult: (ok: boolean) => void = () => {};
    let probes = 0;
    const state = new ConnectionState(
      'postgres://h/d',
      () => {
        probes++;
        return new Promise<void>((resolve, reject) => {
          probeResult = (ok) => (ok ? resolve() : reject(new Error('the database system is shutting down')));
        });
      },
      (s) => changes.push(s.up),
      // Backoff far longer than the test: every probe here is one a call asked for.
      { initialMs: 60_000, maxMs: 60_000 },
    );
    const beforeOutage = state.epoch;
    state.down(new Error('terminating connection'), beforeOutage);
    // A batch on a pooled connection whose backend has not yet handled the shutdown
    // succeeds during the outage: not taken as a recovery, but the probe goes at once.
    state.answered();
    assert.equal(state.state.up, false);
    assert.equal(probes, 1);
    // While that probe is out, more successes do not start more probes.
    state.answered();
    assert.equal(probes, 1);
    // The server is still going away: the probe fails, and the state stays down.
    probeResult(false);
    await new Promise((r) => setImmediate(r));
    assert.equal(state.state.up, false);
    const duringOutage = state.epoch;
    // Back: the next probe (asked for by another success) answers.
    state.answered();
    assert.equal(probes, 2);
    probeResult(true);
    await new Promise((r) => setImmediate(r));
    assert.equal(state.state.up, true);
    // A batch begun during the outage that fails after the server is back.
    state.down(new Error('connect ECONNREFUSED'), duringOutage);
    assert.equal(state.state.up, true);
    // A call begun since the return speaks for the server.
    state.down(new Error('Connection terminated unexpectedly'), state.epoch);
    assert.deepEqual(changes, [false, true, false]);
    state.stop();
  });
});
