// Alarm evaluation as data arrives (README.md § Alarms and notifications). Nothing
// polls the database: bus events drive it, and a timer checks the deadlines of the
// time-based conditions (offline, no data, twin not applied) kept in memory.
//
// Once per device in a cluster: a step triggered by an event is taken by the node
// that published the event (`origin.local`: the node holding the device's session
// for telemetry, events and reported twins; the node that ended a command; the node
// that saw the device go or come back). A deadline is acted on by the node
// responsible for the device when it falls due: the one holding its session, or the
// leader when no node does. Every node tracks every deadline (from `all` events), so
// a node failure or a leadership change loses none; the store's one-alarm-per-(rule,
// device) index settles the rare race (two leaders for a moment).

import { randomBytes } from 'node:crypto';
import type {
  AlarmCounts,
  AlarmInfo,
  AlarmRule,
  CommandInfo,
  EventInfo,
  JsonValue,
  PresenceInfo,
  ResolvedRecord,
  TwinInfo,
} from '@halyard/firmware-protocol';
import type { BusOrigin, EventBus } from '../bus.js';
import type { Leadership } from '../cluster/leadership.js';
import { HubError, HubErrorCode } from '../errors.js';
import type { DeviceEntry, Fleet } from '../fleet.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/store.js';
import { twinInfo } from '../twins/info.js';
import type { AlarmStep } from './lifecycle.js';
import { addRule, type DeviceRules, removeRule, rulesFor, type Watch, watchKey } from './matcher.js';

export interface EvaluatorOptions {
  /** ms between deadline checks (offline, no data, twin, damped clears); a deadline is acted on at most this late. */
  tickMs: number;
}

export const EVALUATOR_DEFAULTS: EvaluatorOptions = { tickMs: 1_000 };

/** What the evaluator reports, for metrics. */
export interface EvaluatorHooks {
  /** An alarm changed: here (`action`), or on another node (undefined). */
  changed(alarm: AlarmInfo, action: AlarmStep['action'] | 'raised' | undefined): void;
  /** Latest point time of each metric of a device (for `no_data` after a restart). */
  latest(device: DeviceEntry): Promise<Map<string, number>>;
}

interface Deadline {
  rule: AlarmRule;
  device: string;
  at: number;
  value: JsonValue | null;
  message: string;
}

const key = watchKey;

/**
 * Point-and-rule checks one frame may cost: a frame past it is evaluated on the newest
 * point of each metric (the state the frame ends in). One device's 1,000-point frames
 * against 200 rules on their metric were 200,000 checks each, 100 times a second, and
 * starved every other device; now a frame costs at most this or one check per rule.
 */
export const FRAME_CHECKS = 4_096;

/** The newest point of each metric in `records` (the later one of two at the same time). */
function newestPerMetric(records: readonly ResolvedRecord[]): ResolvedRecord[] {
  const newest = new Map<string, ResolvedRecord>();
  for (const r of records) {
    const was = newest.get(r.name);
    if (was === undefined || r.time >= was.time) newest.set(r.name, r);
  }
  return [...newest.values()];
}

/** An alarm's automatic step being stored, and the newest one asked for meanwhile. */
interface StepSlot {
  next: AlarmStep | undefined;
}

export const newAlarmId = () => `al-${randomBytes(9).toString('base64url')}`;

function describeFor(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1_000 === 0) return `${ms / 1_000}s`;
  return `${ms}ms`;
}

export class AlarmEvaluator {
  private readonly rules = new Map<string, AlarmRule>();
  private readonly matched = new Map<string, DeviceRules>();
  /** Alarms not cleared, by (rule, device): every node's, kept from `alarm` events. */
  private readonly open = new Map<string, AlarmInfo>();
  /** Since when a metric condition has held, by (rule, device). */
  private readonly holding = new Map<string, number>();
  private readonly deadlines = new Map<string, Deadline>();
  /** Clears held back by a rule's minDuration: (rule, device) -> when to clear and with what. */
  private readonly damped = new Map<string, { at: number; value: JsonValue | null }>();
  /** Raises under way from this node, so a burst of frames raises once. */
  private readonly raising = new Set<string>();
  /**
   * Clears that came while their alarm was being raised (the store not done yet):
   * taken once it is. Dropped, a device that sent its clear event right after the
   * raising one left its alarm active for good.
   */
  private readonly clearWhenRaised = new Map<string, { value: JsonValue | null; at: number }>();
  /**
   * Alarms with an automatic step being stored, by id: one write per alarm at a time,
   * the newest step asked for meanwhile taken after it (if the alarm is still open).
   * Without it, a device flapping a metric asked for a clear at every point back in
   * range while the first was still being stored: the writes piled up without bound,
   * and with a few rules the store had no time left for anyone's telemetry.
   */
  private readonly stepping = new Map<string, StepSlot>();
  /** Devices told once that their frames are evaluated on their newest points (FRAME_CHECKS). */
  private readonly coarse = new Set<string>();
  /** Keys of `open` by device (MQTT's retained list of a device's alarms). */
  private readonly openOf = new Map<string, Set<string>>();
  private readonly bySeverity: AlarmCounts = { critical: 0, major: 0, minor: 0, warning: 0 };
  private readonly offs: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: Store,
    private readonly fleet: Fleet,
    private readonly bus: EventBus,
    private readonly leadership: Leadership,
    private readonly log: Logger,
    private readonly hooks: EvaluatorHooks,
    private readonly options: EvaluatorOptions = EVALUATOR_DEFAULTS,
  ) {}

  /** Loads rules and alarms not cleared, re-arms deadlines, then follows the bus. */
  async start(): Promise<void> {
    const b = this.bus;
    // Subscribed before loading: nothing that happens meanwhile is missed (a step twice is harmless).
    this.offs.push(
      b.subscribe('telemetry', (p, o) => this.telemetry(p.device, p.records, o)),
      b.subscribe('event', (p, o) => o.local && this.event(p.event)),
      b.subscribe('command', (p, o) => o.local && this.command(p.command)),
      b.subscribe('twin', (p, o) => this.twin(p.twin, o)),
      b.subscribe('presence', (p, o) => this.presence(p.presence, o)),
      b.subscribe('alarm', (p) => this.remember(p.alarm), 'remote'),
      b.subscribe('device', (p) => this.rematch(p.device.id)),
      b.subscribe('device.removed', (p) => this.forgetDevice(p.id)),
    );
    for (const r of await this.store.listAlarmRules()) this.rules.set(r.id, r);
    for (const e of this.fleet.entries()) this.rematch(e.record.id);
    for (const a of await this.store.openAlarms()) this.remember(a.info);
    for (const r of this.rules.values()) await this.arm(r);
    this.timer = setInterval(() => this.tick(Date.now()), this.options.tickMs);
    this.timer.unref();
  }

  stop(): void {
    for (const off of this.offs) off();
    clearInterval(this.timer);
  }

  /** Alarms not cleared of one device (for MQTT's retained topic and the console). */
  current(device: string): AlarmInfo[] {
    const out: AlarmInfo[] = [];
    for (const k of this.openOf.get(device) ?? []) {
      const a = this.open.get(k);
      if (a !== undefined) out.push(a);
    }
    return out.sort((x, y) => x.raisedAt - y.raisedAt);
  }

  openAlarms(): IterableIterator<AlarmInfo> {
    return this.open.values();
  }

  /**
   * A rule created, changed or deleted (undefined): takes it out of every device's
   * match and puts it back where it now selects, re-arms its deadlines. Only this rule
   * is matched again: a write costs the fleet's size, not the fleet times the rules
   * (with 1,000 rules on 1,000 devices a write held the event loop for about a second).
   */
  async ruleChanged(id: string, rule: AlarmRule | undefined): Promise<void> {
    if (rule === undefined) this.rules.delete(id);
    else this.rules.set(id, rule);
    for (const k of [...this.deadlines.keys(), ...this.holding.keys(), ...this.damped.keys()]) {
      if (k.startsWith(`${id}\n`)) {
        this.deadlines.delete(k);
        this.holding.delete(k);
        this.damped.delete(k);
      }
    }
    for (const e of this.fleet.entries()) {
      const d = e.record;
      const had = this.matched.get(d.id);
      let rules = had === undefined ? undefined : removeRule(had, id);
      if (rule !== undefined) rules = addRule(rules, rule, d);
      this.setMatched(d.id, rules);
    }
    if (rule !== undefined) await this.arm(rule);
  }

  /** An alarm changed here or elsewhere: kept while not cleared. */
  remember(a: AlarmInfo, local = false): void {
    const k = key(a.rule, a.device);
    const was = this.open.get(k);
    if (a.state === 'cleared') {
      if (was?.id === a.id) {
        this.forget(k);
        this.damped.delete(k);
      }
    } else {
      if (was !== undefined) this.bySeverity[was.severity]--;
      this.open.set(k, a);
      this.bySeverity[a.severity]++;
      let keys = this.openOf.get(a.device);
      if (keys === undefined) {
        keys = new Set();
        this.openOf.set(a.device, keys);
      }
      keys.add(k);
    }
    if (!local) this.hooks.changed(a, undefined);
  }

  /** Alarms not cleared by severity, kept as they change (metrics). */
  counts(): Readonly<AlarmCounts> {
    return this.bySeverity;
  }

  private forget(k: string): void {
    const was = this.open.get(k);
    if (was === undefined) return;
    this.open.delete(k);
    this.bySeverity[was.severity]--;
    const keys = this.openOf.get(was.device);
    keys?.delete(k);
    if (keys?.size === 0) this.openOf.delete(was.device);
  }

  /** Records a step taken here (raise, acknowledge, clear, flap) and tells the cluster. */
  published(a: AlarmInfo, action: AlarmStep['action'] | 'raised'): void {
    this.remember(a, true);
    this.hooks.changed(a, action);
    this.bus.publish('alarm', { alarm: a });
  }

  // --- inputs ---------------------------------------------------------------------

  private telemetry(device: string, frame: readonly ResolvedRecord[], origin: BusOrigin): void {
    const rules = this.matched.get(device);
    if (rules === undefined) return;
    let checks = 0;
    for (const r of frame) checks += (rules.metric.get(r.name)?.length ?? 0) + (rules.noData.get(r.name)?.length ?? 0);
    const records = checks > FRAME_CHECKS ? newestPerMetric(frame) : frame;
    if (records !== frame && !this.coarse.has(device)) {
      this.coarse.add(device);
      this.log.warn(
        { device, points: frame.length, checks, max: FRAME_CHECKS },
        'alarms: a frame of this device costs more checks than allowed; such frames are evaluated on the newest point of each metric',
      );
    }
    for (const r of records) {
      if (rules.noData.size > 0) {
        const nd = rules.noData.get(r.name);
        if (nd !== undefined) for (const w of nd) this.noData(w, device, r, origin);
      }
      if (!origin.local || r.value === undefined) continue;
      const ms = rules.metric.get(r.name);
      if (ms !== undefined) for (const w of ms) this.metric(w, device, r.value, r.time);
    }
  }

  private metric({ rule, key: k }: Watch, device: string, v: number, t: number): void {
    const c = rule.condition;
    if (c.kind !== 'metric') return;
    const above = c.above !== undefined && v > c.above;
    const below = c.below !== undefined && v < c.below;
    if (above || below) {
      const since = this.holding.get(k) ?? t;
      this.holding.set(k, since);
      if (this.open.has(k)) {
        this.undamp(k);
        return;
      }
      if (t - since < c.for) return;
      const bound = above ? `above ${c.above}` : `below ${c.below}`;
      this.raise(rule, device, v, `${c.metric} ${v} ${bound}${c.for > 0 ? ` for ${describeFor(c.for)}` : ''}`, t);
      return;
    }
    // The common case, cheap: nothing held, nothing raised.
    if (!this.holding.delete(k) && !this.open.has(k)) return;
    const back = (c.above === undefined || v <= c.above - c.hysteresis) && (c.below === undefined || v >= c.below + c.hysteresis);
    if (back) this.autoClear(rule, device, v, t);
  }

  private noData({ rule, key: k }: Watch, device: string, r: ResolvedRecord, origin: BusOrigin): void {
    const c = rule.condition;
    if (c.kind !== 'no_data') return;
    const d = this.deadlines.get(k);
    if (d !== undefined && d.rule === rule) {
      // Every point moves the deadline: the same object, no new one per point.
      d.at = r.time + c.for;
      if (origin.local && this.open.has(k)) this.autoClear(rule, device, r.value ?? r.stringValue ?? r.boolValue ?? null, Date.now());
      return;
    }
    this.deadlines.set(k, {
      rule,
      device,
      at: r.time + c.for,
      value: null,
      message: `no ${c.metric} for ${describeFor(c.for)}`,
    });
    if (origin.local) this.autoClear(rule, device, r.value ?? r.stringValue ?? r.boolValue ?? null, Date.now());
  }

  private event(ev: EventInfo): void {
    const rules = this.matched.get(ev.device);
    if (rules === undefined) return;
    for (const rule of rules.event) {
      const c = rule.condition;
      if (c.kind !== 'event') continue;
      if (c.clearName !== undefined && ev.name === c.clearName) this.autoClear(rule, ev.device, ev.data, ev.time);
      else if ((c.name === undefined || c.name === ev.name) && ev.level >= c.minLevel)
        this.raise(rule, ev.device, ev.data, `event ${ev.name} (level ${ev.level})`, ev.time);
    }
  }

  private command(cmd: CommandInfo): void {
    const rules = this.matched.get(cmd.device);
    if (rules === undefined) return;
    for (const rule of rules.command) {
      const c = rule.condition;
      if (c.kind !== 'command' || (c.name !== undefined && c.name !== cmd.name)) continue;
      const at = cmd.history[cmd.history.length - 1]?.at ?? Date.now();
      if (cmd.state === 'succeeded') this.autoClear(rule, cmd.device, cmd.result, at);
      else if ((c.states as string[]).includes(cmd.state))
        this.raise(rule, cmd.device, cmd.error ?? cmd.state, `command ${cmd.name} ${cmd.state.replace('_', ' ')}`, at);
    }
  }

  private twin(t: TwinInfo, origin: BusOrigin): void {
    const rules = this.matched.get(t.device);
    if (rules === undefined) return;
    for (const rule of rules.twin) this.twinRule(rule, t, origin.local);
  }

  private twinRule(rule: AlarmRule, t: Pick<TwinInfo, 'device' | 'delta' | 'desired' | 'desiredUpdated' | 'reported'>, local: boolean) {
    const c = rule.condition;
    if (c.kind !== 'twin') return;
    const k = key(rule.id, t.device);
    if (c.key in t.delta) {
      const at = (t.desiredUpdated[c.key] ?? Date.now()) + c.within;
      if (this.deadlines.get(k)?.at !== at)
        this.deadlines.set(k, {
          rule,
          device: t.device,
          at,
          value: t.desired[c.key] ?? null,
          message: `desired ${c.key} not applied within ${describeFor(c.within)}`,
        });
    } else {
      this.deadlines.delete(k);
      if (local) this.autoClear(rule, t.device, t.reported[c.key] ?? null, Date.now());
    }
  }

  private presence(p: PresenceInfo, origin: BusOrigin): void {
    const rules = this.matched.get(p.device);
    if (rules === undefined) return;
    for (const rule of rules.offline) {
      const c = rule.condition;
      if (c.kind !== 'offline') continue;
      const k = key(rule.id, p.device);
      if (p.online) {
        this.deadlines.delete(k);
        if (origin.local) this.autoClear(rule, p.device, 'online', p.at);
      } else
        this.deadlines.set(k, {
          rule,
          device: p.device,
          at: p.at + c.for,
          value: p.reason,
          message: `offline for ${describeFor(c.for)} (${p.reason})`,
        });
    }
  }

  // --- deadlines ------------------------------------------------------------------

  /** The node that acts on a device's deadlines now: the one holding its session, else the leader. */
  private responsible(device: string): boolean {
    const e = this.fleet.get(device);
    if (e === undefined) return false;
    if (e.session?.isOpen) return true;
    return e.remote === undefined && this.leadership.isLeader;
  }

  /** Deadlines of `rule` for the devices it selects, from what is known now (start, rule change). */
  private async arm(rule: AlarmRule): Promise<void> {
    if (!rule.enabled) return;
    const c = rule.condition;
    if (c.kind !== 'offline' && c.kind !== 'no_data' && c.kind !== 'twin') return;
    for (const [device, rules] of this.matched) {
      const e = this.fleet.get(device);
      if (e === undefined) continue;
      try {
        if (c.kind === 'offline' && rules.offline.includes(rule)) {
          const online = e.session?.isOpen === true || e.remote !== undefined;
          // A device never seen is not deployed yet: not offline.
          if (!online && e.lastSeen !== null)
            this.deadlines.set(key(rule.id, device), {
              rule,
              device,
              at: e.lastSeen + c.for,
              value: 'offline',
              message: `offline for ${describeFor(c.for)}`,
            });
        } else if (c.kind === 'no_data' && rules.noData.get(c.metric)?.some((w) => w.rule === rule)) {
          // A device never seen is not deployed yet: its silence is no alarm until it has spoken once.
          if (e.lastSeen === null) continue;
          const last = (await this.hooks.latest(e)).get(c.metric) ?? e.lastSeen;
          this.deadlines.set(key(rule.id, device), {
            rule,
            device,
            at: last + c.for,
            value: null,
            message: `no ${c.metric} for ${describeFor(c.for)}`,
          });
        } else if (c.kind === 'twin' && rules.twin.includes(rule)) {
          const t = await this.store.readTwin(e.record.rowid);
          this.twinRule(rule, twinInfo(device, t), false);
        }
      } catch (err) {
        this.log.error({ err, rule: rule.id, device }, 'alarms: could not arm a deadline');
      }
    }
  }

  private tick(now: number): void {
    for (const [k, d] of this.deadlines) {
      if (d.at > now) continue;
      if (this.open.has(k)) {
        this.deadlines.delete(k);
        continue;
      }
      if (!this.responsible(d.device)) continue;
      this.deadlines.delete(k);
      this.raise(d.rule, d.device, d.value, d.message, d.at);
    }
    for (const [k, d] of this.damped) {
      if (d.at > now) continue;
      this.damped.delete(k);
      const a = this.open.get(k);
      if (a !== undefined) this.step(k, { id: a.id, action: 'cleared', at: now, by: null, note: null, value: d.value });
    }
  }

  // --- steps ----------------------------------------------------------------------

  private raise(rule: AlarmRule, device: string, value: JsonValue | null, message: string, at: number): void {
    const k = key(rule.id, device);
    if (this.raising.has(k)) {
      // Raised again after a clear that waits for the raise: the alarm stays.
      this.clearWhenRaised.delete(k);
      return;
    }
    if (this.open.has(k)) return;
    const e = this.fleet.get(device);
    if (e === undefined) return;
    this.raising.add(k);
    const now = Date.now();
    const info: AlarmInfo = {
      id: newAlarmId(),
      rule: rule.id,
      ruleName: rule.name,
      device,
      severity: rule.severity,
      state: 'active',
      kind: rule.condition.kind,
      message,
      raisedAt: Math.min(at, now),
      raisedValue: value,
      acknowledgedAt: null,
      acknowledgedBy: null,
      note: null,
      clearedAt: null,
      clearedBy: null,
      clearedValue: null,
      flaps: 0,
      updatedAt: now,
      history: [{ action: 'raised', at: Math.min(at, now), by: null, note: null, value }],
    };
    this.store
      .op('raiseAlarm', { device: e.record.rowid, info })
      .then(({ alarm, created }) => {
        if (created) this.published(alarm.info, 'raised');
        else this.remember(alarm.info);
        const clear = this.clearWhenRaised.get(k);
        this.clearWhenRaised.delete(k);
        this.raising.delete(k);
        if (clear !== undefined) this.autoClear(rule, device, clear.value, clear.at);
      })
      .catch((err: unknown) => {
        if (!(err instanceof HubError && err.code === HubErrorCode.DeviceUnknown))
          this.log.error({ err, rule: rule.id, device }, 'alarms: could not raise an alarm');
      })
      .finally(() => {
        this.raising.delete(k);
        this.clearWhenRaised.delete(k);
      });
  }

  /** The condition ended: clears, or with a minDuration not yet over, notes a flap and clears when it is. */
  private autoClear(rule: AlarmRule, device: string, value: JsonValue | null, at: number): void {
    const k = key(rule.id, device);
    const a = this.open.get(k);
    if (a === undefined && this.raising.has(k)) {
      this.clearWhenRaised.set(k, { value, at });
      return;
    }
    if (a === undefined || this.damped.has(k)) return;
    const now = Date.now();
    const until = a.raisedAt + rule.minDuration;
    if (rule.minDuration > 0 && now < until) {
      this.damped.set(k, { at: until, value });
      this.step(k, { id: a.id, action: 'flap', at: now, by: null, note: null, value });
      return;
    }
    this.step(k, { id: a.id, action: 'cleared', at: Math.max(at, a.raisedAt), by: null, note: null, value });
  }

  /** The condition came back before a damped clear: the alarm stays. */
  private undamp(k: string): void {
    this.damped.delete(k);
  }

  /**
   * Takes an automatic step; one another node (or an operator) took first is no error.
   * While a step of the same alarm is being stored, the newest one asked for waits and
   * is taken after it if the alarm is still open (flaps asked for meanwhile count once).
   */
  private step(k: string, s: AlarmStep): void {
    const busy = this.stepping.get(s.id);
    if (busy !== undefined) {
      busy.next = s;
      return;
    }
    const slot: StepSlot = { next: undefined };
    this.stepping.set(s.id, slot);
    this.store
      .op('stepAlarm', s)
      .then((r) => this.published(r.info, s.action))
      .catch((err: unknown) => {
        if (err instanceof HubError && (err.code === HubErrorCode.AlarmState || err.code === HubErrorCode.AlarmUnknown)) {
          // Someone else moved it: read what it is now.
          void this.store.getAlarm(s.id).then((a) => a && this.remember(a.info));
          return;
        }
        this.log.error({ err, alarm: s.id, action: s.action }, 'alarms: could not update an alarm');
      })
      .finally(() => {
        this.stepping.delete(s.id);
        if (slot.next !== undefined && this.open.get(k)?.id === s.id) this.step(k, slot.next);
      });
  }

  // --- devices --------------------------------------------------------------------

  private rematch(id: string): void {
    const e = this.fleet.get(id);
    this.setMatched(id, e === undefined ? undefined : rulesFor(this.rules.values(), e.record));
  }

  /** The rules that select device `id` now (undefined: none). */
  private setMatched(id: string, rules: DeviceRules | undefined): void {
    if (rules === undefined) this.matched.delete(id);
    else this.matched.set(id, rules);
  }

  private forgetDevice(id: string): void {
    this.matched.delete(id);
    this.coarse.delete(id);
    for (const k of [...this.open.keys()]) if (k.endsWith(`\n${id}`)) this.forget(k);
    for (const m of [this.holding, this.deadlines, this.damped] as Map<string, unknown>[])
      for (const k of m.keys()) if (k.endsWith(`\n${id}`)) m.delete(k);
  }
}
