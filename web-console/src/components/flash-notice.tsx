// Shows the flash message (lib/flash.ts) above the screen it is for, until dismissed or
// the operator goes elsewhere. In words, as every confirmation is.

import { useEffect } from 'preact/hooks';
import { dismissFlash, flashFor, leftPath, onFlash } from '../lib/flash.ts';
import { useSubscribe } from '../lib/hooks.ts';

export function FlashNotice({ path }: { path: string }) {
  useSubscribe(onFlash);
  // Leaving the path ends a message shown there (cleanup runs with the old path).
  useEffect(() => () => leftPath(path), [path]);
  const message = flashFor(path);
  if (message === undefined) return null;
  return (
    <p class="flash" role="status" data-testid="flash">
      {message}{' '}
      <button type="button" class="btn small" onClick={dismissFlash}>
        Dismiss
      </button>
    </p>
  );
}
