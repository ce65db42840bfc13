import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeBatch, encodeBatch, MAX_BUS_MESSAGE } from './bus-codec.js';

describe('cluster bus messages', () => {
  it('carry events between nodes as they were published, bytes included', () => {
    const telemetry = {
      device: 'd1',
      records: [
        { name: 'temp', time: 1_700_000_000_000, value: 21.5, unit: 'Cel' },
        { name: 'blob', time: 1_700_000_000_001, dataValue: new Uint8Array([0, 1, 254, 255]) },
      ],
    };
    const presence = { presence: { device: 'd1', online: true, reason: 'connected', code: null, at: 5 }, rtt: null, lastSeen: 4 };
    const d = decodeBatch(
      encodeBatch('node-a', [
        { topic: 'telemetry', payload: telemetry },
        { topic: 'presence', payload: presence },
        { topic: 'session.ended', payload: { username: 'olga' } },
      ]),
    );
    assert.ok(d.ok);
    assert.equal(d.batch.node, 'node-a');
    assert.deepEqual(d.dropped, []);
    assert.deepEqual(
      d.batch.events.map((e) => e.topic),
      ['telemetry', 'presence', 'session.ended'],
    );
    assert.deepEqual(d.batch.events[0]?.payload, telemetry);
    const sent = d.batch.events[0]?.payload as typeof telemetry | undefined;
    assert.ok(sent?.records[1]?.dataValue instanceof Uint8Array);
    assert.deepEqual(d.batch.events[1]?.payload, presence);
  });

  it("carry a job's progress, and drop one whose state is not a job state", () => {
    const tally = { pending: 1, in_progress: 0, succeeded: 2, failed: 0, skipped: 0, cancelled: 0, timed_out: 0 };
    const progress = {
      id: 'j-0123456789ab',
      state: 'running',
      stage: 1,
      stages: 1,
      reason: null,
      total: 3,
      counts: tally,
      byStage: [{ ...tally, stage: 1, percent: 100 }],
      updatedAt: 5,
      finishedAt: null,
      deadlineAt: 9,
    };
    const d = decodeBatch(
      encodeBatch('node-a', [
        { topic: 'job', payload: { progress } },
        { topic: 'job', payload: { progress: { ...progress, state: 'exploded' } } },
      ]),
    );
    assert.ok(d.ok);
    assert.deepEqual(
      d.batch.events.map((e) => e.payload),
      [{ progress }],
    );
    assert.deepEqual(
      d.dropped.map((x) => x.topic),
      ['job'],
    );
  });

  it('drop what is not a bus message, and events that do not fit their topic, naming why', () => {
    for (const raw of ['not json', '{"v":2,"node":"a","events":[]}', '{"v":1,"node":"a b","events":[]}', '[]', 'null']) {
      const d = decodeBatch(raw);
      assert.equal(d.ok, false, raw);
    }
    const huge = decodeBatch(Buffer.alloc(MAX_BUS_MESSAGE + 1, 0x20));
    assert.ok(!huge.ok && /at most/.test(huge.reason));
    const mixed = decodeBatch(
      JSON.stringify({
        v: 1,
        node: 'n1',
        events: [
          { t: 'presence', p: { presence: { device: 'd', online: 'yes' } } },
          { t: 'no.such.topic', p: {} },
          { t: 'command', p: { command: { id: 'c', state: 'exploded' } } },
          { t: 'device.removed', p: { id: 'gone' } },
          { t: 'session.ended', p: { username: 'u', tokenHash: 'zz' } },
          { t: 'telemetry', p: { device: 'd', records: [{ name: 'x', time: 1, dataValue: '!!not base64' }] } },
        ],
      }),
    );
    assert.ok(mixed.ok);
    assert.deepEqual(
      mixed.batch.events.map((e) => e.payload),
      [{ id: 'gone' }],
    );
    assert.deepEqual(
      mixed.dropped.map((x) => x.topic),
      ['presence', 'no.such.topic', 'command', 'session.ended', 'telemetry'],
    );
  });
});
