// A household power meter: mains voltage wanders around 230 V, appliances switch on
// and off at random (a Poisson process per appliance), current and power follow, the
// energy register only ever grows, and stacking loads past the breaker's rating raises
// an `over_current` event.

import type { Data, DataMap, SenmlRecord } from '@halyard/firmware-protocol';
import { gaussian, round } from '../engine/random.js';
import { type CommandDecision, type Profile, type ProfileContext, type ProfileEvent, unknownCommand } from './profile.js';

interface Appliance {
  name: string;
  /** Current drawn while on, A. */
  amps: number;
  /** Starts per hour while off. */
  startsPerHour: number;
  /** Mean run time, s. */
  meanRunS: number;
}

const APPLIANCES: readonly Appliance[] = [
  { name: 'kettle', amps: 8.7, startsPerHour: 2, meanRunS: 180 },
  { name: 'oven', amps: 9.5, startsPerHour: 0.4, meanRunS: 1_800 },
  { name: 'heater', amps: 6.5, startsPerHour: 0.8, meanRunS: 1_200 },
  { name: 'washer', amps: 2.2, startsPerHour: 0.3, meanRunS: 3_600 },
  { name: 'fridge', amps: 0.7, startsPerHour: 3, meanRunS: 600 },
];
const NOMINAL_V = 230;
const POWER_FACTOR = 0.95;
/** Over-current clears only below this share of the limit, so one excursion is one event. */
const CLEAR_RATIO = 0.9;

export function powerMeter(ctx: ProfileContext): Profile {
  const { random } = ctx;
  const limit = [13, 16, 16, 20][Math.floor(random() * 4)] as number;
  const baseAmps = 0.3 + random() * 0.5;
  /** When each appliance switches off; 0 while off. */
  const runningUntil = APPLIANCES.map(() => 0);
  let volts = NOMINAL_V + gaussian(random);
  let amps = baseAmps;
  let energyJ = Math.round(1e8 + random() * 1e10);
  let tripped = false;
  let last = ctx.now;
  const events: ProfileEvent[] = [];

  function advance(now: number): void {
    const dt = (now - last) / 1_000;
    if (dt <= 0) return;
    last = now;
    let load = baseAmps;
    APPLIANCES.forEach((a, i) => {
      const until = runningUntil[i] as number;
      if (until > 0 && until <= now) runningUntil[i] = 0;
      else if (until === 0 && random() < (a.startsPerHour / 3_600) * dt) {
        runningUntil[i] = now + -Math.log(1 - random()) * a.meanRunS * 1_000;
      }
      if ((runningUntil[i] as number) > 0) load += a.amps;
    });
    // The grid's voltage reverts to nominal with slow drift; heavier load sags it a little.
    volts += 0.05 * (NOMINAL_V - volts) * Math.min(dt, 10) + 0.4 * Math.sqrt(dt) * gaussian(random);
    amps = Math.max(0, load * (1 + 0.02 * gaussian(random)));
    const sagged = volts - 0.15 * amps;
    energyJ += sagged * amps * POWER_FACTOR * dt;
    if (!tripped && amps > limit) {
      tripped = true;
      events.push({ name: 'over_current', level: 2, data: { current: round(amps, 2), limit }, at: now });
    } else if (tripped && amps < limit * CLEAR_RATIO) {
      tripped = false;
    }
  }

  return {
    name: 'power-meter',
    model: 'sim-power-meter',
    fw: '1.7.3',
    rate: 1,
    sample(now: number): SenmlRecord[] {
      advance(now);
      const v = volts - 0.15 * amps;
      return [
        { n: 'voltage', u: 'V', v: round(v, 1) },
        { n: 'current', u: 'A', v: round(amps, 2) },
        { n: 'power', u: 'W', v: round(v * amps * POWER_FACTOR, 1) },
        { n: 'energy', u: 'J', v: Math.round(energyJ) },
      ];
    },
    takeEvents(now: number): ProfileEvent[] {
      advance(now);
      return events.splice(0);
    },
    nextEventAt: () => Number.POSITIVE_INFINITY,
    commands: [],
    command(_name: string, _params: Data): CommandDecision {
      return unknownCommand;
    },
    applyDesired: (): DataMap => ({}),
    state: () => ({ limit }),
  };
}
