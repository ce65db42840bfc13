// The Store's named write operations on PostgreSQL, each run in one transaction on
// the connection given (postgres-store.ts opens it and commits). Same names,
// arguments, results and HubError codes as the SQLite ones (../ops.ts).

import type { StoreOpArgs, StoreOpName, StoreOpResult } from '../store.js';
import * as alarms from './alarms.js';
import { createCommand, transitionCommands } from './commands.js';
import * as dashboards from './dashboards.js';
import * as deviceUpdates from './device-updates.js';
import * as devices from './devices.js';
import { insertEvent, insertPresence } from './events.js';
import * as firmware from './firmware.js';
import * as jobs from './jobs.js';
import * as modelProfiles from './model-profiles.js';
import * as operators from './operators.js';
import type { Client } from './pool.js';
import { patchDesired } from './twins.js';
import * as webhooks from './webhooks.js';

export type PgOps = { [K in StoreOpName]: (c: Client, args: StoreOpArgs<K>) => Promise<StoreOpResult<K>> };

export const pgOps: PgOps = {
  createDevice: (c, d) => devices.createDevice(c, d),
  updateDevice: (c, a) => devices.updateDevice(c, a.id, a.patch),
  deleteDevice: (c, a) => devices.deleteDevice(c, a.id),
  setSecret: (c, a) => devices.setSecret(c, a.id, a.secretHash, a.unrevoke),
  revokeDevice: (c, a) => devices.revokeDevice(c, a.id, a.at),
  recordHello: (c, a) => devices.recordHello(c, a.rowid, a.firmware, a.model, a.boot, a.caps ?? []),
  touchDevices: (c, a) => devices.touchDevices(c, a),
  recordPresence: (c, a) => insertPresence(c, a),
  insertEvent: (c, e) => insertEvent(c, e),

  createOperator: (c, o) => operators.createOperator(c, o),
  updateOperator: (c, a) => operators.updateOperator(c, a.username, a.patch),
  deleteOperator: (c, a) => operators.deleteOperator(c, a.username),
  createSession: (c, s) => operators.createSession(c, s),
  deleteSession: (c, a) => operators.deleteSession(c, a.tokenHash),
  audit: (c, e) => operators.appendAudit(c, e),

  createCommand: async (c, a) => {
    await devices.requireDevice(c, a.command.device);
    return createCommand(c, a.command, a.maxOpen, a.keyTtl);
  },
  transitionCommands: (c, moves) => transitionCommands(c, moves),
  patchDesired: async (c, a) => {
    await devices.requireDevice(c, a.device);
    return patchDesired(c, a.device, a.patch, a.ifMatch, a.now, a.maxFrame);
  },

  createIntegrator: (c, i) => operators.createIntegrator(c, i),
  deleteIntegrator: (c, a) => operators.deleteIntegrator(c, a.username),

  putModelProfile: (c, p) => modelProfiles.putModelProfile(c, p),
  deleteModelProfile: (c, a) => modelProfiles.deleteModelProfile(c, a.model),

  putDashboard: (c, d) => dashboards.putDashboard(c, d),

  beginFirmware: (c, a) => firmware.beginFirmware(c, a.image, a.staleBefore),
  putFirmwareChunk: (c, a) => firmware.putFirmwareChunk(c, a.image, a.n, a.data, a.at, a.maxTotal ?? Number.POSITIVE_INFINITY),
  finishFirmware: (c, a) => firmware.finishFirmware(c, a.image, a.size, a.sha256, a.signature),
  deleteFirmware: (c, a) => firmware.deleteFirmware(c, a.id),
  initMeta: (c, a) => firmware.initMeta(c, a.key, a.value),
  createDeviceUpdate: (c, u) => deviceUpdates.createDeviceUpdate(c, u),
  transitionUpdate: async (c, t) => (await deviceUpdates.transitionUpdate(c, t)) ?? null,

  putAlarmRule: (c, r) => alarms.putAlarmRule(c, r),
  createAlarmRule: (c, a) => alarms.createAlarmRule(c, a),
  replaceAlarmRule: (c, r) => alarms.replaceAlarmRule(c, r),
  deleteAlarmRule: (c, a) => alarms.deleteAlarmRule(c, a.id),
  raiseAlarm: (c, a) => alarms.raiseAlarm(c, a),
  stepAlarm: (c, s) => alarms.stepAlarm(c, s),

  putWebhook: (c, w) => webhooks.putWebhook(c, w),
  createWebhook: (c, a) => webhooks.createWebhook(c, a),
  replaceWebhook: (c, w) => webhooks.replaceWebhook(c, w),
  deleteWebhook: (c, a) => webhooks.deleteWebhook(c, a.id),
  enqueueDeliveries: (c, a) => webhooks.enqueueDeliveries(c, a),
  recordAttempt: (c, a) => webhooks.recordAttempt(c, a),
  pruneDeliveries: (c, a) => webhooks.pruneDeliveries(c, a),

  createJob: (c, j) => jobs.createJob(c, j),
  changeJob: (c, a) => jobs.changeJob(c, a),
  enrollJobDevices: (c, a) => jobs.enrollJobDevices(c, a),
  changeJobDevices: (c, a) => jobs.changeJobDevices(c, a),
};
