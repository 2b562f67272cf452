// Containers: create, list, query, destroy, properties, ACL, user attributes,
// and openContainer(), which every layer above uses to get a Container handle
// carrying the caller's permissions.
import crypto from 'node:crypto';
import type { Engine } from '../engine/types.js';
import { StrataError } from '../errors.js';
import { Container, type ContainerRecord, type ContainerType, type ContPerm } from './container.js';
import { keys, commitPlan, revBump, mergePlans, type Plan } from './catalog.js';
import { checkLabel, checkUuid, parseRef } from './names.js';
import { DEFAULT_CONT_ACL, deleteAclPrincipal, effectivePerms, updateAclEntries, validateAcl } from './acl.js';
import { currentCaller, groupName, principal, type Caller } from './identity.js';
import { CONTAINER_PROPS, containerPropDefaults, parseContainerType, propDef, showProp } from './props.js';
import { resolvePool, requirePoolPerm, poolPerms, type CallOpts, type PoolRecord, type PropEntry, type AclView } from './pool.js';
import { containerAway } from './away.js';
import { checkUnlinked, dropLinkRecordOps, type LinkRecord } from './links.js';

export function containerPerms(rec: ContainerRecord, caller: Caller): Set<ContPerm> {
  return effectivePerms(rec.acl, String(rec.props['owner']), String(rec.props['group']), caller, 'container') as Set<ContPerm>;
}

/** Finds a container of a pool by label or UUID (no permission check). */
export async function resolveContainer(engine: Engine, pool: PoolRecord, ref: string): Promise<ContainerRecord> {
  const r = parseRef(ref, 'container');
  const uuid = 'uuid' in r ? r.uuid : ((await engine.catGet(keys.contLabel(pool.uuid, r.label))) as string | undefined);
  const rec = uuid ? ((await engine.catGet(keys.cont(pool.uuid, uuid))) as ContainerRecord | undefined) : undefined;
  if (!rec) {
    const away = 'uuid' in r ? await containerAway(engine, r.uuid) : undefined;
    throw new StrataError('ENOENT', away ? `container ${ref} of pool ${pool.label} is not in the tier: ${away.note}` : `no container '${ref}' in pool ${pool.label}`);
  }
  return rec;
}

interface Loaded { pool: PoolRecord; rec: ContainerRecord; caller: Caller; perms: Set<ContPerm> }

/** Resolves pool and container, checks the caller may connect to the pool ('r'). */
async function load(engine: Engine, pool: string, cont: string, opts: CallOpts, what: string): Promise<Loaded> {
  const caller = opts.caller ?? currentCaller();
  const p = await resolvePool(engine, pool);
  requirePoolPerm(p, caller, 'r', what);
  const rec = await resolveContainer(engine, p, cont);
  return { pool: p, rec, caller, perms: containerPerms(rec, caller) };
}

function need(l: Loaded, perm: ContPerm, what: string): void {
  if (!l.perms.has(perm)) {
    throw new StrataError('EACCES', `${what}: permission denied on container ${l.rec.label} for ${l.caller.user} (needs '${perm}', ACL grants '${[...l.perms].join('') || 'nothing'}')`);
  }
}

type PropInput = Record<string, string | number> | Array<[string, string | number]>;
const entriesOf = (p: PropInput | undefined): Array<[string, string | number]> => (Array.isArray(p) ? p : Object.entries(p ?? {}));

export interface CreateContainerOptions extends CallOpts {
  /** POSIX (default), HDF5, RAW or another DAOS layout name; case-insensitive. */
  type?: string;
  /** Bytes or a size like 1M (default 1 MiB). */
  chunkSize?: string | number;
  /** Default object class (default SX). */
  oclass?: string;
  /** More properties, validated like set-prop but also the create-only ones. */
  props?: PropInput;
  /** ACL entries (default A::OWNER@:rwdtTaAo, A:G:GROUP@:rwtT). */
  acl?: readonly string[];
  /** User attributes. */
  attrs?: Record<string, string | Uint8Array>;
  /** Re-create a container under a known UUID (e.g. when deserializing). */
  uuid?: string;
}

const ATTR_MAX = 1024 * 1024;

function checkAttrName(name: string): string {
  // eslint-disable-next-line no-control-regex
  if (name.length === 0 || name.length > 255 || /[\u0000-\u001f]/.test(name)) {
    throw new StrataError('EINVAL', `bad attribute name '${name}': 1-255 characters, no control characters`);
  }
  return name;
}

function attrValue(name: string, v: string | Uint8Array): string {
  const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v.buffer, v.byteOffset, v.length);
  if (b.length > ATTR_MAX) throw new StrataError('EINVAL', `attribute '${name}' is too large (${b.length} bytes, at most ${ATTR_MAX})`);
  return b.toString('base64');
}

/** Creates a container in a pool (needs pool 'c'); the caller becomes its owner. */
export async function createContainer(engine: Engine, pool: string, label: string, opts: CreateContainerOptions = {}): Promise<ContainerRecord> {
  const caller = opts.caller ?? currentCaller();
  const p0 = await resolvePool(engine, pool);
  requirePoolPerm(p0, caller, 'c', 'create container');
  checkLabel(label, 'container');
  const uuid = opts.uuid ? checkUuid(opts.uuid, 'container') : crypto.randomUUID();
  const props: Record<string, string | number> = {
    ...containerPropDefaults(), owner: principal(caller.user), group: principal(groupName(caller.gids[0] ?? 0)),
  };
  let type: ContainerType | undefined = opts.type === undefined ? undefined : parseContainerType(opts.type);
  for (const [k, v] of entriesOf(opts.props)) {
    const d = propDef(CONTAINER_PROPS, k, 'container');
    if (d.settable === 'never') throw new StrataError('EINVAL', `container property ${d.name} is read-only`);
    const val = d.parse(v);
    if (d.name === 'label') {
      if (val !== label) throw new StrataError('EINVAL', `label property '${val}' differs from the container label '${label}'`);
      continue;
    }
    if (d.name === 'layout_type') {
      if (type !== undefined && type !== val) throw new StrataError('EINVAL', `layout_type '${val}' contradicts --type ${type}`);
      type = val as ContainerType;
      continue;
    }
    props[d.name] = val;
  }
  if (opts.chunkSize !== undefined) props['chunk_size'] = propDef(CONTAINER_PROPS, 'chunk_size', 'container').parse(opts.chunkSize);
  if (opts.oclass !== undefined) props['oclass'] = propDef(CONTAINER_PROPS, 'oclass', 'container').parse(opts.oclass);
  type ??= 'POSIX';
  props['label'] = label;
  props['layout_type'] = type;
  const acl = validateAcl(opts.acl ?? DEFAULT_CONT_ACL, 'container');
  const attrs: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.attrs ?? {})) attrs[checkAttrName(k)] = attrValue(k, v);
  const rec: ContainerRecord = {
    uuid, poolUuid: p0.uuid, label, type, props, acl, attrs, createdAt: new Date().toISOString(), rev: 0,
  };
  await commitPlan(engine, async () => {
    const p = await resolvePool(engine, p0.uuid);
    const plan: Plan = {
      ops: [
        { op: 'cat-put', key: keys.cont(p.uuid, uuid), value: rec },
        { op: 'cat-put', key: keys.contLabel(p.uuid, label), value: uuid },
        { op: 'cat-put', key: keys.contUuid(uuid), value: p.uuid },
        { op: 'cat-put', key: keys.contRev(uuid, 0), value: true },
      ],
      guards: [
        { cond: { kind: 'cat-absent', key: keys.contLabel(p.uuid, label) }, error: new StrataError('EEXIST', `a container labelled '${label}' already exists in pool ${p.label}`) },
        { cond: { kind: 'cat-absent', key: keys.contUuid(uuid) }, error: new StrataError('EEXIST', `a container with UUID ${uuid} already exists`) },
      ],
    };
    // Bumping the pool's revision orders this against a concurrent pool destroy.
    return mergePlans(revBump(keys.pool(p.uuid), (r) => keys.poolRev(p.uuid, r), p, p), plan);
  });
  return rec;
}

export interface ContainerInfo {
  uuid: string;
  label: string;
  type: ContainerType;
  poolUuid: string;
  owner: string;
  group: string;
  createdAt: string;
}

function info(r: ContainerRecord): ContainerInfo {
  return { uuid: r.uuid, label: r.label, type: r.type, poolUuid: r.poolUuid, owner: String(r.props['owner']), group: String(r.props['group']), createdAt: r.createdAt };
}

/** Containers of a pool (needs pool 'r'), in label order. */
export async function listContainers(engine: Engine, pool: string, opts: CallOpts = {}): Promise<ContainerInfo[]> {
  const caller = opts.caller ?? currentCaller();
  const p = await resolvePool(engine, pool);
  requirePoolPerm(p, caller, 'r', 'list containers');
  const out: ContainerInfo[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await engine.catList(keys.conts(p.uuid), { after, limit: 1000 });
    for (const [, v] of page) out.push(info(v as ContainerRecord));
    if (page.length < 1000) break;
    after = page[page.length - 1]![0];
  }
  return out.sort((a, b) => a.label.localeCompare(b.label));
}

export interface ContainerQuery extends ContainerInfo {
  poolLabel: string;
  chunkSize: number;
  oclass: string;
  redunFac: number;
  snapshots: number;
  /** Epoch of the newest snapshot, if any. */
  latestSnapshot?: number;
  /** Permission letters the caller holds. */
  perms: string;
}

/** Container details (needs 'r'). */
export async function queryContainer(engine: Engine, pool: string, cont: string, opts: CallOpts = {}): Promise<ContainerQuery> {
  const l = await load(engine, pool, cont, opts, 'query container');
  need(l, 'r', 'query container');
  const snaps = await engine.listSnapshots(l.rec.uuid);
  const latest = snaps.length ? Math.max(...snaps.map((s) => s.epoch)) : undefined;
  return {
    ...info(l.rec), poolLabel: l.pool.label, chunkSize: Number(l.rec.props['chunk_size']), oclass: String(l.rec.props['oclass']),
    redunFac: Number(l.rec.props['rd_fac'] ?? 0), snapshots: snaps.length, latestSnapshot: latest, perms: [...l.perms].join(''),
  };
}

/** Removes a container's data and snapshots from the engine, then its catalog entries (no permission check). */
export async function destroyContainerRecord(engine: Engine, rec: ContainerRecord): Promise<void> {
  await engine.destroyContainer(rec.uuid);
  const ops: Array<{ op: 'cat-del'; key: string }> = [];
  ops.push({ op: 'cat-del', key: keys.cont(rec.poolUuid, rec.uuid) });
  const cur = (await engine.catGet(keys.cont(rec.poolUuid, rec.uuid))) as ContainerRecord | undefined;
  for (const label of new Set([rec.label, cur?.label].filter((x): x is string => !!x))) {
    if ((await engine.catGet(keys.contLabel(rec.poolUuid, label))) === rec.uuid) ops.push({ op: 'cat-del', key: keys.contLabel(rec.poolUuid, label) });
  }
  ops.push({ op: 'cat-del', key: keys.contUuid(rec.uuid) });
  for (const [k] of await engine.catList(`cont-rev/${rec.uuid}/`)) ops.push({ op: 'cat-del', key: k });
  for (const [k] of await engine.catList(keys.snapNames(rec.uuid))) ops.push({ op: 'cat-del', key: k });
  ops.push(...(await dropLinkRecordOps(engine, rec.uuid)));
  await engine.commit({ ops });
}

/**
 * Destroys a container: its data, snapshots and catalog entries. Needs 'd' on
 * the container or 'd' on the pool (as DAOS). Refuses while a UNS link strata
 * made still names the container (links.ts), unless `force`; returns the links
 * a forced destroy left pointing nowhere. `except`: link paths the caller
 * removes itself.
 */
export async function destroyContainer(engine: Engine, pool: string, cont: string, opts: CallOpts & { force?: boolean; except?: string[] } = {}): Promise<LinkRecord[]> {
  const { rec, stranded } = await checkDestroy(engine, pool, cont, opts);
  await destroyContainerRecord(engine, rec);
  return stranded;
}

/**
 * What destroyContainer checks, without destroying: the caller's right
 * first (a caller without it learns nothing about links), then the links.
 */
export async function checkDestroy(engine: Engine, pool: string, cont: string, opts: CallOpts & { force?: boolean; except?: string[] } = {}): Promise<{ rec: ContainerRecord; stranded: LinkRecord[] }> {
  const l = await load(engine, pool, cont, opts, 'destroy container');
  if (!l.perms.has('d') && !poolPerms(l.pool, l.caller).has('d')) need(l, 'd', 'destroy container');
  return { rec: l.rec, stranded: await checkUnlinked(engine, l.rec.uuid, l.rec.label, opts) };
}

/** Updates a container record under compare-and-swap. */
async function updateRecord(engine: Engine, l: Loaded, change: (r: ContainerRecord) => { next: ContainerRecord; extra?: Plan }): Promise<ContainerRecord> {
  let result!: ContainerRecord;
  await commitPlan(engine, async () => {
    const cur = await resolveContainer(engine, l.pool, l.rec.uuid);
    const { next, extra } = change(structuredClone(cur));
    result = { ...next, rev: (cur.rev ?? 0) + 1 };
    return mergePlans(revBump(keys.cont(cur.poolUuid, cur.uuid), (r) => keys.contRev(cur.uuid, r), cur, next), extra ?? { ops: [], guards: [] });
  });
  return result;
}

// ---- properties ----

/** All properties (needs 't'), in DAOS order. */
export async function getProps(engine: Engine, pool: string, cont: string, opts: CallOpts = {}): Promise<PropEntry[]> {
  const l = await load(engine, pool, cont, opts, 'get container properties');
  need(l, 't', 'get container properties');
  const props: Record<string, string | number> = { ...l.rec.props, label: l.rec.label, layout_type: l.rec.type };
  return CONTAINER_PROPS.filter((d) => props[d.name] !== undefined)
    .map((d) => ({ name: d.name, description: d.description, value: props[d.name]!, shown: showProp(d, props[d.name]!) }));
}

/** One property's value (needs 't'). */
export async function getProp(engine: Engine, pool: string, cont: string, name: string, opts: CallOpts = {}): Promise<string | number> {
  const d = propDef(CONTAINER_PROPS, name, 'container');
  const all = await getProps(engine, pool, cont, opts);
  const e = all.find((p) => p.name === d.name);
  if (!e) throw new StrataError('ENOENT', `container property ${d.name} is not set`);
  return e.value;
}

/**
 * Sets properties after creation. Mutable: label (stays unique in the pool),
 * status, and owner/group (need 'o'); the others need 'T' and most are fixed
 * at creation, as in DAOS (layout_type, chunk_size, oclass, cksum, ...).
 */
export async function setProps(engine: Engine, pool: string, cont: string, props: PropInput, opts: CallOpts = {}): Promise<ContainerRecord> {
  const entries = entriesOf(props);
  if (entries.length === 0) throw new StrataError('EINVAL', 'no property given');
  const parsed = entries.map(([k, v]) => {
    const d = propDef(CONTAINER_PROPS, k, 'container');
    if (d.settable === 'never') throw new StrataError('EINVAL', `container property ${d.name} is read-only`);
    if (d.settable === 'create') throw new StrataError('EINVAL', `container property ${d.name} can only be set when the container is created`);
    return [d.name, d.parse(v)] as const;
  });
  const l = await load(engine, pool, cont, opts, 'set container properties');
  for (const [k] of parsed) need(l, k === 'owner' || k === 'group' ? 'o' : 'T', `set container property ${k}`);
  return updateRecord(engine, l, (r) => {
    const extra: Plan = { ops: [], guards: [] };
    for (const [k, v] of parsed) {
      if (k === 'label' && v !== r.label) {
        const label = String(v);
        extra.ops.push({ op: 'cat-del', key: keys.contLabel(r.poolUuid, r.label) }, { op: 'cat-put', key: keys.contLabel(r.poolUuid, label), value: r.uuid });
        extra.guards.push({ cond: { kind: 'cat-absent', key: keys.contLabel(r.poolUuid, label) }, error: new StrataError('EEXIST', `a container labelled '${label}' already exists in pool ${l.pool.label}`) });
        r.label = label;
      }
      r.props[k] = v;
    }
    return { next: r, extra };
  });
}

export async function setProp(engine: Engine, pool: string, cont: string, name: string, value: string | number, opts: CallOpts = {}): Promise<ContainerRecord> {
  return setProps(engine, pool, cont, [[name, value]], opts);
}

// ---- ACL ----

export async function getAcl(engine: Engine, pool: string, cont: string, opts: CallOpts = {}): Promise<AclView> {
  const l = await load(engine, pool, cont, opts, 'get container ACL');
  need(l, 'a', 'get container ACL');
  return { owner: String(l.rec.props['owner']), group: String(l.rec.props['group']), entries: l.rec.acl };
}

async function changeAcl(engine: Engine, pool: string, cont: string, opts: CallOpts, f: (acl: string[]) => string[]): Promise<AclView> {
  const l = await load(engine, pool, cont, opts, 'set container ACL');
  need(l, 'A', 'set container ACL');
  const r = await updateRecord(engine, l, (cur) => ({ next: { ...cur, acl: f(cur.acl) } }));
  return { owner: String(r.props['owner']), group: String(r.props['group']), entries: r.acl };
}

/** Replaces the whole ACL (needs 'A'). */
export async function overwriteAcl(engine: Engine, pool: string, cont: string, entries: readonly string[], opts: CallOpts = {}): Promise<AclView> {
  const acl = validateAcl(entries, 'container');
  return changeAcl(engine, pool, cont, opts, () => acl);
}

/** Adds entries or replaces the entries of the same principals (needs 'A'). */
export async function updateAcl(engine: Engine, pool: string, cont: string, entries: readonly string[], opts: CallOpts = {}): Promise<AclView> {
  validateAcl(entries, 'container');
  if (entries.length === 0) throw new StrataError('EINVAL', 'no ACL entry given');
  return changeAcl(engine, pool, cont, opts, (acl) => updateAclEntries(acl, entries, 'container'));
}

/** Removes a principal's entries (needs 'A'); principal as `OWNER@`, `u:alice@`, `g:staff@`. */
export async function deleteAcl(engine: Engine, pool: string, cont: string, principalText: string, opts: CallOpts = {}): Promise<AclView> {
  return changeAcl(engine, pool, cont, opts, (acl) => deleteAclPrincipal(acl, principalText, 'container'));
}

// ---- user attributes ----

/** Sets user attributes (needs 'w'); values are arbitrary bytes (strings as UTF-8). */
export async function setAttrs(engine: Engine, pool: string, cont: string, attrs: Record<string, string | Uint8Array>, opts: CallOpts = {}): Promise<void> {
  const enc = Object.entries(attrs).map(([k, v]) => [checkAttrName(k), attrValue(k, v)] as const);
  if (enc.length === 0) throw new StrataError('EINVAL', 'no attribute given');
  const l = await load(engine, pool, cont, opts, 'set attribute');
  need(l, 'w', 'set attribute');
  await updateRecord(engine, l, (r) => {
    for (const [k, v] of enc) r.attrs[k] = v;
    return { next: r };
  });
}

export async function setAttr(engine: Engine, pool: string, cont: string, name: string, value: string | Uint8Array, opts: CallOpts = {}): Promise<void> {
  return setAttrs(engine, pool, cont, { [name]: value }, opts);
}

/** One attribute's bytes (needs 'r'); ENOENT if absent. */
export async function getAttr(engine: Engine, pool: string, cont: string, name: string, opts: CallOpts = {}): Promise<Buffer> {
  const l = await load(engine, pool, cont, opts, 'get attribute');
  need(l, 'r', 'get attribute');
  const v = l.rec.attrs[name];
  if (v === undefined) throw new StrataError('ENOENT', `no attribute '${name}' on container ${l.rec.label}`);
  return Buffer.from(v, 'base64');
}

/** Attribute names in order (needs 'r'). */
export async function listAttrs(engine: Engine, pool: string, cont: string, opts: CallOpts = {}): Promise<string[]> {
  return Object.keys(await getAttrs(engine, pool, cont, opts));
}

/** All attributes with their bytes (needs 'r'). */
export async function getAttrs(engine: Engine, pool: string, cont: string, opts: CallOpts = {}): Promise<Record<string, Buffer>> {
  const l = await load(engine, pool, cont, opts, 'list attributes');
  need(l, 'r', 'list attributes');
  const out: Record<string, Buffer> = {};
  for (const k of Object.keys(l.rec.attrs).sort()) out[k] = Buffer.from(l.rec.attrs[k]!, 'base64');
  return out;
}

/** Deletes an attribute (needs 'w'); ENOENT if absent. */
export async function delAttr(engine: Engine, pool: string, cont: string, name: string, opts: CallOpts = {}): Promise<void> {
  const l = await load(engine, pool, cont, opts, 'delete attribute');
  need(l, 'w', 'delete attribute');
  await updateRecord(engine, l, (r) => {
    if (r.attrs[name] === undefined) throw new StrataError('ENOENT', `no attribute '${name}' on container ${r.label}`);
    delete r.attrs[name];
    return { next: r };
  });
}

// ---- open ----

export interface OpenContainerOptions extends CallOpts {
  /** Open for writing too: needs 'w' besides 'r'. */
  write?: boolean;
}

/**
 * Opens a container (pool and container by label or UUID) with the caller's
 * permissions. Needs pool 'r' and container 'r' (and 'w' with `write`), as a
 * DAOS open does; the returned Container re-checks 'w' on every write.
 */
export async function openContainer(engine: Engine, pool: string, cont: string, opts: OpenContainerOptions = {}): Promise<Container> {
  const l = await load(engine, pool, cont, opts, 'open container');
  need(l, 'r', 'open container');
  if (opts.write) need(l, 'w', 'open container for writing');
  return new Container(engine, l.rec, l.perms);
}

/** Finds the pool of a container UUID (containers are unique engine-wide). */
export async function poolOfContainer(engine: Engine, contUuid: string): Promise<string | undefined> {
  return (await engine.catGet(keys.contUuid(checkUuid(contUuid, 'container')))) as string | undefined;
}
