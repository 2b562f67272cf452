// `strata engine ...`: create/migrate an engine's storage and show what it holds.
import type { Command } from 'commander';
import { globalOpts, printJson, printTable } from './context.js';
import { engineInfo, initEngine } from '../engine/open.js';
import { accessOf } from '../engine/home-access.js';
import { gidOf } from '../container/identity.js';
import { StrataError } from '../errors.js';

export function registerEngine(program: Command): Command {
  const engine = program.command('engine').description('the storage engine (lmdb:/dir or postgres://user@host/db)');

  engine.command('init')
    .description('create the engine storage, or migrate it to this version of strata (a PostgreSQL schema; an LMDB index in the prebuilt lmdb-js format)')
    .option('--mode <mode>', "who may read the engine's bytes: 0700 (private, the default for a new home) or 0770 (shared with --group); given, it is recorded and applied to what the home holds")
    .option('--group <name>', 'share the engine home with this group (mode 0770): every member reads all container bytes directly')
    .option('--json', 'print the result as JSON')
    .action(async (o: { json?: boolean; mode?: string; group?: string }, cmd: Command) => {
      let group: { gid: number; name: string } | undefined;
      if (o.group !== undefined) {
        const gid = gidOf(o.group);
        if (gid === undefined) throw new StrataError('EINVAL', `--group ${o.group}: no such group`);
        group = { gid, name: o.group };
      }
      const r = await initEngine(globalOpts(cmd).engine, { access: accessOf(o.mode, group) });
      if (o.json) { printJson(r); return; }
      if (r.schemaTo !== undefined) {
        const what = r.schemaFrom === r.schemaTo ? `schema already at version ${r.schemaTo}` : r.schemaFrom ? `schema migrated from version ${r.schemaFrom} to ${r.schemaTo}` : `schema version ${r.schemaTo} created`;
        process.stdout.write(`${r.kind} engine at ${r.location}: ${what}; large extents: ${r.bulkData}\n`);
      } else if (r.upgraded) {
        // No counts: this run only finished the renames of an interrupted upgrade.
        const n = Object.values(r.upgraded).reduce((a, b) => a + b, 0);
        const what = Object.keys(r.upgraded).length ? `${n} entries` : 'an interrupted upgrade finished';
        process.stdout.write(`${r.kind} engine at ${r.location}: index rewritten in LMDB 0.9's format (${what}; the old file is kept as index.mdb.format2)\n`);
      } else process.stdout.write(`${r.kind} engine at ${r.location}: ready\n`);
      if (r.access) process.stdout.write(`access: ${r.access}${r.changed ? ` (${r.changed} modes or groups changed)` : ''}\n`);
    });

  engine.command('info')
    .description('engine kind, location, current epoch, space used')
    .option('--json', 'print as JSON')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const info = await engineInfo(globalOpts(cmd).engine);
      if (o.json) { printJson(info); return; }
      printTable(['field', 'value'], Object.entries(info).map(([k, v]) => [k, String(v)]));
    });
  return engine;
}
