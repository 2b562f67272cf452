// Property test: random operation sequences run on DFS and on a real temporary
// directory of the local filesystem must give the same results (error codes,
// listings, types, sizes, modes, link counts, contents).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { tempEngine, tempDir } from '../helpers.js';
import { makeContainer } from './util.js';
import { mountDfs, type Dfs } from '../../src/dfs/index.js';
import type { Engine } from '../../src/engine/types.js';

process.umask(0);
let engine: Engine;
after(async () => { await engine?.close(); });

type Op =
  | { k: 'mkdir'; p: string }
  | { k: 'write'; p: string; off: number; len: number; byte: number }
  | { k: 'truncate'; p: string; size: number }
  | { k: 'rename'; a: string; b: string }
  | { k: 'unlink'; p: string }
  | { k: 'rmdir'; p: string }
  | { k: 'symlink'; target: string; p: string }
  | { k: 'link'; a: string; b: string }
  | { k: 'chmod'; p: string; mode: number };

const name = fc.constantFrom('a', 'b', 'c');
const pathArb = fc.array(name, { minLength: 1, maxLength: 3 }).map((x) => x.join('/'));
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant('mkdir' as const), p: pathArb }),
  fc.record({ k: fc.constant('write' as const), p: pathArb, off: fc.integer({ min: 0, max: 40 }), len: fc.integer({ min: 0, max: 20 }), byte: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ k: fc.constant('truncate' as const), p: pathArb, size: fc.integer({ min: 0, max: 50 }) }),
  fc.record({ k: fc.constant('rename' as const), a: pathArb, b: pathArb }),
  fc.record({ k: fc.constant('unlink' as const), p: pathArb }),
  fc.record({ k: fc.constant('rmdir' as const), p: pathArb }),
  fc.record({ k: fc.constant('symlink' as const), target: pathArb, p: pathArb }),
  fc.record({ k: fc.constant('link' as const), a: pathArb, b: pathArb }),
  fc.record({ k: fc.constant('chmod' as const), p: pathArb, mode: fc.constantFrom(0o700, 0o755, 0o777, 0o750, 0o711) }),
);

async function outcome(fn: () => unknown): Promise<string> {
  try {
    await fn();
    return 'ok';
  } catch (e) {
    const c = (e as { code?: string }).code;
    if (!c) throw e;
    return c;
  }
}

function applyLocal(root: string, op: Op): void {
  const L = (p: string) => path.join(root, p);
  switch (op.k) {
    case 'mkdir': return fs.mkdirSync(L(op.p), 0o755);
    case 'write': {
      const fd = fs.openSync(L(op.p), fs.constants.O_WRONLY | fs.constants.O_CREAT, 0o644);
      try { fs.writeSync(fd, Buffer.alloc(op.len, op.byte), 0, op.len, op.off); } finally { fs.closeSync(fd); }
      return;
    }
    case 'truncate': return fs.truncateSync(L(op.p), op.size);
    case 'rename': return fs.renameSync(L(op.a), L(op.b));
    case 'unlink': return fs.unlinkSync(L(op.p));
    case 'rmdir': return fs.rmdirSync(L(op.p));
    case 'symlink': return fs.symlinkSync(op.target, L(op.p));
    case 'link': return fs.linkSync(L(op.a), L(op.b));
    case 'chmod': return fs.chmodSync(L(op.p), op.mode);
  }
}

async function applyDfs(dfs: Dfs, op: Op): Promise<void> {
  const D = (p: string) => '/' + p;
  switch (op.k) {
    case 'mkdir': return dfs.mkdir(D(op.p), { mode: 0o755 });
    case 'write': {
      const f = await dfs.open(D(op.p), { create: true, mode: 0o644 });
      await f.write(Buffer.alloc(op.len, op.byte), op.off);
      return;
    }
    case 'truncate': return dfs.truncate(D(op.p), op.size);
    case 'rename': return dfs.rename(D(op.a), D(op.b));
    case 'unlink': return dfs.unlink(D(op.p));
    case 'rmdir': return dfs.rmdir(D(op.p));
    case 'symlink': return dfs.symlink(op.target, D(op.p));
    case 'link': return dfs.link(D(op.a), D(op.b));
    case 'chmod': return dfs.chmod(D(op.p), op.mode);
  }
}

interface Node { type: string; perm: number; nlink?: number; size?: number; content?: string; target?: string }

function snapLocal(root: string, rel = '', out: Record<string, Node> = {}): Record<string, Node> {
  for (const n of fs.readdirSync(path.join(root, rel)).sort()) {
    const r = rel ? `${rel}/${n}` : n;
    const p = path.join(root, r);
    const st = fs.lstatSync(p);
    const type = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'file';
    const node: Node = { type, perm: type === 'symlink' ? 0o777 : st.mode & 0o7777 };
    if (type !== 'dir') { node.nlink = st.nlink; node.size = st.size; }
    if (type === 'file') node.content = fs.readFileSync(p).toString('hex');
    if (type === 'symlink') node.target = fs.readlinkSync(p);
    out[r] = node;
    if (type === 'dir') snapLocal(root, r, out);
  }
  return out;
}

async function snapDfs(dfs: Dfs, rel = '', out: Record<string, Node> = {}): Promise<Record<string, Node>> {
  const names: string[] = [];
  for await (const e of dfs.readdir('/' + rel)) names.push(e.name);
  for (const n of names) {
    const r = rel ? `${rel}/${n}` : n;
    const st = await dfs.lstat('/' + r);
    const node: Node = { type: st.type, perm: st.perm };
    if (st.type !== 'dir') { node.nlink = st.nlink; node.size = st.size; }
    if (st.type === 'file') node.content = (await dfs.readFile('/' + r)).toString('hex');
    if (st.type === 'symlink') node.target = await dfs.readlink('/' + r);
    out[r] = node;
    if (st.type === 'dir') await snapDfs(dfs, r, out);
  }
  return out;
}

test('DFS behaves like the local filesystem on random operation sequences', async () => {
  engine = (await tempEngine()).engine;
  const base = tempDir('strata-prop-');
  let run = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 30 }), async (ops) => {
      const root = path.join(base, `r${run++}`);
      fs.mkdirSync(root);
      const dfs = await mountDfs(makeContainer(engine, { chunkSize: 8 }));
      for (const [i, op] of ops.entries()) {
        const l = await outcome(() => applyLocal(root, op));
        const d = await outcome(() => applyDfs(dfs, op));
        assert.equal(d, l, `op #${i} ${JSON.stringify(op)}: dfs ${d}, local ${l}`);
      }
      assert.deepEqual(await snapDfs(dfs), snapLocal(root));
      fs.rmSync(root, { recursive: true, force: true });
    }),
    { numRuns: Number(process.env['DFS_PROP_RUNS'] ?? 150), verbose: 1 },
  );
});
