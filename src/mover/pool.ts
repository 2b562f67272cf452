// A bounded pool of async tasks: the walk waits for a free slot before it
// dispatches the next item, so a tree of any size is never held in memory.
export class Pool {
  private running = 0;
  private readonly waiters: Array<() => void> = [];
  private readonly live = new Set<Promise<void>>();

  constructor(readonly size: number) {}

  async slot(): Promise<void> {
    while (this.running >= this.size) await new Promise<void>((r) => this.waiters.push(r));
    this.running++;
  }

  private release(): void {
    this.running--;
    this.waiters.shift()?.();
  }

  /** Waits for a slot, then starts task (does not wait for it). */
  async run(task: () => Promise<void>): Promise<void> {
    await this.slot();
    this.track(task().finally(() => this.release()));
  }

  /** Tracks a task that runs outside the slots (drain waits for it too). */
  track(p: Promise<void>): void {
    const q = p.catch(() => undefined).finally(() => { this.live.delete(q); });
    this.live.add(q);
  }

  async drain(): Promise<void> {
    while (this.live.size > 0) await Promise.all([...this.live]);
  }
}

export { Semaphore } from '../semaphore.js';
