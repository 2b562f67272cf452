// The three ways a load worker reaches the container: the library (DFS API in
// the worker's own process), the CLI (one `strata fs ...` child per call) and
// plain file I/O through the FUSE mount. Paths are container paths ("/s0/x").
// Every failure is thrown as an Error with a POSIX-style `code`.
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { openEngine } from '../../src/engine/open.js';
import type { Engine } from '../../src/engine/types.js';
import { openContainer } from '../../src/container/index.js';
import { mountDfs, type Dfs } from '../../src/dfs/index.js';
import { isStrataError } from '../../src/errors.js';

export type Kind = 'lib' | 'cli' | 'fuse';
export interface Ent { name: string; type: 'file' | 'dir' | 'other' }
export interface StatLite { type: 'file' | 'dir' | 'other'; size: number }

export interface Backend {
  readonly kind: Kind;
  /** Creates a new file. */
  create(p: string, data: Buffer): Promise<void>;
  /** Largest create that other processes can never see half written (-1: none). */
  readonly atomicCreateMax: number;
  /** Replaces a file's content in one step (library only: createAt with exists 'replace'). */
  replace?(p: string, data: Buffer): Promise<void>;
  /** Truncates and rewrites an existing file in place (not atomic for readers). */
  overwrite(p: string, data: Buffer): Promise<void>;
  pwrite?(p: string, data: Buffer, offset: number): Promise<void>;
  truncate?(p: string, size: number): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(p: string): Promise<void>;
  mkdir(p: string): Promise<void>;
  rmdir(p: string): Promise<void>;
  read(p: string): Promise<Buffer>;
  list(dir: string): Promise<Ent[]>;
  /** undefined when the path does not exist. */
  stat(p: string): Promise<StatLite | undefined>;
  close(): Promise<void>;
}

export class CodedError extends Error {
  constructor(readonly code: string, message: string) { super(message); }
}

export function codeOf(e: unknown): string {
  // libuv has no name for ESTALE (116): Node reports "Unknown system error -116".
  if ((e as { errno?: unknown })?.errno === -116) return 'ESTALE';
  const c = (e as { code?: unknown })?.code;
  return typeof c === 'string' ? c : 'EUNKNOWN';
}

const parentOf = (p: string) => path.posix.dirname(p);
const baseOf = (p: string) => path.posix.basename(p);

export class LibBackend implements Backend {
  readonly kind = 'lib' as const;
  readonly atomicCreateMax = Infinity;
  private constructor(private readonly engine: Engine, private readonly dfs: Dfs) {}
  static async open(pool: string, cont: string): Promise<LibBackend> {
    const engine = await openEngine();
    const c = await openContainer(engine, pool, cont, { write: true });
    return new LibBackend(engine, await mountDfs(c));
  }
  async create(p: string, data: Buffer): Promise<void> {
    const dir = await this.dfs.lookupPath(parentOf(p));
    await this.dfs.createAt(dir.oid, baseOf(p), 'file', { data });
  }
  async replace(p: string, data: Buffer): Promise<void> {
    const dir = await this.dfs.lookupPath(parentOf(p));
    await this.dfs.createAt(dir.oid, baseOf(p), 'file', { data, exists: 'replace' });
  }
  overwrite(p: string, data: Buffer): Promise<void> { return this.dfs.writeFile(p, data); }
  async pwrite(p: string, data: Buffer, offset: number): Promise<void> {
    const f = await this.dfs.open(p, { write: true });
    try { await f.write(data, offset); } finally { await f.close(); }
  }
  truncate(p: string, size: number): Promise<void> { return this.dfs.truncate(p, size); }
  rename(from: string, to: string): Promise<void> { return this.dfs.rename(from, to); }
  unlink(p: string): Promise<void> { return this.dfs.unlink(p); }
  mkdir(p: string): Promise<void> { return this.dfs.mkdir(p); }
  rmdir(p: string): Promise<void> { return this.dfs.rmdir(p); }
  read(p: string): Promise<Buffer> { return this.dfs.readFile(p); }
  async list(dir: string): Promise<Ent[]> {
    const out: Ent[] = [];
    for await (const e of this.dfs.readdir(dir)) out.push({ name: e.name, type: e.type === 'file' || e.type === 'dir' ? e.type : 'other' });
    return out;
  }
  async stat(p: string): Promise<StatLite | undefined> {
    try {
      const st = await this.dfs.lstat(p);
      return { type: st.type === 'file' || st.type === 'dir' ? st.type : 'other', size: st.size };
    } catch (e) {
      if (isStrataError(e, 'ENOENT')) return undefined;
      throw e;
    }
  }
  close(): Promise<void> { return this.engine.close(); }
}

export class FuseBackend implements Backend {
  readonly kind = 'fuse' as const;
  /** docs/fuse.md: a new file's create and data (up to 1 MiB) are committed as one transaction at close. */
  readonly atomicCreateMax = (1 << 20) - 1;
  constructor(private readonly root: string) {}
  private at(p: string): string { return this.root + p; }
  create(p: string, data: Buffer): Promise<void> { return fs.promises.writeFile(this.at(p), data, { flag: 'wx' }); }
  overwrite(p: string, data: Buffer): Promise<void> { return fs.promises.writeFile(this.at(p), data, { flag: 'w' }); }
  async pwrite(p: string, data: Buffer, offset: number): Promise<void> {
    const fh = await fs.promises.open(this.at(p), 'r+');
    try {
      const { bytesWritten } = await fh.write(data, 0, data.length, offset);
      if (bytesWritten !== data.length) throw new CodedError('EIO', `short write ${bytesWritten}/${data.length}`);
    } finally { await fh.close(); }
  }
  truncate(p: string, size: number): Promise<void> { return fs.promises.truncate(this.at(p), size); }
  rename(from: string, to: string): Promise<void> { return fs.promises.rename(this.at(from), this.at(to)); }
  unlink(p: string): Promise<void> { return fs.promises.unlink(this.at(p)); }
  mkdir(p: string): Promise<void> { return fs.promises.mkdir(this.at(p)); }
  rmdir(p: string): Promise<void> { return fs.promises.rmdir(this.at(p)); }
  read(p: string): Promise<Buffer> { return fs.promises.readFile(this.at(p)); }
  async list(dir: string): Promise<Ent[]> {
    return (await fs.promises.readdir(this.at(dir), { withFileTypes: true }))
      .map((d) => ({ name: d.name, type: d.isFile() ? 'file' : d.isDirectory() ? 'dir' : 'other' }));
  }
  async stat(p: string): Promise<StatLite | undefined> {
    try {
      const st = await fs.promises.lstat(this.at(p));
      return { type: st.isFile() ? 'file' : st.isDirectory() ? 'dir' : 'other', size: st.size };
    } catch (e) {
      if (codeOf(e) === 'ENOENT') return undefined;
      throw e;
    }
  }
  async close(): Promise<void> { /* nothing held */ }
}

/** Maps a `strata: ...` line to the errno it stands for. */
function cliCode(stderr: string): string {
  if (/removed or replaced while being read/i.test(stderr)) return 'ESTALE';
  if (/no such file|not found|does not exist/i.test(stderr)) return 'ENOENT';
  if (/already exists|\bexists\b/i.test(stderr)) return 'EEXIST';
  if (/not empty/i.test(stderr)) return 'ENOTEMPTY';
  if (/not a directory/i.test(stderr)) return 'ENOTDIR';
  if (/is a directory/i.test(stderr)) return 'EISDIR';
  if (/busy/i.test(stderr)) return 'EBUSY';
  return 'ECLI';
}

export class CliBackend implements Backend {
  readonly kind = 'cli' as const;
  readonly atomicCreateMax = -1; // fs put creates, then writes chunk by chunk
  /** Commands run (each one a process). */
  commands = 0;
  private n = 0;
  constructor(private readonly cli: string, private readonly base: string, private readonly scratch: string, private readonly timeoutMs: number) {}
  private uri(p: string): string { return this.base + p; }

  /** Runs `strata args`; stdout as bytes; throws a coded error on a non-zero exit or a timeout. */
  run(args: string[]): Promise<Buffer> {
    this.commands++;
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [this.cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let timedOut = false;
      const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, this.timeoutMs);
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => err.push(d));
      child.on('error', (e) => { clearTimeout(timer); reject(e); });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        const stderr = Buffer.concat(err).toString().trim();
        if (timedOut) reject(new CodedError('ETIMEDOUT', `strata ${args.join(' ')}: no exit after ${this.timeoutMs} ms (killed)`));
        else if (code !== 0) reject(new CodedError(signal ? 'ESIGNAL' : cliCode(stderr), `strata ${args.join(' ')}: exit ${code ?? signal}: ${stderr}`));
        else resolve(Buffer.concat(out));
      });
    });
  }
  private async put(p: string, data: Buffer): Promise<void> {
    const local = path.join(this.scratch, `put${this.n++ % 4}`);
    fs.writeFileSync(local, data);
    await this.run(['fs', 'put', local, this.uri(p)]);
  }
  /** Names given to create are always new, so put (which would overwrite) creates. */
  create(p: string, data: Buffer): Promise<void> { return this.put(p, data); }
  overwrite(p: string, data: Buffer): Promise<void> { return this.put(p, data); }
  async rename(from: string, to: string): Promise<void> { await this.run(['fs', 'mv', this.uri(from), this.uri(to)]); }
  async unlink(p: string): Promise<void> { await this.run(['fs', 'rm', this.uri(p)]); }
  async mkdir(p: string): Promise<void> { await this.run(['fs', 'mkdir', this.uri(p)]); }
  async rmdir(p: string): Promise<void> { await this.run(['fs', 'rm', this.uri(p)]); }
  async read(p: string): Promise<Buffer> {
    // cat streams to stdout; get writes a local file (extents, then the size): both paths are used.
    if (this.n++ % 2 === 0) return this.run(['fs', 'cat', this.uri(p)]);
    const local = path.join(this.scratch, 'got');
    fs.rmSync(local, { force: true });
    await this.run(['fs', 'get', this.uri(p), local]);
    return fs.readFileSync(local);
  }
  async list(dir: string): Promise<Ent[]> {
    const out = (await this.run(['fs', 'ls', '--json-lines', this.uri(dir)])).toString();
    return out.split('\n').filter(Boolean).map((l) => {
      const j = JSON.parse(l) as { name: string; type: string };
      return { name: j.name, type: j.type === 'file' || j.type === 'dir' ? j.type : 'other' };
    });
  }
  async stat(p: string): Promise<StatLite | undefined> {
    try {
      const j = JSON.parse((await this.run(['fs', 'stat', '--json', this.uri(p)])).toString()) as { type: string; size: number };
      return { type: j.type === 'file' || j.type === 'dir' ? j.type : 'other', size: Number(j.size) };
    } catch (e) {
      if (codeOf(e) === 'ENOENT') return undefined;
      throw e;
    }
  }
  async close(): Promise<void> { /* nothing held */ }
}
