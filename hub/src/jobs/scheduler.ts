// The fleet job scheduler (docs/jobs.md): singleton work, run by the leader of a
// cluster (cluster/leadership.ts) and by a single hub always. Each tick it reads the
// open jobs from the store, takes newly matching devices in, applies the failure
// threshold, moves stages on, and starts devices within the rollout's limits; the
// per-device work is the update service's, the command service's or the twin
// service's, so each device follows their own lifecycle. Everything it decides is
// written to the store before it acts on it: a new leader (or a restarted hub)
// reloads the open jobs and checks each device in progress against its update or
// command, so a job survives restarts and node failures. A job whose deadline has
// passed ends `timed_out` at the next tick of whichever node leads then (its
// deadline is in the stored spec), with its unfinished devices `timed_out` too.

import {
  type CommandInfo,
  FINAL_COMMAND_STATES,
  FINAL_UPDATE_STATES,
  type JsonObject,
  UPDATE_CAPABILITY,
  type UpdateInfo,
} from '@halyard/firmware-protocol';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Audit, Requester } from '../audit.js';
import type { EventBus } from '../bus.js';
import type { Leadership } from '../cluster/leadership.js';
import type { CommandService } from '../commands/service.js';
import { HubError, HubErrorCode } from '../errors.js';
import { compareIds, type DeviceEntry, type Fleet } from '../fleet.js';
import type { Logger } from '../log.js';
import { FINAL_JOB_DEVICE_STATES, type JobDeviceChange, type JobDeviceRecord, type JobDeviceState, type JobRecord } from '../store/jobs.js';
import type { Store } from '../store/store.js';
import type { TwinService } from '../twins/service.js';
import { newUpdateId, type UpdateService } from '../updates/service.js';
import { emptyTally, type JobProgress, jobProgress, type Tally } from './progress.js';
import { assignStages, inWindow, jobDeadlineAt, type StoredJobSpec, selects } from './spec.js';

export interface SchedulerOptions {
  /** ms between ticks (also after every wake-up, at most this often). */
  tickMs: number;
  /** ms between evaluations of a job's selection (devices joining it). */
  enrollMs: number;
  /** ms between checks of devices in progress against their update or command (events lost, a node that died). */
  reconcileMs: number;
  /** The deadline of a job made before jobs had one, from its creation (ms; --job-deadline). */
  defaultDeadlineMs: number;
}

/** Devices started together; the next slice waits for this one's store writes. */
const START_SLICE = 100;

export const DEFAULT_SCHEDULER: Readonly<SchedulerOptions> = Object.freeze({
  tickMs: 500,
  enrollMs: 2_000,
  reconcileMs: 5_000,
  defaultDeadlineMs: 7 * 86_400_000,
});

/** A change a job's consumers (MQTT, consoles) hear about. */
export type JobNotice = { kind: 'progress'; progress: JobProgress } | { kind: 'device'; job: string; device: JobDeviceRecord };

interface Running {
  job: JobRecord;
  spec: StoredJobSpec;
  devices: Map<number, JobDeviceRecord>;
  /** Device rowid by update or command id. */
  byRef: Map<string, number>;
  ids: ReadonlySet<string> | undefined;
  /** When the rate lets the next device start (ms since the epoch). */
  nextStart: number;
  lastEnroll: number;
  lastReconcile: number;
  /** The last progress published, as JSON. */
  published: string;
  /** When the job ends timed_out (ms since the epoch). */
  deadlineAt: number;
}

export class JobScheduler {
  private readonly running = new Map<string, Running>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private again = false;
  private readonly listeners = new Set<(n: JobNotice) => void>();
  private readonly offs: (() => void)[] = [];
  private readonly finished: Counter<'state'>;
  private readonly inProgressGauge: Gauge;
  private readonly jobsRunning: Gauge;
  private leader = false;

  constructor(
    private readonly store: Store,
    private readonly fleet: Fleet,
    private readonly services: { updates: UpdateService; commands: CommandService; twins: TwinService },
    private readonly bus: EventBus,
    private readonly audit: Audit,
    private readonly log: Logger,
    registry: Registry,
    private readonly options: SchedulerOptions = DEFAULT_SCHEDULER,
  ) {
    this.finished = new Counter({
      name: 'halyard_job_devices_finished_total',
      help: 'Devices of fleet jobs that reached a final state, by state',
      labelNames: ['state'],
      registers: [registry],
    });
    this.inProgressGauge = new Gauge({
      name: 'halyard_job_devices_in_progress',
      help: 'Devices of fleet jobs in progress (leader)',
      registers: [registry],
    });
    this.jobsRunning = new Gauge({ name: 'halyard_jobs_open', help: 'Fleet jobs not over (leader)', registers: [registry] });
  }

  /** Follows the leadership: ticks while leading, forgets every job when it stops. */
  follow(leadership: Leadership): void {
    this.offs.push(
      leadership.onChange((leader) => {
        this.leader = leader;
        clearInterval(this.timer);
        this.timer = undefined;
        this.running.clear();
        if (!leader) return;
        this.wake();
        this.timer = setInterval(() => this.wake(), this.options.tickMs);
        this.timer.unref();
      }),
      // Every node's events: the device may be held anywhere in a cluster.
      this.bus.subscribe('update', ({ update }) => this.updateChanged(update)),
      this.bus.subscribe('command', ({ command }) => this.commandChanged(command)),
    );
  }

  onNotice(listener: (n: JobNotice) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    for (const off of this.offs.splice(0)) off();
    clearInterval(this.timer);
    this.leader = false;
    await this.ticking;
    this.running.clear();
  }

  /** Runs a tick now (or right after the one running). */
  wake(): void {
    if (!this.leader) return;
    if (this.ticking !== undefined) {
      this.again = true;
      return;
    }
    this.ticking = this.tick()
      .catch((err: unknown) => this.log.error({ err }, 'job scheduler tick failed'))
      .finally(() => {
        this.ticking = undefined;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  private async tick(): Promise<void> {
    const now = Date.now();
    const open = await this.store.openJobs();
    const openIds = new Set(open.map((j) => j.id));
    for (const [id, r] of this.running) {
      if (openIds.has(id)) continue;
      // Ended by an operator (cancel) on any node, or by this scheduler: settle its devices.
      const job = await this.store.getJob(id);
      if (job !== undefined) {
        r.job = job;
        await this.wrapUp(r, now);
      }
      if (![...r.devices.values()].some((d) => d.state === 'in_progress')) this.running.delete(id);
    }
    for (const job of open) {
      if (!this.leader) return;
      let r = this.running.get(job.id);
      if (r === undefined) {
        r = await this.load(job);
        this.running.set(job.id, r);
      } else r.job = job;
      await this.step(r, Date.now());
    }
    let inProgress = 0;
    for (const r of this.running.values()) for (const d of r.devices.values()) if (d.state === 'in_progress') inProgress++;
    this.inProgressGauge.set(inProgress);
    this.jobsRunning.set(open.length);
  }

  /** A job seen for the first time (new, or this node just became leader): its devices from the store. */
  private async load(job: JobRecord): Promise<Running> {
    const spec = job.spec as StoredJobSpec;
    const r: Running = {
      job,
      spec,
      devices: new Map(),
      byRef: new Map(),
      ids: spec.selection.devices === undefined ? undefined : new Set(spec.selection.devices),
      nextStart: 0,
      lastEnroll: 0,
      lastReconcile: 0,
      published: '',
      deadlineAt: jobDeadlineAt(spec, job.createdAt, this.options.defaultDeadlineMs),
    };
    let after: string | undefined;
    for (;;) {
      const page = await this.store.jobDevices({ job: job.rowid, limit: 10_000, ...(after === undefined ? {} : { after }) });
      for (const d of page) this.remember(r, d);
      if (page.length < 10_000) break;
      after = page[page.length - 1]?.deviceId;
    }
    return r;
  }

  private remember(r: Running, d: JobDeviceRecord): void {
    r.devices.set(d.device, d);
    if (d.ref !== null) r.byRef.set(d.ref, d.device);
  }

  private async step(r: Running, now: number): Promise<void> {
    if (now >= r.deadlineAt) {
      await this.timeOut(r, now);
      return;
    }
    const { spec } = r;
    const rollout = spec.rollout;
    if (now - r.lastEnroll >= this.options.enrollMs) await this.enroll(r, now);
    if (now - r.lastReconcile >= this.options.reconcileMs) await this.reconcile(r, now);
    const c = tally(r);
    // The failure threshold, over the devices finished since the operator last accepted failures.
    const ft = rollout.failureThreshold;
    if (ft !== null && r.job.state === 'running') {
      const failed = c.failed - r.job.acceptedFailed;
      const finished = c.succeeded + c.failed - r.job.acceptedFinished;
      if (finished >= ft.minFinished && failed / finished > ft.ratio) {
        const reason = `failure threshold: ${failed} of ${finished} finished devices failed (over ${ft.ratio * 100}%)`;
        if (ft.action === 'abort') await this.changeJob(r, { state: 'aborted', reason }, now);
        else await this.changeJob(r, { state: 'paused', reason }, now);
        this.log.warn(
          { job: r.job.id, failed, finished },
          `fleet job ${ft.action === 'abort' ? 'aborted' : 'paused'} at its failure threshold`,
        );
        if (ft.action === 'abort') await this.wrapUp(r, now);
        this.publishProgress(r, true);
        return;
      }
    }
    if (r.job.state === 'running') await this.advance(r, now);
    if (r.job.state === 'running') await this.startDevices(r, now);
    this.publishProgress(r, false);
  }

  /**
   * Moves to the next stage once the stages so far have settled (nothing in progress,
   * no connected device still waiting to start: offline devices get their turn when
   * they are back) and succeeded enough; completes the job when nothing is left.
   */
  private async advance(r: Running, now: number): Promise<void> {
    const stages = r.spec.rollout.stages;
    for (;;) {
      const stage = r.job.stage;
      let n = 0;
      let ok = 0;
      let open = 0;
      let unsettled = 0;
      for (const d of r.devices.values()) {
        if (d.stage > stage || d.state === 'skipped') continue;
        n++;
        if (d.state === 'succeeded') ok++;
        if (FINAL_JOB_DEVICE_STATES.has(d.state)) continue;
        open++;
        const e = this.fleet.getByRowid(d.device);
        if (d.state === 'in_progress' || (e !== undefined && this.online(e))) unsettled++;
      }
      if (stage >= stages.length - 1) {
        if (open === 0 && r.devices.size > 0) {
          await this.changeJob(r, { state: 'completed', reason: null }, now);
          this.log.info({ job: r.job.id, ...tally(r) }, 'fleet job completed');
        }
        return;
      }
      if (unsettled > 0) return;
      const enough = n === 0 || ok >= Math.ceil(r.spec.rollout.successThreshold * n - 1e-9);
      if (!enough) {
        if (open === 0)
          await this.changeJob(
            r,
            { state: 'paused', reason: `stage ${stage + 1}: ${ok} of ${n} devices succeeded, below the success threshold` },
            now,
          );
        return;
      }
      const next = stage + 1;
      if (stages[next]?.approval === true) {
        await this.changeJob(r, { state: 'waiting', stage: next, reason: `stage ${next + 1} waits for an operator's approval` }, now);
        return;
      }
      await this.changeJob(r, { stage: next }, now);
      this.log.info({ job: r.job.id, stage: next + 1 }, 'fleet job moved to its next stage');
    }
  }

  private async changeJob(
    r: Running,
    c: { state?: JobRecord['state']; stage?: number; reason?: string | null },
    now: number,
  ): Promise<void> {
    const next = await this.store.op('changeJob', { id: r.job.id, from: [r.job.state], ...c, now });
    if (next !== null) r.job = next;
    else {
      const cur = await this.store.getJob(r.job.id);
      if (cur !== undefined) r.job = cur;
    }
  }

  /** Devices that match the selection now and are not in the job yet. */
  private async enroll(r: Running, now: number): Promise<void> {
    r.lastEnroll = now;
    const { spec } = r;
    const fresh: DeviceEntry[] = [];
    const sel = spec.selection;
    const target = spec.target ?? undefined;
    for (const e of this.fleet.entries()) {
      if (r.devices.has(e.record.rowid) || e.deleting) continue;
      const info = this.fleet.info(e);
      if (!selects(sel, info, r.ids)) continue;
      // A device already on the target version needs nothing.
      if (target !== undefined && info.firmware === target) continue;
      fresh.push(e);
    }
    if (fresh.length === 0) return;
    fresh.sort((a, b) => compareIds(a.record.id, b.record.id));
    const perStage = spec.rollout.stages.map(() => 0);
    for (const d of r.devices.values()) perStage[d.stage] = (perStage[d.stage] ?? 0) + 1;
    const stages = assignStages(spec.rollout.stages, perStage, fresh.length, r.job.stage);
    const devices = fresh.map((e, i) => ({ device: e.record.rowid, deviceId: e.record.id, stage: stages[i] ?? 0 }));
    await this.store.op('enrollJobDevices', { job: r.job.rowid, devices, now });
    for (const d of devices)
      if (!r.devices.has(d.device))
        r.devices.set(d.device, { ...d, state: 'pending', ref: null, reason: null, startedAt: null, finishedAt: null, updatedAt: now });
    this.log.info({ job: r.job.id, devices: devices.length }, 'devices joined a fleet job');
  }

  private online(e: DeviceEntry): boolean {
    return (e.session?.isOpen ?? false) || e.remote !== undefined;
  }

  /** Starts pending devices of the stages reached, within the rollout's limits. */
  private async startDevices(r: Running, now: number): Promise<void> {
    const rollout = r.spec.rollout;
    if (!inWindow(rollout.window, now)) return;
    let inProgress = 0;
    for (const d of r.devices.values()) if (d.state === 'in_progress') inProgress++;
    let room = rollout.maxInProgress - inProgress;
    let interval = 0;
    if (rollout.ratePerMinute !== null) {
      // Evenly spaced, not a minute's worth at once: at most a tick's share per tick.
      interval = 60_000 / rollout.ratePerMinute;
      if (now < r.nextStart) return;
      room = Math.min(room, Math.max(1, Math.floor(this.options.tickMs / interval)));
    }
    if (room <= 0) return;
    const action = r.spec.action;
    const chosen: { d: JobDeviceRecord; e: DeviceEntry; ref: string | null }[] = [];
    const gone: JobDeviceChange[] = [];
    const ordered = [...r.devices.values()].filter((d) => d.state === 'pending' && d.stage <= r.job.stage);
    ordered.sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0));
    for (const d of ordered) {
      if (chosen.length >= room) break;
      const e = this.fleet.getByRowid(d.device);
      if (e === undefined || e.deleting) {
        gone.push({ device: d.device, from: ['pending'], state: 'skipped', reason: 'device deleted' });
        continue;
      }
      // Sleepy and offline devices get their turn when they are back; a desired patch waits for nobody.
      if (action.type !== 'desired' && !this.online(e)) continue;
      if (action.type === 'update' && !e.record.caps.includes(UPDATE_CAPABILITY)) {
        gone.push({ device: d.device, from: ['pending'], state: 'skipped', reason: 'no ota capability' });
        continue;
      }
      chosen.push({ d, e, ref: action.type === 'update' ? newUpdateId() : null });
    }
    if (gone.length > 0) await this.moveDevices(r, gone, now);
    if (chosen.length === 0) return;
    // Written before anything is asked of a device: a new leader finds them in progress, with the update id chosen.
    await this.moveDevices(
      r,
      chosen.map(({ d, ref }) => ({ device: d.device, from: ['pending'], state: 'in_progress', ref })),
      now,
    );
    r.nextStart = now + chosen.length * interval;
    // In slices: a thousand offers (and their first chunk requests) in one turn of the event loop stall it.
    for (let i = 0; i < chosen.length; i += START_SLICE)
      await Promise.all(chosen.slice(i, i + START_SLICE).map(({ d, e }) => this.startOne(r, r.devices.get(d.device) ?? d, e)));
  }

  private requester(r: Running): Requester {
    return { actor: `job:${r.job.id}`, via: 'http' };
  }

  /** Asks the device's service to do the job's action; settles the device at once when that is refused (or, for a desired patch, done). */
  private async startOne(r: Running, d: JobDeviceRecord, e: DeviceEntry): Promise<void> {
    const action = r.spec.action;
    const now = () => Date.now();
    try {
      switch (action.type) {
        case 'update': {
          if (d.ref === null) return;
          const u = await this.services.updates.create(this.requester(r), e.record.id, action.firmware, { job: r.job.id, id: d.ref });
          if (FINAL_UPDATE_STATES.has(u.state)) await this.updateChanged(u);
          return;
        }
        case 'command': {
          const { command } = await this.services.commands.create(this.requester(r), e.record.id, {
            name: action.name,
            params: action.params as CommandInfo['params'],
            ttl: action.ttl,
            timeout: action.timeout,
            // Per device: keys are scoped to the requester (the job), and a retry after a crash finds the command made before.
            key: `${r.job.id}/${e.record.id}`,
          });
          r.byRef.set(command.id, d.device);
          await this.moveDevices(r, [{ device: d.device, from: ['in_progress'], state: 'in_progress', ref: command.id }], now());
          if (FINAL_COMMAND_STATES.has(command.state)) await this.commandChanged(command);
          return;
        }
        case 'desired':
          await this.services.twins.patchDesired(this.requester(r), e.record.id, action.patch as JsonObject, undefined);
          await this.moveDevices(r, [{ device: d.device, from: ['in_progress'], state: 'succeeded', reason: null }], now());
          return;
      }
    } catch (err) {
      if (!(err instanceof HubError))
        this.log.error({ err, job: r.job.id, device: e.record.id }, 'could not start a fleet job on a device');
      const skip = err instanceof HubError && (err.code === HubErrorCode.DeviceUnknown || err.code === HubErrorCode.Validation);
      const reason = err instanceof HubError ? err.message.slice(0, 200) : 'internal error';
      await this.moveDevices(r, [{ device: d.device, from: ['in_progress'], state: skip ? 'skipped' : 'failed', reason }], now());
    }
  }

  /** Applies device moves in the store, then here; tells the listeners. */
  private async moveDevices(r: Running, changes: JobDeviceChange[], now: number): Promise<void> {
    const moved = await this.store.op('changeJobDevices', { job: r.job.rowid, changes, now });
    for (const d of moved) {
      const before = r.devices.get(d.device)?.state;
      this.remember(r, d);
      if (FINAL_JOB_DEVICE_STATES.has(d.state) && before !== d.state) this.finished.inc({ state: d.state });
      if (before !== d.state) this.notify({ kind: 'device', job: r.job.id, device: d });
    }
    if (moved.some((d) => FINAL_JOB_DEVICE_STATES.has(d.state))) this.wake();
  }

  private runningOf(jobId: string | null): Running | undefined {
    return jobId === null || !this.leader ? undefined : this.running.get(jobId);
  }

  private async updateChanged(u: UpdateInfo): Promise<void> {
    const r = this.runningOf(u.job);
    if (r === undefined || !FINAL_UPDATE_STATES.has(u.state)) return;
    const device = r.byRef.get(u.id);
    if (device === undefined) return;
    const state: JobDeviceState = u.state === 'succeeded' ? 'succeeded' : u.state === 'cancelled' ? 'cancelled' : 'failed';
    const reason = state === 'succeeded' ? null : u.reason === null ? u.state : `${u.state}: ${u.reason}`;
    await this.settle(r, device, state, reason, u.id);
  }

  private async commandChanged(c: CommandInfo): Promise<void> {
    const r = this.runningOf(c.key === null ? null : (c.key.split('/')[0] ?? null));
    if (r === undefined || !FINAL_COMMAND_STATES.has(c.state)) return;
    // Only the job's own commands settle its devices: anyone may choose a key that reads `<job>/<device>`.
    if (c.createdBy !== this.requester(r).actor) return;
    const device = r.byRef.get(c.id) ?? this.fleet.get(c.device)?.record.rowid;
    if (device === undefined) return;
    const state: JobDeviceState = c.state === 'succeeded' ? 'succeeded' : c.state === 'cancelled' ? 'cancelled' : 'failed';
    await this.settle(r, device, state, state === 'succeeded' ? null : c.state, c.id);
  }

  private async settle(r: Running, device: number, state: JobDeviceState, reason: string | null, ref: string): Promise<void> {
    try {
      await this.moveDevices(r, [{ device, from: ['in_progress'], state, reason, ref }], Date.now());
    } catch (err) {
      // The next reconcile reads the outcome again.
      this.log.error({ err, job: r.job.id }, 'could not record a fleet job device outcome');
    }
  }

  /** Devices in progress checked against their update or command (events missed, or a start the last leader did not finish). */
  private async reconcile(r: Running, now: number): Promise<void> {
    r.lastReconcile = now;
    const action = r.spec.action;
    for (const d of [...r.devices.values()]) {
      if (d.state !== 'in_progress') continue;
      const e = this.fleet.getByRowid(d.device);
      if (action.type === 'update' && d.ref !== null) {
        const u = await this.store.getDeviceUpdate(d.ref);
        if (u !== undefined) {
          const info = await this.services.updates.get(u.id);
          await this.updateChanged(info);
        } else if (e !== undefined && now - (d.startedAt ?? now) > this.options.reconcileMs) await this.startOne(r, d, e);
      } else if (action.type === 'command') {
        if (d.ref !== null) {
          const c = await this.services.commands.get(d.ref);
          if (c !== undefined) await this.commandChanged(c);
        } else if (e !== undefined && now - (d.startedAt ?? now) > this.options.reconcileMs) await this.startOne(r, d, e);
      } else if (action.type === 'desired' && e !== undefined) await this.startOne(r, d, e);
    }
  }

  /**
   * The deadline passed (whatever the job's state: running, paused or waiting): its
   * unfinished devices end timed_out, then the job (devices first, so that no reader
   * sees the job over with devices still open); the updates or commands of those in
   * progress are cancelled where their state allows. The job's change is conditional
   * on the state read at this tick, as every change: an operator's cancel in between
   * wins, and a pause in between is met again at the next tick.
   */
  private async timeOut(r: Running, now: number): Promise<void> {
    const c = tally(r);
    const open = c.pending + c.in_progress;
    const reason = `deadline passed (${new Date(r.deadlineAt).toISOString()}): ${open} of ${r.devices.size} devices not finished`;
    const started = await this.endOpen(r, true, 'timed_out', 'job deadline passed', now);
    const before = r.job.state;
    await this.changeJob(r, { state: 'timed_out', reason }, now);
    if (r.job.state === 'timed_out' && before !== 'timed_out') {
      this.log.warn({ job: r.job.id, from: before, open, ...c }, 'fleet job timed out at its deadline');
      await this.audit(`job:${r.job.id}`, 'job.timeout', r.job.id, { deadlineAt: r.deadlineAt, unfinished: open });
    }
    await this.cancelStarted(r, started, true);
    this.publishProgress(r, true);
  }

  /** A job that ended (cancelled, aborted): devices not started are skipped, those in progress told to cancel where it is not too late. */
  private async wrapUp(r: Running, now: number): Promise<void> {
    await this.endOpen(r, false, 'skipped', `job ${r.job.state}`, now);
    if (r.job.state === 'completed') return;
    await this.cancelStarted(
      r,
      [...r.devices.values()].filter((d) => d.state === 'in_progress'),
    );
    this.publishProgress(r, true);
  }

  /** Ends the devices not started (and, with `started`, those in progress too) in `state`; returns those that were in progress. */
  private async endOpen(r: Running, started: boolean, state: JobDeviceState, reason: string, now: number): Promise<JobDeviceRecord[]> {
    const open = [...r.devices.values()].filter((d) => d.state === 'pending' || (started && d.state === 'in_progress'));
    if (open.length > 0)
      await this.moveDevices(
        r,
        open.map((d) => ({ device: d.device, from: [d.state], state, reason })),
        now,
      );
    return open.filter((d) => d.state === 'in_progress');
  }

  /**
   * Asks the updates or commands of these devices to cancel; an outcome is recorded only for a device still in progress.
   * `deadline`: the job's deadline passed, so an update ends timed_out, not cancelled (SPEC.md §12.7).
   */
  private async cancelStarted(r: Running, devices: readonly JobDeviceRecord[], deadline = false): Promise<void> {
    const requester = this.requester(r);
    for (const d of devices) {
      if (d.ref === null) continue;
      try {
        if (r.spec.action.type === 'update') await this.updateChanged(await this.services.updates.cancel(requester, d.ref, { deadline }));
        else if (r.spec.action.type === 'command') await this.commandChanged(await this.services.commands.cancel(requester, d.ref));
      } catch (err) {
        // Too late (installing, or already over): its outcome is recorded when it comes.
        if (!(err instanceof HubError)) this.log.error({ err, job: r.job.id }, 'could not cancel a fleet job device');
      }
    }
  }

  private publishProgress(r: Running, force: boolean): void {
    const p = jobProgress(r.job, tally(r), stageTally(r), r.deadlineAt);
    const json = JSON.stringify(p);
    if (!force && json === r.published) return;
    r.published = json;
    this.notify({ kind: 'progress', progress: p });
  }

  private notify(n: JobNotice): void {
    for (const l of this.listeners) {
      try {
        l(n);
      } catch (err) {
        this.log.error({ err }, 'a job listener failed');
      }
    }
  }
}

function tally(r: Running): Tally {
  const t = emptyTally();
  for (const d of r.devices.values()) t[d.state]++;
  return t;
}

function stageTally(r: Running): Tally[] {
  const out = r.spec.rollout.stages.map(() => emptyTally());
  for (const d of r.devices.values()) {
    const t = out[d.stage];
    if (t !== undefined) t[d.state]++;
  }
  return out;
}
