// `strata pool ...`: thin wrappers over src/container/pool.ts.
import fs from 'node:fs';
import type { Command } from 'commander';
import { withEngine, printJson, printTable } from './context.js';
import { StrataError, fromSystemError } from '../errors.js';
import type { PoolRecord, ContainerRecord, AclView } from '../container/index.js';
import type { DfsCheckReport } from '../dfs/index.js';
import type { Engine } from '../engine/types.js';

// The container layer is loaded when a command runs, not for --help.
const lib = () => import('../container/index.js');

export async function readAclFile(file: string, target: 'pool' | 'container'): Promise<string[]> {
  let text: string;
  try { text = fs.readFileSync(file, 'utf8'); } catch (e) { throw fromSystemError(e, `cannot read ACL file ${file}`); }
  const { parseAclText } = await lib();
  return parseAclText(text, target);
}

export function printAcl(acl: AclView, opts: { json?: boolean; outfile?: string; verbose?: boolean }): void {
  if (opts.json) { printJson(acl); return; }
  const text = [`# Owner: ${acl.owner}`, `# Owner-Group: ${acl.group}`, '# Entries:', ...acl.entries].join('\n') + '\n';
  if (opts.outfile) {
    try { fs.writeFileSync(opts.outfile, text); } catch (e) { throw fromSystemError(e, `cannot write ${opts.outfile}`); }
    return;
  }
  process.stdout.write(text);
}

export function registerPool(program: Command): Command {
  const pool = program.command('pool').description('manage pools (a pool is named by label or UUID)');

  pool.command('check')
    .description("verify the engine's invariants (index entries point at present data, no orphan extents, space accounting) and the DFS namespace of every POSIX container (entries name existing inodes, link counts agree, nothing unreachable, sizes cover stored bytes); exit 1 on problems")
    .option('--repair', 'fix what is safe to fix: in the engine space counts, reverse index, orphan extent files; in DFS namespaces objects nothing names')
    .option('--pool <pool>', 'check the POSIX containers of this pool only (default: every pool)')
    .option('--json', 'print the report as JSON')
    .action(async (opts: { repair?: boolean; json?: boolean; pool?: string }, cmd: Command) => {
      const { resolvePool, catalogKeys } = await lib();
      const { checkDfs } = await import('../dfs/index.js');
      const { report, dfs } = await withEngine(cmd, async (engine) => {
        const report = await engine.check({ repair: opts.repair });
        const pools = opts.pool !== undefined
          ? [(await resolvePool(engine, opts.pool)).uuid]
          : (await catListAll(engine, catalogKeys.pools)).map(([, v]) => (v as PoolRecord).uuid);
        const dfs: Array<{ pool: string; container: string; label: string } & DfsCheckReport> = [];
        for (const p of pools) {
          for (const [, v] of await catListAll(engine, catalogKeys.conts(p))) {
            const c = v as ContainerRecord;
            if (c.type !== 'POSIX') continue;
            dfs.push({ pool: p, container: c.uuid, label: c.label, ...(await checkDfs(engine, c.uuid, { repair: opts.repair })) });
          }
        }
        return { report, dfs };
      });
      const dfsProblems = dfs.reduce((n, d) => n + d.problems.length, 0);
      if (opts.json) printJson({ ...report, dfs });
      else {
        process.stdout.write(`checked ${report.records} records, ${report.fileExtents} extents in ${report.extentFiles} extent files: ${report.problems.length} problem(s)\n`);
        for (const p of report.problems) process.stdout.write(`  problem: ${p}\n`);
        for (const r of report.repaired) process.stdout.write(`  repaired: ${r}\n`);
        process.stdout.write(`checked ${dfs.length} POSIX container(s), ${dfs.reduce((n, d) => n + d.inodes, 0)} inodes: ${dfsProblems} problem(s)\n`);
        for (const d of dfs) for (const p of d.problems) process.stdout.write(`  problem: container ${d.label} (${d.container}): ${p}\n`);
        for (const d of dfs) for (const r of d.repaired) process.stdout.write(`  repaired: container ${d.label} (${d.container}): ${r}\n`);
      }
      if ((report.problems.length > 0 && !opts.repair) || dfsProblems > 0) process.exitCode = 1;
    });

  pool.command('create <label>')
    .description('create a pool; prints its UUID')
    .option('--properties <list>', 'properties, name:value[,name:value] (reclaim, space_rb, rd_fac, ec_cell_sz, scrub)')
    .option('--acl-file <file>', 'ACL file, one entry per line (default A::OWNER@:rw, A:G:GROUP@:rw, A::EVERYONE@:r)')
    .option('--json', 'print the pool record as JSON')
    .action(async (label: string, o: { properties?: string; aclFile?: string; json?: boolean }, cmd: Command) => {
      const { createPool, parsePropList } = await lib();
      const props = o.properties ? parsePropList(o.properties) : undefined;
      const acl = o.aclFile ? await readAclFile(o.aclFile, 'pool') : undefined;
      const rec = await withEngine(cmd, (e) => createPool(e, label, { props, acl }));
      if (o.json) printJson(rec); else process.stdout.write(`${rec.uuid}\n`);
    });

  pool.command('list').alias('ls')
    .description('list the pools you may read')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const { listPools } = await lib();
      const pools = await withEngine(cmd, (e) => listPools(e));
      if (o.json) { printJson(pools); return; }
      if (pools.length === 0) { process.stdout.write('no pools\n'); return; }
      printTable(['Pool', 'UUID', 'Owner', 'Group', 'Containers'], pools.map((p) => [p.label, p.uuid, p.owner, p.group, p.containers]));
    });

  pool.command('query <pool>')
    .description('show a pool: owner, ACL, properties, containers, engine usage')
    .option('--json', 'print JSON')
    .action(async (ref: string, o: { json?: boolean }, cmd: Command) => {
      const { queryPool, formatSize } = await lib();
      const q = await withEngine(cmd, (e) => queryPool(e, ref));
      if (o.json) { printJson(q); return; }
      const u = q.engine.usage;
      process.stdout.write([
        `Pool ${q.uuid}, label ${q.label}`,
        `  Owner: ${q.owner}  Group: ${q.group}`,
        `  Created: ${q.createdAt}`,
        `  Containers: ${q.containers}`,
        `  Engine: ${q.engine.kind} at ${q.engine.location} (shared by all pools): ${formatSize(u.totalBytes)} used, ${formatSize(u.liveDataBytes)} live array data`,
        `  Your permissions: ${q.perms || 'none'}`,
      ].join('\n') + '\n');
    });

  pool.command('destroy <pool>')
    .description('destroy a pool (its owner or root); refuses while it holds containers unless --recursive, and while UNS links name them unless --force')
    .option('-r, --recursive', 'destroy its containers too')
    .option('-f, --force', 'destroy recursively even containers that UNS links still name (those links then lead nowhere)')
    .action(async (ref: string, o: { recursive?: boolean; force?: boolean }, cmd: Command) => {
      const { destroyPool } = await lib();
      await import('../uns/index.js'); // the UNS layer tells the container layer which recorded links still stand
      const stranded = await withEngine(cmd, (e) => destroyPool(e, ref, { recursive: o.recursive || o.force, force: o.force }));
      for (const l of stranded) process.stderr.write(`strata: warning: ${l.path} (${l.kind} link) now names a destroyed container\n`);
      process.stdout.write(`pool ${ref} destroyed\n`);
    });

  pool.command('get-prop <pool>')
    .description('show pool properties')
    .option('--json', 'print JSON')
    .action(async (ref: string, o: { json?: boolean }, cmd: Command) => {
      const { getPoolProps } = await lib();
      const props = await withEngine(cmd, (e) => getPoolProps(e, ref));
      if (o.json) printJson(props.map(({ name, description, value }) => ({ name, description, value })));
      else printTable(['Name', 'Value', 'Description'], props.map((p) => [p.name, p.shown, p.description]));
    });

  pool.command('set-prop <pool> <properties>')
    .description('set pool properties, name:value[,name:value]')
    .action(async (ref: string, list: string, _o: unknown, cmd: Command) => {
      const { setPoolProps, parsePropList } = await lib();
      const props = parsePropList(list);
      await withEngine(cmd, (e) => setPoolProps(e, ref, props));
      process.stdout.write('pool properties updated\n');
    });

  pool.command('get-acl <pool>')
    .description('show the pool ACL')
    .option('--json', 'print JSON')
    .option('--outfile <file>', 'write the ACL to a file')
    .action(async (ref: string, o: { json?: boolean; outfile?: string }, cmd: Command) => {
      const { getPoolAcl } = await lib();
      printAcl(await withEngine(cmd, (e) => getPoolAcl(e, ref)), o);
    });

  pool.command('update-acl <pool>')
    .description('add or replace ACL entries')
    .option('-e, --entry <entry>', 'one entry, e.g. A::alice@:rw')
    .option('--acl-file <file>', 'entries from a file')
    .action(async (ref: string, o: { entry?: string; aclFile?: string }, cmd: Command) => {
      const { updatePoolAcl } = await lib();
      const entries = await aclInput(o, 'pool');
      printAcl(await withEngine(cmd, (e) => updatePoolAcl(e, ref, entries)), {});
    });

  pool.command('overwrite-acl <pool>')
    .description('replace the whole ACL with a file')
    .requiredOption('--acl-file <file>', 'entries, one per line')
    .action(async (ref: string, o: { aclFile: string }, cmd: Command) => {
      const { overwritePoolAcl } = await lib();
      const entries = await readAclFile(o.aclFile, 'pool');
      printAcl(await withEngine(cmd, (e) => overwritePoolAcl(e, ref, entries)), {});
    });

  pool.command('delete-acl <pool>')
    .description("remove a principal's entry")
    .requiredOption('-p, --principal <principal>', 'OWNER@, GROUP@, EVERYONE@, u:name@ or g:name@')
    .action(async (ref: string, o: { principal: string }, cmd: Command) => {
      const { deletePoolAcl } = await lib();
      printAcl(await withEngine(cmd, (e) => deletePoolAcl(e, ref, o.principal)), {});
    });

  return pool;
}

/** --entry E or --acl-file F (exactly one). */
export async function aclInput(o: { entry?: string; aclFile?: string }, target: 'pool' | 'container'): Promise<string[]> {
  if ((o.entry === undefined) === (o.aclFile === undefined)) {
    throw new StrataError('EINVAL', 'give exactly one of --entry or --acl-file');
  }
  const { parseAclText } = await lib();
  return o.entry !== undefined ? parseAclText(o.entry, target) : readAclFile(o.aclFile!, target);
}

/** Every catalog entry under a prefix, page by page. */
async function catListAll(engine: Engine, prefix: string): Promise<Array<[string, unknown]>> {
  const out: Array<[string, unknown]> = [];
  for (let after: string | undefined; ;) {
    const page = await engine.catList(prefix, { after, limit: 1000 });
    out.push(...page);
    if (page.length < 1000) return out;
    after = page[page.length - 1]![0];
  }
}
