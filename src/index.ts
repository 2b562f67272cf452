// strata as a library: every command of the CLI is also a typed function here.
export * from './errors.js';
export * from './engine/types.js';
export { openEngine, defaultEngineUrl } from './engine/open.js';
export * from './object/index.js';
export * from './container/index.js';
export * from './dfs/index.js';
export * from './uns/index.js';
export * from './tier/index.js';
export { copy, sync, compare, type CopyOptions, type CopySummary, type SyncOptions, type CompareOptions, type CompareSummary, type Difference } from './mover/index.js';
export * from './park/index.js';
export * from './hdf5/index.js';
export * from './fuse/index.js';
