// `strata container serialize | deserialize | check`: container parking (src/park).
import type { Command } from 'commander';
import { withEngine, globalOpts, printJson, secondsOf } from './context.js';
import { StrataError } from '../errors.js';
import type { Layout } from '../park/index.js';

// The park layer (HDF5, worker processes) is loaded when a command runs, not for --help.
const lib = () => import('../park/index.js');

function jobsOf(text: string | undefined): number {
  if (text === undefined) return 1;
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 256) throw new StrataError('EINVAL', `bad -j '${text}': expected 1..256 workers`);
  return Number(text);
}

export function registerPark(program: Command): void {
  const cont = program.commands.find((c) => c.name() === 'container');
  if (!cont) throw new Error('registerPark: the container command must be registered first');

  cont.command('serialize <pool> <cont>')
    .description('write a container (any type) to HDF5 files <cont-uuid>_rank<N>.h5 (strata\'s packed layout, or --layout daos)')
    .option('-o, --output-path <dir>', 'directory for the files (default: current directory)')
    .option('-j, --jobs <n>', 'worker processes, one file each (default 1)')
    .option('--snap <name>', 'serialize this snapshot (default: a snapshot taken for the run)')
    .option('--queue', 'the -j ranks are written by `strata worker` processes on any node (PostgreSQL engine; DIR must be shared)')
    .option('--layout <name>', "packed (default: compact, strata reads it) or daos (mpiFileUtils' daos-serialize layout, for DAOS's daos-deserialize; about 1 KiB more per small file)")
    .option('--json', 'print JSON')
    .action(async (pool: string, c: string, o: { outputPath?: string; jobs?: string; snap?: string; queue?: boolean; layout?: string; json?: boolean }, cmd: Command) => {
      const jobs = jobsOf(o.jobs);
      const { serializeContainer } = await lib();
      // Ctrl-C: the ranks stop and their temporary files are removed before exiting 130.
      const ac = new AbortController();
      const onSig = (): void => ac.abort();
      process.once('SIGINT', onSig);
      process.once('SIGTERM', onSig);
      let r;
      try {
        r = await withEngine(cmd, (e) => serializeContainer(e, pool, c, {
          outputDir: o.outputPath, jobs, snap: o.snap, engineUrl: globalOpts(cmd).engine, queue: !!o.queue, signal: ac.signal, layout: o.layout as Layout | undefined, onIdle: (secs: number) => process.stderr.write(`strata: nothing done for ${secs} s: are workers running? (strata worker --engine <the same URL>)\n`),
        }));
      } catch (e) {
        if (!ac.signal.aborted) throw e;
        process.stderr.write(`strata: container serialize: interrupted; no file was written (temporary files removed)\n`);
        process.exitCode = 130;
        return;
      } finally {
        process.off('SIGINT', onSig);
        process.off('SIGTERM', onSig);
      }
      if (o.json) { printJson(r); return; }
      process.stdout.write(`serialized container ${r.label} (${r.uuid}) at epoch ${r.epoch}: ${r.objects} objects, ${r.bytes} bytes\n`);
      for (const f of r.files) process.stdout.write(`${f}\n`);
    });

  cont.command('deserialize <pool> <files...>')
    .description('create a new container from serialized HDF5 files (or a directory of them)')
    .option('--label <label>', 'label of the new container (default: the label in the files)')
    .option('-j, --jobs <n>', 'worker processes (default 1)')
    .option('--queue', 'the rank files are loaded by `strata worker` processes on any node (PostgreSQL engine; the files must be shared)')
    .option('--h5-timeout <seconds>', 'refuse a file the HDF5 library makes no progress on for this long (default 60)')
    .option('--json', 'print JSON')
    .action(async (pool: string, files: string[], o: { label?: string; jobs?: string; queue?: boolean; h5Timeout?: string; json?: boolean }, cmd: Command) => {
      const jobs = jobsOf(o.jobs);
      const h5StallMs = secondsOf('--h5-timeout', o.h5Timeout);
      const { deserializeContainer } = await lib();
      const r = await withEngine(cmd, (e) => deserializeContainer(e, pool, files, {
        label: o.label, jobs, h5StallMs, engineUrl: globalOpts(cmd).engine, queue: !!o.queue, onIdle: (secs: number) => process.stderr.write(`strata: nothing done for ${secs} s: are workers running? (strata worker --engine <the same URL>)\n`),
      }));
      if (o.json) { printJson(r); return; }
      process.stdout.write(`${r.uuid}\n`);
    });

  cont.command('check <pool> <cont>')
    .description('print a content digest of a container (objects, keys, values, extents, properties, ACL, attributes; not the label)')
    .option('--snap <name>', 'digest this snapshot (default: a snapshot taken for the run)')
    .option('--json', 'print JSON')
    .action(async (pool: string, c: string, o: { snap?: string; json?: boolean }, cmd: Command) => {
      const { checkContainer } = await lib();
      const r = await withEngine(cmd, (e) => checkContainer(e, pool, c, { snap: o.snap }));
      if (o.json) { printJson(r); return; }
      process.stdout.write(`${r.digest}  ${r.label}\n`);
      process.stdout.write(`  ${r.objects} objects, ${r.dkeys} dkeys, ${r.akeys} akeys (${r.singles} single values, ${r.arrays} arrays with ${r.extents} extents), ${r.bytes} bytes; type ${r.type}\n`);
    });
}
