// Group commit of creates and attribute changes made by concurrent callers
// (the mover's small files, directories and their final attributes, many in
// flight): while one transaction commits, what arrives gathers into the next
// one, and a group is taken only once the queue stops growing (a few turns
// of the event loop at most), so callers about to add do not each get a
// commit of their own. Groups commit one after the other, in queue order: a
// directory created with a reserved OID is committed before, or with, the
// creates inside it. Each caller still gets its own result; a group that
// fails (one bad item) is redone one item per transaction, so a failure
// belongs to the item that caused it and the others land.
import type { ObjectId } from '../object/oid.js';
import type { CreateAtOptions, SetAttr } from './at.js';
import type { Dfs } from './dfs.js';
import type { Entry, FileType } from './layout.js';

type Item = ({ kind: 'create'; dir: ObjectId; name: string; type: FileType; opts: CreateAtOptions } | { kind: 'setattr'; oid: ObjectId; a: SetAttr }) & {
  bytes: number;
  resolve: (e: Entry | undefined) => void;
  reject: (e: unknown) => void;
};

/** Turns of the event loop a group waits for its queue to stop growing (bounded latency). */
const FILL_TURNS = 4;

export interface CreateGroupOptions {
  /** Creates per transaction at most (default 256). */
  maxItems?: number;
  /** Data bytes per transaction at most (default 8 MiB). */
  maxBytes?: number;
}

export class CreateGroup {
  private queue: Item[] = [];
  private running: Promise<void> | undefined;
  private readonly maxItems: number;
  private readonly maxBytes: number;

  constructor(private readonly dfs: Dfs, opts: CreateGroupOptions = {}) {
    this.maxItems = opts.maxItems ?? 256;
    this.maxBytes = opts.maxBytes ?? 8 << 20;
  }

  /** As Dfs.createAt; resolves when the transaction holding it has committed. */
  create(dir: ObjectId, name: string, type: FileType, opts: CreateAtOptions = {}): Promise<Entry> {
    let bytes = opts.data?.length ?? 0;
    for (const p of opts.pieces ?? []) bytes += p.data.length;
    return new Promise<Entry | undefined>((resolve, reject) => this.push({ kind: 'create', dir, name, type, opts, bytes, resolve, reject })) as Promise<Entry>;
  }

  /** As Dfs.setattr (a directory's final attributes after its contents), in a shared transaction. */
  setattr(oid: ObjectId, a: SetAttr): Promise<void> {
    return new Promise<Entry | undefined>((resolve, reject) => this.push({ kind: 'setattr', oid, a, bytes: 0, resolve, reject })).then(() => undefined);
  }

  private push(it: Item): void {
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

  /** Waits until everything queued so far has committed (or failed). */
  async flush(): Promise<void> {
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

  /** The next group: up to the limits, one create per name. */
  private take(): Item[] {
    const group: Item[] = [];
    const rest: Item[] = [];
    const names = new Set<string>();
    let bytes = 0;
    for (const it of this.queue) {
      const key = it.kind === 'create' ? `${it.dir}/${it.name}` : `setattr ${it.oid}`;
      const fits = group.length < this.maxItems && (group.length === 0 || bytes + it.bytes <= this.maxBytes);
      if (!fits || names.has(key)) { rest.push(it); continue; }
      names.add(key);
      bytes += it.bytes;
      group.push(it);
    }
    this.queue = rest;
    return group;
  }

  private async commit(group: Item[]): Promise<void> {
    if (group.length > 1) {
      try {
        const b = this.dfs.batch();
        const results = group.map((it) => (it.kind === 'create' ? b.create(it.dir, it.name, it.type, it.opts) : b.setattr(it.oid, it.a).then(() => undefined)));
        // A failed commit rejects every item's promise as well; they are redone below, so
        // those rejections are expected here (unobserved, they would end the process).
        for (const r of results) r.catch(() => undefined);
        await b.commit();
        const entries = await Promise.all(results);
        group.forEach((it, i) => it.resolve(entries[i]));
        return;
      } catch {
        // Redo one by one below: each item gets its own outcome.
      }
    }
    for (const it of group) {
      try {
        if (it.kind === 'create') it.resolve(await this.dfs.createAt(it.dir, it.name, it.type, it.opts));
        else { await this.dfs.setattr(it.oid, it.a); it.resolve(undefined); }
      } catch (e) {
        it.reject(e);
      }
    }
  }
}
