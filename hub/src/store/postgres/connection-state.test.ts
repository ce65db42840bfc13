// The probe delays (exponential, jittered, capped), error messages without
// credentials, and calls under way across a change not speaking for the server.

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
    state.up();
    assert.deepEqual(changes, [false, true]);
    assert.equal(probes, 3);
    assert.equal(state.state.error, 'connect ECONNREFUSED (***)');
    state.stop();
  });

  it('a call begun before the last change does not change the state again', () => {
    const changes: boolean[] = [];
    const state = new ConnectionState(
      'postgres://h/d',
      () => new Promise(() => {}),
      (s) => changes.push(s.up),
    );
    const beforeOutage = state.epoch;
    state.down(new Error('terminating connection'), beforeOutage);
    // Another lane's batch, begun before the outage, that succeeded just as the server went away.
    state.up(beforeOutage);
    assert.equal(state.state.up, false);
    const duringOutage = state.epoch;
    state.up(); // the probe
    // A batch begun during the outage that fails after the server is back.
    state.down(new Error('connect ECONNREFUSED'), duringOutage);
    assert.equal(state.state.up, true);
    // A call begun since the return speaks for the server.
    state.down(new Error('Connection terminated unexpectedly'), state.epoch);
    assert.deepEqual(changes, [false, true, false]);
    state.stop();
  });
});
