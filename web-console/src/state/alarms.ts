// Alarms kept live for a view: the list from the HTTP API (again after every
// reconnect, and when the hub dropped `alarms` updates for this console), then each
// `alarm` update merged in. The shell follows the `alarms` stream for the app's life.

import type { AlarmCounts, AlarmInfo } from '@halyard/firmware-protocol';
import { useEffect, useRef, useState } from 'preact/hooks';
import { alarms } from '../api/endpoints.ts';
import { mergeAlarm } from '../lib/alarms.ts';
import { useDropped, useGeneration, useUpdates } from '../lib/hooks.ts';
import { useApp } from './app-context.ts';

export function useAlarmList(device?: string): { list: AlarmInfo[]; loaded: boolean; error: unknown; replace: (a: AlarmInfo) => void } {
  const { channel } = useApp();
  const generation = useGeneration(channel);
  const dropped = useDropped(channel, 'alarms');
  const [list, setList] = useState<AlarmInfo[]>([]);
  const [error, setError] = useState<unknown>(undefined);
  const [loaded, setLoaded] = useState(false);
  useUpdates(channel, 'alarm', (u) => {
    if (device === undefined || u.alarm.device === device) setList((l) => mergeAlarm(l, u.alarm));
  });
  useEffect(() => {
    let live = true;
    alarms.list({ ...(device === undefined ? {} : { device }), limit: 500 }).then(
      (r) => {
        if (!live) return;
        setError(undefined);
        setLoaded(true);
        setList((l) => r.alarms.reduce((acc, a) => mergeAlarm(acc, a), l));
      },
      (err: unknown) => live && setError(err),
    );
    return () => {
      live = false;
    };
  }, [generation, dropped, device]);
  return { list, loaded, error, replace: (a) => setList((l) => mergeAlarm(l, a)) };
}

/** Alarms not cleared by severity, for the top bar: read again (at most twice a second) whenever an alarm changes. */
export function useAlarmCounts(): AlarmCounts | undefined {
  const { channel } = useApp();
  const generation = useGeneration(channel);
  const [counts, setCounts] = useState<AlarmCounts | undefined>(undefined);
  const [tick, setTick] = useState(0);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useUpdates(channel, 'alarm', () => {
    timer.current ??= setTimeout(() => {
      timer.current = undefined;
      setTick((t) => t + 1);
    }, 500);
  });
  useEffect(() => () => clearTimeout(timer.current), []);
  useEffect(() => {
    let live = true;
    alarms.counts().then(
      (c) => live && setCounts(c),
      () => {},
    );
    return () => {
      live = false;
    };
  }, [generation, tick]);
  return counts;
}
