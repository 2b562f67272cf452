// The node table: every name the kernel has looked up gets a node id (one per
// dentry, as libfuse's high-level layer does, so a hard link has one node per
// name). Nodes above containers are synthetic (tier root, pools, the
// .snapshots directory); nodes inside a container carry the DFS inode's OID, so
// getattr, read and write go straight to the object without a path walk.
import fs from 'node:fs';
import type { Container } from '../container/container.js';
import type { Dfs, Entry, FileType } from '../dfs/index.js';
import type { ObjectId } from '../object/oid.js';
import type { Epoch } from '../engine/types.js';
import type { ContPerm } from '../container/container.js';
import { ERRNO } from './proto.js';
import { Fail } from './fail.js';

export type NodeKind = 'root' | 'pool' | 'cont' | 'snaps' | 'dfs' | 'empty';

/** One mounted DFS view: a container at the latest epoch, or one of its snapshots. */
export class Mnt {
  constructor(
    readonly index: number,
    readonly container: Container,
    readonly dfs: Dfs,
    readonly epoch: Epoch | undefined,
  ) {}

  get readOnly(): boolean { return this.dfs.readOnly; }

  /** Inode number: the OID's low bits (a counter per container), tagged with the mount's index. */
  ino(oid: ObjectId): bigint {
    return (BigInt(this.index) << 44n) | ((oid.lo + 1n) & ((1n << 44n) - 1n));
  }
}

export interface Node {
  id: bigint;
  kind: NodeKind;
  parent: Node | undefined;
  name: string;
  nlookup: number;
  children: Map<string, Node>;
  /** Detached by unlink/rename-over/rmdir: no path any more. */
  detached?: boolean;
  poolUuid?: string;
  contUuid?: string;
  /** For 'dfs' nodes (and a container's root): the view and the inode. */
  mnt?: Mnt;
  oid?: ObjectId;
  type?: FileType;
  /** This node is the root directory of its mnt. */
  mntRoot?: boolean;
  /** Synthetic inode number (non-dfs nodes). */
  synIno?: bigint;
  /** Open file handles on this node (write-back consistency). */
  open?: Set<bigint>;
  /** Bumped on every change through this mount (drops read-ahead, decides keep_cache). */
  gen?: number;
  /** mtime+size seen at the last open (keep the page cache if unchanged). */
  cacheStamp?: string;
}

/** A node inside a mounted DFS view, with its inode. */
export type DfsNode = Node & { mnt: Mnt; oid: ObjectId; type: FileType };

export function isDfs(n: Node): boolean { return (n.kind === 'dfs' || n.kind === 'cont') && !!n.mnt; }

/** n as a DFS node; EROFS for read-only synthetic directories, EPERM for the pool/container levels. */
export function dfsNode(n: Node): DfsNode {
  if (!isDfs(n) || !n.oid || !n.type) throw new Fail(ERRNO[n.kind === 'empty' || n.kind === 'snaps' ? 'EROFS' : 'EPERM']!);
  return n as DfsNode;
}

export const ROOT_ID = 1n;

export class NodeTable {
  private nodes = new Map<bigint, Node>();
  private nextId = 2n;
  private nextSyn = 1n;

  constructor(rootKind: NodeKind, init: Partial<Node> = {}) {
    const root: Node = { id: ROOT_ID, kind: rootKind, parent: undefined, name: '', nlookup: 1, children: new Map(), synIno: this.syn(), ...init };
    this.nodes.set(ROOT_ID, root);
  }

  syn(): bigint { return (0xfffen << 48n) | this.nextSyn++; }

  get(id: bigint): Node | undefined { return this.nodes.get(id); }
  get root(): Node { return this.nodes.get(ROOT_ID)!; }

  /** The child node for a name, created (nlookup 0) if new; `same` says whether an existing node still fits. */
  child(parent: Node, name: string, init: Omit<Node, 'id' | 'parent' | 'name' | 'nlookup' | 'children'>, same: (n: Node) => boolean): Node {
    const old = parent.children.get(name);
    if (old && same(old)) return old;
    if (old) this.detach(old);
    const n: Node = { ...init, id: this.nextId++, parent, name, nlookup: 0, children: new Map() };
    if (n.kind !== 'dfs' && n.synIno === undefined) n.synIno = this.syn();
    this.nodes.set(n.id, n);
    parent.children.set(name, n);
    return n;
  }

  /** The child node for a DFS directory entry (the existing node while it is the same inode). */
  dfsChild(p: Node & { mnt: Mnt }, name: string, ent: Entry): Node {
    return this.child(p, name, { kind: 'dfs', poolUuid: p.poolUuid, contUuid: p.contUuid, mnt: p.mnt, oid: ent.oid, type: ent.type },
      (n) => n.kind === 'dfs' && !!n.oid?.equals(ent.oid));
  }

  /** Removes the name from its parent (the node lives on until the kernel forgets it). */
  detach(n: Node): void {
    if (n.parent && n.parent.children.get(n.name) === n) n.parent.children.delete(n.name);
    n.detached = true;
    this.maybeDrop(n);
  }

  move(n: Node, newParent: Node, newName: string): void {
    const victim = newParent.children.get(newName);
    if (victim && victim !== n) this.detach(victim);
    if (n.parent && n.parent.children.get(n.name) === n) n.parent.children.delete(n.name);
    n.parent = newParent;
    n.name = newName;
    n.detached = false;
    newParent.children.set(newName, n);
  }

  forget(id: bigint, count: number): void {
    const n = this.nodes.get(id);
    if (!n || id === ROOT_ID) return;
    n.nlookup = Math.max(0, n.nlookup - count);
    this.maybeDrop(n);
  }

  private maybeDrop(n: Node): void {
    if (n.nlookup > 0 || n.children.size > 0 || (n.open && n.open.size > 0) || n.id === ROOT_ID) return;
    this.nodes.delete(n.id);
    const p = n.parent;
    if (p && p.children.get(n.name) === n) {
      p.children.delete(n.name);
      this.maybeDrop(p);
    }
  }

  release(n: Node): void { this.maybeDrop(n); }

  /** Path of a dfs node inside its mnt ('/' for the container root). */
  dfsPath(n: Node): string {
    const parts: string[] = [];
    let c: Node | undefined = n;
    while (c && !c.mntRoot) {
      if (c.detached) throw Object.assign(new Error('stale'), { code: 'ENOENT' });
      parts.push(c.name);
      c = c.parent;
    }
    return '/' + parts.reverse().join('/');
  }

  get size(): number { return this.nodes.size; }
}

/** Supplementary groups of a process (from /proc), for ACL checks of a FUSE caller. */
export function groupsOfPid(pid: number): number[] {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /^Groups:\s*(.*)$/m.exec(s);
    return m ? m[1]!.trim().split(/\s+/).filter(Boolean).map(Number) : [];
  } catch {
    return [];
  }
}

export type { ContPerm };
