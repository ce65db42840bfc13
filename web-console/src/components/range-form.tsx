// A custom time range, typed: two local date-times and Apply (Enter works). A range
// that ends before it starts is refused here, in words.

import { useState } from 'preact/hooks';

/** "2024-05-01T14:03" in local time, as datetime-local inputs take it. */
function local(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

export function RangeForm({ from, to, onApply }: { from: number; to: number; onApply: (from: number, to: number) => void }) {
  const [a, setA] = useState(() => local(from));
  const [b, setB] = useState(() => local(to));
  const [error, setError] = useState<string | undefined>(undefined);
  return (
    <form
      class="row range-form"
      aria-label="Custom time range"
      onSubmit={(e) => {
        e.preventDefault();
        const f = new Date(a).getTime();
        const t = new Date(b).getTime();
        if (!Number.isFinite(f) || !Number.isFinite(t)) setError('enter both a start and an end');
        else if (f >= t) setError('the end must come after the start');
        else {
          setError(undefined);
          onApply(f, t);
        }
      }}
    >
      <label class="row">
        From <input type="datetime-local" name="from" value={a} onInput={(e) => setA(e.currentTarget.value)} />
      </label>
      <label class="row">
        to <input type="datetime-local" name="to" value={b} onInput={(e) => setB(e.currentTarget.value)} />
      </label>
      <button type="submit" class="btn small">
        Show range
      </button>
      {error ? (
        <span class="field-error" role="alert">
          {error}
        </span>
      ) : null}
    </form>
  );
}
