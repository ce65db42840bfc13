// The pure parts behind the fleet at a glance: the latest-values store (pages, live
// points, what sorts), sorting by a value column, the coordinate view's projection and
// fit, pairing lat/lon into a trail, fleet-column choices and the hub stats history.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DeviceInfo, HubStats } from '@halyard/firmware-protocol';
import { modelScope } from '../src/lib/fleet-columns.ts';
import { DEFAULT_QUERY, parseQuery, selectIds, toSearch } from '../src/lib/fleet-query.ts';
import { fit, niceStep, project } from '../src/lib/mercator.ts';
import { isLat, isLon, trailOf } from '../src/lib/positions.ts';
import { LatestStore } from '../src/state/latest-store.ts';
import { StatsHistory } from '../src/state/stats-history.ts';
import { FakeFrames } from './fakes.ts';

function device(id: string): DeviceInfo {
  return {
    id,
    name: null,
    model: null,
    firmware: null,
    tags: [],
    createdAt: 0,
    revoked: false,
    online: true,
    lastSeen: 1,
    rtt: 1,
    connectedAt: 1,
    lastSeq: 0,
    pendingCommands: 0,
    caps: [],
  };
}

describe('latest values', () => {
  it('takes pages and live points, never letting an older page take back a newer live value', () => {
    const frames = new FakeFrames();
    const s = new LatestStore(frames.schedule);
    let notified = 0;
    s.subscribe(() => notified++);
    s.applyLive('a', [{ name: 'temperature', time: 2_000, value: 22, unit: 'Cel' }]);
    s.applyPage({ a: [{ name: 'temperature', unit: 'Cel', t: 1_000, v: 21 }], b: [{ name: 'hvac', t: 1_000, vs: 'heat' }] });
    assert.deepEqual(s.get('a', 'temperature'), { v: 22, unit: 'Cel', t: 2_000 });
    assert.equal(s.get('b', 'hvac')?.v, 'heat');
    frames.flush();
    assert.equal(notified, 1, 'one notification per frame');
    assert.deepEqual(s.metricsOf(['a', 'b']), ['hvac', 'temperature']);
    const v = s.deviceVersion('a');
    s.applyPage({ a: [{ name: 'temperature', unit: 'Cel', t: 2_000, v: 22 }] });
    assert.equal(s.deviceVersion('a'), v, 'the same value again does not re-render the row');
    s.remove('a');
    assert.equal(s.get('a', 'temperature'), undefined);
    assert.deepEqual([...s.metricNames().keys()], ['hvac']);
  });

  it('sorts a value column with devices lacking the metric last, both ways; the sort key round-trips the URL', () => {
    const values: Record<string, number> = { a: 3, b: 1, c: 2 };
    const metric = (id: string) => values[id];
    const devices = ['a', 'b', 'c', 'd'].map(device);
    const q = { ...DEFAULT_QUERY, sort: 'm:temperature' as const };
    assert.deepEqual(selectIds(devices, q, metric), ['b', 'c', 'a', 'd']);
    assert.deepEqual(selectIds(devices, { ...q, dir: 'desc' }, metric), ['a', 'c', 'b', 'd']);
    assert.equal(parseQuery(toSearch(q)).sort, 'm:temperature');
  });

  it('picks columns per model from the search', () => {
    assert.equal(modelScope('tag:lab model:Sim-Tracker'), 'sim-tracker');
    assert.equal(modelScope('lab'), '*');
  });
});

describe('coordinate view', () => {
  it('projects like map tiles and fits every point inside the box', () => {
    assert.deepEqual(project({ lat: 0, lon: 0 }), [0.5, 0.5]);
    const pts = [
      { lat: 59.76, lon: 10.6 },
      { lat: 59.81, lon: 10.83 },
    ];
    const f = fit(pts, 800, 400, 20);
    for (const p of pts) {
      const [x, y] = project(p);
      const px = (x - f.x0) * f.scale;
      const py = (y - f.y0) * f.scale;
      assert.ok(px >= 19 && px <= 781 && py >= 19 && py <= 381, `${px},${py}`);
    }
    // One point alone still gets a finite scale.
    assert.ok(Number.isFinite(fit([pts[0] as (typeof pts)[0]], 800, 400).scale));
    assert.equal(niceStep(0.23), 0.05);
  });

  it('pairs lat and lon taken at the same time into a trail, by unit or by name', () => {
    assert.ok(isLat('lat', 'lat') && isLon('x', 'lon') && isLat('latitude', null) && !isLat('lat', 'Cel'));
    const trail = trailOf({ xs: [1, 2, 3], ys: [59, 59.1, null] }, { xs: [1, 3], ys: [10, 10.2] });
    assert.deepEqual(trail, [{ lat: 59, lon: 10 }]);
  });
});

describe('hub stats history', () => {
  const stats = (time: number) => ({ time }) as HubStats;
  it('keeps one entry a second in time order across replays, and sees a restart in a new start time', () => {
    let now = 100_000;
    const h = new StatsHistory(() => now);
    for (const t of [97_000, 98_000, 99_000]) h.add(stats(t));
    // The new hub's replay overlaps and goes back in time.
    for (const t of [98_000, 99_500, 100_000]) h.add(stats(t));
    assert.deepEqual(
      h.entries.map((s) => s.time),
      [97_000, 98_000, 99_000, 99_500, 100_000],
    );
    h.noteStart(50_000);
    h.noteStart(50_800);
    assert.equal(h.restartedAt, undefined, 'the same start, measured twice');
    h.noteStart(99_000);
    assert.equal(h.restartedAt, 99_000);
    now = 500_000;
    h.add(stats(500_000));
    assert.deepEqual(
      h.entries.map((s) => s.time),
      [500_000],
      'older than five minutes goes',
    );
  });
});
