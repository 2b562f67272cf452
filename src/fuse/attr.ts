// Attributes: getattr (of committed inodes, pending creations and queued
// changes), setattr, the entry replies of lookups and creates, and the
// clearing of suid/sgid (HANDLE_KILLPRIV).
import { S_IFDIR, S_IFLNK, S_IFMT, checkOwnerChange, killPriv, rdevToKernel32, typeBits, type SetAttr } from '../dfs/index.js';
import { ERRNO, FATTR, attrOut, entryOut, type Attr, type InHeader } from './proto.js';
import { dfsNode, isDfs, type Node } from './nodes.js';
import type { Access } from './access.js';
import { okey, type PendingChanges } from './pending.js';
import { Fail } from './fail.js';

export function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
}

export { killPriv };

/** What attributes need of the open files (file-ops.ts): sizes include buffered writes; truncates commit them first. */
export interface OpenData {
  dirtyEnd(n: Node): number;
  flushNode(n: Node): Promise<void>;
}

export class Attrs {
  /** Times of the synthetic directories (tier root, pools, ...). */
  private readonly started = BigInt(Date.now()) * 1_000_000n;

  constructor(
    private readonly access: Access,
    private readonly meta: PendingChanges,
    private readonly files: OpenData,
    readonly entryTimeout: number,
    readonly attrTimeout: number,
  ) {}

  async attr(n: Node): Promise<Attr> {
    if (n.kind === 'label') {
      const t = this.started;
      return { ino: n.synIno ?? 1n, size: Buffer.byteLength(n.target ?? ''), blocks: 0, atimeNs: t, mtimeNs: t, ctimeNs: t, mode: S_IFLNK | 0o777, nlink: 1, uid: 0, gid: 0, blksize: 4096 };
    }
    if (!isDfs(n)) {
      const t = this.started;
      return { ino: n.synIno ?? 1n, size: 0, blocks: 0, atimeNs: t, mtimeNs: t, ctimeNs: t, mode: S_IFDIR | (n.kind === 'root' || n.kind === 'pool' ? 0o755 : 0o555), nlink: 2, uid: 0, gid: 0, blksize: 4096 };
    }
    const d = dfsNode(n);
    const key = okey(d.mnt, d.oid);
    const p = this.meta.pending.get(key);
    if (p) {
      const o = p.opts;
      let size = p.type === 'symlink' ? Buffer.byteLength(o.target ?? '') : 0;
      if (p.type === 'file') {
        size = o.size ?? 0;
        for (const pc of o.pieces ?? []) size = Math.max(size, pc.offset + pc.data.length);
        size = Math.max(size, this.files.dirtyEnd(n));
      }
      // A change that arrived while the creation was being committed is queued
      // after it (attrOverlay): it shows here as it does for committed inodes.
      return this.overlaid(key, {
        ino: d.mnt.ino(d.oid), size, blocks: Math.ceil(size / 512), atimeNs: o.atimeNs, mtimeNs: o.mtimeNs, ctimeNs: p.ctimeNs,
        mode: typeBits(p.type) | (p.type === 'symlink' ? 0o777 : o.mode), nlink: p.type === 'dir' ? 2 : 1, uid: o.uid, gid: o.gid,
        blksize: p.type === 'file' ? Math.min(o.chunkSize ?? d.mnt.dfs.chunkSize, 1 << 20) : 4096, rdev: rdevToKernel32(o.rdev ?? 0n),
      });
    }
    const hit = this.meta.attrCache.get(key);
    if (hit && Date.now() - hit.at < this.attrTimeout * 1000 && !this.meta.attrOverlay.has(key)) {
      const size = Math.max(hit.a.size, this.files.dirtyEnd(n));
      return { ...hit.a, size, blocks: Math.ceil(size / 512) };
    }
    const ino = await d.mnt.dfs.statOf(d.oid, d.type);
    const size = Math.max(ino.size, this.files.dirtyEnd(n));
    return this.overlaid(key, {
      ino: d.mnt.ino(d.oid), size, blocks: Math.ceil(size / 512), atimeNs: ino.atimeNs, mtimeNs: ino.mtimeNs, ctimeNs: ino.ctimeNs,
      mode: ino.mode, nlink: ino.nlink, uid: ino.uid, gid: ino.gid, blksize: d.type === 'file' ? Math.min(ino.chunkSize || 4096, 1 << 20) : 4096,
      rdev: rdevToKernel32(ino.rdev),
    });
  }

  /** Attributes with the changes queued but not committed yet (attrOverlay) applied. */
  private overlaid(key: string, a: Attr): Attr {
    const ov = this.meta.attrOverlay.get(key);
    if (!ov) return a;
    if (ov.mode !== undefined) a.mode = (a.mode & S_IFMT) | ov.mode;
    if (ov.uid !== undefined) a.uid = ov.uid;
    if (ov.gid !== undefined) a.gid = ov.gid;
    if (typeof ov.atimeNs === 'bigint') a.atimeNs = ov.atimeNs;
    if (typeof ov.mtimeNs === 'bigint') a.mtimeNs = ov.mtimeNs;
    return a;
  }

  /** The entry reply for a node the kernel now holds one more lookup of. */
  async entry(n: Node): Promise<Buffer[]> {
    const a = await this.attr(n);
    n.nlookup++;
    return [entryOut(n.id, a, this.entryTimeout, this.attrTimeout)];
  }

  async setattr(h: InHeader, n: Node, body: Buffer): Promise<Buffer[]> {
    const valid = body.readUInt32LE(0);
    const d = dfsNode(n);
    await this.access.check(h, d, 'w');
    const dfs = d.mnt.dfs;
    if (valid & FATTR.SIZE) {
      if (d.type !== 'file') throw new Fail(ERRNO[d.type === 'dir' ? 'EISDIR' : 'EINVAL']!);
      const size = Number(body.readBigUInt64LE(16));
      await this.files.flushNode(n);
      await this.meta.committed(n);
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
    // The ownership rules of DFS for this request's caller (the daemon's own
    // DFS view acts as root), on fresh attributes: the kernel checks them too
    // (default_permissions), but against attributes it may have cached.
    if (a.mode !== undefined || a.uid !== undefined || a.gid !== undefined || a.atimeNs !== undefined || a.mtimeNs !== undefined) {
      this.meta.attrCache.delete(okey(d.mnt, d.oid));
      const cur = await this.attr(n);
      const perm = checkOwnerChange(this.access.caller(h), cur, {
        ...a,
        atimeNs: valid & FATTR.ATIME_NOW ? 'now' : a.atimeNs,
        mtimeNs: valid & FATTR.MTIME_NOW ? 'now' : a.mtimeNs,
      }, `setattr ${n.name}`);
      if (a.mode !== undefined && perm !== undefined) a.mode = perm;
    }
    const chown = a.uid !== undefined || a.gid !== undefined;
    const killOnly = (valid & (FATTR.MODE | FATTR.UID | FATTR.GID | FATTR.SIZE | FATTR.ATIME | FATTR.MTIME | FATTR.ATIME_NOW | FATTR.MTIME_NOW | FATTR.CTIME)) === 0;
    if (d.type === 'file' && a.mode === undefined && (chown || killOnly || (valid & FATTR.SIZE && h.uid !== 0))) {
      const cur = (await this.attr(n)).mode & 0o7777;
      const killed = killPriv(cur);
      if (killed !== cur) a.mode = killed;
    }
    // A SETATTR that changes nothing (chown(f, -1, -1), the kill-priv request
    // of a write) still moves ctime, as Linux does; a truncate has moved it already.
    if (Object.keys(a).length > 0 || !(valid & FATTR.SIZE)) await this.meta.changeAttr(d, a, now);
    this.meta.attrCache.delete(okey(d.mnt, d.oid));
    return [attrOut(await this.attr(n), this.attrTimeout)];
  }
}
