// Typed calls to the hub's HTTP API (/api/v1, see /api/v1/openapi.json). Shapes come
// from the protocol package where it defines them; the rest are declared here.

import type {
  AlarmCounts,
  AlarmInfo,
  AlarmRule,
  AlarmRuleDoc,
  CommandInfo,
  DashboardDoc,
  DeviceInfo,
  EventInfo,
  HubStats,
  JobDeviceStateName,
  JobProgressInfo,
  ModelProfile,
  ModelProfileDoc,
  OperatorInfo,
  PresenceInfo,
  Role,
  SavedDashboard,
  TwinInfo,
  WebhookDeliveryInfo,
  WebhookInfo,
} from '@halyard/firmware-protocol';
import type { ApiSeries } from '../lib/series.ts';
import type { ApiLatest } from '../state/latest-store.ts';
import { API_BASE, api } from './http.ts';

const enc = encodeURIComponent;

function query(params: Record<string, string | number | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) p.set(k, String(v));
  const s = p.toString();
  return s === '' ? '' : `?${s}`;
}

export interface Login {
  token: string;
  expiresAt: number;
  operator: OperatorInfo;
}

export interface AuditEntry {
  id: number;
  at: number;
  actor: string;
  action: string;
  target: string | null;
  detail: unknown;
}

export interface Integrator {
  username: string;
  acl: { subscribe: string[]; publish: string[] };
  defaultAcl: boolean;
  createdAt: number;
  /** MQTT clients of the account connected now (absent from hubs before persistent sessions). */
  clients?: number;
  /** Those clients and the node each is connected to (absent from hubs before cluster-wide listing). */
  connections?: { clientId: string; node: string }[];
  sessions?: MqttSession[];
}

/** A persistent (clean=false) MQTT session: connected, or waiting for its client with a queue. */
export interface MqttSession {
  clientId: string;
  connected: boolean;
  queued: number;
  queuedBytes: number;
  dropped: number;
  /** When it ends unless its client returns; absent while connected. */
  expiresAt?: number;
  /** The node that holds it (absent from hubs before cluster-wide listing). */
  node?: string;
}

/** Where integrators connect; the hub names its bound ports (host: the console's own). */
export interface MqttEndpoint {
  port: number;
  tlsPort?: number;
  wsPath: string;
  prefix: string;
}

export interface TelemetryAnswer {
  device: string;
  from: number;
  to: number;
  bucket: number | null;
  series: ApiSeries[];
}

export const session = {
  login: (username: string, password: string) => api<Login>('POST', '/login', { body: { username, password }, quiet401: true }),
  me: () => api<OperatorInfo>('GET', '/me', { quiet401: true }),
  logout: () => api<void>('POST', '/logout', { quiet401: true }),
  changePassword: (current: string, next: string) => api<void>('POST', '/me/password', { body: { current, new: next } }),
};

export const devices = {
  create: (d: { id: string; name?: string; model?: string; tags?: string[] }) =>
    api<DeviceInfo & { token: string }>('POST', '/devices', { body: d }),
  get: (id: string) => api<DeviceInfo>('GET', `/devices/${enc(id)}`),
  update: (id: string, patch: { name?: string | null; tags?: string[] }) =>
    api<DeviceInfo>('PATCH', `/devices/${enc(id)}`, { body: patch }),
  remove: (id: string) => api<void>('DELETE', `/devices/${enc(id)}`),
  rotate: (id: string, reinstate: boolean) =>
    api<{ id: string; token: string; revoked: boolean }>('POST', `/devices/${enc(id)}/token`, { body: reinstate ? { reinstate } : {} }),
  revoke: (id: string) => api<DeviceInfo>('POST', `/devices/${enc(id)}/revoke`, { body: {} }),
  presence: (id: string, limit = 100) => api<{ presence: PresenceInfo[] }>('GET', `/devices/${enc(id)}/presence${query({ limit })}`),
  events: (id: string, limit = 100) => api<{ events: EventInfo[] }>('GET', `/devices/${enc(id)}/events${query({ limit })}`),
  telemetry: (id: string, q: { from: number; to: number; bucket?: string; signal?: AbortSignal }) =>
    api<TelemetryAnswer>(
      'GET',
      `/devices/${enc(id)}/telemetry${query({ from: q.from, to: q.to, bucket: q.bucket, agg: q.bucket ? 'avg,min,max,last' : undefined })}`,
      {
        ...(q.signal ? { signal: q.signal } : {}),
      },
    ),
  latest: (id: string) => api<{ device: string; metrics: Record<string, unknown>[] }>('GET', `/devices/${enc(id)}/telemetry/latest`),
  commands: (id: string, limit = 50) => api<{ commands: CommandInfo[] }>('GET', `/devices/${enc(id)}/commands${query({ limit })}`),
  twin: (id: string) => api<TwinInfo>('GET', `/devices/${enc(id)}/twin`),
};

export const models = {
  list: () => api<{ profiles: ModelProfile[] }>('GET', '/models'),
  profile: (model: string) => api<ModelProfile>('GET', `/models/${enc(model)}/profile`),
  save: (model: string, doc: ModelProfileDoc) => api<ModelProfile>('PUT', `/models/${enc(model)}/profile`, { body: doc }),
};

/** The signed-in operator's own dashboard, kept on the hub. */
export const dashboard = {
  get: () => api<SavedDashboard>('GET', '/me/dashboard'),
  save: (d: DashboardDoc) => api<SavedDashboard>('PUT', '/me/dashboard', { body: d }),
};

export const telemetry = {
  /** One page of every device's newest values; `next` continues it (null: the last page). */
  latestPage: (after: string | undefined, signal?: AbortSignal) =>
    api<{ devices: Record<string, ApiLatest[]>; next: string | null }>('GET', `/telemetry/latest${query({ after, limit: 1000 })}`, {
      ...(signal ? { signal } : {}),
    }),
};

export const events = {
  list: (limit = 200) => api<{ events: EventInfo[] }>('GET', `/events${query({ limit })}`),
};

/** Alarms and their rules (README.md § Alarms and notifications). */
export const alarms = {
  list: (q: { device?: string; rule?: string; state?: string; severity?: string; before?: string; limit?: number }) =>
    api<{ alarms: AlarmInfo[] }>('GET', `/alarms${query({ ...q, limit: q.limit ?? 200 })}`),
  counts: () => api<AlarmCounts>('GET', '/alarms/counts'),
  acknowledge: (id: string, note: string) =>
    api<AlarmInfo>('POST', `/alarms/${enc(id)}/acknowledge`, { body: note === '' ? {} : { note } }),
  clear: (id: string, note: string) => api<AlarmInfo>('POST', `/alarms/${enc(id)}/clear`, { body: note === '' ? {} : { note } }),
};

/** A rule as the editor sends it: durations may be strings ("10s"). */
export type RuleInput = Omit<AlarmRuleDoc, 'condition' | 'minDuration'> & {
  condition: Record<string, unknown>;
  minDuration: string | number;
};

export const alarmRules = {
  list: () => api<{ rules: AlarmRule[] }>('GET', '/alarm-rules'),
  create: (r: RuleInput) => api<AlarmRule>('POST', '/alarm-rules', { body: r }),
  update: (id: string, r: RuleInput) => api<AlarmRule>('PUT', `/alarm-rules/${enc(id)}`, { body: r }),
  remove: (id: string) => api<AlarmRule>('DELETE', `/alarm-rules/${enc(id)}`),
};

export const operators = {
  list: () => api<{ operators: OperatorInfo[] }>('GET', '/operators'),
  create: (o: { username: string; password: string; role: Role }) => api<OperatorInfo>('POST', '/operators', { body: o }),
  update: (username: string, patch: { role?: Role; disabled?: boolean; password?: string }) =>
    api<OperatorInfo>('PATCH', `/operators/${enc(username)}`, { body: patch }),
  remove: (username: string) => api<void>('DELETE', `/operators/${enc(username)}`),
};

export const integrators = {
  list: () => api<{ integrators: Integrator[]; mqtt?: MqttEndpoint; missingNodes?: string[] }>('GET', '/integrators'),
  create: (i: { username: string; password: string; acl?: { subscribe?: string[]; publish?: string[] } }) =>
    api<Integrator>('POST', '/integrators', { body: i }),
  remove: (username: string) => api<void>('DELETE', `/integrators/${enc(username)}`),
  dropSession: (username: string, clientId: string) => api<void>('DELETE', `/integrators/${enc(username)}/sessions/${enc(clientId)}`),
};

/** Who (an operator or integrator), what (an action, or the start of some ending in a dot: `job.`) and on what. */
export interface AuditFilter {
  actor?: string;
  action?: string;
  target?: string;
}

export const audit = {
  list: (before?: number, limit = 100, filter: AuditFilter = {}) =>
    api<{ entries: AuditEntry[] }>('GET', `/audit${query({ before, limit, ...filter })}`),
};

export interface WebhookInput {
  name: string;
  url: string;
  events: WebhookInfo['events'];
  alarmSeverities: WebhookInfo['alarmSeverities'];
  alarmRules?: WebhookInfo['alarmRules'];
  enabled?: boolean;
}

export const webhooks = {
  list: () => api<{ webhooks: WebhookInfo[] }>('GET', '/webhooks'),
  create: (w: WebhookInput) => api<WebhookInfo & { secret: string }>('POST', '/webhooks', { body: w }),
  update: (id: string, patch: Partial<WebhookInput>) => api<WebhookInfo>('PATCH', `/webhooks/${enc(id)}`, { body: patch }),
  remove: (id: string) => api<void>('DELETE', `/webhooks/${enc(id)}`),
  rotate: (id: string) => api<WebhookInfo & { secret: string }>('POST', `/webhooks/${enc(id)}/secret`),
  test: (id: string) => api<{ delivery: string }>('POST', `/webhooks/${enc(id)}/test`),
  deliveries: (id: string, limit = 50) =>
    api<{ deliveries: WebhookDeliveryInfo[]; next: number | null }>('GET', `/webhooks/${enc(id)}/deliveries${query({ limit })}`),
};

/**
 * The URL of a streamed CSV export (README.md § Data export and retention): a plain
 * link the browser downloads with the session cookie, never held in the page.
 */
export function exportUrl(path: string, params: Record<string, string | number | undefined> = {}): string {
  return `${API_BASE}${path}${query({ format: 'csv', ...params })}`;
}

export const hub = {
  stats: () => api<HubStats>('GET', '/hub/stats'),
};

/** A device's state in a fleet job (docs/jobs.md). */
export type JobDeviceState = JobDeviceStateName;

/** A job as GET /jobs/:id answers: its progress (also live on the console channel's `jobs` stream) and what does not change. */
export interface JobInfo extends JobProgressInfo {
  name: string;
  reasons: { reason: string; n: number }[];
  spec: {
    action: { type: string; name?: string; firmware?: string };
    selection: Record<string, unknown>;
    /** ms from creation (absent on jobs made before deadlines). */
    deadline?: number;
    /** An update job's version (from its image). */
    target?: string;
  };
  createdAt: number;
  createdBy: string;
}

export interface JobDevice {
  device: string;
  stage: number;
  state: JobDeviceState;
  ref: string | null;
  reason: string | null;
  startedAt: number | null;
  finishedAt: number | null;
}

export interface FirmwareImage {
  id: string;
  model: string;
  version: string;
  notes: string;
  size: number;
  /** Hex; null while uploading. */
  sha256: string | null;
  status: 'uploading' | 'ready';
  createdAt: number;
  createdBy: string;
}

export const jobs = {
  list: () => api<{ jobs: JobInfo[] }>('GET', '/jobs?limit=100'),
  get: (id: string) => api<JobInfo>('GET', `/jobs/${enc(id)}`),
  devices: (id: string, after?: string) => api<{ devices: JobDevice[] }>('GET', `/jobs/${enc(id)}/devices${query({ after, limit: 200 })}`),
  preview: (spec: unknown) => api<{ count: number; online: number; sample: string[] }>('POST', '/jobs/preview', { body: spec }),
  create: (spec: unknown) => api<JobInfo>('POST', '/jobs', { body: spec }),
  act: (id: string, verb: 'pause' | 'resume' | 'approve' | 'cancel') => api<JobInfo>('POST', `/jobs/${enc(id)}/${verb}`),
  firmware: () => api<{ firmware: FirmwareImage[] }>('GET', '/firmware'),
};
