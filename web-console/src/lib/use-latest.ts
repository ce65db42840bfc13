// Keeps the app's latest-values store fed while a view needs it: every page of the
// fleet-wide latest API now, again every REFRESH_MS and after each reconnect, and the
// live telemetry of the rows on screen (the hub streams at most 50 named devices).

import { useEffect } from 'preact/hooks';
import { telemetry } from '../api/endpoints.ts';
import { useApp } from '../state/app-context.ts';
import { useGeneration, useUpdates } from './hooks.ts';

/** Off-screen devices are this stale at most; the ones on screen are live. */
const REFRESH_MS = 10_000;
/** The hub's limit for the telemetry stream (SPEC.md §10.2). */
export const LIVE_DEVICES_MAX = 50;
/** Scrolling changes the rows on screen many times a second; the subscription follows after a pause. */
const RESUBSCRIBE_MS = 250;

export function useLatestValues(onError: (err: unknown) => void): void {
  const { latest } = useApp();
  const generation = useGeneration(useApp().channel);
  useEffect(() => {
    const ctl = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async () => {
      try {
        let after: string | undefined;
        do {
          const page = await telemetry.latestPage(after, ctl.signal);
          latest.applyPage(page.devices);
          after = page.next ?? undefined;
        } while (after !== undefined && !ctl.signal.aborted);
        onError(undefined);
      } catch (err) {
        if (!ctl.signal.aborted) onError(err);
      }
      if (!ctl.signal.aborted) timer = setTimeout(() => void load(), REFRESH_MS);
    };
    void load();
    return () => {
      ctl.abort();
      clearTimeout(timer);
    };
  }, [latest, generation]);
}

/** Live telemetry for `ids` (the rows on screen, at most LIVE_DEVICES_MAX). */
export function useLiveTelemetry(ids: readonly string[], enabled: boolean): void {
  const { channel, latest } = useApp();
  const key = enabled ? ids.slice(0, LIVE_DEVICES_MAX).join('\u0000') : '';
  useUpdates(channel, 'telemetry', (u) => latest.applyLive(u.device, u.points));
  useEffect(() => {
    if (key === '') return;
    let off: (() => void) | undefined;
    const timer = setTimeout(() => {
      off = channel.subscribe('telemetry', key.split('\u0000'));
    }, RESUBSCRIBE_MS);
    return () => {
      clearTimeout(timer);
      off?.();
    };
  }, [channel, key]);
}
