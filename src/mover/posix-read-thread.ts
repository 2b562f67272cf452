// A read thread of the POSIX end (posix-read-threads.ts starts it): reads a
// small listed file whole, or an entry's xattrs, at a path in a directory the
// main thread holds open for the call ("/proc/<pid>/fd/<fd>/name": the
// descriptors are the process's), with the very calls the main thread would
// make (posix-end.ts: readListedSync), and no native
// module: only fs calls, and hands the bytes over.
import { parentPort } from 'node:worker_threads';
import { StrataError } from '../errors.js';
import { readListedSync } from './posix-end.js';
import type { ReadReply, ReadRequest, ThreadError } from './posix-read-threads.js';

const port = parentPort!;

port.on('message', (m: ReadRequest) => {
  answer(m);
});

function answer(m: ReadRequest): void {
  const at = Buffer.from(m.at, 'latin1');
  try {
    const { data, after } = readListedSync(at, m.st);
    port.postMessage({ id: m.id, data, after } satisfies ReadReply, [data.buffer as ArrayBuffer]);
  } catch (e) {
    port.postMessage({ id: m.id, error: describe(e, 3) } satisfies ReadReply);
  }
}

/** An error as data, its causes too (reports read them: errors.ts reasonOf). */
function describe(e: unknown, depth: number): ThreadError {
  const err = e as NodeJS.ErrnoException & { stage?: string };
  const cause = (e as { cause?: unknown })?.cause;
  return {
    strata: e instanceof StrataError, message: err instanceof Error ? err.message : String(e),
    ...(typeof err?.code === 'string' ? { code: err.code } : {}), ...(err?.syscall !== undefined ? { syscall: err.syscall } : {}),
    ...(err?.errno !== undefined ? { errno: err.errno } : {}), ...(err?.stage !== undefined ? { stage: err.stage } : {}),
    ...(cause !== undefined && depth > 1 ? { cause: describe(cause, depth - 1) } : {}),
  };
}
