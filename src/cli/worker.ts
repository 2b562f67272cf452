// `strata worker`: runs the items of distributed jobs (fs copy/sync --queue,
// container serialize/deserialize --queue) through the jobs layer.
import type { Command } from 'commander';
import { StrataError } from '../errors.js';
import { globalOpts } from './context.js';

// The job kinds a worker runs: loading each registers it (src/jobs/registry.ts).
// Loaded when the worker runs, not for --help.
const JOB_KINDS = [() => import('../mover/copy-job.js'), () => import('../park/rank-job.js')];
const lib = () => import('../jobs/worker.js');

export function registerWorker(program: Command): void {
  program.command('worker')
    .description('work on distributed jobs (strata fs copy/sync --queue, container serialize/deserialize --queue) through the PostgreSQL engine; exits when the queue is drained')
    .option('--lease <duration>', 'lease of a claimed item, renewed while it runs; a dead worker\'s items go to others after it (e.g. 5s, 500ms)', '5s')
    .option('--forever', 'keep polling for new jobs instead of exiting when the queue is drained')
    .option('-j, --jobs <n>', 'lanes (16 items in flight each)', '1')
    .option('--wait <duration>', 'with no job in the queue, wait this long for one before exiting', '60s')
    .option('-q, --quiet', 'no summary')
    .action(async (o: { lease: string; forever?: boolean; jobs: string; wait: string; quiet?: boolean }, cmd: Command) => {
      const { parseDuration, runWorker } = await lib();
      const jobs = Number(o.jobs);
      if (!Number.isInteger(jobs) || jobs < 1 || jobs > 256) throw new StrataError('EINVAL', `bad -j '${o.jobs}' (1-256)`);
      const leaseMs = parseDuration(o.lease);
      const waitMs = parseDuration(o.wait);
      for (const load of JOB_KINDS) await load();
      const ac = new AbortController();
      const onSig = () => { ac.abort(); process.stderr.write('strata: worker: stopping after the items in flight\n'); };
      process.once('SIGINT', onSig);
      process.once('SIGTERM', onSig);
      try {
        const s = await runWorker({
          engine: globalOpts(cmd).engine, leaseMs, waitMs, forever: !!o.forever, jobs, signal: ac.signal,
          onError: (p, reason) => process.stderr.write(`strata: ${p}: ${reason}\n`),
          onLog: (m) => process.stderr.write(`strata: worker: ${m}\n`),
        });
        if (!o.quiet) process.stderr.write(`worker: ${s.items} items, ${s.failed} failed, jobs [${s.jobs.join(', ')}], ${s.seconds.toFixed(2)} s\n`);
      } finally {
        process.off('SIGINT', onSig);
        process.off('SIGTERM', onSig);
      }
    });
}
