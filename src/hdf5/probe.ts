// A first read of an untrusted .h5 file in a child process.
//
// libhdf5 1.10 trusts the sizes it finds in global heap collections: reading a
// variable-length value (string, sequence) whose heap object was damaged
// copies the object's size into a buffer made for the element's own length,
// and the process dies later in free() (SIGSEGV/SIGABRT) instead of getting
// an error; other damaged sizes make it loop forever. No public call reads
// the heap references without going through that code, so such data cannot
// be checked first in-process. The probe walks the file (links,
// attributes) and reads every variable-length value once in a child; a child
// killed by a signal, or stuck, becomes one clear error, and the caller reads the file
// itself only after the probe survived. Fixed-size data is not read here (it
// does not go through the heap), so the cost is the structure and the
// variable-length data only.
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { StrataError } from '../errors.js';
import { H5File, type Dataset, type Group, type H5RichType, type NamedType } from './h5lib/index.js';

const ROWS = 256;

function hasVar(t: H5RichType): boolean {
  switch (t.class) {
    case 'string': return t.variable;
    case 'vlen': case 'reference': return true;
    case 'array': case 'enum': return hasVar(t.base);
    case 'compound': return t.members.some((m) => hasVar(m.type));
    default: return false;
  }
}

let tick = () => {};
const quiet = (fn: () => unknown) => { try { fn(); } catch { /* the real read reports it */ } tick(); };

function readAttrs(loc: Group | H5File | Dataset | NamedType): void {
  let names: string[] = [];
  quiet(() => { names = loc.attrNames(); });
  if (names.length) quiet(() => loc.corders(names, 'attrs')); // as the import asks
  for (const a of names) {
    quiet(() => loc.readAttrRaw(a));
    quiet(() => loc.readAttr(a)); // converts variable-length sequences too
    quiet(() => loc.readAttrVlen(a)); // and strings inside compounds and arrays, as the import reads them
    quiet(() => loc.readAttrRefs(a)); // references: dereferenced as the import does
  }
}

/** A file whose datasets declare more than it can hold: refused, not read (see readVarData). */
class Oversized extends Error {}

function readVarData(ds: Dataset, fileSize: number): void {
  const m = ds.meta();
  if (!hasVar(m.type) || m.space.kind === 'null') return;
  const top = m.type.class === 'string';
  if (m.space.kind === 'scalar') {
    if (m.type.class === 'reference') quiet(() => ds.readRefs([], []));
    else if (top) ds.readStrings([], []);
    else quiet(() => ds.readVlen([], []));
    return;
  }
  const dims = m.space.dims;
  if (dims.some((d) => d === 0)) return;
  // A dataset can be extended without storing anything; its unstored rows read as empty values, one
  // batch at a time, for as long as it claims (2^40 rows: days, each batch "progress"). A stored
  // variable-length element takes at least one byte of the file, so more elements than the file
  // has bytes is a file no writer made.
  const elements = dims.reduce((a, d) => a * d, 1);
  if (elements > fileSize) throw new Oversized(`dataset '${ds.name}' declares ${elements} variable-length values, more than the file (${fileSize} bytes) can hold`);
  if (m.type.class === 'reference') {
    if (dims.length === 0) quiet(() => ds.readRefs([], []));
    else for (let at = 0; at < dims[0]!; at += ROWS) { quiet(() => ds.readRefs([at, ...dims.slice(1).map(() => 0)], [Math.min(ROWS, dims[0]! - at), ...dims.slice(1)])); tick(); }
  } else if (!top) {
    // any rank, row by row along dimension 0 (how the import reads it, by chunks, goes through the same heap code)
    for (let at = 0; at < dims[0]!; at += ROWS) { quiet(() => ds.readVlen([at, ...dims.slice(1).map(() => 0)], [Math.min(ROWS, dims[0]! - at), ...dims.slice(1)])); tick(); }
  } else if (m.type.class === 'string') {
    // Row by row along dimension 0, whole extent in the others.
    for (let at = 0; at < dims[0]!; at += ROWS) {
      const n = Math.min(ROWS, dims[0]! - at);
      ds.readStrings([at, ...dims.slice(1).map(() => 0)], [n, ...dims.slice(1)]);
      tick();
    }
  }
}

/** Reads the structure, every attribute and every variable-length value of a file; errors are ignored. */
export function probeInProcess(file: string, progress?: () => void): void {
  if (progress) tick = progress;
  let f: H5File;
  let fileSize: number;
  try { f = H5File.open(file); fileSize = fs.statSync(file).size; } catch { return; }
  const seen = new Set<string>();
  const walk = (g: Group | H5File) => {
    readAttrs(g);
    let links: ReturnType<Group['linkList']> = [];
    quiet(() => { links = g.linkList(); });
    quiet(() => g.orderInfo());
    if (links.length) quiet(() => g.corders(links.map((l) => l.name), 'links'));
    for (const l of links) {
      if (l.type !== 'hard' || !l.addr || seen.has(l.addr)) continue;
      seen.add(l.addr);
      if (l.object === 'group') {
        let sub: Group | undefined;
        quiet(() => { sub = g.openGroup(l.name); });
        if (sub) try { walk(sub); } finally { quiet(() => sub!.close()); }
      } else if (l.object === 'datatype') {
        let t: NamedType | undefined;
        quiet(() => { t = g.openType(l.name); });
        if (t) try { readAttrs(t); } finally { quiet(() => t!.close()); }
      } else if (l.object === 'dataset') {
        let ds: Dataset | undefined;
        quiet(() => { ds = g.openDataset(l.name); });
        if (ds) {
          try {
            readAttrs(ds);
            quiet(() => ds!.orderInfo());
            try { readVarData(ds!, fileSize); } catch (e) { if (e instanceof Oversized) throw e; }
            tick();
          } finally { quiet(() => ds!.close()); }
        }
      }
    }
  };
  try { walk(f); } finally { quiet(() => f.close()); }
}

/** No sign of progress from the child for this long (ms) means libhdf5 is looping on damaged data. */
export const PROBE_STALL_MS = 60000;

export interface ProbeOptions {
  /** How long the child may go without progress before it is killed (ms; default PROBE_STALL_MS). */
  stallMs?: number;
  /** A descriptor open on `file` (regular, checked): the child reads that inode, not whatever the name holds by then. */
  fd?: number;
}

/**
 * Probes `file` in a child process (see above). Resolves when the child
 * survived; rejects with one EINVAL error naming the file when libhdf5 killed
 * it, or when it made no progress for `stallMs` (libhdf5 also loops forever
 * on some damaged heaps): the child reports each read on stdout. Every file
 * from outside goes through here before strata reads it in-process, whatever
 * it carries: a checksum anyone can recompute says nothing about safety.
 */
export function probeH5(file: string, o: ProbeOptions = {}): Promise<void> {
  const stallMs = o.stallMs ?? PROBE_STALL_MS;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), o.fd === undefined ? file : '/proc/self/fd/3'], { stdio: ['ignore', 'pipe', 'ignore', o.fd ?? 'ignore'] });
    let stalled = false;
    // The child writes a dot per read, and "!<reason>" when it refuses the file.
    let said = '';
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => { stalled = true; child.kill('SIGKILL'); }, stallMs);
    };
    arm();
    child.stdout!.on('data', (d: Buffer) => { // piped (stdio[1])
      arm();
      const text = d.toString();
      if (said || text.includes('!')) said += text.slice(said ? 0 : text.indexOf('!') + 1);
    });
    child.on('error', (e) => { clearTimeout(timer); reject(new StrataError('EIO', `${file}: cannot check the file: ${e.message}`)); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (stalled) reject(new StrataError('EINVAL', `${file}: not a readable HDF5 file (corrupt?): the HDF5 library made no progress reading it for ${stallMs / 1000} s`));
      else if (signal) reject(new StrataError('EINVAL', `${file}: not a readable HDF5 file (corrupt?): the HDF5 library crashed reading it (${signal})`));
      else if (code === 2 && said) reject(new StrataError('EINVAL', `${file}: ${said.trim()}`));
      else if (code !== 0) reject(new StrataError('EIO', `${file}: cannot check the file (checker exited with ${code})`));
      else resolve();
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2]) {
  try {
    probeInProcess(process.argv[2], () => process.stdout.write('.'));
  } catch (e) {
    if (!(e instanceof Oversized)) throw e;
    process.stdout.write(`!${e.message}\n`, () => process.exit(2));
  }
}
