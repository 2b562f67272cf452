// Metadata batches of the mount (see docs/fuse.md, cache and consistency
// model): creations and attribute changes are queued, and one committer takes
// everything queued and commits it as one DFS batch (one engine transaction),
// so concurrent clients share commits; what arrives meanwhile goes into the
// next batch. A batch that fails is redone one item per transaction, so a bad
// item (a name another client took meanwhile) fails alone.
import type { CreateAtOptions, FileType, SetAttr } from '../dfs/index.js';
import type { ObjectId } from '../object/oid.js';
import type { Mnt, Node } from './nodes.js';

/**
 * A created inode not committed yet: 'held' while the
 * creating handle is open (its data and attributes gather here), 'queued'
 * once it may be committed, 'taken' while its batch commits.
 */
export interface Pending {
  key: string;
  nameKey: string;
  node: Node;
  mnt: Mnt;
  dir: ObjectId;
  name: string;
  type: FileType;
  oid: ObjectId;
  opts: CreateAtOptions & { mode: number; uid: number; gid: number; atimeNs: bigint; mtimeNs: bigint };
  ctimeNs: bigint;
  state: 'held' | 'queued' | 'taken';
  /** A setattr set mtime: data written later does not move it. */
  mtimeSet?: boolean;
  done: Promise<void>;
  settle: (e?: unknown) => void;
}

export type QItem =
  | { kind: 'create'; p: Pending }
  | { kind: 'setattr'; mnt: Mnt; oid: ObjectId; a: SetAttr; key: string; what: string; waiter?: (e?: unknown) => void };

/** Items per batch. */
const BATCH_MAX = 4096;

export class CommitQueue {
  private queue: QItem[] = [];
  private committing: Promise<void> | undefined;

  /** `settle` gets every item once it is committed, or its error. */
  constructor(private readonly settle: (it: QItem, e?: unknown) => void) {}

  /** Something queued or committing. */
  get busy(): boolean { return !!this.committing || this.queue.length > 0; }

  push(item: QItem): void {
    this.queue.push(item);
    this.start();
  }

  /** Waits until everything queued so far (and meanwhile) is committed or failed. */
  async drain(): Promise<void> {
    while (this.committing || this.queue.length > 0) {
      if (!this.committing) this.start();
      await this.committing;
    }
  }

  private start(): void {
    this.committing ??= this.loop().finally(() => { this.committing = undefined; if (this.queue.length > 0) this.start(); });
  }

  /** Commits the queue, everything queued meanwhile going into the next batch. */
  private async loop(): Promise<void> {
    while (this.queue.length > 0) {
      const items = this.queue.splice(0, BATCH_MAX);
      const byMnt = new Map<Mnt, QItem[]>();
      for (const it of items) {
        const m = it.kind === 'create' ? it.p.mnt : it.mnt;
        (byMnt.get(m) ?? byMnt.set(m, []).get(m)!).push(it);
        if (it.kind === 'create') it.p.state = 'taken';
      }
      for (const [mnt, its] of byMnt) await this.commitItems(mnt, its);
    }
  }

  private async commitItems(mnt: Mnt, items: QItem[]): Promise<void> {
    const stage = (b: ReturnType<Mnt['dfs']['batch']>, it: QItem) => it.kind === 'create'
      // (a failure is thrown by commit(), handled below: the staged promise must not reject unhandled)
      ? b.create(it.p.dir, it.p.name, it.p.type, { ...it.p.opts, oid: it.p.oid }).then(() => undefined, () => undefined)
      : b.setattr(it.oid, it.a);
    let failed = false;
    try {
      const b = mnt.dfs.batch();
      for (const it of items) void stage(b, it);
      await b.commit();
    } catch {
      failed = true;
    }
    if (failed) {
      // One by one, so one bad item (a name another client took meanwhile) fails alone.
      for (const it of items) {
        try {
          const b = mnt.dfs.batch();
          void stage(b, it);
          await b.commit();
          this.settle(it);
        } catch (e) {
          this.settle(it, e);
        }
      }
      return;
    }
    for (const it of items) this.settle(it);
  }
}
