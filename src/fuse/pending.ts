// Changes answered but not committed yet: created inodes and attribute changes
// on their way through the DFS write session's group commit (one CreateGroup
// per mounted container, dfs/group.ts: creations and attribute changes of
// concurrent clients share transactions, a failed group is redone item by
// item), the attributes of what was just committed, and the errors of
// deferred commits (see docs/fuse.md, cache and consistency). What stays
// here is the mount's: nodes, lookups of pending names, the overlay getattr
// shows, deferred errors.
import { CreateGroup, rdevToKernel32, typeBits, type CreateAtOptions, type GroupCreate, type GroupSetattr, type SetAttr } from '../dfs/index.js';
import type { ObjectId } from '../object/oid.js';
import type { Attr } from './proto.js';
import type { Mnt, Node, NodeTable } from './nodes.js';

/**
 * A created inode not committed yet, an item of its container's group:
 * 'held' while the creating handle is open (its data and attributes gather
 * in `opts`), 'queued' once it may be committed, 'taken' while its group commits.
 */
export interface Pending extends GroupCreate {
  key: string;
  nameKey: string;
  node: Node;
  mnt: Mnt;
  oid: ObjectId;
  opts: CreateAtOptions & { oid: ObjectId; mode: number; uid: number; gid: number; atimeNs: bigint; mtimeNs: bigint };
  ctimeNs: bigint;
  /** A setattr set mtime: data written later does not move it. */
  mtimeSet?: boolean;
  /** Settles with the commit (rejects with its error). */
  done: Promise<void>;
}

/** An attribute change queued in its container's group. */
interface AttrChange extends GroupSetattr { key: string; what: string }

export function okey(mnt: Mnt, oid: ObjectId): string { return `${mnt.index}:${oid}`; }
export function nkey(mnt: Mnt, dir: ObjectId, name: string): string { return `${mnt.index}:${dir}/${name}`; }

/** Items per group (several clients' creations in one transaction). */
const GROUP_MAX = 4096;

export class PendingChanges {
  /** Attributes known without a read (inodes this mount just committed), for attrTimeout. */
  readonly attrCache = new Map<string, { a: Attr; at: number }>();
  /** Metadata write-back: created inodes not committed yet (by mnt:oid and by mnt:dir/name). */
  readonly pending = new Map<string, Pending>();
  readonly pendingNames = new Map<string, Pending>();
  /** Attribute changes queued or committing, by mnt:oid (getattr applies them). */
  readonly attrOverlay = new Map<string, SetAttr>();
  /** The group commit of each container this mount wrote to. */
  private readonly groups = new Map<Mnt, CreateGroup>();
  /** Errors of deferred commits, by mnt:oid, reported by the next fsync/flush/open of the file. */
  private deferredErrors = new Map<string, unknown>();

  /** `writeBack`: see TierFsOptions.writeBack. */
  constructor(private readonly table: NodeTable, readonly writeBack: boolean) {}

  /** Something queued or committing. */
  get busy(): boolean {
    for (const g of this.groups.values()) if (g.busy) return true;
    return false;
  }

  private group(mnt: Mnt): CreateGroup {
    let g = this.groups.get(mnt);
    if (!g) this.groups.set(mnt, g = new CreateGroup(mnt.dfs, { maxItems: GROUP_MAX }));
    return g;
  }

  /**
   * A new pending creation, findable by key and name: held (a file while its
   * creating handle is open) or queued at once.
   */
  create(f: Omit<Pending, 'kind' | 'key' | 'done' | 'settled' | 'state' | 'mtimeSet'>, held: boolean): Pending {
    let resolve!: () => void;
    let reject!: (e: unknown) => void;
    const done = new Promise<void>((res, rej) => { resolve = res; reject = rej; });
    done.catch(() => undefined);
    const p: Pending = {
      kind: 'create', ...f, key: okey(f.mnt, f.oid), done,
      settled: (e) => { this.settleCreate(p, e); if (e === undefined) resolve(); else reject(e); },
    };
    this.pending.set(p.key, p);
    this.pendingNames.set(p.nameKey, p);
    if (held) this.group(p.mnt).hold(p);
    else this.release0(p);
    return p;
  }

  /** Bookkeeping of a committed (or failed) creation, before its waiters run. */
  private settleCreate(p: Pending, e: unknown): void {
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
  }

  /** Bookkeeping of a committed (or failed) attribute change; `waiter` gets its outcome, else a failure is deferred. */
  private settleAttr(it: AttrChange, e: unknown, waiter?: (e: unknown) => void): void {
    this.attrCache.delete(it.key);
    if (this.attrOverlay.get(it.key) === it.a) this.attrOverlay.delete(it.key);
    if (waiter) { waiter(e); return; }
    if (e !== undefined) {
      this.deferredErrors.set(it.key, e);
      process.stderr.write(`strata mount: deferred setattr of ${it.what} failed: ${(e as Error)?.message ?? String(e)}\n`);
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
    if (p.state !== 'held' && p.state !== undefined) return;
    this.group(p.mnt).add(p);
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
    await Promise.all([...this.groups.values()].map((g) => g.flush({ held: true })));
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
      const queue = (waiter?: (e: unknown) => void) => {
        const it: AttrChange = { kind: 'setattr', oid: d.oid, a: merged, key, what: d.name, settled: (e) => this.settleAttr(it, e, waiter) };
        this.group(d.mnt).add(it);
      };
      if (this.writeBack) { queue(); return undefined; }
      return new Promise<void>((res, rej) => queue((e) => (e === undefined ? res() : rej(e))));
    }
    this.attrCache.delete(key);
    return undefined;
  }
}
