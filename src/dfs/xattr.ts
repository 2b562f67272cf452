// Extended attributes: meta dkey "\0xattr" of the inode's object, one akey per
// name; the value is stored with a one-byte prefix (1) so an empty value is
// distinguishable from an absent one. Calls by OID (the *Of functions) and by
// path (resolve, then the same call).
import { StrataError } from '../errors.js';
import type { ObjectId } from '../object/oid.js';
import type { DfsCore } from './core.js';
import { A_CTIME, INODE_DKEY, XATTR_DKEY, XATTR_NAME_MAX, XATTR_VALUE_MAX } from './layout.js';
import { resolveExisting } from './lookup.js';
import { expectInode } from './at.js';

export interface SetXattrOptions {
  /** Fail with EEXIST if the attribute exists. */
  create?: boolean;
  /** Fail with ENODATA if the attribute does not exist. */
  replace?: boolean;
  follow?: boolean;
}

export function checkXattrName(name: string): void {
  if (name.length === 0) throw new StrataError('EINVAL', 'empty xattr name');
  if (name.includes('\0')) throw new StrataError('EINVAL', 'xattr name contains a NUL byte');
  if (Buffer.byteLength(name, 'utf8') > XATTR_NAME_MAX) throw new StrataError('ENAMETOOLONG', `xattr name longer than ${XATTR_NAME_MAX} bytes`);
}

export async function getXattrOf(core: DfsCore, oid: ObjectId, name: string, what = String(oid)): Promise<Uint8Array> {
  checkXattrName(name);
  const v = await core.obj(oid).get(XATTR_DKEY, name, core.epoch);
  if (!v || v.length === 0) throw new StrataError('ENODATA', `${what}: no xattr '${name}'`);
  return v.subarray(1);
}

export async function setXattrOf(core: DfsCore, oid: ObjectId, name: string, value: Uint8Array | string, opts: SetXattrOptions = {}, what = String(oid)): Promise<void> {
  checkXattrName(name);
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  if (bytes.length > XATTR_VALUE_MAX) throw new StrataError('EINVAL', `${what}: xattr value of ${bytes.length} bytes exceeds ${XATTR_VALUE_MAX}`);
  core.checkWritable(`setxattr ${what}`);
  await core.retry(`setxattr ${what}`, async () => {
    const o = core.obj(oid);
    const tx = core.tx(`setxattr ${what}`);
    await expectInode(core, tx, oid, `setxattr ${what}`, { data: false });
    if (opts.create || opts.replace) {
      const ver = await o.version(XATTR_DKEY, name);
      const cur = await o.get(XATTR_DKEY, name, core.epoch);
      if (opts.create && cur) throw new StrataError('EEXIST', `${what}: xattr '${name}' exists`);
      if (opts.replace && !cur) throw new StrataError('ENODATA', `${what}: no xattr '${name}'`);
      tx.expectVersion(o, XATTR_DKEY, name, ver);
    }
    const stored = Buffer.alloc(bytes.length + 1);
    stored[0] = 1;
    stored.set(bytes, 1);
    tx.put(o, XATTR_DKEY, name, stored);
    tx.putMax(o, INODE_DKEY, A_CTIME, core.now());
    await tx.commit();
  });
}

export async function listXattrsOf(core: DfsCore, oid: ObjectId): Promise<string[]> {
  const out: string[] = [];
  for await (const a of core.obj(oid).akeys(XATTR_DKEY, { epoch: core.epoch })) out.push(Buffer.from(a.akey).toString('utf8'));
  return out;
}

/** All xattrs of an inode, names and values. */
export async function xattrsOf(core: DfsCore, oid: ObjectId): Promise<Array<[string, Buffer]>> {
  return xattrsFrom(await core.obj(oid).fetchDkey(XATTR_DKEY, core.epoch));
}

/** Names and values from the values of an inode's xattr dkey (as fetchDkey returns them). */
export function xattrsFrom(values: Iterable<{ akey: Uint8Array; value: Uint8Array }>): Array<[string, Buffer]> {
  const out: Array<[string, Buffer]> = [];
  for (const { akey, value } of values) {
    if (value.length > 0) out.push([Buffer.from(akey).toString('utf8'), Buffer.from(value.subarray(1))]);
  }
  return out;
}

/**
 * Replaces the whole xattr set of an inode in one transaction: names not in
 * `xattrs` are removed, the others set.
 */
export async function replaceXattrsOf(core: DfsCore, oid: ObjectId, xattrs: Iterable<readonly [string, Uint8Array]>): Promise<void> {
  const want = new Map<string, Uint8Array>();
  for (const [n, v] of xattrs) {
    checkXattrName(n);
    if (v.length > XATTR_VALUE_MAX) throw new StrataError('EINVAL', `xattr value of ${v.length} bytes exceeds ${XATTR_VALUE_MAX}`);
    want.set(n, v);
  }
  core.checkWritable(`setxattr ${oid}`);
  await core.retry(`setxattr ${oid}`, async () => {
    const o = core.obj(oid);
    const tx = core.tx(`setxattr ${oid}`);
    await expectInode(core, tx, oid, `setxattr ${oid}`, { data: false });
    for await (const a of o.akeys(XATTR_DKEY, { epoch: core.epoch })) {
      if (!want.has(Buffer.from(a.akey).toString('utf8'))) tx.punchAkey(o, XATTR_DKEY, a.akey);
    }
    for (const [n, v] of want) {
      const stored = Buffer.alloc(v.length + 1);
      stored[0] = 1;
      stored.set(v, 1);
      tx.put(o, XATTR_DKEY, n, stored);
    }
    if (tx.empty) return;
    tx.putMax(o, INODE_DKEY, A_CTIME, core.now());
    await tx.commit();
  });
}

export async function removeXattrOf(core: DfsCore, oid: ObjectId, name: string, what = String(oid)): Promise<void> {
  checkXattrName(name);
  core.checkWritable(`removexattr ${what}`);
  await core.retry(`removexattr ${what}`, async () => {
    const o = core.obj(oid);
    const tx = core.tx(`removexattr ${what}`);
    await expectInode(core, tx, oid, `removexattr ${what}`, { data: false });
    const ver = await o.version(XATTR_DKEY, name);
    const cur = await o.get(XATTR_DKEY, name, core.epoch);
    if (!cur) throw new StrataError('ENODATA', `${what}: no xattr '${name}'`);
    tx.expectVersion(o, XATTR_DKEY, name, ver);
    tx.punchAkey(o, XATTR_DKEY, name);
    tx.putMax(o, INODE_DKEY, A_CTIME, core.now());
    await tx.commit();
  });
}

export async function getXattr(core: DfsCore, path: string, name: string, follow = true): Promise<Uint8Array> {
  checkXattrName(name);
  const r = await resolveExisting(core, path, follow);
  return getXattrOf(core, r.ent.oid, name, path);
}

export async function setXattr(core: DfsCore, path: string, name: string, value: Uint8Array | string, opts: SetXattrOptions = {}): Promise<void> {
  checkXattrName(name);
  core.checkWritable(`setxattr ${path}`);
  const r = await resolveExisting(core, path, opts.follow ?? true);
  await setXattrOf(core, r.ent.oid, name, value, opts, path);
}

export async function listXattrs(core: DfsCore, path: string, follow = true): Promise<string[]> {
  const r = await resolveExisting(core, path, follow);
  return listXattrsOf(core, r.ent.oid);
}

export async function removeXattr(core: DfsCore, path: string, name: string, follow = true): Promise<void> {
  checkXattrName(name);
  core.checkWritable(`removexattr ${path}`);
  const r = await resolveExisting(core, path, follow);
  await removeXattrOf(core, r.ent.oid, name, path);
}
