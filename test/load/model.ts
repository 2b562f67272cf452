// The expected namespace, rebuilt from the workers' logs, and the views of the
// real one (through the mount, the library and the CLI) it is compared with.
import fs from 'node:fs';
import path from 'node:path';
import type { Dfs } from '../../src/dfs/index.js';
import { sha1 } from './content.js';

export type Node = { type: 'dir' } | { type: 'file'; size: number; h?: string } | { type: 'other' };
export type Tree = Map<string, Node>;
export type LogLine = Record<string, unknown> & { o: string };

export function readLog(file: string): LogLine[] {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).flatMap((l) => {
    try { return [JSON.parse(l) as LogLine]; } catch { return []; } // a line cut by a kill
  });
}

/**
 * Replays each worker's successful operations (their names are disjoint, so
 * the order between workers does not matter). Returns the tree, the paths
 * whose state is unknown, and inconsistencies of the logs themselves.
 */
export function replay(shared: string[], logs: LogLine[][]): { tree: Tree; unknown: string[]; problems: string[] } {
  const tree: Tree = new Map([['/', { type: 'dir' }]]);
  for (const d of shared) tree.set(d, { type: 'dir' });
  const unknown: string[] = [];
  const problems: string[] = [];
  logs.forEach((lines, w) => {
    for (const l of lines) {
      const p = l['p'] as string;
      switch (l.o) {
        case 'mkdir':
          if (tree.has(p)) problems.push(`worker ${w}: mkdir ${p}: exists in the model`);
          tree.set(p, { type: 'dir' });
          break;
        case 'rmdir':
          tree.delete(p);
          break;
        case 'w':
          tree.set(p, { type: 'file', size: l['n'] as number, h: l['h'] as string });
          break;
        case 'rm':
          tree.delete(p);
          break;
        case 'mv': {
          const a = l['a'] as string;
          const b = l['b'] as string;
          const n = tree.get(a);
          if (!n) { problems.push(`worker ${w}: mv ${a}: not in the model`); break; }
          if (n.type === 'dir') {
            for (const [q, m] of [...tree]) {
              if (q === a || q.startsWith(a + '/')) { tree.delete(q); tree.set(b + q.slice(a.length), m); }
            }
          } else {
            tree.delete(a);
            tree.set(b, n);
          }
          break;
        }
        case 'unknown':
          unknown.push(...(l['paths'] as string[]));
          break;
      }
    }
  });
  return { tree, unknown, problems };
}

/** The tree under a local directory (a FUSE mount), with sizes and checksums of files. */
export async function walkLocal(root: string): Promise<Tree> {
  const t: Tree = new Map([['/', { type: 'dir' }]]);
  const walk = async (rel: string) => {
    for (const d of await fs.promises.readdir(path.join(root, rel), { withFileTypes: true })) {
      const p = rel === '/' ? `/${d.name}` : `${rel}/${d.name}`;
      if (d.isDirectory()) { t.set(p, { type: 'dir' }); await walk(p); } else if (d.isFile()) {
        const data = await fs.promises.readFile(path.join(root, p));
        t.set(p, { type: 'file', size: data.length, h: sha1(data) });
      } else t.set(p, { type: 'other' });
    }
  };
  await walk('/');
  return t;
}

/** The tree of a DFS namespace through the library. */
export async function walkDfs(dfs: Dfs): Promise<Tree> {
  const t: Tree = new Map([['/', { type: 'dir' }]]);
  const walk = async (dir: string) => {
    const sub: string[] = [];
    for await (const e of dfs.readdir(dir)) {
      const p = dir === '/' ? `/${e.name}` : `${dir}/${e.name}`;
      if (e.type === 'dir') { t.set(p, { type: 'dir' }); sub.push(p); } else if (e.type === 'file') {
        const data = await dfs.readFile(p);
        t.set(p, { type: 'file', size: data.length, h: sha1(data) });
      } else t.set(p, { type: 'other' });
    }
    for (const d of sub) await walk(d);
  };
  await walk('/');
  return t;
}

/** The tree from `strata fs ls -R --json` output (sizes, no checksums). */
export function parseLsJson(out: string, base: string): Tree {
  const t: Tree = new Map([['/', { type: 'dir' }]]);
  for (const l of out.split('\n').filter(Boolean)) {
    const j = JSON.parse(l) as { path: string; type: string; size: number };
    const p = j.path.startsWith(base) ? j.path.slice(base.length) || '/' : j.path;
    t.set(p, j.type === 'dir' ? { type: 'dir' } : j.type === 'file' ? { type: 'file', size: Number(j.size) } : { type: 'other' });
  }
  return t;
}

/** Differences between the expected and an actual tree (checksums compared when both have one). */
export function diffTrees(want: Tree, got: Tree, unknown: string[]): string[] {
  const skip = (p: string) => unknown.some((u) => p === u || p.startsWith(u + '/'));
  const out: string[] = [];
  for (const [p, w] of want) {
    if (skip(p)) continue;
    const g = got.get(p);
    if (!g) out.push(`missing ${w.type} ${p}`);
    else if (g.type !== w.type) out.push(`${p}: ${g.type}, expected ${w.type}`);
    else if (w.type === 'file' && g.type === 'file') {
      if (g.size !== w.size) out.push(`${p}: ${g.size} bytes, expected ${w.size}`);
      else if (w.h && g.h && w.h !== g.h) out.push(`${p}: content ${g.h.slice(0, 12)}, expected ${w.h.slice(0, 12)}`);
    }
  }
  for (const [p, g] of got) if (!want.has(p) && !skip(p)) out.push(`unexpected ${g.type} ${p}`);
  return out;
}
