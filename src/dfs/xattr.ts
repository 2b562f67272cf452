// Extended attributes: meta dkey "\0xattr" of the inode's object, one akey per
// name; the value is stored with a one-byte prefix (1) so an empty value is
// distinguishable from an absent one.
import { StrataError } from '../errors.js';
import type { DfsCore } from './core.js';
import { A_CTIME, INODE_DKEY, XATTR_DKEY, XATTR_NAME_MAX, XATTR_VALUE_MAX } from './layout.js';
import { resolveExisting } from './lookup.js';

export interface SetXattrOptions {
  /** Fail with EEXIST if the attribute exists. */
  create?: boolean;
  /** Fail with ENODATA if the attribute does not exist. */
  replace?: boolean;
  follow?: boolean;
}

function checkXattrName(name: string): void {
  if (name.length === 0) throw new StrataError('EINVAL', 'empty xattr name');
  if (name.includes('\0')) throw new StrataError('EINVAL', 'xattr name contains a NUL byte');
  if (Buffer.byteLength(name, 'utf8') > XATTR_NAME_MAX) throw new StrataError('ENAMETOOLONG', `xattr name longer than ${XATTR_NAME_MAX} bytes`);
}

export async function getXattr(core: DfsCore, path: string, name: string, follow = true): Promise<Uint8Array> {
  checkXattrName(name);
  const r = await resolveExisting(core, path, follow);
  const v = await core.obj(r.ent.oid).get(XATTR_DKEY, name, core.epoch);
  if (!v || v.length === 0) throw new StrataError('ENODATA', `${path}: no xattr '${name}'`);
  return v.subarray(1);
}

export async function setXattr(core: DfsCore, path: string, name: string, value: Uint8Array | string, opts: SetXattrOptions = {}): Promise<void> {
  checkXattrName(name);
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  if (bytes.length > XATTR_VALUE_MAX) throw new StrataError('EINVAL', `${path}: xattr value of ${bytes.length} bytes exceeds ${XATTR_VALUE_MAX}`);
  core.checkWritable(`setxattr ${path}`);
  await core.retry(`setxattr ${path}`, async () => {
    const r = await resolveExisting(core, path, opts.follow ?? true);
    const o = core.obj(r.ent.oid);
    const tx = core.tx(`setxattr ${path}`);
    if (opts.create || opts.replace) {
      const ver = await o.version(XATTR_DKEY, name);
      const cur = await o.get(XATTR_DKEY, name, core.epoch);
      if (opts.create && cur) throw new StrataError('EEXIST', `${path}: xattr '${name}' exists`);
      if (opts.replace && !cur) throw new StrataError('ENODATA', `${path}: no xattr '${name}'`);
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

export async function listXattrs(core: DfsCore, path: string, follow = true): Promise<string[]> {
  const r = await resolveExisting(core, path, follow);
  const out: string[] = [];
  for await (const a of core.obj(r.ent.oid).akeys(XATTR_DKEY, { epoch: core.epoch })) out.push(Buffer.from(a.akey).toString('utf8'));
  return out;
}

export async function removeXattr(core: DfsCore, path: string, name: string, follow = true): Promise<void> {
  checkXattrName(name);
  core.checkWritable(`removexattr ${path}`);
  await core.retry(`removexattr ${path}`, async () => {
    const r = await resolveExisting(core, path, follow);
    const o = core.obj(r.ent.oid);
    const tx = core.tx(`removexattr ${path}`);
    const ver = await o.version(XATTR_DKEY, name);
    const cur = await o.get(XATTR_DKEY, name, core.epoch);
    if (!cur) throw new StrataError('ENODATA', `${path}: no xattr '${name}'`);
    tx.expectVersion(o, XATTR_DKEY, name, ver);
    tx.punchAkey(o, XATTR_DKEY, name);
    tx.putMax(o, INODE_DKEY, A_CTIME, core.now());
    await tx.commit();
  });
}
