// A model of a small DFS namespace for the crash suite: random valid
// operations (mkdir, put, mv, rm, rmdir, ln, truncate), each one DFS
// transaction; the state a DFS should show after any prefix of them; and a
// canonical description of a real DFS to compare with.
import { createHash } from 'node:crypto';
import type { Dfs } from '../../src/dfs/index.js';
import { ObjectId } from '../../src/object/index.js';
import type { rng } from '../rng.js';

export type Op =
  | { k: 'mkdir'; p: string }
  | { k: 'put'; p: string; size: number; seed: number }
  | { k: 'mv'; a: string; b: string }
  | { k: 'rm'; p: string }
  | { k: 'rmdir'; p: string }
  | { k: 'ln'; a: string; b: string }
  | { k: 'trunc'; p: string; size: number };

type Node = { t: 'dir' } | { t: 'file'; ino: number };
export interface Model { nodes: Map<string, Node>; data: Map<number, Buffer>; nextIno: number }

export function emptyModel(): Model {
  return { nodes: new Map([['/', { t: 'dir' }]]), data: new Map(), nextIno: 1 };
}

export function content(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (seed * 131 + i * 7 + (i >> 9)) & 255;
  return b;
}

const parent = (p: string) => p.slice(0, p.lastIndexOf('/')) || '/';
const join = (d: string, n: string) => (d === '/' ? `/${n}` : `${d}/${n}`);

function clone(m: Model): Model {
  return { nodes: new Map(m.nodes), data: new Map(m.data), nextIno: m.nextIno };
}

export function applyOp(m0: Model, op: Op): Model {
  const m = clone(m0);
  const n = m.nodes;
  switch (op.k) {
    case 'mkdir': n.set(op.p, { t: 'dir' }); break;
    case 'put': {
      const old = n.get(op.p);
      const ino = m.nextIno++;
      n.set(op.p, { t: 'file', ino });
      m.data.set(ino, content(op.size, op.seed));
      void old;
      break;
    }
    case 'mv': {
      const moved = [...n.entries()].filter(([p]) => p === op.a || p.startsWith(op.a + '/'));
      for (const [p] of moved) n.delete(p);
      for (const [p, v] of moved) n.set(op.b + p.slice(op.a.length), v);
      break;
    }
    case 'rm': case 'rmdir': n.delete(op.p); break;
    case 'ln': n.set(op.b, n.get(op.a)!); break;
    case 'trunc': {
      const ino = (n.get(op.p) as { ino: number }).ino;
      const old = m.data.get(ino)!;
      const b = Buffer.alloc(op.size);
      old.copy(b, 0, 0, Math.min(op.size, old.length));
      m.data.set(ino, b);
      break;
    }
  }
  return m;
}

/** A random operation that is valid in m. */
export function genOp(m: Model, r: ReturnType<typeof rng>): Op {
  const all = [...m.nodes.entries()];
  const dirs = all.filter(([, v]) => v.t === 'dir').map(([p]) => p).filter((p) => p.split('/').length < 4);
  const files = all.filter(([, v]) => v.t === 'file').map(([p]) => p);
  const emptyDirs = all.filter(([p, v]) => v.t === 'dir' && p !== '/' && !all.some(([q]) => q.startsWith(p + '/'))).map(([p]) => p);
  const free = (d: string, pre: string) => {
    for (let i = 0; i < 20; i++) { const p = join(d, `${pre}${r.int(0, 9)}`); if (!m.nodes.has(p)) return p; }
    return undefined;
  };
  for (;;) {
    const k = r.pick(['mkdir', 'put', 'put', 'put', 'mv', 'mv', 'rm', 'rmdir', 'ln', 'trunc'] as const);
    if (k === 'mkdir') { const p = free(r.pick(dirs), 'd'); if (p) return { k, p }; }
    if (k === 'put') {
      const p = r.next() < 0.3 && files.length ? r.pick(files) : free(r.pick(dirs), 'f');
      // Mostly small, some over 16 KiB (extent files), a few spanning chunks.
      const size = r.pick([0, 1, 100, 3000, 20000, 70000, 300000]);
      if (p) return { k, p, size, seed: r.int(0, 1e6) };
    }
    if (k === 'mv' && all.length > 1) {
      const a = r.pick(all.filter(([p]) => p !== '/').map(([p]) => p));
      const isDir = m.nodes.get(a)!.t === 'dir';
      const targets = dirs.filter((d) => d !== a && !d.startsWith(a + '/'));
      if (!targets.length) continue;
      const td = r.pick(targets);
      // A file sometimes replaces another file (of another inode).
      const over = !isDir && r.next() < 0.3 ? files.filter((f) => f !== a && (m.nodes.get(f) as { ino: number }).ino !== (m.nodes.get(a) as { ino: number }).ino && !f.startsWith(a + '/')) : [];
      const b = over.length ? r.pick(over) : free(td, isDir ? 'd' : 'f');
      if (b && b !== a && !b.startsWith(a + '/')) return { k, a, b };
    }
    if (k === 'rm' && files.length) return { k, p: r.pick(files) };
    if (k === 'rmdir' && emptyDirs.length) return { k, p: r.pick(emptyDirs) };
    if (k === 'ln' && files.length) { const b = free(r.pick(dirs), 'f'); if (b) return { k, a: r.pick(files), b }; }
    if (k === 'trunc' && files.length) return { k, p: r.pick(files), size: r.pick([0, 10, 5000, 40000, 400000]) };
  }
}

/** Runs one operation as one DFS transaction. */
export async function runOp(dfs: Dfs, op: Op): Promise<void> {
  const dirOf = async (p: string) => (await dfs.lookupPath(parent(p), { follow: false })).oid as ObjectId;
  const base = (p: string) => p.slice(p.lastIndexOf('/') + 1);
  switch (op.k) {
    case 'mkdir': await dfs.mkdir(op.p); break;
    case 'put': await dfs.createAt(await dirOf(op.p), base(op.p), 'file', { data: content(op.size, op.seed), exists: 'replace' }); break;
    case 'mv': await dfs.rename(op.a, op.b); break;
    case 'rm': await dfs.unlink(op.p); break;
    case 'rmdir': await dfs.rmdir(op.p); break;
    case 'ln': await dfs.link(op.a, op.b); break;
    case 'trunc': await dfs.truncate(op.p, op.size); break;
  }
}

const sha = (b: Buffer) => createHash('sha1').update(b).digest('hex').slice(0, 16);

/** Canonical text of a model: one line per path (type, content hash, first name of the inode). */
export function describeModel(m: Model): string {
  const first = new Map<number, string>();
  const paths = [...m.nodes.keys()].sort();
  for (const p of paths) { const v = m.nodes.get(p)!; if (v.t === 'file' && !first.has(v.ino)) first.set(v.ino, p); }
  return paths.map((p) => {
    const v = m.nodes.get(p)!;
    return v.t === 'dir' ? `${p} dir` : `${p} file ${sha(m.data.get(v.ino)!)} ${first.get(v.ino)}`;
  }).join('\n');
}

/** The same text for a real DFS. */
export async function describeDfs(dfs: Dfs): Promise<string> {
  const nodes: Array<[string, string, string?]> = [['/', 'dir']];
  const walk = async (d: string) => {
    for await (const e of dfs.readdir(d)) {
      const p = join(d, e.name);
      nodes.push([p, e.type, e.oid]);
      if (e.type === 'dir') await walk(p);
    }
  };
  await walk('/');
  nodes.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const first = new Map<string, string>();
  for (const [p, t, oid] of nodes) if (t === 'file' && !first.has(oid!)) first.set(oid!, p);
  const out: string[] = [];
  for (const [p, t, oid] of nodes) out.push(t === 'dir' ? `${p} dir` : `${p} ${t} ${sha(await dfs.readFile(p))} ${first.get(oid!)}`);
  return out.join('\n');
}
