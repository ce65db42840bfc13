// Everything a request handler or gateway may need, passed explicitly.

import type { LoginLimiter } from './auth/login-limiter.js';
import type { SessionCache } from './auth/sessions.js';
import type { EventBus } from './bus.js';
import type { CommandService } from './commands/service.js';
import type { HubConfig } from './config.js';
import type { DeviceGateway } from './device/gateway.js';
import type { FrameMeta } from './device/session.js';
import type { Fleet } from './fleet.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import type { Reader } from './store/reader.js';
import type { Writer } from './store/writer.js';
import type { TelemetryService } from './telemetry/service.js';
import type { TwinService } from './twins/service.js';

export interface HubContext {
  config: Readonly<HubConfig>;
  log: Logger;
  bus: EventBus;
  metrics: Metrics;
  writer: Writer<FrameMeta>;
  reader: Reader;
  fleet: Fleet;
  devices: DeviceGateway;
  commands: CommandService;
  twins: TwinService;
  telemetry: TelemetryService;
  loginLimiter: LoginLimiter;
  sessions: SessionCache;
  startedAt: number;
  /** Writes an audit entry; resolves once written. Failures are logged, never thrown at the caller. */
  audit(actor: string, action: string, target: string | null, detail?: unknown): Promise<void>;
  /** Why the hub is not healthy, if it is not. */
  problems(): string[];
  /** Storage figures /healthz shows whether healthy or not. */
  storageHealth(): { quarantined: number };
}
