// The command lifecycle (SPEC.md §6): create in the durable ledger, deliver when
// the device is online (again on every reconnect until it answers), follow its
// CMD_ACCEPTED and CMD_RESULT, expire what was never delivered within its ttl, time
// out what got no result within its timeout. Every change goes on the bus and into
// the ledger's history.

import { randomBytes } from 'node:crypto';
import {
  type CmdResult,
  type CommandInfo,
  type CommandState,
  encode,
  FINAL_COMMAND_STATES,
  type JsonValue,
  MessageType,
} from '@halyard/firmware-protocol';
import type { EventBus } from '../bus.js';
import { type Clock, type ClockTimer, realClock } from '../clock.js';
import type { HubConfig } from '../config.js';
import type { DeviceSession } from '../device/session.js';
import { assertDownlinkData, downlinkDataProblem } from '../downlink-data.js';
import { HubError, HubErrorCode } from '../errors.js';
import type { DeviceEntry, Fleet } from '../fleet.js';
import type { Logger } from '../log.js';
import { type CommandRecord, canMove, getCommand, listCommands, openCommands, type Transition } from '../store/commands.js';
import { dataToJson, jsonToData } from '../store/json.js';
import type { Reader } from '../store/reader.js';
import type { Writer } from '../store/writer.js';

export interface CommandRequest {
  name: string;
  params: JsonValue;
  /** ms the command may wait for delivery. */
  ttl: number;
  /** ms the device has for a result once the command is sent. */
  timeout: number;
  /**
   * Idempotency key, scoped to `actor`: a repeat of the same request with the same key
   * within IDEMPOTENCY_KEY_TTL returns the first command; a different request is a conflict.
   */
  key: string | null;
  /** Who asked, for the ledger and the audit log, and the scope of `key`. */
  actor: string;
  /** What the caller's request calls the key (`Idempotency-Key`, MQTT's `id`), named by a conflict. */
  keyField?: string;
}

export const COMMAND_DEFAULTS = { ttl: 5 * 60_000, timeout: 30_000 } as const;
export const COMMAND_LIMITS = { ttl: 30 * 86_400_000, timeout: 86_400_000, maxOpenPerDevice: 100 } as const;
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
  private pendingWrites: Transition[] = [];
  private writeScheduled = false;

  constructor(
    private readonly config: Readonly<HubConfig>,
    private readonly fleet: Fleet,
    private readonly writer: Writer<unknown>,
    private readonly reader: Reader,
    private readonly bus: EventBus,
    private readonly log: Logger,
    // ttl, timeout and `wait` go by this clock, so unit tests can move time instead of waiting.
    private readonly clock: Clock = realClock,
  ) {}

  /** Commands of the device not yet final (the fleet view shows the count). */
  pendingCommands(id: string): number {
    return this.byDevice.get(id)?.length ?? 0;
  }

  /** After a restart: resume every open command from the ledger (SPEC.md §6.4). */
  resume(): number {
    const now = this.clock.now();
    const cmds = openCommands(this.reader.db);
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

  async create(deviceId: string, req: CommandRequest): Promise<{ command: CommandInfo; created: boolean }> {
    const entry = this.fleet.get(deviceId);
    if (entry === undefined) throw new HubError(HubErrorCode.DeviceUnknown, `no device "${deviceId}"`);
    if (entry.record.revokedAt !== null)
      throw new HubError(HubErrorCode.DeviceRevoked, `device "${deviceId}" is revoked; it cannot receive commands`);
    if (req.ttl > COMMAND_LIMITS.ttl)
      throw new HubError(HubErrorCode.Validation, `ttl must be at most ${COMMAND_LIMITS.ttl} ms`, { field: 'ttl' });
    if (req.timeout > COMMAND_LIMITS.timeout || req.timeout < 1) {
      throw new HubError(HubErrorCode.Validation, `timeout must be between 1 and ${COMMAND_LIMITS.timeout} ms`, { field: 'timeout' });
    }
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
    const { command, created } = await this.writer
      .op('createCommand', {
        command: {
          id,
          device: entry.record.rowid,
          name: req.name,
          params: req.params,
          key: req.key,
          createdAt: this.clock.now(),
          createdBy: req.actor,
          ttl: req.ttl,
          timeout: req.timeout,
        },
        maxOpen: COMMAND_LIMITS.maxOpenPerDevice,
        keyTtl: IDEMPOTENCY_KEY_TTL,
      })
      .catch((err: unknown) => {
        if (err instanceof HubError && err.code === HubErrorCode.IdempotencyConflict && req.keyField !== undefined) {
          throw new HubError(err.code, err.message, { field: req.keyField });
        }
        throw err;
      });
    if (!created) return { command: this.get(command.id) ?? toInfo(command), created: false };
    this.track(command);
    this.schedule(command, this.clock.now());
    this.bus.publish('command', { command: toInfo(command) });
    if (entry.session?.isOpen) this.send(entry.session, command);
    return { command: toInfo(command), created: true };
  }

  /** The command as it is now: from memory while open or recently finished, else the ledger. */
  get(id: string): CommandInfo | undefined {
    const c = this.open.get(id) ?? this.recent.get(id)?.command ?? getCommand(this.reader.db, id);
    return c && toInfo(c);
  }

  list(deviceId: string, q: { states?: readonly CommandState[]; before?: number; limit: number }): CommandInfo[] {
    const entry = this.fleet.get(deviceId);
    if (entry === undefined) throw new HubError(HubErrorCode.DeviceUnknown, `no device "${deviceId}"`);
    const rows = listCommands(this.reader.db, {
      device: entry.record.rowid,
      ...(q.states === undefined ? {} : { states: q.states }),
      ...(q.before === undefined ? {} : { beforeRowid: q.before }),
      limit: q.limit,
    });
    // Overlay what memory knows and the ledger may not have written yet.
    return rows.map((r) => this.get(r.id) ?? toInfo(r));
  }

  /** Resolves when the command is final or `ms` pass, with its state then. */
  wait(id: string, ms: number): Promise<CommandInfo | undefined> {
    const now = this.get(id);
    if (now === undefined || FINAL_COMMAND_STATES.has(now.state) || ms <= 0) return Promise.resolve(now);
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

  cancel(id: string, actor: string): CommandInfo {
    const c = this.open.get(id);
    if (c === undefined) {
      const known = this.get(id);
      if (known === undefined) throw new HubError(HubErrorCode.CommandUnknown, `no command "${id}"`);
      throw new HubError(HubErrorCode.CommandFinal, `command "${id}" is already ${known.state}`);
    }
    this.move(c, 'cancelled', { error: `cancelled by ${actor}` });
    return toInfo(c);
  }

  /** The device is online: send every open command, oldest first (SPEC.md §6.4). */
  online(entry: DeviceEntry, session: DeviceSession): void {
    for (const id of [...(this.byDevice.get(entry.record.id) ?? [])]) {
      const c = this.open.get(id);
      if (c !== undefined) this.send(session, c);
    }
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
    const deadline = (c.sentAt ?? now) + c.timeout;
    if (!session.send({ type: MessageType.Command, id: c.id, name: c.name, params: jsonToData(c.params), deadline })) return;
    if (c.state === 'queued') {
      c.sentAt = now;
      this.move(c, 'sent', {});
      this.schedule(c, now);
    }
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
    if (FINAL_COMMAND_STATES.has(to)) {
      this.untrack(c);
      this.recent.set(c.id, { command: c, until: at + RECENT_MS });
      this.pruneRecent(at);
      const waiters = this.waiters.get(c.id);
      this.waiters.delete(c.id);
      for (const w of waiters ?? []) w(info);
    }
    this.bus.publish('command', { command: info });
  }

  private pruneRecent(now: number): void {
    for (const [id, r] of this.recent) {
      if (r.until > now) break;
      this.recent.delete(id);
    }
  }

  /** Transitions are written in small batches, one transaction per tick. */
  private persist(t: Transition): void {
    this.pendingWrites.push(t);
    if (this.writeScheduled) return;
    this.writeScheduled = true;
    setImmediate(() => {
      this.writeScheduled = false;
      const moves = this.pendingWrites;
      this.pendingWrites = [];
      this.writer
        .op('transitionCommands', moves)
        .catch((err) => this.log.error({ err, moves: moves.length }, 'could not record command transitions'));
    });
  }

  /** Waits for queued ledger writes (shutdown, tests). */
  async flush(): Promise<void> {
    if (this.pendingWrites.length === 0) return;
    const moves = this.pendingWrites;
    this.pendingWrites = [];
    await this.writer.op('transitionCommands', moves);
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
