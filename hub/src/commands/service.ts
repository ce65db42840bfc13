// The command lifecycle (SPEC.md §6): create in the durable ledger, deliver when
// the device is online (again on every reconnect until it answers), follow its
// CMD_ACCEPTED and CMD_RESULT, expire what was never delivered within its ttl, time
// out what got no result within its timeout. Every change goes on the bus and into
// the ledger's history.
//
// In a cluster (docs/architecture.md § Cluster) every node keeps every open command
// in memory, kept in step by the other nodes' `command` events; the node that
// serves the device delivers. There the ledger decides every move: a move is
// written first, conditionally (a state the machine allows from the stored one),
// and only a move the ledger made is applied and announced, so two nodes racing
// (two timers, a result against a timeout) announce one outcome, and a queued
// command is marked sent, by one node, before it goes to the device.

import { randomBytes } from 'node:crypto';
import {
  type CmdResult,
  type CommandInfo,
  type CommandState,
  encode,
  FINAL_COMMAND_STATES,
  type JsonValue,
  MessageType,
  parseDuration,
} from '@halyard/firmware-protocol';
import type { Audit, Requester } from '../audit.js';
import { viaDetail } from '../audit.js';
import type { EventBus } from '../bus.js';
import { type Clock, type ClockTimer, realClock } from '../clock.js';
import type { HubConfig } from '../config.js';
import { dataToJson, jsonToData } from '../data-json.js';
import type { DeviceSession } from '../device/session.js';
import { assertDownlinkData, downlinkDataProblem } from '../downlink-data.js';
import { HubError, HubErrorCode } from '../errors.js';
import type { DeviceEntry, Fleet } from '../fleet.js';
import type { Logger } from '../log.js';
import type { CommandRecord, Store, Transition } from '../store/store.js';

/** A transition waiting for its batch, and who wants to know whether the ledger made it (cluster mode). */
interface PendingMove {
  move: Transition;
  done?: (moved: CommandRecord | undefined) => void;
}

const OPEN_STATES = ['queued', 'sent', 'accepted'] as const;

/** When the command was sent, from its history (events between nodes carry no sentAt). */
function sentAtOf(c: CommandInfo): number | null {
  return c.history.find((h) => h.state === 'sent')?.at ?? null;
}

import { canMove } from './states.js';

/** A request to create a command, as any door (HTTP, console, MQTT) received it. */
export interface CommandRequest {
  name: string;
  /** Absent: null. */
  params?: JsonValue | undefined;
  /** How long the command may wait for delivery: ms, or a duration string ("30s"). Absent: COMMAND_DEFAULTS.ttl. */
  ttl?: number | string | undefined;
  /** How long the device has for a result once the command is sent; as `ttl`. Absent: COMMAND_DEFAULTS.timeout. */
  timeout?: number | string | undefined;
  /**
   * Idempotency key, scoped to the requester's actor: a repeat of the same request
   * with the same key within IDEMPOTENCY_KEY_TTL returns the first command; a
   * different request is a conflict.
   */
  key?: string | null | undefined;
}

/** What each door calls the idempotency key, named by a conflict. */
const KEY_FIELD: Record<Requester['via'], string> = { http: 'Idempotency-Key', console: 'key', mqtt: 'id' };

/** ms from a duration as a request gives it; one rule for every door. */
function durationMs(value: number | string | undefined, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  const ms = parseDuration(value, true);
  if (ms === undefined) throw new HubError(HubErrorCode.Validation, `${field}: a duration like 500ms, 10s, 5m, 1h, 30d (or ms)`, { field });
  return ms;
}

export const COMMAND_DEFAULTS = { ttl: 5 * 60_000, timeout: 30_000 } as const;
export const COMMAND_LIMITS = { ttl: 30 * 86_400_000, timeout: 86_400_000, maxOpenPerDevice: 100 } as const;

/**
 * A request's ttl and timeout in ms, defaults filled in and limits checked; `at`
 * prefixes the field a refusal names (a fleet job's `action.`, checked when the job is made).
 */
export function commandTimes(r: Pick<CommandRequest, 'ttl' | 'timeout'>, at = ''): { ttl: number; timeout: number } {
  const ttl = durationMs(r.ttl, COMMAND_DEFAULTS.ttl, `${at}ttl`);
  const timeout = durationMs(r.timeout, COMMAND_DEFAULTS.timeout, `${at}timeout`);
  if (ttl > COMMAND_LIMITS.ttl)
    throw new HubError(HubErrorCode.Validation, `${at}ttl must be at most ${COMMAND_LIMITS.ttl} ms`, { field: `${at}ttl` });
  if (timeout > COMMAND_LIMITS.timeout || timeout < 1) {
    throw new HubError(HubErrorCode.Validation, `${at}timeout must be between 1 and ${COMMAND_LIMITS.timeout} ms`, {
      field: `${at}timeout`,
    });
  }
  return { ttl, timeout };
}
/** ms an idempotency key answers its caller's repeats (README, HTTP API); after that it is free again. */
export const IDEMPOTENCY_KEY_TTL = 86_400_000;
/** Finished commands stay in memory this long, so reads right after a change are current. */
const RECENT_MS = 60_000;

// Random bytes for ids come from a pool: one randomBytes call per 680 commands
// rather than one each (it showed in profiles at 1000 commands/s).
let pool = Buffer.alloc(0);
let poolAt = 0;

function newCommandId(): string {
  if (poolAt + 6 > pool.length) {
    pool = randomBytes(4080);
    poolAt = 0;
  }
  poolAt += 6;
  return `c-${Date.now().toString(36)}-${pool.toString('base64url', poolAt - 6, poolAt)}`;
}

function toInfo(c: CommandRecord): CommandInfo {
  return {
    id: c.id,
    device: c.device,
    name: c.name,
    params: c.params,
    state: c.state,
    key: c.key,
    createdAt: c.createdAt,
    createdBy: c.createdBy,
    ttl: c.ttl,
    timeout: c.timeout,
    result: c.result,
    error: c.error,
    history: c.history,
  };
}

export class CommandService {
  /** Commands not yet final, by id. */
  private readonly open = new Map<string, CommandRecord>();
  /** Open command ids per device id, oldest first. */
  private readonly byDevice = new Map<string, string[]>();
  private readonly timers = new Map<string, ClockTimer>();
  private readonly waiters = new Map<string, Set<(c: CommandInfo) => void>>();
  private readonly recent = new Map<string, { command: CommandRecord; until: number }>();
  private pendingWrites: PendingMove[] = [];
  private writeScheduled = false;
  /** Cluster mode: the ledger decides each move before it is applied (see the top of this file). */
  private readonly clustered: boolean;
  /** Queued commands whose move to sent is being written (cluster mode): sent once, not once per reconnect racing it. */
  private readonly claiming = new Set<string>();

  constructor(
    private readonly config: Readonly<HubConfig>,
    private readonly fleet: Fleet,
    private readonly store: Pick<Store, 'op' | 'getCommand' | 'listCommands' | 'openCommands' | 'overdueCommands'>,
    private readonly bus: EventBus,
    private readonly log: Logger,
    private readonly audit: Audit,
    // ttl, timeout and `wait` go by this clock, so unit tests can move time instead of waiting.
    private readonly clock: Clock = realClock,
  ) {
    this.clustered = config.cluster !== undefined;
    if (this.clustered) bus.subscribe('command', ({ command }) => this.changedElsewhere(command), 'remote');
  }

  /** Commands of the device not yet final (the fleet view shows the count). */
  pendingCommands(id: string): number {
    return this.byDevice.get(id)?.length ?? 0;
  }

  /** After a restart: resume every open command from the ledger (SPEC.md §6.4). */
  async resume(): Promise<number> {
    const cmds = await this.store.openCommands();
    const now = this.clock.now();
    for (const c of cmds) {
      this.track(c);
      this.schedule(c, now);
    }
    return cmds.length;
  }

  private track(c: CommandRecord): void {
    this.open.set(c.id, c);
    const list = this.byDevice.get(c.device);
    if (list === undefined) this.byDevice.set(c.device, [c.id]);
    else list.push(c.id);
  }

  private untrack(c: CommandRecord): void {
    this.open.delete(c.id);
    const list = this.byDevice.get(c.device);
    if (list !== undefined) {
      const i = list.indexOf(c.id);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.byDevice.delete(c.device);
    }
    const t = this.timers.get(c.id);
    if (t !== undefined) this.clock.clearTimeout(t);
    this.timers.delete(c.id);
  }

  /** Sets the timer for the command's next automatic end: expiry while queued, timeout once sent. */
  private schedule(c: CommandRecord, now: number): void {
    const old = this.timers.get(c.id);
    if (old !== undefined) this.clock.clearTimeout(old);
    const [at, to] =
      c.state === 'queued' ? [c.createdAt + c.ttl, 'expired' as const] : [(c.sentAt ?? now) + c.timeout, 'timed_out' as const];
    const error = to === 'expired' ? `not delivered within its ttl of ${c.ttl} ms` : `no result within its timeout of ${c.timeout} ms`;
    this.timers.set(
      c.id,
      this.clock.setTimeout(() => this.move(c, to, { error }), Math.max(0, at - now)),
    );
  }

  /**
   * Creates a command for every door alike: defaults and durations, limits, the
   * idempotency rules (IDEMPOTENCY_KEY_TTL, scoped to the requester's actor), and the
   * audit entry, written before this resolves (audit.ts). `created` is false for a
   * repeat of an idempotency key, which returns the first command as it is now.
   */
  async create(requester: Requester, deviceId: string, r: CommandRequest): Promise<{ command: CommandInfo; created: boolean }> {
    const req = { name: r.name, params: r.params ?? null, ...commandTimes(r), key: r.key ?? null };
    const entry = this.fleet.get(deviceId);
    if (entry === undefined) throw new HubError(HubErrorCode.DeviceUnknown, `no device "${deviceId}"`);
    if (entry.record.revokedAt !== null)
      throw new HubError(HubErrorCode.DeviceRevoked, `device "${deviceId}" is revoked; it cannot receive commands`);
    assertDownlinkData(req.params, 'params');
    const id = newCommandId();
    // The COMMAND frame must fit the device's frame limit.
    const size = encode({
      type: MessageType.Command,
      id,
      name: req.name,
      params: jsonToData(req.params),
      deadline: this.clock.now(),
    }).length;
    if (size > this.config.maxFrame) {
      throw new HubError(HubErrorCode.TooLarge, `the command would be ${size} bytes; devices accept at most ${this.config.maxFrame}`, {
        field: 'params',
      });
    }
    const { command, created } = await this.store
      .op('createCommand', {
        command: {
          id,
          device: entry.record.rowid,
          name: req.name,
          params: req.params,
          key: req.key,
          createdAt: this.clock.now(),
          createdBy: requester.actor,
          ttl: req.ttl,
          timeout: req.timeout,
        },
        maxOpen: COMMAND_LIMITS.maxOpenPerDevice,
        keyTtl: IDEMPOTENCY_KEY_TTL,
      })
      .catch((err: unknown) => {
        if (err instanceof HubError && err.code === HubErrorCode.IdempotencyConflict) {
          throw new HubError(err.code, err.message, { field: KEY_FIELD[requester.via] });
        }
        throw err;
      });
    if (!created) return { command: this.known(command.id) ?? toInfo(command), created: false };
    this.track(command);
    this.schedule(command, this.clock.now());
    this.bus.publish('command', { command: toInfo(command) });
    if (entry.session?.isOpen) this.send(entry.session, command);
    const info = toInfo(command);
    await this.audit(requester.actor, 'command.create', deviceId, viaDetail(requester, { command: command.id, name: req.name }));
    return { command: info, created: true };
  }

  /** The command as memory has it: open or recently finished. */
  private known(id: string): CommandInfo | undefined {
    const c = this.open.get(id) ?? this.recent.get(id)?.command;
    return c && toInfo(c);
  }

  /** The command as it is now: from memory while open or recently finished, else the ledger. */
  async get(id: string): Promise<CommandInfo | undefined> {
    const c = this.open.get(id) ?? this.recent.get(id)?.command ?? (await this.store.getCommand(id));
    return c && toInfo(c);
  }

  async list(deviceId: string, q: { states?: readonly CommandState[]; before?: number; limit: number }): Promise<CommandInfo[]> {
    const entry = this.fleet.get(deviceId);
    if (entry === undefined) throw new HubError(HubErrorCode.DeviceUnknown, `no device "${deviceId}"`);
    const rows = await this.store.listCommands({
      device: entry.record.rowid,
      ...(q.states === undefined ? {} : { states: q.states }),
      ...(q.before === undefined ? {} : { beforeRowid: q.before }),
      limit: q.limit,
    });
    // Overlay what memory knows and the ledger may not have written yet.
    return rows.map((r) => this.known(r.id) ?? toInfo(r));
  }

  /** Resolves when the command is final or `ms` pass, with its state then. */
  wait(id: string, ms: number): Promise<CommandInfo | undefined> {
    // Memory first, and synchronously: an open command is always there, and its waiter
    // must be in place before anything can move it.
    const now = this.known(id);
    if (now === undefined) return this.get(id);
    if (FINAL_COMMAND_STATES.has(now.state) || ms <= 0) return Promise.resolve(now);
    return new Promise((resolve) => {
      let set = this.waiters.get(id);
      if (set === undefined) {
        set = new Set();
        this.waiters.set(id, set);
      }
      const done = (c: CommandInfo) => {
        this.clock.clearTimeout(timer);
        set.delete(done);
        resolve(c);
      };
      const timer = this.clock.setTimeout(() => {
        set.delete(done);
        resolve(this.get(id));
      }, ms);
      set.add(done);
    });
  }

  /** Cancels an open command; resolves once the audit entry is written. */
  async cancel(requester: Requester, id: string): Promise<CommandInfo> {
    const c = this.open.get(id);
    if (c === undefined) {
      const known = await this.get(id);
      if (known === undefined) throw new HubError(HubErrorCode.CommandUnknown, `no command "${id}"`);
      throw new HubError(HubErrorCode.CommandFinal, `command "${id}" is already ${known.state}`);
    }
    if (this.clustered) {
      if (!(await this.moveInStore(c, 'cancelled', { error: `cancelled by ${requester.actor}` }))) {
        const known = await this.get(id);
        throw new HubError(HubErrorCode.CommandFinal, `command "${id}" is already ${known?.state ?? 'final'}`);
      }
    } else this.move(c, 'cancelled', { error: `cancelled by ${requester.actor}` });
    const info = toInfo(c);
    await this.audit(requester.actor, 'command.cancel', info.device, viaDetail(requester, { command: info.id }));
    return info;
  }

  /** The device is online: send every open command, oldest first (SPEC.md §6.4). */
  online(entry: DeviceEntry, session: DeviceSession): void {
    if (this.clustered) {
      // Another node may have created commands this node missed (Redis is at most once): the ledger has them all.
      this.loadOpen(entry)
        .catch((err: unknown) => this.log.error({ err, device: entry.record.id }, 'could not read the open commands'))
        .finally(() => {
          if (session.isOpen) this.sendOpen(entry, session);
        });
      return;
    }
    this.sendOpen(entry, session);
  }

  private sendOpen(entry: DeviceEntry, session: DeviceSession): void {
    for (const id of [...(this.byDevice.get(entry.record.id) ?? [])]) {
      const c = this.open.get(id);
      if (c !== undefined) this.send(session, c);
    }
  }

  /** The device's open commands from the ledger, into memory (cluster mode). */
  private async loadOpen(entry: DeviceEntry): Promise<void> {
    const rows = await this.store.listCommands({ device: entry.record.rowid, states: OPEN_STATES, limit: COMMAND_LIMITS.maxOpenPerDevice });
    const now = this.clock.now();
    for (const r of rows.reverse()) {
      const c = this.open.get(r.id);
      if (c === undefined) {
        if (this.recent.has(r.id)) continue;
        this.track(r);
        this.schedule(r, now);
      } else if (c.state !== r.state) this.take(c, r);
    }
  }

  /**
   * Cluster mode: another node's move of a command (the ledger made it) or a new
   * command; this node's memory follows, and a new one goes to the device if it is here.
   */
  private changedElsewhere(info: CommandInfo): void {
    const c = this.open.get(info.id);
    if (c !== undefined) {
      this.take(c, info);
      return;
    }
    if (FINAL_COMMAND_STATES.has(info.state) || this.recent.has(info.id)) return;
    const entry = this.fleet.get(info.device);
    if (entry === undefined) return;
    const r: CommandRecord = { ...info, rowid: 0, deviceRowid: entry.record.rowid, sentAt: sentAtOf(info) };
    this.track(r);
    this.schedule(r, this.clock.now());
    if (entry.session?.isOpen) this.send(entry.session, r);
  }

  /** Memory takes the command's state as another node or the ledger has it; waiters of a final state are answered. */
  private take(c: CommandRecord, truth: CommandInfo): void {
    // Events from two nodes may cross (one node's `queued` after another's `sent`): each move adds to the history, so a shorter one is older.
    if (truth.history.length < c.history.length) return;
    c.state = truth.state;
    c.history = truth.history;
    c.result = truth.result;
    c.error = truth.error;
    c.sentAt = sentAtOf(truth) ?? c.sentAt;
    const now = this.clock.now();
    if (FINAL_COMMAND_STATES.has(c.state)) this.finished(c, toInfo(c), now);
    else this.schedule(c, now);
  }

  /** A command reached a final state: out of the open set, kept a while as recent, its waiters answered. */
  private finished(c: CommandRecord, info: CommandInfo, at: number): void {
    this.untrack(c);
    this.recent.set(c.id, { command: c, until: at + RECENT_MS });
    this.pruneRecent(at);
    const waiters = this.waiters.get(c.id);
    this.waiters.delete(c.id);
    for (const w of waiters ?? []) w(info);
  }

  private send(session: DeviceSession, c: CommandRecord): void {
    // Params stored before the hub checked what devices accept would be refused on every
    // reconnect, keeping the device offline: such a command fails instead of being sent.
    const refused = downlinkDataProblem(c.params, 'params');
    if (refused !== undefined) {
      this.log.error(
        { device: c.device, command: c.id, field: refused.field, reason: refused.message },
        'command not sent: the device would refuse it',
      );
      this.move(c, 'failed', { error: `not sent: ${refused.message}` });
      return;
    }
    const now = this.clock.now();
    if (this.clustered && c.state === 'queued') {
      // Marked sent in the ledger first, by one node: a command is never first delivered by two.
      if (this.claiming.has(c.id)) return;
      this.claiming.add(c.id);
      void this.moveInStore(c, 'sent', {}).then(async (moved) => {
        this.claiming.delete(c.id);
        if (!moved) {
          // Another node sent it (or it ended) first: memory learns how it stands, and this node does not send it too.
          // A device that moved gets it again on its next connect, where its open commands are read from the ledger.
          const truth = await this.store.getCommand(c.id).catch(() => undefined);
          if (truth !== undefined && this.open.get(c.id) === c) this.take(c, truth);
          return;
        }
        if (session.isOpen && this.open.get(c.id) === c) this.sendFrame(session, c, this.clock.now());
      });
      return;
    }
    const deadline = (c.sentAt ?? now) + c.timeout;
    if (!session.send({ type: MessageType.Command, id: c.id, name: c.name, params: jsonToData(c.params), deadline })) return;
    if (c.state === 'queued') {
      c.sentAt = now;
      this.move(c, 'sent', {});
      this.schedule(c, now);
    }
  }

  private sendFrame(session: DeviceSession, c: CommandRecord, now: number): void {
    const deadline = (c.sentAt ?? now) + c.timeout;
    session.send({ type: MessageType.Command, id: c.id, name: c.name, params: jsonToData(c.params), deadline });
  }

  commandAccepted(entry: DeviceEntry, id: string): void {
    const c = this.ownOpen(entry, id, 'CMD_ACCEPTED');
    if (c === undefined || (c.state !== 'queued' && c.state !== 'sent')) return;
    const wasQueued = c.state === 'queued';
    this.move(c, 'accepted', {});
    // Accepted while queued (its 'sent' was never recorded, store/commands.ts): the
    // ttl timer cannot end an accepted command, so it needs its timeout, from now.
    if (wasQueued) this.schedule(c, this.clock.now());
  }

  commandResult(entry: DeviceEntry, m: CmdResult): void {
    const c = this.ownOpen(entry, m.id, 'CMD_RESULT');
    if (c === undefined) return;
    const to: CommandState = m.status === 0 ? 'succeeded' : m.status === 1 ? 'failed' : 'rejected';
    const result = m.body === undefined ? null : dataToJson(m.body);
    let error: string | null = null;
    if (to !== 'succeeded') {
      const body = result !== null && typeof result === 'object' && !Array.isArray(result) ? result : {};
      const why = body.reason ?? body.error;
      error = typeof why === 'string' ? why.slice(0, 500) : to;
    }
    this.move(c, to, { result, error });
  }

  /** The open command `id` if it belongs to this device; anything else is logged and ignored (SPEC.md §6.4). */
  private ownOpen(entry: DeviceEntry, id: string, what: string): CommandRecord | undefined {
    const c = this.open.get(id);
    if (c !== undefined && c.deviceRowid === entry.record.rowid) return c;
    const known = c ?? this.recent.get(id)?.command;
    if (known !== undefined && known.deviceRowid !== entry.record.rowid) {
      this.log.warn({ device: entry.record.id, command: id }, `${what} for another device's command ignored`);
    } else {
      this.log.info({ device: entry.record.id, command: id }, `${what} for an unknown or finished command ignored`);
    }
    return undefined;
  }

  private move(c: CommandRecord, to: CommandState, extra: { result?: JsonValue | null; error?: string | null }): void {
    if (!canMove(c.state, to)) return;
    if (this.clustered) {
      void this.moveInStore(c, to, extra);
      return;
    }
    const at = this.clock.now();
    c.state = to;
    c.history = [...c.history, { state: to, at }];
    if (extra.result !== undefined) c.result = extra.result;
    if (extra.error !== undefined) c.error = extra.error;
    this.persist({
      id: c.id,
      to,
      at,
      ...(extra.result === undefined ? {} : { result: extra.result }),
      ...(extra.error === undefined ? {} : { error: extra.error }),
    });
    const info = toInfo(c);
    if (FINAL_COMMAND_STATES.has(to)) this.finished(c, info, at);
    this.bus.publish('command', { command: info });
  }

  /**
   * Cluster mode: the move is written first, on the condition that the stored state
   * allows it; if the ledger made it, memory takes the stored command and the bus
   * announces it. Resolves whether it was made.
   */
  private moveInStore(c: CommandRecord, to: CommandState, extra: { result?: JsonValue | null; error?: string | null }): Promise<boolean> {
    const at = this.clock.now();
    const move: Transition = {
      id: c.id,
      to,
      at,
      ...(extra.result === undefined ? {} : { result: extra.result }),
      ...(extra.error === undefined ? {} : { error: extra.error }),
    };
    return new Promise((resolve) => {
      this.persist(move, (moved) => {
        if (moved === undefined) return resolve(false);
        // Another move may have come first in memory (a remote event): the ledger's record is the truth.
        if (this.open.get(c.id) === c) this.take(c, moved);
        this.bus.publish('command', { command: toInfo(moved) });
        resolve(true);
      });
    });
  }

  private pruneRecent(now: number): void {
    for (const [id, r] of this.recent) {
      if (r.until > now) break;
      this.recent.delete(id);
    }
  }

  /** Transitions are written in small batches, one transaction per tick. */
  private persist(t: Transition, done?: PendingMove['done']): void {
    this.pendingWrites.push(done === undefined ? { move: t } : { move: t, done });
    if (this.writeScheduled) return;
    this.writeScheduled = true;
    setImmediate(() => {
      this.writeScheduled = false;
      this.write().catch((err) => this.log.error({ err }, 'could not record command transitions'));
    });
  }

  /**
   * Ends the open commands in the ledger whose ttl or timeout has passed and that no
   * timer of this hub watches: in a cluster, those of a node that died before it could
   * end them. The leader runs it (README.md, Running a cluster); a command another node
   * ends meanwhile is skipped by the ledger's state machine. Returns how many it ended.
   */
  async expireOverdue(): Promise<number> {
    const now = this.clock.now();
    let ended = 0;
    // Only the overdue ones (an index): reading every open command each 10 s costs the fleet's whole queue.
    for (const c of await this.store.overdueCommands(now)) {
      if (this.open.has(c.id)) continue;
      this.track(c);
      const to = c.state === 'queued' ? 'expired' : 'timed_out';
      this.move(c, to, {
        error: to === 'expired' ? `not delivered within its ttl of ${c.ttl} ms` : `no result within its timeout of ${c.timeout} ms`,
      });
      ended++;
    }
    return ended;
  }

  /** Writes the queued transitions; each waiting caller learns whether its move was made (the ledger skips the others). */
  private async write(): Promise<void> {
    const batch = this.pendingWrites;
    this.pendingWrites = [];
    if (batch.length === 0) return;
    let moved: CommandRecord[];
    try {
      moved = await this.store.op(
        'transitionCommands',
        batch.map((p) => p.move),
      );
    } catch (err) {
      for (const p of batch) p.done?.(undefined);
      throw err;
    }
    // Made moves come back in order, each as the command stood right after it.
    let j = 0;
    for (const p of batch) {
      const m = moved[j];
      if (m !== undefined && m.id === p.move.id && m.state === p.move.to) {
        j++;
        p.done?.(m);
      } else p.done?.(undefined);
    }
  }

  /** Waits for queued ledger writes (shutdown, tests). */
  async flush(): Promise<void> {
    await this.write();
  }

  /** Drops a deleted device's commands from memory. */
  forget(deviceId: string): void {
    for (const id of [...(this.byDevice.get(deviceId) ?? [])]) {
      const c = this.open.get(id);
      if (c !== undefined) this.untrack(c);
    }
  }

  stop(): void {
    for (const t of this.timers.values()) this.clock.clearTimeout(t);
    this.timers.clear();
  }
}
