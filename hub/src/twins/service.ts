// Twins at run time (SPEC.md §7): desired changes go to the device at once and on
// every reconnect; applied reports are announced on the bus. In a cluster a change
// made on another node arrives as its `twin` event, and the node serving the
// device sends it; a lost event is made up for at the device's next connect, which
// reads the document from the store.

import { type JsonObject, MessageType, type TwinInfo } from '@halyard/firmware-protocol';
import { type Audit, type Requester, viaDetail } from '../audit.js';
import type { EventBus } from '../bus.js';
import type { HubConfig } from '../config.js';
import { jsonToData } from '../data-json.js';
import type { DeviceSession } from '../device/session.js';
import { assertDownlinkData, downlinkDataProblem } from '../downlink-data.js';
import { HubError, HubErrorCode } from '../errors.js';
import type { DeviceEntry, Fleet } from '../fleet.js';
import type { Logger } from '../log.js';
import type { ReportedOutcome, Store, TwinState } from '../store/store.js';
import { twinInfo } from './info.js';

export class TwinService {
  /** The desired version each session was last sent: a version is not sent twice, nor an older one after a newer. */
  private readonly sent = new WeakMap<DeviceSession, number>();

  constructor(
    private readonly config: Readonly<HubConfig>,
    private readonly fleet: Fleet,
    private readonly store: Pick<Store, 'op' | 'readTwin'>,
    private readonly bus: EventBus,
    private readonly log: Logger,
    private readonly audit: Audit,
  ) {
    if (config.cluster !== undefined) bus.subscribe('twin', ({ twin }) => this.changedElsewhere(twin), 'remote');
  }

  /** Cluster mode: a twin changed on another node; a newer desired document goes to the device if it is here. */
  private changedElsewhere(twin: TwinInfo): void {
    const session = this.fleet.get(twin.device)?.session;
    if (session === undefined || !session.isOpen || twin.desiredVersion < 1) return;
    if ((this.sent.get(session) ?? 0) >= twin.desiredVersion) return;
    this.sendDesired(twin.device, session, { desired: twin.desired, desiredVersion: twin.desiredVersion });
  }

  private entry(deviceId: string): DeviceEntry {
    const e = this.fleet.get(deviceId);
    if (e === undefined) throw new HubError(HubErrorCode.DeviceUnknown, `no device "${deviceId}"`);
    return e;
  }

  async get(deviceId: string): Promise<TwinInfo> {
    const e = this.entry(deviceId);
    return twinInfo(e.record.id, await this.store.readTwin(e.record.rowid));
  }

  /**
   * Merge-patches desired (RFC 7396); `ifMatch` guards against lost updates. A change
   * resolves once its audit entry is written (audit.ts).
   */
  async patchDesired(
    requester: Requester,
    deviceId: string,
    patch: JsonObject,
    ifMatch: number | undefined,
  ): Promise<{ twin: TwinInfo; changed: boolean }> {
    const e = this.entry(deviceId);
    // The patch first, for an error naming the field in it; the merged document (which
    // also holds what earlier patches set) is checked where it is merged, before it is stored.
    assertDownlinkData(patch, 'desired', { mergePatch: true });
    const before = (await this.store.readTwin(e.record.rowid)).desiredVersion;
    const state = await this.store.op('patchDesired', {
      device: e.record.rowid,
      patch,
      ifMatch,
      now: Date.now(),
      maxFrame: this.config.maxFrame,
    });
    const twin = twinInfo(e.record.id, state);
    const changed = state.desiredVersion !== before;
    if (changed) {
      if (e.session?.isOpen) this.sendDesired(deviceId, e.session, state);
      this.bus.publish('twin', { twin });
      await this.audit(requester.actor, 'twin.desired.patch', deviceId, viaDetail(requester, { patch, version: twin.desiredVersion }));
    }
    return { twin, changed };
  }

  private sendDesired(deviceId: string, session: DeviceSession, t: Pick<TwinState, 'desired' | 'desiredVersion'>): void {
    if ((this.sent.get(session) ?? 0) > t.desiredVersion) return;
    // A document stored before the hub checked what devices accept would be refused on
    // every connection and keep the device from ever staying online: it is held back
    // until an operator removes what breaks it (a merge patch with null passes).
    const refused = downlinkDataProblem(t.desired, 'desired');
    if (refused !== undefined) {
      this.log.error(
        { device: deviceId, field: refused.field, reason: refused.message },
        'desired document not sent: the device would refuse it',
      );
      return;
    }
    if (session.send({ type: MessageType.Desired, version: t.desiredVersion, desired: jsonToData(t.desired) as never }))
      this.sent.set(session, t.desiredVersion);
  }

  /** On every (re)connect the device gets the whole desired document (SPEC.md §7.1). */
  async online(entry: DeviceEntry, session: DeviceSession): Promise<void> {
    const t = await this.store.readTwin(entry.record.rowid);
    if (t.desiredVersion >= 1 && session.isOpen) this.sendDesired(entry.record.id, session, t);
  }

  reportedApplied(outcomes: readonly ReportedOutcome[]): void {
    const seen = new Set<number>();
    for (const o of outcomes) {
      if (!o.applied) {
        const e = this.fleet.getByRowid(o.device);
        this.log.warn({ device: e?.record.id, reason: o.reason }, 'REPORTED refused: twin limits');
        continue;
      }
      if (o.changed.length === 0 || seen.has(o.device)) continue;
      seen.add(o.device);
      const e = this.fleet.getByRowid(o.device);
      if (e === undefined) continue;
      this.store.readTwin(o.device).then(
        (t) => this.bus.publish('twin', { twin: twinInfo(e.record.id, t) }),
        (err: unknown) => this.log.error({ err, device: e.record.id }, 'could not read the twin to announce it'),
      );
    }
  }
}
