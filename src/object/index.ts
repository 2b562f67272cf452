export * from './oid.js';
export * from './keys.js';
export * from './object.js';
