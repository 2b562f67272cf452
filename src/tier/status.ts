// `strata tier status PATH [-R]`: what each entry is — local, archived
// (pool/container, size), parked (cold files, size), dangling — plus any tier
// operation still pending on it.
import { StrataError } from '../errors.js';
import type { Engine } from '../engine/types.js';
import { resolvePool } from '../container/index.js';
import { findLink, scanLinks, type LinkInfo, type LinkKind } from '../uns/index.js';
import { journalFor, journalOwnerAlive, type TierOp } from './journal.js';
import { entryPath, lstatOrUndefined, treeSize } from './util.js';
import { containerUsage, findContainer, linkAtPath, withTierEngine, type TierCommon } from './common.js';
import { getArchived, getParked, readParkedMark } from './records.js';

export type TierState = 'local' | 'archived' | 'parked' | 'dangling';

export interface TierEntry {
  path: string;
  state: TierState;
  link?: LinkKind;
  poolUuid?: string;
  poolLabel?: string;
  contUuid?: string;
  contLabel?: string;
  /** Apparent bytes of the data (local tree, container, or what was parked). */
  bytes?: number;
  files?: number;
  archivedAt?: string;
  /** Parked: where, which files and their size. */
  coldDir?: string;
  parkedFiles?: string[];
  fileBytes?: number;
  parkedAt?: string;
  /** A tier operation recorded in a journal and not finished. */
  pending?: { op: TierOp; step: string; pid: number; running: boolean };
  /** The path asked about, when it lies inside a linked container. */
  inside?: string;
}

export interface StatusOptions extends TierCommon {
  recursive?: boolean;
  /** Compute sizes of local trees and containers (default true). */
  sizes?: boolean;
}

export async function describeLink(engine: Engine, l: LinkInfo, sizes = true): Promise<TierEntry> {
  const e: TierEntry = { path: l.path, state: 'dangling', link: l.kind, poolUuid: l.pool, contUuid: l.cont };
  try { e.poolLabel = (await resolvePool(engine, l.pool)).label; } catch { /* pool gone */ }
  const rec = await findContainer(engine, l.pool, l.cont);
  if (rec) {
    e.state = 'archived';
    e.contLabel = rec.label;
    const ar = await getArchived(engine, l.cont);
    if (ar) e.archivedAt = ar.archivedAt;
    if (sizes) {
      const u = await containerUsage(engine, l.pool, l.cont).catch(() => undefined);
      if (u) { e.bytes = u.bytes; e.files = u.files; }
    }
    return e;
  }
  const pk = await getParked(engine, l.cont);
  if (pk) {
    Object.assign(e, {
      state: 'parked', contLabel: pk.label, coldDir: pk.coldDir, parkedFiles: pk.files, fileBytes: pk.fileBytes, parkedAt: pk.parkedAt,
      ...(pk.dataBytes !== undefined ? { bytes: pk.dataBytes } : {}),
    });
    return e;
  }
  const mark = readParkedMark(l.path);
  if (mark) Object.assign(e, { state: 'parked', coldDir: mark.coldDir });
  return e;
}

function withPending(e: TierEntry): TierEntry {
  const j = journalFor(e.path);
  if (j) e.pending = { op: j.op, step: j.step, pid: j.pid, running: journalOwnerAlive(j) };
  return e;
}

export async function status(input: string, opts: StatusOptions = {}): Promise<TierEntry[]> {
  const p = entryPath(input);
  const sizes = opts.sizes !== false;
  return withTierEngine(opts.engine, async (engine) => {
    const out: TierEntry[] = [];
    const l = linkAtPath(p);
    if (l) return [withPending(await describeLink(engine, l, sizes))];
    const up = lstatOrUndefined(p) ? findLink(p) : undefined;
    if (up) return [{ ...withPending(await describeLink(engine, up.link, sizes)), inside: up.rest }];
    const st = lstatOrUndefined(p);
    if (!st) {
      // A path mid-swap (moved aside by an interrupted operation) still has its journal.
      const j = journalFor(p);
      if (j) return [{ path: p, state: 'local', pending: { op: j.op, step: j.step, pid: j.pid, running: journalOwnerAlive(j) } }];
      throw new StrataError('ENOENT', `${input}: no such file or directory`);
    }
    const me: TierEntry = { path: p, state: 'local' };
    if (sizes && st.isDirectory()) {
      const s = await treeSize(p);
      me.bytes = s.bytes;
      me.files = s.files;
    } else if (st.isFile()) {
      me.bytes = st.size;
      me.files = 1;
    }
    out.push(withPending(me));
    if (opts.recursive && st.isDirectory()) {
      for await (const link of scanLinks(p, (q, e) => opts.onWarn?.(`skipped ${q}: ${(e as Error).message}`))) {
        out.push(withPending(await describeLink(engine, link, sizes)));
      }
    }
    return out;
  });
}
