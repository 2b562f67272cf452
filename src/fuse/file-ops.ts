// File I/O: open file handles (data write-back, read-ahead), open, the handle
// of a file just created, read, write, flush, fsync and release.
import { HeldWriter, type BulkWriter, type DfsFile } from '../dfs/index.js';
import type { ObjectId } from '../object/oid.js';
import { ERRNO, FOPEN, WRITE_KILL_PRIV, openOut, u32Out, type InHeader } from './proto.js';
import { dfsNode, type Mnt, type Node, type NodeTable } from './nodes.js';
import { ReadAhead } from './handles.js';
import type { Access } from './access.js';
import { okey, type Pending, type PendingChanges } from './pending.js';
import { killPriv, nowNs } from './attr.js';
import { Fail } from './fail.js';

const O_ACCMODE = 3;
const O_TRUNC = 0o1000;

/** Small new files (data up to this size) are committed with their creation. */
const SMALL_FILE = 1 << 20;

export interface FileHandle {
  node: Node;
  mnt: Mnt;
  file: DfsFile;
  /** Write-back of the handle's data (held, then spilled to a bulk writer). */
  wb?: HeldWriter;
  ra: ReadAhead;
  /** The pending creation this handle made (CREATE). */
  creating?: Pending;
  /** Permission bits as of open (for clearing suid/sgid on write); undefined once cleared or unknown. */
  mode?: number;
}

export interface FileOpsOptions {
  /** Chunk transactions in flight per open file. */
  writeInflight?: number;
  /** Chunks read ahead on sequential reads. */
  readAhead?: number;
}

export class FileOps {
  readonly handles = new Map<bigint, FileHandle>();
  /** Handles closing after their creation commits. */
  private closing = 0;

  /** `newFh`: the next handle number (one sequence for file and directory handles). */
  constructor(
    private readonly table: NodeTable,
    private readonly access: Access,
    private readonly meta: PendingChanges,
    private readonly newFh: () => bigint,
    private readonly opts: FileOpsOptions,
    /** Makes the engine's commits durable (fsync). */
    private readonly sync: () => Promise<void>,
  ) {}

  /** Handles closing, writers committing or chunks being read ahead in the background. */
  get busy(): boolean {
    if (this.closing > 0) return true;
    for (const hd of this.handles.values()) if (hd.wb?.busy || hd.ra.fetching > 0) return true;
    return false;
  }

  dirtyEnd(n: Node): number {
    let end = 0;
    for (const fh of n.open ?? []) end = Math.max(end, this.handles.get(fh)?.wb?.dirtyEnd ?? 0);
    return end;
  }

  /** Commits buffered writes of every handle open on n (before reads, truncates, renames). */
  async flushNode(n: Node): Promise<void> {
    const jobs: Array<Promise<void>> = [];
    for (const fh of n.open ?? []) {
      const hd = this.handles.get(fh);
      if (hd?.wb?.dirty) jobs.push(this.meta.committed(n).then(() => hd.wb!.flush()).catch(() => undefined));
    }
    await Promise.all(jobs);
  }

  /** The handle of a file this mount just created (pending): nothing to read or truncate. */
  openNew(n: Node, flags: number): Buffer[] {
    const d = dfsNode(n);
    const p = this.meta.pending.get(okey(d.mnt, d.oid))!;
    const cs = d.mnt.dfs.chunkSize;
    const file = d.mnt.dfs.file(d.oid, cs, { write: true, pin: true, path: n.name });
    const fh = this.newFh();
    const hd: FileHandle = { node: n, mnt: d.mnt, file, ra: new ReadAhead(file, cs, this.opts.readAhead ?? 8), creating: p };
    // Data up to SMALL_FILE is held for the creation's commit; past it the creation commits first.
    hd.wb = new HeldWriter(async () => { await this.meta.committed(n); return this.bulkWriter(file); }, { limit: SMALL_FILE });
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
  async flushHandle(hd: FileHandle): Promise<void> {
    const p = hd.creating;
    if (p && this.meta.pending.get(p.key) === p && p.state === 'held' && hd.wb) {
      const held = hd.wb.takeHeld();
      if (held) {
        if (held.length > 0) {
          const pieces = [...(p.opts.pieces ?? []), ...held];
          p.opts.pieces = pieces;
          if (!p.mtimeSet) p.opts.mtimeNs = nowNs();
        }
        this.meta.release0(p);
        // Close-to-open: the file is committed (whole) before close returns, unless in write-back mode.
        if (!this.meta.writeBack) await this.meta.settled(p);
        return;
      }
    }
    if (hd.wb) {
      if (hd.wb.dirty) await this.meta.committed(hd.node);
      await hd.wb.flush();
    }
    if (hd.node.mnt && hd.node.oid) this.meta.throwDeferred(okey(hd.node.mnt, hd.node.oid));
  }

  async open(h: InHeader, n: Node, flags: number): Promise<Buffer[]> {
    const d = dfsNode(n);
    const write = (flags & O_ACCMODE) !== 0;
    await this.access.check(h, d, 'r');
    if (write) await this.access.check(h, d, 'w');
    // (The kernel opens FIFOs, devices and sockets itself and never asks.)
    if (d.type !== 'file') throw new Fail(ERRNO[d.type === 'dir' ? 'EISDIR' : d.type === 'symlink' ? 'ELOOP' : 'ENXIO']!);
    await this.meta.committed(n);
    const ino = await d.mnt.dfs.statOf(d.oid, 'file');
    const file = d.mnt.dfs.file(d.oid, ino.chunkSize || d.mnt.dfs.chunkSize, { write, pin: true, path: n.name });
    if (write && flags & O_TRUNC && ino.size > 0) {
      await this.flushNode(n);
      await file.truncate(0);
      n.gen = (n.gen ?? 0) + 1;
    }
    const fh = this.newFh();
    const hd: FileHandle = { node: n, mnt: d.mnt, file, ra: new ReadAhead(file, file.chunkSize, this.opts.readAhead ?? 8), mode: ino.mode & 0o7777 };
    // O_TRUNC is a truncate: by a caller that is not root it clears suid (and
    // sgid when group-executable), as Linux does; HANDLE_KILLPRIV leaves that to us.
    if (write && flags & O_TRUNC && h.uid !== 0 && killPriv(hd.mode!) !== hd.mode) {
      hd.mode = killPriv(hd.mode!);
      await this.meta.changeAttr(d, { mode: hd.mode }, nowNs());
    }
    if (!write) hd.ra.size = ino.size;
    if (write) hd.wb = new HeldWriter(async () => this.bulkWriter(file), { limit: 0 });
    this.handles.set(fh, hd);
    (n.open ??= new Set()).add(fh);
    const stamp = `${ino.mtimeNs}:${ino.size}:${n.gen ?? 0}`;
    const keep = n.cacheStamp === stamp && !write;
    n.cacheStamp = stamp;
    return [openOut(fh, keep ? FOPEN.KEEP_CACHE : 0)];
  }

  /** The bulk writer of a handle's data: several chunks per transaction, a few in flight. */
  private bulkWriter(file: DfsFile): BulkWriter {
    return file.writer({ batchBytes: 4 << 20, inflight: this.opts.writeInflight ?? 4 });
  }

  private handleOf(fh: bigint): FileHandle {
    const hd = this.handles.get(fh);
    if (!hd) throw new Fail(ERRNO['EBADF']!);
    return hd;
  }

  async read(body: Buffer): Promise<Buffer[]> {
    const hd = this.handleOf(body.readBigUInt64LE(0));
    const off = Number(body.readBigUInt64LE(8));
    const size = body.readUInt32LE(16);
    if (this.dirtyEnd(hd.node) > 0) await this.flushNode(hd.node);
    return [await hd.ra.read(off, size, hd.node.gen ?? 0)];
  }

  async write(body: Buffer): Promise<Buffer[]> {
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
    const key = okey(n.mnt, n.oid);
    const p = this.meta.pending.get(key);
    const cur = p && p.state !== 'taken' ? p.opts.mode : this.meta.attrOverlay.get(key)?.mode ?? hd.mode;
    if (cur === undefined) return;
    const killed = killPriv(cur);
    if (killed === cur) return;
    hd.mode = killed;
    this.meta.changeAttr(n as Node & { mnt: Mnt; oid: ObjectId }, { mode: killed }, nowNs());
  }

  async flush(fh: bigint): Promise<Buffer[]> {
    const fhd = this.handles.get(fh);
    if (fhd) await this.flushHandle(fhd);
    return [];
  }

  async fsync(fh: bigint): Promise<Buffer[]> {
    // fsync means durable: everything this file depends on (its creation, its parents') is committed.
    const fhd = this.handles.get(fh);
    if (fhd) await this.flushHandle(fhd);
    await this.meta.drain();
    if (fhd) await this.meta.committed(fhd.node);
    await this.sync();
    return [];
  }

  async release(fh: bigint): Promise<Buffer[]> {
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
      if (p && this.meta.pending.get(p.key) === p) {
        this.closing++;
        void p.done.finally(() => hd.file.close()).catch(() => undefined).finally(() => { this.closing--; });
      }
      else await hd.file.close().catch(() => undefined);
    }
    return [];
  }
}
