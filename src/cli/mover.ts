// `strata filesystem copy | sync | compare`: the data mover on the command line.
import type { Command } from 'commander';
import { StrataError } from '../errors.js';
import type { CopySummary, Difference, Transfer } from '../mover/index.js';
import { count, globalOpts, printJson, secondsOf } from './context.js';

// The mover is loaded when a command runs, not for --help; each command loads
// only its own modules (a sync never loads HDF5 or the distributed queue).

interface MoveFlags {
  src?: string; dst?: string; snap?: string; jobs: string; xattrs?: string; verify?: boolean; quiet?: boolean; json?: boolean;
  resume?: boolean; restart?: boolean; delete?: boolean; dryRun?: boolean; h5Timeout?: string; checksum?: boolean; skipUnsupported?: boolean; queue?: boolean;
}

function jobs(s: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new StrataError('EINVAL', `bad -j '${s}' (1-256)`);
  return n;
}

/**
 * The sources and the destination: positional (SRC... DST, as cp and rsync
 * take them) or --src/--dst, not a mix. Several sources go into DST, which
 * must be an existing directory (as cp).
 */
async function endsOf(what: 'copy' | 'sync', paths: string[], o: MoveFlags, cmd: Command): Promise<{ sources: string[]; dst: string }> {
  if (paths.length > 0 && (o.src !== undefined || o.dst !== undefined)) {
    throw new StrataError('EINVAL', `${what}: give the source and destination as arguments or as --src/--dst, not both`);
  }
  if (paths.length === 0) {
    if (!o.src || !o.dst) throw new StrataError('EINVAL', `${what}: a source and a destination are required (${what} SRC DST, or --src SRC --dst DST)`);
    return { sources: [o.src], dst: o.dst };
  }
  if (paths.length === 1) throw new StrataError('EINVAL', `${what}: missing destination after '${paths[0]}'`);
  const dst = paths[paths.length - 1]!;
  const sources = paths.slice(0, -1);
  if (sources.length > 1) {
    if (o.queue) throw new StrataError('EINVAL', `${what}: --queue takes one source`);
    const { isDirectoryLocation } = await import('../mover/copy.js');
    if (!(await isDirectoryLocation(dst, globalOpts(cmd).engine))) throw new StrataError('ENOTDIR', `${what}: target '${dst}' is not a directory (several sources go into a directory)`);
  }
  return { sources, dst };
}

async function runMove(what: 'copy' | 'sync', paths: string[], o: MoveFlags, cmd: Command): Promise<void> {
  if (o.restart && o.queue) throw new StrataError('EINVAL', 'copy: --restart is not supported with --queue');
  const { sources, dst } = await endsOf(what, paths, o, cmd);
  if (o.dryRun && o.queue) throw new StrataError('EINVAL', 'sync: --dry-run is not supported with --queue');
  const { syncTarget } = await import('../mover/sync.js');
  for (const src of sources) {
    // rsync's rule: SRC/ syncs SRC's content into DST, SRC syncs into DST/<name>.
    const s = await moveOne(what, src, what === 'sync' ? syncTarget(src, dst) : dst, o, cmd);
    if (s.stopped) return; // interrupted, or a full disk: the other sources would stop the same way
  }
}

async function moveOne(what: 'copy' | 'sync', srcInput: string, dstInput: string, o: MoveFlags, cmd: Command): Promise<CopySummary> {
  const { parseXattrMode } = await import('../mover/xattrs.js');
  const { loadCliProgress, ProgressBar, summaryLine } = await import('../mover/progress.js');
  const ac = new AbortController();
  // Said once, when the run has stopped (interruptedLine): the items in flight are cut short, not failed.
  const onSig = () => { ac.abort(); };
  process.once('SIGINT', onSig);
  process.once('SIGTERM', onSig);
  const showBar = !o.quiet && !o.json && process.stderr.isTTY;
  if (showBar && !o.queue) await loadCliProgress();
  const bar = showBar ? new ProgressBar() : undefined;
  const common = {
    jobs: jobs(o.jobs), xattrs: parseXattrMode(o.xattrs), verify: !!o.verify, snap: o.snap, engine: globalOpts(cmd).engine,
    signal: ac.signal,
    onError: (p: string, reason: string) => { if (bar) process.stderr.write('\r\x1b[K'); process.stderr.write(`strata: ${p}: ${reason}\n`); },
    onWarn: (m: string) => { if (!o.quiet) process.stderr.write(`strata: warning: ${m}\n`); },
    onStart: (t: Transfer) => bar?.start(t, undefined),
  };
  let s: CopySummary;
  try {
    s = o.queue
      ? await (await import('../mover/distributed.js')).queuedCopy(srcInput, dstInput, {
        ...common, onStart: undefined, delete: !!o.delete, checksum: !!o.checksum, resume: !!o.resume,
        onProgress: (c) => {
          if (!showBar) return;
          process.stderr.write(`\r\x1b[Kqueue: ${c.done}/${c.total} items done, ${c.failed} failed, ${(c.bytes / 1e6).toFixed(1)} MB`);
        },
        onIdle: (secs) => { if (!o.quiet) process.stderr.write(`${showBar ? '\r\x1b[K' : ''}strata: ${what}: nothing done for ${secs} s: are workers running? (strata worker --engine <the same URL>)\n`); },
      }, what)
      : what === 'copy'
      ? await (await import('../mover/copy.js')).copy(srcInput, dstInput, { ...common, resume: !!o.resume, restart: !!o.restart, skipUnsupported: !!o.skipUnsupported, h5StallMs: secondsOf('--h5-timeout', o.h5Timeout) })
      : await (await import('../mover/sync.js')).sync(srcInput, dstInput, {
        ...common, delete: !!o.delete, checksum: !!o.checksum,
        ...(o.dryRun ? { onStart: undefined, dryRun: (w: string, p: string) => { process.stdout.write(`${w}\t${p}\n`); } } : {}),
      });
  } finally {
    bar?.stop();
    if (o.queue && showBar) process.stderr.write('\r\x1b[K');
    process.off('SIGINT', onSig);
    process.off('SIGTERM', onSig);
  }
  if (o.json) printJson({ ...s, failures: s.failures });
  if (s.stopped === 'interrupted') {
    process.stderr.write(interruptedLine(what, s) + '\n');
    process.exitCode = 130;
    return s;
  }
  if (o.dryRun) {
    if (!o.json && !o.quiet) process.stderr.write(`sync --dry-run: nothing changed; ${count(s.unchanged, 'entry', 'entries')} already identical\n`);
    if (s.errors > 0) process.exitCode = 1;
    return s;
  }
  if (!o.json && !o.quiet) process.stderr.write(summaryLine(what, s) + '\n');
  if (s.stopped) {
    process.stderr.write(`strata: ${what} stopped: ${s.stopped}${what === 'copy' ? '; fix the cause and run the same command with --resume to continue' : ''}\n`);
    process.exitCode = 1; // an interrupt returned above
  } else if (s.errors > 0) {
    if (!o.quiet) process.stderr.write(`strata: ${what}: ${count(s.errors, 'error')}${what === 'copy' ? ' (run again with --resume to retry them)' : ''}\n`);
    process.exitCode = 1;
  }
  return s;
}

/** A word as a POSIX shell reads it back unchanged. */
function shellWord(w: string): string {
  return /^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`;
}

/**
 * The one line of an interrupted move: what was done and the exact command
 * that continues it (this command line, with --resume for a copy).
 */
function interruptedLine(what: 'copy' | 'sync', s: CopySummary): string {
  const args = process.argv.slice(2).filter((a) => a !== '--restart');
  if (what === 'copy' && !args.includes('--resume')) args.push('--resume');
  const done = s.files + s.symlinks + s.hardlinks + s.specials + s.skipped + s.unchanged;
  const errors = s.errors > 0 ? `, ${count(s.errors, 'error')}` : '';
  return `strata: ${what} interrupted after ${count(done, 'item')} (${(s.bytes / 1e6).toFixed(1)} MB)${errors}; continue with: strata ${args.map(shellWord).join(' ')}`;
}

function moveOptions(c: Command): Command {
  return c.option('--src <location>', 'source: a POSIX path, a UNS path or daos://<pool>/<cont>[/path]')
    .option('--dst <location>', 'destination: a POSIX path, a UNS path or daos://<pool>/<cont>[/path]')
    .option('--snap <name>', 'read this snapshot of a container source (default: one taken for the run)')
    .option('-j, --jobs <n>', 'parallel workers', '1')
    .option('--xattrs <mode>', 'extended attributes to copy: none, all, non-lustre', 'non-lustre')
    .option('--verify', 'read every copied file back and compare checksums')
    .option('-q, --quiet', 'no progress bar or summary')
    .option('--json', 'print the summary as JSON');
}

export function registerMover(program: Command): void {
  const fsc = program.commands.find((c) => c.name() === 'filesystem');
  if (!fsc) throw new Error('registerMover: the filesystem command must be registered first');

  moveOptions(fsc.command('copy').argument('[paths...]', 'SRC... DST (or --src/--dst)').description('copy a file or tree between POSIX and containers (cp -a semantics), from a snapshot of a container source'))
    .option('--resume', 'continue an interrupted copy of the same --src/--dst')
    .option('--restart', 'discard an interrupted copy of the same --src/--dst (its journal and temporary files) and copy again')
    .option('--queue', 'distributed copy: plan the copy into a work queue in the PostgreSQL engine and wait for `strata worker` processes to do it')
    .option('--skip-unsupported', 'HDF5 import: copy what is supported and skip unsupported objects')
    .option('--h5-timeout <seconds>', 'HDF5 import: refuse a .h5 source the HDF5 library makes no progress on for this long (default 60)')
    .action((paths: string[], o: MoveFlags, cmd: Command) => runMove('copy', paths, o, cmd));

  moveOptions(fsc.command('sync').argument('[paths...]', 'SRC... DST (or --src/--dst)').description('make DST/<name of SRC> identical to SRC, or DST itself for SRC/ (as rsync -a), copying only what differs'))
    .option('--delete', 'remove what the source does not have')
    .option('-n, --dry-run', 'change nothing: list what would be copied, replaced or deleted')
    .option('--checksum', 'compare content instead of size and mtime')
    .option('--queue', 'distributed sync: the differing entries go into a work queue in the PostgreSQL engine, done by `strata worker` processes')
    .addHelpText('after', `
As rsync: 'sync A B' makes B/A identical to A; 'sync A/ B' (a trailing slash,
or a container's root daos://pool/cont) makes B itself identical to A's content.
With --delete, 'sync A B' removes only inside B/A.`)
    .action((paths: string[], o: MoveFlags, cmd: Command) => runMove('sync', paths, o, cmd));

  fsc.command('compare').description('compare two trees (POSIX or containers); exit 0 when identical, 1 when not')
    .argument('<a>').argument('<b>')
    .option('--json', 'print the result as JSON')
    .option('--snap <name>', 'compare this snapshot of A (a container)')
    .option('--xattrs <mode>', 'extended attributes to compare: none, all, non-lustre', 'all')
    .option('--no-content', 'do not compare the content of same-size files')
    .option('--dir-times', 'also compare directory mtimes')
    .option('-q, --summary', 'print only how many differences of each kind (exit 1 if any)')
    .action(async (a: string, b: string, o: { json?: boolean; snap?: string; xattrs?: string; content: boolean; dirTimes?: boolean; summary?: boolean }, cmd: Command) => {
      const { compare } = await import('../mover/compare.js');
      const { parseXattrMode } = await import('../mover/xattrs.js');
      const diffs: Difference[] = [];
      // Summary mode keeps one counter per kind, never the list.
      const kinds = new Map<string, number>();
      const r = await compare(a, b, {
        engine: globalOpts(cmd).engine, snap: o.snap, xattrs: parseXattrMode(o.xattrs), content: o.content, dirTimes: !!o.dirTimes,
        onDifference: (d) => {
          if (o.summary) { kinds.set(d.what, (kinds.get(d.what) ?? 0) + 1); return; }
          if (o.json) { if (diffs.length < 100000) diffs.push(d); return; }
          const detail = d.a !== undefined || d.b !== undefined ? `: ${d.a ?? '-'} | ${d.b ?? '-'}` : '';
          process.stdout.write(`${d.what}\t${d.path}${detail}\n`);
        },
      });
      const counts = Object.fromEntries([...kinds].sort(([x], [y]) => (x < y ? -1 : 1)));
      if (o.json) printJson(o.summary ? { ...r, counts } : { ...r, differenceList: diffs });
      else {
        if (o.summary) for (const [k, n] of Object.entries(counts)) process.stdout.write(`${k}\t${n}\n`);
        process.stderr.write(`compare: ${count(r.entries, 'entry', 'entries')}, ${count(r.differences, 'difference')}, ${r.seconds.toFixed(2)} s\n`);
      }
      process.exitCode = r.identical ? 0 : 1;
    });
}
