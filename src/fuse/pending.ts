// Changes answered but not committed yet: created inodes and attribute changes
// on their way through the commit queue, the attributes of what was just
// committed, and the errors of deferred commits (see docs/fuse.md, cache and consistency).
import { rdevToKernel32, typeBits, type SetAttr } from '../dfs/index.js';
import type { ObjectId } from '../object/oid.js';
import type { Attr } from './proto.js';
import type { Mnt, Node, NodeTable } from './nodes.js';
import { CommitQueue, type Pending, type QItem } from './commit-queue.js';

export function okey(mnt: Mnt, oid: ObjectId): string { return `${mnt.index}:${oid}`; }
export function nkey(mnt: Mnt, dir: ObjectId, name: string): string { return `${mnt.index}:${dir}/${name}`; }

export class PendingChanges {
  /** Attributes known without a read (inodes this mount just committed), for attrTimeout. */
  readonly attrCache = new Map<string, { a: Attr; at: number }>();
  /** Metadata write-back: created inodes not committed yet (by mnt:oid and by mnt:dir/name). */
  readonly pending = new Map<string, Pending>();
  readonly pendingNames = new Map<string, Pending>();
  /** Attribute changes queued or committing, by mnt:oid (getattr applies them). */
  readonly attrOverlay = new Map<string, SetAttr>();
  /** Metadata batches: creations and attribute changes committed together. */
  private readonly commits = new CommitQueue((it, e) => this.settle(it, e));
  /** Errors of deferred commits, by mnt:oid, reported by the next fsync/flush/open of the file. */
  private deferredErrors = new Map<string, unknown>();

  /** `writeBack`: see TierFsOptions.writeBack. */
  constructor(private readonly table: NodeTable, readonly writeBack: boolean) {}

  /** Something queued or committing. */
  get busy(): boolean { return this.commits.busy; }

  private settle(it: QItem, e?: unknown): void {
    if (it.kind === 'create') {
      const p = it.p;
      if (e === undefined) {
        const o = p.opts;
        let size = p.type === 'symlink' ? Buffer.byteLength(o.target ?? '') : o.size ?? 0;
        for (const pc of o.pieces ?? []) size = Math.max(size, pc.offset + pc.data.length);
        if (this.attrCache.size > 65536) this.attrCache.clear();
        this.attrCache.set(p.key, { at: Date.now(), a: {
          ino: p.mnt.ino(p.oid), size, blocks: Math.ceil(size / 512), atimeNs: o.atimeNs, mtimeNs: o.mtimeNs, ctimeNs: p.ctimeNs,
          mode: typeBits(p.type) | (p.type === 'symlink' ? 0o777 : o.mode), nlink: p.type === 'dir' ? 2 : 1, uid: o.uid, gid: o.gid,
          blksize: p.type === 'file' ? Math.min(o.chunkSize ?? p.mnt.dfs.chunkSize, 1 << 20) : 4096, rdev: rdevToKernel32(o.rdev ?? 0n),
        } });
      }
      this.pending.delete(p.key);
      if (this.pendingNames.get(p.nameKey) === p) this.pendingNames.delete(p.nameKey);
      if (e !== undefined) {
        this.deferredErrors.set(p.key, e);
        if (this.writeBack) process.stderr.write(`strata mount: deferred create of '${p.name}' failed: ${(e as Error)?.message ?? String(e)}\n`);
        if (p.node.parent?.children.get(p.node.name) === p.node) this.table.detach(p.node);
      }
      p.settle(e);
    } else {
      this.attrCache.delete(it.key);
      if (this.attrOverlay.get(it.key) === it.a) this.attrOverlay.delete(it.key);
      if (it.waiter) { it.waiter(e); return; }
      if (e !== undefined) {
        this.deferredErrors.set(it.key, e);
        process.stderr.write(`strata mount: deferred setattr of ${it.what} failed: ${(e as Error)?.message ?? String(e)}\n`);
      }
    }
  }

  /** Waits for a queued creation's commit and returns its error here (not again from a later call). */
  async settled(p: Pending): Promise<void> {
    try {
      await p.done;
    } catch (e) {
      this.deferredErrors.delete(p.key);
      throw e;
    }
  }

  /** Queues a held creation (its creating handle was flushed, or something needs it). */
  release0(p: Pending): void {
    if (p.state !== 'held') return;
    p.state = 'queued';
    this.commits.push({ kind: 'create', p });
  }

  /** Waits until the node's creation is committed (if it is pending); throws its error. */
  async committed(n: Node): Promise<void> {
    if (!n.mnt || !n.oid) return;
    const key = okey(n.mnt, n.oid);
    const p = this.pending.get(key);
    if (p) {
      this.release0(p);
      await p.done;
    }
    this.throwDeferred(key);
  }

  throwDeferred(key: string): void {
    const e = this.deferredErrors.get(key);
    if (e !== undefined) {
      this.deferredErrors.delete(key);
      throw e;
    }
  }

  /** Commits every pending change (held creations included) and waits: a barrier before namespace reads and changes, fsync, unmount. */
  async drain(): Promise<void> {
    for (const p of [...this.pending.values()]) this.release0(p);
    await this.commits.drain();
  }

  /** Applies mode/owner/times: joins a pending creation, or is queued for the next batch (getattr shows it meanwhile). */
  changeAttr(d: Node & { mnt: Mnt; oid: ObjectId }, a: SetAttr, now: bigint): Promise<void> | undefined {
    const key = okey(d.mnt, d.oid);
    const p = this.pending.get(key);
    if (p && p.state !== 'taken') {
      if (a.mode !== undefined) p.opts.mode = a.mode;
      if (a.uid !== undefined) p.opts.uid = a.uid;
      if (a.gid !== undefined) p.opts.gid = a.gid;
      if (typeof a.atimeNs === 'bigint') p.opts.atimeNs = a.atimeNs;
      if (typeof a.mtimeNs === 'bigint') { p.opts.mtimeNs = a.mtimeNs; p.mtimeSet = true; }
      p.ctimeNs = now;
    } else {
      const merged: SetAttr = { ...this.attrOverlay.get(key), ...a };
      this.attrOverlay.set(key, merged);
      this.attrCache.delete(key);
      if (this.writeBack) { this.commits.push({ kind: 'setattr', mnt: d.mnt, oid: d.oid, a: merged, key, what: d.name }); return undefined; }
      return new Promise<void>((res, rej) => {
        this.commits.push({ kind: 'setattr', mnt: d.mnt, oid: d.oid, a: merged, key, what: d.name, waiter: (e) => (e === undefined ? res() : rej(e)) });
      });
    }
    this.attrCache.delete(key);
    return undefined;
  }
}
