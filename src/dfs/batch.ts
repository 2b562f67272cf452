// Several *at calls in one transaction (one durable commit): the stagers of
// at.ts applied in order to one Tx, retried whole on a conflict.
import { StrataError } from '../errors.js';
import type { ObjectId } from '../object/oid.js';
import type { DfsCore } from './core.js';
import { INODE_DKEY, A_SIZE, type Entry, type FileType } from './layout.js';
import { checkName } from './path.js';
import {
  addData, checkNewInode, expectInode, stageCreate, stageRename, stageSetattr,
  type CreateAtOptions, type RenameAtOptions, type SetAttr, type Stager,
} from './at.js';

/**
 * Several calls in one transaction (one durable commit): creates with data,
 * setattrs, writes. Calls are staged in order and applied atomically by
 * commit(); on a conflict the whole batch is re-read and retried. Creates of
 * one name twice in a batch are EEXIST.
 */
export class DfsBatch {
  private stagers: Array<Stager<unknown>> = [];
  private names = new Set<string>();
  /** Directories created by this batch: creates inside them need no parent condition. */
  private newDirs = new Set<string>();
  /** Inodes created by this batch: writes to them need no existence condition. */
  private newOids = new Set<string>();
  private allocs: Array<Promise<ObjectId>> = [];

  constructor(private readonly core: DfsCore) {
    core.checkWritable('batch');
  }

  get size(): number { return this.stagers.length; }

  /** Stages a create; resolves (with the entry) when the batch commits. */
  create(dir: ObjectId, name: string, type: FileType, o: CreateAtOptions = {}): Promise<Entry> {
    checkName(name);
    checkNewInode(this.core, type, o, `create ${name}`);
    const k = `${dir}/${name}`;
    if (this.names.has(k)) throw new StrataError('EEXIST', `${name}: created twice in one batch`);
    this.names.add(k);
    const core = this.core;
    const oidP = o.oid ? Promise.resolve(o.oid) : core.allocOid(type);
    this.allocs.push(oidP);
    const parentIsNew = this.newDirs.has(dir.toString());
    void oidP.then((oid) => { this.newOids.add(oid.toString()); if (type === 'dir') this.newDirs.add(oid.toString()); }, () => undefined);
    if (o.oid) this.newOids.add(o.oid.toString());
    if (type === 'dir' && o.oid) this.newDirs.add(o.oid.toString());
    return this.add(async (tx) => stageCreate(core, dir, name, type, await oidP, o, parentIsNew)(tx));
  }

  setattr(oid: ObjectId, a: SetAttr): Promise<void> {
    return this.add(stageSetattr(this.core, oid, a));
  }

  rename(srcDir: ObjectId, srcName: string, dstDir: ObjectId, dstName: string, opts?: RenameAtOptions): Promise<void> {
    checkName(srcName);
    checkName(dstName);
    return this.add(stageRename(this.core, srcDir, srcName, dstDir, dstName, opts));
  }

  /** Stages file data (and a put-max of the size) of a file with chunk size cs. */
  write(oid: ObjectId, cs: number, data: Uint8Array, offset: number): Promise<void> {
    const core = this.core;
    const created = this.newOids;
    return this.add(async (tx) => {
      if (!created.has(oid.toString()) && tx.once(`inode ${oid}`)) await expectInode(core, tx, oid, `write ${oid}`);
      addData(core, tx, oid, cs, data, offset);
      tx.putMax(core.obj(oid), INODE_DKEY, A_SIZE, BigInt(offset + data.length));
    });
  }

  private results: Array<{ resolve: (v: unknown) => void; reject: (e: unknown) => void }> = [];

  private add<T>(s: Stager<T>): Promise<T> {
    this.stagers.push(s as Stager<unknown>);
    const p = new Promise<T>((resolve, reject) => { this.results.push({ resolve: resolve as (v: unknown) => void, reject }); });
    p.catch(() => undefined); // the failure is also thrown by commit(); callers need not await every call
    return p;
  }

  /** Commits everything staged as one transaction; the per-call promises settle with it. */
  async commit(): Promise<void> {
    const stagers = this.stagers;
    const results = this.results;
    this.stagers = [];
    this.results = [];
    this.names.clear();
    this.newDirs.clear();
    this.newOids = new Set();
    if (stagers.length === 0) return;
    try {
      await Promise.all(this.allocs);
      const out = await this.core.retry('batch', async () => {
        const tx = this.core.tx('batch');
        const vals: unknown[] = [];
        for (const s of stagers) vals.push(await s(tx));
        if (!tx.empty) await tx.commit();
        return vals;
      });
      out.forEach((v, i) => results[i]!.resolve(v));
    } catch (e) {
      for (const r of results) r.reject(e);
      throw e;
    }
  }
}
