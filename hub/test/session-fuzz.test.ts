// Property-based fuzzing of device sessions with fast-check: generated and mutated
// frames go to a live hub. Every frame is either handled (a probe after it is
// acknowledged) or answered with a typed ERROR and its close code (4400/4413) -
// never 1011, never a crash - while an honest device streams with nothing lost.
// HALYARD_SESSION_FUZZ_RUNS raises the count (npm run soak uses 100,000).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { CloseCode, MessageType } from '@halyard/firmware-protocol';
import fc from 'fast-check';
import { TestDevice } from './helpers/device.js';
import { startTestHub, type TestHub } from './helpers/hub.js';
import { testSeed } from './helpers/random.js';

const RUNS = Number(process.env.HALYARD_SESSION_FUZZ_RUNS ?? 300);
// fast-check names the seed in a failure; HALYARD_TEST_SEED replays it (helpers/random.ts).
const SEED = testSeed(0xf022);
// Sessions the fuzzer ends are replaced by new ones, and the hub allows a device 20
// connections a minute: enough devices that none comes near it, however many runs.
const ATTACKERS = Math.max(100, Math.ceil(RUNS / 20));
const vectors = (
  JSON.parse(readFileSync(new URL('../../firmware-protocol/test-vectors/valid.json', import.meta.url), 'utf8')) as {
    vectors: { hex: string }[];
  }
).vectors.map((v) => Array.from(Buffer.from(v.hex, 'hex')));

const mutated = fc
  .record({
    base: fc.constantFrom(...vectors),
    edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 2 })), { minLength: 0, maxLength: 4 }),
  })
  .map(({ base, edits }) => {
    const b = [...base];
    for (const [at, byte, op] of edits) {
      const i = b.length === 0 ? 0 : at % b.length;
      if (op === 0) b[i] = byte;
      else if (op === 1) b.splice(i, 0, byte);
      else b.splice(i, 1);
    }
    return new Uint8Array(b);
  });
const frameArb = fc.oneof(mutated, fc.uint8Array({ maxLength: 64 }));

describe(`session fuzzing (${RUNS} frames)`, () => {
  let t: TestHub;
  const tokens: string[] = [];
  let next = 0;
  let current: TestDevice | undefined;
  let honest: TestDevice;

  before(async () => {
    t = await startTestHub();
    for (let i = 0; i < ATTACKERS; i += 50) {
      const batch = Array.from({ length: Math.min(50, ATTACKERS - i) }, (_, j) => t.api.provision(`fuzz-${i + j}`));
      tokens.push(...(await Promise.all(batch)));
    }
    honest = await TestDevice.connect(t.ws, await t.api.provision('fuzz-honest'));
  });
  after(() => t.close());

  /** An open session to fuzz, reconnecting (round-robin over many devices: reconnects are rate limited) when the last one was closed. */
  async function session(): Promise<TestDevice> {
    if (current !== undefined && current.closed === undefined) return current;
    current = await TestDevice.connect(t.ws, tokens[next++ % ATTACKERS] as string);
    return current;
  }

  it('answers every frame with normal handling or a typed ERROR and close', async () => {
    const outcomes = { handled: 0, refused: 0 };
    let probes = 0;
    await fc.assert(
      fc.asyncProperty(frameArb, async (bytes) => {
        const d = await session();
        d.sendRaw(bytes);
        // A valid probe after it: its ACK proves the fuzzed frame was handled without ending the session.
        const seq = 2 ** 50 + ++probes;
        d.send({ type: MessageType.Telemetry, seq, pack: [{ n: 'probe', v: 1 }] });
        await d.until(() => d.acked >= seq || d.closed !== undefined, 'the probe ACK or a close');
        if (d.closed === undefined) {
          outcomes.handled++;
          return;
        }
        outcomes.refused++;
        const err = d.error;
        assert.ok(err !== undefined, `closed ${d.closed.code} without an ERROR for ${Buffer.from(bytes).toString('hex')}`);
        assert.ok([CloseCode.Malformed, CloseCode.TooLarge].includes(err.code as 4400), `ERROR code ${err.code}`);
        assert.equal(d.closed.code, err.code);
        // The honest device keeps going.
        const s = honest.telemetry([{ n: 'h', v: probes }]);
        await honest.waitAck(s);
      }),
      { numRuns: RUNS, seed: SEED },
    );
    assert.ok(outcomes.refused > 0 && outcomes.handled > 0, JSON.stringify(outcomes));
    const r = await t.api.get('/devices/fuzz-honest/telemetry?name=h&from=0&limit=100000');
    assert.equal(r.body.series[0].points.length, honest.seq, 'the honest device lost nothing');
    assert.equal((await fetch(`${t.http}/healthz`)).status, 200);
    assert.ok(!t.logs.some((l) => l.level >= 50), 'no error logged');
    assert.ok(!t.logs.some((l) => /decoder failure|validation failure/.test(String(l.msg))), 'no frame reached a decoder bug');
  });
});
