// The POSIX backend of the mover's Tree: paths are Buffers (names need not be
// UTF-8), symlinks are never followed below the root. Its reading side
// (posix-read.ts: list, stat, xattrs, file reads) and writing side
// (posix-write.ts: create, link, mknod, metadata) share the root and the
// directories held open (posix-end.ts).
import { PosixEnd } from './posix-end.js';
import { PosixReader } from './posix-read.js';
import { PosixWriter } from './posix-write.js';
import type { FileReader, FileWriter, Listed, MStat, MetaOptions, Tree } from './tree.js';

export class PosixTree implements Tree {
  readonly kind = 'posix' as const;
  private readonly end: PosixEnd;
  private readonly reader: PosixReader;
  private readonly writer: PosixWriter;

  /**
   * rootMayBeSymlink: the root is the path the user named (a symlink to a
   * directory there is followed, as cp -a does); a root the mover computed
   * (DST/<name of SRC>) that is a symlink is refused: never a way out of DST.
   */
  constructor(root: string | Buffer, opts: { rootMayBeSymlink?: boolean } = {}) {
    this.end = new PosixEnd(root, opts);
    this.reader = new PosixReader(this.end);
    this.writer = new PosixWriter(this.end);
  }

  get root(): Buffer { return this.end.root; }
  abs(rel: string): Buffer { return this.end.abs(rel); }
  display(rel: string): string { return this.end.display(rel); }

  lstat(rel: string): Promise<MStat | undefined> { return this.reader.lstat(rel); }
  list(rel: string, st?: MStat): AsyncGenerator<Listed[]> { return this.reader.list(rel, st); }
  readlink(rel: string): Promise<string> { return this.reader.readlink(rel); }
  xattrs(rel: string, st: MStat): Promise<Array<[string, Buffer]>> { return this.reader.xattrs(rel, st); }
  openRead(rel: string, st: MStat): Promise<FileReader> { return this.reader.openRead(rel, st); }

  ensureDir(rel: string): Promise<'created' | 'existed'> { return this.writer.ensureDir(rel); }
  createFile(rel: string, st: MStat, xattrs: Array<[string, Buffer]>, meta: MetaOptions): Promise<FileWriter> { return this.writer.createFile(rel, st, xattrs, meta); }
  symlink(rel: string, target: string, st: MStat, xattrs: Array<[string, Buffer]>, meta: MetaOptions): Promise<void> { return this.writer.symlink(rel, target, st, xattrs, meta); }
  special(rel: string, st: MStat, xattrs: Array<[string, Buffer]>, meta: MetaOptions): Promise<void> { return this.writer.special(rel, st, xattrs, meta); }
  link(existingRel: string, rel: string): Promise<void> { return this.writer.link(existingRel, rel); }
  setMeta(rel: string, st: MStat, xattrs: Array<[string, Buffer]> | undefined, meta: MetaOptions): Promise<void> { return this.writer.setMeta(rel, st, xattrs, meta); }
  remove(rel: string): Promise<void> { return this.writer.remove(rel); }
  cleanTemps(rel: string): Promise<number> { return this.writer.cleanTemps(rel); }

  /**
   * n threads read small files and xattrs while the calling thread commits
   * (a copy with -j N uses N-1); close() ends them.
   */
  useReadThreads(n: number): void { this.reader.useThreads(n); }

  async close(): Promise<void> {
    await this.reader.close();
    this.end.dirs.closeAll();
  }
}
