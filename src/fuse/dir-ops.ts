// Directory operations: creating names (mkdir, symlink, mknod, create+open),
// unlink, rmdir, rename, link, and directory handles (opendir, streamed readdir, releasedir).
import type { Engine } from '../engine/types.js';
import { listContainers } from '../container/manage.js';
import { listPools } from '../container/pool.js';
import { checkCreateType, checkName, dtOf, inheritedOwner, isDevice, mknodType, rdevFromKernel32, type DirEntry, type FileType } from '../dfs/index.js';
import { ObjectId } from '../object/oid.js';
import { DT, ERRNO, RENAME_EXCHANGE, RENAME_NOREPLACE, cstr, direntSize, openOut, writeDirent, type InHeader } from './proto.js';
import { dfsNode, isDfs, type Node, type NodeTable } from './nodes.js';
import type { Access } from './access.js';
import { nkey, okey, type PendingChanges } from './pending.js';
import { nowNs, type Attrs } from './attr.js';
import type { FileOps } from './file-ops.js';
import { Fail } from './fail.js';

const O_EXCL = 0o200;

interface DirHandle {
  node: Node;
  /** Synthetic directories: all entries, computed at opendir. */
  list?: Array<{ name: string; ino: bigint; type: number }>;
  /** DFS directories: a stream of entries and the offset of the next one. */
  iter?: AsyncGenerator<DirEntry>;
  pos: number;
  peek?: DirEntry;
}

export class DirOps {
  private dirs = new Map<bigint, DirHandle>();

  /** `newFh`: the next handle number (one sequence for file and directory handles). */
  constructor(
    private readonly engine: Engine,
    private readonly table: NodeTable,
    private readonly access: Access,
    private readonly meta: PendingChanges,
    private readonly attrs: Attrs,
    private readonly files: FileOps,
    private readonly newFh: () => bigint,
  ) {}

  /**
   * Creates a name with the caller as owner. The reply does not wait for
   * the commit (metadata write-back): a file is held until its creating
   * handle is flushed (then created with its data and attributes in one
   * transaction, batched with other pending changes); directories and
   * symlinks are queued at once.
   */
  private async createNode(h: InHeader, p: Node, name: string, type: FileType, mode: number, target?: string, held = false, rdev?: bigint): Promise<Node> {
    const d = dfsNode(p);
    await this.access.check(h, d, 'w');
    checkName(name);
    // Devices only by root (CAP_MKNOD): the kernel checks it too, the daemon's own DFS view acts as root.
    checkCreateType(this.access.caller(h), type, `mknod ${name}`);
    const nk = nkey(d.mnt, d.oid, name);
    if (this.meta.pendingNames.has(nk) || await d.mnt.dfs.lookupAt(d.oid, name)) throw new Fail(ERRNO['EEXIST']!);
    const oid = await d.mnt.dfs.reserveOid(type);
    if (this.meta.pendingNames.has(nk)) throw new Fail(ERRNO['EEXIST']!);
    const now = nowNs();
    // The caller owns the new inode; a set-group-ID directory gives its group (DFS's rule).
    const own = inheritedOwner(this.access.caller(h), await this.attrs.attr(d), type, h.gid, mode & 0o7777);
    const node = this.table.dfsChild(d, name, { type, oid });
    const pend = this.meta.create({
      nameKey: nk, node, mnt: d.mnt, dir: d.oid, name, type, oid,
      opts: { oid, mode: own.perm, uid: h.uid, gid: own.gid, atimeNs: now, mtimeNs: now, ...(target !== undefined ? { target } : {}), ...(isDevice(type) ? { rdev: rdev ?? 0n } : {}) },
      ctimeNs: now,
    }, held);
    if (!held && !this.meta.writeBack) await this.meta.settled(pend);
    return node;
  }

  async create(h: InHeader, p: Node, name: string, type: FileType, mode: number, target?: string): Promise<Buffer[]> {
    return this.attrs.entry(await this.createNode(h, p, name, type, mode, target));
  }

  /**
   * MKNOD: a FIFO, device, socket (a bind(2) of a Unix socket) or empty file,
   * through the one DFS create path. The kernel runs a FIFO's pipe and a
   * socket itself once getattr says so; a device's number is kept.
   */
  async mknod(h: InHeader, p: Node, name: string, mode: number, rdev: number): Promise<Buffer[]> {
    const type = mknodType(mode, `mknod ${name}`);
    return this.attrs.entry(await this.createNode(h, p, name, type, mode, undefined, false, isDevice(type) ? rdevFromKernel32(rdev) : undefined));
  }

  async createOpen(h: InHeader, p: Node, body: Buffer): Promise<Buffer[]> {
    const flags = body.readUInt32LE(0);
    const mode = body.readUInt32LE(4);
    const name = cstr(body, 16)[0];
    let n: Node;
    let created = false;
    try {
      n = await this.createNode(h, p, name, 'file', mode, undefined, true);
      created = true;
    } catch (e) {
      if (!(e instanceof Fail && e.errno === ERRNO['EEXIST']) || flags & O_EXCL) throw e;
      const d = dfsNode(p);
      const pn = this.meta.pendingNames.get(nkey(d.mnt, d.oid, name));
      const ent = pn ? { type: pn.type, oid: pn.oid } : await d.mnt.dfs.lookupAt(d.oid, name);
      if (!ent) throw e;
      n = pn ? pn.node : this.table.dfsChild(d, name, ent);
    }
    const [open] = created ? this.files.openNew(n, flags) : await this.files.open(h, n, flags);
    const [ent] = await this.attrs.entry(n);
    return [ent!, open!];
  }

  async remove(h: InHeader, p: Node, name: string, dir: boolean): Promise<Buffer[]> {
    const d = dfsNode(p);
    await this.access.check(h, d, 'w');
    if (p.kind === 'cont' && name === '.snapshots') throw new Fail(ERRNO['EPERM']!);
    await this.meta.drain();
    if (dir) await d.mnt.dfs.rmdirAt(d.oid, name); else await d.mnt.dfs.unlinkAt(d.oid, name);
    this.table.unname(p, name);
    return [];
  }

  async rename(h: InHeader, p: Node, from: string, np: Node, to: string, flags: number): Promise<Buffer[]> {
    const a = dfsNode(p);
    const b = dfsNode(np);
    if (a.mnt !== b.mnt) throw new Fail(ERRNO['EXDEV']!);
    await this.access.check(h, a, 'w');
    const src = a.children.get(from);
    if (src) await this.files.flushNode(src);
    const exchange = !!(flags & RENAME_EXCHANGE);
    const dst = exchange ? b.children.get(to) : undefined;
    if (dst) await this.files.flushNode(dst);
    await this.meta.drain();
    await a.mnt.dfs.renameAt(a.oid, from, b.oid, to, { noReplace: !!(flags & RENAME_NOREPLACE), exchange });
    if (exchange) {
      // Each name now names the other inode: forget both (the kernel looks them up again).
      this.table.unname(a, from);
      this.table.unname(b, to);
    } else if (src) this.table.move(src, a, from, b, to);
    else this.table.unname(b, to);
    return [];
  }

  async link(h: InHeader, src: Node, np: Node, name: string): Promise<Buffer[]> {
    const s = dfsNode(src);
    const p = dfsNode(np);
    if (s.mnt !== p.mnt) throw new Fail(ERRNO['EXDEV']!);
    await this.access.check(h, p, 'w');
    checkName(name);
    await this.meta.drain();
    await p.mnt.dfs.linkAt(s.oid, p.oid, name);
    // The drain may just have committed the inode's creation, caching its attributes with nlink 1.
    this.meta.attrCache.delete(okey(s.mnt, s.oid));
    return this.attrs.entry(this.table.dfsChild(p, name, { type: s.type, oid: s.oid }));
  }

  async opendir(h: InHeader, n: Node): Promise<Buffer[]> {
    await this.access.check(h, n, 'r');
    if (isDfs(n)) await this.meta.drain();
    const dh: DirHandle = { node: n, pos: 0 };
    const caller = this.access.aclCaller(h);
    // Each pool and container by UUID (a directory) and by label (a symlink to it).
    if (n.kind === 'root') {
      dh.list = (await listPools(this.engine, { caller })).flatMap((p) => [{ name: p.uuid, ino: 0n, type: DT.DIR }, { name: p.label, ino: 0n, type: DT.LNK }]);
    } else if (n.kind === 'pool') {
      dh.list = (await listContainers(this.engine, n.poolUuid!, { caller })).flatMap((c) => [{ name: c.uuid, ino: 0n, type: DT.DIR }, { name: c.label, ino: 0n, type: DT.LNK }]);
    } else if (n.kind === 'snaps') {
      dh.list = (await this.engine.listSnapshots(n.contUuid!)).sort((a, b) => a.epoch - b.epoch)
        .map((s) => ({ name: s.name ?? String(s.epoch), ino: 0n, type: DT.DIR }));
    } else if (n.kind === 'empty') {
      dh.list = [];
    } else {
      dfsNode(n);
    }
    const fh = this.newFh();
    this.dirs.set(fh, dh);
    return [openOut(fh, 0)];
  }

  async readdir(body: Buffer): Promise<Buffer[]> {
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
    const d = dfsNode(n);
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

  async releasedir(fh: bigint): Promise<Buffer[]> {
    const d = this.dirs.get(fh);
    this.dirs.delete(fh);
    await d?.iter?.return(undefined);
    return [];
  }
}
