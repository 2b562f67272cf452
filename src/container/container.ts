// An open container: what layers above (dfs, hdf5, mover, park) get to work
// with. It carries the container's record (label, type, properties, ACL...),
// the caller's effective permissions, and makes objects and transactions.
import type { Engine, Epoch } from '../engine/types.js';
import { DaosObject, Tx } from '../object/object.js';
import { ObjectId, parseObjectClass } from '../object/oid.js';
import { StrataError } from '../errors.js';

/** DAOS layout names; RAW is strata's name for DAOS's UNKNOWN. */
export const CONTAINER_TYPES = ['POSIX', 'HDF5', 'RAW', 'PYTHON', 'SPARK', 'DATABASE', 'ROOT', 'SEISMIC', 'METEO'] as const;
export type ContainerType = (typeof CONTAINER_TYPES)[number];

/** Container properties as stored; values are strings or numbers. */
export type ContainerProps = Record<string, string | number>;

export interface ContainerRecord {
  uuid: string;
  poolUuid: string;
  label: string;
  type: ContainerType;
  /** Always holds at least chunk_size (bytes), oclass, layout_type, label, owner, group. */
  props: ContainerProps;
  /** DAOS-form ACL entries, e.g. "A::OWNER@:rwdtTaAo". */
  acl: string[];
  /** User attributes: name -> value (base64 of the bytes). */
  attrs: Record<string, string>;
  createdAt: string;
  /** Catalog revision (compare-and-swap token); managed by src/container. */
  rev?: number;
}

/** DAOS container permission letters. */
export type ContPerm = 'r' | 'w' | 'd' | 't' | 'T' | 'a' | 'A' | 'o';

export class Container {
  constructor(
    readonly engine: Engine,
    readonly record: ContainerRecord,
    /** Permissions the caller holds on this container (from its ACL). */
    readonly perms: ReadonlySet<ContPerm>,
  ) {}

  get uuid(): string { return this.record.uuid; }
  get label(): string { return this.record.label; }
  get poolUuid(): string { return this.record.poolUuid; }
  get type(): ContainerType { return this.record.type; }
  get chunkSize(): number { return Number(this.record.props['chunk_size'] ?? 1048576); }
  get oclass(): string { return String(this.record.props['oclass'] ?? 'SX'); }

  /** Throws EACCES unless the caller holds every listed permission. */
  require(perm: ContPerm, what: string): void {
    if (!this.perms.has(perm)) {
      throw new StrataError('EACCES', `${what}: permission denied on container ${this.label} (ACL grants '${[...this.perms].join('') || 'nothing'}')`);
    }
  }

  object(oid: ObjectId): DaosObject {
    return new DaosObject(this.engine, this.uuid, oid);
  }

  /** A write transaction; refuses if the caller has no write permission. */
  tx(): Tx {
    this.require('w', 'write');
    return new Tx(this.engine);
  }

  /** Allocates a fresh OID of the given DAOS object type and class (default: the container's oclass). */
  async allocOid(otype: number, oclass?: string): Promise<ObjectId> {
    this.require('w', 'allocate object id');
    const seq = await this.engine.allocate(this.uuid, 1);
    return ObjectId.make(seq, otype, parseObjectClass(oclass ?? this.oclass));
  }

  currentEpoch(): Promise<Epoch> { return this.engine.currentEpoch(this.uuid); }
}
