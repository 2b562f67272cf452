// Group commit of creates made by concurrent callers (the mover's small files,
// many files in flight): while one transaction commits, the creates that
// arrive gather into the next one. Each caller still gets its own result; a
// group that fails (one bad create) is redone one create per transaction, so
// a failure belongs to the create that caused it and the others land.
import type { ObjectId } from '../object/oid.js';
import type { CreateAtOptions } from './at.js';
import type { Dfs } from './dfs.js';
import type { Entry, FileType } from './layout.js';

interface Item {
  dir: ObjectId;
  name: string;
  type: FileType;
  opts: CreateAtOptions;
  bytes: number;
  resolve: (e: Entry) => void;
  reject: (e: unknown) => void;
}

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
    return new Promise<Entry>((resolve, reject) => {
      this.queue.push({ dir, name, type, opts, bytes, resolve, reject });
      // Callers that are about to call too (same turn of the event loop) join this group.
      this.running ??= new Promise<void>((r) => setImmediate(r)).then(() => this.drain());
    });
  }

  /** Waits until everything queued so far has committed (or failed). */
  async flush(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) await this.commit(this.take());
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
      const key = `${it.dir}/${it.name}`;
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
        const results = group.map((it) => b.create(it.dir, it.name, it.type, it.opts));
        await b.commit();
        const entries = await Promise.all(results);
        group.forEach((it, i) => it.resolve(entries[i]!));
        return;
      } catch {
        // Redo one by one below: each create gets its own outcome.
      }
    }
    for (const it of group) {
      try {
        it.resolve(await this.dfs.createAt(it.dir, it.name, it.type, it.opts));
      } catch (e) {
        it.reject(e);
      }
    }
  }
}
