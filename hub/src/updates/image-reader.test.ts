import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FirmwareRecord } from '../store/firmware.js';
import { ImageReader } from './image-reader.js';

const IMAGE = new Uint8Array(1_000).map((_, i) => i & 0xff);
const ROW = 64;

/** A store of IMAGE in 64-byte rows that counts reads and lets the test hold them. */
function store() {
  const reads: number[] = [];
  let gate: Promise<void> = Promise.resolve();
  return {
    reads,
    hold(): () => void {
      let open = () => {};
      gate = new Promise((r) => {
        open = r;
      });
      return open;
    },
    async firmwareChunk(_image: number, n: number): Promise<Uint8Array | undefined> {
      reads.push(n);
      await gate;
      return n * ROW < IMAGE.length ? IMAGE.slice(n * ROW, (n + 1) * ROW) : undefined;
    },
  };
}

const record = { rowid: 1, id: 'fw-x', chunkSize: ROW, size: IMAGE.length } as FirmwareRecord;

describe('ImageReader', () => {
  it('reads any range across stored rows', async () => {
    const r = new ImageReader(store());
    for (const [offset, length] of [
      [0, 1],
      [63, 2],
      [100, 500],
      [990, 10],
    ] as const)
      assert.deepEqual(await r.read(record, offset, length), IMAGE.subarray(offset, offset + length));
  });

  it('reads each row from the store once while it is cached, and once for concurrent readers', async () => {
    const s = store();
    const r = new ImageReader(s, 4);
    const open = s.hold();
    const many = Array.from({ length: 100 }, () => r.read(record, 0, 128));
    open();
    for (const got of await Promise.all(many)) assert.deepEqual(got, IMAGE.subarray(0, 128));
    assert.deepEqual(s.reads, [0, 1], 'a hundred readers, one store read per row');
    await r.read(record, 0, 128);
    assert.equal(s.reads.length, 2, 'then from the cache');
  });

  it('keeps at most its capacity of rows, the most recently used', async () => {
    const s = store();
    const r = new ImageReader(s, 2);
    await r.read(record, 0, 1); // row 0
    await r.read(record, 64, 1); // row 1
    await r.read(record, 0, 1); // row 0 again: now the most recent
    await r.read(record, 128, 1); // row 2 evicts row 1
    assert.deepEqual(s.reads, [0, 1, 2]);
    await r.read(record, 0, 1);
    assert.deepEqual(s.reads, [0, 1, 2], 'row 0 stayed');
    await r.read(record, 64, 1);
    assert.deepEqual(s.reads, [0, 1, 2, 1], 'row 1 was evicted');
  });
});
