// Container parking: serialize any container to HDF5 files (strata's packed
// layout, or mpiFileUtils' daos-serialize layout), deserialize them back, and
// a content digest to compare containers (see docs/park.md).
export { serializeContainer, serializeRank, serializedBytesBound, type SerializeOptions, type SerializeResult } from './serialize.js';
export { deserializeContainer, type DeserializeOptions, type DeserializeResult } from './deserialize.js';
export { checkContainer, digestOfFiles, type CheckResult } from './digest.js';
export { verifyFile, rankFileName, type Layout } from './format.js';
