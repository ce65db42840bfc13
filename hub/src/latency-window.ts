// A ring of the most recent latencies for cheap percentiles over recent traffic.

export class LatencyWindow {
  private readonly ring: Float64Array;
  private n = 0;

  constructor(size = 4096) {
    this.ring = new Float64Array(size);
  }

  add(ms: number): void {
    this.ring[this.n % this.ring.length] = ms;
    this.n++;
  }

  percentiles(ps: readonly number[]): number[] {
    const count = Math.min(this.n, this.ring.length);
    if (count === 0) return ps.map(() => 0);
    const sorted = this.ring.slice(0, count).sort();
    return ps.map((p) => sorted[Math.min(count - 1, Math.floor(p * count))] as number);
  }
}
