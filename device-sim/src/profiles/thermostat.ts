// A room thermostat: the room warms or cools toward an outdoor-driven equilibrium
// with a day cycle, the heater or cooler switches with hysteresis around the setpoint,
// and humidity falls as the room warms. Twin: desired `setpoint` and `mode`.

import type { Data, DataMap, SenmlRecord } from '@halyard/firmware-protocol';
import { clamp, gaussian, round } from '../engine/random.js';
import {
  badParams,
  type CommandDecision,
  isDataMap,
  type Profile,
  type ProfileContext,
  type ProfileEvent,
  unknownCommand,
} from './profile.js';

const MODES = ['heat', 'cool', 'auto', 'off'] as const;
type Mode = (typeof MODES)[number];
type Hvac = 'heating' | 'cooling' | 'idle';

/** Setpoints the hardware accepts, °C. */
const SETPOINT_MIN = 5;
const SETPOINT_MAX = 35;
/** Room time constant toward the passive equilibrium, s (a few hours for a house). */
const TAU_S = 3 * 3_600;
/** Heating and cooling power, °C per second (1.5 °C per 10 min). */
const HEAT_RATE = 0.0025;
const COOL_RATE = 0.002;
/** Switching hysteresis around the setpoint, °C: avoids chattering relays. */
const HYSTERESIS = 0.3;
const DAY_MS = 86_400_000;
/** --overheat: where a stuck heater takes the room, and the events' thresholds (hysteresis between them), °C. */
const OVERHEAT_C = 38;
const OVERHEAT_EVENT_C = 30;
const COOLED_EVENT_C = 28;

function isMode(value: Data | undefined): value is Mode {
  return typeof value === 'string' && (MODES as readonly string[]).includes(value);
}

function setpointFrom(params: Data): number | undefined {
  const v = isDataMap(params) ? (params.value ?? params.setpoint) : params;
  return typeof v === 'number' && v >= SETPOINT_MIN && v <= SETPOINT_MAX ? v : undefined;
}

export function thermostat(ctx: ProfileContext): Profile {
  const { random } = ctx;
  let temperature = 18 + random() * 4;
  let humidityBase = 40 + random() * 15;
  let setpoint = 21;
  let mode: Mode = 'heat';
  let hvac: Hvac = 'idle';
  let last = ctx.now;
  // Houses differ: a per-device phase shifts the warmest hour of the day.
  const phase = random() * 2 * Math.PI * 0.1;
  // --overheat: a stuck heater for the first half of each cycle, then a hard cool-down.
  const cycle = ctx.overheatMs ?? 0;
  const cycleStart = ctx.now;
  let overheated = false;
  const events: ProfileEvent[] = [];

  /** The --overheat cycle's pull on the room, instead of the normal physics; false outside a cycle. */
  function overheat(now: number, dt: number): boolean {
    if (cycle <= 0) return false;
    const hot = ((now - cycleStart) % cycle) / cycle < 0.5;
    const target = hot ? OVERHEAT_C : setpoint;
    hvac = hot ? 'heating' : 'cooling';
    // Most of the way to the target within a tenth of the cycle.
    temperature += (target - temperature) * Math.min(1, (dt * 1_000) / (cycle * 0.1)) + 0.02 * gaussian(random);
    if (!overheated && temperature > OVERHEAT_EVENT_C) {
      overheated = true;
      events.push({ name: 'overheat', level: 3, data: { temperature: round(temperature, 2) }, at: now });
    } else if (overheated && temperature < COOLED_EVENT_C) {
      overheated = false;
      events.push({ name: 'cooled', level: 1, data: { temperature: round(temperature, 2) }, at: now });
    }
    return true;
  }

  function advance(now: number): void {
    const dt = (now - last) / 1_000;
    if (dt <= 0) return;
    last = now;
    if (overheat(now, dt)) return;
    const dayAngle = (2 * Math.PI * (now % DAY_MS)) / DAY_MS + phase;
    // Outdoor peaks mid-afternoon; the room's passive equilibrium follows it damped.
    const outdoor = 8 + 6 * Math.sin(dayAngle - (9 / 24) * 2 * Math.PI);
    const passive = 16 + 0.4 * (outdoor - 8);
    const heatOk = mode === 'heat' || mode === 'auto';
    const coolOk = mode === 'cool' || mode === 'auto';
    if (heatOk && temperature < setpoint - HYSTERESIS) hvac = 'heating';
    else if (coolOk && temperature > setpoint + HYSTERESIS) hvac = 'cooling';
    else if (
      (hvac === 'heating' && (!heatOk || temperature > setpoint + HYSTERESIS)) ||
      (hvac === 'cooling' && (!coolOk || temperature < setpoint - HYSTERESIS))
    )
      hvac = 'idle';
    const drive = hvac === 'heating' ? HEAT_RATE : hvac === 'cooling' ? -COOL_RATE : 0;
    temperature += (dt / TAU_S) * (passive - temperature) + drive * dt + 0.01 * Math.sqrt(dt) * gaussian(random);
    humidityBase = clamp(humidityBase + 0.05 * Math.sqrt(dt) * gaussian(random), 30, 60);
  }

  return {
    name: 'thermostat',
    model: 'sim-thermostat',
    fw: '2.1.0',
    rate: 0.2,
    sample(now: number): SenmlRecord[] {
      advance(now);
      const humidity = clamp(humidityBase - 2.5 * (temperature - 20) + 0.3 * gaussian(random), 15, 90);
      return [
        { n: 'temperature', u: 'Cel', v: round(temperature + 0.05 * gaussian(random), 2) },
        { n: 'humidity', u: '%RH', v: round(humidity, 1) },
        { n: 'hvac', vs: hvac },
      ];
    },
    takeEvents(): ProfileEvent[] {
      return events.splice(0);
    },
    nextEventAt: () => Number.POSITIVE_INFINITY,
    commands: ['set_setpoint'],
    command(name: string, params: Data): CommandDecision {
      if (name !== 'set_setpoint') return unknownCommand;
      const value = setpointFrom(params);
      if (value === undefined) return badParams(`expected a setpoint from ${SETPOINT_MIN} to ${SETPOINT_MAX} °C, as a number or {value}`);
      return {
        durationMs: 50,
        run: () => {
          setpoint = value;
          return { status: 0, body: { setpoint }, reported: { setpoint } };
        },
      };
    },
    applyDesired(desired: DataMap): DataMap {
      const report: DataMap = {};
      if ('setpoint' in desired) {
        const value = setpointFrom(desired.setpoint ?? null);
        if (value !== undefined) setpoint = value;
        report.setpoint = setpoint;
      }
      if ('mode' in desired) {
        if (isMode(desired.mode)) mode = desired.mode;
        report.mode = mode;
      }
      return report;
    },
    state: () => ({ setpoint, mode }),
  };
}
