// The engine contract: durable, transactional, versioned key-value + byte-array
// storage. Everything above src/engine/ talks to this interface only; LMDB
// (embedded) and PostgreSQL (shared) implement it, and one contract test suite
// (test/engine/contract.ts) runs against every implementation.
//
// Addressing follows DAOS: container -> object (16-byte OID) -> dkey -> akey.
// An akey holds either a single value (versioned as a whole) or a byte array
// (versioned extents; bytes never written read as zeros and are not stored).
//
// Every committed batch gets a new epoch (a counter shared by the whole engine,
// strictly increasing). Reads take an optional epoch and see the newest version
// at or below it; a snapshot is an epoch the engine promises to keep readable
// until the snapshot is destroyed.

export type Epoch = number;

/** Read at the newest state. */
export const LATEST: Epoch = Number.MAX_SAFE_INTEGER;

/** Container ids are UUID strings (lower case, 36 chars). OIDs are 16 bytes (hi then lo, big-endian). */
export type ContId = string;

export interface KeyPath {
  cont: ContId;
  oid: Uint8Array;
  dkey: Uint8Array;
  akey: Uint8Array;
}

export type WriteOp =
  /** Set a single value (replaces the whole value). */
  | ({ op: 'put'; value: Uint8Array } & KeyPath)
  /** Set a single value holding a little-endian u64 to max(current, value): merges without conflicts. */
  | ({ op: 'put-max'; value: bigint } & KeyPath)
  /** Write bytes of a byte array at an offset. */
  | ({ op: 'write'; offset: number; data: Uint8Array } & KeyPath)
  /** Turn a byte range of an array into a hole (reads as zeros, no data kept). */
  | ({ op: 'punch-range'; offset: number; length: number } & KeyPath)
  /** Remove an akey (single value or whole array). */
  | ({ op: 'punch-akey' } & KeyPath)
  /** Remove a dkey with all its akeys. */
  | { op: 'punch-dkey'; cont: ContId; oid: Uint8Array; dkey: Uint8Array }
  /** Remove an object with all its dkeys. */
  | { op: 'punch-obj'; cont: ContId; oid: Uint8Array }
  /** Catalog (pool/container metadata): JSON values under string keys; not versioned. */
  | { op: 'cat-put'; key: string; value: unknown }
  | { op: 'cat-del'; key: string };

/**
 * Preconditions checked atomically with the batch; if one fails the batch is
 * not applied and commit() throws StrataError('ECONFLICT'). `version` is the
 * epoch returned by Engine.version() (0 = the akey does not exist).
 */
export type Condition =
  | ({ kind: 'akey'; version: Epoch } & KeyPath)
  | { kind: 'cat-absent'; key: string }
  | { kind: 'cat-present'; key: string };

export interface Batch {
  ops: WriteOp[];
  conditions?: Condition[];
  /**
   * Objects this batch creates (ids allocated for them, nothing stored under
   * them yet): their puts and writes need not look for older versions to
   * replace. A wrong entry never changes what readers see, it only leaves
   * older versions for a later reclaim to miss.
   */
  fresh?: Array<{ cont: ContId; oid: Uint8Array }>;
}

export interface Page {
  /** Exclusive start: return keys strictly after this one. */
  after?: Uint8Array;
  limit?: number;
  epoch?: Epoch;
}

export interface AkeyInfo {
  akey: Uint8Array;
  kind: 'single' | 'array';
}

/** A run of stored bytes [offset, offset+length) of a byte array. */
export interface Extent {
  offset: number;
  length: number;
}

export interface SnapshotInfo {
  epoch: Epoch;
  name?: string;
  createdAt: string;
}

/** What readSmallObject returns. */
export interface SmallObject {
  singles: Array<{ dkey: Uint8Array; akey: Uint8Array; value: Uint8Array }>;
  arrays: Array<{ dkey: Uint8Array; akey: Uint8Array; data: Uint8Array }>;
}

export interface EngineUsage {
  /** Bytes the engine occupies (index + data files). */
  totalBytes: number;
  /** Bytes of array data still referenced. */
  liveDataBytes: number;
}

export interface Engine {
  /** 'lmdb' or 'postgres'. */
  readonly kind: string;
  /** Where it lives (a directory or a connection URL without password). */
  readonly location: string;

  /** Applies all ops atomically at one new epoch, after checking conditions. Returns that epoch. */
  commit(batch: Batch): Promise<Epoch>;
  /**
   * When this handle's writes resolve. 'durable' (the default): once on disk.
   * 'visible': once every client sees them; they reach the disk with the next
   * durable write of any client, with sync(), or with the OS's own writeback.
   * A killed process loses nothing either way; an OS crash may lose the
   * 'visible' writes since the last sync, never consistency. (A local
   * filesystem's model: data is visible at write, durable at fsync.) An
   * engine whose commits are always durable ignores it.
   */
  setDurability(mode: 'durable' | 'visible'): void;
  /** Makes every write this handle made durable. */
  sync(): Promise<void>;
  /**
   * The next reads see every commit that returned (in any thread or process)
   * before this call. Without it a handle's reads may see a state up to one
   * turn of its event loop old (LMDB keeps a read snapshot that long); a
   * server answering requests of other clients (the FUSE mount) calls it
   * per request, so a file another client closed is there when it is opened.
   */
  refresh(): void;
  /**
   * The newest committed epoch. With a container: an epoch at which reads of
   * that container see a fixed view, every commit of it up to that epoch and
   * none after (the one to read "now" at; commits of other containers may be
   * newer).
   */
  currentEpoch(cont?: ContId): Promise<Epoch>;
  /** Atomically reserves `count` consecutive numbers from a container's counter; returns the first (starts at 1). */
  allocate(cont: ContId, count: number): Promise<bigint>;

  /** Single value of an akey at an epoch; undefined if absent (or if the akey is an array). */
  get(k: KeyPath, epoch?: Epoch): Promise<Uint8Array | undefined>;
  /**
   * Reads a byte range of an array akey; holes and bytes never written read
   * as zeros. With `into` (at least `length` bytes) the bytes land there and
   * its first `length` bytes are returned, so a reader can reuse one buffer.
   */
  read(k: KeyPath, offset: number, length: number, epoch?: Epoch, into?: Uint8Array): Promise<Uint8Array>;
  /**
   * Live single values of every akey of a dkey at an epoch, in akey order
   * (array akeys are left out): one read for a dkey of small values.
   */
  fetchDkey(cont: ContId, oid: Uint8Array, dkey: Uint8Array, epoch?: Epoch): Promise<Array<{ akey: Uint8Array; value: Uint8Array }>>;
  /**
   * The dkeys (after page.after, up to page.limit, default 1024) whose akey
   * `akey` holds a live single value, with that value, in dkey order: a
   * listing and its gets in one read.
   */
  listValues(cont: ContId, oid: Uint8Array, akey: Uint8Array, page?: Page): Promise<Array<{ dkey: Uint8Array; value: Uint8Array }>>;
  /**
   * fetchDkey of one dkey of each of several objects, in one read (a page of
   * a directory's inodes); results in the order of `items`.
   */
  fetchDkeys(cont: ContId, items: ReadonlyArray<{ oid: Uint8Array; dkey: Uint8Array }>, epoch?: Epoch): Promise<Array<Array<{ akey: Uint8Array; value: Uint8Array }>>>;
  /**
   * Every live akey of a small object in one read (its keys are neighbours in
   * the index): single values, and each byte array's bytes from 0 to its last
   * stored byte (holes as zeros), in dkey then akey order. Undefined when the
   * object holds more than `maxRecords` index records or its arrays more than
   * `maxBytes` bytes: the caller reads it key by key. The dkeys in `without`
   * (ones the caller has already) are left out.
   */
  readSmallObject(cont: ContId, oid: Uint8Array, opts: { epoch?: Epoch; maxRecords: number; maxBytes: number; without?: ReadonlyArray<Uint8Array> }): Promise<SmallObject | undefined>;
  /** Stored (non-hole) ranges of an array akey, merged, in offset order. */
  extents(k: KeyPath, epoch?: Epoch): Promise<Extent[]>;
  /** Epoch of the newest version of an akey (any kind, tombstones included), 0 if never written. */
  version(k: KeyPath): Promise<Epoch>;

  /** Objects of a container that hold data at the epoch, in OID order. */
  listObjects(cont: ContId, page?: Page): Promise<Uint8Array[]>;
  /** dkeys of an object that hold data at the epoch, in byte order. */
  listDkeys(cont: ContId, oid: Uint8Array, page?: Page): Promise<Uint8Array[]>;
  /** akeys of a dkey that hold data at the epoch, in byte order. */
  listAkeys(cont: ContId, oid: Uint8Array, dkey: Uint8Array, page?: Page): Promise<AkeyInfo[]>;

  catGet(key: string): Promise<unknown | undefined>;
  /** Catalog entries whose key starts with prefix, in key order. */
  catList(prefix: string, opts?: { after?: string; limit?: number }): Promise<Array<[string, unknown]>>;

  /**
   * Takes a snapshot of a container: an epoch whose view stays readable until
   * destroyed. With `record`, the catalog entry `record.keyPrefix + epoch` is
   * written in the same commit (so an owner is never missing for a snapshot).
   */
  createSnapshot(cont: ContId, name?: string, record?: { keyPrefix: string; value: unknown }): Promise<Epoch>;
  listSnapshots(cont: ContId): Promise<SnapshotInfo[]>;
  /** Forgets a snapshot and reclaims versions no remaining snapshot needs. */
  destroySnapshot(cont: ContId, epoch: Epoch): Promise<void>;
  /** Drops every version and extent of a container that no snapshot or the latest view needs. */
  reclaim(cont: ContId): Promise<void>;
  /** Removes all data and snapshots of a container (catalog entries are the caller's). */
  destroyContainer(cont: ContId): Promise<void>;

  usage(): Promise<EngineUsage>;
  /** Verifies the engine's invariants (see check.ts); with repair, fixes what is safe to fix. */
  check(opts?: { repair?: boolean }): Promise<EngineCheckReport>;
  close(): Promise<void>;
}

export type { EngineCheckReport } from './check.js';
import type { EngineCheckReport } from './check.js';
