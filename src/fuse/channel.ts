// The FUSE channel: opens /dev/fuse, mounts it with mount(8) (the kernel takes
// the descriptor as `fd=3` of the mount process, which inherits it), reads
// requests (on the main thread while idle, on the thread pool while requests
// are in flight: see serve), and writes replies synchronously (a write to
// /dev/fuse only copies into the kernel).
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { StrataError } from '../errors.js';
import { IN_HEADER, OP, OUT_HEADER, outHeader, readInHeader, type InHeader } from './proto.js';
import { startWaker, type Waker } from './waker.js';
import { mountTable } from '../mountinfo.js';

export interface ChannelOptions {
  mountpoint: string;
  /** Options of the FUSE mount itself (default_permissions, allow_other...). */
  allowOther?: boolean;
  /** Honour set-user-ID/set-group-ID bits (default: nosuid). */
  suid?: boolean;
  /** Honour device files (default: nodev). */
  dev?: boolean;
  fsname?: string;
  subtype?: string;
  /** Largest request body the kernel may send (max_write + headers). */
  bufSize: number;
  /** Reads of /dev/fuse kept in flight. */
  readers?: number;
}

export type Handler = (h: InHeader, body: Buffer) => void;

/** Runs mount(8)/umount(8) and turns failure into a StrataError. */
function run(cmd: string, args: string[], what: string, extraFd?: number): void {
  const stdio: Array<'ignore' | 'pipe' | number> = ['ignore', 'ignore', 'pipe'];
  if (extraFd !== undefined) stdio.push(extraFd);
  const r = spawnSync(cmd, args, { stdio, encoding: 'utf8' });
  if (r.error) throw new StrataError('EIO', `${what}: cannot run ${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new StrataError('EIO', `${what}: ${(r.stderr || '').trim() || `${cmd} exited with ${r.status}`}`);
}

export class Channel {
  readonly fd: number;
  private stopped = false;
  private onClose: Array<() => void> = [];
  /** Requests read and not answered yet (every request but FORGET, BATCH_FORGET and INTERRUPT gets one reply). */
  private inflight = 0;
  /** Reads of /dev/fuse outstanding on the thread pool. */
  private asyncReads = 0;
  private syncArmed = false;
  private handler!: Handler;
  private background: () => boolean = () => false;
  private waker: Waker | undefined;
  private finish!: () => void;

  private constructor(fd: number, readonly opts: ChannelOptions) {
    this.fd = fd;
  }

  /** Opens /dev/fuse and mounts it on the mountpoint. */
  static mount(opts: ChannelOptions): Channel {
    let fd: number;
    try {
      fd = fs.openSync('/dev/fuse', 'r+');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new StrataError(code === 'EACCES' ? 'EACCES' : 'EIO', `cannot open /dev/fuse (${code}): is the fuse module loaded, and are you root?`);
    }
    const uid = process.getuid?.() ?? 0;
    const gid = process.getgid?.() ?? 0;
    const o = [`fd=3`, `rootmode=40000`, `user_id=${uid}`, `group_id=${gid}`, 'default_permissions'];
    if (opts.allowOther) o.push('allow_other');
    // Any user who may write a container can store a mode; a set-user-ID
    // program or a device node from there must not act on this host.
    if (!opts.suid) o.push('nosuid');
    if (!opts.dev) o.push('nodev');
    try {
      run('mount', ['-i', '-n', '-t', `fuse.${opts.subtype ?? 'strata'}`, '-o', o.join(','), opts.fsname ?? 'strata', opts.mountpoint], `mount ${opts.mountpoint}`, fd);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
    return new Channel(fd, opts);
  }

  /**
   * Starts reading requests; resolves when the filesystem is unmounted.
   *
   * How requests are read: while nothing is in flight (every request
   * answered), the next one is read synchronously on the main thread, so a
   * serial client (tar, cp -r) pays one wake-up per request instead of two
   * (thread pool, then event loop). While requests are in flight, reads go
   * to the thread pool (up to `readers`, one per request in flight), so
   * the event loop stays free to complete them. A synchronous read blocks
   * the event loop; `background()` says whether work the daemon started is
   * still running (commits, bulk writes): a helper process then wakes the
   * loop after a few milliseconds by sending a STATFS through the mount,
   * and otherwise about once a second (signal handlers run on the loop).
   */
  serve(handler: Handler, background?: () => boolean): Promise<void> {
    this.handler = handler;
    if (background) this.background = background;
    if (!process.env['STRATA_FUSE_ASYNC_ONLY']) this.waker = startWaker(this.opts.mountpoint);
    return new Promise((resolve) => {
      this.finish = () => {
        this.waker?.stop();
        for (const f of this.onClose) f();
        resolve();
      };
      this.schedule();
    });
  }

  private stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.asyncReads === 0) this.finish();
  }

  /** Picks how the next request is read (see serve). */
  private schedule(): void {
    if (this.stopped) return;
    if (this.inflight === 0 && this.asyncReads === 0 && this.waker) {
      if (!this.syncArmed) { this.syncArmed = true; setImmediate(() => this.syncRead()); }
      return;
    }
    const want = Math.max(1, Math.min(this.opts.readers ?? 4, this.inflight));
    while (this.asyncReads < want) this.asyncRead();
  }

  private buf = Buffer.allocUnsafe(0);

  private take(n: number): Buffer {
    if (n > 65536) {
      // Hand the big buffer (a WRITE) over; the next request goes into a fresh one.
      const req = this.buf.subarray(0, n);
      this.buf = Buffer.allocUnsafe(this.opts.bufSize);
      return req;
    }
    return Buffer.from(this.buf.subarray(0, n));
  }

  private syncRead(): void {
    this.syncArmed = false;
    if (this.stopped) return;
    if (this.inflight > 0 || this.asyncReads > 0) { this.schedule(); return; }
    if (this.buf.length === 0) this.buf = Buffer.allocUnsafe(this.opts.bufSize);
    let n: number;
    this.waker!.blocking(this.background());
    try {
      n = fs.readSync(this.fd, this.buf, 0, this.buf.length, null);
    } catch (e) {
      if (!this.readFailed(e as NodeJS.ErrnoException)) this.schedule();
      return;
    }
    this.dispatch(n, this.take(n));
    this.scheduleLater();
  }

  /** Decides after the request's synchronous part and its promise jobs ran (most requests are answered by then). */
  private scheduleLater(): void {
    setImmediate(() => this.schedule());
  }

  /**
   * Read buffers of finished thread-pool reads, reused: a fresh one per read
   * (max_write plus header, 1 MiB) made a close-to-open `tar x` spend about
   * a sixth of the main thread in garbage collection.
   */
  private spare: Buffer[] = [];

  private asyncRead(): void {
    this.asyncReads++;
    const buf = this.spare.pop() ?? Buffer.allocUnsafe(this.opts.bufSize);
    fs.read(this.fd, buf, 0, buf.length, null, (err, n) => {
      this.asyncReads--;
      if (err) {
        this.spare.push(buf);
        if (this.readFailed(err)) { if (this.asyncReads === 0) this.finish(); return; }
      } else if (n > 65536) {
        // A big request (a WRITE) keeps the buffer: handed over, not copied.
        this.dispatch(n, buf.subarray(0, n));
      } else {
        const req = Buffer.from(buf.subarray(0, n));
        this.spare.push(buf);
        this.dispatch(n, req);
      }
      if (this.stopped) { if (this.asyncReads === 0) this.finish(); return; }
      this.scheduleLater();
    });
  }

  /** True when the channel is finished (unmounted or broken); false for a read to retry. */
  private readFailed(err: NodeJS.ErrnoException): boolean {
    const code = err.code;
    if (code === 'ENOENT' || code === 'EINTR' || code === 'EAGAIN') return this.stopped;
    // ENODEV: unmounted. Anything else: give up.
    if (code !== 'ENODEV') process.stderr.write(`strata mount: reading /dev/fuse: ${err.message}\n`);
    this.stop();
    return true;
  }

  private dispatch(n: number, req: Buffer): void {
    if (n < IN_HEADER) return;
    const h = readInHeader(req);
    if (h.opcode !== OP.FORGET && h.opcode !== OP.BATCH_FORGET && h.opcode !== OP.INTERRUPT) this.inflight++;
    try {
      this.handler(h, req.subarray(IN_HEADER, h.len));
    } catch (e) {
      process.stderr.write(`strata mount: ${(e as Error).stack ?? String(e)}\n`);
      this.reply(h.unique, -5);
    }
  }

  /** Sends a reply: error is 0 or a negative errno; data only with error 0. */
  reply(unique: bigint, error: number, ...data: Buffer[]): void {
    try {
      this.send(unique, error, data);
    } finally {
      if (unique !== 0n && --this.inflight === 0) this.schedule();
    }
  }

  private send(unique: bigint, error: number, data: Buffer[]): void {
    if (this.stopped && unique !== 0n) return;
    const len = OUT_HEADER + (error === 0 ? data.reduce((s, d) => s + d.length, 0) : 0);
    const parts = error === 0 ? [outHeader(len, 0, unique), ...data] : [outHeader(OUT_HEADER, error, unique)];
    try {
      if (parts.length === 1) fs.writeSync(this.fd, parts[0]!);
      else fs.writevSync(this.fd, parts);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // ENOENT: the request was interrupted meanwhile; ENODEV: unmounted.
      if (code !== 'ENOENT' && code !== 'ENODEV') process.stderr.write(`strata mount: reply failed: ${(e as Error).message}\n`);
    }
  }

  whenClosed(f: () => void): void { this.onClose.push(f); }

  close(): void {
    try { fs.closeSync(this.fd); } catch { /* already closed */ }
  }
}

/** Unmounts a FUSE mountpoint (lazily with `lazy`: detaches even if busy or dead). */
export function unmount(mountpoint: string, lazy = false): void {
  const args = lazy ? ['-l', mountpoint] : [mountpoint];
  run('umount', args, `umount ${mountpoint}`);
}

/**
 * Aborts the FUSE connection of a mount through fusectl (mounting it at
 * /sys/fs/fuse/connections if needed), without touching the mount itself:
 * every request waiting on it fails (ENOTCONN) and the server's reads end.
 * For a mount whose server neither answers nor exits. True when aborted.
 */
export function abortConnection(mountpoint: string): boolean {
  const dev = strataMounts().get(mountpoint) ?? anyFuseMount(mountpoint);
  const minor = dev?.split(':')[1];
  if (!minor) return false;
  const dir = '/sys/fs/fuse/connections';
  if (!fs.existsSync(`${dir}/${minor}`)) spawnSync('mount', ['-t', 'fusectl', 'none', dir], { stdio: 'ignore' });
  try {
    fs.writeFileSync(`${dir}/${minor}/abort`, '1');
    return true;
  } catch {
    return false;
  }
}

/** The "maj:min" of any FUSE mount at this mountpoint (mountinfo). */
function anyFuseMount(mountpoint: string): string | undefined {
  return mountTable().find((m) => m.fstype.startsWith('fuse') && m.mountpoint === mountpoint)?.dev;
}

/** True if the path is a mountpoint whose FUSE server is gone (stat fails with ENOTCONN). */
export function isStaleMount(mountpoint: string): boolean {
  try {
    // stat may be answered from the kernel's attribute cache; opendir always reaches the server.
    fs.statSync(mountpoint);
    fs.opendirSync(mountpoint).closeSync();
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOTCONN';
  }
}

/** Lists FUSE mounts of strata from /proc/self/mountinfo: mountpoint -> st_dev "maj:min". */
export function strataMounts(): Map<string, string> {
  return new Map(mountTable().filter((m) => m.fstype.startsWith('fuse.strata')).map((m) => [m.mountpoint, m.dev]));
}
