// The thread that moves telemetry_recent rows into packs (telemetry-recent.ts) on
// its own connection, for recent-mover.ts. Off the hub's thread: at full rate a
// move reads, sorts and packs some 200,000 points a second, and on the hub's thread
// that work and its garbage were what held ACKs past 100 ms (README.md, Benchmarks).

import { parentPort, workerData } from 'node:worker_threads';
import { createPool, isConnectionFault } from './pool.js';
import type { FromMover, ToMover } from './recent-mover.js';
import { moveRecent, vacuumRecent } from './telemetry-recent.js';

const port = parentPort;
if (port === null) throw new Error('recent-mover-worker must run as a worker thread');

// One connection: one move or vacuum at a time, in the order asked.
const pool = createPool((workerData as { url: string }).url, { max: 1 });
let chain: Promise<void> = Promise.resolve();

function send(msg: FromMover): void {
  port?.postMessage(msg);
}

async function handle(m: ToMover): Promise<void> {
  if (m.t === 'close') {
    await pool.end().catch(() => {});
    send({ t: 'done', id: m.id });
    port?.close();
    return;
  }
  try {
    if (m.t === 'move') send({ t: 'done', id: m.id, result: await moveRecent(pool, m.wait, m.from) });
    else {
      await vacuumRecent(pool);
      send({ t: 'done', id: m.id });
    }
  } catch (err) {
    send({ t: 'done', id: m.id, error: { message: err instanceof Error ? err.message : String(err), connection: isConnectionFault(err) } });
  }
}

port.on('message', (m: ToMover) => {
  chain = chain.then(() => handle(m));
});
