// FUSE mount of the tier (see docs/fuse.md): every pool, one pool, one
// container, or the container of a UNS xattr link mounted on the link itself.
// `mountTier` runs the filesystem in this process until it is unmounted.
import fs from 'node:fs';
import { execFile } from 'node:child_process';
import { getAttributeSync } from '@napi-rs/xattr';
import type { Engine } from '../engine/types.js';
import { StrataError } from '../errors.js';
import { currentCaller } from '../container/identity.js';
import { isUuid } from '../container/names.js';
import { requirePoolPerm, resolvePool } from '../container/pool.js';
import { containerPerms, resolveContainer } from '../container/manage.js';
import { Channel, isStaleMount, strataMounts, unmount } from './channel.js';
import { TierFs, type TierFsOptions, type TierRoot } from './fs.js';
import { MOUNTED_LINK_SOURCE } from '../uns/link.js';

export { TierFs, type TierFsOptions, type TierRoot } from './fs.js';
export { abortConnection, unmount, isStaleMount, strataMounts } from './channel.js';

export interface MountTierOptions extends TierFsOptions {
  mountpoint: string;
  /** Mount one pool (label or UUID). */
  pool?: string;
  /** With pool: mount one container (label or UUID). */
  cont?: string;
  /** Mount the container named by this UNS xattr link, on the link itself. */
  path?: string;
  /** Let users other than the mounting one use the mount (FUSE allow_other). */
  allowOther?: boolean;
  /** Honour set-user-ID/set-group-ID bits of files in the mount (default: mounted nosuid). Root only. */
  suid?: boolean;
  /** Honour device files (default: mounted nodev). Root only. */
  dev?: boolean;
  /** Reads of /dev/fuse in flight (default 4). */
  readers?: number;
}

const DUNS_XATTR = 'user.daos';

/** Pool and container UUIDs recorded in an xattr UNS link (`DAOS.<TYPE>://<pool>/<cont>`). */
export function readXattrLink(p: string): { pool: string; cont: string; type: string } {
  let v: Buffer | null;
  try {
    v = getAttributeSync(p, DUNS_XATTR);
  } catch (e) {
    const msg = (e as Error).message;
    if (/os error 2\)/.test(msg)) throw new StrataError('ENOENT', `${p}: no such file or directory`);
    if (/os error 61\)|os error 95\)/.test(msg)) v = null;
    else throw new StrataError('EIO', `${p}: cannot read xattr ${DUNS_XATTR}: ${msg}`);
  }
  if (!v) throw new StrataError('EINVAL', `${p} is not a UNS link (no ${DUNS_XATTR} xattr)`);
  const text = v.toString('utf8').replace(/\0+$/, '');
  const m = /^DAOS\.([A-Za-z0-9_]+):\/\/([^/]*)\/([^/]*)$/.exec(text);
  if (!m) throw new StrataError('EINVAL', `${p}: malformed ${DUNS_XATTR} value '${text}'`);
  for (const [what, u] of [['pool', m[2]!], ['container', m[3]!]] as const) {
    if (!isUuid(u)) throw new StrataError('EINVAL', `${p}: malformed ${DUNS_XATTR} value (${what} UUID '${u}' cannot be parsed)`);
  }
  return { type: m[1]!, pool: m[2]!.toLowerCase(), cont: m[3]!.toLowerCase() };
}

/** What gets mounted: checks the pool/container exist and the caller may read them. */
export async function resolveTierRoot(engine: Engine, opts: { pool?: string; cont?: string; path?: string }): Promise<TierRoot> {
  let pool = opts.pool;
  let cont = opts.cont;
  if (opts.path !== undefined) {
    if (pool !== undefined || cont !== undefined) throw new StrataError('EINVAL', '--path names the container itself: give no --pool/--cont with it');
    const l = readXattrLink(opts.path);
    pool = l.pool;
    cont = l.cont;
  }
  if (cont !== undefined && pool === undefined) throw new StrataError('EINVAL', '--cont needs --pool');
  if (pool === undefined) return { kind: 'all' };
  const caller = currentCaller();
  const p = await resolvePool(engine, pool);
  requirePoolPerm(p, caller, 'r', 'mount');
  if (cont === undefined) return { kind: 'pool', pool: p };
  const c = await resolveContainer(engine, p, cont);
  if (!containerPerms(c, caller).has('r')) throw new StrataError('EACCES', `mount: permission denied on container ${c.label} for ${caller.user} (needs 'r')`);
  return { kind: 'cont', pool: p, cont: c };
}

/** --suid and --dev let a mount act on this host with what any container writer stored: root only. */
export function checkPrivilegedOptions(opts: { suid?: boolean; dev?: boolean }): void {
  if (!opts.suid && !opts.dev) return;
  const uid = process.geteuid?.() ?? 0;
  if (uid !== 0) throw new StrataError('EPERM', `${opts.suid ? '--suid' : '--dev'}: only root may mount with ${opts.suid ? 'set-user-ID programs' : 'device files'} honoured (you are uid ${uid})`);
}

/**
 * Checks a mountpoint: it must be an existing, empty directory (a UNS link
 * directory may hold nothing either). A stale strata mount (its server was
 * killed: ENOTCONN) is detached lazily first.
 */
export function checkMountpoint(mp: string): void {
  if (isStaleMount(mp)) {
    try { unmount(mp, true); } catch (e) {
      throw new StrataError('EBUSY', `${mp}: stale mount (its server is gone) and it could not be unmounted: ${(e as Error).message}`);
    }
  }
  let st: fs.Stats;
  try {
    st = fs.statSync(mp);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new StrataError('ENOENT', `mountpoint ${mp} does not exist`);
    throw new StrataError('EIO', `mountpoint ${mp}: ${(e as Error).message}`);
  }
  if (!st.isDirectory()) throw new StrataError('ENOTDIR', `mountpoint ${mp} is not a directory`);
  if (strataMounts().has(fs.realpathSync(mp))) throw new StrataError('EBUSY', `${mp} is already a strata mount (strata umount ${mp} first)`);
  if (fs.readdirSync(mp).length > 0) throw new StrataError('ENOTEMPTY', `mountpoint ${mp} is not empty`);
}

export interface RunningMount {
  mountpoint: string;
  fs: TierFs;
  /** Resolves when the filesystem has been unmounted and every buffered write committed. */
  done: Promise<void>;
  /** Commits buffered writes and unmounts (lazily if busy). */
  stop(): Promise<void>;
}

function umountAsync(mp: string, lazy: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('umount', lazy ? ['-l', mp] : [mp], (err, _o, stderr) => (err ? reject(new Error(String(stderr).trim() || err.message)) : resolve()));
  });
}

/** Mounts and serves the tier in this process. Resolves once the kernel has initialized the mount. */
export async function mountTier(engine: Engine, opts: MountTierOptions): Promise<RunningMount> {
  checkPrivilegedOptions(opts);
  const mp = fs.realpathSync(opts.mountpoint);
  const root = await resolveTierRoot(engine, opts);
  if (opts.path === undefined) checkMountpoint(mp);
  else {
    if (isStaleMount(mp)) unmount(mp, true);
    if (strataMounts().has(mp)) throw new StrataError('EBUSY', `${mp} is already a strata mount`);
  }
  const maxWrite = opts.maxWrite ?? 1 << 20;
  // On a UNS link the mount hides the link's xattr: the mount's source names
  // it instead, so uns resolve, tier status and tier restore still see the link.
  const fsname = opts.path !== undefined && root.kind === 'cont' ? `${MOUNTED_LINK_SOURCE}DAOS.${root.cont.type}://${root.pool.uuid}/${root.cont.uuid}` : undefined;
  const ch = Channel.mount({ mountpoint: mp, fsname, allowOther: opts.allowOther, suid: opts.suid, dev: opts.dev, bufSize: maxWrite + 8192, readers: opts.readers ?? 4 });
  // A local filesystem's model: what is closed is visible to every client,
  // what is fsync'ed is on disk. The mount's commits resolve once visible;
  // fsync, fsyncdir and unmount wait for the disk (see docs/fuse.md).
  engine.setDurability('visible');
  const tfs = new TierFs(engine, root, ch, { ...opts, maxWrite });
  try {
    await tfs.prepare();
  } catch (e) {
    unmount(mp, true);
    ch.close();
    engine.setDurability('durable');
    throw e;
  }
  const served = ch.serve((h, body) => tfs.handle(h, body), () => tfs.background());
  const timeout = new Promise<never>((_r, rej) => setTimeout(() => rej(new StrataError('EIO', `mount ${mp}: the kernel did not initialize the FUSE connection`)), 10000).unref());
  await Promise.race([tfs.ready, timeout]);
  // Let the kernel read ahead more than its 128 KiB default (best effort, needs
  // root). The device number comes from mountinfo: the daemon never makes
  // requests through its own mount (see waker.ts).
  const dev = strataMounts().get(mp);
  if (dev) void fs.promises.writeFile(`/sys/class/bdi/${dev}/read_ahead_kb`, '4096').catch(() => undefined);
  const done = served.then(async () => {
    await tfs.flushAll();
    engine.setDurability('durable');
    const statsFile = process.env['STRATA_FUSE_STATS'];
    if (statsFile) fs.writeFileSync(statsFile, JSON.stringify(tfs.statsReport(), null, 1));
    ch.close();
  });
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= (async () => {
    await tfs.flushAll();
    try { await umountAsync(mp, false); } catch { await umountAsync(mp, true).catch(() => undefined); }
    await done;
  })());
  return { mountpoint: mp, fs: tfs, done, stop };
}
