import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EventBus } from '../bus.js';
import { HubError, HubErrorCode } from '../errors.js';
import { type DeviceEntry, Fleet } from '../fleet.js';
import type { DeviceRecord, Store } from '../store/store.js';
import { DeviceService } from './service.js';

const record: DeviceRecord = {
  rowid: 1,
  id: 'd1',
  name: null,
  model: null,
  firmware: null,
  tags: [],
  secretHash: new Uint8Array(32),
  createdAt: 0,
  revokedAt: null,
  boot: null,
  lastSeen: null,
  rtt: null,
  lastSeq: 0,
  caps: [],
};

/** A service over a store whose deleteDevice does what `del` says, recording every step. */
function setup(del: () => Promise<DeviceRecord>) {
  const steps: string[] = [];
  const fleet = new Fleet([record], { pendingCommands: () => 0 });
  const store = {
    op: (name: string) => {
      steps.push(`store.${name}`);
      return name === 'deleteDevice' ? del() : Promise.reject(new Error(`unexpected ${name}`));
    },
    listPresence: async () => [],
    getDevice: async () => undefined,
  } as unknown as Pick<Store, 'op' | 'listPresence' | 'getDevice'>;
  const bus: EventBus = {
    publish: (topic) => void steps.push(`bus.${topic}`),
    subscribe: () => () => {},
  };
  const service = new DeviceService(
    store,
    fleet,
    { disconnect: () => {}, disconnectDeleted: (e: DeviceEntry) => void steps.push(`disconnect ${e.record.id}`) },
    {
      telemetry: { forgetDevice: () => void steps.push('telemetry.forget') },
      commands: { forget: () => void steps.push('commands.forget') },
    },
    { devicesKnown: { set: (n: number) => void steps.push(`devicesKnown ${n}`) } } as never,
    bus,
    async (_actor, action) => void steps.push(`audit ${action}`),
  );
  return { service, fleet, steps };
}

describe('DeviceService.delete', () => {
  it('is one ordered operation: sessions end, the store deletes, memory forgets, then the bus and the audit log hear of it', async () => {
    const { service, fleet, steps } = setup(async () => record);
    await service.delete({ actor: 'olga', via: 'http' }, 'd1');
    assert.deepEqual(steps, [
      'disconnect d1',
      'store.deleteDevice',
      'telemetry.forget',
      'commands.forget',
      'devicesKnown 0',
      'bus.device.removed',
      'audit device.delete',
    ]);
    assert.equal(fleet.get('d1'), undefined);
  });

  it('leaves the device as it was when the store refuses, with nothing announced', async () => {
    const { service, fleet, steps } = setup(() => Promise.reject(new HubError(HubErrorCode.Storage, 'disk full')));
    await assert.rejects(service.delete({ actor: 'olga', via: 'http' }, 'd1'), /disk full/);
    assert.deepEqual(steps, ['disconnect d1', 'store.deleteDevice']);
    assert.equal(fleet.get('d1')?.record.id, 'd1', 'the device is found again');
  });

  it('refuses an unknown device before touching anything', async () => {
    const { service, steps } = setup(async () => record);
    await assert.rejects(service.delete({ actor: 'olga', via: 'http' }, 'nope'), { code: HubErrorCode.DeviceUnknown });
    assert.deepEqual(steps, []);
  });
});
