// PostgreSQL going away under a stream of frames, against a real server with fsync
// on: the store reports the outage once and the recovery once, probes until the
// server answers, and with devices that resend what was not acknowledged (as the
// gateway's failed-commit rule makes them) every acknowledged frame is stored
// exactly once. Both a fast restart and a crash (SIGKILL, then crash recovery).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { encode, MessageType } from '@halyard/firmware-protocol';
import { freePort } from '../../../test/helpers/free-port.js';
import { telemetryPoints } from '../../../test/helpers/pg-points.js';
import { startPostgres, type TestPostgres } from '../../../test/helpers/postgres.js';
import { HubError } from '../../errors.js';
import type { StoreConnection } from '../store.js';
import { createPool, query } from './pool.js';
import { PostgresStore } from './postgres-store.js';

const T0 = Math.floor(Date.now() / 60_000) * 60_000;
const DEVICES = 10;

/** A device as the gateway sees it: frames kept until acknowledged, resent after a failure. */
interface Sim {
  rowid: number;
  seq: number;
  acked: number;
}

describe('PostgreSQL store: server outage', () => {
  let server: TestPostgres;

  before(async () => {
    server = await startPostgres({ fsync: true });
  });
  after(async () => {
    await server?.stop();
  });

  for (const fault of ['restart', 'kill'] as const) {
    it(`${fault}: down once, up once, every acknowledged frame stored exactly once`, async (t) => {
      if (server.external) return t.skip('HALYARD_TEST_PG_URL: not our own server');
      const db = await server.newDatabase();
      const store = await PostgresStore.open<{ device: number; seq: number }>({
        url: db.url,
        commitIntervalMs: 2,
        maxBatchFrames: 500,
        maxFrame: 65536,
        retentionMs: 0,
        maintenanceIntervalMs: 0,
        reconnect: { initialMs: 20, maxMs: 200 },
      });
      const changes: StoreConnection[] = [];
      let upAgain: (at: number) => void = () => {};
      const recovered = new Promise<number>((r) => {
        upAgain = r;
      });
      store.on('connection', (c) => {
        changes.push(c);
        if (c.up) upAgain(performance.now());
      });
      const sims: Sim[] = [];
      try {
        for (let i = 0; i < DEVICES; i++) {
          const d = await store.op('createDevice', {
            id: `d${i}`,
            name: null,
            model: null,
            tags: [],
            secretHash: new Uint8Array(32),
            createdAt: T0,
          });
          sims.push({ rowid: d.rowid, seq: 0, acked: 0 });
        }
        const byRowid = new Map(sims.map((s) => [s.rowid, s]));
        let failedBatches = 0;
        /** Devices cut off by a failed batch (the gateway disconnects them), resending once the store is up. */
        const cutOff = new Set<Sim>();
        store.on('committed', (o) => {
          if (o.result !== undefined) {
            for (const [rowid, seq] of o.result.seqs) {
              const s = byRowid.get(rowid) as Sim;
              if (seq > s.acked) s.acked = seq;
            }
          } else {
            failedBatches++;
            for (const m of o.metas) cutOff.add(byRowid.get(m.device) as Sim);
            // As the gateway does: frames queued behind the failed ones go too, or a later seq could commit over a gap.
            store.discardPending(new Set(o.metas.map((m) => m.device)));
          }
        });
        const send = (s: Sim, seq: number) =>
          store.ingest(
            s.rowid,
            seq,
            T0 + seq,
            MessageType.Telemetry,
            encode({ type: MessageType.Telemetry, seq, pack: [{ n: 'v', v: seq, t: 0 }] }),
            { device: s.rowid, seq },
          );
        let streaming = true;
        const stream = (async () => {
          while (streaming) {
            const up = store.connection.up;
            for (const s of sims) {
              if (cutOff.has(s)) {
                if (!up) continue;
                // Reconnected: WELCOME names the durable mark; everything after it again, some before it too.
                cutOff.delete(s);
                for (let q = Math.max(1, s.acked - 2); q <= s.seq; q++) send(s, q);
              }
              if (up) send(s, ++s.seq);
            }
            await new Promise((r) => setTimeout(r, 2));
          }
        })();
        const ackedBy = async (n: number) => {
          while (sims.some((s) => s.acked < n)) await new Promise((r) => setTimeout(r, 10));
        };
        await ackedBy(20);
        const before = sims.map((s) => s.acked);
        if (fault === 'kill') await server.kill();
        const back = performance.now();
        await server.restart();
        const restarted = performance.now();
        const upAt = await recovered;
        // Streaming goes on after the outage, and every device catches up past it.
        const after = Math.max(...sims.map((s) => s.seq)) + 20;
        await ackedBy(after);
        streaming = false;
        await stream;
        await store.drain();

        assert.deepEqual(
          changes.map((c) => c.up),
          [false, true],
          'one change each way',
        );
        // A failed batch says "unreachable"; an idle connection seen dying first gives the server's own words.
        assert.match(changes[0]?.error ?? '', /unreachable|terminat|ECONN/);
        for (const [i, s] of sims.entries()) assert.ok(s.acked >= (before[i] as number), 'the mark never goes back');
        // Every acknowledged frame once, none twice (seq = the stored value).
        const pool = createPool(db.url);
        try {
          const devices = new Map(
            (await query<{ id: number; device: number }>(pool, 'series', 'SELECT id, device FROM series')).map((r) => [r.id, r.device]),
          );
          const byDevice = new Map<number, number[]>();
          for (const p of await telemetryPoints(pool)) {
            const d = devices.get(p.series) as number;
            const vs = byDevice.get(d);
            if (vs === undefined) byDevice.set(d, [p.v as number]);
            else vs.push(p.v as number);
          }
          const rows = [...byDevice].map(([device, vs]) => ({
            device,
            n: vs.length,
            distinct_n: new Set(vs).size,
            lo: Math.min(...vs),
            hi: Math.max(...vs),
          }));
          const got = new Map(rows.map((r) => [r.device, r]));
          for (const s of sims) {
            const r = got.get(s.rowid);
            assert.ok(r !== undefined, `device ${s.rowid} has points`);
            assert.equal(r.distinct_n, r.n, `device ${s.rowid}: no frame stored twice`);
            assert.ok(r.n >= s.acked && r.lo === 1 && r.hi >= s.acked, `device ${s.rowid}: every acknowledged frame stored`);
            assert.equal(r.n, r.hi, `device ${s.rowid}: no gap`);
          }
        } finally {
          await pool.end();
        }
        t.diagnostic(
          `${fault}: server restarted in ${Math.round(restarted - back)} ms; store down ${(changes[1]?.since ?? 0) - (changes[0]?.since ?? 0)} ms, ` +
            `up ${Math.max(0, Math.round(upAt - restarted))} ms after the server answered ` +
            `(${changes[1]?.attempts} probes); ${failedBatches} batches failed; lost 0, duplicates 0; down error: ${changes[0]?.error}`,
        );
      } finally {
        await store.close();
        await db.drop();
      }
    });
  }

  it('unreachable at open: a clear storage error, without the password', async () => {
    const port = await freePort();
    const started = performance.now();
    await assert.rejects(
      PostgresStore.open({
        url: `postgres://hub:very-secret-pw@127.0.0.1:${port}/halyard`,
        commitIntervalMs: 2,
        maxBatchFrames: 500,
        maxFrame: 65536,
        retentionMs: 0,
        maintenanceIntervalMs: 0,
      }),
      (err: unknown) => {
        assert.ok(err instanceof HubError);
        assert.equal(err.code, 'HUB_ERR_STORAGE');
        assert.match(err.message, /PostgreSQL server is unreachable/);
        assert.doesNotMatch(err.message + String((err.cause as Error | undefined)?.message), /very-secret-pw/);
        return true;
      },
    );
    assert.ok(performance.now() - started < 10_000, 'fails at once, not after a hang');
  });
});
