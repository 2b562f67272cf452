// `strata tier ...`: tiering workflows — archive a directory into the tier
// behind a UNS link, restore it, park it cold as HDF5 files, status, policies
// (scan --apply) and crash recovery. Also installs the parked-link guard that
// turns "container does not exist" into "<path> is parked in ...; run strata
// tier unpark <link>" for every other command.
import type { Command } from 'commander';
import { StrataError } from '../errors.js';
import type { ProgressBar } from '../mover/progress.js';
import type { Transfer } from '../mover/index.js';
import type { TierEntry } from '../tier/index.js';
import { globalOpts, printJson, printTable, count, commandPath } from './context.js';

// The tier layer (and the mover, UNS and park layers below it) is loaded when a command runs, not for --help.
const lib = () => import('../tier/index.js');
const uns = () => import('../uns/index.js');

function jobs(s: string | undefined, dflt: number): number {
  if (s === undefined) return dflt;
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new StrataError('EINVAL', `bad -j '${s}' (1-256)`);
  return n;
}

const warn = (quiet?: boolean) => (m: string) => { if (!quiet) process.stderr.write(`strata: warning: ${m}\n`); };

/** A progress display for one long operation: phases as lines, with `bars` the mover's bar during copies (TTY only). */
async function progress(show: boolean, bars: boolean) {
  const { loadCliProgress, ProgressBar } = await import('../mover/progress.js');
  if (show && bars) await loadCliProgress();
  let bar: ProgressBar | undefined;
  const stopBar = () => { bar?.stop(); bar = undefined; };
  return {
    onPhase: (ph: string) => { if (!show) return; stopBar(); process.stderr.write(`strata: tier: ${ph}\n`); },
    onTransfer: (t: Transfer) => { if (!show || !bars) return; stopBar(); bar = new ProgressBar(); bar.start(t, undefined); },
    stop: stopBar,
  };
}

function entryLine(e: TierEntry, formatBytes: (n: number) => string): string[] {
  const size = e.bytes !== undefined ? formatBytes(e.bytes) : '-';
  let where = '-';
  if (e.state === 'archived') where = `${e.poolLabel ?? e.poolUuid}/${e.contLabel ?? e.contUuid} (${e.link})`;
  else if (e.state === 'parked') where = `${e.coldDir} (${e.parkedFiles?.length ?? '?'} file${e.parkedFiles?.length === 1 ? '' : 's'}, ${e.fileBytes !== undefined ? formatBytes(e.fileBytes) : '?'})`;
  else if (e.state === 'dangling') where = `${e.poolUuid}/${e.contUuid} (container missing)`;
  const pend = e.pending ? ` [${e.pending.running ? 'running' : 'interrupted'} ${e.pending.op}: ${e.pending.step}]` : '';
  return [e.path + (e.inside && e.inside !== '/' ? ` (contains ${e.inside})` : ''), e.state + pend, size, where];
}

// These handle parked links themselves (uns resolve describes one: it is how to ask what a path is).
const COMMANDS_WITHOUT_GUARD = new Set(['tier', 'container unlink', 'container destroy', 'container link', 'uns scan', 'uns resolve', 'umount']);


/**
 * Ctrl-C (or SIGTERM) during a journaled tier command (archive, restore,
 * park, unpark): stop at once, as a
 * crash would (the journal makes every step recoverable), and say how to go
 * on: the same command continues, `tier recover` settles it (rolled back
 * before the swap, finished after it).
 */
function onInterrupt(what: string, p: string): () => void {
  const stop = (): void => {
    process.stderr.write(`${process.stderr.isTTY ? '\n' : ''}strata: tier ${what} of ${p} interrupted: run the same command again to continue it, or 'strata tier recover ${p}' to settle it (rolled back before its point of no return, finished after)\n`);
    process.exit(130);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return () => { process.off('SIGINT', stop); process.off('SIGTERM', stop); };
}

export function registerTier(program: Command): void {
  // Parked links: every other command that is given a path under one says so clearly.
  program.hook('preAction', async (_root, action) => {
    const name = commandPath(action);
    if (COMMANDS_WITHOUT_GUARD.has(name) || name.startsWith('tier') || COMMANDS_WITHOUT_GUARD.has(name.split(' ')[0]!)) return;
    const strings: string[] = [...action.args.filter((a): a is string => typeof a === 'string')];
    for (const v of Object.values(action.opts())) if (typeof v === 'string') strings.push(v);
    if (strings.length === 0) return; // nothing to check: the guard is not even loaded
    const { parkedGuard } = await import('../tier/guard.js');
    await parkedGuard(strings, globalOpts(action).engine);
  });

  const tier = program.command('tier').description('tiering workflows: archive directories into the tier, restore, park cold, status, policies');

  tier.command('archive <dir>')
    .description('copy DIR into a new POSIX container, verify it, and replace DIR by a UNS link to it (crash-safe)')
    .option('--pool <pool>', 'pool of the new container (default: tier.pool in the config, or the only pool)')
    .option('--link <kind>', 'link kind: xattr (default) or symlink (reached through the root mount at --prefix)')
    .option('--prefix <dir>', 'symlink links: where the tier root is mounted (default STRATA_UNS_PREFIX / uns.prefix)')
    .option('--keep-source', 'keep the original tree as .DIR.strata-archive-<id> instead of deleting it')
    .option('-j, --jobs <n>', 'parallel copy workers (default 4)')
    .option('-q, --quiet', 'no progress or summary')
    .option('--json', 'print the result as JSON')
    .action(async (dir: string, o: { pool?: string; link?: string; prefix?: string; keepSource?: boolean; jobs?: string; quiet?: boolean; json?: boolean }, cmd: Command) => {
      const { archive, formatBytes } = await lib();
      const { parseLinkKind } = await uns();
      const pr = await progress(!o.quiet && !o.json && !!process.stderr.isTTY, true);
      const released = onInterrupt('archive', dir);
      try {
        const r = await archive(dir, {
          engine: globalOpts(cmd).engine, pool: o.pool, link: o.link ? parseLinkKind(o.link) : undefined, prefix: o.prefix,
          keepSource: !!o.keepSource, jobs: jobs(o.jobs, 4), onWarn: warn(o.quiet), onPhase: pr.onPhase, onTransfer: pr.onTransfer,
        });
        pr.stop();
        if (o.json) { printJson(r); return; }
        if (!o.quiet) {
          process.stderr.write(`archive: ${r.path} -> ${r.contLabel} (${r.contUuid}), ${r.files} files, ${formatBytes(r.bytes)}, ${r.link} link, ${r.passes} pass${r.passes === 1 ? '' : 'es'}, ${r.seconds.toFixed(2)} s${r.resumed ? ' (resumed)' : ''}\n`);
          if (r.keptSource) process.stderr.write(`archive: the original tree is kept at ${r.keptSource}\n`);
        }
      } finally {
        released();
        pr.stop();
      }
    });

  tier.command('restore <path>')
    .description('copy the container behind the link PATH back into a real directory at PATH, then destroy the container')
    .option('--keep-container', 'keep the container after the restore')
    .option('-j, --jobs <n>', 'parallel copy workers (default 4)')
    .option('-q, --quiet', 'no progress or summary')
    .option('--json', 'print the result as JSON')
    .action(async (p: string, o: { keepContainer?: boolean; jobs?: string; quiet?: boolean; json?: boolean }, cmd: Command) => {
      const { restore, formatBytes } = await lib();
      const pr = await progress(!o.quiet && !o.json && !!process.stderr.isTTY, true);
      const released = onInterrupt('restore', p);
      try {
        const r = await restore(p, {
          engine: globalOpts(cmd).engine, keepContainer: !!o.keepContainer, jobs: jobs(o.jobs, 4), onWarn: warn(o.quiet), onPhase: pr.onPhase, onTransfer: pr.onTransfer,
        });
        pr.stop();
        if (o.json) { printJson(r); return; }
        if (!o.quiet) process.stderr.write(`restore: ${r.path} is a local directory again (${count(r.files, 'file')}, ${formatBytes(r.bytes)}); container ${r.contUuid} ${r.containerKept ? 'kept' : 'destroyed'}, ${r.seconds.toFixed(2)} s\n`);
      } finally {
        released();
        pr.stop();
      }
    });

  tier.command('park <path>')
    .description('serialize the container behind the link PATH to HDF5 files in COLD_DIR and free it (the link stays, marked parked)')
    .requiredOption('--to <cold_dir>', 'directory for the .h5 files (created if missing)')
    .option('-j, --jobs <n>', 'serialize worker processes (default 1)')
    .option('-q, --quiet', 'no summary')
    .option('--json', 'print the result as JSON')
    .action(async (p: string, o: { to: string; jobs?: string; quiet?: boolean; json?: boolean }, cmd: Command) => {
      const { park, formatBytes } = await lib();
      const pr = await progress(!o.quiet && !o.json && !!process.stderr.isTTY, false);
      const released = onInterrupt('park', p);
      const r = await park(p, o.to, { engine: globalOpts(cmd).engine, jobs: jobs(o.jobs, 1), onWarn: warn(o.quiet), onPhase: pr.onPhase }).finally(released);
      if (o.json) { printJson(r); return; }
      if (!o.quiet) process.stderr.write(`park: ${r.path} -> ${r.coldDir} (${r.files.length} file${r.files.length === 1 ? '' : 's'}, ${formatBytes(r.fileBytes)}), container ${r.label} freed, ${r.seconds.toFixed(2)} s\n`);
    });

  tier.command('unpark <path>')
    .description('rebuild the parked container of the link PATH from its HDF5 files and re-link it')
    .option('--keep-files', 'keep the .h5 files after the container is back')
    .option('-j, --jobs <n>', 'deserialize worker processes (default 1)')
    .option('-q, --quiet', 'no summary')
    .option('--json', 'print the result as JSON')
    .action(async (p: string, o: { keepFiles?: boolean; jobs?: string; quiet?: boolean; json?: boolean }, cmd: Command) => {
      const { unpark } = await lib();
      const pr = await progress(!o.quiet && !o.json && !!process.stderr.isTTY, false);
      const released = onInterrupt('unpark', p);
      const r = await unpark(p, { engine: globalOpts(cmd).engine, keepFiles: !!o.keepFiles, jobs: jobs(o.jobs, 1), onWarn: warn(o.quiet), onPhase: pr.onPhase }).finally(released);
      if (o.json) { printJson(r); return; }
      if (!o.quiet) process.stderr.write(`unpark: ${r.path} -> ${r.label} (${r.contUuid})${r.filesRemoved ? ', parked files removed' : ''}, ${r.seconds.toFixed(2)} s\n`);
    });

  tier.command('status <path>')
    .description('what PATH is: local, archived (pool/container, size), parked (files, size) or dangling; -R: every link below it too')
    .option('-R, --recursive', 'also every link below PATH')
    .option('--no-size', 'do not compute sizes (faster)')
    .option('--json', 'print JSON (an array of entries)')
    .action(async (p: string, o: { recursive?: boolean; size: boolean; json?: boolean }, cmd: Command) => {
      const { status, formatBytes } = await lib();
      const es = await status(p, { engine: globalOpts(cmd).engine, recursive: !!o.recursive, sizes: o.size, onWarn: warn(false) });
      if (o.json) { printJson(es); return; }
      printTable(['PATH', 'STATE', 'SIZE', 'WHERE'], es.map((e) => entryLine(e, formatBytes)));
    });

  tier.command('scan <dir>')
    .description('policy: list the entries directly under DIR that match (local directories; with --apply park, archived links), or act on them')
    .option('--older-than <age>', 'unchanged for at least this long: 45s, 90m, 12h, 30d, 2w, 1y')
    .option('--larger-than <size>', 'at least this big: 4096, 10k, 512M, 1G')
    .option('--include <glob>', 'only names matching (repeatable)', (v: string, a: string[]) => [...a, v], [] as string[])
    .option('--exclude <glob>', 'skip names matching (repeatable)', (v: string, a: string[]) => [...a, v], [] as string[])
    .option('--apply <action>', 'archive (local directories) or park (archived links, needs --to)')
    .option('--to <cold_dir>', 'park: where the files go')
    .option('--pool <pool>', 'archive: pool of the new containers')
    .option('--link <kind>', 'archive: link kind (xattr or symlink)')
    .option('--prefix <dir>', 'archive: symlink link prefix')
    .option('-j, --jobs <n>', 'archive: parallel copy workers per directory (default 4)')
    .option('-n, --dry-run', 'with --apply: list what would be archived or parked, change nothing')
    .option('--json', 'print JSON')
    .action(async (dir: string, o: {
      olderThan?: string; largerThan?: string; include: string[]; exclude: string[]; apply?: string; to?: string; pool?: string; link?: string; prefix?: string; jobs?: string; json?: boolean; dryRun?: boolean;
    }, cmd: Command) => {
      const { scanCandidates, applyPolicy, parseAge, formatBytes, formatAge } = await lib();
      const { parseSize } = await import('../container/index.js');
      const base = {
        engine: globalOpts(cmd).engine, olderThanMs: o.olderThan ? parseAge(o.olderThan) : undefined, largerThan: o.largerThan ? parseSize(o.largerThan) : undefined,
        include: o.include, exclude: o.exclude, onWarn: warn(!!o.json),
      };
      if (!o.apply) {
        const cs = await scanCandidates(dir, base);
        if (o.json) { printJson(cs); return; }
        if (cs.length === 0) { process.stderr.write('scan: no candidates\n'); return; }
        printTable(['PATH', 'SIZE', 'FILES', 'AGE'], cs.map((c) => [c.path, formatBytes(c.bytes), c.files, formatAge(c.ageMs)]));
        process.stderr.write(`scan: ${cs.length} candidate${cs.length === 1 ? '' : 's'}, ${formatBytes(cs.reduce((a, c) => a + c.bytes, 0))}\n`);
        return;
      }
      if (o.apply !== 'archive' && o.apply !== 'park') throw new StrataError('EINVAL', `--apply takes archive or park, not '${o.apply}'`);
      if (o.dryRun) {
        // The candidates --apply would act on (for park: archived links), nothing done.
        if (o.apply === 'park' && !o.to) throw new StrataError('EINVAL', '--apply park needs --to COLD_DIR');
        const cs = await scanCandidates(dir, { ...base, mode: o.apply });
        if (o.json) { printJson(cs.map((c) => ({ ...c, action: o.apply }))); return; }
        for (const c of cs) await new Promise<void>((r) => process.stdout.write(`${o.apply}\t${c.path}\t${formatBytes(c.bytes)}\n`, () => r()));
        process.stderr.write(`${o.apply} --dry-run: ${count(cs.length, 'candidate')}, ${formatBytes(cs.reduce((a, c) => a + c.bytes, 0))}; nothing changed\n`);
        return;
      }
      const tty = !o.json && !!process.stderr.isTTY;
      const { loadCliProgress } = await import('../mover/progress.js');
      const { parseLinkKind } = await uns();
      const cliProgress = tty ? await loadCliProgress() : undefined;
      const bar = cliProgress ? new cliProgress.SingleBar({ stream: process.stderr, format: `${o.apply} {bar} {value}/{total} | {name}`, hideCursor: true }, cliProgress.Presets.shades_classic) : undefined;
      let started = false;
      const r = await applyPolicy(dir, o.apply, {
        ...base, to: o.to, pool: o.pool, link: o.link ? parseLinkKind(o.link) : undefined, prefix: o.prefix, jobs: jobs(o.jobs, 4),
        onItem: (i, n, c) => {
          if (!bar) return;
          if (!started) { bar.start(n, 0, { name: '' }); started = true; }
          bar.update(i, { name: c?.name ?? 'done' });
        },
      });
      bar?.stop();
      if (o.json) printJson(r);
      else {
        for (const it of r.items) process.stderr.write(it.ok ? `${o.apply}: ${it.path}: done (${formatBytes(it.bytes)})\n` : `strata: ${it.path}: ${it.error}\n`);
        process.stderr.write(`${o.apply}: ${count(r.candidates, 'candidate')}, ${r.done} done, ${r.failed} failed, ${formatBytes(r.bytes)}, ${r.seconds.toFixed(2)} s\n`);
      }
      if (r.failed > 0) process.exitCode = 1;
    });

  tier.command('recover [path]')
    .description('finish or roll back interrupted tier operations (all, or the one on PATH) from their journals')
    .option('--forget', 'only drop the journal (after fixing things by hand)')
    .option('--json', 'print JSON')
    .action(async (p: string | undefined, o: { forget?: boolean; json?: boolean }, cmd: Command) => {
      const { recover } = await lib();
      const rs = await recover(p, { engine: globalOpts(cmd).engine, forget: !!o.forget, onWarn: warn(false) });
      if (o.json) printJson(rs);
      else if (rs.length === 0) process.stderr.write('recover: nothing to do\n');
      else for (const r of rs) process.stderr.write(r.error ? `strata: ${r.op} ${r.path}: ${r.error}\n` : `recover: ${r.op} ${r.path} (step ${r.step}): ${r.outcome}\n`);
      if (rs.some((r) => r.outcome === 'failed')) process.exitCode = 1;
    });
}
