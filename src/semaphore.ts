// A counting semaphore: the bound on work in flight that the mover's copies
// and the jobs worker share.
/** A counting semaphore. */
export class Semaphore {
  private n: number;
  private readonly waiters: Array<() => void> = [];
  constructor(n: number) { this.n = n; }
  async take(): Promise<void> {
    while (this.n <= 0) await new Promise<void>((r) => this.waiters.push(r));
    this.n--;
  }
  give(): void {
    this.n++;
    this.waiters.shift()?.();
  }
}
