// Everything a request handler or gateway may need, passed explicitly.

import type { AlarmEvaluator } from './alarms/evaluator.js';
import type { AlarmService } from './alarms/service.js';
import type { Audit } from './audit.js';
import type { LoginLimiter } from './auth/login-limiter.js';
import type { SessionCache } from './auth/sessions.js';
import type { EventBus } from './bus.js';
import type { ClusterInfo } from './cluster/cluster.js';
import type { Leadership } from './cluster/leadership.js';
import type { CommandService } from './commands/service.js';
import type { HubConfig } from './config.js';
import type { DashboardService } from './dashboards/service.js';
import type { DeviceGateway } from './device/gateway.js';
import type { FrameMeta } from './device/session.js';
import type { DeviceService } from './devices/service.js';
import type { FirmwareLibrary } from './firmware/library.js';
import type { Fleet } from './fleet.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import type { ModelProfileService } from './models/service.js';
import type { OperatorService } from './operators/service.js';
import type { Store } from './store/store.js';
import type { TelemetryService } from './telemetry/service.js';
import type { TwinService } from './twins/service.js';
import type { UpdateService } from './updates/service.js';
import type { WebhookService } from './webhooks/service.js';

export interface HubContext {
  config: Readonly<HubConfig>;
  log: Logger;
  bus: EventBus;
  metrics: Metrics;
  store: Store<FrameMeta>;
  fleet: Fleet;
  devices: DeviceGateway;
  deviceService: DeviceService;
  operators: OperatorService;
  models: ModelProfileService;
  dashboards: DashboardService;
  commands: CommandService;
  twins: TwinService;
  telemetry: TelemetryService;
  /** Firmware images (docs/firmware.md). */
  firmware: FirmwareLibrary;
  /** Firmware updates of single devices (SPEC.md §12). */
  updates: UpdateService;
  /** Alarm rules and alarms (README.md § Alarms and notifications). */
  alarms: AlarmService;
  /** Evaluates alarm rules as data arrives; knows every alarm not cleared. */
  alarmEvaluator: AlarmEvaluator;
  /** Webhooks and their deliveries (README.md § Alarms and notifications). */
  webhooks: WebhookService;
  loginLimiter: LoginLimiter;
  sessions: SessionCache;
  startedAt: number;
  audit: Audit;
  /** Whether this hub runs the singleton work now (always, unless it is a cluster node that lost the election). */
  leadership: Leadership;
  /** This node in cluster mode (--cluster); undefined for a single hub. */
  cluster: ClusterInfo | undefined;
  /** Why the hub is not healthy, if it is not. */
  problems(): string[];
  /** Storage figures /healthz shows whether healthy or not. */
  storageHealth(): { quarantined: number; reachable?: boolean };
}
