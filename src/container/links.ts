// Paths known to name a container: the UNS links strata made (`container
// create --path`, `container link`, `tier archive`, unpark). Destroying a
// container that a link still names strands whatever users reach through that
// path — after `tier archive` the only copy of a directory — so destroy
// refuses unless forced, and says which links then lead nowhere.
//
//   cont-link/<cont-uuid>/<sha256(path), 32 hex>  -> LinkRecord
//
// A record can outlive its link (someone ran `rm -rf` on it): before refusing,
// each recorded path is asked whether it still names the container, through a
// probe the UNS layer installs (it reads links; this layer must not import
// it). Without a probe a path that still exists counts as a link, which errs
// on the side of keeping data.
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { Engine, WriteOp } from '../engine/types.js';
import { StrataError } from '../errors.js';

export interface LinkRecord {
  /** Absolute path of the link. */
  path: string;
  /** xattr, symlink or lustre. */
  kind: string;
  /** When it was recorded (ISO time). */
  at: string;
}

const prefix = (cont: string) => `cont-link/${cont.toLowerCase()}/`;
const linkKey = (cont: string, p: string) => `${prefix(cont)}${crypto.createHash('sha256').update(p).digest('hex').slice(0, 32)}`;

/** Ops that record `path` as a link to `cont` (commit them once the link exists). */
export function recordLinkOps(cont: string, path: string, kind: string): WriteOp[] {
  const value: LinkRecord = { path, kind, at: new Date().toISOString() };
  return [{ op: 'cat-put', key: linkKey(cont, path), value }];
}

/** Records a link found on disk (made by hand or by an older strata) unless it is recorded already. */
export async function adoptLink(engine: Engine, cont: string, path: string, kind: string): Promise<void> {
  if ((await engine.catGet(linkKey(cont, path))) === undefined) await engine.commit({ ops: recordLinkOps(cont, path, kind) });
}

/** Ops that forget `path` as a link to `cont`. */
export function forgetLinkOps(cont: string, path: string): WriteOp[] {
  return [{ op: 'cat-del', key: linkKey(cont, path) }];
}

/** The container uuid the link at `path` names, or undefined when nothing there names one. */
export type LinkProbe = (path: string) => string | undefined;

let probe: LinkProbe | undefined;

/** Installed by the UNS layer, which knows how to read every link kind. */
export function setLinkProbe(p: LinkProbe): void {
  probe = p;
}

function stillNames(r: LinkRecord, cont: string): boolean {
  if (probe) {
    try {
      return probe(r.path)?.toLowerCase() === cont.toLowerCase();
    } catch {
      return true; // unreadable: cannot prove it is gone
    }
  }
  try {
    fs.lstatSync(r.path);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

/**
 * The recorded links that still name `cont`; records whose link is gone or
 * names something else are dropped on the way (`except`: paths not to count,
 * e.g. the link a destroy-by-path removes itself).
 */
export async function liveLinks(engine: Engine, cont: string, except: string[] = []): Promise<LinkRecord[]> {
  const live: LinkRecord[] = [];
  const stale: WriteOp[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await engine.catList(prefix(cont), { after, limit: 1000 });
    for (const [key, v] of page) {
      const r = v as LinkRecord;
      if (except.includes(r.path)) continue;
      if (stillNames(r, cont)) live.push(r);
      else stale.push({ op: 'cat-del', key });
    }
    if (page.length < 1000) break;
    after = page[page.length - 1]![0];
  }
  if (stale.length) await engine.commit({ ops: stale });
  return live;
}

/** Ops that drop every link record of `cont` (with the container's own catalog entries). */
export async function dropLinkRecordOps(engine: Engine, cont: string): Promise<Array<{ op: 'cat-del'; key: string }>> {
  return (await engine.catList(prefix(cont))).map(([key]) => ({ op: 'cat-del' as const, key }));
}

function describeLinks(links: LinkRecord[]): string {
  const shown = links.slice(0, 3).map((l) => `${l.path} (${l.kind} link)`).join(', ');
  return links.length > 3 ? `${shown} and ${links.length - 3} more` : shown;
}

/**
 * Refuses (EBUSY) when links still name the container, naming them, unless
 * `force`; returns the links that a forced destroy leaves pointing nowhere.
 */
export async function checkUnlinked(engine: Engine, cont: string, label: string, opts: { force?: boolean; except?: string[] } = {}): Promise<LinkRecord[]> {
  const live = await liveLinks(engine, cont, opts.except);
  if (live.length && !opts.force) {
    throw new StrataError('EBUSY', `container ${label} is still reached through ${describeLinks(live)}; remove ${live.length === 1 ? 'that link' : 'those links'} first ('container unlink --path', or 'tier restore' for an archive), or use --force, after which ${live.length === 1 ? 'it leads' : 'they lead'} nowhere`);
  }
  return live;
}
