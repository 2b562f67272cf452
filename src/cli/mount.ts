// `strata mount` / `strata umount`: the FUSE mount of the tier (src/fuse/).
// Without --foreground, `mount` checks its arguments, starts a detached copy
// of itself with --foreground and waits (through a pipe) until the kernel has
// initialized the mount, then returns; errors of the daemon come back the same way.
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { Option, type Command } from 'commander';
import { StrataError } from '../errors.js';
import { openEngine } from '../engine/open.js';
import { globalOpts, withEngine } from './context.js';

// The FUSE layer is loaded when a command runs, not for --help.
const lib = () => import('../fuse/index.js');

interface MountOpts {
  pool?: string;
  cont?: string;
  path?: string;
  foreground?: boolean;
  allowOther?: boolean;
  aclPerCaller?: boolean;
  suid?: boolean;
  dev?: boolean;
  debug?: boolean;
  log?: string;
  readyFd?: string;
  cacheTimeout?: string;
  writeBack?: boolean;
}

const THREADS = '32';

/** Arguments that re-run this command as the daemon. */
function childArgs(cmd: Command, mp: string | undefined, o: MountOpts): string[] {
  const g = globalOpts(cmd);
  const a = [process.argv[1]!, ...(g.engine ? ['--engine', g.engine] : []), 'mount'];
  if (mp !== undefined) a.push(mp);
  if (o.pool !== undefined) a.push('--pool', o.pool);
  if (o.cont !== undefined) a.push('--cont', o.cont);
  if (o.path !== undefined) a.push('--path', o.path);
  if (o.allowOther) a.push('--allow-other');
  if (o.aclPerCaller) a.push('--acl-per-caller');
  if (o.suid) a.push('--suid');
  if (o.dev) a.push('--dev');
  if (o.debug) a.push('--debug');
  if (o.cacheTimeout !== undefined) a.push('--cache-timeout', o.cacheTimeout);
  if (o.writeBack) a.push('--write-back');
  a.push('--foreground');
  return a;
}

async function runDaemon(cmd: Command, mp: string, o: MountOpts): Promise<void> {
  const { mountTier } = await lib();
  const engine = await openEngine(globalOpts(cmd).engine);
  const ready = o.readyFd !== undefined ? Number(o.readyFd) : undefined;
  const tell = (s: string) => { if (ready !== undefined) { try { fs.writeSync(ready, s); } catch { /* parent gone */ } } };
  let m;
  try {
    const t = o.cacheTimeout !== undefined ? Number(o.cacheTimeout) : undefined;
    if (t !== undefined && !(t >= 0)) throw new StrataError('EINVAL', `bad --cache-timeout '${o.cacheTimeout}'`);
    m = await mountTier(engine, {
      mountpoint: mp, pool: o.pool, cont: o.cont, path: o.path, allowOther: o.allowOther, aclPerCaller: o.aclPerCaller, suid: o.suid, dev: o.dev, debug: o.debug,
      ...(o.writeBack ? { writeBack: true } : {}),
      ...(t !== undefined ? { entryTimeout: t, attrTimeout: t } : {}),
    });
  } catch (e) {
    tell(`error: ${(e as Error).message}\n`);
    await engine.close();
    throw e;
  }
  tell('ready\n');
  if (ready !== undefined) { try { fs.closeSync(ready); } catch { /* closed */ } }
  const stop = () => { void m.stop(); };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.on('SIGHUP', stop);
  await m.done;
  await engine.close();
  process.exit(0);
}

/** Starts the daemon (detached, or attached for --foreground) and waits until it is ready. */
function spawnDaemon(args: string[], o: MountOpts, attached: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, UV_THREADPOOL_SIZE: THREADS };
    if (attached) {
      const child = spawn(process.execPath, args, { stdio: 'inherit', env });
      const fwd = (s: NodeJS.Signals) => child.kill(s);
      for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, fwd);
      child.on('exit', (code) => { process.exitCode = code ?? 1; resolve(); });
      return;
    }
    const log = o.log ? fs.openSync(o.log, 'a') : 'ignore';
    const child = spawn(process.execPath, [...args, '--ready-fd', '3'], { detached: true, stdio: ['ignore', log, log, 'pipe'], env });
    let text = '';
    const pipe = child.stdio[3] as NodeJS.ReadableStream;
    pipe.setEncoding('utf8');
    pipe.on('data', (d: string) => { text += d; });
    pipe.on('end', () => {
      child.unref();
      if (text.startsWith('ready')) resolve();
      else if (text.startsWith('error: ')) reject(new StrataError('EIO', text.slice(7).trim()));
      else reject(new StrataError('EIO', `the mount daemon exited before the mount was ready${o.log ? ` (see ${o.log})` : ''}`));
    });
  });
}

export function registerMount(program: Command): void {
  program.command('mount [mountpoint]')
    .description('mount the tier with FUSE: all pools (<mnt>/<pool>/<cont>/...), one pool, one container, or the container of a UNS link')
    .option('--pool <pool>', 'mount only this pool (label or UUID)')
    .option('--cont <cont>', 'with --pool: mount only this container')
    .option('--path <link>', 'mount the container of this xattr UNS link on the link itself')
    .option('-f, --foreground', 'stay in the foreground (default: run as a daemon)')
    .option('--allow-other', 'let other users use the mount (FUSE allow_other)')
    .option('--acl-per-caller', 'check the container ACL for each user of the mount too (default: the ACL of the user who mounts opens the container, mode bits decide for each user)')
    .option('--suid', 'root only: honour set-user-ID/set-group-ID bits of files in the mount (default: nosuid)')
    .option('--dev', 'root only: honour device files in the mount (default: nodev)')
    .option('--cache-timeout <seconds>', 'how long the kernel caches names and attributes (default 1)')
    .option('--write-back', 'answer close, mkdir and setattr before their commit (faster for serial writers; other clients see the change a moment later, see docs/fuse.md)')
    .option('--log <file>', 'daemon: append diagnostics to this file')
    .option('--debug', 'log every FUSE request to stderr')
    .addOption(new Option('--ready-fd <fd>').hideHelp())
    .action(async (mountpoint: string | undefined, o: MountOpts, cmd: Command) => {
      const mp = mountpoint ?? o.path;
      const { checkPrivilegedOptions } = await lib();
      checkPrivilegedOptions(o);
      if (mp === undefined) throw new StrataError('EINVAL', 'give a mountpoint (or --path LINK)');
      if (mountpoint !== undefined && o.path !== undefined && fs.realpathSync(mountpoint) !== fs.realpathSync(o.path)) {
        throw new StrataError('EINVAL', '--path mounts the container on the link itself: give no other mountpoint');
      }
      if (o.foreground && process.env['UV_THREADPOOL_SIZE']) return runDaemon(cmd, mp, o);
      const { checkMountpoint, resolveTierRoot } = await lib();
      // Check what can be checked here, for a clear error before anything starts.
      await withEngine(cmd, async (engine) => { await resolveTierRoot(engine, o); });
      if (o.path === undefined) checkMountpoint(mp);
      await spawnDaemon(childArgs(cmd, mountpoint, o), o, !!o.foreground);
    });

  program.command('umount <mountpoint>')
    .alias('unmount')
    .description('unmount a strata FUSE mount (buffered writes are committed first)')
    .option('-l, --lazy', 'detach now even if busy')
    .option('-f, --force', 'for a mount whose daemon hangs: abort its FUSE connection (waiting calls fail, unsaved writes are lost), then detach')
    .action(async (mp: string, o: { lazy?: boolean; force?: boolean }) => {
      const { abortConnection, isStaleMount, strataMounts, unmount } = await lib();
      if (o.force) {
        // Never touch the mount itself here: its daemon may not answer.
        // Resolve the parent only: a stat of the mountpoint would reach the daemon.
        const abs = path.resolve(mp);
        let target = abs;
        try { target = path.join(fs.realpathSync(path.dirname(abs)), path.basename(abs)); } catch { /* keep abs */ }
        if (!strataMounts().has(target)) throw new StrataError('EINVAL', `${mp} is not a strata mount`);
        abortConnection(target);
        unmount(target, true);
        return;
      }
      if (!fs.existsSync(mp) && !isStaleMount(mp)) throw new StrataError('ENOENT', `${mp}: no such directory`);
      const real = isStaleMount(mp) ? mp : fs.realpathSync(mp);
      if (!strataMounts().has(real) && !isStaleMount(mp)) throw new StrataError('EINVAL', `${mp} is not a strata mount`);
      try {
        unmount(real, !!o.lazy || isStaleMount(mp));
      } catch (e) {
        const msg = (e as Error).message;
        throw new StrataError(/busy/i.test(msg) ? 'EBUSY' : 'EIO', /busy/i.test(msg) ? `${mp}: busy (files open or a process inside it; use --lazy to detach anyway)` : msg);
      }
    });
}
