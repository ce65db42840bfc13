// Model profiles as the console knows them: the last copy is shown at once and read
// again whenever a screen using the model opens (another operator may have changed
// it), and replaced when this console saves one, so every screen of that model follows.

import type { ModelProfile } from '@halyard/firmware-protocol';
import { useEffect, useState } from 'preact/hooks';
import { models } from '../api/endpoints.ts';

const known = new Map<string, ModelProfile>();
const loading = new Map<string, Promise<void>>();
const listeners = new Set<() => void>();

function tell(): void {
  for (const l of listeners) l();
}

/** A profile this console just saved (or loaded): every user of the model sees it. */
export function rememberProfile(p: ModelProfile): void {
  known.set(p.model, p);
  tell();
}

function load(model: string): void {
  if (loading.has(model)) return;
  loading.set(
    model,
    models.profile(model).then(
      (p) => {
        loading.delete(model);
        rememberProfile(p);
      },
      // Without a profile every screen works as before; the next mount tries again.
      () => {
        loading.delete(model);
      },
    ),
  );
}

/** The model's profile, undefined while loading (or without a model). */
export function useModelProfile(model: string | null | undefined): ModelProfile | undefined {
  const [, setTick] = useState(0);
  useEffect(() => {
    const l = () => setTick((n) => n + 1);
    listeners.add(l);
    if (model) load(model);
    return () => {
      listeners.delete(l);
    };
  }, [model]);
  return model ? known.get(model) : undefined;
}
