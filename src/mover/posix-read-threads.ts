// Threads that read a POSIX source for the mover's main thread, so that with
// -j 2 the second core reads small files (open, fstat, read, fstat, close)
// while the main thread commits. A call names a path inside a directory the caller
// holds open until the answer: the thread makes the same calls the main thread
// would, on the same descriptors. The number of calls in flight is the
// caller's (the transfer's bounded pool); file bytes are handed over, not copied.
import { Worker } from 'node:worker_threads';
import { StrataError, type ErrorCode } from '../errors.js';
import type { SmallRead } from './posix-end.js';
import type { MStat } from './tree.js';

export interface ReadRequest { id: number; at: string; st: Pick<MStat, 'ino' | 'type' | 'size'> }

export interface ReadReply {
  id: number;
  data?: Uint8Array;
  after?: SmallRead['after'];
  error?: ThreadError;
}

/** An error of a read thread as data (an Error does not cross threads whole). */
export interface ThreadError {
  strata: boolean;
  message: string;
  code?: string;
  syscall?: string;
  errno?: number;
  stage?: string;
  cause?: ThreadError;
}

interface Thread {
  worker: Worker;
  pending: number;
}

export class ReadThreads {
  private readonly threads: Thread[] = [];
  private readonly waiting = new Map<number, { resolve: (r: ReadReply) => void; reject: (e: unknown) => void; thread: Thread }>();
  private seq = 0;
  private failed: unknown;

  constructor(n: number) {
    for (let i = 0; i < n; i++) {
      const worker = new Worker(new URL('./posix-read-thread.js', import.meta.url));
      const t: Thread = { worker, pending: 0 };
      // Only a thread with calls in flight keeps the process alive.
      worker.unref();
      worker.on('message', (r: ReadReply) => {
        const w = this.waiting.get(r.id);
        if (!w) return;
        this.waiting.delete(r.id);
        if (--t.pending === 0) worker.unref();
        w.resolve(r);
      });
      // A thread that dies fails its calls and every later one: reported, never waited on.
      const die = (e: unknown) => {
        this.failed ??= e;
        for (const [id, w] of this.waiting) if (w.thread === t) { this.waiting.delete(id); w.reject(e); }
      };
      worker.on('error', die);
      worker.on('exit', (code) => die(new StrataError('EIO', `a read thread exited (code ${code})`)));
      this.threads.push(t);
    }
  }

  private call(at: Buffer, st: MStat): Promise<ReadReply> {
    if (this.failed) return Promise.reject(this.failed);
    // The thread with the fewest calls in flight.
    let t = this.threads[0]!;
    for (const u of this.threads) if (u.pending < t.pending) t = u;
    const id = this.seq++;
    return new Promise<ReadReply>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject, thread: t });
      if (t.pending++ === 0) t.worker.ref();
      // The path as a latin1 string, byte for byte: a Buffer would be cloned with all of the pool slab it views.
      t.worker.postMessage({ id, at: at.toString('latin1'), st: { ino: st.ino, type: st.type, size: st.size } } satisfies ReadRequest);
    }).then((r) => {
      if (r.error) throw rebuild(r.error);
      return r;
    });
  }

  async read(at: Buffer, st: MStat): Promise<SmallRead> {
    const r = await this.call(at, st);
    return { data: Buffer.from(r.data!.buffer, r.data!.byteOffset, r.data!.byteLength), after: r.after! };
  }

  async close(): Promise<void> {
    this.failed ??= new StrataError('EIO', 'read threads closed');
    await Promise.all(this.threads.map((t) => t.worker.terminate()));
  }
}

/** The thread's error as the main thread's calls would have thrown it (the same reports). */
function rebuild(e: ThreadError): Error {
  const cause = e.cause ? { cause: rebuild(e.cause) } : undefined;
  const err = e.strata ? new StrataError((e.code ?? 'EIO') as ErrorCode, e.message, cause) : new Error(e.message, cause);
  return Object.assign(err, {
    ...(e.code !== undefined && !e.strata ? { code: e.code } : {}), ...(e.syscall !== undefined ? { syscall: e.syscall } : {}),
    ...(e.errno !== undefined ? { errno: e.errno } : {}), ...(e.stage !== undefined ? { stage: e.stage } : {}),
  });
}
