// `strata container ...` (alias `cont`): thin wrappers over src/container/.
import type { Command } from 'commander';
import { withEngine, printJson, printTable } from './context.js';
import { readAclFile, printAcl, aclInput } from './pool.js';
import { StrataError } from '../errors.js';

// The container and UNS layers are loaded when a command runs, not for --help.
const lib = () => import('../container/index.js');
const uns = () => import('../uns/index.js');

type Json = { json?: boolean };

export function registerContainer(program: Command): Command {
  const cont = program.command('container').alias('cont').description('manage containers (named by label or UUID within a pool)');

  cont.command('create <pool> [label]')
    .description('create a container; prints its UUID (with --path also a UNS link to it; the label then defaults to the path\'s name)')
    .option('-t, --type <type>', 'POSIX (default), HDF5, RAW, PYTHON, SPARK, DATABASE, ROOT, SEISMIC, METEO')
    .option('-z, --chunk-size <size>', 'chunk size, e.g. 1M, 512K, 4194304 (default 1M)')
    .option('-o, --oclass <class>', 'default object class, e.g. SX, S1, RP_2G1 (default SX)')
    .option('--properties <list>', 'properties, name:value[,name:value] (see get-prop)')
    .option('--acl-file <file>', 'ACL file, one entry per line (default A::OWNER@:rwdtTaAo, A:G:GROUP@:rwtT)')
    .option('--attrs <list>', 'user attributes, name:value[,name:value]')
    .option('--path <path>', 'also make a UNS link to the container at this path (container and link as one step)')
    .option('--link <kind>', 'link kind with --path: xattr, symlink or lustre (default lustre on Lustre, else xattr)')
    .option('--prefix <prefix>', 'symlink links: where the tier is mounted (default STRATA_UNS_PREFIX, then uns.prefix)')
    .option('--json', 'print the container record as JSON')
    .action(async (pool: string, label: string | undefined, o: { type?: string; chunkSize?: string; oclass?: string; properties?: string; aclFile?: string; attrs?: string; path?: string; link?: string; prefix?: string; json?: boolean }, cmd: Command) => {
      const { createContainer, parsePropList } = await lib();
      const props = o.properties ? parsePropList(o.properties) : undefined;
      const acl = o.aclFile ? await readAclFile(o.aclFile, 'container') : undefined;
      const attrs = o.attrs ? Object.fromEntries(parsePropList(o.attrs, 'attribute')) : undefined;
      const copts = { type: o.type, chunkSize: o.chunkSize, oclass: o.oclass, props, acl, attrs };
      if (o.path === undefined) {
        if (o.link !== undefined || o.prefix !== undefined) throw new StrataError('EINVAL', '--link and --prefix go with --path');
        if (label === undefined) throw new StrataError('EINVAL', 'give a label (or --path to make a container with a link)');
        const rec = await withEngine(cmd, (e) => createContainer(e, pool, label, copts));
        if (o.json) printJson(rec); else process.stdout.write(`${rec.uuid}\n`);
        return;
      }
      const { createContainerAtPath, parseLinkKind } = await uns();
      const link = o.link === undefined ? undefined : parseLinkKind(o.link);
      const r = await withEngine(cmd, (e) => createContainerAtPath(e, pool, label, o.path!, { ...copts, link, prefix: o.prefix }));
      if (o.json) printJson({ ...r.container, link: r.link }); else process.stdout.write(`${r.container.uuid}\n`);
    });

  cont.command('list <pool>').alias('ls')
    .description('list the containers of a pool')
    .option('--json', 'print JSON')
    .action(async (pool: string, o: Json, cmd: Command) => {
      const { listContainers } = await lib();
      const list = await withEngine(cmd, (e) => listContainers(e, pool));
      if (o.json) { printJson(list); return; }
      if (list.length === 0) { process.stdout.write('no containers\n'); return; }
      printTable(['UUID', 'Label', 'Type', 'Owner'], list.map((c) => [c.uuid, c.label, c.type, c.owner]));
    });

  cont.command('query <pool> <cont>')
    .description('show a container')
    .option('--json', 'print JSON')
    .action(async (pool: string, c: string, o: Json, cmd: Command) => {
      const { queryContainer, formatSize } = await lib();
      const q = await withEngine(cmd, (e) => queryContainer(e, pool, c));
      if (o.json) { printJson(q); return; }
      const rows: Array<[string, string | number]> = [
        ['Container UUID', q.uuid], ['Container Label', q.label], ['Container Type', q.type],
        ['Pool UUID', q.poolUuid], ['Pool Label', q.poolLabel], ['Owner', q.owner], ['Group', q.group],
        ['Number of snapshots', q.snapshots], ['Latest Persistent Snapshot', q.latestSnapshot ?? 0],
        ['Container redundancy factor', q.redunFac], ['Object Class', q.oclass], ['Chunk Size', formatSize(q.chunkSize)],
        ['Created', q.createdAt], ['Your permissions', q.perms || 'none'],
      ];
      const w = Math.max(...rows.map((r) => r[0].length));
      process.stdout.write(rows.map(([k, v]) => `  ${k.padEnd(w)} : ${v}`).join('\n') + '\n');
    });

  cont.command('destroy [pool] [cont]')
    .description('destroy a container with its data and snapshots (--path: the container a UNS link names, and the link); refuses while other UNS links name it unless --force')
    .option('-f, --force', 'destroy even while UNS links name the container (they then lead nowhere: each is named on stderr)')
    .option('--path <path>', 'a UNS link: destroy the container it names and remove the link')
    .action(async (pool: string | undefined, c: string | undefined, o: { force?: boolean; path?: string }, cmd: Command) => {
      const warnStranded = (links: Array<{ path: string; kind: string }>) => {
        for (const l of links) process.stderr.write(`strata: warning: ${l.path} (${l.kind} link) now names a destroyed container\n`);
      };
      if (o.path !== undefined) {
        if (pool !== undefined) throw new StrataError('EINVAL', 'give either <pool> <cont> or --path, not both');
        const { destroyContainerAtPath } = await uns();
        const r = await withEngine(cmd, (e) => destroyContainerAtPath(e, o.path!, { force: o.force }));
        warnStranded(r.stranded);
        process.stdout.write(`container ${r.link.cont} destroyed, link ${r.link.path} removed\n`);
        return;
      }
      if (pool === undefined || c === undefined) throw new StrataError('EINVAL', 'give <pool> <cont> or --path');
      const { destroyContainer } = await lib();
      await uns(); // the UNS layer tells the container layer which recorded links still stand
      warnStranded(await withEngine(cmd, (e) => destroyContainer(e, pool, c, { force: o.force })));
      process.stdout.write(`container ${c} destroyed\n`);
    });

  cont.command('link <pool> <cont>')
    .description('make a UNS link to an existing container at a path (needs write permission on the parent directory)')
    .requiredOption('--path <path>', 'where to make the link')
    .option('--link <kind>', 'xattr, symlink or lustre (default lustre on Lustre, else xattr)')
    .option('--prefix <prefix>', 'symlink links: where the tier is mounted (default STRATA_UNS_PREFIX, then uns.prefix)')
    .option('--json', 'print the link as JSON')
    .action(async (pool: string, c: string, o: { path: string; link?: string; prefix?: string; json?: boolean }, cmd: Command) => {
      const { linkContainer, parseLinkKind } = await uns();
      const link = o.link === undefined ? undefined : parseLinkKind(o.link);
      const r = await withEngine(cmd, (e) => linkContainer(e, pool, c, o.path, { link, prefix: o.prefix }));
      if (o.json) printJson(r.link); else process.stdout.write(`${r.link.path} -> ${r.container.label} (${r.link.kind} link)\n`);
    });

  cont.command('unlink')
    .description('remove a UNS link, keeping the container (a link to a parked container only with --force)')
    .requiredOption('--path <path>', 'the link')
    .option('-f, --force', 'remove even the link to a parked container (its cold files are then reached by nothing)')
    .action(async (o: { path: string; force?: boolean }, cmd: Command) => {
      const { unlinkPath } = await uns();
      const r = await withEngine(cmd, (e) => unlinkPath(e, o.path, { force: o.force }));
      const what = r.named === 'container' ? `container ${r.link.cont} kept`
        : r.named === 'parked' ? `container ${r.link.cont} stays parked (${r.away}); nothing links to it now`
          : `it named container ${r.link.cont}, which does not exist`;
      process.stdout.write(`link ${r.link.path} removed (${what})\n`);
    });

  cont.command('get-prop <pool> <cont>')
    .description('show container properties')
    .option('--prop <names>', 'only these properties, name[,name]')
    .option('--json', 'print JSON')
    .action(async (pool: string, c: string, o: Json & { prop?: string }, cmd: Command) => {
      const { getProps } = await lib();
      let props = await withEngine(cmd, (e) => getProps(e, pool, c));
      if (o.prop) {
        const want = o.prop.split(',').map((s) => s.trim().toLowerCase());
        for (const w of want) {
          if (!props.some((p) => p.name === w)) throw new StrataError('EINVAL', `unknown container property '${w}' (known: ${props.map((p) => p.name).join(', ')})`);
        }
        props = props.filter((p) => want.includes(p.name));
      }
      if (o.json) printJson(props.map(({ name, description, value }) => ({ name, description, value })));
      else printTable(['Name', 'Value', 'Description'], props.map((p) => [p.name, p.shown, p.description]));
    });

  cont.command('set-prop <pool> <cont> <properties>')
    .description('set properties, name:value[,name:value] (label, status, owner, group; the rest are fixed at creation)')
    .action(async (pool: string, c: string, list: string, _o: unknown, cmd: Command) => {
      const { setProps, parsePropList } = await lib();
      const props = parsePropList(list);
      await withEngine(cmd, (e) => setProps(e, pool, c, props));
      process.stdout.write('properties updated\n');
    });

  cont.command('set-owner <pool> <cont>')
    .description("change the container's owner and/or owning group (needs 'o')")
    .option('-u, --user <name>', 'new owner, e.g. alice or alice@')
    .option('-g, --group <name>', 'new owning group, e.g. staff or staff@')
    .action(async (pool: string, c: string, o: { user?: string; group?: string }, cmd: Command) => {
      const { setProps } = await lib();
      const props: Array<[string, string]> = [];
      if (o.user) props.push(['owner', o.user]);
      if (o.group) props.push(['group', o.group]);
      if (props.length === 0) throw new StrataError('EINVAL', 'give --user and/or --group');
      await withEngine(cmd, (e) => setProps(e, pool, c, props));
      process.stdout.write('owner updated\n');
    });

  cont.command('get-acl <pool> <cont>')
    .description('show the container ACL')
    .option('--json', 'print JSON')
    .option('--outfile <file>', 'write the ACL to a file')
    .action(async (pool: string, c: string, o: Json & { outfile?: string }, cmd: Command) => {
      const { getAcl } = await lib();
      printAcl(await withEngine(cmd, (e) => getAcl(e, pool, c)), o);
    });

  cont.command('overwrite-acl <pool> <cont>')
    .description('replace the whole ACL with the entries of a file')
    .requiredOption('--acl-file <file>', 'entries, one per line, # comments')
    .action(async (pool: string, c: string, o: { aclFile: string }, cmd: Command) => {
      const { overwriteAcl } = await lib();
      const entries = await readAclFile(o.aclFile, 'container');
      printAcl(await withEngine(cmd, (e) => overwriteAcl(e, pool, c, entries)), {});
    });

  cont.command('update-acl <pool> <cont>')
    .description('add entries or replace the entries of the same principals')
    .option('-e, --entry <entry>', 'one entry, e.g. A::alice@:rw')
    .option('--acl-file <file>', 'entries from a file')
    .action(async (pool: string, c: string, o: { entry?: string; aclFile?: string }, cmd: Command) => {
      const { updateAcl } = await lib();
      const entries = await aclInput(o, 'container');
      printAcl(await withEngine(cmd, (e) => updateAcl(e, pool, c, entries)), {});
    });

  cont.command('delete-acl <pool> <cont>')
    .description("remove a principal's entries")
    .requiredOption('-p, --principal <principal>', 'OWNER@, GROUP@, EVERYONE@, u:name@ or g:name@')
    .action(async (pool: string, c: string, o: { principal: string }, cmd: Command) => {
      const { deleteAcl } = await lib();
      printAcl(await withEngine(cmd, (e) => deleteAcl(e, pool, c, o.principal)), {});
    });

  cont.command('set-attr <pool> <cont> <name> <value>')
    .description('set a user attribute')
    .action(async (pool: string, c: string, name: string, value: string, _o: unknown, cmd: Command) => {
      const { setAttr } = await lib();
      await withEngine(cmd, (e) => setAttr(e, pool, c, name, value));
    });

  cont.command('get-attr <pool> <cont> <name>')
    .description('print a user attribute value')
    .option('--json', 'print JSON (value as UTF-8 and base64)')
    .action(async (pool: string, c: string, name: string, o: Json, cmd: Command) => {
      const { getAttr } = await lib();
      const v = await withEngine(cmd, (e) => getAttr(e, pool, c, name));
      if (o.json) printJson({ name, value: v.toString('utf8'), base64: v.toString('base64') });
      else process.stdout.write(Buffer.concat([v, Buffer.from('\n')]));
    });

  cont.command('list-attrs <pool> <cont>')
    .description('list user attributes')
    .option('-v, --verbose', 'show values too')
    .option('--json', 'print JSON')
    .action(async (pool: string, c: string, o: Json & { verbose?: boolean }, cmd: Command) => {
      const { getAttrs } = await lib();
      const attrs = await withEngine(cmd, (e) => getAttrs(e, pool, c));
      const names = Object.keys(attrs);
      if (o.json) {
        printJson(o.verbose ? Object.fromEntries(names.map((n) => [n, attrs[n]!.toString('utf8')])) : names);
      } else if (o.verbose) {
        printTable(['Name', 'Value'], names.map((n) => [n, attrs[n]!.toString('utf8')]));
      } else {
        process.stdout.write(names.map((n) => `${n}\n`).join(''));
      }
    });

  cont.command('del-attr <pool> <cont> <name>')
    .description('delete a user attribute')
    .action(async (pool: string, c: string, name: string, _o: unknown, cmd: Command) => {
      const { delAttr } = await lib();
      await withEngine(cmd, (e) => delAttr(e, pool, c, name));
    });

  cont.command('create-snap <pool> <cont>')
    .description('take a snapshot; prints its epoch')
    .option('-s, --snap <name>', 'snapshot name (unique in the container)')
    .option('--json', 'print JSON')
    .action(async (pool: string, c: string, o: Json & { snap?: string }, cmd: Command) => {
      const { createSnap } = await lib();
      const s = await withEngine(cmd, (e) => createSnap(e, pool, c, { name: o.snap }));
      if (o.json) printJson(s); else process.stdout.write(`${s.epoch}\n`);
    });

  cont.command('list-snaps <pool> <cont>')
    .description('list snapshots')
    .option('--json', 'print JSON')
    .action(async (pool: string, c: string, o: Json, cmd: Command) => {
      const { listSnaps } = await lib();
      const snaps = await withEngine(cmd, (e) => listSnaps(e, pool, c));
      if (o.json) { printJson(snaps); return; }
      if (snaps.length === 0) { process.stdout.write('no snapshots\n'); return; }
      printTable(['Epoch', 'Name', 'Created'], snaps.map((s) => [s.epoch, s.name ?? '', s.createdAt]));
    });

  cont.command('destroy-snap <pool> <cont>')
    .description('destroy snapshots, named by --snap, --epc or --epcrange')
    .option('-s, --snap <name>', 'snapshot name')
    .option('-e, --epc <epoch>', 'snapshot epoch')
    .option('-r, --epcrange <A-B>', 'every snapshot with epoch A..B')
    .action(async (pool: string, c: string, o: { snap?: string; epc?: string; epcrange?: string }, cmd: Command) => {
      const { destroySnap } = await lib();
      const gone = await withEngine(cmd, (e) => destroySnap(e, pool, c, o));
      process.stdout.write(`destroyed snapshot${gone.length === 1 ? '' : 's'} ${gone.join(', ')}\n`);
    });

  return cont;
}
