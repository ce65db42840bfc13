// The progress line on stderr: what is being copied, how far, how fast. At most
// one line a second per part, and one when a part finishes, so a log file of a
// long copy stays readable.

export type Write = (line: string) => void;

const fmt = (n: number) => n.toLocaleString('en-US');

export class Progress {
  private started = Date.now();
  private last = 0;
  private doneAtStart = 0;

  constructor(
    private readonly write: Write,
    private readonly part: string,
    private readonly unit: string,
    private readonly total: number,
    done = 0,
  ) {
    this.doneAtStart = done;
  }

  /** Reports `done` if a second has passed since the last line (or `final`). */
  update(done: number, final = false): void {
    const now = Date.now();
    if (!final && now - this.last < 1000) return;
    this.last = now;
    const secs = Math.max((now - this.started) / 1000, 0.001);
    const rate = Math.round((done - this.doneAtStart) / secs);
    const pct = this.total > 0 ? ` (${((100 * done) / this.total).toFixed(1)}%)` : '';
    this.write(
      `migrate-store: ${this.part} ${fmt(done)}/${fmt(this.total)} ${this.unit}${pct}, ${fmt(rate)} ${this.unit}/s${final ? ', done' : ''}`,
    );
  }
}
