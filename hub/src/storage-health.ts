// What the store reports about its background work, turned into metrics, log lines
// and /healthz figures: telemetry that compaction set aside (quarantined),
// maintenance steps that keep failing, and whether the database server answers
// (one log line when it goes away, one when it is back, however many frames failed).

import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import type { Quarantined, Store, StoreConnection } from './store/store.js';

/** Maintenance steps failed in a row before /healthz reports it (one can be a passing lock or a full disk freed at once). */
export const MAINTENANCE_FAILING_AFTER = 3;

export interface StorageHealth {
  /** Rows in telemetry_quarantine (at start, plus what this process added). */
  quarantined: number;
  /** Maintenance steps failed in a row, now. */
  maintenanceFailing: number;
  /** The database server's state; undefined for engines without one (SQLite). */
  connection: StoreConnection | undefined;
  /** When the server stopped answering, while it does not. */
  downSince?: number | undefined;
  /** Names devices in log lines; set once the fleet is loaded. */
  deviceId: (rowid: number) => string | undefined;
}

export async function watchStorage(store: Store<unknown>, metrics: Metrics, log: Logger, engine = 'sqlite'): Promise<StorageHealth> {
  const health: StorageHealth = { quarantined: 0, maintenanceFailing: 0, connection: undefined, deviceId: () => undefined };
  metrics.storeUp.set({ engine }, 1);
  store.on('connection', (c) => {
    const was = health.connection?.up ?? true;
    health.connection = c;
    // A store reports changes only, but a repeat must not count or log again.
    if (c.up === was) return;
    metrics.storeUp.set({ engine: c.engine }, c.up ? 1 : 0);
    if (!c.up) {
      metrics.storeOutages.inc({ engine: c.engine });
      log.error(
        { engine: c.engine, error: c.error },
        'storage unreachable: device frames are not acknowledged, device reads paused, new device connections refused; reconnecting',
      );
    } else {
      const downMs = c.since - (health.downSince ?? c.since);
      metrics.storeDownSeconds.inc({ engine: c.engine }, downMs / 1000);
      log.info({ engine: c.engine, downMs, probes: c.attempts, lastError: c.error }, 'storage reachable again: resuming');
    }
    health.downSince = c.up ? undefined : c.since;
  });
  // Listened to before the count is read: compaction may set rows aside as soon as it
  // runs. (SQLite answers the count before the thread's first message is handled.)
  store.on('quarantined', (items) => {
    health.quarantined += items.length;
    // One line per device and step, however many of its frames were set aside.
    const byDevice = new Map<number, Quarantined[]>();
    for (const q of items) {
      metrics.telemetryQuarantined.inc({ kind: q.kind });
      const list = byDevice.get(q.device);
      if (list === undefined) byDevice.set(q.device, [q]);
      else list.push(q);
    }
    for (const [rowid, list] of byDevice) {
      log.error(
        {
          device: health.deviceId(rowid) ?? null,
          rowid,
          frames: list.filter((q) => q.kind === 'frame').length,
          series: list.filter((q) => q.kind === 'series').length,
          points: list.reduce((a, q) => a + q.points, 0),
          reason: list[0]?.reason,
        },
        "telemetry compaction cannot store this device's data: set aside in telemetry_quarantine, compaction goes on",
      );
    }
  });
  // The store logs the queue filling and draining (once each way); each refusal is counted here.
  store.on('opRefused', (op) => metrics.storeOpsRefused.inc({ op }));
  store.on('maintenance', (failing) => {
    if (failing > 0) metrics.maintenanceFailures.inc();
    health.maintenanceFailing = failing;
  });
  health.quarantined += await store.quarantinedCount();
  if (health.quarantined > 0)
    log.warn({ quarantined: health.quarantined }, 'telemetry_quarantine holds telemetry compaction could not store');
  return health;
}
