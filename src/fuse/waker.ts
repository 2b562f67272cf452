// Wakes the daemon's event loop while its main thread is blocked in a
// synchronous read of /dev/fuse (channel.ts): a helper thread watches a
// shared word the main thread sets around each blocking read, and when a
// read has blocked too long it sends a request through the mount (STATFS:
// never cached by the kernel, answered without touching the engine), which
// the blocked read returns. Too long = a few milliseconds when the daemon
// has background work whose completions wait for the loop (commits, bulk
// writes), about a second otherwise (so signal handlers run).
import fs from 'node:fs';
import { Worker, isMainThread, workerData } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';

// Shared words: [0] state (0 awake, 1 blocked and idle, 2 blocked with background work, 3 stop),
// [1] number of the current blocking read.
const STATE = 0;
const SEQ = 1;
const BUSY_MS = 3;
const IDLE_MS = 1000;
const TICK_MS = 2;

export interface Waker {
  /** The main thread is about to block in a read; `busy`: background work is running. */
  blocking(busy: boolean): void;
  /** The read returned. */
  awake(): void;
  stop(): void;
}

export function startWaker(mountpoint: string): Waker {
  const shared = new Int32Array(new SharedArrayBuffer(8));
  const w = new Worker(fileURLToPath(import.meta.url), { workerData: { strataWaker: true, shared, mountpoint } });
  w.unref();
  w.on('error', (e) => process.stderr.write(`strata mount: waker thread: ${e.message}\n`));
  return {
    blocking(busy) {
      Atomics.add(shared, SEQ, 1);
      Atomics.store(shared, STATE, busy ? 2 : 1);
    },
    awake() { Atomics.store(shared, STATE, 0); },
    stop() {
      Atomics.store(shared, STATE, 3);
      void w.terminate();
    },
  };
}

function loop(shared: Int32Array, mountpoint: string): void {
  const nap = new Int32Array(new SharedArrayBuffer(4));
  let seq = -1;
  let since = 0;
  for (;;) {
    const state = Atomics.load(shared, STATE);
    if (state === 3) return;
    const now = Date.now();
    const s = Atomics.load(shared, SEQ);
    if (state === 0 || s !== seq) { seq = s; since = now; }
    else if (now - since >= (state === 2 ? BUSY_MS : IDLE_MS)) {
      try { fs.statfsSync(mountpoint); } catch { /* unmounted meanwhile */ }
      since = Date.now();
    }
    Atomics.wait(nap, 0, 0, state === 0 || state === 2 ? TICK_MS : 50);
  }
}

if (!isMainThread && (workerData as { strataWaker?: boolean } | undefined)?.strataWaker) {
  const d = workerData as { shared: Int32Array; mountpoint: string };
  loop(d.shared, d.mountpoint);
}
