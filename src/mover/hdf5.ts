// The one place where `fs copy` moves data at the HDF5 level: a .h5 file
// copied to a container that does not exist yet (or an empty HDF5 container)
// is imported into an HDF5 container; an HDF5 container copied to a POSIX
// path is exported as a native .h5 file (a snapshot of it). Every other
// pairing returns undefined and the POSIX-level copy runs.
import fs from 'node:fs';
import { StrataError, isStrataError } from '../errors.js';
import { openContainer } from '../container/index.js';
import { formatLocation, type Location } from '../uns/location.js';
import { importH5, importH5Into, exportH5 } from '../hdf5/index.js';
import type { EngineGetter } from './ends.js';
import type { CopyOptions, CopySummary } from './copy.js';
import { newCounters } from './transfer.js';
import { O_READ_STATTED, typeOf } from './posix-end.js';

const H5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * A regular file named *.h5/*.hdf5/*.he5, or starting with the HDF5 signature.
 * The signature is read as a listed file is (O_READ_STATTED, type checked on
 * the descriptor): a FIFO put there since the stat does not block the copy.
 */
function isH5File(p: string): boolean {
  let st: fs.Stats;
  try { st = fs.statSync(p); } catch { return false; }
  if (!st.isFile()) return false;
  if (/\.(h5|hdf5|he5)$/i.test(p)) return true;
  try {
    const fd = fs.openSync(p, O_READ_STATTED);
    try {
      if (typeOf(fs.fstatSync(fd)) !== 'file') return false;
      const b = Buffer.alloc(8);
      return fs.readSync(fd, b, 0, 8, 0) === 8 && b.equals(H5_SIGNATURE);
    } finally { fs.closeSync(fd); }
  } catch { return false; }
}

function summary(src: Location, dst: string, bytes: number, seconds: number, extra: object): CopySummary {
  const s: CopySummary = { ...newCounters(), files: 1, bytes, dataBytes: bytes, seconds, failures: [], src: formatLocation(src), dst, resumed: false };
  return Object.assign(s, extra);
}

export async function hdf5Copy(src: Location, dst: Location, getEngine: EngineGetter, opts: CopyOptions): Promise<CopySummary | undefined> {
  if (src.kind === 'posix' && dst.kind === 'container' && dst.path === '/' && isH5File(src.path)) {
    const engine = await getEngine();
    let type: string | undefined;
    try {
      type = (await openContainer(engine, dst.pool, dst.cont)).type;
    } catch (e) {
      if (!isStrataError(e, 'ENOENT') || !/^no container/.test(e.message)) throw e;
    }
    if (type !== undefined && type !== 'HDF5') return undefined; // a .h5 file copied into a POSIX container stays a file
    const o = { skipUnsupported: !!opts.skipUnsupported, onWarn: opts.onWarn, h5StallMs: opts.h5StallMs };
    const r = type === undefined ? await importH5(engine, dst.pool, dst.cont, src.path, o) : await importH5Into(engine, dst.pool, dst.cont, src.path, o);
    return summary(src, `daos://${dst.pool}/${r.label}`, r.bytes, r.seconds, { hdf5: r });
  }
  if (src.kind === 'container') {
    const engine = await getEngine();
    const c = await openContainer(engine, src.pool, src.cont);
    if (c.type !== 'HDF5') return undefined;
    if (src.path !== '/') throw new StrataError('ENOTSUP', `${formatLocation(src)}: an HDF5 container is copied whole (give daos://<pool>/<cont>)`);
    if (dst.kind !== 'posix') throw new StrataError('ENOTSUP', `${formatLocation(src)} -> ${formatLocation(dst)}: copying an HDF5 container into a container is not supported (export it to a .h5 file, then import that)`);
    const r = await exportH5(engine, src.pool, src.cont, dst.path, { snap: opts.snap });
    return summary(src, r.file, r.bytes, r.seconds, { hdf5: r });
  }
  return undefined;
}
