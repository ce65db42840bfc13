// Coalescing notifications: many updates in one frame cause one re-render. The fleet
// can change thousands of times a second; the screen needs it at most once a frame.

export type Schedule = (fn: () => void) => void;

/** The next animation frame; a hidden tab gets none, so its work waits until it is shown. */
export const nextFrame: Schedule = (fn) => {
  requestAnimationFrame(() => fn());
};

export class Batcher {
  private scheduled = false;

  constructor(
    private readonly flush: () => void,
    private readonly schedule: Schedule = nextFrame,
  ) {}

  /** Something changed: flush once, at the next opportunity. */
  mark(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.schedule(() => {
      this.scheduled = false;
      this.flush();
    });
  }
}
