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
        {/* One sentence: the label is a column of its children. */}
        <span>
          Type <code>{word}</code> to confirm
        </span>
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

export interface AskOnceProps {
  /** The button before asking, ending in "…" (it asks, it does not act). */
  label: string;
  /** The action named in full, on the button that acts. */
  action: string;
  /** The safe answer, which takes the focus. */
  keep?: string;
  small?: boolean;
  disabled?: boolean;
  onConfirm: () => void;
}

/**
 * Asking once for what is destructive but not typed-confirm grave (a rule, an image, a
 * job): the button turns into the action named in full beside "Keep". "Keep" takes the
 * focus, so a stray Enter keeps; Escape keeps too, and the focus goes back to the button.
 */
export function AskOnce({ label, action, keep = 'Keep', small, disabled, onConfirm }: AskOnceProps) {
  const [asking, setAsking] = useState(false);
  const keepButton = useRef<HTMLButtonElement>(null);
  const askButton = useRef<HTMLButtonElement>(null);
  const answered = useRef(false);
  // Dependencies: runs when the button starts or stops asking
  useEffect(() => {
    if (asking) keepButton.current?.focus();
    else if (answered.current) askButton.current?.focus();
  }, [asking]);
  const size = small ? ' small' : '';
  const stop = () => {
    answered.current = true;
    setAsking(false);
  };
  const onEscape = (e: KeyboardEvent) => {
    if (e.key === 'Escape') stop();
  };
  if (!asking)
    return (
      <button ref={askButton} type="button" class={`btn${size}`} disabled={disabled} onClick={() => setAsking(true)}>
        {label}
      </button>
    );
  return (
    <span class="row ask-once">
      <button
        type="button"
        class={`btn danger${size}`}
        disabled={disabled}
        onKeyDown={onEscape}
        onClick={() => {
          stop();
          onConfirm();
        }}
      >
        {action}
      </button>
      <button ref={keepButton} type="button" class={`btn${size}`} onKeyDown={onEscape} onClick={stop}>
        {keep}
      </button>
    </span>
  );
}
