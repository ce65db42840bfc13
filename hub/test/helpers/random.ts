// Seeded randomness for tests: every random choice a test makes comes from a seed it
// prints, so a failure can be replayed. HALYARD_TEST_SEED overrides every test's
// default seed (to explore, e.g. in a soak run, or to replay a printed one).

/** The seed for one test: HALYARD_TEST_SEED when set, else the test's own fixed default. */
export function testSeed(fallback: number): number {
  const env = process.env.HALYARD_TEST_SEED;
  if (env === undefined || env === '') return fallback >>> 0;
  const n = Number(env);
  if (!Number.isInteger(n)) throw new Error(`HALYARD_TEST_SEED must be an integer, not "${env}"`);
  return n >>> 0;
}

/** Uniform numbers in [0, 1) from `seed` (mulberry32: small, fast, good enough for tests). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
