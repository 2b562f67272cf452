// Shared state of a mounted DFS: the container, the epoch it reads at, OID
// allocation, inode and entry reads, and the retry loop for optimistic
// transactions (Tx conditions -> ECONFLICT -> re-read and retry).
import type { Container } from '../container/container.js';
import type { Epoch } from '../engine/types.js';
import { LATEST } from '../engine/types.js';
import { DaosObject, Tx } from '../object/object.js';
import { ObjectId, parseObjectClass } from '../object/oid.js';
import { StrataError, isStrataError } from '../errors.js';
import {
  A_ATTR, A_CTIME, A_LINK, A_MTIME, A_SIZE, ENTRY_AKEY, INODE_DKEY, ROOT_OID, S_IFDIR,
  decodeAttr, decodeEntry, fromU64le, otypeFor, typeOfMode, type Entry, type FileType, type InodeAttr,
} from './layout.js';

export interface Inode extends InodeAttr {
  oid: ObjectId;
  type: FileType;
  size: number;
  mtimeNs: bigint;
  ctimeNs: bigint;
  /** Symlink target (symlinks only). */
  target?: string;
}

export interface MountOptions {
  /** Read the view of this epoch (a snapshot): read-only, every write fails with EROFS. */
  epoch?: Epoch;
  /** Mount read-only at the latest epoch. */
  readOnly?: boolean;
  /** Owner given to new inodes (default: the calling process's uid/gid). */
  uid?: number;
  gid?: number;
  /** Default chunk size for new files (default: the container's chunk_size property). */
  chunkSize?: number;
}

const ALLOC_BATCH = 64;

export class DfsCore {
  readonly epoch: Epoch;
  readonly readOnly: boolean;
  readonly uid: number;
  readonly gid: number;
  readonly chunkSize: number;
  private oidNext = 0n;
  private oidEnd = 0n;
  private allocating: Promise<void> | undefined;

  constructor(readonly container: Container, opts: MountOptions = {}) {
    this.epoch = opts.epoch ?? LATEST;
    this.readOnly = opts.epoch !== undefined || !!opts.readOnly;
    this.uid = opts.uid ?? (process.getuid?.() ?? 0);
    this.gid = opts.gid ?? (process.getgid?.() ?? 0);
    this.chunkSize = opts.chunkSize ?? container.chunkSize;
    if (!Number.isInteger(this.chunkSize) || this.chunkSize <= 0 || this.chunkSize > 0xffffffff) {
      throw new StrataError('EINVAL', `bad chunk size ${this.chunkSize}`);
    }
  }

  get label(): string { return this.container.label; }

  obj(oid: ObjectId): DaosObject { return this.container.object(oid); }

  /** A write transaction; EROFS at a snapshot or on a read-only mount. */
  tx(what: string): Tx {
    if (this.readOnly) {
      throw new StrataError('EROFS', `${what}: read-only filesystem (${this.epoch === LATEST ? 'mounted read-only' : `snapshot epoch ${this.epoch}`})`);
    }
    return this.container.tx();
  }

  checkWritable(what: string): void {
    this.tx(what);
  }

  now(): bigint {
    return BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
  }

  /** A fresh OID for a new inode; allocated from the container counter in batches. */
  async allocOid(type: FileType): Promise<ObjectId> {
    for (;;) {
      if (this.oidNext < this.oidEnd) {
        const seq = this.oidNext++;
        return ObjectId.make(seq, otypeFor(type), parseObjectClass(this.container.oclass));
      }
      if (!this.allocating) {
        this.container.require('w', 'allocate object id');
        this.allocating = this.container.engine.allocate(this.container.uuid, ALLOC_BATCH).then((first) => {
          this.oidNext = first;
          this.oidEnd = first + BigInt(ALLOC_BATCH);
        }).finally(() => { this.allocating = undefined; });
      }
      await this.allocating;
    }
  }

  /** Runs an optimistic read-modify-write transaction, retrying on ECONFLICT. */
  async retry<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const max = 12;
    for (let i = 0; ; i++) {
      try {
        return await fn();
      } catch (e) {
        if (!isStrataError(e, 'ECONFLICT') || i >= max) {
          if (isStrataError(e, 'ECONFLICT')) throw new StrataError('EBUSY', `${what}: too much contention, gave up after ${max} retries`, { cause: e });
          throw e;
        }
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 ** i)));
      }
    }
  }

  /** Reads a directory entry at the mount epoch. */
  async getEntry(dir: ObjectId, name: string): Promise<Entry | undefined> {
    const v = await this.obj(dir).get(name, ENTRY_AKEY, this.epoch);
    return v ? decodeEntry(v) : undefined;
  }

  /** Reads an entry and its version, version first, for a conditional update. */
  async getEntryV(dir: ObjectId, name: string): Promise<{ ent: Entry | undefined; ver: number }> {
    const o = this.obj(dir);
    const ver = await o.version(name, ENTRY_AKEY);
    const v = ver === 0 ? undefined : await o.get(name, ENTRY_AKEY, this.epoch);
    return { ent: v ? decodeEntry(v) : undefined, ver };
  }

  async attrV(oid: ObjectId): Promise<{ attr: InodeAttr; ver: number }> {
    const o = this.obj(oid);
    const ver = await o.version(INODE_DKEY, A_ATTR);
    const v = await o.get(INODE_DKEY, A_ATTR, this.epoch);
    if (!v) throw new StrataError('ENOENT', `inode ${oid} is gone`);
    return { attr: decodeAttr(v), ver };
  }

  async readInode(oid: ObjectId, type?: FileType): Promise<Inode> {
    const o = this.obj(oid);
    const [a, size, mtime, ctime] = await Promise.all([
      o.get(INODE_DKEY, A_ATTR, this.epoch), o.get(INODE_DKEY, A_SIZE, this.epoch),
      o.get(INODE_DKEY, A_MTIME, this.epoch), o.get(INODE_DKEY, A_CTIME, this.epoch),
    ]);
    let attr: InodeAttr;
    if (a) attr = decodeAttr(a);
    else if (oid.equals(ROOT_OID)) attr = { mode: S_IFDIR | 0o755, uid: 0, gid: 0, nlink: 1, chunkSize: 0, atimeNs: 0n };
    else throw new StrataError('ENOENT', `inode ${oid} is gone`);
    const t = type ?? typeOfMode(attr.mode);
    const ino: Inode = { ...attr, oid, type: t, size: Number(fromU64le(size)), mtimeNs: fromU64le(mtime), ctimeNs: fromU64le(ctime) };
    if (t === 'symlink') {
      const l = await o.get(INODE_DKEY, A_LINK, this.epoch);
      ino.target = l ? Buffer.from(l).toString('utf8') : '';
      ino.size = Buffer.byteLength(ino.target, 'utf8');
    }
    if (t === 'dir') ino.size = 0;
    return ino;
  }
}
