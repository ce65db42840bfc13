// Time as a service sees it: the current time and one-shot timers. Services that
// decide by the clock take one so their unit tests can advance time by hand instead
// of waiting for it (hub/test/helpers/fake-clock.ts).

export interface Clock {
  /** ms since the epoch, like Date.now. */
  now(): number;
  setTimeout(fn: () => void, ms: number): ClockTimer;
  clearTimeout(timer: ClockTimer): void;
}

/** A timer's handle; only the clock that made it can clear it. */
export type ClockTimer = unknown;

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout),
};
