// DFS: a POSIX filesystem inside a POSIX container (see docs/dfs.md).
export { Dfs, mountDfs, type OpenOptions as DfsOpenOptions } from './dfs.js';
export { DfsFile, BulkWriter, type DfsFileOptions, type WriteOptions, type BulkWriterOptions } from './io.js';
export { DfsBatch, type CreateAtOptions, type NewInode, type SetAttr, type RenameAtOptions } from './at.js';
export { DfsCore, type MountOptions, type Inode } from './core.js';
export { CreateGroup, type CreateGroupOptions } from './group.js';
export type { Stat } from './attr.js';
export type { DirEntry, ReaddirOptions, DirPage } from './readdir.js';
export type { DuResult, StatFs } from './usage.js';
export type { CreateOptions } from './dir.js';
export type { RenameOptions } from './rename.js';
export type { SetXattrOptions } from './xattr.js';
export { mkfs, checkPosix } from './mount.js';
export { parseDaosUri, formatDaosUri, type DaosUri } from './uri.js';
export { normalizePath, parsePath, joinPath, checkName } from './path.js';
export * from './layout.js';
export { putFile, getFile, type TransferResult, type TransferOptions } from './transfer.js';
export { checkDfs, type DfsCheckReport } from './fsck.js';
export { checkOwnerChange, checkNewOwner, inheritedOwner, killPriv, isSuperuser, type Owned, type OwnerChange } from './owner.js';
