import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeDashboard, encodeDashboard, parseDashboard, STARTER, thresholdState } from '../src/lib/dashboard.ts';

describe('dashboard layouts', () => {
  it('survive the URL round trip, text in any script included', () => {
    const d = {
      panels: [
        ...STARTER.panels,
        { kind: 'chart' as const, title: 'Température', metric: 'temperature', devices: ['a', 'b'], minutes: 60 },
        { kind: 'value' as const, title: 'v', device: 'a', metric: 'battery', warn: 30, alarm: 10, below: true },
      ],
    };
    assert.deepEqual(decodeDashboard(encodeDashboard(d)), d);
    assert.match(encodeDashboard(d), /^[A-Za-z0-9_-]+$/, 'URL-safe');
  });

  it('drop what a shared link should not carry: unknown kinds, missing fields, wrong types', () => {
    const d = parseDashboard({
      panels: [
        { kind: 'script', title: 'x' },
        { kind: 'chart', title: 'no devices', metric: 'm', devices: [] },
        { kind: 'value', title: 'no metric', device: 'a' },
        { kind: 'events', title: 'huge', limit: 1e9 },
        { kind: 'count', title: 'c', by: 'nonsense' },
      ],
    });
    assert.deepEqual(d, {
      panels: [
        { kind: 'events', title: 'huge', limit: 100 },
        { kind: 'count', title: 'c', by: 'status' },
      ],
    });
    assert.equal(decodeDashboard('not base64 json!'), undefined);
    assert.equal(parseDashboard({}), undefined);
  });

  it('colour by thresholds, upper or lower limits', () => {
    assert.equal(thresholdState({ warn: 30, alarm: 40 }, 25), 'ok');
    assert.equal(thresholdState({ warn: 30, alarm: 40 }, 30), 'warn');
    assert.equal(thresholdState({ warn: 30, alarm: 40 }, 41), 'alarm');
    assert.equal(thresholdState({ warn: 30, alarm: 10, below: true }, 9), 'alarm');
    assert.equal(thresholdState({ warn: 30, alarm: 10, below: true }, 50), 'ok');
  });
});
