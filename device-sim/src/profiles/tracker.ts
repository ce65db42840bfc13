// A GPS tracker on a vehicle doing rounds: a closed route of waypoints around a home
// point, cruising between them with stops at each, GPS noise of a few metres, and a
// battery that drains while driving and charges at the depot (the first waypoint).

import type { Data, DataMap, SenmlRecord } from '@halyard/firmware-protocol';
import { gaussian, round } from '../engine/random.js';
import { type CommandDecision, type Profile, type ProfileContext, type ProfileEvent, unknownCommand } from './profile.js';

const METRES_PER_DEG_LAT = 111_320;
/** Oslo harbour: routes spread within ~20 km of it. */
const HOME = { lat: 59.91, lon: 10.75 };
const GPS_SIGMA_M = 3;
/** Battery drain while moving and charge at the depot, % per hour. */
const DRAIN_PER_HOUR = 6;
const CHARGE_PER_HOUR = 40;

interface Point {
  lat: number;
  lon: number;
}

function metresPerDegLon(lat: number): number {
  return METRES_PER_DEG_LAT * Math.cos((lat * Math.PI) / 180);
}

function distance(a: Point, b: Point): number {
  const dy = (b.lat - a.lat) * METRES_PER_DEG_LAT;
  const dx = (b.lon - a.lon) * metresPerDegLon(a.lat);
  return Math.hypot(dx, dy);
}

export function tracker(ctx: ProfileContext): Profile {
  const { random } = ctx;
  const centre = { lat: HOME.lat + (random() - 0.5) * 0.3, lon: HOME.lon + (random() - 0.5) * 0.5 };
  const radius = 1_000 + random() * 4_000;
  const count = 5 + Math.floor(random() * 5);
  const route: Point[] = Array.from({ length: count }, (_, i) => {
    const angle = (2 * Math.PI * i) / count + (random() - 0.5) * 0.5;
    const r = radius * (0.6 + 0.4 * random());
    return {
      lat: centre.lat + (r * Math.sin(angle)) / METRES_PER_DEG_LAT,
      lon: centre.lon + (r * Math.cos(angle)) / metresPerDegLon(centre.lat),
    };
  });
  let leg = 0; // from route[leg] to route[leg + 1]
  let along = 0; // metres along the leg
  let speed = 0;
  let cruise = 8 + random() * 7; // m/s
  let stoppedUntil = ctx.now + random() * 30_000;
  let battery = 50 + random() * 50;
  let last = ctx.now;

  const from = () => route[leg % count] as Point;
  const to = () => route[(leg + 1) % count] as Point;

  function position(): Point {
    const a = from();
    const b = to();
    const f = Math.min(1, along / Math.max(1, distance(a, b)));
    return { lat: a.lat + (b.lat - a.lat) * f, lon: a.lon + (b.lon - a.lon) * f };
  }

  function advance(now: number): void {
    const dt = (now - last) / 1_000;
    if (dt <= 0) return;
    last = now;
    if (now < stoppedUntil) {
      speed = 0;
      if (leg % count === 0) battery = Math.min(100, battery + (CHARGE_PER_HOUR * dt) / 3_600);
      return;
    }
    // Accelerate toward a cruise speed that itself wanders (traffic).
    cruise = Math.min(20, Math.max(4, cruise + 0.2 * Math.sqrt(dt) * gaussian(random)));
    speed += (cruise - speed) * Math.min(1, dt / 10);
    along += speed * dt;
    battery = Math.max(0, battery - (DRAIN_PER_HOUR * dt) / 3_600);
    const length = distance(from(), to());
    if (along >= length) {
      leg = (leg + 1) % count;
      along = 0;
      speed = 0;
      stoppedUntil = now + (leg === 0 ? 120_000 : 15_000 + random() * 60_000);
    }
  }

  return {
    name: 'tracker',
    model: 'sim-tracker',
    fw: '4.2.0',
    rate: 0.5,
    sample(now: number): SenmlRecord[] {
      advance(now);
      const p = position();
      const lat = p.lat + (GPS_SIGMA_M * gaussian(random)) / METRES_PER_DEG_LAT;
      const lon = p.lon + (GPS_SIGMA_M * gaussian(random)) / metresPerDegLon(p.lat);
      return [
        { n: 'lat', u: 'lat', v: round(lat, 6) },
        { n: 'lon', u: 'lon', v: round(lon, 6) },
        { n: 'speed', u: 'm/s', v: round(Math.max(0, speed + 0.2 * gaussian(random)), 1) },
        { n: 'battery', u: '%EL', v: round(battery, 1) },
      ];
    },
    takeEvents: (): ProfileEvent[] => [],
    nextEventAt: () => Number.POSITIVE_INFINITY,
    commands: ['locate'],
    command(name: string, _params: Data): CommandDecision {
      if (name !== 'locate') return unknownCommand;
      return {
        durationMs: 200, // a GPS fix takes a moment
        run: () => {
          const p = position();
          return { status: 0, body: { lat: round(p.lat, 6), lon: round(p.lon, 6), speed: round(speed, 1) } };
        },
      };
    },
    applyDesired: (): DataMap => ({}),
    state: () => ({ waypoints: count }),
  };
}
