// The HDF5 layer: the HDF5 data model inside HDF5 containers (store.ts with
// group.ts, dataset.ts, attributes.ts; layout in layout.ts / docs/hdf5.md),
// import/export of native .h5 files, and the listing/dump functions behind
// `strata h5`.
export { H5Store, H5Group, H5Dataset, type H5StoreOptions, type DatasetSpec, type Member } from './store.js';
export * from './types.js';
export { parseSlice } from './slab.js';
export { importH5, importH5Into, scanUnsupported, type ImportOptions, type ImportResult } from './import.js';
export { exportH5, type ExportOptions, type ExportResult } from './export.js';
export { openH5Container, listH5, dumpH5, type ListEntry, type DumpResult } from './inspect.js';
export type { H5RichType as H5Type, H5Space, H5Filter, H5Fill } from './h5lib/index.js';
