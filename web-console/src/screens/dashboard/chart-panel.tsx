// One metric across chosen devices over the last N minutes: history from the API in
// buckets, refetched every REFRESH_MS and after a reconnect, one line per device.

import { useEffect, useState } from 'preact/hooks';
import { devices as devicesApi } from '../../api/endpoints.ts';
import { Chart, type ChartLine } from '../../components/chart.tsx';
import { ErrorText } from '../../components/error-text.tsx';
import { useGeneration } from '../../lib/hooks.ts';
import { durationParam, fromApi, pickBucket } from '../../lib/series.ts';
import { unitText } from '../../lib/units.ts';
import { useApp } from '../../state/app-context.ts';

const REFRESH_MS = 10_000;
const COLORS = ['var(--line-1)', 'var(--line-2)', 'var(--line-3)', 'var(--line-4)'];

export function ChartPanel({ metric, devices, minutes, title }: { metric: string; devices: string[]; minutes: number; title: string }) {
  const { channel } = useApp();
  const generation = useGeneration(channel);
  const [lines, setLines] = useState<ChartLine[]>([]);
  const [unit, setUnit] = useState<string | undefined>(undefined);
  const [range, setRange] = useState<[number, number]>(() => [Date.now() - minutes * 60_000, Date.now()]);
  const [error, setError] = useState<unknown>(undefined);
  const key = devices.join(',');
  useEffect(() => {
    const ctl = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async () => {
      const to = Date.now();
      const from = to - minutes * 60_000;
      const bucketMs = pickBucket(to - from, 200);
      try {
        const answers = await Promise.all(
          key
            .split(',')
            .map((id) =>
              devicesApi
                .telemetry(id, { from, to, ...(bucketMs ? { bucket: durationParam(bucketMs) } : {}), signal: ctl.signal })
                .then((a) => ({ id, a })),
            ),
        );
        const next: ChartLine[] = [];
        let u: string | undefined;
        answers.forEach(({ id, a }, i) => {
          const s = fromApi(a.series, bucketMs !== undefined).find((x) => x.name === metric);
          if (s === undefined) return;
          u ??= s.unit ?? undefined;
          next.push({ label: id, color: COLORS[i % COLORS.length] as string, xs: s.xs, ys: s.ys });
        });
        setLines(next);
        setUnit(u);
        setRange([from, to]);
        setError(undefined);
      } catch (err) {
        if (!ctl.signal.aborted) setError(err);
      }
      if (!ctl.signal.aborted) timer = setTimeout(() => void load(), REFRESH_MS);
    };
    void load();
    return () => {
      ctl.abort();
      clearTimeout(timer);
    };
  }, [key, metric, minutes, generation]);
  return (
    <>
      <ErrorText error={error} />
      {lines.length === 0 ? (
        <p class="muted">
          No {metric} from these devices in the last {minutes} minutes.
        </p>
      ) : (
        <Chart
          label={`${title}: ${metric} of ${key}`}
          lines={lines}
          range={range}
          height={160}
          {...(unit ? { unit: unitText(unit) } : {})}
        />
      )}
    </>
  );
}
