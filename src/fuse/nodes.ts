// The node table: every name the kernel has looked up gets a node id. Nodes
// above containers are synthetic (tier root, pools, the .snapshots directory),
// one per name; nodes inside a container carry the DFS inode's OID, so
// getattr, read and write go straight to the object without a path walk, and
// there is one node per inode (all names of a hard-linked file are one kernel
// inode: a chmod or write through one name is seen through the others, and
// the kernel caches and invalidates attributes per inode, not per name).
import fs from 'node:fs';
import type { Container } from '../container/container.js';
import type { Dfs, Entry, FileType } from '../dfs/index.js';
import type { ObjectId } from '../object/oid.js';
import type { Epoch } from '../engine/types.js';
import type { ContPerm } from '../container/container.js';
import { ERRNO } from './proto.js';
import { Fail } from './fail.js';

/** 'label': a symlink named by a pool's or container's label, to its UUID directory (find and du do not follow it). */
export type NodeKind = 'root' | 'pool' | 'cont' | 'snaps' | 'dfs' | 'empty' | 'label';

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
  /** A name of the node (the last one it was reached by; for messages). */
  parent: Node | undefined;
  name: string;
  /** DFS nodes: every (directory node, name) this table knows the inode by. */
  names?: Array<{ dir: Node; name: string }>;
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
  /** 'label' nodes: the UUID they point to. */
  target?: string;
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

function inodeKey(mnt: Mnt, oid: ObjectId): string { return `${mnt.index}:${oid}`; }

export class NodeTable {
  private nodes = new Map<bigint, Node>();
  /** DFS nodes by view and OID: one node per inode. */
  private inodes = new Map<string, Node>();
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

  /**
   * The node of a DFS directory entry: the existing node while the name still
   * names the same inode, else the inode's node (reached by another name,
   * a hard link) or a new one; the name is recorded as one of its names.
   */
  dfsChild(p: Node & { mnt: Mnt }, name: string, ent: Entry): Node {
    const old = p.children.get(name);
    if (old && old.kind === 'dfs' && old.oid?.equals(ent.oid)) return old;
    if (old) this.unname(p, name);
    const k = inodeKey(p.mnt, ent.oid);
    let n = this.inodes.get(k);
    if (!n || n.type !== ent.type) {
      n = { kind: 'dfs', poolUuid: p.poolUuid, contUuid: p.contUuid, mnt: p.mnt, oid: ent.oid, type: ent.type, id: this.nextId++, parent: p, name, nlookup: 0, children: new Map(), names: [] };
      this.nodes.set(n.id, n);
      this.inodes.set(k, n);
    }
    this.addName(p, name, n);
    return n;
  }

  private addName(dir: Node, name: string, n: Node): void {
    dir.children.set(name, n);
    if (n.names && !n.names.some((x) => x.dir === dir && x.name === name)) n.names.push({ dir, name });
    n.parent = dir;
    n.name = name;
    n.detached = false;
  }

  /** Forgets that `name` in `dir` names its node (unlink, rmdir, replaced by a rename); the node lives on until the kernel forgets it. */
  unname(dir: Node, name: string): void {
    const n = dir.children.get(name);
    if (!n) return;
    dir.children.delete(name);
    if (n.names) {
      n.names = n.names.filter((x) => !(x.dir === dir && x.name === name));
      const first = n.names[0];
      if (first) { n.parent = first.dir; n.name = first.name; } else n.detached = true;
    } else n.detached = true;
    this.maybeDrop(n);
  }

  /** Removes every name of a node (a replaced synthetic node, a failed creation). */
  detach(n: Node): void {
    if (n.names) { for (const x of [...n.names]) this.unname(x.dir, x.name); }
    else if (n.parent && n.parent.children.get(n.name) === n) this.unname(n.parent, n.name);
    n.detached = true;
    this.maybeDrop(n);
  }

  /** A rename of `from` in `a` to `to` in `b` (of node n); renaming a name onto another name of the same inode changes nothing, as in POSIX. */
  move(n: Node, a: Node, from: string, b: Node, to: string): void {
    const victim = b.children.get(to);
    if (victim === n && !(a === b && from === to) && n.names) return;
    if (victim && victim !== n) this.unname(b, to);
    if (a.children.get(from) === n) a.children.delete(from);
    if (n.names) n.names = n.names.filter((x) => !(x.dir === a && x.name === from));
    this.addName(b, to, n);
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
    if (n.mnt && n.oid && n.kind === 'dfs') {
      const k = inodeKey(n.mnt, n.oid);
      if (this.inodes.get(k) === n) this.inodes.delete(k);
    }
    for (const { dir, name } of n.names ?? (n.parent ? [{ dir: n.parent, name: n.name }] : [])) {
      if (dir.children.get(name) === n) {
        dir.children.delete(name);
        this.maybeDrop(dir);
      }
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
