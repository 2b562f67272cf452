// Engines in a registry: each engine registers the URL schemes it answers and
// its opener (the way JuiceFS's meta drivers do). parseEngineUrl is the one
// parser of engine URLs; src/engine/drivers.ts is the one place that lists the
// engines. A driver loads its engine module on first use, so a command that
// never opens an engine pays nothing for it.
import type { Engine } from './types.js';
import type { HomeAccess } from './home-access.js';
import type { WorkQueueStore } from './work-queue.js';
import { StrataError } from '../errors.js';

export interface EngineInitResult {
  kind: string;
  location: string;
  schemaFrom?: number;
  schemaTo?: number;
  bulkData?: string;
  upgraded?: Record<string, number>;
  access?: string;
  changed?: number;
}

/** What `engine info` adds for an engine kind. */
export interface EngineDetails {
  schemaVersion?: number;
  bulkData?: string;
  /** Directory whose modes decide who reads the engine's bytes directly, if any. */
  accessDir?: string;
}

export interface EngineDriver {
  /** Engine.kind of the engines it opens. */
  kind: string;
  /** URL schemes it answers (without the colon). */
  schemes: string[];
  /** It also answers a bare path (absolute, or relative starting with '.'). */
  bare?: boolean;
  /** How its URLs look, for messages. */
  example: string;
  open(url: string, opts: { create?: boolean }): Promise<Engine>;
  init(url: string, opts: { access?: HomeAccess }): Promise<EngineInitResult>;
  details(engine: Engine): Promise<EngineDetails>;
  /** A URL another process opens the same engine with (an LMDB home is lmdb:<location>). */
  urlOf(engine: Engine): string;
  /** The work queue of distributed jobs, kept in the engine's own store: engines shared by many nodes only. */
  openWorkQueue?(url: string, o: { retryMs?: number }): Promise<WorkQueueStore>;
}

const drivers = new Map<string, EngineDriver>();
const all: EngineDriver[] = [];

export function registerEngine(d: EngineDriver): void {
  for (const s of d.schemes) {
    if (drivers.has(s)) throw new Error(`engine scheme ${s}: registered twice`);
    drivers.set(s, d);
  }
  all.push(d);
}

export interface EngineUrl {
  driver: EngineDriver;
  /** The scheme, lower case ('' for a bare path). */
  scheme: string;
  url: string;
}

/** The one parser of engine URLs: which engine answers it. */
export function parseEngineUrl(url: string): EngineUrl {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(url);
  if (m) {
    const scheme = m[1]!.toLowerCase();
    const driver = drivers.get(scheme);
    if (driver) return { driver, scheme, url };
  } else if (url.startsWith('/') || url.startsWith('.')) {
    const driver = all.find((d) => d.bare);
    if (driver) return { driver, scheme: '', url };
  }
  throw new StrataError('EINVAL', `bad engine URL '${url}' (expected ${all.map((d) => d.example).join(' or ')})`);
}

/** The driver of an open engine. */
export function driverOf(engine: Engine): EngineDriver {
  const d = all.find((x) => x.kind === engine.kind);
  if (!d) throw new StrataError('EINVAL', `no engine driver of kind ${engine.kind}`);
  return d;
}

/** The engines that keep a work queue for distributed jobs (for messages). */
export function queueEngines(): string {
  return all.filter((d) => d.openWorkQueue).map((d) => d.example).join(' or ');
}

/** Every registered engine driver, in registration order (contract tests run on each). */
export function engineDrivers(): readonly EngineDriver[] {
  return all;
}
