// The pool & container layer: pools, containers, labels, UUIDs, properties,
// ACLs, user attributes, snapshots, and openContainer() for the layers above.
export * from './container.js';
export * from './names.js';
export * from './identity.js';
export * from './acl.js';
export * from './props.js';
export * from './pool.js';
export * from './manage.js';
export * from './snapshots.js';
export * from './away.js';
export * from './links.js';
export { keys as catalogKeys } from './catalog.js';
export * from './clone.js';
export { cleanupStale, runSnapshot, pendingKey, me as pendingOwner } from './pending.js';
