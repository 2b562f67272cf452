// The FUSE channel: opens /dev/fuse, mounts it with mount(8) (the kernel takes
// the descriptor as `fd=3` of the mount process, which inherits it), reads
// requests with several reads in flight on libuv's thread pool, and writes
// replies synchronously (a write to /dev/fuse only copies into the kernel).
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { StrataError } from '../errors.js';
import { IN_HEADER, OUT_HEADER, outHeader, readInHeader, type InHeader } from './proto.js';

export interface ChannelOptions {
  mountpoint: string;
  /** Options of the FUSE mount itself (default_permissions, allow_other...). */
  allowOther?: boolean;
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
    try {
      run('mount', ['-i', '-n', '-t', `fuse.${opts.subtype ?? 'strata'}`, '-o', o.join(','), opts.fsname ?? 'strata', opts.mountpoint], `mount ${opts.mountpoint}`, fd);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
    return new Channel(fd, opts);
  }

  /** Starts reading requests; resolves when the filesystem is unmounted. */
  serve(handler: Handler): Promise<void> {
    const n = this.opts.readers ?? 4;
    return new Promise((resolve) => {
      let live = n;
      const done = () => { if (--live === 0) { this.stopped = true; for (const f of this.onClose) f(); resolve(); } };
      for (let i = 0; i < n; i++) this.readLoop(handler, done);
    });
  }

  private readLoop(handler: Handler, done: () => void): void {
    let buf = Buffer.allocUnsafe(this.opts.bufSize);
    const next = () => {
      if (this.stopped) { done(); return; }
      fs.read(this.fd, buf, 0, buf.length, null, (err, n) => {
        if (err) {
          const code = err.code;
          if (code === 'ENOENT' || code === 'EINTR' || code === 'EAGAIN') { next(); return; }
          // ENODEV: unmounted. Anything else: give up.
          if (code !== 'ENODEV') process.stderr.write(`strata mount: reading /dev/fuse: ${err.message}\n`);
          this.stopped = true;
          done();
          return;
        }
        if (n < IN_HEADER) { next(); return; }
        let req: Buffer;
        if (n > 65536) {
          // Hand the big buffer (a WRITE) over; read the next request into a fresh one.
          req = buf.subarray(0, n);
          buf = Buffer.allocUnsafe(this.opts.bufSize);
        } else {
          req = Buffer.from(buf.subarray(0, n));
        }
        const h = readInHeader(req);
        try {
          handler(h, req.subarray(IN_HEADER, h.len));
        } catch (e) {
          process.stderr.write(`strata mount: ${(e as Error).stack ?? String(e)}\n`);
          this.reply(h.unique, -5);
        }
        next();
      });
    };
    next();
  }

  /** Sends a reply: error is 0 or a negative errno; data only with error 0. */
  reply(unique: bigint, error: number, ...data: Buffer[]): void {
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
  const out = new Map<string, string>();
  let text = '';
  try { text = fs.readFileSync('/proc/self/mountinfo', 'utf8'); } catch { return out; }
  for (const line of text.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const f = left.split(' ');
    const fstype = right.split(' ')[0] ?? '';
    if (!fstype.startsWith('fuse.strata')) continue;
    const mp = (f[4] ?? '').replace(/\\(\d{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
    out.set(mp, f[2] ?? '');
  }
  return out;
}
