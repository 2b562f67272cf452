// Permission checks of the mount: the pool and container ACLs, with the caches
// that keep them cheap (records for 2 s, callers, effective perms). By default
// the ACLs are those of the user who mounts (as dfuse: the ACL decides whether
// that user may open the container; inside it the kernel checks each caller
// against the mode bits, default_permissions); with `aclPerCaller` each
// request's caller must also be granted by the ACLs (shared multi-user mounts).
import type { Engine } from '../engine/types.js';
import type { ContainerRecord } from '../container/container.js';
import { callerFromIds, currentCaller, type Caller } from '../container/identity.js';
import { containerPerms, resolveContainer } from '../container/manage.js';
import { containerAway } from '../container/away.js';
import { isStrataError } from '../errors.js';
import { poolPerms, resolvePool, type PoolRecord } from '../container/pool.js';
import { ERRNO, type InHeader } from './proto.js';
import { groupsOfPid, type Node } from './nodes.js';
import { Fail } from './fail.js';

/** How long pool and container records are cached: ACL changes are seen within this. */
const TTL_MS = 2000;

export class Access {
  private pools = new Map<string, { rec: PoolRecord; at: number }>();
  private conts = new Map<string, { rec: ContainerRecord; at: number }>();
  private callers = new Map<string, { c: Caller; at: number }>();
  /** Effective pool/container permissions per caller, valid while the (cached, 2 s) record object is the same. */
  private permCache = new Map<string, { rec: object; perms: ReadonlySet<string> }>();

  /** The user who mounts (this process), whose ACL rights the mount uses unless aclPerCaller. */
  private readonly mounter: Caller = currentCaller();

  constructor(private readonly engine: Engine, private readonly aclPerCaller = false) {}

  /** Whose rights the pool and container ACLs are evaluated for: the request's caller, or the user who mounts. */
  aclCaller(h: InHeader): Caller { return this.aclPerCaller ? this.caller(h) : this.mounter; }

  /** The caller of a request: uid, gid and the supplementary groups of its process. */
  caller(h: InHeader): Caller {
    const k = `${h.uid}:${h.gid}:${h.pid}`;
    const now = Date.now();
    const hit = this.callers.get(k);
    if (hit && now - hit.at < TTL_MS * 2) return hit.c;
    if (this.callers.size > 4096) { this.callers.clear(); this.permCache.clear(); }
    const c = callerFromIds(h.uid, [h.gid, ...(h.pid ? groupsOfPid(h.pid) : [])]);
    this.callers.set(k, { c, at: now });
    return c;
  }

  async poolRec(uuid: string): Promise<PoolRecord> {
    const hit = this.pools.get(uuid);
    if (hit && Date.now() - hit.at < TTL_MS) return hit.rec;
    const rec = await resolvePool(this.engine, uuid);
    this.pools.set(uuid, { rec, at: Date.now() });
    return rec;
  }

  async contRec(poolUuid: string, uuid: string): Promise<ContainerRecord> {
    const hit = this.conts.get(uuid);
    if (hit && Date.now() - hit.at < TTL_MS) return hit.rec;
    const rec = await this.resolveCont(await this.poolRec(poolUuid), uuid);
    this.conts.set(uuid, { rec, at: Date.now() });
    return rec;
  }

  /**
   * A container by label or UUID. A parked one answers EREMOTE ("Object is
   * remote"): programs going through a link learn the data is elsewhere, not
   * gone (strata commands on the same path say where and how to unpark).
   */
  async resolveCont(pool: PoolRecord, ref: string): Promise<ContainerRecord> {
    try {
      return await resolveContainer(this.engine, pool, ref);
    } catch (e) {
      if (isStrataError(e, 'ENOENT') && await containerAway(this.engine, ref)) throw new Fail(ERRNO['EREMOTE']!);
      throw e;
    }
  }

  /** Caches records a lookup has just resolved (by label or UUID). */
  rememberPool(rec: PoolRecord): void { this.pools.set(rec.uuid, { rec, at: Date.now() }); }
  rememberCont(rec: ContainerRecord): void { this.conts.set(rec.uuid, { rec, at: Date.now() }); }

  /** Pool 'r' and container perms (see aclCaller); throws EACCES. */
  async check(h: InHeader, n: Node, perm: 'r' | 'w'): Promise<void> {
    if (!n.poolUuid) return;
    const caller = this.aclCaller(h);
    const who = this.aclPerCaller ? `${h.uid}:${h.gid}:${h.pid}` : 'mounter';
    const pool = await this.poolRec(n.poolUuid);
    const pk = `${who}:${n.poolUuid}`;
    let pp = this.permCache.get(pk);
    if (!pp || pp.rec !== pool) this.permCache.set(pk, pp = { rec: pool, perms: poolPerms(pool, caller) });
    if (!pp.perms.has('r')) throw new Fail(ERRNO['EACCES']!);
    if (!n.contUuid) {
      if (perm === 'w') throw new Fail(ERRNO['EPERM']!, 'pools and containers are made with strata pool/container create');
      return;
    }
    const rec = await this.contRec(n.poolUuid, n.contUuid);
    const ck = `${who}:${n.contUuid}`;
    let cp = this.permCache.get(ck);
    if (!cp || cp.rec !== rec) this.permCache.set(ck, cp = { rec, perms: containerPerms(rec, caller) });
    if (!cp.perms.has(perm)) throw new Fail(ERRNO['EACCES']!);
    if (perm === 'w' && n.mnt?.readOnly) throw new Fail(ERRNO['EROFS']!);
    if (perm === 'w' && n.kind === 'empty') throw new Fail(ERRNO['EROFS']!);
    if (perm === 'w' && n.kind === 'snaps') throw new Fail(ERRNO['EROFS']!);
  }
}
