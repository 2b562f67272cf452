// Pools: a UUID, a unique label, properties, an ACL and an owner. Pools hold
// containers. A pool is named by label or UUID everywhere (resolvePool).
import crypto from 'node:crypto';
import type { Engine, EngineUsage } from '../engine/types.js';
import { StrataError } from '../errors.js';
import { keys, commitPlan, revBump, mergePlans, type Plan } from './catalog.js';
import { checkLabel, checkUuid, parseRef } from './names.js';
import { DEFAULT_POOL_ACL, deleteAclPrincipal, effectivePerms, updateAclEntries, validateAcl } from './acl.js';
import { currentCaller, groupName, principal, type Caller } from './identity.js';
import { destroyContainerRecord } from './manage.js';
import { checkUnlinked, type LinkRecord } from './links.js';
import type { ContainerRecord } from './container.js';
import { POOL_PROPS, poolPropDefaults, propDef, showProp } from './props.js';

export interface PoolRecord {
  uuid: string;
  label: string;
  /** label, owner, group, reclaim, space_rb, rd_fac, ec_cell_sz, scrub. */
  props: Record<string, string | number>;
  /** DAOS-form entries, e.g. "A::OWNER@:rw". */
  acl: string[];
  createdAt: string;
  /** Catalog revision (compare-and-swap token). */
  rev?: number;
}

/** Options every call takes: who is calling (default: this process). */
export interface CallOpts {
  caller?: Caller;
}

/** Pool permission letters (DAOS): r read, w write (c+d+T), c create cont, d delete cont, t/T get/set prop, a/A get/set ACL, o set owner. */
export type PoolPerm = 'r' | 'w' | 'c' | 'd' | 't' | 'T' | 'a' | 'A' | 'o';

export function poolOwner(p: PoolRecord): string { return String(p.props['owner']); }
export function poolGroup(p: PoolRecord): string { return String(p.props['group']); }

export function poolPerms(p: PoolRecord, caller: Caller): Set<PoolPerm> {
  return effectivePerms(p.acl, poolOwner(p), poolGroup(p), caller, 'pool') as Set<PoolPerm>;
}

/** Pool administration (dmg's role in DAOS): the pool owner and root. */
export function isPoolAdmin(p: PoolRecord, caller: Caller): boolean {
  return caller.uid === 0 || principal(caller.user) === poolOwner(p);
}

/**
 * Throws EACCES unless the pool ACL grants `perm`. The administration letters
 * (t T a A o: properties, ACL, owner) are also granted to the pool's owner and
 * root, who administer pools as `dmg` does in DAOS.
 */
export function requirePoolPerm(p: PoolRecord, caller: Caller, perm: PoolPerm, what: string): void {
  const perms = poolPerms(p, caller);
  if (!perms.has(perm) && !('tTaAo'.includes(perm) && isPoolAdmin(p, caller))) {
    throw new StrataError('EACCES', `${what}: permission denied on pool ${p.label} for ${caller.user} (needs '${perm}', ACL grants '${[...perms].join('') || 'nothing'}')`);
  }
}

/** Finds a pool by label or UUID (no permission check). ENOENT if unknown, EINVAL if malformed. */
export async function resolvePool(engine: Engine, ref: string): Promise<PoolRecord> {
  const r = parseRef(ref, 'pool');
  let uuid: string | undefined;
  if ('uuid' in r) uuid = r.uuid;
  else uuid = (await engine.catGet(keys.poolLabel(r.label))) as string | undefined;
  const rec = uuid ? ((await engine.catGet(keys.pool(uuid))) as PoolRecord | undefined) : undefined;
  if (!rec) throw new StrataError('ENOENT', `no pool '${ref}'`);
  return rec;
}

export interface CreatePoolOptions extends CallOpts {
  /** Extra properties, validated (label comes from the label argument). */
  props?: Record<string, string | number> | Array<[string, string]>;
  acl?: readonly string[];
  uuid?: string;
}

function applyProps(target: Record<string, string | number>, props: CreatePoolOptions['props']): void {
  const entries = Array.isArray(props) ? props : Object.entries(props ?? {});
  for (const [k, v] of entries) {
    const d = propDef(POOL_PROPS, k, 'pool');
    if (d.name === 'label') throw new StrataError('EINVAL', 'give the pool label as the label argument, not as a property');
    target[d.name] = d.parse(v);
  }
}

export async function createPool(engine: Engine, label: string, opts: CreatePoolOptions = {}): Promise<PoolRecord> {
  const caller = opts.caller ?? currentCaller();
  checkLabel(label, 'pool');
  const uuid = opts.uuid ? checkUuid(opts.uuid, 'pool') : crypto.randomUUID();
  const props: Record<string, string | number> = {
    label, ...poolPropDefaults(), owner: principal(caller.user), group: principal(groupName(caller.gids[0] ?? 0)),
  };
  applyProps(props, opts.props);
  const acl = validateAcl(opts.acl ?? DEFAULT_POOL_ACL, 'pool');
  const rec: PoolRecord = { uuid, label, props, acl, createdAt: new Date().toISOString(), rev: 0 };
  await commitPlan(engine, async () => ({
    ops: [
      { op: 'cat-put', key: keys.pool(uuid), value: rec },
      { op: 'cat-put', key: keys.poolLabel(label), value: uuid },
      { op: 'cat-put', key: keys.poolRev(uuid, 0), value: true },
    ],
    guards: [
      { cond: { kind: 'cat-absent', key: keys.poolLabel(label) }, error: new StrataError('EEXIST', `a pool labelled '${label}' already exists`) },
      { cond: { kind: 'cat-absent', key: keys.pool(uuid) }, error: new StrataError('EEXIST', `a pool with UUID ${uuid} already exists`) },
    ],
  }));
  return rec;
}

export interface PoolInfo {
  uuid: string;
  label: string;
  owner: string;
  group: string;
  containers: number;
  createdAt: string;
}

async function countContainers(engine: Engine, poolUuid: string): Promise<number> {
  let n = 0;
  let after: string | undefined;
  for (;;) {
    const page = await engine.catList(keys.conts(poolUuid), { after, limit: 1000 });
    n += page.length;
    if (page.length < 1000) return n;
    after = page[page.length - 1]![0];
  }
}

/** Pools the caller may see (pool 'r'), in label order. */
export async function listPools(engine: Engine, opts: CallOpts = {}): Promise<PoolInfo[]> {
  const caller = opts.caller ?? currentCaller();
  const out: PoolInfo[] = [];
  for (const [, v] of await engine.catList(keys.pools)) {
    const p = v as PoolRecord;
    if (!poolPerms(p, caller).has('r')) continue;
    out.push({ uuid: p.uuid, label: p.label, owner: poolOwner(p), group: poolGroup(p), containers: await countContainers(engine, p.uuid), createdAt: p.createdAt });
  }
  return out.sort((a, b) => a.label.localeCompare(b.label));
}

export interface PoolQuery extends PoolInfo {
  props: Record<string, string | number>;
  acl: string[];
  /** What the caller may do on this pool. */
  perms: string;
  engine: { kind: string; location: string; usage: EngineUsage };
}

/** Pool details, container count and engine usage (the engine is shared by all pools). Needs 'r'. */
export async function queryPool(engine: Engine, pool: string, opts: CallOpts = {}): Promise<PoolQuery> {
  const caller = opts.caller ?? currentCaller();
  const p = await resolvePool(engine, pool);
  requirePoolPerm(p, caller, 'r', 'query pool');
  return {
    uuid: p.uuid, label: p.label, owner: poolOwner(p), group: poolGroup(p),
    containers: await countContainers(engine, p.uuid), createdAt: p.createdAt,
    props: p.props, acl: p.acl, perms: [...poolPerms(p, caller)].join(''),
    engine: { kind: engine.kind, location: engine.location, usage: await engine.usage() },
  };
}

/**
 * Destroys a pool. Pool destruction is an administrator's act in DAOS (dmg):
 * here the pool owner or root may do it. Refuses (EBUSY) while the pool holds
 * containers unless `recursive`, which destroys them first.
 */
export async function destroyPool(engine: Engine, pool: string, opts: CallOpts & { recursive?: boolean; force?: boolean } = {}): Promise<LinkRecord[]> {
  const caller = opts.caller ?? currentCaller();
  const p = await resolvePool(engine, pool);
  if (!isPoolAdmin(p, caller)) {
    throw new StrataError('EACCES', `destroy pool: permission denied on pool ${p.label} (only its owner ${poolOwner(p)} or root may destroy it)`);
  }
  const stranded: LinkRecord[] = [];
  for (;;) {
    const conts = await engine.catList(keys.conts(p.uuid), { limit: 100 });
    if (conts.length === 0) break;
    if (!opts.recursive) {
      const n = await countContainers(engine, p.uuid);
      throw new StrataError('EBUSY', `pool ${p.label} still holds ${n} container${n === 1 ? '' : 's'}; destroy them first or use --recursive`);
    }
    // Links to any of them refuse before the first one is destroyed.
    for (const [, v] of conts) {
      const c = v as ContainerRecord;
      stranded.push(...(await checkUnlinked(engine, c.uuid, `${c.label} of pool ${p.label}`, { force: opts.force })));
    }
    for (const [, v] of conts) await destroyContainerRecord(engine, v as ContainerRecord);
  }
  // Remove the pool; the rev guard fails if a container was created meanwhile.
  await commitPlan(engine, async () => {
    const cur = await resolvePool(engine, p.uuid);
    const rev = cur.rev ?? 0;
    if ((await engine.catList(keys.conts(p.uuid), { limit: 1 })).length > 0) {
      throw new StrataError('EBUSY', `pool ${p.label} gained a container while being destroyed; try again`);
    }
    return {
      ops: [
        { op: 'cat-del', key: keys.pool(p.uuid) },
        { op: 'cat-del', key: keys.poolLabel(cur.label) },
        { op: 'cat-del', key: keys.poolRev(p.uuid, rev) },
      ],
      guards: [{ cond: { kind: 'cat-present', key: keys.poolRev(p.uuid, rev) } }],
    };
  });
  return stranded;
}

/** Updates a pool record under compare-and-swap; `change` gets a fresh copy and may throw. */
export async function updatePoolRecord(engine: Engine, poolUuid: string, change: (p: PoolRecord) => { next: PoolRecord; extra?: Plan }): Promise<PoolRecord> {
  let result!: PoolRecord;
  await commitPlan(engine, async () => {
    const cur = await resolvePool(engine, poolUuid);
    const { next, extra } = change(structuredClone(cur));
    result = { ...next, rev: (cur.rev ?? 0) + 1 };
    return mergePlans(revBump(keys.pool(poolUuid), (r) => keys.poolRev(poolUuid, r), cur, next), extra ?? { ops: [], guards: [] });
  });
  return result;
}

export interface PropEntry { name: string; description: string; value: string | number; shown: string }

export async function getPoolProps(engine: Engine, pool: string, opts: CallOpts = {}): Promise<PropEntry[]> {
  const caller = opts.caller ?? currentCaller();
  const p = await resolvePool(engine, pool);
  requirePoolPerm(p, caller, 't', 'get pool properties');
  return POOL_PROPS.filter((d) => p.props[d.name] !== undefined)
    .map((d) => ({ name: d.name, description: d.description, value: p.props[d.name]!, shown: showProp(d, p.props[d.name]!) }));
}

/** Sets pool properties (label stays unique; owner/group need 'o', others 'T'). */
export async function setPoolProps(engine: Engine, pool: string, props: Array<[string, string]>, opts: CallOpts = {}): Promise<PoolRecord> {
  const caller = opts.caller ?? currentCaller();
  const p0 = await resolvePool(engine, pool);
  const parsed = props.map(([k, v]) => { const d = propDef(POOL_PROPS, k, 'pool'); return [d.name, d.parse(v)] as const; });
  for (const [k] of parsed) requirePoolPerm(p0, caller, k === 'owner' || k === 'group' ? 'o' : 'T', `set pool property ${k}`);
  return updatePoolRecord(engine, p0.uuid, (p) => {
    const extra: Plan = { ops: [], guards: [] };
    for (const [k, v] of parsed) {
      if (k === 'label' && v !== p.label) {
        const label = String(v);
        extra.ops.push({ op: 'cat-del', key: keys.poolLabel(p.label) }, { op: 'cat-put', key: keys.poolLabel(label), value: p.uuid });
        extra.guards.push({ cond: { kind: 'cat-absent', key: keys.poolLabel(label) }, error: new StrataError('EEXIST', `a pool labelled '${label}' already exists`) });
        p.label = label;
      }
      p.props[k] = v;
    }
    return { next: p, extra };
  });
}

export interface AclView { owner: string; group: string; entries: string[] }

export async function getPoolAcl(engine: Engine, pool: string, opts: CallOpts = {}): Promise<AclView> {
  const caller = opts.caller ?? currentCaller();
  const p = await resolvePool(engine, pool);
  requirePoolPerm(p, caller, 'a', 'get pool ACL');
  return { owner: poolOwner(p), group: poolGroup(p), entries: p.acl };
}

async function changePoolAcl(engine: Engine, pool: string, opts: CallOpts, f: (acl: string[]) => string[]): Promise<AclView> {
  const caller = opts.caller ?? currentCaller();
  const p0 = await resolvePool(engine, pool);
  requirePoolPerm(p0, caller, 'A', 'set pool ACL');
  const p = await updatePoolRecord(engine, p0.uuid, (cur) => ({ next: { ...cur, acl: f(cur.acl) } }));
  return { owner: poolOwner(p), group: poolGroup(p), entries: p.acl };
}

export async function overwritePoolAcl(engine: Engine, pool: string, entries: readonly string[], opts: CallOpts = {}): Promise<AclView> {
  const acl = validateAcl(entries, 'pool');
  return changePoolAcl(engine, pool, opts, () => acl);
}
export async function updatePoolAcl(engine: Engine, pool: string, entries: readonly string[], opts: CallOpts = {}): Promise<AclView> {
  validateAcl(entries, 'pool');
  return changePoolAcl(engine, pool, opts, (acl) => updateAclEntries(acl, entries, 'pool'));
}
export function deletePoolAcl(engine: Engine, pool: string, principalText: string, opts: CallOpts = {}): Promise<AclView> {
  return changePoolAcl(engine, pool, opts, (acl) => deleteAclPrincipal(acl, principalText, 'pool'));
}
