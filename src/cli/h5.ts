// `strata h5`: look inside HDF5 containers (ls, dump).
import type { Command } from 'commander';
import { StrataError } from '../errors.js';
import type { ListEntry } from '../hdf5/index.js';
import { withEngine, printJson, jsonList } from './context.js';

// The HDF5 and UNS layers are loaded when a command runs, not for --help.
const lib = () => import('../hdf5/index.js');

async function h5Location(s: string): Promise<{ pool: string; cont: string; path: string }> {
  const { resolveLocation, formatLocation } = await import('../uns/location.js');
  const l = await resolveLocation(s);
  if (l.kind !== 'container') throw new StrataError('EINVAL', `'${s}' is not in a container (expected daos://<pool>/<cont>[/path] or a UNS path; ${formatLocation(l)} is under no link)`);
  return l;
}

let epipe = false;
function out(s: string): Promise<void> {
  if (!epipe) { epipe = true; process.stdout.on('error', (e: NodeJS.ErrnoException) => { if (e.code === 'EPIPE') process.exit(0); throw e; }); }
  return new Promise((r) => { if (process.stdout.write(s)) r(); else process.stdout.once('drain', () => r()); });
}

function line(e: ListEntry): string {
  switch (e.kind) {
    case 'group': return `${e.path}/\tgroup`;
    case 'datatype': return `${e.path}\tdatatype ${e.type}`;
    case 'soft': return `${e.path}\tsoft link -> ${e.target}`;
    case 'external': return `${e.path}\texternal link -> ${e.file}:${e.target}`;
    default: {
      const dims = Array.isArray(e.dims) ? `{${e.dims.join(', ')}${e.maxdims ? `/${e.maxdims.map((m) => (m === -1 ? 'Inf' : m)).join(', ')}` : ''}}` : `{${e.dims}}`;
      const extra = [e.layout === 'chunked' ? `chunk {${e.chunk?.join(', ')}}` : e.layout, ...(e.filters ?? []), ...(e.rawChunks ? ['chunks kept filtered'] : [])].join(', ');
      return `${e.path}\tdataset ${e.type} ${dims} ${extra}`;
    }
  }
}

export function registerH5(program: Command): void {
  const h5 = program.command('h5').description('look inside HDF5 containers (daos://<pool>/<cont>[/path])');

  h5.command('ls').description('list a group of an HDF5 container (or describe a dataset)').argument('<location>')
    .option('-r, --recursive', 'list subgroups too')
    .option('--snap <name>', 'read this snapshot (name or epoch)')
    .option('--json', 'one JSON array of members')
    .option('--json-lines', 'one JSON object per line')
    .action(async (loc: string, o: { recursive?: boolean; snap?: string; json?: boolean; jsonLines?: boolean }, cmd: Command) => {
      const l = await h5Location(loc);
      const { openH5Container, listH5 } = await lib();
      const json = o.json || o.jsonLines ? jsonList(out, !!o.jsonLines) : undefined;
      await withEngine(cmd, async (engine) => {
        const store = await openH5Container(engine, l.pool, l.cont, { snap: o.snap });
        for await (const e of listH5(store, l.path, { recursive: !!o.recursive })) {
          if (json) await json.item(e);
          else await out(line(e) + '\n');
        }
        await json?.end();
      });
    });

  h5.command('dump').description('print a dataset of an HDF5 container (or a --slice of it)').argument('<location>')
    .option('--slice <start:count,...>', 'a hyperslab: start:count per dimension')
    .option('--snap <name>', 'read this snapshot (name or epoch)')
    .option('--json', 'JSON output')
    .action(async (loc: string, o: { slice?: string; snap?: string; json?: boolean }, cmd: Command) => {
      const l = await h5Location(loc);
      const { openH5Container, dumpH5, jsonValue, textValue } = await lib();
      await withEngine(cmd, async (engine) => {
        const store = await openH5Container(engine, l.pool, l.cont, { snap: o.snap });
        const d = await dumpH5(store, l.path, { slice: o.slice });
        if (o.json) {
          printJson({ ...d, values: d.values.map(jsonValue), attributes: Object.fromEntries(Object.entries(d.attributes).map(([k, v]) => [k, v.map(jsonValue)])) });
          return;
        }
        const dims = d.space.kind === 'simple' ? `{${d.space.dims.join(', ')}}` : d.space.kind;
        let s = `DATASET ${d.path}\n  TYPE ${d.typeName}\n  SPACE ${dims}\n`;
        if (d.start.length) s += `  SLICE start {${d.start.join(', ')}} count {${d.count.join(', ')}}\n`;
        for (const [k, v] of Object.entries(d.attributes)) s += `  ATTRIBUTE ${k} = ${v.map(textValue).join(', ')}\n`;
        s += '  DATA {\n';
        const rowLen = d.count.length ? d.count[d.count.length - 1]! : 1;
        for (let i = 0; i < d.values.length; i += Math.max(1, rowLen)) {
          const row = d.values.slice(i, i + Math.max(1, rowLen));
          const idx: number[] = [];
          let rem = i;
          for (let k = d.count.length - 1; k >= 0; k--) { idx.unshift(d.start[k]! + (rem % d.count[k]!)); rem = Math.floor(rem / d.count[k]!); }
          s += `  (${idx.join(',')}): ${row.map(textValue).join(', ')}\n`;
          if (s.length > 65536) { await out(s); s = ''; }
        }
        s += '  }\n';
        await out(s);
      });
    });
}
