// Proof that the process appending to an extent file is gone. A file that
// is not sealed and holds no live bytes may be deleted only once its writer
// will never append to it again; the hostname and pid in its row cannot say
// that (another PID namespace, another node with the same hostname on a shared
// extent directory, a reused pid). So the writer holds an exclusive flock(2)
// on the file for as long as it appends to it, and others may delete (or
// seal) the file only when they can take that lock.
//
// Node has no flock: the native addon calls it (native/h5, "file locks"). The
// writer locks the descriptor it appends with, through a close-on-exec
// duplicate: the kernel drops the lock when the writer releases it and closes
// the file, or when the writer dies in any way, and no program it started
// keeps it. So a lock that can be taken proves the writer is gone. A flock
// belongs to an open file description, not to a process: a check opens the
// file anew, so it sees the lock as held even in the writer's own process
// (reclaim of one engine instance against another's files, or against its
// own file being sealed, relies on that). flock works across processes and,
// on NFS, across nodes: the client maps it to a whole-file byte-range lock,
// which needs a descriptor open for writing (the writer's is; a check reopens
// the file for writing when a read-only descriptor is refused).
import fs from 'node:fs';
import { StrataError } from '../errors.js';
import { nativeAddon } from '../native-addon.js';

interface FlockCalls {
  flockHold(fd: number): number;
  flockFree(p: Buffer): boolean | null;
}

function lib(): FlockCalls {
  return nativeAddon<FlockCalls>('extent-file writer locks (flock) need');
}

export interface HeldLock { release(): void }

/**
 * Takes the exclusive lock of a file nobody else can know yet (a new file
 * under a temporary name) on fd, the descriptor its writer appends with. The
 * lock lasts until release() and the close of fd (or this process's death).
 */
export function holdLock(fd: number, file: string): HeldLock {
  let held: number;
  try {
    held = lib().flockHold(fd);
  } catch (e) {
    if (e instanceof StrataError) throw e;
    throw new StrataError('EIO', `cannot lock extent file ${file} (flock): ${(e as Error).message}`, { cause: e });
  }
  return {
    release: () => {
      // Once: the descriptor number may be reused after its close.
      if (held >= 0) fs.closeSync(held);
      held = -1;
    },
  };
}

/**
 * Whether the lock of an existing file can be taken now (then released at
 * once): true proves its writer is gone; false, it holds the lock; undefined,
 * the file is not there or the lock could not be tried.
 */
export function lockFree(file: string): boolean | undefined {
  return lib().flockFree(Buffer.from(file)) ?? undefined;
}
