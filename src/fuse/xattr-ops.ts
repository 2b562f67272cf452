// Extended attributes of DFS inodes: setxattr, getxattr, listxattr,
// removexattr (`user.*` and `trusted.*` only; see docs/fuse.md).
import { ERRNO, XATTR_CREATE, XATTR_REPLACE, cstr, u32Out, type InHeader } from './proto.js';
import { dfsNode, isDfs, type Node } from './nodes.js';
import type { Access } from './access.js';
import { okey, type PendingChanges } from './pending.js';
import { Fail } from './fail.js';

function xattrAllowed(name: string): boolean {
  return name.startsWith('user.') || name.startsWith('trusted.');
}

export class XattrOps {
  constructor(private readonly access: Access, private readonly meta: PendingChanges) {}

  async setxattr(h: InHeader, n: Node, body: Buffer): Promise<Buffer[]> {
    const size = body.readUInt32LE(0);
    const flags = body.readUInt32LE(4);
    const [name, at] = cstr(body, 8);
    if (!isDfs(n) || !xattrAllowed(name)) throw new Fail(ERRNO['ENOTSUP']!);
    const d = dfsNode(n);
    await this.access.check(h, d, 'w');
    await this.meta.committed(d);
    await d.mnt.dfs.setxattrOf(d.oid, name, Buffer.from(body.subarray(at, at + size)),
      { create: !!(flags & XATTR_CREATE), replace: !!(flags & XATTR_REPLACE) });
    return [];
  }

  async getxattr(h: InHeader, n: Node, body: Buffer): Promise<Buffer[]> {
    const size = body.readUInt32LE(0);
    const name = cstr(body, 8)[0];
    if (!isDfs(n) || !xattrAllowed(name)) throw new Fail(ERRNO['ENODATA']!);
    const d = dfsNode(n);
    await this.access.check(h, d, 'r');
    if (this.meta.pending.has(okey(d.mnt, d.oid))) throw new Fail(ERRNO['ENODATA']!); // a new inode has no xattrs yet
    const val = Buffer.from(await d.mnt.dfs.getxattrOf(d.oid, name));
    if (size === 0) return [u32Out(val.length)];
    if (val.length > size) throw new Fail(ERRNO['ERANGE']!);
    return [val];
  }

  async listxattr(h: InHeader, n: Node, body: Buffer): Promise<Buffer[]> {
    const size = body.readUInt32LE(0);
    let names = Buffer.alloc(0);
    if (isDfs(n)) {
      const d = dfsNode(n);
      await this.access.check(h, d, 'r');
      const parts: Buffer[] = [];
      if (!this.meta.pending.has(okey(d.mnt, d.oid))) for (const a of await d.mnt.dfs.listxattrOf(d.oid)) parts.push(Buffer.from(a, 'utf8'), Buffer.alloc(1));
      names = Buffer.concat(parts);
    }
    if (size === 0) return [u32Out(names.length)];
    if (names.length > size) throw new Fail(ERRNO['ERANGE']!);
    return [names];
  }

  async removexattr(h: InHeader, n: Node, body: Buffer): Promise<Buffer[]> {
    const d = dfsNode(n);
    await this.access.check(h, d, 'w');
    await this.meta.committed(d);
    await d.mnt.dfs.removexattrOf(d.oid, cstr(body, 0)[0]);
    return [];
  }
}
