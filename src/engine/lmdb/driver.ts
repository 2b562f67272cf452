// The LMDB engine in the engine registry: lmdb:/dir URLs and bare paths. The
// lmdb package is loaded on first use: it costs ~30 ms at startup of every
// command, `--help` and `--version` included.
import fs from 'node:fs';
import path from 'node:path';
import type { EngineDriver } from '../registry.js';
import { StrataError } from '../../errors.js';
import { applyAccess } from '../home-access.js';
import { describeAccess, describeData } from '../describe.js';

/** The directory of an LMDB engine URL: lmdb:/dir, /dir or ./dir. */
function home(url: string): string {
  return path.resolve(url.startsWith('lmdb:') ? url.slice('lmdb:'.length) : url);
}

/** Only ENOENT: a home the caller may not look into is for the open to report. */
function missing(p: string): boolean {
  try {
    fs.statSync(p);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

export const lmdbDriver: EngineDriver = {
  kind: 'lmdb',
  schemes: ['lmdb'],
  bare: true,
  example: 'lmdb:/dir',

  /**
   * A home is created when missing unless `create` is false: then a missing
   * home directory is an error, so a typo in --engine or STRATA_HOME is not
   * answered by an empty, new home.
   */
  async open(url, { create }) {
    const dir = home(url);
    if (create === false && missing(dir)) {
      throw new StrataError('ENOENT', `engine home ${dir} does not exist: 'strata pool create' makes one; --engine, STRATA_ENGINE or STRATA_HOME name another`);
    }
    const { LmdbEngine } = await import('./engine.js');
    return LmdbEngine.open(dir);
  },

  async init(url, { access }) {
    const dir = home(url);
    // An index in lmdb-js's prebuilt data format 2 is rewritten in LMDB 0.9's format 1.
    const upgraded = await (await import('./index-copy.js')).upgradeIndex(dir);
    // Who may read the home: recorded (and given to what it holds) before the index is created.
    const changed = access ? applyAccess(dir, access) : undefined;
    const engine = await this.open(url, {});
    await engine.close();
    return {
      kind: engine.kind, location: engine.location, ...(upgraded ? { upgraded } : {}),
      access: describeAccess(engine.location), ...(changed !== undefined ? { changed } : {}),
    };
  },

  async details(engine) {
    return { bulkData: describeData(path.join(engine.location, 'extents')), accessDir: engine.location };
  },

  urlOf: (engine) => `lmdb:${engine.location}`,
};
