// The command lifecycle's clock-driven ends (SPEC.md §6) against a real store in a
// temp dir and a fake clock: ttl expiry, result timeouts, `wait`, and resume after a
// restart, each by moving time rather than waiting for it.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type CommandInfo, type Message, MessageType } from '@halyard/firmware-protocol';
import { type CommandStore, FakeSession, openCommandStore, quietLog } from '../../test/helpers/command-store.js';
import { FakeClock } from '../../test/helpers/fake-clock.js';
import { createAudit, type Requester } from '../audit.js';
import { LocalBus } from '../bus.js';
import type { HubConfig } from '../config.js';
import type { DeviceSession } from '../device/session.js';
import { type DeviceEntry, Fleet } from '../fleet.js';
import type { SqliteStore } from '../store/sqlite-store.js';
import { type CommandRequest, CommandService } from './service.js';

const TTL = 60_000;
const TIMEOUT = 10_000;
const REQ: CommandRequest = { name: 'reboot', params: {}, ttl: TTL, timeout: TIMEOUT, key: null };
const TESTER: Requester = { actor: 'test', via: 'http' };

describe('command service: ttl and timeout by the clock', () => {
  let fixture: CommandStore;
  let config: Readonly<HubConfig>;
  let store: SqliteStore;
  let n = 0;
  const log = quietLog();

  before(async () => {
    fixture = await openCommandStore('commands');
    ({ config, store } = fixture);
  });
  after(() => fixture.close());

  /** A fresh device (online through a fake session unless `offline`) and a service on a fake clock. */
  async function setup(opts: { offline?: boolean; clock?: FakeClock } = {}) {
    const id = `d${++n}`;
    const clock = opts.clock ?? new FakeClock();
    await store.op('createDevice', { id, name: null, model: null, tags: [], secretHash: new Uint8Array(32), createdAt: clock.now() });
    const fleet = new Fleet(await store.listDevices(), { pendingCommands: () => 0 });
    const entry = fleet.get(id) as DeviceEntry;
    const session = new FakeSession();
    if (opts.offline !== true) entry.session = session as unknown as DeviceSession;
    const bus = new LocalBus(log);
    const states: string[] = [];
    bus.subscribe('command', ({ command }) => states.push(command.state));
    const service = new CommandService(config, fleet, store, bus, log, createAudit(store, log), clock);
    return { id, clock, fleet, entry, session, service, states };
  }

  /** The ledger's view, after the service's batched writes (the writer runs ops in order: an empty one comes back after them). */
  async function ledger(service: CommandService, id: string) {
    await service.flush();
    await store.op('transitionCommands', []);
    return store.getCommand(id);
  }

  it('expires a queued command at its ttl, not a moment before', async () => {
    const s = await setup({ offline: true });
    const { command } = await s.service.create(TESTER, s.id, REQ);
    assert.equal(command.state, 'queued');
    s.clock.advance(TTL - 1);
    assert.equal((await s.service.get(command.id))?.state, 'queued');
    s.clock.advance(1);
    const now = await s.service.get(command.id);
    assert.equal(now?.state, 'expired');
    assert.match(now?.error ?? '', /not delivered within its ttl of 60000 ms/);
    assert.deepEqual(s.states, ['queued', 'expired']);
    assert.equal(s.clock.timers, 0, 'no timer is left behind');
    const row = await ledger(s.service, command.id);
    assert.equal(row?.state, 'expired');
    assert.equal(row?.history.at(-1)?.at, command.createdAt + TTL, 'the ledger records the fake time');
  });

  it('times out a sent command at sent + timeout; its ttl no longer applies', async () => {
    const s = await setup();
    const { command } = await s.service.create(TESTER, s.id, { ...REQ, ttl: 1_000, timeout: 10_000 });
    assert.equal(command.state, 'sent');
    const sent = s.session.sent[0] as Message & { type: typeof MessageType.Command; deadline: number };
    assert.equal(sent.type, MessageType.Command);
    assert.equal(sent.deadline, s.clock.now() + 10_000, 'the device is told the same deadline');
    s.clock.advance(5_000);
    assert.equal((await s.service.get(command.id))?.state, 'sent', 'past its ttl but delivered: not expired');
    s.clock.advance(4_999);
    assert.equal((await s.service.get(command.id))?.state, 'sent');
    s.clock.advance(1);
    assert.equal((await s.service.get(command.id))?.state, 'timed_out');
    assert.match((await s.service.get(command.id))?.error ?? '', /no result within its timeout of 10000 ms/);
    assert.deepEqual(s.states, ['queued', 'sent', 'timed_out']);
    assert.equal((await ledger(s.service, command.id))?.state, 'timed_out');
  });

  it('times out an accepted command that never sends its result', async () => {
    const s = await setup();
    const { command } = await s.service.create(TESTER, s.id, REQ);
    s.clock.advance(3_000);
    s.service.commandAccepted(s.entry, command.id);
    assert.equal((await s.service.get(command.id))?.state, 'accepted');
    // The timeout runs from delivery, not from acceptance (SPEC.md §6).
    s.clock.advance(TIMEOUT - 3_000);
    assert.equal((await s.service.get(command.id))?.state, 'timed_out');
    assert.deepEqual(s.states, ['queued', 'sent', 'accepted', 'timed_out']);
  });

  it('a result before the timeout ends the command and its timer', async () => {
    const s = await setup();
    const { command } = await s.service.create(TESTER, s.id, REQ);
    s.clock.advance(TIMEOUT - 1);
    s.service.commandResult(s.entry, { type: MessageType.CmdResult, id: command.id, status: 0 });
    assert.equal((await s.service.get(command.id))?.state, 'succeeded');
    assert.equal(s.clock.timers, 0);
    s.clock.advance(TIMEOUT * 10);
    assert.equal((await s.service.get(command.id))?.state, 'succeeded');
    assert.deepEqual(s.states, ['queued', 'sent', 'succeeded']);
  });

  it('a command delivered on reconnect before its ttl gets the timeout from then', async () => {
    const s = await setup({ offline: true });
    const { command } = await s.service.create(TESTER, s.id, REQ);
    s.clock.advance(TTL - 1_000);
    s.entry.session = s.session as unknown as DeviceSession;
    s.service.online(s.entry, s.session as unknown as DeviceSession);
    assert.equal((await s.service.get(command.id))?.state, 'sent');
    s.clock.advance(1_000);
    assert.equal((await s.service.get(command.id))?.state, 'sent', 'the ttl timer is gone once sent');
    s.clock.advance(TIMEOUT - 1_000);
    assert.equal((await s.service.get(command.id))?.state, 'timed_out');
  });

  it('a closed socket leaves the command queued, to expire at its ttl', async () => {
    const s = await setup();
    s.session.open = false;
    const { command } = await s.service.create(TESTER, s.id, REQ);
    assert.equal(command.state, 'queued');
    s.clock.advance(TTL);
    assert.equal((await s.service.get(command.id))?.state, 'expired');
  });

  it('an accepted-while-queued command (its sent not yet recorded) still times out', async () => {
    // After a restart a device may answer a command whose 'sent' the hub never wrote
    // (store/commands.ts: queued may move straight to accepted).
    const s = await setup({ offline: true });
    const { command } = await s.service.create(TESTER, s.id, REQ);
    s.clock.advance(1_000);
    s.service.commandAccepted(s.entry, command.id);
    assert.equal((await s.service.get(command.id))?.state, 'accepted');
    s.clock.advance(TTL + TIMEOUT);
    assert.equal((await s.service.get(command.id))?.state, 'timed_out');
  });

  it('wait resolves at its deadline with the state then, or at once when the command ends', async () => {
    const s = await setup();
    const a = (await s.service.create(TESTER, s.id, REQ)).command;
    const got: (CommandInfo | undefined)[] = [];
    const waiting = s.service.wait(a.id, 2_000).then((c) => got.push(c));
    s.clock.advance(1_999);
    await new Promise((r) => setImmediate(r));
    assert.equal(got.length, 0, 'still waiting before the deadline');
    s.clock.advance(1);
    await waiting;
    assert.equal(got[0]?.state, 'sent');

    const b = (await s.service.create(TESTER, s.id, REQ)).command;
    const early = s.service.wait(b.id, 60_000);
    s.service.commandResult(s.entry, { type: MessageType.CmdResult, id: b.id, status: 1, body: { reason: 'busy' } });
    const r = await early;
    assert.equal(r?.state, 'failed');
    assert.equal(r?.error, 'busy');
    s.service.stop();
  });

  it('after a restart, resumes open commands and ends those past their time at once', async () => {
    const s = await setup({ offline: true });
    const queued = (await s.service.create(TESTER, s.id, REQ)).command;
    s.entry.session = s.session as unknown as DeviceSession;
    const sent = (await s.service.create(TESTER, s.id, REQ)).command;
    assert.equal(sent.state, 'sent');
    s.clock.advance(1_000);
    await ledger(s.service, sent.id);
    s.service.stop();

    // A new service over the same ledger, as after a restart.
    const later = new FakeClock(s.clock.now() + 5_000);
    const fleet = new Fleet(await store.listDevices(), { pendingCommands: () => 0 });
    const states: string[] = [];
    const bus = new LocalBus(log);
    bus.subscribe('command', ({ command }) => {
      // Earlier tests' devices have open commands in the same ledger too.
      if (command.id === queued.id || command.id === sent.id) states.push(`${command.id === queued.id ? 'q' : 's'}:${command.state}`);
    });
    const resumed = new CommandService(config, fleet, store, bus, log, createAudit(store, log), later);
    assert.ok((await resumed.resume()) >= 2);
    // The sent one has 10 s from its send, 6 s ago; the queued one 60 s from creation.
    later.advance(3_999);
    assert.deepEqual(states, []);
    later.advance(1);
    assert.deepEqual(states, ['s:timed_out']);
    later.advance(TTL);
    assert.deepEqual(states, ['s:timed_out', 'q:expired']);
    assert.equal((await ledger(resumed, queued.id))?.state, 'expired');
    assert.equal((await ledger(resumed, sent.id))?.state, 'timed_out');
    resumed.stop();
  });
});
