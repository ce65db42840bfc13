// The hub's handle on the thread that moves telemetry_recent rows into packs
// (recent-mover-worker.ts): each move and vacuum as a promise. The thread starts on
// the first call and again on the next call after it died; a call it left
// unanswered fails.

import type { Worker } from 'node:worker_threads';
import { spawnWorker } from '../spawn-worker.js';
import type { MoveResult } from './telemetry-recent.js';

export type ToMover = { t: 'move'; id: number; wait: boolean; from: number } | { t: 'vacuum'; id: number } | { t: 'close'; id: number };

export interface FromMover {
  t: 'done';
  id: number;
  result?: MoveResult;
  /** A failure, and whether it was the server being unreachable (pool.ts, isConnectionFault). */
  error?: { message: string; connection: boolean };
}

/** A failure from the thread as an Error the store's connection watch reads like the pool's own. */
function failure(e: NonNullable<FromMover['error']>): Error {
  const err = new Error(e.message) as Error & { code?: string };
  // isConnectionFault (pool.ts) reads the code: a fault the thread saw as a lost server
  // stays one (08006, connection failure), whatever its message.
  if (e.connection) err.code = '08006';
  return err;
}

export class RecentMover {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly calls = new Map<number, { resolve: (v: FromMover) => void; reject: (e: Error) => void }>();

  constructor(private readonly url: string) {}

  private started(): Worker {
    if (this.worker !== undefined) return this.worker;
    const w = spawnWorker(import.meta.url, 'recent-mover-worker', { url: this.url }, 'halyard-recent-mover');
    w.on('message', (m: FromMover) => {
      const call = this.calls.get(m.id);
      this.calls.delete(m.id);
      call?.resolve(m);
    });
    const gone = (err: Error) => {
      if (this.worker !== w) return;
      this.worker = undefined;
      for (const c of this.calls.values()) c.reject(err);
      this.calls.clear();
    };
    w.on('error', gone);
    w.on('exit', (code) => gone(new Error(`the thread moving recent telemetry exited (code ${code})`)));
    // Not what keeps the hub running: the store's close() ends it.
    w.unref();
    this.worker = w;
    return w;
  }

  private call(msg: ToMover): Promise<FromMover> {
    return new Promise((resolve, reject) => {
      this.calls.set(msg.id, { resolve, reject });
      this.started().postMessage(msg);
    });
  }

  /** One move (telemetry-recent.ts, moveRecent), on the thread's connection. */
  async move(wait: boolean, from: number): Promise<MoveResult> {
    const m = await this.call({ t: 'move', id: this.nextId++, wait, from });
    if (m.error !== undefined) throw failure(m.error);
    return m.result as MoveResult;
  }

  async vacuum(): Promise<void> {
    const m = await this.call({ t: 'vacuum', id: this.nextId++ });
    if (m.error !== undefined) throw failure(m.error);
  }

  /** Ends the thread's connection (after the call in progress), then the thread. */
  async close(): Promise<void> {
    const w = this.worker;
    if (w === undefined) return;
    await this.call({ t: 'close', id: this.nextId++ }).catch(() => {});
    this.worker = undefined;
    await w.terminate();
  }
}
