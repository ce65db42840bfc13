// A small history-API router: paths like /devices/sim-1/twin, query strings kept in the
// URL (the fleet filter), links that stay in the app. The hub serves index.html for
// every console path, so reloads and shared links work.

import type { AnchorHTMLAttributes, ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';

export interface Loc {
  path: string;
  search: string;
}

const listeners = new Set<() => void>();

function current(): Loc {
  return { path: location.pathname, search: location.search };
}

/** Asked before the app navigates away (a screen holding what cannot be shown again); false stays. */
let leaveGuard: (() => boolean) | undefined;

/** Sets the guard asked before every in-app navigation, or clears it (undefined). */
export function setLeaveGuard(guard: (() => boolean) | undefined): void {
  leaveGuard = guard;
}

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  if (to === location.pathname + location.search) return;
  if (leaveGuard !== undefined && !leaveGuard()) return;
  if (opts.replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  for (const fn of listeners) fn();
}

addEventListener('popstate', () => {
  for (const fn of listeners) fn();
});

export function useLocation(): Loc {
  const [loc, setLoc] = useState(current);
  useEffect(() => {
    const fn = () => setLoc(current());
    listeners.add(fn);
    return () => listeners.delete(fn);
  }, []);
  return loc;
}

/** `/devices/:id/:tab?` against a path: the parameters, or undefined when it does not match. */
export function match(pattern: string, path: string): Record<string, string> | undefined {
  const p = pattern.split('/').filter(Boolean);
  const s = path.split('/').filter(Boolean);
  const out: Record<string, string> = {};
  for (let i = 0; i < Math.max(p.length, s.length); i++) {
    const part = p[i];
    const seg = s[i];
    if (part === undefined) return undefined;
    const optional = part.endsWith('?');
    if (part.startsWith(':')) {
      if (seg === undefined) {
        if (optional) continue;
        return undefined;
      }
      out[part.slice(1).replace(/\?$/, '')] = decodeURIComponent(seg);
    } else if (part !== seg) return undefined;
  }
  return out;
}

type AnchorProps = AnchorHTMLAttributes<HTMLAnchorElement> & { href: string; children?: ComponentChildren };

/** An anchor that navigates inside the app; modified clicks (new tab) behave as usual. */
export function Link({ href, onClick, ...rest }: AnchorProps) {
  return (
    <a
      href={href}
      onClick={(e) => {
        if (typeof onClick === 'function') onClick(e);
        if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(href);
      }}
      {...rest}
    />
  );
}
