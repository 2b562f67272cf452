// The data mover: copy, sync and compare between POSIX trees and containers.
export { copy, isDirectoryLocation, type CopyOptions, type CopySummary } from './copy.js';
export { sync, syncTarget, type SyncOptions } from './sync.js';
export { compare, type CompareOptions, type CompareSummary, type Difference } from './compare.js';
export { Transfer, type TransferOptions, type TransferSummary, type Counters } from './transfer.js';
export type { Tree, MStat, FileReader, FileWriter } from './tree.js';
export { PosixTree } from './posix.js';
export { DfsTree } from './dfs-tree.js';
export { encodeName, decodeName } from './names.js';
export { parseXattrMode, type XattrMode } from './xattrs.js';
export { summaryLine } from './progress.js';
