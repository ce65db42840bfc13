// A one-time message that outlives a navigation: "Deleted sim-7" after the device page,
// which no longer exists, hands the operator back to the fleet. It belongs to the path
// it was meant for and goes once the operator leaves that path.

export interface Flash {
  message: string;
  path: string;
}

let current: Flash | undefined;
const listeners = new Set<() => void>();

function changed(): void {
  for (const l of listeners) l();
}

/** Says `message` on `path` (this screen's by default), now or when the operator gets there. */
export function flash(message: string, path: string = location.pathname): void {
  current = { message, path };
  changed();
}

/** The message for `path`, if any. */
export function flashFor(path: string): string | undefined {
  return current?.path === path ? current.message : undefined;
}

/** The operator left `path`: a message shown there is done. */
export function leftPath(path: string): void {
  if (current?.path === path) {
    current = undefined;
    changed();
  }
}

export function dismissFlash(): void {
  current = undefined;
  changed();
}

export function onFlash(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
