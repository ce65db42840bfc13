// A battery door sensor: mostly silent. The door opens and closes as a two-state
// random process (closed for minutes, open for seconds); each change is an event at
// the moment it happens, and a slow heartbeat carries the state and a draining battery.

import type { Data, DataMap, SenmlRecord } from '@halyard/firmware-protocol';
import { exponentialMs, round } from '../engine/random.js';
import { type CommandDecision, type Profile, type ProfileContext, type ProfileEvent, unknownCommand } from './profile.js';

/** Mean time closed and open, s. */
const MEAN_CLOSED_S = 180;
const MEAN_OPEN_S = 20;
/** Battery cost of one radio wake-up for an event, and per hour idle, in %. */
const DRAIN_PER_EVENT = 0.02;
const DRAIN_PER_HOUR = 0.01;
const LOW_BATTERY = 20;

export function doorSensor(ctx: ProfileContext): Profile {
  const { random } = ctx;
  let open = false;
  let battery = 60 + random() * 40;
  let lowReported = battery < LOW_BATTERY;
  let nextChange = ctx.now + exponentialMs(random, 1 / MEAN_CLOSED_S);
  let last = ctx.now;
  const events: ProfileEvent[] = [];

  function advance(now: number): void {
    if (now <= last) return;
    battery = Math.max(0, battery - (DRAIN_PER_HOUR * (now - last)) / 3_600_000);
    last = now;
    while (nextChange <= now) {
      open = !open;
      battery = Math.max(0, battery - DRAIN_PER_EVENT);
      events.push({ name: open ? 'opened' : 'closed', level: 1, data: { battery: round(battery, 1) }, at: nextChange });
      nextChange += exponentialMs(random, 1 / (open ? MEAN_OPEN_S : MEAN_CLOSED_S));
    }
    if (!lowReported && battery < LOW_BATTERY) {
      lowReported = true;
      events.push({ name: 'battery_low', level: 2, data: { battery: round(battery, 1) }, at: now });
    }
  }

  return {
    name: 'door-sensor',
    model: 'sim-door-sensor',
    fw: '0.9.4',
    // A heartbeat a minute: long silences are this device's normal life.
    rate: 1 / 60,
    sample(now: number): SenmlRecord[] {
      advance(now);
      return [
        { n: 'open', vb: open },
        { n: 'battery', u: '%EL', v: round(battery, 1) },
      ];
    },
    takeEvents(now: number): ProfileEvent[] {
      advance(now);
      return events.splice(0);
    },
    nextEventAt: () => nextChange,
    commands: [],
    command(_name: string, _params: Data): CommandDecision {
      return unknownCommand;
    },
    applyDesired: (): DataMap => ({}),
    // Configuration, not the door: the door's state travels in events and telemetry.
    state: () => ({ heartbeatS: 60 }),
  };
}
