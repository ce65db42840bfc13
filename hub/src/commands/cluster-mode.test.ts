// The command service in cluster mode (docs/architecture.md § Cluster): two
// services, as on two nodes, on one real ledger (a SQLite store in a temp dir:
// transitionCommands applies the same state rule on both engines), each with its
// own fleet and bus, the buses wired to hand each other's events over as a Redis
// channel would. The ledger decides: a command is first sent by one node only, two
// timers racing end it once, and a result reached on one node answers a wait on
// the other.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MessageType } from '@halyard/firmware-protocol';
import { type CommandStore, FakeSession, openCommandStore, quietLog } from '../../test/helpers/command-store.js';
import { eventually } from '../../test/helpers/eventually.js';
import { FakeClock } from '../../test/helpers/fake-clock.js';
import { createAudit, type Requester } from '../audit.js';
import { type BusEvents, type BusTopic, LocalBus } from '../bus.js';
import type { HubConfig } from '../config.js';
import type { DeviceSession } from '../device/session.js';
import { type DeviceEntry, Fleet } from '../fleet.js';
import type { SqliteStore } from '../store/sqlite-store.js';
import { CommandService } from './service.js';

/** A node's bus whose publishes also reach the other node's subscribers, as remote events. */
class LinkedBus extends LocalBus {
  peer: LinkedBus | undefined;
  readonly seen: string[] = [];
  constructor(
    log: ConstructorParameters<typeof LocalBus>[0],
    private readonly node: string,
  ) {
    super(log, node);
  }
  override publish<K extends BusTopic>(topic: K, payload: BusEvents[K]): void {
    if (topic === 'command') this.seen.push((payload as BusEvents['command']).command.state);
    super.publish(topic, payload);
    // Asynchronous, as through Redis.
    setImmediate(() => this.peer?.deliver(topic, payload, { local: false, node: this.node }));
  }
}

const TESTER: Requester = { actor: 'test', via: 'http' };

describe('command service in cluster mode: the ledger decides between nodes', () => {
  let fixture: CommandStore;
  let config: Readonly<HubConfig>;
  let store: SqliteStore;
  let n = 0;
  const log = quietLog();

  before(async () => {
    fixture = await openCommandStore('cluster-commands', ['--store', 'postgres://unused/x', '--cluster', 'redis://unused:6379']);
    ({ config, store } = fixture);
  });
  after(() => fixture.close());

  /** Two nodes with their own fleet, bus and clock; `sessions` says which of them has the device connected. */
  async function twoNodes(sessions: { one: boolean; two: boolean }) {
    const id = `d${++n}`;
    await store.op('createDevice', { id, name: null, model: null, tags: [], secretHash: new Uint8Array(32), createdAt: Date.now() });
    const node = async (name: string, connected: boolean) => {
      const fleet = new Fleet(await store.listDevices(), { pendingCommands: () => 0 });
      const session = new FakeSession();
      if (connected) (fleet.get(id) as DeviceEntry).session = session as unknown as DeviceSession;
      const bus = new LinkedBus(log, name);
      const clock = new FakeClock();
      const service = new CommandService(config, fleet, store, bus, log, createAudit(store, log), clock);
      return { bus, clock, service, session };
    };
    const one = await node('one', sessions.one);
    const two = await node('two', sessions.two);
    one.bus.peer = two.bus;
    two.bus.peer = one.bus;
    return { id, one, two };
  }

  const commandsSent = (s: FakeSession) => s.sent.filter((m) => m.type === MessageType.Command).length;

  it('a command made on one node is sent by the node holding the device, once, and its result reaches the waiter', async () => {
    const { id, one, two } = await twoNodes({ one: false, two: true });
    const { command } = await one.service.create(TESTER, id, { name: 'reboot' });
    const waited = one.service.wait(command.id, 60_000);
    await eventually(() => commandsSent(two.session) === 1, 'node two to send it');
    const entry = { record: { id, rowid: (await store.listDevices()).find((d) => d.id === id)?.rowid } } as unknown as DeviceEntry;
    two.service.commandResult(entry, { type: MessageType.CmdResult, id: command.id, status: 0, body: { ok: true } });
    const done = await waited;
    assert.equal(done?.state, 'succeeded');
    assert.deepEqual(done?.result, { ok: true });
    assert.deepEqual(
      done?.history.map((h) => h.state),
      ['queued', 'sent', 'succeeded'],
    );
    assert.equal(commandsSent(two.session), 1);
  });

  it('with the device connected to both nodes at once, the command is still first sent by one of them only', async () => {
    const { id, one, two } = await twoNodes({ one: true, two: true });
    const { command } = await one.service.create(TESTER, id, { name: 'once' });
    await eventually(async () => (await store.getCommand(command.id))?.state === 'sent', 'the ledger to say sent');
    // The other node tried too (from the `queued` event): its move to sent is refused by the ledger, and it learns the state.
    await eventually(async () => (await two.service.get(command.id))?.state === 'sent', 'node two to know it was sent');
    // Its write went through the ledger's queue before this empty one comes back.
    await two.service.flush();
    await store.op('transitionCommands', []);
    assert.equal(commandsSent(one.session) + commandsSent(two.session), 1);
  });

  it('two nodes timing the same command out: one outcome, announced once', async () => {
    const { id, one, two } = await twoNodes({ one: false, two: false });
    const { command } = await one.service.create(TESTER, id, { name: 'late', ttl: 1_000 });
    await eventually(() => two.service.pendingCommands(id) === 1, 'node two to track it');
    one.clock.advance(1_000);
    two.clock.advance(1_000);
    await eventually(async () => one.service.pendingCommands(id) === 0 && two.service.pendingCommands(id) === 0, 'both to end it');
    const stored = await store.getCommand(command.id);
    assert.equal(stored?.state, 'expired');
    assert.deepEqual(
      stored?.history.map((h) => h.state),
      ['queued', 'expired'],
    );
    assert.equal([...one.bus.seen, ...two.bus.seen].filter((s) => s === 'expired').length, 1, 'one node announced it');
  });
});
