// The browser tab's title names what is on screen ("thermo-1 · Twin · Halyard"), so
// several console tabs and the history list can be told apart.

import { useEffect } from 'preact/hooks';

export function useTitle(...parts: (string | undefined)[]): void {
  const title = [...parts.filter((p): p is string => p !== undefined && p !== ''), 'Halyard'].join(' · ');
  useEffect(() => {
    document.title = title;
  }, [title]);
}
