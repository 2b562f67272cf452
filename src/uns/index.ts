// The unified namespace: links between filesystem paths and containers.
export * from './location.js';
export * from './layout.js';
export * from './duns.js';
export * from './foreign.js';
export * from './upcall.js';
export * from './config.js';
export { parseLinkKind, parseSymlinkTarget, symlinkTarget, linkAt, makeLink, removeLink, replaceLink, defaultLinkKind, checkLinkPossible, LINK_KINDS, type LinkInfo, type MakeLinkSpec } from './link.js';
export { findLink, type UnsResolution } from './resolve.js';
export * from './ops.js';
