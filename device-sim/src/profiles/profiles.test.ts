import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decode, encode, MessageType, type SenmlRecord } from '@halyard/firmware-protocol';
import { helloCaps } from '../engine/device.js';
import { seededRandom } from '../engine/random.js';
import { type CommandPlan, isRejection, PROFILE_NAMES, type Profile, type ProfileName } from './profile.js';
import { createProfile, profileFor } from './registry.js';

const T0 = Date.UTC(2025, 0, 15, 6, 0, 0);

function make(name: ProfileName, seed = 1): Profile {
  return createProfile(name, { random: seededRandom(seed), now: T0, index: 0 });
}

function value(records: SenmlRecord[], n: string): number {
  const r = records.find((x) => x.n === n);
  assert.ok(r && typeof r.v === 'number', `record ${n}`);
  return r.v;
}

function run(plan: ReturnType<Profile['command']>): ReturnType<CommandPlan['run']> {
  assert.ok(!isRejection(plan), 'expected the command to be accepted');
  return plan.run();
}

describe('every profile', () => {
  for (const name of PROFILE_NAMES) {
    test(`${name}: readings encode as a valid TELEMETRY, identity is set, unknown commands are rejected`, () => {
      const p = make(name);
      assert.ok(p.model.length > 0 && p.fw.length > 0 && p.rate > 0);
      for (let i = 1; i <= 50; i++) {
        const pack = p.sample(T0 + i * 1_000);
        const d = decode(encode({ type: MessageType.Telemetry, seq: i, pack }));
        assert.ok(d.ok, d.ok ? '' : d.error.message);
      }
      const r = p.command('no_such_command', null);
      assert.deepEqual(r, { reject: 'unknown_command' });
    });
  }

  for (const name of PROFILE_NAMES) {
    test(`${name}: HELLO caps name each command it knows as cmd:<name>, and it knows each one it names`, () => {
      const p = make(name);
      const caps = helloCaps(p);
      const decoded = decode(encode({ type: MessageType.Hello, proto: 1, fw: p.fw, model: p.model, caps }));
      assert.ok(decoded.ok, 'a valid HELLO (at most 32 caps)');
      assert.deepEqual(caps.slice(0, 2), ['commands', 'twin']);
      assert.ok(caps.includes('cmd:ping') && caps.includes('cmd:reboot'));
      for (const c of p.commands) {
        assert.ok(caps.includes(`cmd:${c}`));
        const r = p.command(c, null);
        assert.ok(!isRejection(r) || r.reject !== 'unknown_command', `${name} knows ${c}`);
      }
    });
  }

  test('mixed cycles through every profile by index', () => {
    const seen = new Set(Array.from({ length: 10 }, (_, i) => profileFor('mixed', i)));
    assert.deepEqual([...seen].sort(), [...PROFILE_NAMES].sort());
    assert.equal(profileFor('relay', 3), 'relay');
  });
});

describe('thermostat', () => {
  test('the room settles near the setpoint in heat mode and follows a new setpoint', () => {
    const p = make('thermostat', 7);
    let t = T0;
    let last: SenmlRecord[] = [];
    for (let i = 0; i < 6 * 720; i++) {
      t += 5_000;
      last = p.sample(t); // 6 h in 5 s steps
    }
    assert.ok(Math.abs(value(last, 'temperature') - 21) < 1, `temperature ${value(last, 'temperature')}`);
    const h = value(last, 'humidity');
    assert.ok(h >= 15 && h <= 90);
    const done = run(p.command('set_setpoint', { value: 25 }));
    assert.deepEqual(done.reported, { setpoint: 25 });
    for (let i = 0; i < 6 * 720; i++) {
      t += 5_000;
      last = p.sample(t);
    }
    assert.ok(Math.abs(value(last, 'temperature') - 25) < 1, `temperature ${value(last, 'temperature')}`);
  });

  test('set_setpoint rejects bad params; desired applies what it supports and reports it', () => {
    const p = make('thermostat');
    assert.equal((p.command('set_setpoint', { value: 99 }) as { reject: string }).reject, 'bad_params');
    assert.equal((p.command('set_setpoint', 'warm') as { reject: string }).reject, 'bad_params');
    assert.deepEqual(p.applyDesired({ setpoint: 19.5, mode: 'cool', colour: 'red' }), { setpoint: 19.5, mode: 'cool' });
    // An invalid desired value leaves the state alone and reports the real one (a delta remains).
    assert.deepEqual(p.applyDesired({ setpoint: 1000 }), { setpoint: 19.5 });
    assert.deepEqual(p.state(), { setpoint: 19.5, mode: 'cool' });
  });
});

describe('thermostat --overheat', () => {
  test('each cycle heats past 30 °C (event overheat), then cools below 28 °C (event cooled)', () => {
    const p = createProfile('thermostat', { random: seededRandom(3), now: T0, index: 0, overheatMs: 60_000 });
    const temps: number[] = [];
    const names: string[] = [];
    for (let t = T0 + 1_000; t <= T0 + 120_000; t += 1_000) {
      temps.push(value(p.sample(t), 'temperature'));
      names.push(...p.takeEvents(t).map((e) => e.name));
    }
    assert.ok(Math.max(...temps.slice(0, 30)) > 35, `hot half: ${temps.slice(0, 30)}`);
    assert.ok(temps[59] !== undefined && temps[59] < 25, `cooled by the end of the cycle: ${temps[59]}`);
    assert.deepEqual(names, ['overheat', 'cooled', 'overheat', 'cooled']);
  });
});

describe('power-meter', () => {
  test('energy only grows, volts stay near 230, power matches V x I, over-current raises events', () => {
    let events = 0;
    for (let seed = 1; seed <= 4; seed++) {
      const p = make('power-meter', seed);
      let energy = 0;
      let t = T0;
      for (let i = 0; i < 86_400 / 10; i++) {
        t += 10_000;
        const r = p.sample(t);
        const e = value(r, 'energy');
        assert.ok(e >= energy, 'energy is monotonic');
        energy = e;
        const v = value(r, 'voltage');
        assert.ok(v > 215 && v < 245, `voltage ${v}`);
        assert.ok(Math.abs(value(r, 'power') - v * value(r, 'current') * 0.95) < 0.01 * value(r, 'power') + 0.5);
        for (const ev of p.takeEvents(t)) {
          events++;
          assert.equal(ev.name, 'over_current');
          const data = ev.data as { current: number; limit: number };
          assert.ok(data.current > data.limit);
        }
      }
    }
    assert.ok(events > 0, 'a day of four households trips at least once');
  });
});

describe('door-sensor', () => {
  test('events alternate opened/closed at increasing times; the battery drains', () => {
    const p = make('door-sensor', 3);
    const start = value(p.sample(T0 + 1), 'battery');
    const names: string[] = [];
    let at = 0;
    let t = T0;
    while (names.length < 40) {
      const next = p.nextEventAt();
      assert.ok(Number.isFinite(next) && next > t - 1);
      t = next;
      for (const e of p.takeEvents(t)) {
        assert.ok(e.at >= at);
        at = e.at;
        if (e.name !== 'battery_low') names.push(e.name);
      }
    }
    names.forEach((n, i) => {
      assert.equal(n, i % 2 === 0 ? 'opened' : 'closed');
    });
    assert.ok(value(p.sample(t + 1), 'battery') < start);
  });
});

describe('relay', () => {
  test('toggle and set change the state, the report follows, bad params are rejected', () => {
    const p = make('relay');
    assert.deepEqual(run(p.command('toggle', null)).reported, { on: true });
    assert.deepEqual(run(p.command('set', { on: false })).reported, { on: false });
    assert.deepEqual(run(p.command('set', { state: 'on' })).reported, { on: true });
    assert.equal((p.command('set', { on: 'yes' }) as { reject: string }).reject, 'bad_params');
    assert.equal((p.command('toggle', { now: true }) as { reject: string }).reject, 'bad_params');
    assert.ok(value(p.sample(T0), 'power') > 0);
    assert.deepEqual(p.applyDesired({ on: false }), { on: false });
    assert.equal(value(p.sample(T0 + 1), 'power'), 0);
  });
});

describe('tracker', () => {
  test('moves along its route at road speeds near home, with noise of metres', () => {
    const p = make('tracker', 5);
    let t = T0;
    let prev: { lat: number; lon: number } | undefined;
    let moved = 0;
    for (let i = 0; i < 3_600; i++) {
      t += 2_000;
      const r = p.sample(t);
      const pos = { lat: value(r, 'lat'), lon: value(r, 'lon') };
      assert.ok(Math.abs(pos.lat - 59.91) < 0.3 && Math.abs(pos.lon - 10.75) < 0.4);
      const speed = value(r, 'speed');
      assert.ok(speed >= 0 && speed < 22);
      if (prev) {
        const dy = (pos.lat - prev.lat) * 111_320;
        const dx = (pos.lon - prev.lon) * 111_320 * Math.cos((pos.lat * Math.PI) / 180);
        const d = Math.hypot(dx, dy);
        assert.ok(d < 21 * 2 + 30, `jumped ${d} m in 2 s`);
        moved += d;
      }
      prev = pos;
    }
    assert.ok(moved > 5_000, 'two hours of rounds cover kilometres');
    const fix = run(p.command('locate', null));
    assert.ok(typeof (fix.body as { lat: number }).lat === 'number');
  });
});
