// One device's latest value, big, coloured by its thresholds and saying which one it
// passed in words (colour is never the only signal). Live: the device is subscribed.

import { latestText } from '../../components/latest-cell.tsx';
import { Badge } from '../../components/status.tsx';
import { thresholdState } from '../../lib/dashboard.ts';
import { ago } from '../../lib/format.ts';
import { useNow, useSubscribe } from '../../lib/hooks.ts';
import { Link } from '../../lib/router.tsx';
import { useApp } from '../../state/app-context.ts';

const TONE = { ok: 'good', warn: 'pending', alarm: 'bad' } as const;
const WORD = { ok: 'normal', warn: 'warning', alarm: 'alarm' } as const;

export function ValuePanel({
  device,
  metric,
  warn,
  alarm,
  below,
}: {
  device: string;
  metric: string;
  warn?: number;
  alarm?: number;
  below?: boolean;
}) {
  const { latest } = useApp();
  useSubscribe(latest.subscribe);
  const now = useNow();
  const l = latest.get(device, metric);
  if (l === undefined)
    return (
      <p class="muted">
        No {metric} from <Link href={`/devices/${encodeURIComponent(device)}`}>{device}</Link> yet.
      </p>
    );
  const state =
    typeof l.v === 'number'
      ? thresholdState(
          { ...(warn === undefined ? {} : { warn }), ...(alarm === undefined ? {} : { alarm }), ...(below ? { below } : {}) },
          l.v,
        )
      : 'ok';
  const limits = [
    warn === undefined ? '' : `warning ${below ? '≤' : '≥'} ${warn}`,
    alarm === undefined ? '' : `alarm ${below ? '≤' : '≥'} ${alarm}`,
  ]
    .filter(Boolean)
    .join(', ');
  return (
    <div class={`big-value tone-${TONE[state]}`} data-state={state}>
      <div class="value">{latestText(l)}</div>
      <div class="row">
        {warn !== undefined || alarm !== undefined ? <Badge tone={TONE[state]}>{WORD[state]}</Badge> : null}
        <span class="muted">
          <Link href={`/devices/${encodeURIComponent(device)}`}>{device}</Link> · {ago(l.t, now)}
          {limits ? ` · ${limits}` : ''}
        </span>
      </div>
    </div>
  );
}
