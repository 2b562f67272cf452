// Wakes the daemon's event loop while its main thread is blocked in a
// synchronous read of /dev/fuse (channel.ts): a helper process learns, over a
// pipe, when the main thread blocks in a read while the daemon has background
// work whose completions wait for the loop (commits, bulk writes) and when
// it wakes; when such a read has blocked a few milliseconds it sends a
// request through the mount (STATFS: never cached by the kernel, answered
// without touching the engine), which the blocked read returns. Otherwise it
// sends one after a second without news, blocked or not (so signal handlers
// run; a STATFS the daemon reads while awake costs nothing worth saving).
// Reads without background work tell the helper nothing: a pipe write wakes
// the helper, and on a loaded machine two of them per request (blocked,
// awake) took about a seventh of a serial client's time.
//
// A process, not a thread of the daemon: a thread whose request through the
// daemon's own mount was already read when the daemon is killed waits for
// the answer without end, and as it shares the daemon's descriptors the
// daemon's /dev/fuse stays open, the kernel never aborts the connection,
// and every process using the mount hangs. The helper holds no /dev/fuse
// descriptor: when the daemon dies the connection is aborted, the helper's
// request fails, its pipe ends, and it exits.
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BUSY_MS = 3;
const IDLE_MS = 1000;
/** Bytes on the pipe: the main thread's state (AWAKE also stands for a read blocked without background work). */
const AWAKE = 0;
const BLOCKED_BUSY = 2;

export interface Waker {
  /** The main thread is about to block in a read; `busy`: background work is running. */
  blocking(busy: boolean): void;
  /** The read returned. */
  awake(): void;
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
  let last = AWAKE;
  const send = (b: number) => {
    if (fd === undefined || b === last) return;
    last = b;
    one[0] = b;
    try { fs.writeSync(fd, one); } catch { /* the helper is gone: reads still return on their own */ }
  };
  return {
    blocking(busy) { if (busy) send(BLOCKED_BUSY); },
    awake() { send(AWAKE); },
    stop() {
      stdin.destroy();
      child.kill();
    },
  };
}

/** The helper process: reads states from stdin, sends STATFS when a read blocked too long. */
function helper(mountpoint: string): void {
  let state = AWAKE;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = undefined;
    timer = setTimeout(() => {
      timer = undefined;
      fs.statfs(mountpoint, (err) => {
        if (err && (err as NodeJS.ErrnoException).code === 'ENOTCONN') process.exit(0);
        if (!timer) arm(); // no news: wake it again after the same wait
      });
    }, state === BLOCKED_BUSY ? BUSY_MS : IDLE_MS);
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
