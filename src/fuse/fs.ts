// The tier as a FUSE filesystem: decodes kernel requests, maps them onto
// pools, containers, snapshots and DFS calls, and encodes the replies.
//
// Layout (mounting everything): /<pool-uuid>/<cont-uuid>/<dfs path>; labels
// resolve on lookup too. A POSIX container's root also answers the hidden name
// `.snapshots` (not listed): one read-only directory per snapshot (by name,
// or by epoch for unnamed ones). Non-POSIX containers show as empty read-only
// directories.
//
// Access: the kernel checks mode bits (default_permissions); strata checks
// the pool and container ACLs for the caller of every request (uid, gid and
// the supplementary groups of the calling process).
import fs from 'node:fs';
import path from 'node:path';
import type { Engine } from '../engine/types.js';
import { StrataError, isStrataError } from '../errors.js';
import { Container, type ContainerRecord, type ContPerm } from '../container/container.js';
import { callerFromIds, type Caller } from '../container/identity.js';
import { containerPerms, resolveContainer, listContainers } from '../container/manage.js';
import { poolPerms, resolvePool, listPools, type PoolRecord } from '../container/pool.js';
import {
  mountDfs, checkName, typeBits, ROOT_OID, S_IFDIR, S_IFMT, PATH_MAX,
  type CreateAtOptions, type DfsFile, type DirEntry, type Entry, type FileType, type SetAttr,
} from '../dfs/index.js';
import { ObjectId } from '../object/oid.js';
import type { Channel } from './channel.js';
import {
  DT, ERRNO, FATTR, FOPEN, INIT, OP, OP_NAME, RENAME_EXCHANGE, RENAME_NOREPLACE, WRITE_KILL_PRIV, XATTR_CREATE, XATTR_REPLACE,
  attrOut, cstr, direntSize, entryOut, initOut, negativeEntryOut, openOut, statfsOut, u32Out, writeDirent,
  type Attr, type InHeader,
} from './proto.js';
import { Mnt, NodeTable, groupsOfPid, type Node, type NodeKind } from './nodes.js';
import { ReadAhead, WriteBack } from './handles.js';
import { CommitQueue, type Pending, type QItem } from './commit-queue.js';

const ALL_PERMS: ReadonlySet<ContPerm> = new Set<ContPerm>(['r', 'w', 'd', 't', 'T', 'a', 'A', 'o']);
const O_ACCMODE = 3;
const O_TRUNC = 0o1000;
const O_EXCL = 0o200;

export type TierRoot =
  | { kind: 'all' }
  | { kind: 'pool'; pool: PoolRecord }
  | { kind: 'cont'; pool: PoolRecord; cont: ContainerRecord };

export interface TierFsOptions {
  /** Seconds the kernel may cache names and attributes (default 1). */
  entryTimeout?: number;
  attrTimeout?: number;
  /** Largest WRITE the kernel sends (default 1 MiB). */
  maxWrite?: number;
  /** Chunk transactions in flight per open file (default 8). */
  writeInflight?: number;
  /** Chunks read ahead on sequential reads (default 8). */
  readAhead?: number;
  /** Log every request to stderr. */
  debug?: boolean;
  /**
   * Metadata write-back (weaker, dfuse-like): close, mkdir, symlink and
   * setattr are answered before their commit, which follows within
   * milliseconds in a batch; fsync still waits. Default off: every answered
   * change except writes into an open file is committed (close-to-open for
   * other clients). `STRATA_MOUNT_WRITEBACK=1` turns it on for `strata mount`.
   */
  writeBack?: boolean;
}

interface FileHandle {
  node: Node;
  mnt: Mnt;
  file: DfsFile;
  wb?: WriteBack;
  ra: ReadAhead;
  /** The pending creation this handle made (CREATE). */
  creating?: Pending;
  /** Permission bits as of open (for clearing suid/sgid on write); undefined once cleared or unknown. */
  mode?: number;
}

/** Small new files (data up to this size) are committed with their creation. */
const SMALL_FILE = 1 << 20;

interface DirHandle {
  node: Node;
  /** Synthetic directories: all entries, computed at opendir. */
  list?: Array<{ name: string; ino: bigint; type: number }>;
  /** DFS directories: a stream of entries and the offset of the next one. */
  iter?: AsyncGenerator<DirEntry>;
  pos: number;
  peek?: DirEntry;
}

const TTL_MS = 2000;

function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
}

/** An errno answer. Not an Error: no stack trace to capture (ENODATA/ENOENT answers are frequent). */
class Fail {
  constructor(readonly errno: number, readonly message = '') {}
  get stack(): string { return `Fail(${this.errno}): ${this.message}`; }
}

function errnoOf(e: unknown): number {
  if (e instanceof Fail) return e.errno;
  if (e instanceof StrataError) return ERRNO[e.code] ?? ERRNO['EIO']!;
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code && ERRNO[code]) return ERRNO[code]!;
  return ERRNO['EIO']!;
}

/** Mode bits without suid, and without sgid when group-executable (what Linux clears on write/chown). */
function killPriv(mode: number): number {
  let m = mode & ~0o4000;
  if ((m & 0o2010) === 0o2010) m &= ~0o2000;
  return m;
}

function dtOf(t: FileType): number { return t === 'dir' ? DT.DIR : t === 'symlink' ? DT.LNK : DT.REG; }

export class TierFs {
  readonly table: NodeTable;
  private handles = new Map<bigint, FileHandle>();
  private dirs = new Map<bigint, DirHandle>();
  private nextFh = 1n;
  private mnts = new Map<string, Promise<Mnt>>();
  private mntCount = 0;
  private pools = new Map<string, { rec: PoolRecord; at: number }>();
  private conts = new Map<string, { rec: ContainerRecord; at: number }>();
  private callers = new Map<string, { c: Caller; at: number }>();
  /** Effective pool/container permissions per caller, valid while the (cached, 2 s) record object is the same. */
  private permCache = new Map<string, { rec: object; perms: ReadonlySet<string> }>();
  /** Attributes known without a read (inodes this mount just committed), for attrTimeout. */
  private attrCache = new Map<string, { a: Attr; at: number }>();
  /** Metadata write-back: created inodes not committed yet (by mnt:oid and by mnt:dir/name). */
  private pending = new Map<string, Pending>();
  private pendingNames = new Map<string, Pending>();
  /** Attribute changes queued or committing, by mnt:oid (getattr applies them). */
  private attrOverlay = new Map<string, SetAttr>();
  /** Metadata batches: creations and attribute changes committed together. */
  private readonly commits = new CommitQueue((it, e) => this.settle(it, e));
  /** Errors of deferred commits, by mnt:oid, reported by the next fsync/flush/open of the file. */
  private deferredErrors = new Map<string, unknown>();
  private readonly started = BigInt(Date.now()) * 1_000_000n;
  /** Handles closing after their creation commits. */
  private closing = 0;
  private readonly stats = process.env['STRATA_FUSE_STATS'] ? new Map<string, { n: number; us: number }>() : undefined;
  private readonly entryTimeout: number;
  private readonly attrTimeout: number;
  readonly maxWrite: number;
  /** See TierFsOptions.writeBack. */
  readonly writeBack: boolean;
  private initDone!: () => void;
  /** Resolves once the kernel's INIT has been answered. */
  readonly ready: Promise<void> = new Promise((r) => { this.initDone = r; });

  constructor(private readonly engine: Engine, private readonly root: TierRoot, private readonly ch: Channel, private readonly opts: TierFsOptions = {}) {
    this.entryTimeout = opts.entryTimeout ?? 1;
    this.attrTimeout = opts.attrTimeout ?? 1;
    this.maxWrite = opts.maxWrite ?? 1 << 20;
    this.writeBack = opts.writeBack ?? process.env['STRATA_MOUNT_WRITEBACK'] === '1';
    const kind: NodeKind = root.kind === 'all' ? 'root' : root.kind === 'pool' ? 'pool' : root.cont.type === 'POSIX' ? 'cont' : 'empty';
    const init: Partial<Node> = {};
    if (root.kind !== 'all') init.poolUuid = root.pool.uuid;
    if (root.kind === 'cont') { init.contUuid = root.cont.uuid; init.oid = ROOT_OID; init.type = 'dir'; init.mntRoot = true; }
    this.table = new NodeTable(kind, init);
  }

  /** Prepares the root node (mounts the container when a single container is mounted). */
  async prepare(): Promise<void> {
    if (this.root.kind === 'cont' && this.root.cont.type === 'POSIX') {
      this.table.root.mnt = await this.mntFor(this.root.cont, undefined);
    }
  }

  // ---- plumbing ----

  /** Entry point for every request read from /dev/fuse. */
  handle(h: InHeader, body: Buffer): void {
    if (this.opts.debug) process.stderr.write(`fuse: ${OP_NAME[h.opcode] ?? h.opcode} node ${h.nodeid} uid ${h.uid}\n`);
    switch (h.opcode) {
      case OP.INIT: return this.init(h, body);
      case OP.FORGET: this.table.forget(h.nodeid, Number(body.readBigUInt64LE(0))); return;
      case OP.BATCH_FORGET: {
        const n = body.readUInt32LE(0);
        for (let i = 0; i < n; i++) this.table.forget(body.readBigUInt64LE(8 + i * 16), Number(body.readBigUInt64LE(16 + i * 16)));
        return;
      }
      case OP.INTERRUPT: return;
      case OP.DESTROY: this.ch.reply(h.unique, 0); return;
    }
    const t0 = this.stats ? process.hrtime.bigint() : 0n;
    this.op(h, body).then(
      (out) => { this.invalidate(h, body); this.ch.reply(h.unique, 0, ...out); if (this.stats) this.count(h.opcode, t0); },
      (e: unknown) => {
        this.invalidate(h, body);
        if (this.stats) this.count(h.opcode, t0);
        const errno = errnoOf(e);
        if (errno === ERRNO['EIO'] || this.opts.debug) process.stderr.write(`strata mount: ${OP_NAME[h.opcode] ?? h.opcode}: ${(e as Error)?.stack ?? String(e)}\n`);
        this.ch.reply(h.unique, -errno);
      },
    );
  }

  private count(op: number, t0: bigint): void {
    const k = OP_NAME[op] ?? String(op);
    const s = this.stats!.get(k) ?? { n: 0, us: 0 };
    s.n++;
    s.us += Number(process.hrtime.bigint() - t0) / 1000;
    this.stats!.set(k, s);
  }

  /** Work running in the background whose completion needs the event loop (see Channel.serve). */
  background(): boolean {
    if (this.commits.busy || this.closing > 0) return true;
    for (const hd of this.handles.values()) if (hd.wb?.busy || hd.ra.fetching > 0) return true;
    return false;
  }

  /** Requests served so far per opcode: count and total microseconds from read to reply (STRATA_FUSE_STATS). */
  statsReport(): Record<string, { n: number; us: number }> { return Object.fromEntries(this.stats ?? []); }

  private init(h: InHeader, body: Buffer): void {
    const major = body.readUInt32LE(0);
    const kflags = body.readUInt32LE(12);
    if (major !== 7) { this.ch.reply(h.unique, -ERRNO['EPROTO']!); return; }
    // HANDLE_KILLPRIV: strata clears suid/sgid on write, truncate and chown itself, so the
    // kernel does not fetch attributes (GETATTR) before every chown.
    const want = INIT.ASYNC_READ | INIT.ATOMIC_O_TRUNC | INIT.BIG_WRITES | INIT.AUTO_INVAL_DATA | INIT.PARALLEL_DIROPS | INIT.MAX_PAGES | INIT.ASYNC_DIO | INIT.HANDLE_KILLPRIV;
    this.ch.reply(h.unique, 0, initOut({
      maxReadahead: 4 << 20, flags: want & kflags, maxBackground: 64, congestion: 48,
      maxWrite: this.maxWrite, maxPages: Math.ceil(this.maxWrite / 4096),
    }));
    this.initDone();
  }

  private node(id: bigint): Node {
    const n = this.table.get(id);
    if (!n) throw new Fail(ERRNO['ENOENT']!, `stale node ${id}`);
    return n;
  }

  private caller(h: InHeader): Caller {
    const k = `${h.uid}:${h.gid}:${h.pid}`;
    const now = Date.now();
    const hit = this.callers.get(k);
    if (hit && now - hit.at < TTL_MS * 2) return hit.c;
    if (this.callers.size > 4096) { this.callers.clear(); this.permCache.clear(); }
    const c = callerFromIds(h.uid, [h.gid, ...(h.pid ? groupsOfPid(h.pid) : [])]);
    this.callers.set(k, { c, at: now });
    return c;
  }

  private async poolRec(uuid: string): Promise<PoolRecord> {
    const hit = this.pools.get(uuid);
    if (hit && Date.now() - hit.at < TTL_MS) return hit.rec;
    const rec = await resolvePool(this.engine, uuid);
    this.pools.set(uuid, { rec, at: Date.now() });
    return rec;
  }

  private async contRec(poolUuid: string, uuid: string): Promise<ContainerRecord> {
    const hit = this.conts.get(uuid);
    if (hit && Date.now() - hit.at < TTL_MS) return hit.rec;
    const rec = await resolveContainer(this.engine, await this.poolRec(poolUuid), uuid);
    this.conts.set(uuid, { rec, at: Date.now() });
    return rec;
  }

  /** Pool 'r' and container perms for the caller; throws EACCES. */
  private async check(h: InHeader, n: Node, perm: 'r' | 'w'): Promise<void> {
    if (!n.poolUuid) return;
    const caller = this.caller(h);
    const pool = await this.poolRec(n.poolUuid);
    const pk = `${h.uid}:${h.gid}:${h.pid}:${n.poolUuid}`;
    let pp = this.permCache.get(pk);
    if (!pp || pp.rec !== pool) this.permCache.set(pk, pp = { rec: pool, perms: poolPerms(pool, caller) });
    if (!pp.perms.has('r')) throw new Fail(ERRNO['EACCES']!);
    if (!n.contUuid) {
      if (perm === 'w') throw new Fail(ERRNO['EPERM']!, 'pools and containers are made with strata pool/container create');
      return;
    }
    const rec = await this.contRec(n.poolUuid, n.contUuid);
    const ck = `${h.uid}:${h.gid}:${h.pid}:${n.contUuid}`;
    let cp = this.permCache.get(ck);
    if (!cp || cp.rec !== rec) this.permCache.set(ck, cp = { rec, perms: containerPerms(rec, caller) });
    if (!cp.perms.has(perm)) throw new Fail(ERRNO['EACCES']!);
    if (perm === 'w' && n.mnt?.readOnly) throw new Fail(ERRNO['EROFS']!);
    if (perm === 'w' && n.kind === 'empty') throw new Fail(ERRNO['EROFS']!);
    if (perm === 'w' && n.kind === 'snaps') throw new Fail(ERRNO['EROFS']!);
  }

  private mntFor(rec: ContainerRecord, epoch: number | undefined): Promise<Mnt> {
    const k = `${rec.uuid}@${epoch ?? 'latest'}`;
    let p = this.mnts.get(k);
    if (!p) {
      p = (async () => {
        const c = new Container(this.engine, rec, ALL_PERMS);
        const dfs = await mountDfs(c, epoch === undefined ? {} : { epoch });
        return new Mnt(++this.mntCount, c, dfs, epoch);
      })();
      p.catch(() => this.mnts.delete(k));
      this.mnts.set(k, p);
    }
    return p;
  }

  private isDfs(n: Node): boolean { return (n.kind === 'dfs' || n.kind === 'cont') && !!n.mnt; }

  private dfsNode(n: Node): Node & { mnt: Mnt; oid: ObjectId; type: FileType } {
    if (!this.isDfs(n) || !n.oid || !n.type) throw new Fail(ERRNO[n.kind === 'empty' || n.kind === 'snaps' ? 'EROFS' : 'EPERM']!);
    return n as Node & { mnt: Mnt; oid: ObjectId; type: FileType };
  }

  private path(n: Node): string {
    return this.table.dfsPath(n);
  }

  private dirtyEnd(n: Node): number {
    let end = 0;
    for (const fh of n.open ?? []) end = Math.max(end, this.handles.get(fh)?.wb?.dirtyEnd ?? 0);
    return end;
  }

  /** Commits buffered writes of every handle open on n (before reads, truncates, renames). */
  private async flushNode(n: Node): Promise<void> {
    const jobs: Array<Promise<void>> = [];
    for (const fh of n.open ?? []) {
      const hd = this.handles.get(fh);
      if (hd?.wb?.dirty) jobs.push(this.committed(n).then(() => hd.wb!.flush()).catch(() => undefined));
    }
    await Promise.all(jobs);
  }

  private async attr(n: Node): Promise<Attr> {
    if (!this.isDfs(n)) {
      const t = this.started;
      return { ino: n.synIno ?? 1n, size: 0, blocks: 0, atimeNs: t, mtimeNs: t, ctimeNs: t, mode: S_IFDIR | (n.kind === 'root' || n.kind === 'pool' ? 0o755 : 0o555), nlink: 2, uid: 0, gid: 0, blksize: 4096 };
    }
    const d = this.dfsNode(n);
    const key = this.okey(d.mnt, d.oid);
    const p = this.pending.get(key);
    if (p) {
      const o = p.opts;
      let size = p.type === 'symlink' ? Buffer.byteLength(o.target ?? '') : 0;
      if (p.type === 'file') {
        size = o.size ?? 0;
        for (const pc of o.pieces ?? []) size = Math.max(size, pc.offset + pc.data.length);
        size = Math.max(size, this.dirtyEnd(n));
      }
      return {
        ino: d.mnt.ino(d.oid), size, blocks: Math.ceil(size / 512), atimeNs: o.atimeNs, mtimeNs: o.mtimeNs, ctimeNs: p.ctimeNs,
        mode: typeBits(p.type) | (p.type === 'symlink' ? 0o777 : o.mode), nlink: 1, uid: o.uid, gid: o.gid,
        blksize: p.type === 'file' ? Math.min(o.chunkSize ?? d.mnt.dfs.chunkSize, 1 << 20) : 4096,
      };
    }
    const hit = this.attrCache.get(key);
    if (hit && Date.now() - hit.at < this.attrTimeout * 1000 && !this.attrOverlay.has(key)) {
      const size = Math.max(hit.a.size, this.dirtyEnd(n));
      return { ...hit.a, size, blocks: Math.ceil(size / 512) };
    }
    const ino = await d.mnt.dfs.statOf(d.oid, d.type);
    const ov = this.attrOverlay.get(key);
    if (ov) {
      if (ov.mode !== undefined) ino.mode = (ino.mode & S_IFMT) | ov.mode;
      if (ov.uid !== undefined) ino.uid = ov.uid;
      if (ov.gid !== undefined) ino.gid = ov.gid;
      if (typeof ov.atimeNs === 'bigint') ino.atimeNs = ov.atimeNs;
      if (typeof ov.mtimeNs === 'bigint') ino.mtimeNs = ov.mtimeNs;
    }
    const size = Math.max(ino.size, this.dirtyEnd(n));
    return {
      ino: d.mnt.ino(d.oid), size, blocks: Math.ceil(size / 512), atimeNs: ino.atimeNs, mtimeNs: ino.mtimeNs, ctimeNs: ino.ctimeNs,
      mode: ino.mode, nlink: d.type === 'dir' ? 1 : ino.nlink, uid: ino.uid, gid: ino.gid, blksize: d.type === 'file' ? Math.min(ino.chunkSize || 4096, 1 << 20) : 4096,
    };
  }

  // ---- metadata write-back ----

  private okey(mnt: Mnt, oid: ObjectId): string { return `${mnt.index}:${oid}`; }
  private nkey(mnt: Mnt, dir: ObjectId, name: string): string { return `${mnt.index}:${dir}/${name}`; }


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
          mode: typeBits(p.type) | (p.type === 'symlink' ? 0o777 : o.mode), nlink: 1, uid: o.uid, gid: o.gid,
          blksize: p.type === 'file' ? Math.min(o.chunkSize ?? p.mnt.dfs.chunkSize, 1 << 20) : 4096,
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
  private async settled(p: Pending): Promise<void> {
    try {
      await p.done;
    } catch (e) {
      this.deferredErrors.delete(p.key);
      throw e;
    }
  }

  /** Queues a held creation (its creating handle was flushed, or something needs it). */
  private release0(p: Pending): void {
    if (p.state !== 'held') return;
    p.state = 'queued';
    this.commits.push({ kind: 'create', p });
  }

  /** Waits until the node's creation is committed (if it is pending); throws its error. */
  private async committed(n: Node): Promise<void> {
    if (!n.mnt || !n.oid) return;
    const key = this.okey(n.mnt, n.oid);
    const p = this.pending.get(key);
    if (p) {
      this.release0(p);
      await p.done;
    }
    this.throwDeferred(key);
  }

  private throwDeferred(key: string): void {
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

  private async entry(n: Node): Promise<Buffer[]> {
    const a = await this.attr(n);
    n.nlookup++;
    return [entryOut(n.id, a, this.entryTimeout, this.attrTimeout)];
  }

  // ---- the operations ----

  /** Forgets cached attributes of what a request may change. */
  private invalidate(h: InHeader, body: Buffer): void {
    if (this.attrCache.size === 0) return;
    switch (h.opcode) {
      case OP.LOOKUP: case OP.GETATTR: case OP.READ: case OP.READLINK: case OP.OPENDIR: case OP.READDIR: case OP.RELEASEDIR:
      case OP.GETXATTR: case OP.LISTXATTR: case OP.ACCESS: case OP.STATFS: case OP.MKDIR: case OP.MKNOD: case OP.SYMLINK: case OP.CREATE:
        return;
      case OP.WRITE: case OP.FLUSH: case OP.FSYNC: case OP.RELEASE: case OP.OPEN: case OP.SETATTR: case OP.SETXATTR: case OP.REMOVEXATTR: {
        const n = this.table.get(h.nodeid);
        if (n?.mnt && n.oid) this.attrCache.delete(this.okey(n.mnt, n.oid));
        const fh = h.opcode === OP.WRITE || h.opcode === OP.FLUSH || h.opcode === OP.FSYNC || h.opcode === OP.RELEASE ? this.handles.get(body.readBigUInt64LE(0)) : undefined;
        if (fh?.node.mnt && fh.node.oid) this.attrCache.delete(this.okey(fh.node.mnt, fh.node.oid));
        return;
      }
      default: this.attrCache.clear(); // unlink, rmdir, rename, link: nlink/ctime of others change
    }
  }

  private async op(h: InHeader, body: Buffer): Promise<Buffer[]> {
    this.invalidate(h, body);
    switch (h.opcode) {
      case OP.LOOKUP: return this.lookup(h, this.node(h.nodeid), cstr(body, 0)[0]);
      case OP.GETATTR: {
        const n = this.node(h.nodeid);
        return [attrOut(await this.attr(n), this.attrTimeout)];
      }
      case OP.SETATTR: return this.setattr(h, this.node(h.nodeid), body);
      case OP.READLINK: {
        const d = this.dfsNode(this.node(h.nodeid));
        await this.check(h, d, 'r');
        const p = this.pending.get(this.okey(d.mnt, d.oid));
        if (p) return [Buffer.from(p.opts.target ?? '', 'utf8')];
        return [Buffer.from(await d.mnt.dfs.readlinkOf(d.oid), 'utf8')];
      }
      case OP.MKDIR: {
        const mode = body.readUInt32LE(0);
        return this.create(h, this.node(h.nodeid), cstr(body, 8)[0], 'dir', mode);
      }
      case OP.MKNOD: {
        const mode = body.readUInt32LE(0);
        if ((mode & S_IFMT) !== 0o100000 && (mode & S_IFMT) !== 0) throw new Fail(ERRNO['EPERM']!, 'only regular files');
        return this.create(h, this.node(h.nodeid), cstr(body, 16)[0], 'file', mode);
      }
      case OP.SYMLINK: {
        const [name, at] = cstr(body, 0);
        const [target] = cstr(body, at);
        if (target.length === 0) throw new Fail(ERRNO['ENOENT']!);
        if (Buffer.byteLength(target) >= PATH_MAX) throw new Fail(ERRNO['ENAMETOOLONG']!);
        return this.create(h, this.node(h.nodeid), name, 'symlink', 0o777, target);
      }
      case OP.CREATE: return this.createOpen(h, body);
      case OP.UNLINK: case OP.RMDIR: return this.remove(h, this.node(h.nodeid), cstr(body, 0)[0], h.opcode === OP.RMDIR);
      case OP.RENAME: {
        const newdir = body.readBigUInt64LE(0);
        const [from, at] = cstr(body, 8);
        return this.rename(h, this.node(h.nodeid), from, this.node(newdir), cstr(body, at)[0], 0);
      }
      case OP.RENAME2: {
        const newdir = body.readBigUInt64LE(0);
        const flags = body.readUInt32LE(8);
        const [from, at] = cstr(body, 16);
        return this.rename(h, this.node(h.nodeid), from, this.node(newdir), cstr(body, at)[0], flags);
      }
      case OP.LINK: return this.link(h, this.node(body.readBigUInt64LE(0)), this.node(h.nodeid), cstr(body, 8)[0]);
      case OP.OPEN: return this.open(h, this.node(h.nodeid), body.readUInt32LE(0));
      case OP.READ: return this.read(body);
      case OP.WRITE: return this.write(body);
      case OP.FLUSH: {
        const fhd = this.handles.get(body.readBigUInt64LE(0));
        if (fhd) await this.flushHandle(fhd);
        return [];
      }
      case OP.FSYNC: {
        // fsync means durable: everything this file depends on (its creation, its parents') is committed.
        const fhd = this.handles.get(body.readBigUInt64LE(0));
        if (fhd) await this.flushHandle(fhd);
        await this.drain();
        if (fhd) await this.committed(fhd.node);
        return [];
      }
      case OP.RELEASE: return this.release(body.readBigUInt64LE(0));
      case OP.OPENDIR: return this.opendir(h, this.node(h.nodeid));
      case OP.READDIR: return this.readdir(body);
      case OP.RELEASEDIR: {
        const fh = body.readBigUInt64LE(0);
        const d = this.dirs.get(fh);
        this.dirs.delete(fh);
        await d?.iter?.return(undefined);
        return [];
      }
      case OP.FSYNCDIR: await this.drain(); return [];
      case OP.STATFS: return [this.statfs()];
      case OP.SETXATTR: return this.setxattr(h, this.node(h.nodeid), body);
      case OP.GETXATTR: return this.getxattr(h, this.node(h.nodeid), body);
      case OP.LISTXATTR: return this.listxattr(h, this.node(h.nodeid), body);
      case OP.REMOVEXATTR: {
        const d = this.dfsNode(this.node(h.nodeid));
        await this.check(h, d, 'w');
        await this.committed(d);
        await d.mnt.dfs.removexattrOf(d.oid, cstr(body, 0)[0]);
        return [];
      }
      case OP.ACCESS: {
        const n = this.node(h.nodeid);
        const mask = body.readUInt32LE(0);
        await this.check(h, n, mask & 2 ? 'w' : 'r');
        return [];
      }
      default:
        throw new Fail(ERRNO['ENOSYS']!);
    }
  }

  private async lookup(h: InHeader, p: Node, name: string): Promise<Buffer[]> {
    if (name.length === 0 || Buffer.byteLength(name) > 255) throw new Fail(ERRNO['ENAMETOOLONG']!);
    switch (p.kind) {
      case 'root': {
        let rec: PoolRecord;
        try { rec = await resolvePool(this.engine, name); } catch (e) {
          if (isStrataError(e, 'ENOENT') || isStrataError(e, 'EINVAL')) return [negativeEntryOut(0)];
          throw e;
        }
        if (!poolPerms(rec, this.caller(h)).has('r')) throw new Fail(ERRNO['EACCES']!);
        this.pools.set(rec.uuid, { rec, at: Date.now() });
        return this.entry(this.table.child(p, name, { kind: 'pool', poolUuid: rec.uuid }, (n) => n.poolUuid === rec.uuid));
      }
      case 'pool': {
        await this.check(h, p, 'r');
        let rec: ContainerRecord;
        try { rec = await resolveContainer(this.engine, await this.poolRec(p.poolUuid!), name); } catch (e) {
          if (isStrataError(e, 'ENOENT') || isStrataError(e, 'EINVAL')) return [negativeEntryOut(0)];
          throw e;
        }
        this.conts.set(rec.uuid, { rec, at: Date.now() });
        if (rec.type !== 'POSIX') {
          return this.entry(this.table.child(p, name, { kind: 'empty', poolUuid: rec.poolUuid, contUuid: rec.uuid }, (n) => n.contUuid === rec.uuid));
        }
        const mnt = await this.mntFor(rec, undefined);
        return this.entry(this.table.child(p, name, { kind: 'cont', poolUuid: rec.poolUuid, contUuid: rec.uuid, mnt, oid: ROOT_OID, type: 'dir', mntRoot: true }, (n) => n.contUuid === rec.uuid && n.mnt === mnt));
      }
      case 'empty': await this.check(h, p, 'r'); return [negativeEntryOut(0)];
      case 'snaps': {
        await this.check(h, p, 'r');
        const snaps = await this.engine.listSnapshots(p.contUuid!);
        const s = snaps.find((x) => x.name === name) ?? snaps.find((x) => String(x.epoch) === name);
        if (!s) return [negativeEntryOut(0)];
        const mnt = await this.mntFor(await this.contRec(p.poolUuid!, p.contUuid!), s.epoch);
        return this.entry(this.table.child(p, name, { kind: 'dfs', poolUuid: p.poolUuid, contUuid: p.contUuid, mnt, oid: ROOT_OID, type: 'dir', mntRoot: true }, (n) => n.mnt === mnt));
      }
      default: break;
    }
    const d = this.dfsNode(p);
    await this.check(h, d, 'r');
    if (p.kind === 'cont' && name === '.snapshots') {
      return this.entry(this.table.child(p, name, { kind: 'snaps', poolUuid: p.poolUuid, contUuid: p.contUuid, mnt: p.mnt }, (n) => n.kind === 'snaps'));
    }
    if (name === '.' || name === '..') throw new Fail(ERRNO['EINVAL']!);
    const pn = this.pendingNames.get(this.nkey(d.mnt, d.oid, name));
    if (pn) return this.entry(pn.node);
    const ent = await d.mnt.dfs.lookupAt(d.oid, name);
    if (!ent) return [negativeEntryOut(this.entryTimeout)];
    return this.entry(this.dfsChild(d, name, ent));
  }

  private dfsChild(p: Node & { mnt: Mnt }, name: string, ent: Entry): Node {
    return this.table.child(p, name, { kind: 'dfs', poolUuid: p.poolUuid, contUuid: p.contUuid, mnt: p.mnt, oid: ent.oid, type: ent.type },
      (n) => n.kind === 'dfs' && !!n.oid?.equals(ent.oid));
  }

  /**
   * Creates a name with the caller as owner. The reply does not wait for
   * the commit (metadata write-back): a file is held until its creating
   * handle is flushed (then created with its data and attributes in one
   * transaction, batched with other pending changes); directories and
   * symlinks are queued at once.
   */
  private async createNode(h: InHeader, p: Node, name: string, type: FileType, mode: number, target?: string, held = false): Promise<Node> {
    const d = this.dfsNode(p);
    await this.check(h, d, 'w');
    checkName(name);
    const nk = this.nkey(d.mnt, d.oid, name);
    if (this.pendingNames.has(nk) || await d.mnt.dfs.lookupAt(d.oid, name)) throw new Fail(ERRNO['EEXIST']!);
    const oid = await d.mnt.dfs.reserveOid(type);
    if (this.pendingNames.has(nk)) throw new Fail(ERRNO['EEXIST']!);
    const now = nowNs();
    const node = this.table.child(d, name, { kind: 'dfs', poolUuid: d.poolUuid, contUuid: d.contUuid, mnt: d.mnt, oid, type }, () => false);
    let settle!: (e?: unknown) => void;
    const done = new Promise<void>((res, rej) => { settle = (e?: unknown) => (e === undefined ? res() : rej(e)); });
    done.catch(() => undefined);
    const pend: Pending = {
      key: this.okey(d.mnt, oid), nameKey: nk, node, mnt: d.mnt, dir: d.oid, name, type, oid,
      opts: { mode: mode & 0o7777, uid: h.uid, gid: h.gid, atimeNs: now, mtimeNs: now, ...(target !== undefined ? { target } : {}) },
      ctimeNs: now, state: 'held', done, settle,
    };
    this.pending.set(pend.key, pend);
    this.pendingNames.set(nk, pend);
    if (!held) {
      this.release0(pend);
      if (!this.writeBack) await this.settled(pend);
    }
    return node;
  }

  private async create(h: InHeader, p: Node, name: string, type: FileType, mode: number, target?: string): Promise<Buffer[]> {
    return this.entry(await this.createNode(h, p, name, type, mode, target));
  }

  private async createOpen(h: InHeader, body: Buffer): Promise<Buffer[]> {
    const flags = body.readUInt32LE(0);
    const mode = body.readUInt32LE(4);
    const name = cstr(body, 16)[0];
    const p = this.node(h.nodeid);
    let n: Node;
    let created = false;
    try {
      n = await this.createNode(h, p, name, 'file', mode, undefined, true);
      created = true;
    } catch (e) {
      if (!(e instanceof Fail && e.errno === ERRNO['EEXIST']) || flags & O_EXCL) throw e;
      const d = this.dfsNode(p);
      const pn = this.pendingNames.get(this.nkey(d.mnt, d.oid, name));
      const ent = pn ? { type: pn.type, oid: pn.oid } : await d.mnt.dfs.lookupAt(d.oid, name);
      if (!ent) throw e;
      n = pn ? pn.node : this.dfsChild(d, name, ent);
    }
    const [open] = created ? this.openNew(n, flags) : await this.open(h, n, flags);
    const [ent] = await this.entry(n);
    return [ent!, open!];
  }

  private async remove(h: InHeader, p: Node, name: string, dir: boolean): Promise<Buffer[]> {
    const d = this.dfsNode(p);
    await this.check(h, d, 'w');
    if (p.kind === 'cont' && name === '.snapshots') throw new Fail(ERRNO['EPERM']!);
    await this.drain();
    if (dir) await d.mnt.dfs.rmdirAt(d.oid, name); else await d.mnt.dfs.unlinkAt(d.oid, name);
    const c = p.children.get(name);
    if (c) this.table.detach(c);
    return [];
  }

  private async rename(h: InHeader, p: Node, from: string, np: Node, to: string, flags: number): Promise<Buffer[]> {
    const a = this.dfsNode(p);
    const b = this.dfsNode(np);
    if (a.mnt !== b.mnt) throw new Fail(ERRNO['EXDEV']!);
    if (flags & RENAME_EXCHANGE) throw new Fail(ERRNO['EINVAL']!, 'RENAME_EXCHANGE is not supported');
    await this.check(h, a, 'w');
    const src = a.children.get(from);
    if (src) await this.flushNode(src);
    await this.drain();
    await a.mnt.dfs.renameAt(a.oid, from, b.oid, to, { noReplace: !!(flags & RENAME_NOREPLACE) });
    if (src) this.table.move(src, b, to);
    else { const v = b.children.get(to); if (v) this.table.detach(v); }
    return [];
  }

  private async link(h: InHeader, src: Node, np: Node, name: string): Promise<Buffer[]> {
    const s = this.dfsNode(src);
    const p = this.dfsNode(np);
    if (s.mnt !== p.mnt) throw new Fail(ERRNO['EXDEV']!);
    await this.check(h, p, 'w');
    checkName(name);
    await this.drain();
    await p.mnt.dfs.linkAt(s.oid, p.oid, name);
    return this.entry(this.dfsChild(p, name, { type: s.type, oid: s.oid }));
  }

  private async setattr(h: InHeader, n: Node, body: Buffer): Promise<Buffer[]> {
    const valid = body.readUInt32LE(0);
    const d = this.dfsNode(n);
    await this.check(h, d, 'w');
    const dfs = d.mnt.dfs;
    if (valid & FATTR.SIZE) {
      if (d.type !== 'file') throw new Fail(ERRNO[d.type === 'dir' ? 'EISDIR' : 'EINVAL']!);
      const size = Number(body.readBigUInt64LE(16));
      await this.flushNode(n);
      await this.committed(n);
      await dfs.setattr(d.oid, { size });
      n.gen = (n.gen ?? 0) + 1;
    }
    const t = (off: number, nsOff: number) => body.readBigUInt64LE(off) * 1_000_000_000n + BigInt(body.readUInt32LE(nsOff));
    const now = nowNs();
    const a: SetAttr = {};
    if (valid & FATTR.MODE) a.mode = body.readUInt32LE(68) & 0o7777;
    if (valid & FATTR.UID) a.uid = body.readUInt32LE(76);
    if (valid & FATTR.GID) a.gid = body.readUInt32LE(80);
    if (valid & FATTR.ATIME_NOW) a.atimeNs = now; else if (valid & FATTR.ATIME) a.atimeNs = t(32, 56);
    if (valid & FATTR.MTIME_NOW) a.mtimeNs = now; else if (valid & FATTR.MTIME) a.mtimeNs = t(40, 60);
    // HANDLE_KILLPRIV: a chown (by anyone, as Linux does) and a truncate by a
    // non-root caller clear suid, and sgid when group-executable. A write by a
    // caller without CAP_FSETID to such a file makes the kernel send a
    // SETATTR that changes nothing: that is the request to clear them.
    const chown = a.uid !== undefined || a.gid !== undefined;
    const killOnly = (valid & (FATTR.MODE | FATTR.UID | FATTR.GID | FATTR.SIZE | FATTR.ATIME | FATTR.MTIME | FATTR.ATIME_NOW | FATTR.MTIME_NOW | FATTR.CTIME)) === 0;
    if (d.type === 'file' && a.mode === undefined && (chown || killOnly || (valid & FATTR.SIZE && h.uid !== 0))) {
      const cur = (await this.attr(n)).mode & 0o7777;
      const killed = killPriv(cur);
      if (killed !== cur) a.mode = killed;
    }
    if (Object.keys(a).length > 0) await this.changeAttr(d, a, now);
    this.attrCache.delete(this.okey(d.mnt, d.oid));
    return [attrOut(await this.attr(n), this.attrTimeout)];
  }

  /** Applies mode/owner/times: joins a pending creation, or is queued for the next batch (getattr shows it meanwhile). */
  private changeAttr(d: Node & { mnt: Mnt; oid: ObjectId }, a: SetAttr, now: bigint): Promise<void> | undefined {
    const key = this.okey(d.mnt, d.oid);
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

  /** The handle of a file this mount just created (pending): nothing to read or truncate. */
  private openNew(n: Node, flags: number): Buffer[] {
    const d = this.dfsNode(n);
    const p = this.pending.get(this.okey(d.mnt, d.oid))!;
    const cs = d.mnt.dfs.chunkSize;
    const file = d.mnt.dfs.file(d.oid, cs, { write: true, pin: true, path: n.name });
    const fh = this.nextFh++;
    const hd: FileHandle = { node: n, mnt: d.mnt, file, ra: new ReadAhead(file, cs, this.opts.readAhead ?? 8), creating: p };
    hd.wb = new WriteBack(file, () => this.committed(n), { inflight: this.opts.writeInflight ?? 4, batchBytes: 4 << 20, small: SMALL_FILE });
    void flags;
    this.handles.set(fh, hd);
    (n.open ??= new Set()).add(fh);
    n.cacheStamp = undefined;
    return [openOut(fh, 0)];
  }

  /**
   * Flush of a handle (every close): a new small file hands its data to its
   * pending creation and is queued (one transaction for create + data +
   * attributes, not waited for); otherwise buffered data is committed and waited for.
   */
  private async flushHandle(hd: FileHandle): Promise<void> {
    const p = hd.creating;
    if (p && this.pending.get(p.key) === p && p.state === 'held' && hd.wb) {
      const held = hd.wb.takeHeld();
      if (held) {
        if (held.length > 0) {
          const pieces = [...(p.opts.pieces ?? []), ...held];
          p.opts.pieces = pieces;
          if (!p.mtimeSet) p.opts.mtimeNs = nowNs();
        }
        this.release0(p);
        // Close-to-open: the file is committed (whole) before close returns, unless in write-back mode.
        if (!this.writeBack) await this.settled(p);
        return;
      }
    }
    if (hd.wb) {
      if (hd.wb.dirty) await this.committed(hd.node);
      await hd.wb.flush();
    }
    if (hd.node.mnt && hd.node.oid) this.throwDeferred(this.okey(hd.node.mnt, hd.node.oid));
  }

  private async open(h: InHeader, n: Node, flags: number): Promise<Buffer[]> {
    const d = this.dfsNode(n);
    const write = (flags & O_ACCMODE) !== 0;
    await this.check(h, d, 'r');
    if (write) await this.check(h, d, 'w');
    if (d.type !== 'file') throw new Fail(ERRNO[d.type === 'dir' ? 'EISDIR' : 'ELOOP']!);
    await this.committed(n);
    const ino = await d.mnt.dfs.statOf(d.oid, 'file');
    const file = d.mnt.dfs.file(d.oid, ino.chunkSize || d.mnt.dfs.chunkSize, { write, pin: true, path: n.name });
    if (write && flags & O_TRUNC && ino.size > 0) {
      await this.flushNode(n);
      await file.truncate(0);
      n.gen = (n.gen ?? 0) + 1;
    }
    const fh = this.nextFh++;
    const hd: FileHandle = { node: n, mnt: d.mnt, file, ra: new ReadAhead(file, file.chunkSize, this.opts.readAhead ?? 8), mode: ino.mode & 0o7777 };
    if (!write) hd.ra.size = ino.size;
    if (write) hd.wb = new WriteBack(file, async () => undefined, { inflight: this.opts.writeInflight ?? 4, batchBytes: 4 << 20, small: 0 });
    this.handles.set(fh, hd);
    (n.open ??= new Set()).add(fh);
    const stamp = `${ino.mtimeNs}:${ino.size}:${n.gen ?? 0}`;
    const keep = n.cacheStamp === stamp && !write;
    n.cacheStamp = stamp;
    return [openOut(fh, keep ? FOPEN.KEEP_CACHE : 0)];
  }

  private handleOf(fh: bigint): FileHandle {
    const hd = this.handles.get(fh);
    if (!hd) throw new Fail(ERRNO['EBADF']!);
    return hd;
  }

  private async read(body: Buffer): Promise<Buffer[]> {
    const hd = this.handleOf(body.readBigUInt64LE(0));
    const off = Number(body.readBigUInt64LE(8));
    const size = body.readUInt32LE(16);
    if (this.dirtyEnd(hd.node) > 0) await this.flushNode(hd.node);
    return [await hd.ra.read(off, size, hd.node.gen ?? 0)];
  }

  private async write(body: Buffer): Promise<Buffer[]> {
    const hd = this.handleOf(body.readBigUInt64LE(0));
    if (!hd.wb) throw new Fail(ERRNO['EBADF']!);
    const off = Number(body.readBigUInt64LE(8));
    const size = body.readUInt32LE(16);
    if (body.readUInt32LE(20) & WRITE_KILL_PRIV) this.killPrivOnWrite(hd);
    await hd.wb.write(body.subarray(40, 40 + size), off);
    hd.node.gen = (hd.node.gen ?? 0) + 1;
    if (hd.creating && hd.creating.state === 'held') hd.creating.mtimeSet = false;
    return [u32Out(size)];
  }

  /** A write by a caller without CAP_FSETID clears suid/sgid (HANDLE_KILLPRIV). */
  private killPrivOnWrite(hd: FileHandle): void {
    const n = hd.node;
    if (!n.mnt || !n.oid) return;
    const key = this.okey(n.mnt, n.oid);
    const p = this.pending.get(key);
    const cur = p && p.state !== 'taken' ? p.opts.mode : this.attrOverlay.get(key)?.mode ?? hd.mode;
    if (cur === undefined) return;
    const killed = killPriv(cur);
    if (killed === cur) return;
    hd.mode = killed;
    this.changeAttr(n as Node & { mnt: Mnt; oid: ObjectId }, { mode: killed }, nowNs());
  }

  private async release(fh: bigint): Promise<Buffer[]> {
    const hd = this.handles.get(fh);
    if (!hd) return [];
    try {
      await this.flushHandle(hd);
    } finally {
      this.handles.delete(fh);
      hd.node.open?.delete(fh);
      this.table.release(hd.node);
      const p = hd.creating;
      // The pin goes once the creation is committed (a pending file cannot be unlinked yet).
      if (p && this.pending.get(p.key) === p) {
        this.closing++;
        void p.done.finally(() => hd.file.close()).catch(() => undefined).finally(() => { this.closing--; });
      }
      else await hd.file.close().catch(() => undefined);
    }
    return [];
  }

  private async opendir(h: InHeader, n: Node): Promise<Buffer[]> {
    await this.check(h, n, 'r');
    if (this.isDfs(n)) await this.drain();
    const dh: DirHandle = { node: n, pos: 0 };
    const caller = this.caller(h);
    if (n.kind === 'root') {
      dh.list = (await listPools(this.engine, { caller })).map((p) => ({ name: p.uuid, ino: 0n, type: DT.DIR }));
    } else if (n.kind === 'pool') {
      dh.list = (await listContainers(this.engine, n.poolUuid!, { caller })).map((c) => ({ name: c.uuid, ino: 0n, type: DT.DIR }));
    } else if (n.kind === 'snaps') {
      dh.list = (await this.engine.listSnapshots(n.contUuid!)).sort((a, b) => a.epoch - b.epoch)
        .map((s) => ({ name: s.name ?? String(s.epoch), ino: 0n, type: DT.DIR }));
    } else if (n.kind === 'empty') {
      dh.list = [];
    } else {
      this.dfsNode(n);
    }
    const fh = this.nextFh++;
    this.dirs.set(fh, dh);
    return [openOut(fh, 0)];
  }

  private async readdir(body: Buffer): Promise<Buffer[]> {
    const dh = this.dirs.get(body.readBigUInt64LE(0));
    if (!dh) throw new Fail(ERRNO['EBADF']!);
    const offset = Number(body.readBigUInt64LE(8));
    const size = body.readUInt32LE(16);
    const out = Buffer.alloc(size);
    let used = 0;
    const n = dh.node;
    const put = (name: string, ino: bigint, type: number, off: number): boolean => {
      const nb = Buffer.from(name, 'utf8');
      if (used + direntSize(nb.length) > size) return false;
      used += writeDirent(out, used, ino === 0n ? 0xffffffffn : ino, off, type, nb);
      return true;
    };
    // Offsets: 1 after ".", 2 after "..", 2+k after the k-th entry.
    let pos = offset;
    if (pos === 0) { if (!put('.', n.synIno ?? (n.mnt && n.oid ? n.mnt.ino(n.oid) : 1n), DT.DIR, 1)) return [out.subarray(0, used)]; pos = 1; }
    if (pos === 1) { if (!put('..', 1n, DT.DIR, 2)) return [out.subarray(0, used)]; pos = 2; }
    if (dh.list) {
      for (let i = pos - 2; i < dh.list.length; i++) {
        const e = dh.list[i]!;
        if (!put(e.name, e.ino === 0n ? BigInt(i + 3) | (0xfffdn << 48n) : e.ino, e.type, i + 3)) break;
      }
      return [out.subarray(0, used)];
    }
    const d = this.dfsNode(n);
    if (!dh.iter || dh.pos !== pos) {
      // A fresh listing (or a seek): restart the stream and skip to pos.
      await dh.iter?.return(undefined);
      dh.iter = d.mnt.dfs.readdirAt(d.oid, { pageSize: 512 });
      dh.peek = undefined;
      dh.pos = 2;
      while (dh.pos < pos) {
        const r = await dh.iter.next();
        if (r.done) break;
        dh.pos++;
      }
    }
    for (;;) {
      let e = dh.peek;
      if (!e) {
        const r = await dh.iter.next();
        if (r.done) break;
        e = r.value;
      }
      if (!put(e.name, d.mnt.ino(ObjectId.parse(e.oid)), dtOf(e.type), dh.pos + 1)) { dh.peek = e; break; }
      dh.peek = undefined;
      dh.pos++;
    }
    return [out.subarray(0, used)];
  }

  private statfs(): Buffer {
    const loc = this.engine.location;
    let s: fs.StatsFs | undefined;
    try { if (loc.startsWith('/')) s = fs.statfsSync(loc); } catch { /* not a local path */ }
    const bsize = 4096;
    if (!s) return statfsOut({ blocks: 1 << 30, bfree: 1 << 30, bavail: 1 << 30, files: 1 << 30, ffree: 1 << 30, bsize, namelen: 255, frsize: bsize });
    const f = s.bsize / bsize;
    return statfsOut({ blocks: s.blocks * f, bfree: s.bfree * f, bavail: s.bavail * f, files: 1 << 30, ffree: 1 << 30, bsize, namelen: 255, frsize: bsize });
  }

  private xattrAllowed(name: string): boolean {
    return name.startsWith('user.') || name.startsWith('trusted.');
  }

  private async setxattr(h: InHeader, n: Node, body: Buffer): Promise<Buffer[]> {
    const size = body.readUInt32LE(0);
    const flags = body.readUInt32LE(4);
    const [name, at] = cstr(body, 8);
    if (!this.isDfs(n) || !this.xattrAllowed(name)) throw new Fail(ERRNO['ENOTSUP']!);
    const d = this.dfsNode(n);
    await this.check(h, d, 'w');
    await this.committed(d);
    await d.mnt.dfs.setxattrOf(d.oid, name, Buffer.from(body.subarray(at, at + size)),
      { create: !!(flags & XATTR_CREATE), replace: !!(flags & XATTR_REPLACE) });
    return [];
  }

  private async getxattr(h: InHeader, n: Node, body: Buffer): Promise<Buffer[]> {
    const size = body.readUInt32LE(0);
    const name = cstr(body, 8)[0];
    if (!this.isDfs(n) || !this.xattrAllowed(name)) throw new Fail(ERRNO['ENODATA']!);
    const d = this.dfsNode(n);
    await this.check(h, d, 'r');
    if (this.pending.has(this.okey(d.mnt, d.oid))) throw new Fail(ERRNO['ENODATA']!); // a new inode has no xattrs yet
    const val = Buffer.from(await d.mnt.dfs.getxattrOf(d.oid, name));
    if (size === 0) return [u32Out(val.length)];
    if (val.length > size) throw new Fail(ERRNO['ERANGE']!);
    return [val];
  }

  private async listxattr(h: InHeader, n: Node, body: Buffer): Promise<Buffer[]> {
    const size = body.readUInt32LE(0);
    let names = Buffer.alloc(0);
    if (this.isDfs(n)) {
      const d = this.dfsNode(n);
      await this.check(h, d, 'r');
      const parts: Buffer[] = [];
      if (!this.pending.has(this.okey(d.mnt, d.oid))) for (const a of await d.mnt.dfs.listxattrOf(d.oid)) parts.push(Buffer.from(a, 'utf8'), Buffer.alloc(1));
      names = Buffer.concat(parts);
    }
    if (size === 0) return [u32Out(names.length)];
    if (names.length > size) throw new Fail(ERRNO['ERANGE']!);
    return [names];
  }

  /** Commits every open handle's buffered writes (on unmount or signal). */
  async flushAll(): Promise<void> {
    await Promise.all([...this.handles.values()].map((hd) => this.flushHandle(hd).catch(() => undefined)));
    await this.drain();
  }
}
