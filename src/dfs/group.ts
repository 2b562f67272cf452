// The DFS write session's group commit: creates and attribute changes made
// by concurrent callers (the mover's small files, directories and their
// final attributes; the mount's creations and setattrs from many clients)
// share transactions. While one transaction commits, what arrives gathers
// into the next one, and a group is taken only once the queue stops growing
// (a few turns of the event loop at most), so callers about to add do not
// each get a commit of their own. Groups are taken as prefixes of the queue
// and commit one after the other: queue order is commit order, so a
// directory created with a reserved OID is committed before, or with, the
// creates inside it, and a setattr never overtakes the create of its inode.
// Each item still gets its own result; a group that fails (one bad item) is
// redone one item per transaction, so a failure belongs to the item that
// caused it and the others land.
//
// An item may be held (the mount's new file while its creating handle is
// open: its data and attributes still gather in `opts`) and queued later;
// `opts` is read when the item is taken into a group, and not before.
// Commits are as durable as the engine's durability makes them ('visible'
// under a mount, whose fsync syncs the engine).
import type { ObjectId } from '../object/oid.js';
import type { CreateAtOptions, SetAttr } from './at.js';
import type { Dfs } from './dfs.js';
import type { Entry, FileType } from './layout.js';

/**
 * 'held': kept out of the queue until queued; 'queued': waiting for a
 * group; 'taken': in a group that commits (its fields are read, changes no
 * longer reach the commit).
 */
export type GroupItemState = 'held' | 'queued' | 'taken';

interface ItemBase {
  state?: GroupItemState;
  /** Called once with the item's outcome: undefined when committed (with the entry of a create), else its error. */
  settled(e: unknown, ent?: Entry): void;
}
export interface GroupCreate extends ItemBase { kind: 'create'; dir: ObjectId; name: string; type: FileType; opts: CreateAtOptions }
export interface GroupSetattr extends ItemBase { kind: 'setattr'; oid: ObjectId; a: SetAttr }
export type GroupItem = GroupCreate | GroupSetattr;

/** Turns of the event loop a group waits for its queue to stop growing (bounded latency). */
const FILL_TURNS = 4;

export interface CreateGroupOptions {
  /** Items per transaction at most (default 256). */
  maxItems?: number;
  /** Data bytes per transaction at most (default 8 MiB; one larger item goes alone). */
  maxBytes?: number;
}

function dataBytes(it: GroupItem): number {
  if (it.kind !== 'create') return 0;
  let bytes = it.opts.data?.length ?? 0;
  for (const p of it.opts.pieces ?? []) bytes += p.data.length;
  return bytes;
}

export class CreateGroup {
  private queue: GroupItem[] = [];
  private readonly held = new Set<GroupItem>();
  private running: Promise<void> | undefined;
  private readonly maxItems: number;
  private readonly maxBytes: number;

  constructor(private readonly dfs: Dfs, opts: CreateGroupOptions = {}) {
    this.maxItems = opts.maxItems ?? 256;
    this.maxBytes = opts.maxBytes ?? 8 << 20;
  }

  /** Something queued or committing (held items do not count). */
  get busy(): boolean { return !!this.running || this.queue.length > 0; }

  /** As Dfs.createAt; resolves when the transaction holding it has committed. */
  create(dir: ObjectId, name: string, type: FileType, opts: CreateAtOptions = {}): Promise<Entry> {
    return new Promise<Entry>((resolve, reject) => this.add({ kind: 'create', dir, name, type, opts, settled: (e, ent) => (e === undefined ? resolve(ent!) : reject(e)) }));
  }

  /** As Dfs.setattr (a directory's final attributes after its contents), in a shared transaction. */
  setattr(oid: ObjectId, a: SetAttr): Promise<void> {
    return new Promise<void>((resolve, reject) => this.add({ kind: 'setattr', oid, a, settled: (e) => (e === undefined ? resolve() : reject(e)) }));
  }

  /** Keeps an item out of the queue until add() (or flush({ held: true })) queues it. */
  hold(it: GroupItem): void {
    if (it.state !== undefined) return;
    it.state = 'held';
    this.held.add(it);
  }

  /** Queues an item (a held one too); an item queued or taken already stays as it is. */
  add(it: GroupItem): void {
    if (it.state === 'queued' || it.state === 'taken') return;
    this.held.delete(it);
    it.state = 'queued';
    this.queue.push(it);
    this.running ??= this.fill().then(() => this.drain());
  }

  /** Waits while callers keep adding (each turn of the event loop), at most FILL_TURNS turns or a full group. */
  private async fill(): Promise<void> {
    for (let turn = 0, seen = -1; turn < FILL_TURNS && this.queue.length !== seen && this.queue.length < this.maxItems; turn++) {
      seen = this.queue.length;
      await new Promise<void>((r) => setImmediate(r));
    }
  }

  /** Waits until everything queued so far (with `held`, held items too) has committed or failed. */
  async flush(opts: { held?: boolean } = {}): Promise<void> {
    if (opts.held) for (const it of [...this.held]) this.add(it);
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        await this.commit(this.take());
        if (this.queue.length > 0) await this.fill();
      }
    } finally {
      this.running = undefined;
    }
  }

  /**
   * The next group: the longest prefix of the queue within the limits and
   * with one item per name (create) or inode (setattr); what follows waits
   * for the next group, so queue order is kept.
   */
  private take(): GroupItem[] {
    const names = new Set<string>();
    let bytes = 0;
    let n = 0;
    for (; n < this.queue.length && n < this.maxItems; n++) {
      const it = this.queue[n]!;
      const key = it.kind === 'create' ? `${it.dir}/${it.name}` : `setattr ${it.oid}`;
      const b = dataBytes(it);
      if (names.has(key) || (n > 0 && bytes + b > this.maxBytes)) break;
      names.add(key);
      bytes += b;
    }
    const group = this.queue.splice(0, n);
    for (const it of group) it.state = 'taken';
    return group;
  }

  private async commit(group: GroupItem[]): Promise<void> {
    if (group.length > 1) {
      try {
        const b = this.dfs.batch();
        const results = group.map((it) => (it.kind === 'create' ? b.create(it.dir, it.name, it.type, it.opts) : b.setattr(it.oid, it.a).then(() => undefined)));
        // A failed commit rejects every item's promise as well; they are redone below, so
        // those rejections are expected here (unobserved, they would end the process).
        for (const r of results) r.catch(() => undefined);
        await b.commit();
        const entries = await Promise.all(results);
        group.forEach((it, i) => it.settled(undefined, entries[i]));
        return;
      } catch {
        // Redo one by one below: each item gets its own outcome.
      }
    }
    for (const it of group) {
      let ent: Entry | undefined;
      try {
        if (it.kind === 'create') ent = await this.dfs.createAt(it.dir, it.name, it.type, it.opts);
        else await this.dfs.setattr(it.oid, it.a);
      } catch (e) {
        it.settled(e);
        continue;
      }
      it.settled(undefined, ent);
    }
  }
}
