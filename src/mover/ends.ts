// Opening the two ends of a move from locations (POSIX paths, UNS paths,
// daos:// URIs): which tree, which snapshot, and — for copy — where the copy
// goes (cp -a semantics), with the checks that keep a copy from eating itself.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { StrataError, fromSystemError, isStrataError } from '../errors.js';
import type { Engine } from '../engine/types.js';
import { openEngine } from '../engine/open.js';
import { normalizePath } from '../dfs/path.js';
import { formatLocation, resolveLocation, type Location } from '../uns/location.js';
import type { DfsTree } from './dfs-tree.js';
import { PosixTree } from './posix.js';
import type { MStat, Tree } from './tree.js';
import type { JournalHeader } from './journal.js';

export type EngineGetter = () => Promise<Engine>;

/** Lazily opened engine shared by both ends (POSIX -> POSIX never opens one). */
export function engineGetter(url?: string): { get: EngineGetter; close: () => Promise<void> } {
  let p: Promise<Engine> | undefined;
  return {
    get: () => (p ??= openEngine(url)),
    close: async () => { if (p) await (await p).close(); },
  };
}

export interface SourceEnd {
  tree: Tree;
  st: MStat;
  loc: Location;
  /** Container sources: the snapshot read, and whether this run took it. */
  epoch?: number;
  snapOwned?: boolean;
  /** Destroys a snapshot this run took. */
  release(): Promise<void>;
  /**
   * Hands a snapshot this run took over to a journal: drops the run record
   * that would let a later command remove it once this process is gone.
   */
  disown(): Promise<void>;
  /** Destroys the snapshot being read (a resumed copy's snapshot, taken by the first run). */
  destroySnapshot(): Promise<void>;
}

/**
 * The container layer, DFS and the DFS tree, loaded when an end is a
 * container: a move between POSIX directories never loads them (about a
 * third of the modules a sync would otherwise load before its first stat).
 */
async function containerSide() {
  const [container, dfs, at, tree] = await Promise.all([import('../container/index.js'), import('../dfs/dfs.js'), import('../dfs/at.js'), import('./dfs-tree.js')]);
  return { ...container, mountDfs: dfs.mountDfs, fileTypeName: at.fileTypeName, DfsTree: tree.DfsTree };
}

function containerUri(l: Extract<Location, { kind: 'container' }>): string {
  return `daos://${l.pool}/${l.cont}`;
}

/** Opens the source; container sources are read at a snapshot (given, resumed, or taken now). */
export async function openSource(getEngine: EngineGetter, input: string, o: { snap?: string; epoch?: number; live?: boolean; warn?: (m: string) => void } = {}): Promise<SourceEnd> {
  const loc = await resolveLocation(input);
  if (loc.kind === 'posix') {
    // Ignoring it would copy the live tree while the user asked for a fixed view.
    if (o.snap !== undefined) throw new StrataError('EINVAL', `${input}: --snap names a snapshot of a container; this source is a POSIX path`);
    const tree = new PosixTree(loc.path);
    const st = await tree.lstat('');
    if (!st) throw new StrataError('ENOENT', `${input}: no such file or directory`);
    return { tree, st, loc, release: async () => undefined, disown: async () => undefined, destroySnapshot: async () => undefined };
  }
  const rootPath = normalizePath(loc.path); // a path above the container root is refused before any snapshot is taken
  const { cleanupStale, destroySnap, mountDfs, openContainer, resolveSnapshot, runSnapshot, DfsTree } = await containerSide();
  const engine = await getEngine();
  const c = await openContainer(engine, loc.pool, loc.cont);
  let epoch: number | undefined;
  let owned = false;
  // The catalog record naming this process as the owner of the snapshot it takes.
  let runKey: string | undefined;
  if (o.epoch !== undefined) {
    if (!(await engine.listSnapshots(c.uuid)).some((s) => s.epoch === o.epoch)) {
      throw new StrataError('ENOENT', `container ${c.label}: the snapshot at epoch ${o.epoch} that the interrupted copy was reading is gone; start a new copy without --resume`);
    }
    epoch = o.epoch;
  } else if (o.snap !== undefined) {
    epoch = await resolveSnapshot(c, /^\d+$/.test(o.snap) && !(await engine.listSnapshots(c.uuid)).some((s) => s.name === o.snap) ? { epc: o.snap } : { snap: o.snap });
  } else if (!o.live) {
    try {
      c.require('w', 'create snapshot');
      ({ epoch, key: runKey } = await runSnapshot(engine, c.uuid));
      owned = true;
      // Run snapshots of killed moves are removed here, by the next one.
      await cleanupStale(engine).catch(() => undefined);
    } catch (e) {
      if (!isStrataError(e, 'EACCES')) throw e;
      o.warn?.(`cannot take a snapshot of ${c.label} (no write permission): copying the live container`);
    }
  }
  const forget = async () => { if (runKey) await engine.commit({ ops: [{ op: 'cat-del', key: runKey }] }); runKey = undefined; };
  let tree: DfsTree;
  let st: MStat | undefined;
  try {
    const dfs = await mountDfs(c, epoch !== undefined ? { epoch } : { readOnly: true });
    tree = new DfsTree(dfs, rootPath, containerUri(loc));
    st = await tree.lstat('');
    if (!st) throw new StrataError('ENOENT', `${input}: no such file or directory`);
  } catch (e) {
    // The snapshot taken for this run goes with the failed open.
    if (owned) await destroySnap(engine, loc.pool, loc.cont, { epc: epoch }).then(forget).catch(() => undefined);
    throw e;
  }
  return {
    tree, st, loc, epoch, snapOwned: owned,
    release: async () => { if (owned) { await destroySnap(engine, loc.pool, loc.cont, { epc: epoch }); await forget(); } },
    disown: forget,
    destroySnapshot: async () => { if (epoch !== undefined) { await destroySnap(engine, loc.pool, loc.cont, { epc: epoch }); await forget(); } },
  };
}

export interface DestEnd {
  tree: Tree;
  /** What is at the destination root now (undefined: it will be created). */
  st: MStat | undefined;
  root: JournalHeader['dstRoot'];
  createdContainer: boolean;
}

async function posixStatFollow(p: string): Promise<fs.Stats | undefined> {
  try {
    return await fs.promises.stat(p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw fromSystemError(e, `stat ${p}`);
  }
}

/** The name SRC has in a destination directory (none for a container root). */
function srcName(src: SourceEnd): string | undefined {
  if (src.loc.kind === 'container') return src.loc.path === '/' ? undefined : path.posix.basename(normalizePath(src.loc.path));
  return path.basename(src.loc.path) || undefined;
}

/**
 * Resolves the destination. copy: cp -a semantics (an existing directory
 * receives SRC as DST/<name>; else DST becomes the copy; a container that does
 * not exist is created and becomes the copy). sync/into=false: DST itself.
 */
export async function openDest(getEngine: EngineGetter, input: string, src: SourceEnd, o: {
  into: boolean; resumeRoot?: JournalHeader['dstRoot']; create?: boolean;
  /** Called with the plan before a destination container is created (copy writes its journal there). */
  beforeCreate?: (root: JournalHeader['dstRoot']) => void;
  /** Called when creating that container was refused (nothing was made: the plan can go). */
  createRefused?: () => void;
}): Promise<DestEnd> {
  const loc = await resolveLocation(input);
  const name = srcName(src);
  if (o.resumeRoot) {
    await checkResumeRoot(getEngine, o.resumeRoot, loc, name, input);
    return openRoot(getEngine, o.resumeRoot, input, loc.kind === 'posix' && o.resumeRoot.kind === 'posix' && o.resumeRoot.path === loc.path);
  }
  if (loc.kind === 'posix') {
    const st = await posixStatFollow(loc.path);
    let root = loc.path;
    if (st?.isDirectory()) {
      if (o.into && name !== undefined) root = path.join(loc.path, name);
    } else if (st) {
      if (src.st.type === 'dir') throw new StrataError('ENOTDIR', `${input}: exists and is not a directory (cannot copy the directory ${formatLocation(src.loc)} over it)`);
    } else {
      const parent = await posixStatFollow(path.dirname(loc.path));
      if (!parent?.isDirectory()) throw new StrataError('ENOENT', `${input}: its parent directory does not exist`);
    }
    checkNotInside(src, { kind: 'posix', path: root });
    return openRoot(getEngine, { kind: 'posix', path: root }, input, root === loc.path);
  }
  const { checkLabel, createContainer, fileTypeName, mountDfs, openContainer, resolvePool } = await containerSide();
  const engine = await getEngine();
  let c;
  try {
    c = await openContainer(engine, loc.pool, loc.cont, { write: true });
  } catch (e) {
    if (!isStrataError(e, 'ENOENT') || o.create === false) throw e;
  }
  let rootPath = normalizePath(loc.path);
  if (!c) {
    // A new container becomes the copy. Its uuid is chosen (and recorded by
    // beforeCreate) before it exists: a killed run resumes into the same one.
    if (rootPath !== '/' && path.posix.dirname(rootPath) !== '/') {
      throw new StrataError('ENOENT', `${input}: its parent directory does not exist in the new container`);
    }
    const pool = await resolvePool(engine, loc.pool);
    checkLabel(loc.cont, 'container');
    // Its root is a directory: only a directory can become it.
    if (rootPath === '/' && src.st.type !== 'dir') {
      const what = src.st.type === 'other' ? 'not a directory' : `a ${fileTypeName(src.st.type)}`;
      throw new StrataError('ENOTDIR', `${formatLocation(src.loc)}: is ${what}, which cannot become the new container ${input} (a container's root is a directory): copy it to a path in the container (${input.replace(/\/+$/, '')}/${name ?? 'NAME'})`);
    }
    const root = { kind: 'container' as const, pool: pool.uuid, cont: crypto.randomUUID(), path: rootPath, createLabel: loc.cont };
    checkNotInside(src, root);
    o.beforeCreate?.(root);
    try {
      await createContainer(engine, root.pool, root.createLabel, { type: 'POSIX', uuid: root.cont });
    } catch (e) {
      o.createRefused?.();
      throw e;
    }
    return openRoot(getEngine, root, input);
  }
  {
    const dfs = await mountDfs(c);
    const st = await dfs.stat(rootPath).catch((e) => { if (isStrataError(e, 'ENOENT')) return undefined; throw e; });
    if (st?.type === 'dir') {
      if (o.into && name !== undefined) rootPath = rootPath === '/' ? `/${name}` : `${rootPath}/${name}`;
    } else if (st) {
      if (src.st.type === 'dir') throw new StrataError('ENOTDIR', `${input}: exists and is not a directory`);
    } else {
      const parent = await dfs.stat(path.posix.dirname(rootPath)).catch(() => undefined);
      if (parent?.type !== 'dir') throw new StrataError('ENOENT', `${input}: its parent directory does not exist`);
    }
  }
  const root = { kind: 'container' as const, pool: c.poolUuid, cont: c.uuid, path: rootPath };
  checkNotInside(src, root);
  return openRoot(getEngine, root, input);
}

/** Opens a planned destination root; a container the plan creates is created now if it does not exist yet. */
async function openRoot(getEngine: EngineGetter, root: JournalHeader['dstRoot'], input: string, userNamed = false): Promise<DestEnd> {
  if (root.kind === 'posix') {
    const tree = new PosixTree(root.path, { rootMayBeSymlink: userNamed });
    return { tree, st: await tree.lstat(''), root, createdContainer: false };
  }
  const { createContainer, mountDfs, openContainer, DfsTree } = await containerSide();
  const engine = await getEngine();
  let created = false;
  if (root.createLabel !== undefined && (await containerUuid(engine, root.pool, root.cont)) === undefined) {
    await createContainer(engine, root.pool, root.createLabel, { type: 'POSIX', uuid: root.cont });
    created = true;
  }
  const c = await openContainer(engine, root.pool, root.cont, { write: true });
  const dfs = await mountDfs(c);
  const loc = await resolveLocation(input);
  const uri = loc.kind === 'container' ? containerUri(loc) : `daos://${root.pool}/${root.cont}`;
  const tree = new DfsTree(dfs, root.path, uri);
  return { tree, st: await tree.lstat(''), root, createdContainer: created };
}

/**
 * A resumed plan must be one this SRC -> DST could have made (DST itself or
 * DST/<name of SRC>): the journal is a file in the engine home, not trusted
 * to send the copy elsewhere.
 */
async function checkResumeRoot(getEngine: EngineGetter, root: JournalHeader['dstRoot'], loc: Location, name: string | undefined, input: string): Promise<void> {
  const bad = () => new StrataError('EINVAL', `the interrupted copy's journal plans a destination that ${input} cannot have (${root.kind === 'posix' ? root.path : `container ${root.cont}${root.path}`}): run the copy without --resume`);
  if (root.kind === 'posix') {
    if (loc.kind !== 'posix') throw bad();
    const p = path.resolve(root.path);
    if (p !== path.resolve(loc.path) && (name === undefined || p !== path.resolve(loc.path, name))) throw bad();
    return;
  }
  if (loc.kind !== 'container') throw bad();
  const want = normalizePath(loc.path);
  const inside = name === undefined ? want : (want === '/' ? `/${name}` : `${want}/${name}`);
  if (root.path !== want && root.path !== inside) throw bad();
  const uuid = await containerUuid(await getEngine(), loc.pool, loc.cont);
  if (uuid !== undefined ? uuid !== root.cont : root.createLabel !== loc.cont) throw bad();
}

/** The uuid of a container, or undefined when there is none by that name. */
async function containerUuid(engine: Engine, pool: string, cont: string): Promise<string | undefined> {
  const { openContainer } = await containerSide();
  try {
    return (await openContainer(engine, pool, cont)).uuid;
  } catch (e) {
    if (isStrataError(e, 'ENOENT')) return undefined;
    throw e;
  }
}

/** A POSIX path with its symlinks resolved: the deepest existing ancestor, resolved, plus the rest. */
function realPosixPath(p: string): string {
  let cur = p;
  const rest: string[] = [];
  for (;;) {
    try { return path.join(fs.realpathSync(cur), ...rest.reverse()); } catch { /* up */ }
    const up = path.dirname(cur);
    if (up === cur) return p;
    rest.push(path.basename(cur));
    cur = up;
  }
}

/**
 * The identity of a destination root however it was spelled (through a
 * symlink, `..`; a container by label or UUID): two planners of queued copies
 * with the same key write the same tree.
 */
export function destinationKey(root: JournalHeader['dstRoot']): string {
  return root.kind === 'posix' ? `posix:${realPosixPath(root.path)}` : `container:${root.pool}/${root.cont}:${normalizePath(root.path)}`;
}

/** Refuses to copy a directory into itself. */
function checkNotInside(src: SourceEnd, root: JournalHeader['dstRoot']): void {
  if (src.st.type !== 'dir') return;
  const inside = (a: string, b: string) => b === a || b.startsWith(a === '/' ? '/' : a + '/');
  if (src.loc.kind === 'posix' && root.kind === 'posix') {
    const a = realPosixPath(src.loc.path);
    if (inside(a, realPosixPath(root.path))) throw new StrataError('EINVAL', `cannot copy a directory, '${src.loc.path}', into itself, '${root.path}'`);
  }
  if (src.loc.kind === 'container' && root.kind === 'container') {
    const t = src.tree as DfsTree;
    if (t.dfs.container.uuid === root.cont && inside(t.rootPath, root.path)) {
      throw new StrataError('EINVAL', `cannot copy a directory, '${formatLocation(src.loc)}', into itself`);
    }
  }
}
