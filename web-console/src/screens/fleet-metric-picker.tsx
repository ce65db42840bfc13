// Picks the fleet table's latest-value columns: the metrics the devices in view report,
// most common first, up to MAX_METRIC_COLUMNS. A native <details> with checkboxes:
// keyboard and screen readers work without extra code. Like any menu it closes on a
// click outside it or on Escape, so it never covers the table it configures.

import { useEffect, useRef, useState } from 'preact/hooks';
import { MAX_METRIC_COLUMNS } from '../lib/fleet-columns.ts';

export function MetricPicker({
  available,
  chosen,
  scope,
  onChange,
  onOpen,
}: {
  /** Asked only while the picker is open: it scans every device in view. */
  available: () => readonly string[];
  chosen: readonly string[];
  scope: string;
  onChange: (metrics: string[]) => void;
  onOpen: () => void;
}) {
  const [open, setOpen] = useState(false);
  const ref = useRef<HTMLDetailsElement>(null);
  useEffect(() => {
    if (!open) return;
    const close = () => {
      if (ref.current !== null) ref.current.open = false;
    };
    const onPointer = (e: PointerEvent) => {
      if (ref.current !== null && !ref.current.contains(e.target as Node)) close();
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== 'Escape') return;
      close();
      ref.current?.querySelector('summary')?.focus();
    };
    document.addEventListener('pointerdown', onPointer);
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('pointerdown', onPointer);
      document.removeEventListener('keydown', onKey);
    };
  }, [open]);
  const names = open ? [...new Set([...chosen, ...available()])] : [...chosen];
  return (
    <details
      ref={ref}
      // Value columns are hidden in narrow windows, and so is their picker (the search box keeps its room).
      class="picker hide-narrow"
      onToggle={(e) => {
        const now = (e.currentTarget as HTMLDetailsElement).open;
        setOpen(now);
        if (now) onOpen();
      }}
    >
      <summary class="btn small">Value columns{chosen.length > 0 ? ` (${chosen.length})` : ''}</summary>
      <fieldset class="picker-menu panel" aria-label="Value columns">
        <p class="picker-title">
          Latest values to show {scope === '*' ? 'for every model' : <>for model {scope}</>}
          <span class="muted"> (remembered in this browser; search model:x to pick per model)</span>
        </p>
        {names.length === 0 ? <p class="muted">No device in view has reported telemetry yet.</p> : null}
        {names.map((n) => {
          const on = chosen.includes(n);
          return (
            <label key={n} class="check">
              <input
                type="checkbox"
                name="metric"
                value={n}
                checked={on}
                disabled={!on && chosen.length >= MAX_METRIC_COLUMNS}
                onChange={() => onChange(on ? chosen.filter((c) => c !== n) : [...chosen, n])}
              />{' '}
              <span class="mono">{n}</span>
            </label>
          );
        })}
      </fieldset>
    </details>
  );
}
