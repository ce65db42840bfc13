// The command lifecycle with real devices (SPEC.md §6): every state reached for
// real, redelivery, ordering, idempotency, wait, cancel, queue bounds, restarts.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Command, MessageType } from '@halyard/firmware-protocol';
import { TestDevice } from './helpers/device.js';
import { eventually } from './helpers/eventually.js';
import { startTestHub, type TestHub } from './helpers/hub.js';

type Answer = { accept?: boolean; status?: 0 | 1 | 2; body?: Record<string, string> };

/** Answers every COMMAND, already received or arriving, the way `answer` says (deduped by id, as SPEC.md §6.4 asks). */
function respond(d: TestDevice, answer: (c: Command) => Answer | undefined): void {
  const seen = new Set<string>();
  const scan = () => {
    for (const m of d.received) {
      if (m.type !== MessageType.Command || seen.has(m.id)) continue;
      seen.add(m.id);
      const a = answer(m);
      if (a === undefined) continue;
      if (a.accept !== false) d.send({ type: MessageType.CmdAccepted, id: m.id });
      if (a.status !== undefined) d.send({ type: MessageType.CmdResult, id: m.id, status: a.status, ...(a.body ? { body: a.body } : {}) });
    }
  };
  d.ws.on('message', scan);
  scan();
}

const states = (c: { history: { state: string }[] }) => c.history.map((h) => h.state);

describe('commands', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub();
  });
  after(() => t.close());

  it('runs queued -> sent -> accepted -> succeeded with the result, timestamped', async () => {
    const d = await TestDevice.connect(t.ws, await t.api.provision('cmd-ok'));
    respond(d, (c) => ({ status: 0, body: { echo: String((c.params as { v: string }).v) } }));
    const r = await t.api.post('/devices/cmd-ok/commands?wait=5', { name: 'echo', params: { v: 'hi' }, timeout: '5s' });
    assert.equal(r.status, 201);
    assert.equal(r.body.state, 'succeeded');
    assert.deepStrictEqual(r.body.result, { echo: 'hi' });
    assert.deepStrictEqual(states(r.body), ['queued', 'sent', 'accepted', 'succeeded']);
    const at = r.body.history.map((h: { at: number }) => h.at);
    assert.deepStrictEqual(
      [...at].sort((a, b) => a - b),
      at,
    );
    const cmd = d.received.find((m) => m.type === MessageType.Command) as Command;
    assert.equal(cmd.name, 'echo');
    assert.ok(cmd.deadline >= Date.now() - 1_000 && cmd.deadline <= Date.now() + 6_000, 'deadline = sent + timeout');
    const stored = await eventually(async () => {
      const g = await t.api.get(`/devices/cmd-ok/commands?state=succeeded`);
      return g.body.commands[0];
    }, 'the ledger');
    assert.equal(stored.id, r.body.id);
    await d.close();
  });

  it('records failed and rejected results with their reason', async () => {
    const d = await TestDevice.connect(t.ws, await t.api.provision('cmd-bad'));
    respond(
      d,
      (c): Answer =>
        c.name === 'break'
          ? { status: 1, body: { error: 'valve stuck' } }
          : { accept: false, status: 2, body: { reason: 'unknown_command' } },
    );
    const failed = await t.api.post('/devices/cmd-bad/commands?wait=5', { name: 'break' });
    assert.equal(failed.body.state, 'failed');
    assert.equal(failed.body.error, 'valve stuck');
    const rejected = await t.api.post('/devices/cmd-bad/commands?wait=5', { name: 'dance' });
    assert.equal(rejected.body.state, 'rejected');
    assert.equal(rejected.body.error, 'unknown_command');
    assert.deepStrictEqual(states(rejected.body), ['queued', 'sent', 'rejected']);
    await d.close();
  });

  it('expires a command never delivered within its ttl', async () => {
    await t.api.provision('cmd-offline');
    const r = await t.api.post('/devices/cmd-offline/commands?wait=3', { name: 'reboot', ttl: '200ms' });
    assert.equal(r.status, 201);
    assert.equal(r.body.state, 'expired');
    assert.match(r.body.error, /ttl/);
  });

  it('times out a command delivered but not answered within its timeout; 202 while waiting', async () => {
    const d = await TestDevice.connect(t.ws, await t.api.provision('cmd-slow'));
    respond(d, () => ({ accept: true }));
    // The timeout must outlast a loaded machine's round trip for CMD_ACCEPTED (300 ms
    // need not, and 'accepted' would be missing from the history); the exact timing is
    // the unit test's, on a fake clock (hub/src/commands/service.test.ts).
    const waiting = await t.api.post('/devices/cmd-slow/commands?wait=0.1', { name: 'slow', timeout: '2s' });
    assert.equal(waiting.status, 202);
    assert.ok(['sent', 'accepted'].includes(waiting.body.state));
    assert.equal(waiting.headers.get('location'), `/api/v1/commands/${waiting.body.id}`);
    const done = await eventually(async () => {
      const g = await t.api.get(`/commands/${waiting.body.id}`);
      return g.body.state === 'timed_out' ? g.body : undefined;
    }, 'timed_out');
    assert.deepStrictEqual(states(done), ['queued', 'sent', 'accepted', 'timed_out']);
    // A late result changes nothing.
    d.send({ type: MessageType.CmdResult, id: waiting.body.id, status: 0 });
    d.telemetry([{ n: 'x', v: 1 }]);
    await d.waitAck(d.seq);
    assert.equal((await t.api.get(`/commands/${waiting.body.id}`)).body.state, 'timed_out');
    await d.close();
  });

  it('cancels an open command; cancelling again is a 409', async () => {
    await t.api.provision('cmd-cancel');
    const r = await t.api.post('/devices/cmd-cancel/commands', { name: 'later', ttl: '1h' });
    const c = await t.api.post(`/commands/${r.body.id}/cancel`);
    assert.equal(c.status, 200);
    assert.equal(c.body.state, 'cancelled');
    assert.match(c.body.error, /admin/);
    assert.equal((await t.api.post(`/commands/${r.body.id}/cancel`)).status, 409);
    assert.equal((await t.api.post('/commands/c-nope/cancel')).status, 404);
  });

  it('delivers queued commands on connect in creation order, and redelivers one sent but not accepted', async () => {
    const token = await t.api.provision('cmd-order');
    const ids: string[] = [];
    for (const name of ['first', 'second', 'third'])
      ids.push((await t.api.post('/devices/cmd-order/commands', { name, ttl: '1m' })).body.id);
    const a = await TestDevice.connect(t.ws, token);
    await a.until(() => a.received.filter((m) => m.type === MessageType.Command).length === 3, 'three commands');
    assert.deepStrictEqual(
      a.received.filter((m) => m.type === MessageType.Command).map((m) => (m as Command).id),
      ids,
    );
    await eventually(async () => (await t.api.get(`/commands/${ids[0]}`)).body.state === 'sent', 'sent');
    // Disconnect before accepting anything: all three come again on the next connection.
    await a.close();
    const b = await TestDevice.connect(t.ws, token);
    respond(b, () => ({ status: 0 }));
    await b.until(() => b.received.filter((m) => m.type === MessageType.Command).length === 3, 'three commands again');
    for (const id of ids) {
      await eventually(async () => (await t.api.get(`/commands/${id}`)).body.state === 'succeeded', `${id} succeeded`);
    }
    const first = await t.api.get(`/commands/${ids[0]}`);
    assert.deepStrictEqual(
      states(first.body),
      ['queued', 'sent', 'accepted', 'succeeded'],
      'sent once in the ledger, though delivered twice',
    );
    await b.close();
  });

  it('returns the same command for a repeated Idempotency-Key', async () => {
    await t.api.provision('cmd-idem');
    const a = await t.api.post('/devices/cmd-idem/commands', { name: 'open' }, { 'idempotency-key': 'k-1' });
    const b = await t.api.post('/devices/cmd-idem/commands', { name: 'open' }, { 'idempotency-key': 'k-1' });
    const c = await t.api.post('/devices/cmd-idem/commands', { name: 'open' }, { 'idempotency-key': 'k-2' });
    assert.equal(a.status, 201);
    assert.equal(b.status, 200);
    assert.equal(b.body.id, a.body.id);
    assert.equal(b.body.key, 'k-1');
    assert.notEqual(c.body.id, a.body.id);
  });

  it('bounds the per-device queue with a clear 429', async () => {
    await t.api.provision('cmd-full');
    for (let i = 0; i < 100; i++) assert.equal((await t.api.post('/devices/cmd-full/commands', { name: 'n', ttl: '1h' })).status, 201);
    const r = await t.api.post('/devices/cmd-full/commands', { name: 'n', ttl: '1h' });
    assert.equal(r.status, 429);
    assert.equal(r.body.error.code, 'HUB_ERR_QUEUE_FULL');
    assert.equal((await t.api.get('/devices/cmd-full')).body.pendingCommands, 100);
  });

  it('refuses commands to unknown and revoked devices, and bad requests', async () => {
    assert.equal((await t.api.post('/devices/ghost/commands', { name: 'x' })).status, 404);
    await t.api.provision('cmd-revoked');
    await t.api.post('/devices/cmd-revoked/revoke');
    assert.equal((await t.api.post('/devices/cmd-revoked/commands', { name: 'x' })).status, 403);
    await t.api.provision('cmd-val');
    assert.equal((await t.api.post('/devices/cmd-val/commands', { name: 'has/slash' })).body.error.field, 'name');
    assert.equal((await t.api.post('/devices/cmd-val/commands', { name: 'x', ttl: 'soon' })).body.error.field, 'ttl');
    assert.equal((await t.api.post('/devices/cmd-val/commands', { name: 'x', params: { blob: 'y'.repeat(70_000) } })).status, 413);
  });

  it('ignores results for unknown commands and for other devices’ commands', async () => {
    const owner = await TestDevice.connect(t.ws, await t.api.provision('cmd-owner'));
    const other = await TestDevice.connect(t.ws, await t.api.provision('cmd-other'));
    const r = await t.api.post('/devices/cmd-owner/commands', { name: 'mine', timeout: '10s' });
    await owner.waitFor((m) => m.type === MessageType.Command);
    other.send({ type: MessageType.CmdResult, id: r.body.id, status: 0 });
    other.send({ type: MessageType.CmdResult, id: 'c-never-existed', status: 0 });
    other.telemetry([{ n: 'x', v: 1 }]);
    await other.waitAck(other.seq);
    assert.equal(other.closed, undefined);
    assert.equal((await t.api.get(`/commands/${r.body.id}`)).body.state, 'sent');
    assert.ok(t.logs.some((l) => String(l.msg).includes("another device's command")));
    await owner.close();
    await other.close();
  });

  it('writes command creation to the audit log with who asked', async () => {
    const a = await t.api.get('/audit?limit=1000');
    assert.ok(
      a.body.entries.some(
        (e: { actor: string; action: string; target: string }) =>
          e.actor === 'admin' && e.action === 'command.create' && e.target === 'cmd-ok',
      ),
    );
  });
});

describe('commands across a hub restart', () => {
  it('loses no command and resumes delivery', async () => {
    let t = await startTestHub();
    const token = await t.api.provision('cmd-restart');
    // One command sent but not accepted, one still queued.
    const d = await TestDevice.connect(t.ws, token);
    const sent = await t.api.post('/devices/cmd-restart/commands', { name: 'a', ttl: '1h', timeout: '1h' });
    await d.waitFor((m) => m.type === MessageType.Command);
    await d.close();
    const queued = await t.api.post('/devices/cmd-restart/commands', { name: 'b', ttl: '1h' });
    const dir = t.dir;
    await t.stop();
    t = await startTestHub([], dir);
    try {
      assert.equal((await t.api.get(`/commands/${sent.body.id}`)).body.state, 'sent');
      assert.equal((await t.api.get(`/commands/${queued.body.id}`)).body.state, 'queued');
      const d2 = await TestDevice.connect(t.ws, token);
      respond(d2, () => ({ status: 0 }));
      for (const id of [sent.body.id, queued.body.id]) {
        await eventually(async () => (await t.api.get(`/commands/${id}`)).body.state === 'succeeded', `${id} after restart`);
      }
      await d2.close();
    } finally {
      await t.close();
    }
  });
});
