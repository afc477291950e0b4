import { availableParallelism } from 'node:os';

/** A one-line progress counter on stderr, only when stderr is a terminal. */
export class Progress {
  private readonly enabled: boolean;
  private last = 0;
  constructor(private readonly total: number, private readonly label: string) {
    this.enabled = process.stderr.isTTY === true && total > 1;
  }
  tick(done: number): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < 100 && done < this.total) return;
    this.last = now;
    const width = 30;
    const fill = Math.round((done / this.total) * width);
    process.stderr.write(`\r${this.label} [${'#'.repeat(fill)}${' '.repeat(width - fill)}] ${done}/${this.total}`);
  }
  done(): void {
    if (this.enabled) process.stderr.write('\r\x1b[K');
  }
}

/** Worker threads by default: one per core (navigator.hardwareConcurrency is Node 21+). */
export function defaultJobs(): number {
  return Math.max(1, availableParallelism());
}
