// The one place that lists the engines: adding an engine is a driver
// (src/engine/registry.ts) and a line here.
import { registerEngine } from './registry.js';
import { lmdbDriver } from './lmdb/driver.js';
import { postgresDriver } from './postgres/driver.js';

registerEngine(lmdbDriver);
registerEngine(postgresDriver);
