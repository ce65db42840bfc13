// Destructive actions ask once, clearly: the operator types the name of what they are
// about to affect, so a stray Enter cannot revoke the wrong device.

import { useEffect, useRef, useState } from 'preact/hooks';

export interface ConfirmProps {
  /** What happens, in a sentence. */
  message: string;
  /** The word to type (usually the device id). */
  word: string;
  action: string;
  busy?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}

export function TypedConfirm({ message, word, action, busy, onConfirm, onCancel }: ConfirmProps) {
  const [typed, setTyped] = useState('');
  const input = useRef<HTMLInputElement>(null);
  // Opened by the operator's own click: move the focus into it, as a dialog would.
  useEffect(() => input.current?.focus(), []);
  const ok = typed === word;
  return (
    <form
      class="confirm"
      onSubmit={(e) => {
        e.preventDefault();
        if (ok && !busy) onConfirm();
      }}
      onKeyDown={(e) => {
        if (e.key === 'Escape') onCancel();
      }}
    >
      <p>{message}</p>
      <label>
        Type <code>{word}</code> to confirm
        <input ref={input} value={typed} onInput={(e) => setTyped(e.currentTarget.value)} autoComplete="off" spellcheck={false} />
      </label>
      <div class="row">
        <button type="submit" class="btn danger" disabled={!ok || busy}>
          {busy ? 'Working…' : action}
        </button>
        <button type="button" class="btn" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
