// `strata tier scan DIR` — policies: which entries directly under DIR are
// candidates for archiving (local directories) or parking (archived links),
// by age, size and name; with apply, act on each, going on past failures.
//
// Age of a local directory: time since the newest mtime of anything in it.
// Age of an archived link: time since it was archived (tier's record), else
// since the link was made (its mtime). Size: apparent bytes of the files.
import fs from 'node:fs';
import path from 'node:path';
import { StrataError } from '../errors.js';
import { reasonOf } from '../mover/transfer.js';
import { entryPath, globToRegExp, treeSize } from './util.js';
import { linkAtPath, withTierEngine, type TierCommon } from './common.js';
import { describeLink } from './status.js';
import { archive, type ArchiveOptions, type ArchiveResult } from './archive.js';
import { park, type ParkResult } from './park.js';
import type { LinkKind } from '../uns/index.js';

export interface ScanOptions extends TierCommon {
  /** Only entries whose newest change is at least this old (ms). */
  olderThanMs?: number;
  /** Only entries of at least this many bytes. */
  largerThan?: number;
  /** Names (relative to DIR) to consider; default all. */
  include?: string[];
  exclude?: string[];
  /** archive: local directories are candidates; park: archived links are. Default archive. */
  mode?: 'archive' | 'park';
  now?: number;
}

export interface Candidate {
  path: string;
  name: string;
  kind: 'directory' | 'link';
  bytes: number;
  files: number;
  ageMs: number;
  newest: string;
}

const HIDDEN_TIER = /^\..*\.strata-(archive|restore|probe)-/;

export async function scanCandidates(dirInput: string, opts: ScanOptions = {}): Promise<Candidate[]> {
  const dir = entryPath(dirInput);
  const st = fs.statSync(dir, { throwIfNoEntry: false });
  if (!st) throw new StrataError('ENOENT', `${dirInput}: no such directory`);
  if (!st.isDirectory()) throw new StrataError('ENOTDIR', `${dirInput} is not a directory`);
  const now = opts.now ?? Date.now();
  const inc = (opts.include ?? []).map(globToRegExp);
  const exc = (opts.exclude ?? []).map(globToRegExp);
  const mode = opts.mode ?? 'archive';
  const names = fs.readdirSync(dir).sort();
  const out: Candidate[] = [];
  const pick = (name: string) => (inc.length === 0 || inc.some((r) => r.test(name))) && !exc.some((r) => r.test(name));
  await withTierEngine(opts.engine, async (engine) => {
    for (const name of names) {
      if (HIDDEN_TIER.test(name) || !pick(name)) continue;
      const p = path.join(dir, name);
      let c: Candidate | undefined;
      try {
        const l = linkAtPath(p);
        if (mode === 'archive') {
          const s = fs.lstatSync(p);
          if (l || !s.isDirectory()) continue;
          const t = await treeSize(p, (q, e) => opts.onWarn?.(`skipped ${q}: ${reasonOf(e)}`));
          c = { path: p, name, kind: 'directory', bytes: t.bytes, files: t.files, ageMs: now - t.newestMtimeMs, newest: new Date(t.newestMtimeMs).toISOString() };
        } else {
          if (!l) continue;
          const e = await describeLink(engine, l);
          if (e.state !== 'archived') continue;
          const when = e.archivedAt ? Date.parse(e.archivedAt) : fs.lstatSync(p).mtimeMs;
          c = { path: p, name, kind: 'link', bytes: e.bytes ?? 0, files: e.files ?? 0, ageMs: now - when, newest: new Date(when).toISOString() };
        }
      } catch (e) {
        opts.onWarn?.(`skipped ${p}: ${reasonOf(e)}`);
        continue;
      }
      if (opts.olderThanMs !== undefined && c.ageMs < opts.olderThanMs) continue;
      if (opts.largerThan !== undefined && c.bytes < opts.largerThan) continue;
      out.push(c);
    }
  });
  return out;
}

export interface ApplyOptions extends ScanOptions {
  /** park: where the files go. */
  to?: string;
  pool?: string;
  link?: LinkKind;
  prefix?: string;
  jobs?: number;
  /** Called before each candidate (index from 0) and once at the end (index = count). */
  onItem?: (index: number, count: number, c: Candidate | undefined) => void;
  archiveOptions?: Partial<ArchiveOptions>;
}

export interface ApplyItem {
  path: string;
  ok: boolean;
  bytes: number;
  error?: string;
  result?: ArchiveResult | ParkResult;
}

export interface ApplyReport {
  action: 'archive' | 'park';
  candidates: number;
  done: number;
  failed: number;
  bytes: number;
  seconds: number;
  items: ApplyItem[];
}

export async function applyPolicy(dirInput: string, action: 'archive' | 'park', opts: ApplyOptions = {}): Promise<ApplyReport> {
  const t0 = Date.now();
  if (action === 'park' && !opts.to) throw new StrataError('EINVAL', `--apply park needs --to COLD_DIR`);
  const cands = await scanCandidates(dirInput, { ...opts, mode: action });
  const items: ApplyItem[] = [];
  for (let i = 0; i < cands.length; i++) {
    const c = cands[i]!;
    opts.onItem?.(i, cands.length, c);
    try {
      const result = action === 'archive'
        ? await archive(c.path, { engine: opts.engine, pool: opts.pool, link: opts.link, prefix: opts.prefix, jobs: opts.jobs, onWarn: opts.onWarn, ...opts.archiveOptions })
        : await park(c.path, opts.to!, { engine: opts.engine, onWarn: opts.onWarn });
      items.push({ path: c.path, ok: true, bytes: c.bytes, result });
    } catch (e) {
      items.push({ path: c.path, ok: false, bytes: c.bytes, error: e instanceof StrataError ? e.message : reasonOf(e) });
    }
  }
  opts.onItem?.(cands.length, cands.length, undefined);
  const ok = items.filter((x) => x.ok);
  return {
    action, candidates: cands.length, done: ok.length, failed: items.length - ok.length, bytes: ok.reduce((a, x) => a + x.bytes, 0),
    seconds: (Date.now() - t0) / 1000, items,
  };
}
