// Two hubs of a cluster (two stores on one PostgreSQL database) starting an update of
// the same device at the same moment: one wins, the others are told the device has
// an update in progress (409), never an internal error from the unique index.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startPostgres, type TestPostgres } from '../../../test/helpers/postgres.js';
import { HubError, HubErrorCode } from '../../errors.js';
import { PostgresStore } from './postgres-store.js';

const open = (url: string) =>
  PostgresStore.open<string>({ url, commitIntervalMs: 2, maxBatchFrames: 500, maxFrame: 65536, retentionMs: 0, maintenanceIntervalMs: 0 });

describe('PostgreSQL store: races between hubs over device updates', () => {
  let server: TestPostgres;
  let a: PostgresStore<string>;
  let b: PostgresStore<string>;

  before(async () => {
    server = await startPostgres({ fsync: false });
    a = await open(server.url);
    b = await open(server.url);
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await server?.stop();
  });

  it('concurrent updates of one device from two hubs: one created, the rest UpdateInProgress', async () => {
    const now = Date.now();
    const image = await a.op('beginFirmware', {
      image: { id: 'fw-00000000000000a1', model: 'm', version: '2', notes: '', chunkSize: 65_536, createdAt: now, createdBy: 't' },
      staleBefore: 0,
    });
    await a.op('putFirmwareChunk', { image: image.rowid, n: 0, data: new Uint8Array([1, 2, 3]), at: now });
    await a.op('finishFirmware', { image: image.rowid, size: 3, sha256: new Uint8Array(32), signature: null });
    for (let round = 0; round < 10; round++) {
      const device = (
        await a.op('createDevice', { id: `d${round}`, name: null, model: null, tags: [], secretHash: new Uint8Array(32), createdAt: now })
      ).rowid;
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) =>
          (i % 2 === 0 ? a : b).op('createDeviceUpdate', {
            id: `u-${round}-${i}`,
            device,
            firmware: image.rowid,
            job: null,
            fromFw: null,
            toFw: '2',
            createdAt: now,
            createdBy: 't',
          }),
        ),
      );
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, `round ${round}: one update created`);
      for (const r of results)
        if (r.status === 'rejected')
          assert.ok(r.reason instanceof HubError && r.reason.code === HubErrorCode.UpdateInProgress, `round ${round}: ${String(r.reason)}`);
    }
  });
});
