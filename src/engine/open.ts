// One place that turns an engine URL into an Engine, through the engine
// registry (registry.ts; the engines are listed in drivers.ts):
//   lmdb:/dir | /dir        embedded LMDB engine in that directory
//   postgres://...          shared PostgreSQL engine (large extents where engine init
//                           recorded, or ?data=/shared/dir | ?data=postgres)
// Default: STRATA_ENGINE, else lmdb at STRATA_HOME, else ~/.local/share/strata.
import type { Engine } from './types.js';
import type { WorkQueueStore } from './work-queue.js';
import { StrataError } from '../errors.js';
import type { HomeAccess } from './home-access.js';
import { driverOf, parseEngineUrl, queueEngines, type EngineInitResult } from './registry.js';
import { defaultHome, describeAccess } from './describe.js';
import './drivers.js';

export { describeAccess };

export function defaultEngineUrl(): string {
  return process.env['STRATA_ENGINE'] || `lmdb:${defaultHome()}`;
}

/**
 * Opens an engine. An LMDB home is created when missing unless `create` is
 * false: then a missing home directory is an error, so a typo in --engine or
 * STRATA_HOME is not answered by an empty, new home.
 */
export async function openEngine(url?: string, opts: { create?: boolean } = {}): Promise<Engine> {
  const u = url || defaultEngineUrl();
  return parseEngineUrl(u).driver.open(u, opts);
}

/** Creates (or migrates) an engine's storage: the LMDB home, or the PostgreSQL schema. */
export async function initEngine(url?: string, opts: { access?: HomeAccess } = {}): Promise<EngineInitResult> {
  const u = url || defaultEngineUrl();
  return parseEngineUrl(u).driver.init(u, opts);
}

/** A URL another process opens the same engine with. */
export function engineUrlOf(engine: Engine): string {
  return driverOf(engine).urlOf(engine);
}

/**
 * The work queue of distributed jobs kept by the engine at url (default:
 * STRATA_ENGINE); engines without one (LMDB: one machine) are refused.
 */
export async function openWorkQueue(url?: string, o: { retryMs?: number } = {}): Promise<WorkQueueStore> {
  const u = url || process.env['STRATA_ENGINE'] || '';
  const open = u ? parseEngineUrl(u).driver.openWorkQueue : undefined;
  if (!open) throw new StrataError('EINVAL', `distributed work (--queue, strata worker) needs an engine shared by its nodes: --engine ${queueEngines()} or STRATA_ENGINE`);
  return open(u, o);
}

export interface EngineInfo {
  kind: string;
  location: string;
  epoch: number;
  totalBytes: number;
  liveDataBytes: number;
  schemaVersion?: number;
  bulkData?: string;
  /** Who may read the engine's bytes directly (LMDB home, extent directory). */
  access?: string;
}

export async function engineInfo(url?: string): Promise<EngineInfo> {
  const u = url || defaultEngineUrl();
  const { driver } = parseEngineUrl(u);
  const engine = await driver.open(u, { create: false }); // a report, not a reason to make a home
  try {
    const usage = await engine.usage();
    const { accessDir, ...details } = await driver.details(engine);
    return {
      kind: engine.kind, location: engine.location, epoch: await engine.currentEpoch(), ...usage, ...details,
      ...(accessDir !== undefined ? { access: describeAccess(accessDir) } : {}),
    };
  } finally {
    await engine.close();
  }
}
