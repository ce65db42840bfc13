// The console channel (SPEC.md §10) against a real hub with real sockets: upgrade
// checks, streams, actions with role checks on every message, session endings and
// close codes.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type CommandInfo, type ConsoleUpdate, type DeviceInfo, encodeCbor, MessageType, type TwinInfo } from '@halyard/firmware-protocol';
import { ConsoleClient, gatewayServer } from './console-client.js';
import { TestDevice } from './helpers/device.js';
import { startTestHub, type TestHub } from './helpers/hub.js';

type Of<T extends ConsoleUpdate['t']> = Extract<ConsoleUpdate, { t: T }>;

describe('console channel', () => {
  let t: TestHub;
  let operatorToken: string;
  let viewerToken: string;
  before(async () => {
    t = await startTestHub(['--hub-name', 'test-hub']);
    for (const [username, role] of [
      ['olga', 'operator'],
      ['vic', 'viewer'],
    ] as const) {
      const r = await t.api.post('/operators', { username, password: `${username}-password-1`, role });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    operatorToken = (await t.api.post('/login', { username: 'olga', password: 'olga-password-1' })).body.token;
    viewerToken = (await t.api.post('/login', { username: 'vic', password: 'vic-password-1' })).body.token;
  });
  after(() => t.close());

  describe('upgrade', () => {
    it('refuses without a session (401), from another origin (403), without the subprotocol (400)', async () => {
      await assert.rejects(ConsoleClient.open(t.ws), { status: 401 });
      await assert.rejects(ConsoleClient.open(t.ws, { token: 'not-a-session' }), { status: 401 });
      await assert.rejects(ConsoleClient.open(t.ws, { token: operatorToken, origin: 'http://evil.example' }), { status: 403 });
      await assert.rejects(ConsoleClient.open(t.ws, { token: operatorToken, protocols: ['halyard.v1'] }), { status: 400 });
    });

    it("accepts the session cookie from the hub's own origin and says welcome first", async () => {
      const login = await fetch(`${t.http}/api/v1/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'olga', password: 'olga-password-1' }),
      });
      const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
      assert.match(cookie, /^halyard_session=/);
      const c = await ConsoleClient.open(t.ws, { cookie, origin: t.http });
      const w = (await c.waitFor((m) => m.t === 'welcome')) as Of<'welcome'>;
      assert.equal(c.received[0]?.t, 'welcome');
      assert.deepEqual(w.operator, { username: 'olga', role: 'operator' });
      assert.equal(w.hub.name, 'test-hub');
      assert.ok(Math.abs(w.time - Date.now()) < 5_000);
      await c.close();
    });
  });

  it('fleet: a snapshot, then device, presence and removal updates', async () => {
    await t.api.provision('fl-1', { name: 'first', tags: ['lab'] });
    const c = await ConsoleClient.open(t.ws, { token: viewerToken });
    c.send({ t: 'sub', stream: 'fleet' });
    const snap = (await c.waitFor((m) => m.t === 'fleet')) as Of<'fleet'>;
    const d1 = snap.devices.find((d: DeviceInfo) => d.id === 'fl-1');
    assert.deepEqual([d1?.name, d1?.tags, d1?.online], ['first', ['lab'], false]);

    const token = await t.api.provision('fl-2');
    const created = (await c.waitFor((m) => m.t === 'device' && m.device.id === 'fl-2')) as Of<'device'>;
    assert.equal(created.device.online, false);

    const dev = await TestDevice.connect(t.ws, token, { fw: '2.1.0', model: 'probe' });
    const on = (await c.waitFor((m) => m.t === 'presence' && m.presence.device === 'fl-2' && m.presence.online)) as Of<'presence'>;
    assert.equal(on.presence.reason, 'connected');
    await dev.close();
    const off = (await c.waitFor((m) => m.t === 'presence' && m.presence.device === 'fl-2' && !m.presence.online)) as Of<'presence'>;
    assert.equal(off.presence.reason, 'closed');
    assert.equal(typeof off.lastSeen, 'number');
    // The HELLO's firmware and model reach the table: once first seen, and again when the device comes back updated.
    const seen = (await c.waitFor((m) => m.t === 'device' && m.device.id === 'fl-2' && m.device.firmware === '2.1.0')) as Of<'device'>;
    assert.equal(seen.device.model, 'probe');
    const updated = await TestDevice.connect(t.ws, token, { fw: '2.2.0', model: 'probe' });
    await c.waitFor((m) => m.t === 'device' && m.device.id === 'fl-2' && m.device.firmware === '2.2.0');
    await updated.close();
    await c.waitFor((m) => m.t === 'presence' && m.presence.device === 'fl-2' && !m.presence.online && m.presence.at > off.presence.at);

    assert.equal((await t.api.delete('/devices/fl-2')).status, 204);
    await c.waitFor((m) => m.t === 'device.removed' && m.id === 'fl-2');
    await c.close();
  });

  it("fleet: online devices' last-seen times are refreshed, and pending-command counts follow commands", async () => {
    const s = await gatewayServer(t, { refreshIntervalMs: 50 });
    const token = await t.api.provision('fl-live');
    await t.api.provision('fl-pending');
    const c = await ConsoleClient.open(s.url, { token: viewerToken });
    c.send({ t: 'sub', stream: 'fleet' });
    await c.waitFor((m) => m.t === 'fleet');
    const d = await TestDevice.connect(t.ws, token);
    const on = (await c.waitFor((m) => m.t === 'presence' && m.presence.device === 'fl-live' && m.presence.online)) as Of<'presence'>;
    const from = c.received.length;
    await d.waitAck(d.telemetry([{ n: 'x', v: 1 }]));
    const again = (await c.waitFor(
      (m) => m.t === 'presence' && m.presence.device === 'fl-live' && (m.lastSeen ?? 0) > (on.lastSeen ?? 0),
      5_000,
      from,
    )) as Of<'presence'>;
    assert.deepEqual([again.presence.online, again.presence.at], [true, on.presence.at], 'a re-statement of the same session');

    const created = await t.api.post('/devices/fl-pending/commands', { name: 'later' });
    assert.equal(created.status, 201);
    await c.waitFor((m) => m.t === 'device' && m.device.id === 'fl-pending' && m.device.pendingCommands === 1);
    await t.api.post(`/commands/${created.body.id}/cancel`);
    await c.waitFor((m) => m.t === 'device' && m.device.id === 'fl-pending' && m.device.pendingCommands === 0);
    await Promise.all([d.close(), c.close()]);
    await s.close();
  });

  it('telemetry and events: only for the devices named', async () => {
    const token = await t.api.provision('tel-1');
    const otherToken = await t.api.provision('tel-2');
    const c = await ConsoleClient.open(t.ws, { token: viewerToken });
    c.send({ t: 'sub', stream: 'telemetry', devices: ['tel-1'] });
    c.send({ t: 'sub', stream: 'events', devices: ['tel-1'] });
    // A round trip through the channel proves both subs were handled before the device speaks.
    await c.request({ t: 'cancel', command: 'c-none' });
    const d = await TestDevice.connect(t.ws, token);
    const other = await TestDevice.connect(t.ws, otherToken);
    other.telemetry([{ n: 'temp', v: 99 }]);
    const now = Date.now() / 1000;
    const seq = d.telemetry([
      { bn: 'room.', bt: now, n: 'temp', u: 'Cel', v: 21.5 },
      { n: 'door', vb: true },
      { n: 'mode', vs: 'eco' },
    ]);
    d.send({ type: MessageType.Event, seq: seq + 1, name: 'overheat', level: 3, data: { c: 80 } });
    d.seq++;
    const tel = (await c.waitFor((m) => m.t === 'telemetry')) as Of<'telemetry'>;
    assert.equal(tel.device, 'tel-1');
    assert.deepEqual(
      tel.points.map((p) => [p.name, p.value ?? p.boolValue ?? p.stringValue, p.unit]),
      [
        ['room.temp', 21.5, 'Cel'],
        ['room.door', true, undefined],
        ['room.mode', 'eco', undefined],
      ],
    );
    const ev = (await c.waitFor((m) => m.t === 'event')) as Of<'event'>;
    assert.deepEqual([ev.event.device, ev.event.name, ev.event.level, ev.event.data], ['tel-1', 'overheat', 3, { c: 80 }]);
    await other.waitAck(1);
    assert.equal(
      c.received.some((m) => m.t === 'telemetry' && m.device === 'tel-2'),
      false,
    );

    // Unsubscribed: nothing more arrives (checked after a later round trip).
    c.send({ t: 'unsub', stream: 'telemetry' });
    await c.request({ t: 'cancel', command: 'c-none' });
    const n = c.received.filter((m) => m.t === 'telemetry').length;
    await d.waitAck(d.telemetry([{ n: 'temp', v: 1 }]));
    await c.request({ t: 'cancel', command: 'c-none' });
    assert.equal(c.received.filter((m) => m.t === 'telemetry').length, n);
    await Promise.all([d.close(), other.close(), c.close()]);
  });

  it('commands: an operator sends one and follows it to succeeded; a viewer is refused', async () => {
    const token = await t.api.provision('cmd-1');
    const d = await TestDevice.connect(t.ws, token);
    const c = await ConsoleClient.open(t.ws, { token: operatorToken });
    c.send({ t: 'sub', stream: 'commands', devices: ['cmd-1'] });
    const reply = await c.request({ t: 'command', device: 'cmd-1', name: 'reboot', params: { delay: 1 }, ttl: '1m', timeout: 5_000 });
    assert.equal(reply.ok, true, JSON.stringify(reply));
    const cmd = (reply as { command: CommandInfo }).command;
    assert.deepEqual(
      [cmd.device, cmd.name, cmd.params, cmd.ttl, cmd.timeout, cmd.createdBy],
      ['cmd-1', 'reboot', { delay: 1 }, 60_000, 5_000, 'olga'],
    );
    // The reply comes only once the audit entry is written, as over HTTP (one rule for every door).
    const audit = await t.api.get('/audit?actor=olga');
    const entry = audit.body.entries.find((e: { action: string; detail: { command?: string } }) => e.detail?.command === cmd.id);
    assert.deepEqual([entry?.action, entry?.detail], ['command.create', { command: cmd.id, name: 'reboot', via: 'console' }]);

    const sent = await d.waitFor((m) => m.type === MessageType.Command);
    assert.equal((sent as { id: string }).id, cmd.id);
    d.send({ type: MessageType.CmdAccepted, id: cmd.id });
    d.send({ type: MessageType.CmdResult, id: cmd.id, status: 0, body: { ok: 1 } });
    const done = (await c.waitFor((m) => m.t === 'command' && m.command.id === cmd.id && m.command.state === 'succeeded')) as Of<'command'>;
    assert.deepEqual(done.command.result, { ok: 1 });
    // Every change arrives, in order (queued may precede the subscription's first update).
    const states = c.received.filter((m): m is Of<'command'> => m.t === 'command' && m.command.id === cmd.id).map((m) => m.command.state);
    assert.deepEqual(states.slice(-3), ['sent', 'accepted', 'succeeded']);

    const unknown = await c.request({ t: 'command', device: 'no-such', name: 'x' });
    assert.deepEqual(unknown.ok ? undefined : unknown.error.code, 'HUB_ERR_DEVICE_UNKNOWN');
    const badTtl = await c.request({ t: 'command', device: 'cmd-1', name: 'x', ttl: 'soon' });
    assert.deepEqual(badTtl.ok ? undefined : [badTtl.error.code, badTtl.error.field], ['HUB_ERR_VALIDATION', 'ttl']);

    const v = await ConsoleClient.open(t.ws, { token: viewerToken });
    const refused = await v.request({ t: 'command', device: 'cmd-1', name: 'reboot' });
    assert.equal(refused.ok, false);
    assert.equal(refused.ok ? '' : refused.error.code, 'HUB_ERR_FORBIDDEN');
    const cancel = await v.request({ t: 'cancel', command: cmd.id });
    assert.equal(cancel.ok ? '' : cancel.error.code, 'HUB_ERR_FORBIDDEN');
    assert.equal(v.closed, undefined, 'a refused action does not end the channel');
    await Promise.all([d.close(), c.close(), v.close()]);
  });

  it("jobs: a viewer follows a job's progress live, every change; a console without the stream hears none", async () => {
    const token = await t.api.provision('jb-1', { tags: ['jb'] });
    await t.api.provision('jb-2', { tags: ['jb'] });
    const d = await TestDevice.connect(t.ws, token);
    const c = await ConsoleClient.open(t.ws, { token: viewerToken });
    const other = await ConsoleClient.open(t.ws, { token: viewerToken });
    c.send({ t: 'sub', stream: 'jobs' });
    other.send({ t: 'sub', stream: 'events' });
    // A round trip after the sub: the subscription is in force before the job exists.
    await c.request({ t: 'cancel', command: 'none' });
    const created = await t.api.post('/jobs', {
      action: { type: 'command', name: 'flush', ttl: '1h', timeout: '1h' },
      selection: { tags: ['jb'] },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id as string;
    const job = (m: ConsoleUpdate): m is Of<'job'> => m.t === 'job' && m.job.id === id;
    const started = (await c.waitFor((m) => job(m) && m.job.counts.in_progress === 1)) as Of<'job'>;
    assert.deepEqual([started.job.state, started.job.total, started.job.counts.pending], ['running', 2, 1], 'jb-2 is offline');
    assert.equal(started.job.deadlineAt, created.body.deadlineAt);
    const cmd = (await d.waitFor((m) => m.type === MessageType.Command)) as { id: string };
    d.send({ type: MessageType.CmdResult, id: cmd.id, status: 0 });
    const done = (await c.waitFor((m) => job(m) && m.job.counts.succeeded === 1)) as Of<'job'>;
    assert.deepEqual([done.job.counts.in_progress, done.job.counts.pending], [0, 1]);
    assert.equal((await t.api.post(`/jobs/${id}/cancel`)).status, 200);
    const end = (await c.waitFor((m) => job(m) && m.job.state === 'cancelled')) as Of<'job'>;
    assert.deepEqual([end.job.counts.succeeded, end.job.counts.skipped], [1, 1]);
    assert.deepEqual(
      end.job,
      (({ name: _n, spec: _s, reasons: _r, createdAt: _c, createdBy: _b, ...p }) => p)((await t.api.get(`/jobs/${id}`)).body),
      'the API says the same',
    );
    assert.equal(other.received.filter((m) => m.t === 'job').length, 0, 'not subscribed: no job updates');
    c.send({ t: 'unsub', stream: 'jobs' });
    await Promise.all([d.close(), c.close(), other.close()]);
  });

  it('cancel: an open command becomes cancelled', async () => {
    await t.api.provision('cmd-2');
    const c = await ConsoleClient.open(t.ws, { token: operatorToken });
    const created = await c.request({ t: 'command', device: 'cmd-2', name: 'later' });
    const id = created.ok ? created.command?.id : undefined;
    assert.ok(id);
    const r = await c.request({ t: 'cancel', command: id });
    assert.equal(r.ok ? r.command?.state : r.error.code, 'cancelled');
    const again = await c.request({ t: 'cancel', command: id });
    assert.equal(again.ok ? '' : again.error.code, 'HUB_ERR_COMMAND_FINAL');
    await c.close();
  });

  it('twins: current state on sub, changes live, version conflicts answered in words', async () => {
    const token = await t.api.provision('twin-1');
    const c = await ConsoleClient.open(t.ws, { token: operatorToken });
    c.send({ t: 'sub', stream: 'twins', devices: ['twin-1', 'no-such-device'] });
    const first = (await c.waitFor((m) => m.t === 'twin')) as Of<'twin'>;
    assert.equal(first.twin.desiredVersion, 0);

    const ok = await c.request({ t: 'twin.patch', device: 'twin-1', patch: { setpoint: 21 }, ifMatch: 0 });
    assert.equal(ok.ok && ok.twin?.desiredVersion, 1, JSON.stringify(ok));
    await c.waitFor((m) => m.t === 'twin' && m.twin.desiredVersion === 1);

    const conflict = await c.request({ t: 'twin.patch', device: 'twin-1', patch: { setpoint: 22 }, ifMatch: 0 });
    assert.equal(conflict.ok, false);
    assert.equal(conflict.ok ? '' : conflict.error.code, 'HUB_ERR_VERSION_MISMATCH');
    assert.match(conflict.ok ? '' : conflict.error.message, /version 1/);

    // The device applies desired and reports it: the console sees reported follow.
    const d = await TestDevice.connect(t.ws, token);
    const desired = await d.waitFor((m) => m.type === MessageType.Desired);
    d.seq++;
    d.send({ type: MessageType.Reported, seq: d.seq, patch: (desired as { desired: Record<string, number> }).desired });
    const followed = (await c.waitFor((m) => m.t === 'twin' && m.twin.reported.setpoint === 21)) as Of<'twin'>;
    assert.deepEqual((followed.twin as TwinInfo).delta, {});
    await Promise.all([d.close(), c.close()]);
  });

  it('stats: the recent history, then one a second', async () => {
    const c = await ConsoleClient.open(t.ws, { token: viewerToken });
    c.send({ t: 'sub', stream: 'stats' });
    // A tick after this console connected counts it.
    const s = (await c.waitFor((m) => m.t === 'stats' && m.stats.consoles >= 1, 3_000)) as Of<'stats'>;
    assert.equal(typeof s.stats.framesInPerSec, 'number');
    await c.close();
  });

  describe('endings', () => {
    it('closes with 4400 on a malformed frame, a text frame or an unknown message', async () => {
      for (const bad of [new Uint8Array([0xa1, 0x61]), 'hello', encodeCbor({ t: 'nope' }), encodeCbor({ t: 'sub', stream: 'all' })]) {
        const c = await ConsoleClient.open(t.ws, { token: viewerToken });
        c.ws.send(bad);
        const closed = await c.waitClosed();
        assert.equal(closed.code, 4400, `for ${String(bad)}`);
        const err = c.received.find((m) => m.t === 'error') as Of<'error'> | undefined;
        assert.equal(err?.code, 4400);
      }
    });

    it('closes with 4401 when the session logs out; other sessions stay', async () => {
      const api = t.api.as('');
      await api.login('olga', 'olga-password-1');
      const mine = await ConsoleClient.open(t.ws, { token: api.token as string });
      const other = await ConsoleClient.open(t.ws, { token: operatorToken });
      assert.equal((await api.post('/logout')).status, 204);
      assert.equal((await mine.waitClosed()).code, 4401);
      assert.equal(((await other.request({ t: 'cancel', command: 'c-none' })) as { ok: boolean }).ok, false);
      assert.equal(other.closed, undefined);
      await other.close();
    });

    it('closes with 4401 when the operator is disabled, and re-checks the role on every message', async () => {
      await t.api.post('/operators', { username: 'tmp', password: 'tmp-password-1', role: 'operator' });
      const token = (await t.api.post('/login', { username: 'tmp', password: 'tmp-password-1' })).body.token as string;
      const c = await ConsoleClient.open(t.ws, { token });
      assert.equal((await c.request({ t: 'cancel', command: 'c-none' })).ok ? '' : 'refused', 'refused');
      assert.equal((await t.api.patch('/operators/tmp', { disabled: true })).status, 200);
      assert.equal((await c.waitClosed()).code, 4401);
      await assert.rejects(ConsoleClient.open(t.ws, { token }), { status: 401 });
    });

    it('closes with 4429 when a console floods the hub', async () => {
      const c = await ConsoleClient.open(t.ws, { token: viewerToken });
      for (let i = 0; i < 400; i++) c.send({ t: 'sub', stream: 'stats' });
      assert.equal((await c.waitClosed()).code, 4429);
    });

    it('closes with 1001 when the hub shuts down', async () => {
      const h = await startTestHub();
      const c = await ConsoleClient.open(h.ws, { token: h.api.token as string });
      await c.waitFor((m) => m.t === 'welcome');
      const closing = h.close();
      assert.equal((await c.waitClosed()).code, 1001);
      await closing;
    });
  });
});
