// The top bar's alarms: how many are not cleared, by severity, each a link to the
// alarms page filtered to it; the word and the number, never colour alone.

import { SEVERITIES, SEVERITY_TONE } from '../lib/alarms.ts';
import { Link } from '../lib/router.tsx';
import { useAlarmCounts } from '../state/alarms.ts';

export function AlarmCounts() {
  const counts = useAlarmCounts();
  if (counts === undefined) return null;
  const total = SEVERITIES.reduce((n, s) => n + counts[s], 0);
  return (
    <nav class="alarm-counts" data-testid="alarm-counts" aria-label="Alarms not cleared">
      {total === 0 ? (
        <Link href="/alarms" class="muted no-alarms">
          no alarms
        </Link>
      ) : (
        SEVERITIES.filter((s) => counts[s] > 0).map((s) => (
          <Link key={s} href={`/alarms?severity=${s}`} class={`badge tone-${SEVERITY_TONE[s]}`} data-severity={s}>
            {counts[s]} {s}
          </Link>
        ))
      )}
    </nav>
  );
}
