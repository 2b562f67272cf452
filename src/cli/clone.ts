// `strata container clone --src LOC --dst LOC`: object-level copy of a
// container into a new one (src/container/clone.ts), within a pool, across
// pools and across engines. Locations: daos://<pool>/<cont>, /<pool-uuid>/<cont-uuid>,
// UNS paths; the destination names a pool and optionally the new label
// (daos://<pool>[/<label>], /<pool-uuid>). Either may carry an engine prefix,
// ENGINE-URL::LOCATION (e.g. postgres://u@h/db::daos://tank/copy), or take the
// engine from --src-engine / --dst-engine; the global --engine is the default.
import path from 'node:path';
import type { Command } from 'commander';
import type CliProgress from 'cli-progress';
import { globalOpts, printJson } from './context.js';
import { StrataError } from '../errors.js';
import type { Engine } from '../engine/types.js';
import { openEngine, defaultEngineUrl } from '../engine/open.js';
import type { CloneProgress } from '../container/index.js';

// The container and UNS layers are loaded when the clone runs, not for --help.
const lib = () => import('../container/index.js');
const location = () => import('../uns/location.js');

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const LABEL = /^[a-zA-Z0-9._:-]{1,127}$/;

/** Splits `ENGINE-URL::LOCATION` (the location starts with daos:// or /); no prefix: engine undefined. */
export function splitEnginePrefix(arg: string): { engine?: string; loc: string } {
  for (const sep of ['::daos://', '::/']) {
    const i = arg.indexOf(sep);
    if (i > 0) return { engine: arg.slice(0, i), loc: arg.slice(i + 2) };
  }
  return { loc: arg };
}

/** Parses a clone destination: a pool, and optionally the new container's label. */
export async function parseCloneDst(loc: string): Promise<{ pool: string; cont?: string }> {
  if (loc.startsWith('daos://')) {
    const rest = loc.slice('daos://'.length).replace(/\/+$/, '');
    const [pool, cont, ...more] = rest.split('/');
    if (!pool || !LABEL.test(pool)) throw new StrataError('EINVAL', `bad destination '${loc}' (expected daos://<pool>[/<new-label>])`);
    if (more.length) throw new StrataError('EINVAL', `bad destination '${loc}': a clone is a whole container, give daos://<pool>[/<new-label>] without a path`);
    if (cont !== undefined && !LABEL.test(cont)) throw new StrataError('EINVAL', `bad container label '${cont}' in '${loc}'`);
    return cont === undefined ? { pool } : { pool, cont };
  }
  const parts = loc.replace(/\/+$/, '').split('/');
  if (loc.startsWith('/') && parts.length === 2 && UUID.test(parts[1]!)) return { pool: parts[1]! };
  const { resolveLocation } = await location();
  const r = await resolveLocation(loc);
  if (r.kind === 'posix') throw new StrataError('EINVAL', `bad destination '${loc}': expected daos://<pool>[/<new-label>] or /<pool-uuid> (to copy into a POSIX directory use 'strata filesystem copy')`);
  if (r.path !== '/') throw new StrataError('EINVAL', `bad destination '${loc}': a clone is a whole container, not a path inside one`);
  // An existing UNS link or /<pool-uuid>/<cont-uuid>: the clone refuses it as an existing container.
  return { pool: r.pool, cont: r.cont };
}

async function parseCloneSrc(loc: string): Promise<{ pool: string; cont: string }> {
  const { resolveLocation } = await location();
  const r = await resolveLocation(loc);
  if (r.kind === 'posix') throw new StrataError('EINVAL', `bad source '${loc}': not a container (expected daos://<pool>/<cont>, /<pool-uuid>/<cont-uuid> or a UNS path)`);
  if (r.path !== '/') throw new StrataError('EINVAL', `bad source '${loc}': clone copies whole containers, not ${r.path} inside one (use 'strata filesystem copy')`);
  return { pool: r.pool, cont: r.cont };
}

function normalUrl(u: string | undefined): string {
  const s = u || defaultEngineUrl();
  if (s.startsWith('lmdb:')) return `lmdb:${path.resolve(s.slice(5))}`;
  if (s.startsWith('/') || s.startsWith('.')) return `lmdb:${path.resolve(s)}`;
  return s;
}

function jobsOf(text: string | undefined): number {
  if (text === undefined) return 1;
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 256) throw new StrataError('EINVAL', `bad -j '${text}': expected 1..256`);
  return Number(text);
}

interface CloneCliOpts { src: string; dst: string; srcEngine?: string; dstEngine?: string; snap?: string; jobs?: string; json?: boolean; quiet?: boolean }

export function registerClone(program: Command): void {
  const cont = program.commands.find((c) => c.name() === 'container');
  if (!cont) throw new Error('registerClone: the container command must be registered first');

  cont.command('clone')
    .description('copy a container (any type) at the object level into a new container: same pool, another pool or another engine')
    .requiredOption('--src <location>', 'source container: daos://<pool>/<cont>, /<pool-uuid>/<cont-uuid> or a UNS path; [ENGINE-URL::]LOCATION')
    .requiredOption('--dst <location>', 'destination pool and new label: daos://<pool>[/<label>] or /<pool-uuid>; [ENGINE-URL::]LOCATION')
    .option('--src-engine <url>', 'engine of the source (default: --engine)')
    .option('--dst-engine <url>', 'engine of the destination (default: --engine)')
    .option('--snap <name>', 'clone this snapshot of the source (default: a snapshot taken for the clone, destroyed after)')
    .option('-j, --jobs <n>', 'objects copied concurrently (default 1)')
    .option('-q, --quiet', 'no progress bar or summary line')
    .option('--json', 'print the result as JSON')
    .action(async (o: CloneCliOpts, cmd: Command) => {
      const { cloneContainer } = await lib();
      const s = splitEnginePrefix(o.src);
      const d = splitEnginePrefix(o.dst);
      if (s.engine !== undefined && o.srcEngine !== undefined) throw new StrataError('EINVAL', 'give the source engine either as a --src prefix or with --src-engine, not both');
      if (d.engine !== undefined && o.dstEngine !== undefined) throw new StrataError('EINVAL', 'give the destination engine either as a --dst prefix or with --dst-engine, not both');
      const jobs = jobsOf(o.jobs);
      const src = await parseCloneSrc(s.loc);
      const dst = await parseCloneDst(d.loc);
      const g = globalOpts(cmd).engine;
      const srcUrl = normalUrl(s.engine ?? o.srcEngine ?? g);
      const dstUrl = normalUrl(d.engine ?? o.dstEngine ?? g);
      const engines: Engine[] = [];
      let bar: CliProgress.SingleBar | undefined;
      try {
        const se = await openEngine(srcUrl);
        engines.push(se);
        const de = dstUrl === srcUrl ? se : await openEngine(dstUrl);
        if (de !== se) engines.push(de);
        const t0 = performance.now();
        let onProgress: ((p: CloneProgress) => void) | undefined;
        if (!o.quiet && !o.json && process.stderr.isTTY) {
          const { loadCliProgress } = await import('../mover/progress.js');
          const cliProgress = await loadCliProgress();
          bar = new cliProgress.SingleBar({
            stream: process.stderr, hideCursor: true, etaBuffer: 20, fps: 5,
            format: '{bar} {percentage}% | {value}/{tobj} objects | {mb} MB | {rate} MB/s | ETA {eta_formatted}',
          }, cliProgress.Presets.shades_classic);
          bar.start(1, 0, { tobj: '?', mb: '0.0', rate: '0.0' });
          onProgress = (p) => {
            const secs = Math.max(0.001, (performance.now() - t0) / 1000);
            const total = p.totalObjects ?? Math.max(p.objects + 1, 1);
            bar!.setTotal(Math.max(1, total));
            bar!.update(p.objects, { tobj: p.totalObjects ?? `${p.objects}+`, mb: (p.bytes / 1e6).toFixed(1), rate: (p.bytes / 1e6 / secs).toFixed(1) });
          };
        }
        const r = await cloneContainer({ engine: se, ...src }, { engine: de, ...dst }, { snap: o.snap, jobs, onProgress });
        bar?.stop();
        bar = undefined;
        if (o.json) { printJson({ ...r, srcEngine: se.location, dstEngine: de.location }); return; }
        process.stdout.write(`${r.uuid}\n`);
        if (!o.quiet) {
          const mbs = r.seconds > 0 ? r.bytes / 1e6 / r.seconds : 0;
          process.stderr.write(`clone: ${r.srcLabel} -> ${r.label} (${r.uuid}, ${r.type}): ${r.objects} objects, ${r.dkeys} dkeys, ${r.akeys} akeys, ${r.extents} extents, ${r.bytes} bytes, ${r.seconds.toFixed(2)} s, ${mbs.toFixed(1)} MB/s\n`);
        }
      } finally {
        bar?.stop();
        for (const e of engines.reverse()) await e.close();
      }
    });
}
