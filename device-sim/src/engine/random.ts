// Seeded pseudo-random numbers, so a fleet started with the same --seed behaves the
// same way (profiles' physics, chaos picks, jitter), which makes failures reproducible.

/** A function returning uniform numbers in [0, 1), like Math.random. */
export type Random = () => number;

/** mulberry32: tiny state (one 32-bit integer per device), good enough for simulation. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Derives a per-device seed from the fleet's seed and the device's index. */
export function childSeed(seed: number, index: number): number {
  // A multiplicative hash (Knuth) keeps neighbouring devices' streams unrelated.
  return (Math.imul(seed ^ 0x9e3779b9, 2_654_435_761) + Math.imul(index + 1, 0x85ebca6b)) >>> 0;
}

/** A standard normal sample (Box-Muller). */
export function gaussian(random: Random): number {
  const u = 1 - random(); // (0, 1]: log(0) would be -Infinity
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Time until the next event of a Poisson process with `perSecond` events per second, ms. */
export function exponentialMs(random: Random, perSecond: number): number {
  if (perSecond <= 0) return Number.POSITIVE_INFINITY;
  return (-Math.log(1 - random()) / perSecond) * 1_000;
}

export function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

/** Rounds to `digits` decimals: readings carry the precision a real sensor reports. */
export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
