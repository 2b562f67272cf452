// Name lookup through the layers of the mount: the tier root (pools), a pool
// (containers by label or UUID), a non-POSIX container, `.snapshots`, DFS
// directories; and readlink.
import type { Engine } from '../engine/types.js';
import { isStrataError } from '../errors.js';
import type { ContainerRecord } from '../container/container.js';

import { poolPerms, resolvePool, type PoolRecord } from '../container/pool.js';
import { isUuid } from '../container/names.js';
import { ROOT_OID } from '../dfs/index.js';
import { ERRNO, negativeEntryOut, type InHeader } from './proto.js';
import { dfsNode, type Node, type NodeTable } from './nodes.js';
import type { Access } from './access.js';
import type { Mounts } from './mounts.js';
import { nkey, okey, type PendingChanges } from './pending.js';
import type { Attrs } from './attr.js';
import { Fail } from './fail.js';

export class Lookup {
  constructor(
    private readonly engine: Engine,
    private readonly table: NodeTable,
    private readonly access: Access,
    private readonly mounts: Mounts,
    private readonly meta: PendingChanges,
    private readonly attrs: Attrs,
  ) {}

  async lookup(h: InHeader, p: Node, name: string): Promise<Buffer[]> {
    if (name.length === 0 || Buffer.byteLength(name) > 255) throw new Fail(ERRNO['ENAMETOOLONG']!);
    switch (p.kind) {
      case 'root': {
        let rec: PoolRecord;
        try { rec = await resolvePool(this.engine, name); } catch (e) {
          if (isStrataError(e, 'ENOENT') || isStrataError(e, 'EINVAL')) return [negativeEntryOut(0)];
          throw e;
        }
        if (!poolPerms(rec, this.access.aclCaller(h)).has('r')) throw new Fail(ERRNO['EACCES']!);
        this.access.rememberPool(rec);
        // A label is a symlink to the UUID directory, as the listing shows it.
        if (!isUuid(name)) return this.attrs.entry(this.table.child(p, name, { kind: 'label', target: rec.uuid }, (n) => n.kind === 'label' && n.target === rec.uuid));
        return this.attrs.entry(this.table.child(p, name, { kind: 'pool', poolUuid: rec.uuid }, (n) => n.kind === 'pool' && n.poolUuid === rec.uuid));
      }
      case 'pool': {
        await this.access.check(h, p, 'r');
        let rec: ContainerRecord;
        try { rec = await this.access.resolveCont(await this.access.poolRec(p.poolUuid!), name); } catch (e) {
          if (isStrataError(e, 'ENOENT') || isStrataError(e, 'EINVAL')) return [negativeEntryOut(0)];
          throw e;
        }
        this.access.rememberCont(rec);
        if (!isUuid(name)) return this.attrs.entry(this.table.child(p, name, { kind: 'label', target: rec.uuid }, (n) => n.kind === 'label' && n.target === rec.uuid));
        if (rec.type !== 'POSIX') {
          return this.attrs.entry(this.table.child(p, name, { kind: 'empty', poolUuid: rec.poolUuid, contUuid: rec.uuid }, (n) => n.contUuid === rec.uuid));
        }
        const mnt = await this.mounts.mntFor(rec, undefined);
        return this.attrs.entry(this.table.child(p, name, { kind: 'cont', poolUuid: rec.poolUuid, contUuid: rec.uuid, mnt, oid: ROOT_OID, type: 'dir', mntRoot: true }, (n) => n.contUuid === rec.uuid && n.mnt === mnt));
      }
      case 'empty': await this.access.check(h, p, 'r'); return [negativeEntryOut(0)];
      case 'snaps': {
        await this.access.check(h, p, 'r');
        const snaps = await this.engine.listSnapshots(p.contUuid!);
        const s = snaps.find((x) => x.name === name) ?? snaps.find((x) => String(x.epoch) === name);
        if (!s) return [negativeEntryOut(0)];
        const mnt = await this.mounts.mntFor(await this.access.contRec(p.poolUuid!, p.contUuid!), s.epoch);
        return this.attrs.entry(this.table.child(p, name, { kind: 'dfs', poolUuid: p.poolUuid, contUuid: p.contUuid, mnt, oid: ROOT_OID, type: 'dir', mntRoot: true }, (n) => n.mnt === mnt));
      }
      default: break;
    }
    const d = dfsNode(p);
    await this.access.check(h, d, 'r');
    if (p.kind === 'cont' && name === '.snapshots') {
      return this.attrs.entry(this.table.child(p, name, { kind: 'snaps', poolUuid: p.poolUuid, contUuid: p.contUuid, mnt: p.mnt }, (n) => n.kind === 'snaps'));
    }
    if (name === '.' || name === '..') throw new Fail(ERRNO['EINVAL']!);
    const pn = this.meta.pendingNames.get(nkey(d.mnt, d.oid, name));
    if (pn) return this.attrs.entry(pn.node);
    const ent = await d.mnt.dfs.lookupAt(d.oid, name);
    if (!ent) return [negativeEntryOut(this.attrs.entryTimeout)];
    return this.attrs.entry(this.table.dfsChild(d, name, ent));
  }

  async readlink(h: InHeader, n: Node): Promise<Buffer[]> {
    if (n.kind === 'label') return [Buffer.from(n.target ?? '', 'utf8')];
    const d = dfsNode(n);
    await this.access.check(h, d, 'r');
    const p = this.meta.pending.get(okey(d.mnt, d.oid));
    if (p) return [Buffer.from(p.opts.target ?? '', 'utf8')];
    return [Buffer.from(await d.mnt.dfs.readlinkOf(d.oid), 'utf8')];
  }
}
