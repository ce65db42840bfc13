// Not part of the suite: measures the writer thread's per-row costs in isolation.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode } from '@halyard/firmware-protocol';
import { openDatabase } from '../src/store/db.js';
import { applyBatch, INDEX_STRIDE } from '../src/store/ingest.js';
import { migrate } from '../src/store/migrations.js';
import { TelemetryWriter } from '../src/store/telemetry/writer.js';

const recs = Number(process.argv[2] ?? 10);
const devices = 1000;
const dir = mkdtempSync(join(tmpdir(), 'wm-'));
const db = openDatabase(join(dir, 'x.db'), { cacheMiB: 256 });
migrate(db);
const ins = db.prepare('INSERT INTO devices (id, secret_hash, created_at) VALUES (?, ?, 0)');
for (let i = 0; i < devices; i++) ins.run(`d${i}`, Buffer.alloc(32));
const w = new TelemetryWriter(db);
const pack = Array.from({ length: recs }, (_, i) => ({ n: `metric${i}`, u: 'W', v: 20 + i }));
let seq = 0;
function batch(frames: number) {
  const chunks: Uint8Array[] = [];
  const index: number[] = [];
  let off = 0;
  for (let i = 0; i < frames; i++) {
    const dev = (i % devices) + 1;
    seq++;
    const b = encode({ type: 3, seq, pack });
    index.push(dev, seq, Date.now(), off, b.length);
    off += b.length;
    chunks.push(b);
  }
  const all = new Uint8Array(off);
  let o = 0;
  for (const c of chunks) {
    all.set(c, o);
    o += c.length;
  }
  return { id: 1, frames: all, index: Float64Array.from(index), maxFrame: 65536 };
}
const FRAMES = 2000;
let rows = 0;
let ingestMs = 0;
let compactMs = 0;
let compactRows = 0;
let logRows = 0;
const t0 = performance.now();
for (let k = 0; k < 100; k++) {
  const b = batch(FRAMES);
  const a = performance.now();
  rows += applyBatch(db, w, b).rows;
  ingestMs += performance.now() - a;
  logRows += FRAMES * recs;
  if (logRows >= 250_000) {
    const c0 = performance.now();
    w.compactAll();
    compactMs += performance.now() - c0;
    compactRows += logRows;
    logRows = 0;
  }
}
const total = performance.now() - t0;
console.log(
  JSON.stringify({
    recs,
    rows,
    ingestUsPerRow: (ingestMs * 1000) / rows,
    compactUsPerRow: (compactMs * 1000) / compactRows,
    rowsPerSec: Math.round(rows / ((ingestMs + compactMs) / 1000)),
    totalS: total / 1000,
    frames: 100 * FRAMES,
    framesIndexStride: INDEX_STRIDE,
  }),
);
