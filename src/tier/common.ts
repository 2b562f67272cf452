// Shared by the tier operations: engine handle, pool choice, container lookups
// and labels, link checks, and what a link's entry currently is.
import fs from 'node:fs';
import path from 'node:path';
import { StrataError, isStrataError } from '../errors.js';
import type { Engine } from '../engine/types.js';
import { openEngine } from '../engine/open.js';
import {
  checkLabel, listPools, resolveContainer, resolvePool, openContainer, type ContainerRecord, type PoolRecord,
} from '../container/index.js';
import { mountDfs } from '../dfs/index.js';
import { readConfig, readLinkAt, unsPrefix, type LinkInfo, type LinkKind } from '../uns/index.js';
import { isOnLustre } from '../uns/fsx.js';
import { getParked, parkedMessage, readParkedMark } from './records.js';

export interface TierCommon {
  /** Engine URL (default: STRATA_ENGINE / STRATA_HOME). */
  engine?: string;
  onWarn?: (msg: string) => void;
}

/** Runs fn with an engine opened for it, always closing it. */
export async function withTierEngine<T>(url: string | undefined, fn: (e: Engine) => Promise<T>): Promise<T> {
  const e = await openEngine(url);
  try {
    return await fn(e);
  } finally {
    await e.close();
  }
}

/** The pool: explicit, else tier.pool in the config / STRATA_TIER_POOL, else the only pool there is. */
export async function choosePool(engine: Engine, explicit?: string): Promise<PoolRecord> {
  const want = explicit || process.env['STRATA_TIER_POOL'] || readConfig()['tier.pool'];
  if (want) return resolvePool(engine, want);
  const pools = await listPools(engine);
  if (pools.length === 1) return resolvePool(engine, pools[0]!.uuid);
  if (pools.length === 0) throw new StrataError('ENOENT', `no pool to archive into: create one with 'strata pool create <label>'`);
  throw new StrataError('EINVAL', `there are ${pools.length} pools (${pools.map((p) => p.label).join(', ')}): choose one with --pool (or tier.pool in the config)`);
}

export async function findContainer(engine: Engine, pool: string, cont: string): Promise<ContainerRecord | undefined> {
  try {
    return await resolveContainer(engine, await resolvePool(engine, pool), cont);
  } catch (e) {
    if (isStrataError(e, 'ENOENT')) return undefined;
    throw e;
  }
}

/** A free container label for a directory: its name, else name-<id>, else cont-<uuid prefix>. */
export async function labelFor(engine: Engine, pool: PoolRecord, name: string, id: string, uuid: string): Promise<string> {
  for (const cand of [name, `${name}-${id}`, `cont-${uuid.slice(0, 8)}`]) {
    try { checkLabel(cand, 'container'); } catch { continue; }
    if ((await engine.catGet(`cont-label/${pool.uuid}/${cand}`)) === undefined) return cand;
  }
  return `cont-${uuid.slice(0, 8)}-${id}`;
}

/** The link kind to make and its prefix; checks what can be checked before any work. */
export function linkChoice(p: string, kind: LinkKind | undefined, prefix: string | undefined): { kind: LinkKind; prefix?: string } {
  const k = kind ?? 'xattr';
  if (k === 'lustre') {
    if (!isOnLustre(path.dirname(p))) throw new StrataError('EINVAL', `${p}: its directory is not on Lustre (use --link xattr or --link symlink)`);
    return { kind: k };
  }
  if (k === 'symlink') {
    const pre = unsPrefix(prefix);
    if (!pre) throw new StrataError('EINVAL', `${p}: a symlink link needs the tier's mount prefix (--prefix, STRATA_UNS_PREFIX or uns.prefix in the config)`);
    return { kind: k, prefix: pre };
  }
  return { kind: k };
}

/** The UNS link at exactly p, or undefined (p missing or not a link). */
export function linkAtPath(p: string): LinkInfo | undefined {
  let st: fs.Stats;
  try { st = fs.lstatSync(p); } catch { return undefined; }
  try {
    return readLinkAt(p, st, isOnLustre(path.dirname(p)));
  } catch {
    return undefined;
  }
}

/** Apparent and stored bytes and file count of a POSIX container. */
export async function containerUsage(engine: Engine, pool: string, cont: string): Promise<{ bytes: number; stored: number; files: number } | undefined> {
  const c = await openContainer(engine, pool, cont);
  if (c.type !== 'POSIX') return undefined;
  const dfs = await mountDfs(c, { readOnly: true });
  const du = await dfs.du('/');
  return { bytes: du.apparentBytes, stored: du.storedBytes, files: du.files };
}

/** Throws the "is parked" error when the link's container is parked. */
/** A container mounted on its own link (`strata mount --path`): the link cannot be replaced or freed under the mount. */
export function refuseMounted(shown: string, link: LinkInfo): void {
  if (link.mounted) throw new StrataError('EBUSY', `${shown} has its container mounted on it: run 'strata umount ${link.path}' first`);
}

export async function refuseParked(engine: Engine, shown: string, link: LinkInfo): Promise<void> {
  const rec = await getParked(engine, link.cont);
  const mark = rec ? undefined : readParkedMark(link.path);
  if (rec || mark) throw new StrataError('ENOENT', parkedMessage(shown, rec?.coldDir ?? mark!.coldDir, link.path));
}

/** Free bytes for an unprivileged writer on the filesystem of p. */
export function freeBytes(p: string): number {
  const s = fs.statfsSync(p);
  return Number(s.bavail) * Number(s.bsize);
}

export function containerUri(poolUuid: string, contUuid: string): string {
  return `daos://${poolUuid}/${contUuid}`;
}
