// The DFS write session's data side: writes to a new file are held in
// memory up to a limit, so a small file can be committed whole with its
// creation (one transaction for create, data and attributes, done by the
// caller with what takeHeld() hands over, usually through its CreateGroup);
// past the limit they spill to a bulk writer that commits several chunks per
// transaction in the background. Used by the mount's open files
// (fuse/file-ops.ts) and the mover's DFS destination (mover/dfs-tree.ts).
import { isStrataError } from '../errors.js';
import type { ObjectId } from '../object/oid.js';
import type { CreateAtOptions } from './at.js';
import type { Dfs } from './dfs.js';
import type { BulkWriter, DfsFile } from './io.js';
import { tempName } from './path.js';

export interface HeldWriterOptions {
  /** Bytes held before data goes to the bulk writer (0: none held). */
  limit: number;
  /** Copies what is held (the caller reuses its buffers); else the buffers are handed over. */
  copy?: boolean;
}

export interface HeldPiece { data: Buffer; offset: number }

export class HeldWriter {
  private held: HeldPiece[] = [];
  private heldBytes = 0;
  private bw: BulkWriter | undefined;
  private spilling: Promise<BulkWriter> | undefined;
  /** End offset of data written but not yet committed (0 when clean). */
  dirtyEnd = 0;

  /**
   * `open` gives the bulk writer when the first data spills (it may first
   * commit the file's creation, or create a temporary entry); it runs once,
   * again only after a failure.
   */
  constructor(private readonly open: () => Promise<BulkWriter>, private readonly opts: HeldWriterOptions) {}

  /** Data held or not committed yet. */
  get dirty(): boolean { return this.heldBytes > 0 || !!this.bw?.dirty; }
  /** Data went to the bulk writer and may be committing in the background. */
  get busy(): boolean { return !!this.bw?.dirty; }

  async write(data: Buffer, offset: number): Promise<void> {
    this.dirtyEnd = Math.max(this.dirtyEnd, offset + data.length);
    if (!this.bw && !this.spilling && this.heldBytes + data.length <= this.opts.limit) {
      this.held.push({ data: this.opts.copy ? Buffer.from(data) : data, offset });
      this.heldBytes += data.length;
      return;
    }
    const bw = this.bw ?? await this.spill();
    await bw.write(data, offset);
  }

  /** Opens the bulk writer (once) and hands it what is held. */
  private spill(): Promise<BulkWriter> {
    if (!this.spilling) {
      const p = (async () => {
        const bw = await this.open();
        const held = this.held;
        this.held = [];
        this.heldBytes = 0;
        for (const h of held) await bw.write(h.data, h.offset);
        this.bw = bw;
        return bw;
      })();
      this.spilling = p;
      // After a failure the next write or flush tries again (what is held stays held).
      void p.then(() => undefined, () => undefined).finally(() => { if (this.spilling === p) this.spilling = undefined; });
    }
    return this.spilling;
  }

  /**
   * Hands over what is held (never sent to DFS) for a commit done by the
   * caller, or undefined when data went (or is going) to the bulk writer.
   */
  takeHeld(): HeldPiece[] | undefined {
    if (this.bw || this.spilling) return undefined;
    const h = this.held;
    this.held = [];
    this.heldBytes = 0;
    this.dirtyEnd = 0;
    return h;
  }

  /** Commits everything written and waits for it; throws the first error since the last report. */
  async flush(): Promise<void> {
    if (this.spilling || this.heldBytes > 0) await this.spill();
    if (this.bw) await this.bw.flush();
    this.dirtyEnd = 0;
  }

  /** Drops what is held and what the bulk writer has not committed (an abandoned write). */
  async discard(): Promise<void> {
    if (this.spilling) await this.spilling.catch(() => undefined);
    this.held = [];
    this.heldBytes = 0;
    this.dirtyEnd = 0;
    await this.bw?.discard();
  }
}

/**
 * A large new file's first commit: an entry under a temporary name (a new
 * name if another process took it), with the file's attributes; its data
 * follows through a bulk writer, then placeTemp.
 */
export async function createTemp(dfs: Dfs, dir: ObjectId, opts: CreateAtOptions): Promise<{ name: string; file: DfsFile }> {
  for (let i = 0; ; i++) {
    const name = tempName();
    try {
      return { name, file: await dfs.createFileAt(dir, name, opts) };
    } catch (e) {
      if (!isStrataError(e, 'EEXIST') || i > 3) throw e;
    }
  }
}

/** A large new file's last commit: its exact size and mtime, and the rename of its temporary entry over `name`, in one transaction. */
export async function placeTemp(dfs: Dfs, dir: ObjectId, tmp: { name: string; file: DfsFile }, name: string, a: { size: number; mtimeNs: bigint | 'now' }): Promise<void> {
  const b = dfs.batch();
  void b.setattr(tmp.file.oid, { size: a.size, mtimeNs: a.mtimeNs });
  void b.rename(dir, tmp.name, dir, name);
  await b.commit();
}
