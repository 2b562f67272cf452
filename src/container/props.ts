// Pool and container properties: names, defaults, parsing and validation,
// and which ones may change after creation (as in DAOS, most are fixed once the
// container exists).
import { StrataError } from '../errors.js';
import { isObjectClass, parseObjectClass } from '../object/oid.js';
import { CONTAINER_TYPES, type ContainerType, type ContainerProps } from './container.js';
import { checkLabel } from './names.js';

const UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4, P: 1024 ** 5 };

/** Parses a byte size: 4194304, 512K, 1M, 1MiB, 2g (binary units). */
export function parseSize(text: string | number, what = 'size'): number {
  if (typeof text === 'number') {
    if (!Number.isSafeInteger(text) || text < 0) throw new StrataError('EINVAL', `bad ${what} ${text}: expected a whole number of bytes`);
    return text;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b)?\s*$/i.exec(text);
  if (!m) throw new StrataError('EINVAL', `bad ${what} '${text}': expected bytes or a size like 512K, 1M, 4MiB`);
  const n = Number(m[1]) * UNITS[m[2]!.toUpperCase()]!;
  if (!Number.isSafeInteger(n)) throw new StrataError('EINVAL', `bad ${what} '${text}': not a whole number of bytes`);
  return n;
}

/** Formats bytes the way DAOS prints sizes (1 MiB, 32 KiB, 100 B). */
export function formatSize(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return i === 0 ? `${n} B` : `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[i]}`;
}

/** Parses a container type name (case-insensitive; UNKNOWN means RAW). */
export function parseContainerType(text: string): ContainerType {
  const t = text.trim().toUpperCase();
  const name = t === 'UNKNOWN' ? 'RAW' : t;
  if (!(CONTAINER_TYPES as readonly string[]).includes(name)) {
    throw new StrataError('EINVAL', `unknown container type '${text}' (known: ${CONTAINER_TYPES.join(', ')})`);
  }
  return name as ContainerType;
}

type Value = string | number;

export interface PropDef {
  name: string;
  description: string;
  /** 'create': settable only at creation; 'always': also with set-prop; 'never': read-only. */
  settable: 'create' | 'always' | 'never';
  /** Old or alternative names accepted on input. */
  aliases?: string[];
  parse(v: string | number): Value;
  /** How `get-prop` shows the value. */
  show?(v: Value): string;
}

function choice(name: string, values: string[], lower = true): (v: string | number) => string {
  return (v) => {
    const s = lower ? String(v).trim().toLowerCase() : String(v).trim().toUpperCase();
    if (!values.includes(s)) throw new StrataError('EINVAL', `bad value '${v}' for property ${name} (allowed: ${values.join(', ')})`);
    return s;
  };
}

function intRange(name: string, min: number, max: number): (v: string | number) => number {
  return (v) => {
    const s = String(v).trim();
    if (!/^\d+$/.test(s) || Number(s) < min || Number(s) > max) {
      throw new StrataError('EINVAL', `bad value '${v}' for property ${name} (expected an integer ${min}..${max})`);
    }
    return Number(s);
  };
}

function sizeRange(name: string, min: number, max: number): (v: string | number) => number {
  return (v) => {
    const n = parseSize(v, `value for property ${name}`);
    if (n < min || n > max) throw new StrataError('EINVAL', `bad value '${v}' for property ${name} (must be ${formatSize(min)} .. ${formatSize(max)})`);
    return n;
  };
}

function principalValue(name: string): (v: string | number) => string {
  return (v) => {
    let s = String(v).trim();
    if (!s.endsWith('@')) s += '@';
    if (!/^[A-Za-z0-9_.$][A-Za-z0-9_.$-]{0,254}@$/.test(s)) throw new StrataError('EINVAL', `bad value '${v}' for property ${name} (expected a name like alice@)`);
    return s;
  };
}

function oclassValue(name: string): (v: string | number) => string {
  return (v) => {
    const s = String(v).trim();
    if (!isObjectClass(s)) {
      try { parseObjectClass(s); } catch (e) { throw new StrataError('EINVAL', `bad value '${v}' for property ${name}: ${(e as Error).message}`); }
    }
    return s.toUpperCase();
  };
}

const CHUNK_MAX = 1024 ** 3;
// Below a page, every byte of a file costs an index record: a 575 KB file in 3-byte chunks took 40 s to write.
const CHUNK_MIN = 4096;

export const CONTAINER_PROPS: readonly PropDef[] = [
  { name: 'label', description: 'Label', settable: 'always', parse: (v) => checkLabel(String(v), 'container') },
  { name: 'layout_type', description: 'Layout Type', settable: 'create', aliases: ['type'], parse: (v) => parseContainerType(String(v)) },
  { name: 'layout_version', description: 'Layout Version', settable: 'never', parse: intRange('layout_version', 1, 1) },
  { name: 'chunk_size', description: 'Chunk Size', settable: 'create', parse: sizeRange('chunk_size', CHUNK_MIN, CHUNK_MAX), show: (v) => formatSize(Number(v)) },
  { name: 'oclass', description: 'Object Class', settable: 'create', parse: oclassValue('oclass') },
  { name: 'dir_oclass', description: 'Directory Object Class', settable: 'create', parse: oclassValue('dir_oclass') },
  { name: 'file_oclass', description: 'File Object Class', settable: 'create', parse: oclassValue('file_oclass') },
  { name: 'owner', description: 'Owner', settable: 'always', parse: principalValue('owner') },
  { name: 'group', description: 'Group', settable: 'always', parse: principalValue('group') },
  { name: 'cksum', description: 'Checksum', settable: 'create', parse: choice('cksum', ['off', 'adler32', 'crc16', 'crc32', 'crc64', 'sha1', 'sha256', 'sha512']) },
  { name: 'cksum_size', description: 'Checksum Chunk Size', settable: 'create', parse: sizeRange('cksum_size', 1024, CHUNK_MAX), show: (v) => formatSize(Number(v)) },
  { name: 'srv_cksum', description: 'Server Checksumming', settable: 'create', parse: choice('srv_cksum', ['on', 'off']) },
  { name: 'dedup', description: 'Deduplication', settable: 'create', parse: choice('dedup', ['off', 'memcmp', 'hash']) },
  { name: 'dedup_threshold', description: 'Dedupe Threshold', settable: 'create', parse: sizeRange('dedup_threshold', 1, CHUNK_MAX), show: (v) => formatSize(Number(v)) },
  { name: 'compression', description: 'Compression', settable: 'create', parse: choice('compression', ['off', 'lz4', 'deflate', 'deflate1', 'deflate2', 'deflate3', 'deflate4']) },
  { name: 'encryption', description: 'Encryption', settable: 'create', parse: choice('encryption', ['off', 'aes-xts128', 'aes-xts256', 'aes-cbc128', 'aes-cbc192', 'aes-cbc256', 'aes-gcm128', 'aes-gcm256']) },
  { name: 'rd_fac', description: 'Redundancy Factor', settable: 'create', aliases: ['redun_fac'], parse: intRange('rd_fac', 0, 4) },
  { name: 'rd_lvl', description: 'Redundancy Level', settable: 'create', aliases: ['redun_lvl'], parse: choice('rd_lvl', ['rank', 'node']) },
  { name: 'ec_cell_sz', description: 'EC Cell Size', settable: 'create', parse: sizeRange('ec_cell_sz', 1024, CHUNK_MAX), show: (v) => formatSize(Number(v)) },
  { name: 'ec_pda', description: 'Performance domain affinity level of EC', settable: 'create', parse: intRange('ec_pda', 0, 2 ** 32 - 1) },
  { name: 'rp_pda', description: 'Performance domain affinity level of RP', settable: 'create', parse: intRange('rp_pda', 0, 2 ** 32 - 1) },
  { name: 'status', description: 'Health', settable: 'always', parse: choice('status', ['HEALTHY', 'UNCLEAN'], false) },
];

export const POOL_PROPS: readonly PropDef[] = [
  { name: 'label', description: 'Label', settable: 'always', parse: (v) => checkLabel(String(v), 'pool') },
  { name: 'reclaim', description: 'Reclaim strategy', settable: 'always', parse: choice('reclaim', ['disabled', 'lazy', 'time']) },
  { name: 'space_rb', description: 'Rebuild space ratio (%)', settable: 'always', parse: intRange('space_rb', 0, 100) },
  { name: 'rd_fac', description: 'Default redundancy factor of containers', settable: 'always', aliases: ['redun_fac'], parse: intRange('rd_fac', 0, 4) },
  { name: 'ec_cell_sz', description: 'EC cell size', settable: 'always', parse: sizeRange('ec_cell_sz', 1024, CHUNK_MAX), show: (v) => formatSize(Number(v)) },
  { name: 'scrub', description: 'Checksum scrubbing mode', settable: 'always', parse: choice('scrub', ['off', 'lazy', 'timed']) },
  { name: 'owner', description: 'Owner', settable: 'always', parse: principalValue('owner') },
  { name: 'group', description: 'Group', settable: 'always', parse: principalValue('group') },
];

export function containerPropDefaults(): ContainerProps {
  return {
    chunk_size: 1048576, oclass: 'SX', layout_version: 1, cksum: 'off', cksum_size: 32768, srv_cksum: 'off',
    dedup: 'off', dedup_threshold: 4096, compression: 'off', encryption: 'off', rd_fac: 0, rd_lvl: 'node',
    ec_cell_sz: 65536, ec_pda: 1, rp_pda: 4294967295, status: 'HEALTHY',
  };
}

export function poolPropDefaults(): ContainerProps {
  return { reclaim: 'lazy', space_rb: 0, rd_fac: 0, ec_cell_sz: 1048576, scrub: 'off' };
}

/** Finds a property definition by name or alias; EINVAL naming the known ones if unknown. */
export function propDef(defs: readonly PropDef[], name: string, what: 'pool' | 'container'): PropDef {
  const n = name.trim().toLowerCase();
  const d = defs.find((p) => p.name === n || p.aliases?.includes(n));
  if (!d) throw new StrataError('EINVAL', `unknown ${what} property '${name}' (known: ${defs.map((p) => p.name).join(', ')})`);
  return d;
}

/** Parses "k:v,k:v" (values may contain ':'); also accepts k=v. */
export function parsePropList(text: string, what = 'property'): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const part of text.split(',')) {
    const p = part.trim();
    if (!p) continue;
    const i = p.search(/[:=]/);
    if (i <= 0) throw new StrataError('EINVAL', `bad ${what} '${p}': expected name:value`);
    out.push([p.slice(0, i).trim(), p.slice(i + 1).trim()]);
  }
  if (out.length === 0) throw new StrataError('EINVAL', `no ${what} given (expected name:value[,name:value])`);
  return out;
}

/** Shows a property value for humans. */
export function showProp(def: PropDef | undefined, v: Value): string {
  return def?.show ? def.show(v) : String(v);
}
