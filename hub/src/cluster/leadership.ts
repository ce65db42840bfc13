// Who runs the hub's singleton work (README.md, Running a cluster): PostgreSQL upkeep
// (partitions, retention), command expiry, Home Assistant discovery and the outbound
// MQTT bridges must run on one node of a cluster at a time. A single hub is always
// its own leader; a cluster node asks PostgreSQL (pg-leadership.ts).

export interface Leadership {
  /** True while this node holds the leadership. */
  readonly isLeader: boolean;
  /**
   * Calls `listener` now with the current state, then at every change; returns the
   * unsubscribe function. A listener that throws is logged by the owner, never stops the others.
   */
  onChange(listener: (leader: boolean) => void): () => void;
  /** Gives the leadership up (if held) and stops trying; listeners hear `false` once. */
  close(): Promise<void>;
}

/** Listeners and the state they are told about, for implementations. */
export class LeaderState {
  private leader = false;
  private readonly listeners = new Set<(leader: boolean) => void>();

  constructor(private readonly onListenerError: (err: unknown) => void) {}

  get isLeader(): boolean {
    return this.leader;
  }

  onChange(listener: (leader: boolean) => void): () => void {
    this.listeners.add(listener);
    this.call(listener, this.leader);
    return () => this.listeners.delete(listener);
  }

  set(leader: boolean): void {
    if (leader === this.leader) return;
    this.leader = leader;
    for (const l of [...this.listeners]) this.call(l, leader);
  }

  private call(listener: (leader: boolean) => void, leader: boolean): void {
    try {
      listener(leader);
    } catch (err) {
      this.onListenerError(err);
    }
  }
}

/** A hub that is not part of a cluster (SQLite, or PostgreSQL without --cluster): leader from start to close. */
export function alwaysLeader(onListenerError: (err: unknown) => void = () => {}): Leadership {
  const state = new LeaderState(onListenerError);
  state.set(true);
  return {
    get isLeader() {
      return state.isLeader;
    },
    onChange: (l) => state.onChange(l),
    close: async () => state.set(false),
  };
}

/**
 * Runs `task` every `everyMs` while this node leads, the first time as soon as it
 * becomes leader; stops with the leadership. Returns the stop function. A run in
 * progress when the leadership goes finishes (leader work is idempotent: two leaders
 * for a moment must not break anything, docs/scaling.md).
 */
export function whileLeader(
  leadership: Leadership,
  everyMs: number,
  task: () => Promise<void> | void,
  onError: (err: unknown) => void,
): () => void {
  let timer: NodeJS.Timeout | undefined;
  const run = () => {
    Promise.resolve().then(task).catch(onError);
  };
  const off = leadership.onChange((leader) => {
    clearInterval(timer);
    timer = undefined;
    if (!leader) return;
    run();
    timer = setInterval(run, everyMs);
    timer.unref();
  });
  return () => {
    off();
    clearInterval(timer);
  };
}
