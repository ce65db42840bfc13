// Hooks shared by screens: subscribing to stores, a shared ticking clock, async loads
// with their error, and channel updates.

import type { ConsoleUpdate } from '@halyard/firmware-protocol';
import { useCallback, useEffect, useReducer, useRef, useState } from 'preact/hooks';
import type { ChannelState, ConsoleChannel, UpdateOf } from '../channel/channel.ts';

/** Re-renders whenever `subscribe`'s source says it changed. */
export function useSubscribe(subscribe: (fn: () => void) => () => void): void {
  const [, bump] = useReducer((n: number) => n + 1, 0);
  useEffect(() => subscribe(() => bump(undefined)), [subscribe]);
}

/**
 * As useSubscribe, but re-renders at most once per animation frame: for screens that
 * redo work proportional to the fleet on each change (the map at 5,000 devices), where
 * a burst of live updates would otherwise render once per message.
 */
export function useSubscribeFrame(subscribe: (fn: () => void) => () => void): void {
  const [, bump] = useReducer((n: number) => n + 1, 0);
  useEffect(() => {
    let frame: number | undefined;
    const off = subscribe(() => {
      frame ??= requestAnimationFrame(() => {
        frame = undefined;
        bump(undefined);
      });
    });
    return () => {
      off();
      if (frame !== undefined) cancelAnimationFrame(frame);
    };
  }, [subscribe]);
}

// One interval for every ticking age on screen, running only while something shows one.
const tickers = new Set<() => void>();
let tickTimer: ReturnType<typeof setInterval> | undefined;

/** The current time, refreshed every second: for "12 s ago" that keeps counting. */
export function useNow(): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const fn = () => setNow(Date.now());
    tickers.add(fn);
    tickTimer ??= setInterval(() => {
      for (const t of tickers) t();
    }, 1_000);
    return () => {
      tickers.delete(fn);
      if (tickers.size === 0 && tickTimer !== undefined) {
        clearInterval(tickTimer);
        tickTimer = undefined;
      }
    };
  }, []);
  return now;
}

export function useChannelState(channel: ConsoleChannel): ChannelState {
  const [s, setS] = useState(channel.state);
  useEffect(() => {
    setS(channel.state);
    return channel.onState(setS);
  }, [channel]);
  return s;
}

/** Bumps each time the channel says welcome: views refetch history then (they missed updates while down). */
export function useGeneration(channel: ConsoleChannel): number {
  const s = useChannelState(channel);
  const last = useRef(0);
  if (s.kind === 'live') last.current = s.generation;
  return last.current;
}

export function useUpdates<T extends ConsoleUpdate['t']>(channel: ConsoleChannel, t: T, fn: (u: UpdateOf<T>) => void): void {
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => channel.on(t, (u) => ref.current(u)), [channel, t]);
}

/**
 * Counts `dropped` messages for a stream: the hub coalesced updates away for this slow
 * console (SPEC.md §10.4), so views that keep history refetch when it changes.
 */
export function useDropped(channel: ConsoleChannel, stream: UpdateOf<'dropped'>['stream']): number {
  const [n, setN] = useState(0);
  useUpdates(channel, 'dropped', (u) => {
    if (u.stream === stream) setN((x) => x + 1);
  });
  return n;
}

export interface Async<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/** Runs `load` when `deps` change (and on reload); keeps the last data while reloading. */
export function useAsync<T>(load: (signal: AbortSignal) => Promise<T>, deps: readonly unknown[]): Async<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({
    data: undefined,
    error: undefined,
    loading: true,
  });
  const [nonce, setNonce] = useState(0);
  const reload = useCallback(() => setNonce((n) => n + 1), []);
  // The caller names what the load depends on (like useEffect's list).
  useEffect(() => {
    const ctl = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    load(ctl.signal).then(
      (data) => {
        if (!ctl.signal.aborted) setState({ data, error: undefined, loading: false });
      },
      (error: unknown) => {
        if (!ctl.signal.aborted) setState((s) => ({ data: s.data, error, loading: false }));
      },
    );
    return () => ctl.abort();
  }, [...deps, nonce]);
  return { ...state, reload };
}
