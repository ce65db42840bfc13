// A device's telemetry for the charts: history from the API in buckets that fit the
// range, live points from the channel appended in live mode, latest values always.
// History is refetched when the range changes, after a reconnect (updates were missed)
// and when the hub says it dropped telemetry for this console (SPEC.md §10.4).

import type { TelemetryPoint } from '@halyard/firmware-protocol';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { devices } from '../../api/endpoints.ts';
import type { ConsoleChannel } from '../../channel/channel.ts';
import { useDropped, useGeneration, useUpdates } from '../../lib/hooks.ts';
import { appendLive, durationParam, fromApi, type Latest, latestFromApi, pickBucket, type Series, trimBefore } from '../../lib/series.ts';
import { Batcher } from '../../state/batcher.ts';

export type Range = { kind: 'live'; windowMs: number } | { kind: 'fixed'; from: number; to: number };

export interface Telemetry {
  series: Series[];
  latest: Map<string, { unit: string | null; latest: Latest }>;
  bucket: number | undefined;
  loading: boolean;
  error: unknown;
  /** Bumps on every change, for memoised children. */
  version: number;
}

export function useTelemetry(channel: ConsoleChannel, id: string, range: Range): Telemetry {
  const generation = useGeneration(channel);
  const dropped = useDropped(channel, 'telemetry');
  const [version, setVersion] = useState(0);
  const [status, setStatus] = useState<{ loading: boolean; error: unknown }>({ loading: true, error: undefined });
  const series = useRef(new Map<string, Series>());
  const latest = useRef(new Map<string, { unit: string | null; latest: Latest }>());
  /** Live points that arrive while history loads, applied on top of it. */
  const early = useRef<TelemetryPoint[] | undefined>(undefined);
  const rangeRef = useRef(range);
  rangeRef.current = range;
  const batcher = useMemo(() => new Batcher(() => setVersion((v) => v + 1)), []);

  const span = range.kind === 'live' ? range.windowMs : range.to - range.from;
  const bucket = pickBucket(span);
  const rangeKey = range.kind === 'live' ? `live:${range.windowMs}` : `${range.from}-${range.to}`;

  useEffect(() => channel.subscribe('telemetry', [id]), [channel, id]);

  useUpdates(channel, 'telemetry', (u) => {
    if (u.device !== id) return;
    for (const p of u.points) {
      const v = p.value ?? p.boolValue ?? p.stringValue;
      const old = latest.current.get(p.name);
      if (v !== undefined && (old === undefined || p.time >= old.latest.time))
        latest.current.set(p.name, { unit: p.unit ?? old?.unit ?? null, latest: { time: p.time, value: v } });
    }
    const r = rangeRef.current;
    if (r.kind === 'live') {
      if (early.current !== undefined) early.current.push(...u.points);
      else {
        appendLive(series.current, u.points);
        const from = Date.now() - r.windowMs;
        for (const s of series.current.values()) trimBefore(s, from);
      }
    }
    batcher.mark();
  });

  // Dependencies: rangeKey stands for the range; generation and dropped force refetches
  useEffect(() => {
    const ctl = new AbortController();
    const to = range.kind === 'live' ? Date.now() : range.to;
    const from = range.kind === 'live' ? to - range.windowMs : range.from;
    early.current = [];
    setStatus((s) => ({ ...s, loading: true }));
    Promise.all([
      devices.telemetry(id, { from, to, ...(bucket === undefined ? {} : { bucket: durationParam(bucket) }), signal: ctl.signal }),
      devices.latest(id),
    ]).then(
      ([history, last]) => {
        if (ctl.signal.aborted) return;
        series.current = new Map(fromApi(history.series, history.bucket !== null).map((s) => [s.name, s]));
        for (const [name, l] of latestFromApi(last.metrics)) {
          const old = latest.current.get(name);
          if (old === undefined || l.latest.time >= old.latest.time) latest.current.set(name, l);
        }
        const held = early.current ?? [];
        early.current = undefined;
        if (range.kind === 'live') appendLive(series.current, held);
        setStatus({ loading: false, error: undefined });
        batcher.mark();
      },
      (error: unknown) => {
        if (ctl.signal.aborted) return;
        early.current = undefined;
        setStatus({ loading: false, error });
      },
    );
    return () => {
      ctl.abort();
      early.current = undefined;
    };
  }, [id, rangeKey, generation, dropped]);

  const list = [...series.current.values()].sort((a, b) => a.name.localeCompare(b.name));
  return { series: list, latest: latest.current, bucket, loading: status.loading, error: status.error, version };
}
