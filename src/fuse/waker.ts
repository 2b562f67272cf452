// Wakes the daemon's event loop while its main thread is blocked in a
// synchronous read of /dev/fuse (channel.ts). A helper process learns, over a
// pipe, whether the daemon has background work whose completions wait for
// the loop (commits, bulk writes): while it has, the helper sends a request
// through the mount every few milliseconds (STATFS: never cached by the
// kernel, answered without touching the engine), which a blocked read
// returns; otherwise one a second (so signal handlers run). A STATFS the
// daemon reads while awake costs a trivial request. The main thread writes
// to the pipe only when that state changes, not around every read: a pipe
// write wakes the helper, and on a loaded machine two of them per request
// (blocked, awake) took about a seventh of a serial client's time.
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BUSY_MS = 3;
const IDLE_MS = 1000;
/** Bytes on the pipe: whether the daemon has background work. */
const IDLE = 0;
const BUSY = 2;

export interface Waker {
  /** The main thread is about to block in a read; `busy`: background work is running. */
  blocking(busy: boolean): void;
  stop(): void;
}

export function startWaker(mountpoint: string): Waker {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), mountpoint], { stdio: ['pipe', 'ignore', 'inherit'] });
  child.unref();
  child.on('error', (e) => process.stderr.write(`strata mount: waker process: ${e.message}\n`));
  const stdin = child.stdin!;
  stdin.on('error', () => undefined);
  (stdin as unknown as { unref?: () => void }).unref?.();
  // The pipe's descriptor, written synchronously: the main thread blocks right after.
  const fd = (stdin as unknown as { _handle?: { fd?: number } })._handle?.fd;
  const one = Buffer.alloc(1);
  let last = IDLE;
  const send = (b: number) => {
    if (fd === undefined || b === last) return;
    last = b;
    one[0] = b;
    try { fs.writeSync(fd, one); } catch { /* the helper is gone: reads still return on their own */ }
  };
  return {
    blocking(busy) { send(busy ? BUSY : IDLE); },
    stop() {
      stdin.destroy();
      child.kill();
    },
  };
}

/** The helper process: reads states from stdin, sends a STATFS every few milliseconds while busy, every second otherwise. */
function helper(mountpoint: string): void {
  let state = IDLE;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      fs.statfs(mountpoint, (err) => {
        if (err && (err as NodeJS.ErrnoException).code === 'ENOTCONN') process.exit(0);
        if (!timer) arm(); // no news: again after the same wait
      });
    }, state === BUSY ? BUSY_MS : IDLE_MS);
  };
  process.stdin.on('data', (d: Buffer) => {
    state = d[d.length - 1]!;
    arm();
  });
  process.stdin.on('end', () => process.exit(0));
  arm();
  // Ctrl-C or a TERM to the daemon's process group is the daemon's to handle
  // (it needs this helper to wake its loop); the helper ends with its pipe.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => undefined);
  process.stdin.on('error', () => process.exit(0));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) helper(process.argv[2]!);
