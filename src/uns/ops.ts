// UNS operations that involve the container layer: create a container with its
// link, link/unlink, destroy by path, resolve with labels, scan a tree.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { StrataError, isStrataError } from '../errors.js';
import type { Engine } from '../engine/types.js';
import {
  createContainer, destroyContainer, destroyContainerRecord, resolvePool, resolveContainer, listContainers, checkLabel,
  type ContainerRecord, type ContainerType, type CreateContainerOptions, type CallOpts, type ContainerInfo,
  containerAway, recordLinkOps, forgetLinkOps, adoptLink, setLinkProbe, checkDestroy, type LinkRecord,
} from '../container/index.js';
import {
  checkLinkPossible, defaultLinkKind, linkAt, makeLink, replaceLink, readLinkAt, removeLink, type LinkInfo, type LinkKind,
} from './link.js';
import { findLink } from './resolve.js';
import { unsPrefix } from './config.js';
import { isOnLustre, errnoCode } from './fsx.js';

export interface LinkOptions {
  /** Link kind; default lustre when the parent directory is on Lustre, else xattr. */
  link?: LinkKind;
  /** symlink links: the tier's mount prefix (default STRATA_UNS_PREFIX, then uns.prefix). */
  prefix?: string;
}

// Lets the container layer tell whether a recorded link still names its container.
setLinkProbe((p) => {
  try {
    return linkAt(p).cont;
  } catch (e) {
    if (isStrataError(e, 'ENOENT') || isStrataError(e, 'EINVAL') || isStrataError(e, 'ENOTDIR')) return undefined;
    throw e;
  }
});

/** Records a link strata made, so destroying its container refuses while it stands (container/links.ts). */
async function recordLink(engine: Engine, l: LinkInfo): Promise<void> {
  await engine.commit({ ops: recordLinkOps(l.cont, l.path, l.kind) });
}

function linkSpec(p: string, o: LinkOptions): { kind: LinkKind; prefix?: string } {
  const kind = o.link ?? defaultLinkKind(p);
  return { kind, prefix: kind === 'symlink' ? unsPrefix(o.prefix) : undefined };
}

/** A free label for a container made at a path: the path's basename when valid and free, else cont-<uuid prefix>. */
async function labelForPath(engine: Engine, pool: string, p: string, uuid: string): Promise<string> {
  const base = path.basename(path.resolve(p));
  try {
    checkLabel(base, 'container');
    const pr = await resolvePool(engine, pool);
    try {
      await resolveContainer(engine, pr, base);
    } catch (e) {
      if (isStrataError(e, 'ENOENT')) return base;
      throw e;
    }
  } catch (e) {
    if (!isStrataError(e, 'EINVAL')) throw e;
  }
  return `cont-${uuid.slice(0, 8)}`;
}

export interface ContainerWithLink { container: ContainerRecord; link: LinkInfo }

/**
 * Creates a container and its link at `p` as one step: when the link cannot
 * be made the container is destroyed again and the error is thrown. Without a
 * label, the path's basename (if a valid, free label) or cont-<uuid prefix>.
 */
export async function createContainerAtPath(engine: Engine, pool: string, label: string | undefined, p: string,
  opts: CreateContainerOptions & LinkOptions = {}): Promise<ContainerWithLink> {
  const spec = linkSpec(p, opts);
  checkLinkPossible(p, spec);
  const uuid = opts.uuid ?? crypto.randomUUID();
  const { link: _l, prefix: _p, ...copts } = opts;
  const rec = await createContainer(engine, pool, label ?? (await labelForPath(engine, pool, p, uuid)), { ...copts, uuid });
  try {
    const link = makeLink(p, { ...spec, pool: rec.poolUuid, cont: rec.uuid, type: rec.type });
    try {
      await recordLink(engine, link);
    } catch (e) {
      try { removeLink(link); } catch { /* the original error is the one to report */ }
      throw e;
    }
    return { container: rec, link };
  } catch (e) {
    await destroyContainerRecord(engine, rec);
    if (e instanceof StrataError) throw new StrataError(e.code, `${e.message} (container ${rec.label} was not kept)`, { cause: e });
    throw e;
  }
}

/** Links an existing container at `p` (needs write permission on p's parent only). */
export async function linkContainer(engine: Engine, pool: string, cont: string, p: string, opts: LinkOptions = {}): Promise<ContainerWithLink> {
  const pr = await resolvePool(engine, pool);
  const rec = await resolveContainer(engine, pr, cont);
  const spec = linkSpec(p, opts);
  const link = makeLink(p, { ...spec, pool: rec.poolUuid, cont: rec.uuid, type: rec.type });
  await recordLink(engine, link);
  return { container: rec, link };
}

/** Re-points the existing link `l` at another container in place (replaceLink): the path stays a link throughout. */
export async function relinkContainer(engine: Engine, pool: string, cont: string, l: LinkInfo, opts: LinkOptions = {}): Promise<ContainerWithLink> {
  const pr = await resolvePool(engine, pool);
  const rec = await resolveContainer(engine, pr, cont);
  const spec = linkSpec(l.path, { link: l.kind, ...opts });
  const link = replaceLink(l, { ...spec, pool: rec.poolUuid, cont: rec.uuid, type: rec.type });
  await engine.commit({ ops: [...forgetLinkOps(l.cont, l.path), ...recordLinkOps(link.cont, link.path, link.kind)] });
  return { container: rec, link };
}

/** The link at exactly p; a clear EINVAL when p is only below a link. */
function exactLink(p: string): LinkInfo {
  try {
    return linkAt(p);
  } catch (e) {
    const r = findLink(p);
    if (r && r.rest !== '/') throw new StrataError('EINVAL', `${p} is not a UNS link (it is ${r.rest} inside the container linked at ${r.link.path})`);
    throw e;
  }
}

export interface Unlinked {
  link: LinkInfo;
  /** What the link named: a container that is kept, a parked one (forced), or nothing. */
  named: 'container' | 'parked' | 'nothing';
  /** Where a parked container's data is (its away note). */
  away?: string;
}

/**
 * Removes the link at exactly `p` (not the container). EINVAL when p is not a
 * link. A link to a parked container is the only way back to its cold files:
 * removing it refuses unless `force`.
 */
export async function unlinkPath(engine: Engine, p: string, opts: { force?: boolean } = {}): Promise<Unlinked> {
  const l = exactLink(p);
  const rec = await findRecord(engine, l);
  const away = rec ? undefined : await containerAway(engine, l.cont);
  if (away && !opts.force) {
    throw new StrataError('EBUSY', `${p} is the link to parked container ${l.cont} (${away.note}); bring it back with 'strata tier unpark ${p}' (removing the link leaves its files with nothing pointing at them; use --force to remove it anyway)`);
  }
  removeLink(l);
  await engine.commit({ ops: forgetLinkOps(l.cont, l.path) });
  return { link: l, named: rec ? 'container' : away ? 'parked' : 'nothing', ...(away ? { away: away.note } : {}) };
}

async function findRecord(engine: Engine, l: { pool: string; cont: string }): Promise<ContainerRecord | undefined> {
  try {
    const pr = await resolvePool(engine, l.pool);
    return await resolveContainer(engine, pr, l.cont);
  } catch (e) {
    if (isStrataError(e, 'ENOENT')) return undefined;
    throw e;
  }
}

/**
 * Destroys the container a link names and the link. Refuses when p is not a
 * link or the container no longer exists (use unlinkPath). If the container
 * cannot be destroyed (e.g. no permission) the link is made again.
 */
export async function destroyContainerAtPath(engine: Engine, p: string, opts: CallOpts & { force?: boolean } = {}): Promise<{ link: LinkInfo; stranded: LinkRecord[] }> {
  const l = exactLink(p);
  const rec = await findRecord(engine, l);
  if (!rec) {
    const away = await containerAway(engine, l.cont);
    if (away) throw new StrataError('EBUSY', `${p} names container ${l.cont}, which is parked (${away.note}); nothing destroyed: bring it back with 'strata tier unpark ${p}'`);
    throw new StrataError('ENOENT', `${p} names container ${l.cont} in pool ${l.pool}, which does not exist (a dangling link: remove it with 'container unlink --path')`);
  }
  // Permission and other links to the container refuse before anything changes.
  await checkDestroy(engine, rec.poolUuid, rec.uuid, { ...opts, except: [l.path] });
  removeLink(l);
  let stranded: LinkRecord[];
  try {
    stranded = await destroyContainer(engine, rec.poolUuid, rec.uuid, { ...opts, except: [l.path] });
  } catch (e) {
    try {
      makeLink(l.path, { kind: l.kind, pool: l.pool, cont: l.cont, type: l.type ?? rec.type, prefix: l.prefix });
    } catch { /* reported below */ }
    throw e;
  }
  return { link: l, stranded };
}

export interface UnsInfo {
  /** The path asked about. */
  path: string;
  link: LinkInfo;
  /** Path inside the container. */
  containerPath: string;
  poolUuid: string;
  contUuid: string;
  /** Labels, when the pool / container exist. */
  poolLabel?: string;
  contLabel?: string;
  /** Type from the link, else from the container. */
  type?: ContainerType;
  /** The container named by the link does not exist and is not parked (away). */
  dangling: boolean;
  /** When it was taken out of the tier (parked): where it went and how to bring it back. */
  away?: string;
}

/** Resolves a path at or below a link, with labels from the engine. EINVAL when no link is there. */
export async function resolveUnsPath(engine: Engine | undefined, p: string): Promise<UnsInfo> {
  const r = findLink(p);
  if (!r) throw new StrataError('EINVAL', `${p} is not a UNS link nor below one`);
  return describe(engine, r.link, p, r.rest);
}

async function describe(engine: Engine | undefined, link: LinkInfo, p: string, rest: string): Promise<UnsInfo> {
  const out: UnsInfo = { path: p, link, containerPath: rest, poolUuid: link.pool, contUuid: link.cont, type: link.type, dangling: false };
  if (engine) {
    let poolRec;
    try {
      poolRec = await resolvePool(engine, link.pool);
      out.poolLabel = poolRec.label;
    } catch (e) {
      if (!isStrataError(e, 'ENOENT')) throw e;
    }
    const rec = poolRec ? await findRecord(engine, link) : undefined;
    if (rec) {
      out.contLabel = rec.label;
      out.type ??= rec.type;
    } else {
      // A parked container is away, not gone: its link is the way back.
      const away = await containerAway(engine, link.cont);
      if (away) out.away = away.note;
      else out.dangling = true;
    }
  }
  return out;
}

/**
 * Walks `dir` (streaming: one open directory per level) and yields every link
 * under it, without descending into links or following symlinks. Unreadable
 * directories are reported through onError and skipped.
 */
export async function* scanLinks(dir: string, onError: (p: string, e: unknown) => void = () => {}): AsyncGenerator<LinkInfo> {
  const root = fs.realpathSync(dir);
  const st = fs.statSync(root);
  if (!st.isDirectory()) throw new StrataError('ENOTDIR', `${dir} is not a directory`);
  yield* walk(root, st.dev, onError);
}

async function* walk(dir: string, dev: number, onError: (p: string, e: unknown) => void): AsyncGenerator<LinkInfo> {
  let d: fs.Dir;
  try {
    d = await fs.promises.opendir(dir, { bufferSize: 64 });
  } catch (e) {
    onError(dir, e);
    return;
  }
  const lustre = isOnLustre(dir, dev);
  try {
    for await (const ent of d) {
      if (!ent.isDirectory() && !ent.isFile() && !ent.isSymbolicLink()) continue;
      const p = dir === '/' ? `/${ent.name}` : `${dir}/${ent.name}`;
      let st: fs.Stats;
      let link: LinkInfo | undefined;
      try {
        st = fs.lstatSync(p);
        link = readLinkAt(p, st, lustre, dev);
      } catch (e) {
        const code = errnoCode(e);
        if (code === 'ENOENT') continue;
        onError(p, e);
        continue;
      }
      if (link) yield link;
      else if (st.isDirectory()) yield* walk(p, st.dev, onError);
    }
  } finally {
    await d.close().catch(() => {});
  }
}

export interface ScannedLink extends LinkInfo { poolLabel?: string; contLabel?: string; dangling: boolean; away?: string }

/**
 * scanLinks with each link checked against the engine (labels, dangling).
 * Links to existing containers are recorded on the way, so that links made
 * by hand or by an older strata protect their containers from destroy too.
 */
export async function* scanLinksChecked(engine: Engine, dir: string, onError?: (p: string, e: unknown) => void): AsyncGenerator<ScannedLink> {
  for await (const l of scanLinks(dir, onError)) {
    const d = await describe(engine, l, l.path, '/');
    if (d.contLabel !== undefined) {
      // A courtesy: a home this caller may only read still scans.
      try { await adoptLink(engine, l.cont, l.path, l.kind); } catch (e) { if (!isStrataError(e, 'EACCES') && !isStrataError(e, 'EROFS')) throw e; }
    }
    yield { ...l, type: d.type, poolLabel: d.poolLabel, contLabel: d.contLabel, dangling: d.dangling, ...(d.away ? { away: d.away } : {}) };
  }
}

/** Containers of `pool` that no link under `dir` names. */
export async function findOrphans(engine: Engine, pool: string, dir: string, opts: CallOpts = {}, onError?: (p: string, e: unknown) => void): Promise<ContainerInfo[]> {
  const named = new Set<string>();
  for await (const l of scanLinks(dir, onError)) named.add(l.cont);
  return (await listContainers(engine, pool, opts)).filter((c) => !named.has(c.uuid));
}

export { readLinkAt };
