// Telemetry queries for the API and the console: blocks from the database plus the
// in-memory tail of generations not yet compacted.

import type { ResolvedRecord } from '@halyard/firmware-protocol';
import type { LatestPoint, Points, PointValue, SeriesLookup, SeriesRef, TelemetryStore } from '../store/store.js';
import { rollupWidthFor } from '../store/telemetry/rollups.js';
import { type Bucket, BucketAccumulator } from './buckets.js';
import { compareKeys, compareToPosition, type RawPosition, sortByTimeKey, sortKey } from './raw-order.js';
import { SeriesLimit, type SeriesRefusal } from './series-limit.js';
import { TelemetryTail } from './tail.js';

/** The first window a raw page reads, and the widest it grows to (ms). */
const RAW_FIRST_WINDOW_MS = 60_000;
const RAW_MAX_WINDOW_MS = 366 * 86_400_000;
/**
 * Widest range of a raw query or export (ms): about a century. The range is read
 * window by window, and at most RAW_MAX_WINDOW_MS a window, ?from=0&to=9007199254740991
 * was 285,000 store reads per metric (5.6 s for one metric of one point).
 */
export const MAX_RAW_RANGE_MS = 100 * RAW_MAX_WINDOW_MS;

export class TelemetryService {
  readonly tail = new TelemetryTail();
  /** Distinct series per device (SPEC.md §9). */
  readonly seriesLimit: SeriesLimit;
  /** The highest generation the store has reported compacted. */
  private compactedThrough = Number.NEGATIVE_INFINITY;

  private constructor(
    private readonly store: TelemetryStore,
    lookup: SeriesLookup,
    maxSeriesPerDevice: number,
  ) {
    this.seriesLimit = new SeriesLimit(maxSeriesPerDevice, {
      // Series rows, plus names only the tail has so far (compaction has not made their rows yet).
      count: (device) => lookup.seriesCount(device) + this.tail.names(device).filter(([n]) => !lookup.hasSeries(device, n)).length,
      has: (device, name) => this.tail.has(device, name) || lookup.hasSeries(device, name),
    });
  }

  /** `lookup`: the synchronous series reads the limit makes on the ingest path (store.ts, SeriesLookup). */
  static async start(store: TelemetryStore, lookup: SeriesLookup, maxSeriesPerDevice: number): Promise<TelemetryService> {
    const t = new TelemetryService(store, lookup, maxSeriesPerDevice);
    // Frames committed before a restart but not compacted yet.
    await store.uncompacted((gen, device, name, unit, ts, value) => t.tail.add(gen, device, name, unit, ts, value));
    return t;
  }

  /** A frame's records, admitted against the device's series limit; the refusal when they are not. */
  admit(device: number, records: readonly ResolvedRecord[]): SeriesRefusal | undefined {
    return this.seriesLimit.admit(device, records);
  }

  /** A committed batch's records for one device, appended to log generation `gen`. */
  committed(gen: number, device: number, records: readonly ResolvedRecord[]): void {
    // A generation the store has already compacted is read from the store: nothing
    // to keep. On PostgreSQL every batch is that (gen 0, compacted as it commits),
    // and keeping its points until the next 'compacted' event was a map per device
    // and an array per series per batch for the garbage collector (README.md, PostgreSQL).
    if (gen <= this.compactedThrough) return;
    this.tail.addRecords(gen, device, records);
  }

  compacted(gen: number): void {
    if (gen > this.compactedThrough) this.compactedThrough = gen;
    this.tail.dropThrough(gen);
  }

  forgetDevice(device: number): void {
    this.tail.forgetDevice(device);
    this.seriesLimit.forget(device);
  }

  /** The device's series: those in the database, and those only the tail has seen yet (id -1). */
  async series(device: number, names?: readonly string[]): Promise<SeriesRef[]> {
    // At most the limit's worth: a device stored before the limit may have far more.
    const stored = await this.store.series(device, names, this.seriesLimit.max);
    const known = new Set(stored.map((s) => s.name));
    const fresh = this.tail.names(device).filter(([n]) => !known.has(n) && (names === undefined || names.includes(n)));
    return [...stored, ...fresh.map(([name, unit]) => ({ id: -1, name, unit }))].sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
  }

  /** Raw points of one series in [from, to], time order, at most `limit` (the earliest). */
  async raw(device: number, s: SeriesRef, from: number, to: number, limit: number): Promise<{ points: Points; truncated: boolean }> {
    const gen = await this.store.compacted();
    const all = await this.store.blockPoints(s.id, from, to, gen);
    this.tail.points(device, s.name, gen, from, to, all);
    const order: number[] = [];
    for (let i = 0; i < all.ts.length; i++) {
      const t = all.ts[i] as number;
      if (t >= from && t <= to) order.push(i);
    }
    order.sort((a, b) => (all.ts[a] as number) - (all.ts[b] as number) || a - b);
    const kept = order.slice(0, limit);
    return {
      points: { ts: kept.map((i) => all.ts[i] as number), values: kept.map((i) => all.values[i] as PointValue) },
      truncated: order.length > limit,
    };
  }

  /**
   * A page of raw points of one series in [from, to] in (time, key) order
   * (raw-order.ts): at most `limit`, after `after` when given, and the position
   * to resume at when more remain. The range is read in windows that adapt to
   * the data's density, so a page holds about `limit` points in memory whatever
   * the range (exports read a whole range page by page).
   */
  async rawPage(
    device: number,
    s: SeriesRef,
    from: number,
    to: number,
    limit: number,
    after?: RawPosition,
    maxBytes = Number.POSITIVE_INFINITY,
  ): Promise<{ points: Points; next: RawPosition | undefined; bytes: number }> {
    const out: Points = { ts: [], values: [] };
    let lo = after === undefined ? from : Math.max(from, after.ts);
    let width = after?.window ?? RAW_FIRST_WINDOW_MS;
    let skip = after?.skip ?? 0;
    // Text and data points can be 64 KiB each: a page also ends at `maxBytes` (at least one point).
    let bytes = 0;
    let full = false;
    while (lo <= to && out.ts.length <= limit && !full) {
      const hi = Math.min(to, lo + width - 1);
      const gen = await this.store.compacted();
      const found = await this.store.blockPoints(s.id, lo, hi, gen);
      this.tail.points(device, s.name, gen, lo, hi, found);
      const sorted = sortByTimeKey(found);
      let read = 0;
      for (let i = 0; i < sorted.ts.length; i++) {
        const t = sorted.ts[i] as number;
        const v = sorted.values[i] as PointValue;
        if (t < lo || t > hi) continue;
        read++;
        if (after !== undefined && t <= after.ts) {
          const c = compareToPosition(t, v, after);
          if (c < 0) continue;
          if (c === 0 && skip > 0) {
            skip--;
            continue;
          }
        }
        out.ts.push(t);
        out.values.push(v);
        bytes += pointBytes(v);
        if (bytes >= maxBytes) {
          full = true;
          break;
        }
      }
      // Scale the next window to the density just seen: about what the page still needs.
      const wanted = Math.max(1, limit + 1 - out.ts.length);
      width = Math.max(1, Math.round(width * (read === 0 ? 16 : Math.min(16, Math.max(0.25, wanted / read)))));
      width = Math.min(width, RAW_MAX_WINDOW_MS);
      lo = hi + 1;
    }
    if (!full && out.ts.length <= limit) return { points: out, next: undefined, bytes };
    // Cut at `limit`, or where the bytes ran out: the rest is for the next page.
    if (full) limit = Math.min(limit, out.ts.length);
    for (let i = limit; i < out.ts.length; i++) bytes -= pointBytes(out.values[i] as PointValue);
    out.ts.length = limit;
    out.values.length = limit;
    const last: RawPosition = {
      ts: out.ts[limit - 1] as number,
      key: sortKey(out.values[limit - 1] as PointValue),
      skip: 0,
      window: width,
    };
    // Points equal to the last delivered, on this page and (when it resumed among them) before it.
    for (let i = limit - 1; i >= 0 && compareToPosition(out.ts[i] as number, out.values[i] as PointValue, last) === 0; i--) last.skip++;
    if (after !== undefined && last.ts === after.ts && compareKeys(last.key, after.key) === 0) last.skip += after.skip;
    return { points: out, next: last, bytes };
  }

  /**
   * Buckets of `width` ms aligned to the epoch, covering [from, to]; empty buckets are
   * left out. Where the width is a multiple of a rollup's (store/telemetry/rollups.ts),
   * the whole rollup buckets inside the range come from the rollups, which outlive
   * the raw points; the partial ones at its ends, and a range before the rollups
   * began, from the raw points.
   */
  async buckets(device: number, s: SeriesRef, from: number, to: number, width: number): Promise<Bucket[]> {
    const gen = await this.store.compacted();
    const acc = new BucketAccumulator(from, to, width);
    const r = rollupWidthFor(width);
    if (r !== undefined) {
      const since = await this.store.rollupsSince();
      // Rollups answer [a, b): the whole rollup buckets in range.
      const a = Math.ceil(Math.max(from, since) / r) * r;
      const b = Math.floor((to + 1) / r) * r;
      if (a < b) {
        if (from < a) await this.rawBuckets(device, s, acc.window(from, a - 1), gen);
        const rolled = await this.store.rollupBuckets(s.id, r, acc.window(a, b - r), gen);
        this.tailBuckets(device, s, acc.window(a, b - 1), rolled);
        if (b <= to) await this.rawBuckets(device, s, acc.window(b, to), gen);
        return acc.result();
      }
    }
    await this.rawBuckets(device, s, acc, gen);
    return acc.result();
  }

  /** The raw points of generations up to `gen` (blocks) and newer ones (tail) in the accumulator's range. */
  private async rawBuckets(device: number, s: SeriesRef, acc: BucketAccumulator, gen: number): Promise<void> {
    await this.store.blockBuckets(s.id, acc, gen);
    this.tailBuckets(device, s, acc, gen);
  }

  private tailBuckets(device: number, s: SeriesRef, acc: BucketAccumulator, gen: number): void {
    const tail: Points = { ts: [], values: [] };
    this.tail.points(device, s.name, gen, acc.from, acc.to, tail);
    for (let i = 0; i < tail.ts.length; i++) acc.add(tail.ts[i] as number, tail.values[i] as PointValue);
  }

  /**
   * The newest point of each of the device's metrics; at most the series limit's
   * worth from the store, so no device's answer can hold up the event loop for long.
   */
  async latest(device: number): Promise<LatestPoint[]> {
    const gen = await this.store.compacted();
    return this.withTail(device, await this.store.latest(device, this.seriesLimit.max), gen);
  }

  /**
   * latest() for the first devices of `devices`, in order, until about `budget`
   * values are collected: one query for the lot when their stored values fit the
   * budget (the usual case: a few metrics each), else device by device, each
   * capped at the series limit. Returns the answers, one per device answered.
   */
  async latestPage(devices: readonly number[], budget: number): Promise<LatestPoint[][]> {
    const gen = await this.store.compacted();
    const out: LatestPoint[][] = [];
    const many = await this.store.latestMany(devices, budget + 1);
    const fits = many.rows <= budget;
    let values = 0;
    for (const d of devices) {
      if (out.length > 0 && values >= budget) break;
      const stored = fits ? (many.latest.get(d) ?? new Map<string, LatestPoint>()) : await this.store.latest(d, this.seriesLimit.max);
      const l = this.withTail(d, stored, gen);
      values += l.length;
      out.push(l);
    }
    return out;
  }

  private withTail(device: number, out: Map<string, LatestPoint>, gen: number): LatestPoint[] {
    for (const [name, p] of this.tail.latest(device, gen)) {
      const cur = out.get(name);
      if (cur === undefined || p.time >= cur.time) out.set(name, { name, unit: p.unit ?? cur?.unit ?? null, time: p.time, value: p.value });
    }
    return [...out.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
}

/** About what a point takes in an answer (JSON, base64 for data): for a page's byte bound. */
export function pointBytes(v: PointValue): number {
  if (typeof v === 'string') return 24 + v.length;
  if (v instanceof Uint8Array) return 24 + Math.ceil(v.length / 3) * 4;
  return 32;
}
