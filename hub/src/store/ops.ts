// Every write the hub makes, as named operations the writer thread runs. The main
// thread calls them through Writer.op(name, args); one thread owns all writes, so
// no write ever waits on another connection's lock.

import type { AlarmRule, JsonObject } from '@halyard/firmware-protocol';
import type { AlarmStep } from '../alarms/lifecycle.js';
import { HubError, HubErrorCode } from '../errors.js';
import * as alarms from './alarms.js';
import { createCommand, type NewCommand, type Transition, transitionCommands } from './commands.js';
import * as dashboards from './dashboards.js';
import type { Db } from './db.js';
import * as deviceUpdates from './device-updates.js';
import * as devices from './devices.js';
import { insertEvent, insertPresence, type NewEvent, type NewPresence } from './events.js';
import * as firmware from './firmware.js';
import * as integrators from './integrators.js';
import * as jobs from './jobs.js';
import * as modelProfiles from './model-profiles.js';
import * as operators from './operators.js';
import type { StoreOpArgs, StoreOpName, StoreOpResult } from './store.js';
import type { TelemetryWriter } from './telemetry/log-compactor.js';
import { patchDesired } from './twins.js';
import * as webhooks from './webhooks.js';

export interface OpContext {
  db: Db;
  telemetry: TelemetryWriter;
  /**
   * Rowids of devices deleted since this thread started. Rowids are never reused
   * (AUTOINCREMENT), so a frame, presence row or command still in flight for one of
   * them is dropped instead of leaving rows behind the delete.
   */
  deleted: Set<number>;
}

function requireDevice(db: Db, rowid: number): void {
  if (db.prepare('SELECT 1 FROM devices WHERE rowid = ?').get(rowid) === undefined)
    throw new HubError(HubErrorCode.DeviceUnknown, 'the device was deleted');
}

export const ops = {
  createDevice: ({ db }: OpContext, d: devices.NewDevice) => devices.createDevice(db, d),
  updateDevice: ({ db }: OpContext, a: { id: string; patch: devices.DevicePatch }) => devices.updateDevice(db, a.id, a.patch),
  deleteDevice: ({ db, telemetry, deleted }: OpContext, a: { id: string }) => {
    const d = db.transaction(() => {
      const rowid = db.prepare('SELECT rowid FROM devices WHERE id = ?').pluck().get(a.id) as number | undefined;
      if (rowid !== undefined)
        telemetry.forgetDevice(rowid, db.prepare('SELECT id FROM series WHERE device = ?').pluck().all(rowid) as number[]);
      const d = devices.deleteDevice(db, a.id);
      db.prepare('DELETE FROM command_history WHERE command IN (SELECT rowid FROM commands WHERE device = ?)').run(d.rowid);
      db.prepare('DELETE FROM commands WHERE device = ?').run(d.rowid);
      db.prepare('DELETE FROM twins WHERE device = ?').run(d.rowid);
      db.prepare('DELETE FROM device_updates WHERE device = ?').run(d.rowid);
      db.prepare('DELETE FROM alarms WHERE device = ?').run(d.rowid);
      db.prepare('DELETE FROM job_devices WHERE device = ?').run(d.rowid);
      return d;
    })();
    deleted.add(d.rowid);
    return d;
  },
  setSecret: ({ db }: OpContext, a: { id: string; secretHash: Uint8Array; unrevoke: boolean }) =>
    devices.setSecret(db, a.id, a.secretHash, a.unrevoke),
  revokeDevice: ({ db }: OpContext, a: { id: string; at: number }) => devices.revokeDevice(db, a.id, a.at),
  recordHello: ({ db }: OpContext, a: { rowid: number; firmware: string; model: string; boot: number | null; caps?: string[] }) =>
    devices.recordHello(db, a.rowid, a.firmware, a.model, a.boot, a.caps ?? []),
  touchDevices: ({ db }: OpContext, a: devices.Touch[]) => db.transaction(() => devices.touchDevices(db, a))(),
  recordPresence: ({ db, deleted }: OpContext, a: NewPresence[]) =>
    db.transaction(() => insertPresence(db, deleted.size === 0 ? a : a.filter((p) => !deleted.has(p.device))))(),
  insertEvent: ({ db }: OpContext, e: NewEvent) => insertEvent(db, e),

  createOperator: (
    { db }: OpContext,
    o: { username: string; passwordHash: string; role: 'admin' | 'operator' | 'viewer'; createdAt: number },
  ) => operators.createOperator(db, o),
  updateOperator: ({ db }: OpContext, a: { username: string; patch: operators.OperatorPatch }) =>
    db.transaction(() => operators.updateOperator(db, a.username, a.patch))(),
  deleteOperator: ({ db }: OpContext, a: { username: string }) => db.transaction(() => operators.deleteOperator(db, a.username))(),
  createSession: ({ db }: OpContext, s: { tokenHash: Uint8Array; username: string; createdAt: number; expiresAt: number }) =>
    operators.createSession(db, s),
  deleteSession: ({ db }: OpContext, a: { tokenHash: Uint8Array }) => operators.deleteSession(db, a.tokenHash),
  audit: ({ db }: OpContext, e: operators.AuditEntry) => operators.appendAudit(db, e),

  createCommand: ({ db }: OpContext, a: { command: NewCommand; maxOpen: number; keyTtl: number }) =>
    db.transaction(() => {
      requireDevice(db, a.command.device);
      return createCommand(db, a.command, a.maxOpen, a.keyTtl);
    })(),
  transitionCommands: ({ db }: OpContext, moves: Transition[]) => db.transaction(() => transitionCommands(db, moves))(),
  patchDesired: ({ db }: OpContext, a: { device: number; patch: JsonObject; ifMatch: number | undefined; now: number; maxFrame: number }) =>
    db.transaction(() => {
      requireDevice(db, a.device);
      return patchDesired(db, a.device, a.patch, a.ifMatch, a.now, a.maxFrame);
    })(),

  createIntegrator: ({ db }: OpContext, i: integrators.IntegratorRecord) => integrators.createIntegrator(db, i),
  deleteIntegrator: ({ db }: OpContext, a: { username: string }) => integrators.deleteIntegrator(db, a.username),

  putModelProfile: ({ db }: OpContext, p: modelProfiles.ModelProfileRecord & { max: number }) => modelProfiles.putModelProfile(db, p),
  deleteModelProfile: ({ db }: OpContext, a: { model: string }) => modelProfiles.deleteModelProfile(db, a.model),

  putDashboard: ({ db }: OpContext, d: dashboards.DashboardRecord) => dashboards.putDashboard(db, d),

  beginFirmware: ({ db }: OpContext, a: { image: firmware.NewFirmware; staleBefore: number }) =>
    firmware.beginFirmware(db, a.image, a.staleBefore),
  putFirmwareChunk: ({ db }: OpContext, a: { image: number; n: number; data: Uint8Array; at: number; maxTotal?: number }) =>
    firmware.putFirmwareChunk(db, a.image, a.n, a.data, a.at, a.maxTotal ?? Number.POSITIVE_INFINITY),
  finishFirmware: ({ db }: OpContext, a: { image: number; size: number; sha256: Uint8Array; signature: Uint8Array | null }) =>
    firmware.finishFirmware(db, a.image, a.size, a.sha256, a.signature),
  deleteFirmware: ({ db }: OpContext, a: { id: string }) => firmware.deleteFirmware(db, a.id),
  initMeta: ({ db }: OpContext, a: { key: string; value: string }) => firmware.initMeta(db, a.key, a.value),
  createDeviceUpdate: ({ db }: OpContext, u: deviceUpdates.NewDeviceUpdate) => deviceUpdates.createDeviceUpdate(db, u),
  transitionUpdate: ({ db }: OpContext, t: deviceUpdates.UpdateTransition) => deviceUpdates.transitionUpdate(db, t) ?? null,

  putAlarmRule: ({ db }: OpContext, r: AlarmRule) => alarms.putAlarmRule(db, r),
  createAlarmRule: ({ db }: OpContext, a: { rule: AlarmRule; max: number }) => alarms.createAlarmRule(db, a),
  replaceAlarmRule: ({ db }: OpContext, r: AlarmRule) => alarms.replaceAlarmRule(db, r),
  deleteAlarmRule: ({ db }: OpContext, a: { id: string }) => alarms.deleteAlarmRule(db, a.id),
  raiseAlarm: ({ db }: OpContext, a: alarms.NewAlarm) => db.transaction(() => alarms.raiseAlarm(db, a))(),
  stepAlarm: ({ db }: OpContext, s: AlarmStep) => db.transaction(() => alarms.stepAlarm(db, s))(),

  putWebhook: ({ db }: OpContext, w: webhooks.WebhookRecord) => webhooks.putWebhook(db, w),
  createWebhook: ({ db }: OpContext, a: { webhook: webhooks.WebhookRecord; max: number }) => webhooks.createWebhook(db, a),
  replaceWebhook: ({ db }: OpContext, w: webhooks.WebhookRecord) => webhooks.replaceWebhook(db, w),
  deleteWebhook: ({ db }: OpContext, a: { id: string }) => webhooks.deleteWebhook(db, a.id),
  enqueueDeliveries: ({ db }: OpContext, a: { deliveries: webhooks.NewDelivery[]; maxPending: number }) =>
    webhooks.enqueueDeliveries(db, a),
  recordAttempt: ({ db }: OpContext, a: webhooks.DeliveryAttempt) => webhooks.recordAttempt(db, a),
  pruneDeliveries: ({ db }: OpContext, a: { before: number }) => webhooks.pruneDeliveries(db, a),

  createJob: ({ db }: OpContext, j: jobs.NewJob) => jobs.createJob(db, j),
  changeJob: ({ db }: OpContext, c: jobs.JobChange) => jobs.changeJob(db, c),
  enrollJobDevices: ({ db }: OpContext, a: { job: number; devices: { device: number; deviceId: string; stage: number }[]; now: number }) =>
    jobs.enrollJobDevices(db, a),
  changeJobDevices: ({ db }: OpContext, a: { job: number; changes: jobs.JobDeviceChange[]; now: number }) => jobs.changeJobDevices(db, a),
};

export type Ops = typeof ops;
export type OpName = keyof Ops;
export type OpArgs<K extends OpName> = Parameters<Ops[K]>[1];
export type OpResult<K extends OpName> = ReturnType<Ops[K]>;

// The SQLite operations keep the Store contract (store.ts): a change to either fails to compile.
type SameAs<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type OpsKeepContract = {
  [K in StoreOpName]: SameAs<OpArgs<K>, StoreOpArgs<K>> extends true ? (SameAs<OpResult<K>, StoreOpResult<K>> extends true ? true : K) : K;
};
export const opsKeepContract: OpsKeepContract[StoreOpName] extends true ? true : never = true;
