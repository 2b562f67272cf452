// The HDF5 file binding: real .h5 files through the HDF5 C library (Debian's
// libhdf5), via the N-API addon in native/h5 (built by `npm run build`).
//
// A thin, typed layer over the addon: files, groups, datasets of any rank,
// compound/variable-length/opaque types, hyperslab reads and writes,
// attributes, encoded selections (H5Sencode/H5Sdecode). Calls are synchronous
// and the C library is not thread-safe: use it from one thread per process
// (parallel work uses processes). Errors are StrataError('EIO'/'EINVAL')
// naming the file and the HDF5 error.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { StrataError } from '../../errors.js';
import { addonPath } from '../../native-addon.js';

/** Datatype descriptors (see native/h5/h5.c). */
export type H5Type =
  | 'u8' | 'u16' | 'u32' | 'u64' | 'i8' | 'i16' | 'i32' | 'i64' | 'f32' | 'f64'
  | 'vbytes' | 'vstr'
  | { opaque: number }
  | { str: number }
  | { compound: Array<[string, H5Type]> };

/** A datatype as found in a file. */
export interface H5TypeInfo {
  class: 'integer' | 'float' | 'string' | 'opaque' | 'compound' | 'vlen' | 'array' | 'enum' | 'reference' | 'bitfield' | 'time' | 'other';
  size: number;
  signed?: boolean;
  variable?: boolean;
  base?: H5TypeInfo;
  members?: Array<{ name: string; type: H5TypeInfo }>;
}

export interface DatasetInfo {
  dims: number[];
  /** -1 = unlimited */
  maxdims: number[];
  chunk?: number[];
  type: H5TypeInfo;
}

export interface AttrValue {
  type: H5TypeInfo;
  dims: number[];
  values: unknown[];
}


/** A full datatype description (rich form): enough to rebuild the type exactly (see native/h5/h5.c). */
export type H5RichType = (
  | { class: 'integer'; size: number; signed: boolean; order: 'le' | 'be'; precision?: number; offset?: number }
  | ({ class: 'float'; size: number; order: 'le' | 'be'; custom?: boolean; precision?: number; offset?: number } & Partial<CustomFloat>)
  | { class: 'bitfield'; size: number; order: 'le' | 'be'; precision?: number; offset?: number }
  | { class: 'string'; size: number; variable: boolean; cset: 'ascii' | 'utf8'; pad: 'nullterm' | 'nullpad' | 'spacepad' }
  | { class: 'opaque'; size: number; tag: string }
  | { class: 'compound'; size: number; members: Array<{ name: string; offset: number; type: H5RichType }> }
  | { class: 'enum'; size: number; base: H5RichType; members: Array<{ name: string; value: number }> }
  | { class: 'array'; size: number; dims: number[]; base: H5RichType }
  | { class: 'vlen'; size: number; base: H5RichType }
  | { class: 'reference'; size: number; ref?: 'object' | 'region' }
  | { class: 'time' | 'other'; size: number }) & NamedRef;

/**
 * A named (committed) datatype: `committed` and the type's address in the
 * file (as read); `named`, the OID of the named-type object in a container;
 * `hid`, the handle of a committed type in an open file (the descriptor then
 * stands for that type itself: what is made from it shares it).
 */
export interface NamedRef { committed?: boolean; addr?: string; named?: string; hid?: number }

/**
 * The bit layout of a float that is not IEEE single/double (float16, bfloat,
 * x87 80-bit...): bit positions inside the precision, exponent bias,
 * normalization of the mantissa and the padding of unused bits.
 */
export interface CustomFloat {
  /** [sign position, exponent position, exponent size, mantissa position, mantissa size] */
  fields: [number, number, number, number, number];
  ebias: number;
  norm: 'implied' | 'msbset' | 'none';
  inpad: 'zero' | 'one' | 'background';
  lsb: 'zero' | 'one' | 'background';
  msb: 'zero' | 'one' | 'background';
}

/** A dataspace: scalar (one element), null (none) or simple (dims; maxdims -1 = unlimited). */
export interface H5Space { kind: 'simple' | 'scalar' | 'null'; dims: number[]; maxdims?: number[] }

export interface H5Filter { id: number; name: string; flags: number; cd: number[]; available?: boolean }

export interface H5Fill {
  status: 'undefined' | 'default' | 'user';
  /** The user fill value, one element in the file type. */
  value?: Buffer;
  /** The user fill value of a variable-length string dataset. */
  string?: string;
  allocTime: 'early' | 'late' | 'incr' | 'default';
  fillTime: 'ifset' | 'alloc' | 'never';
}

/** Everything about a dataset but its data. */
export interface DatasetMeta {
  type: H5RichType;
  space: H5Space;
  layout: 'contiguous' | 'chunked' | 'compact' | 'virtual';
  chunk?: number[];
  external?: boolean;
  filters: H5Filter[];
  fill: H5Fill;
}

export interface H5Link {
  name: string;
  type: 'hard' | 'soft' | 'external' | 'other';
  /** soft: the path; external: the path inside `file`. */
  target?: string;
  file?: string;
  /** hard: what the link points at, and the object's address (identity within the file). */
  object?: 'group' | 'dataset' | 'datatype' | 'other';
  addr?: string;
  rc?: number;
}

/**
 * Elements of a type holding variable-length data (sequences, strings inside
 * compounds or arrays): `fixed` in the type's memory layout with every pointer
 * replaced by a reference into `heap` (see native/h5/h5.c), offsets from the
 * heap base given to the read.
 */
export interface VlenData { fixed: Buffer; heap: Buffer }

/** A reference as read: the target's address in the file; a region reference its selection (H5Sencode). */
export interface FileRef { addr: string; region?: Buffer }
/** A reference to write: the target's path; a region reference its selection (H5Sencode). */
export interface PathRef { path: string; region?: Buffer }

export interface RawAttr { type: H5RichType; space: H5Space; raw?: Buffer; strings?: string[] }

/** Creation order flags (1 tracked, 3 tracked and indexed) of links (groups) and attributes. */
export interface CreationOrder { links?: number; attrs?: number }

export interface CreateDatasetExOptions {
  /** Attribute creation order flags. */
  attrOrder?: number;
  space: H5Space;
  layout?: 'contiguous' | 'chunked' | 'compact';
  chunk?: number[];
  filters?: H5Filter[];
  fill?: Partial<H5Fill>;
}

interface Addon {
  version(): string;
  open(path: string, mode: string, opts?: { userblock?: number; linkOrder?: number; attrOrder?: number }): number;
  close(id: number): void;
  flush(id: number): void;
  createGroup(loc: number, name: string): number;
  openGroup(loc: number, name: string): number;
  exists(loc: number, name: string): boolean;
  listLinks(loc: number): string[];
  createDataset(loc: number, name: string, type: H5Type, opts: { dims: number[]; maxdims?: number[]; chunk?: number[]; fillNever?: boolean }): number;
  openDataset(loc: number, name: string): number;
  datasetInfo(ds: number): DatasetInfo;
  setExtent(ds: number, dims: number[]): void;
  writeSlab(ds: number, start: number[], count: number[], data: Uint8Array): void;
  readSlab(ds: number, start: number[], count: number[]): Buffer;
  writeRows(ds: number, type: H5Type, start: number, rows: unknown[]): void;
  readRows(ds: number, start: number, count: number): unknown[];
  writeAttr(loc: number, name: string, type: H5Type, values: unknown[], opts?: { scalar?: boolean }): void;
  readAttr(loc: number, name: string): AttrValue;
  attrNames(loc: number): string[];
  encodeSelection(ds: number, start: number[], count: number[]): Buffer;
  decodeSelection(buf: Uint8Array): { dims: number[]; blocks: Array<[number[], number[]]> };
  checkType(t: H5RichType): H5RichType;
  datasetMeta(ds: number): DatasetMeta;
  createDatasetEx(loc: number, name: string, type: H5RichType, opts: CreateDatasetExOptions): number;
  readRaw(ds: number, start: number[], count: number[]): Buffer;
  writeRaw(ds: number, start: number[], count: number[], data: Uint8Array): void;
  readStrings(ds: number, start: number[], count: number[]): string[];
  writeStrings(ds: number, start: number[], count: number[], values: string[]): void;
  readAttrRaw(loc: number, name: string): RawAttr;
  openType(loc: number, name: string): number;
  typeOf(t: number): H5RichType;
  commitType(loc: number, name: string | null, type: H5RichType): number;
  linkObject(obj: number, loc: number, name: string): void;
  standInFilter(id: number, name: string): boolean;
  objectAddr(loc: number, path: string): string;
  userBlockSize(file: number): number;
  orderInfo(obj: number): CreationOrder;
  corders(loc: number, names: string[], kind: 'links' | 'attrs'): number[];
  createGroupEx(loc: number, name: string, opts: { linkOrder?: number; attrOrder?: number }): number;
  readRefs(ds: number, start: number[], count: number[]): Array<FileRef | null>;
  writeRefs(ds: number, start: number[], count: number[], refs: Array<PathRef | null>): void;
  readAttrRefs(loc: number, name: string): { type: H5RichType; space: H5Space; refs: Array<FileRef | null> };
  writeAttrRefs(loc: number, name: string, type: H5RichType, space: H5Space, refs: Array<PathRef | null>): void;
  readChunkRaw(ds: number, offset: number[]): { mask: number; data: Buffer } | null;
  writeChunkRaw(ds: number, offset: number[], mask: number, data: Uint8Array): void;
  readVlen(ds: number, start: number[], count: number[], base?: number): VlenData;
  writeVlen(ds: number, start: number[], count: number[], fixed: Uint8Array, heap: Uint8Array, base?: number): void;
  readAttrVlen(loc: number, name: string): VlenData & { type: H5RichType; space: H5Space };
  writeAttrVlen(loc: number, name: string, type: H5RichType, space: H5Space, fixed: Uint8Array, heap: Uint8Array): void;
  writeAttrRaw(loc: number, name: string, type: H5RichType, space: H5Space, data: Uint8Array | string[]): void;
  links(loc: number): H5Link[];
  createLink(loc: number, name: string, link: { type: 'soft' | 'hard' | 'external'; target: string; file?: string }): void;
  objectKind(loc: number, name: string): string;
}

let addon: Addon | undefined;

export { addonPath };

function lib(): Addon {
  if (addon) return addon;
  const p = process.env['STRATA_H5_ADDON'] || addonPath();
  if (!fs.existsSync(p)) {
    throw new StrataError('ENOTSUP', `the HDF5 addon is not built (${p} is missing): install libhdf5-dev (scripts/install-deps.sh) and run npm run build`);
  }
  addon = createRequire(import.meta.url)(p) as Addon;
  return addon;
}

/** Version of the HDF5 C library in use. */
export function hdf5Version(): string {
  return lib().version();
}

function wrap<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof StrataError) throw e;
    const err = e as Error & { code?: string };
    const code = err.code === 'EINVAL' ? 'EINVAL' : /\(errno 28\)/.test(err.message) ? 'ENOSPC' : 'EIO';
    throw new StrataError(code, `${what}: ${err.message}`, { cause: e });
  }
}

/**
 * Something that holds attributes: a file, a group, a dataset or a named
 * datatype (libhdf5 takes any of their ids in the attribute calls).
 */
abstract class AttributeHolder {
  constructor(readonly file: H5File, readonly id: number, readonly name: string) {}

  /** How messages name this object. */
  protected abstract where(): string;

  attrNames(): string[] { return wrap(this.where(), () => lib().attrNames(this.id)); }
  hasAttr(name: string): boolean { return this.attrNames().includes(name); }
  readAttr(name: string): AttrValue { return wrap(this.where(), () => lib().readAttr(this.id, name)); }
  writeAttr(name: string, type: H5Type, values: unknown[], opts?: { scalar?: boolean }): void {
    wrap(this.where(), () => lib().writeAttr(this.id, name, type, values, opts));
  }
  readAttrRaw(name: string): RawAttr { return wrap(this.where(), () => lib().readAttrRaw(this.id, name)); }
  writeAttrRaw(name: string, type: H5RichType, space: H5Space, data: Uint8Array | string[]): void {
    wrap(this.where(), () => lib().writeAttrRaw(this.id, name, type, space, data));
  }
  readAttrRefs(name: string): { type: H5RichType; space: H5Space; refs: Array<FileRef | null> } { return wrap(this.where(), () => lib().readAttrRefs(this.id, name)); }
  writeAttrRefs(name: string, type: H5RichType, space: H5Space, refs: Array<PathRef | null>): void {
    wrap(this.where(), () => lib().writeAttrRefs(this.id, name, type, space, refs));
  }
  /** An attribute whose type holds variable-length data (heap offsets from 0). */
  readAttrVlen(name: string): VlenData & { type: H5RichType; space: H5Space } { return wrap(this.where(), () => lib().readAttrVlen(this.id, name)); }
  writeAttrVlen(name: string, type: H5RichType, space: H5Space, fixed: Uint8Array, heap: Uint8Array): void {
    wrap(this.where(), () => lib().writeAttrVlen(this.id, name, type, space, fixed, heap));
  }
  /** Creation order numbers of attributes here (-1: not tracked). */
  corders(names: string[], kind: 'attrs'): number[] { return wrap(this.where(), () => lib().corders(this.id, names, kind)); }
  close(): void { wrap(this.where(), () => lib().close(this.id)); }
}

/** Something that holds attributes and links: a file or a group. */
abstract class Location extends AttributeHolder {
  protected where(): string { return this.name === '/' ? this.file.path : `${this.file.path}:${this.name}`; }

  has(name: string): boolean { return wrap(this.where(), () => lib().exists(this.id, name)); }
  links(): string[] { return wrap(this.where(), () => lib().listLinks(this.id)); }

  createDataset(name: string, type: H5Type, opts: { dims: number[]; maxdims?: number[]; chunk?: number[]; fillNever?: boolean }): Dataset {
    return new Dataset(this.file, wrap(this.where(), () => lib().createDataset(this.id, name, type, opts)), name);
  }
  openDataset(name: string): Dataset {
    return new Dataset(this.file, wrap(this.where(), () => lib().openDataset(this.id, name)), name);
  }
  createGroup(name: string): Group { return new Group(this.file, wrap(this.where(), () => lib().createGroup(this.id, name)), name); }
  /** Links of this group in name order, with their kind and (hard links) the object they reach. */
  linkList(): H5Link[] { return wrap(this.where(), () => lib().links(this.id)); }
  /** Creates a soft, hard (target: absolute path in the file) or external link. */
  createLink(name: string, link: { type: 'soft' | 'hard' | 'external'; target: string; file?: string }): void {
    wrap(this.where(), () => lib().createLink(this.id, name, link));
  }
  /** What a path reaches: 'group', 'dataset', 'datatype', 'other', or '' when nothing (dangling). */
  objectKind(name: string): string { return wrap(this.where(), () => lib().objectKind(this.id, name)); }
  /** Creates a dataset from a rich type with layout, filters and fill value. */
  createDatasetEx(name: string, type: H5RichType, opts: CreateDatasetExOptions): Dataset {
    return new Dataset(this.file, wrap(this.where(), () => lib().createDatasetEx(this.id, name, type, opts)), name);
  }
  openGroup(name: string): Group { return new Group(this.file, wrap(this.where(), () => lib().openGroup(this.id, name)), name); }
  /** Creation order flags of this group (the root group for a file). */
  orderInfo(): CreationOrder { return wrap(this.where(), () => lib().orderInfo(this.id)); }
  /** Creation order numbers of links or attributes here (-1: not tracked). */
  override corders(names: string[], kind: 'links' | 'attrs'): number[] { return wrap(this.where(), () => lib().corders(this.id, names, kind)); }
  createGroupEx(name: string, opts: { linkOrder?: number; attrOrder?: number }): Group {
    return new Group(this.file, wrap(this.where(), () => lib().createGroupEx(this.id, name, opts)), name);
  }
  /** The file address of the object at `path` (what links() reports; what an object reference holds with libhdf5 1.10). */
  objectAddr(path: string): string { return wrap(this.where(), () => lib().objectAddr(this.id, path)); }
  openType(name: string): NamedType { return new NamedType(this.file, wrap(this.where(), () => lib().openType(this.id, name)), name); }
  /** Commits a named datatype here under `name`, or anonymously (null: give it a name later with NamedType.link). */
  commitType(name: string | null, type: H5RichType): NamedType {
    return new NamedType(this.file, wrap(this.where(), () => lib().commitType(this.id, name, type)), name ?? '(anonymous)');
  }
}

/** An open named datatype: its type, its attributes, more names for it. */
export class NamedType extends AttributeHolder {
  protected where(): string { return `${this.file.path}: datatype '${this.name}'`; }
  type(): H5RichType { return wrap(this.where(), () => lib().typeOf(this.id)); }
  /** A descriptor standing for this committed type (datasets and attributes made from it share it). */
  ref(t: H5RichType): H5RichType { return { ...t, hid: this.id }; }
  link(loc: Location, name: string): void { wrap(this.where(), () => lib().linkObject(this.id, loc.id, name)); }
}

export class Group extends Location {}

export class Dataset extends AttributeHolder {
  protected where(): string { return `${this.file.path}: dataset '${this.name}'`; }

  info(): DatasetInfo { return wrap(this.where(), () => lib().datasetInfo(this.id)); }
  setExtent(dims: number[]): void { wrap(this.where(), () => lib().setExtent(this.id, dims)); }
  writeSlab(start: number[], count: number[], data: Uint8Array): void { wrap(this.where(), () => lib().writeSlab(this.id, start, count, data)); }
  readSlab(start: number[], count: number[]): Buffer { return wrap(this.where(), () => lib().readSlab(this.id, start, count)); }
  /** Writes rows of a 1-D dataset (converted with `type`), starting at row `start`. */
  writeRows(type: H5Type, start: number, rows: unknown[]): void { wrap(this.where(), () => lib().writeRows(this.id, type, start, rows)); }
  /** Reads rows of a 1-D dataset in the native form of its file type. */
  readRows<T = unknown>(start: number, count: number): T[] { return wrap(this.where(), () => lib().readRows(this.id, start, count) as T[]); }
  /** Appends rows to a 1-D extendible dataset; returns the new length. */
  appendRows(type: H5Type, rows: unknown[], at: number): number {
    if (rows.length === 0) return at;
    this.setExtent([at + rows.length]);
    this.writeRows(type, at, rows);
    return at + rows.length;
  }
  /** H5Sencode of this dataset's dataspace with the hyperslab [start, start+count) selected. */
  encodeSelection(start: number[], count: number[]): Buffer { return wrap(this.where(), () => lib().encodeSelection(this.id, start, count)); }
  /** Type (rich), dataspace, layout, chunk, filters and fill value. */
  meta(): DatasetMeta { return wrap(this.where(), () => lib().datasetMeta(this.id)); }
  /** Raw elements (file type, any fixed-size type; scalar datasets: start=count=[]). */
  readRaw(start: number[], count: number[]): Buffer { return wrap(this.where(), () => lib().readRaw(this.id, start, count)); }
  writeRaw(start: number[], count: number[], data: Uint8Array): void { wrap(this.where(), () => lib().writeRaw(this.id, start, count, data)); }
  orderInfo(): CreationOrder { return wrap(this.where(), () => lib().orderInfo(this.id)); }
  /** Reference datasets: what each reference points at (an error names a dangling one). */
  readRefs(start: number[], count: number[]): Array<FileRef | null> { return wrap(this.where(), () => lib().readRefs(this.id, start, count)); }
  writeRefs(start: number[], count: number[], refs: Array<PathRef | null>): void { wrap(this.where(), () => lib().writeRefs(this.id, start, count, refs)); }
  /** The chunk at `offset` (in elements) as stored, still filtered, with its filter mask; null when not allocated. */
  readChunkRaw(offset: number[]): { mask: number; data: Buffer } | null { return wrap(this.where(), () => lib().readChunkRaw(this.id, offset)); }
  writeChunkRaw(offset: number[], mask: number, data: Uint8Array): void { wrap(this.where(), () => lib().writeChunkRaw(this.id, offset, mask, data)); }
  /** Elements of a type holding variable-length data, heap offsets from `base`. */
  readVlen(start: number[], count: number[], base = 0): VlenData { return wrap(this.where(), () => lib().readVlen(this.id, start, count, base)); }
  writeVlen(start: number[], count: number[], fixed: Uint8Array, heap: Uint8Array, base = 0): void {
    wrap(this.where(), () => lib().writeVlen(this.id, start, count, fixed, heap, base));
  }
  /** Variable-length string datasets. */
  readStrings(start: number[], count: number[]): string[] { return wrap(this.where(), () => lib().readStrings(this.id, start, count)); }
  writeStrings(start: number[], count: number[], values: string[]): void { wrap(this.where(), () => lib().writeStrings(this.id, start, count, values)); }
}

/**
 * Makes filter `id` usable in dataset creation properties when this library
 * cannot find it (a stand-in under its id and name that refuses to filter:
 * only raw chunks are written through it). False when the real filter is available.
 */
export function standInFilter(id: number, name: string): boolean {
  return wrap(`filter ${id}`, () => lib().standInFilter(id, name));
}

/** Builds a rich type in the C library and describes it back (validates a descriptor). */
export function checkRichType(t: H5RichType): H5RichType {
  return wrap('datatype', () => lib().checkType(t));
}

export class H5File extends Location {
  private closed = false;
  private constructor(readonly path: string, id: number) {
    super(undefined as unknown as H5File, id, '/');
    (this as { file: H5File }).file = this;
  }

  /** Creates (mode 'w' truncates, 'x' fails if it exists) a file; `userblock` reserves bytes at its start (a power of 2 ≥ 512). */
  static create(p: string, opts: { overwrite?: boolean; userblock?: number; linkOrder?: number; attrOrder?: number } = {}): H5File {
    return new H5File(p, wrap(p, () => lib().open(p, opts.overwrite ? 'w' : 'x', { userblock: opts.userblock, linkOrder: opts.linkOrder, attrOrder: opts.attrOrder })));
  }

  /** Opens `p`; `name` is what messages and `path` call it (default p: say, the file's name when p is /proc/self/fd/N). */
  static open(p: string, opts: { write?: boolean; name?: string } = {}): H5File {
    const name = opts.name ?? p;
    return new H5File(name, wrap(name, () => lib().open(p, opts.write ? 'rw' : 'r')));
  }

  flush(): void { wrap(this.path, () => lib().flush(this.id)); }

  /** Bytes reserved for a user block at the start of the file (0: none). */
  userBlockSize(): number { return wrap(this.path, () => lib().userBlockSize(this.id)); }

  /** Closes the file and everything still open in it. */
  override close(): void {
    if (this.closed) return;
    this.closed = true;
    wrap(this.path, () => lib().close(this.id));
  }
}

/** Decodes an H5Sencode'd dataspace: its dims and selected blocks ([start, count] per block). */
export function decodeSelection(buf: Uint8Array): { dims: number[]; blocks: Array<[number[], number[]]> } {
  return wrap('decode selection', () => lib().decodeSelection(buf));
}
