// What the tier remembers about entries, in the engine catalog:
//   tier/archived/<cont-uuid>  -> ArchivedRecord  (written by archive)
//   tier/parked/<cont-uuid>    -> ParkedRecord    (written by park, removed by unpark)
// Keyed by the UUID the link names, so the link (which is not changed by park)
// finds its record. A parked container also leaves:
//   - a manifest <cold-dir>/<cont-uuid>.strata-tier.json beside its .h5 files
//     (the cold copy describes itself even without the engine);
//   - on xattr links, the xattr user.strata.parked = the manifest as JSON
//     (symlinks cannot carry user xattrs; for them the catalog record is all).
import fs from 'node:fs';
import path from 'node:path';
import type { Engine } from '../engine/types.js';
import type { ContainerType } from '../container/index.js';
import { awayOps, clearAwayOps } from '../container/away.js';
import { getXattr, removeXattr, setXattr } from '../uns/fsx.js';
import type { LinkInfo } from '../uns/index.js';

export const PARKED_XATTR = 'user.strata.parked';

export interface ArchivedRecord {
  path: string;
  poolUuid: string;
  contUuid: string;
  bytes: number;
  files: number;
  archivedAt: string;
}

export interface ParkedRecord {
  /** Link path at the time of parking. */
  path: string;
  poolUuid: string;
  contUuid: string;
  label: string;
  type: ContainerType;
  coldDir: string;
  files: string[];
  /** Bytes of the .h5 files. */
  fileBytes: number;
  /** Apparent bytes of the container's files (POSIX containers), when known. */
  dataBytes?: number;
  /** checkContainer digest of what was parked (unpark checks the rebuilt container against it). */
  digest: string;
  parkedAt: string;
}

const archivedKey = (cont: string) => `tier/archived/${cont}`;
const parkedKey = (cont: string) => `tier/parked/${cont}`;

export async function getArchived(engine: Engine, cont: string): Promise<ArchivedRecord | undefined> {
  return (await engine.catGet(archivedKey(cont))) as ArchivedRecord | undefined;
}

export async function putArchived(engine: Engine, r: ArchivedRecord): Promise<void> {
  await engine.commit({ ops: [{ op: 'cat-put', key: archivedKey(r.contUuid), value: r }] });
}

export async function delArchived(engine: Engine, cont: string): Promise<void> {
  await engine.commit({ ops: [{ op: 'cat-del', key: archivedKey(cont) }] });
}

export async function getParked(engine: Engine, cont: string): Promise<ParkedRecord | undefined> {
  return (await engine.catGet(parkedKey(cont))) as ParkedRecord | undefined;
}

export async function putParked(engine: Engine, r: ParkedRecord): Promise<void> {
  // With the container-level record, so every caller naming the container is told where it went.
  await engine.commit({ ops: [{ op: 'cat-put', key: parkedKey(r.contUuid), value: r }, ...awayOps(r.contUuid, { pool: r.poolUuid, note: `parked in ${r.coldDir}; run strata tier unpark ${r.path}` })] });
}

export async function delParked(engine: Engine, cont: string): Promise<void> {
  await engine.commit({ ops: [{ op: 'cat-del', key: parkedKey(cont) }, ...clearAwayOps(cont)] });
}

export function manifestPath(coldDir: string, cont: string): string {
  return path.join(coldDir, `${cont}.strata-tier.json`);
}

export function writeManifest(r: ParkedRecord): void {
  const f = manifestPath(r.coldDir, r.contUuid);
  const tmp = `${f}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(r, null, 1) + '\n');
  const fd = fs.openSync(tmp, 'r');
  try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
  fs.renameSync(tmp, f);
}

/** Marks an xattr link as parked (no-op for other kinds). */
export function markLinkParked(link: LinkInfo, r: ParkedRecord): void {
  if (link.kind !== 'xattr') return;
  setXattr(link.path, PARKED_XATTR, Buffer.from(JSON.stringify({ coldDir: r.coldDir, contUuid: r.contUuid, files: r.files.map((f) => path.basename(f)), parkedAt: r.parkedAt })));
}

/** Removes the parked mark of an xattr link (unpark re-points the link in place). */
export function clearParkedMark(link: LinkInfo): void {
  if (link.kind === 'xattr') removeXattr(link.path, PARKED_XATTR);
}

/** The parked mark of an xattr link, if any. */
export function readParkedMark(p: string): { coldDir: string; contUuid: string } | undefined {
  try {
    const v = getXattr(p, PARKED_XATTR);
    if (!v) return undefined;
    const j = JSON.parse(v.toString('utf8')) as { coldDir?: string; contUuid?: string };
    return j.coldDir && j.contUuid ? { coldDir: j.coldDir, contUuid: j.contUuid } : undefined;
  } catch {
    return undefined;
  }
}

export function parkedMessage(p: string, coldDir: string, linkPath: string): string {
  return `${p} is parked in ${coldDir}; run strata tier unpark ${linkPath}`;
}
