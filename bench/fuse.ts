// FUSE mount benchmarks, each compared in the same run with what a user would
// do instead: sequential write/read of a large file through `strata mount`
// versus `strata fs put`/`fs get` of the same file and versus the local disk
// (dd conv=fdatasync; reads after dropping caches), and `tar x` of many small
// files (4 KiB each, 200 directories) into the mount versus into a local
// directory: with the default close-to-open mount (every close commits) and
// with metadata write-back (STRATA_MOUNT_WRITEBACK=1, see docs/fuse.md), and
// into bindfs (a C FUSE filesystem on libfuse that passes every request to a
// local directory): what the kernel's FUSE round trips alone cost a `tar x`
// on this machine, whatever the daemon does.
// Sizes: FUSE_BENCH_FILE_MB (default 1024), FUSE_BENCH_FILES (default 20000).
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dropCaches, mbps, ratio, size, timeCommand, MiB, type Row } from './util.js';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'strata.js');

export async function benchFuse(workDir: string): Promise<Row[]> {
  if (process.getuid?.() !== 0 || !fs.existsSync('/dev/fuse')) return [{ name: 'fuse', value: 'skipped: needs root and /dev/fuse' }];
  const mb = size('FUSE_BENCH_FILE_MB', 1024, 128);
  const nfiles = size('FUSE_BENCH_FILES', 20000, 2000);
  const bytes = mb * MiB;
  const home = path.join(workDir, 'home');
  const env = { ...process.env, STRATA_HOME: home, STRATA_ENGINE: '' };
  const strata = (args: string[], extra: NodeJS.ProcessEnv = {}): string => {
    const r = spawnSync(process.execPath, [CLI, ...args], { env: { ...env, ...extra }, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`strata ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const mnt = path.join(workDir, 'mnt');
  fs.mkdirSync(mnt);
  strata(['pool', 'create', 'bench']);
  strata(['container', 'create', 'bench', 'fb']);
  const rows: Row[] = [];
  const src = path.join(workDir, 'src');
  // Random data (zero chunks would be skipped by fs put).
  const fd = fs.openSync(src, 'w');
  for (let i = 0; i < mb; i++) fs.writeSync(fd, crypto.randomBytes(MiB));
  fs.fsyncSync(fd);
  fs.closeSync(fd);

  // Local disk.
  const local = path.join(workDir, 'local');
  const dWrite = timeCommand(`dd if=${q(src)} of=${q(local)} bs=1M conv=fdatasync status=none`);
  dropCaches();
  const dRead = timeCommand(`dd if=${q(local)} of=/dev/null bs=1M status=none`);
  fs.rmSync(local);

  // strata fs put / fs get.
  dropCaches();
  const pWrite = timeCommand(`STRATA_HOME=${q(home)} node ${q(CLI)} fs put ${q(src)} daos://bench/fb/put.bin >/dev/null`);
  dropCaches();
  const got = path.join(workDir, 'got');
  const pRead = timeCommand(`STRATA_HOME=${q(home)} node ${q(CLI)} fs get daos://bench/fb/put.bin ${q(got)} >/dev/null`);
  fs.rmSync(got);

  // Through the mount.
  strata(['mount', mnt, '--pool', 'bench', '--cont', 'fb']);
  let mWrite = 0;
  let mRead = 0;
  let tarLocal = 0;
  let tarLocalSync = 0;
  let tarMount = 0;
  let tarMountWb = 0;
  let tarBindfs: number | undefined;
  try {
    dropCaches();
    mWrite = timeCommand(`dd if=${q(src)} of=${q(path.join(mnt, 'dd.bin'))} bs=1M conv=fdatasync status=none`);
    dropCaches();
    mRead = timeCommand(`dd if=${q(path.join(mnt, 'dd.bin'))} of=/dev/null bs=1M status=none`);
    execFileSync('cmp', [src, path.join(mnt, 'dd.bin')]);

    // Many small files: a tarball of nfiles files of 4 KiB in 200 directories.
    const tree = path.join(workDir, 'tree');
    for (let d = 0; d < 200; d++) fs.mkdirSync(path.join(tree, `d${d}`), { recursive: true });
    for (let i = 0; i < nfiles; i++) fs.writeFileSync(path.join(tree, `d${i % 200}`, `f${i}`), crypto.randomBytes(4096));
    const tarball = path.join(workDir, 'tree.tar');
    execFileSync('tar', ['cf', tarball, '-C', tree, '.']);
    fs.rmSync(tree, { recursive: true });
    const lt = path.join(workDir, 'tar-local');
    fs.mkdirSync(lt);
    dropCaches();
    tarLocal = timeCommand(`tar xf ${q(tarball)} -C ${q(lt)}`);
    fs.rmSync(lt, { recursive: true });
    fs.mkdirSync(lt);
    dropCaches();
    tarLocalSync = timeCommand(`tar xf ${q(tarball)} -C ${q(lt)} && sync -f ${q(lt)}`);
    fs.rmSync(lt, { recursive: true });
    tarBindfs = tarIntoBindfs(workDir, tarball, nfiles, q);
    const mt = path.join(mnt, 'tar');
    fs.mkdirSync(mt);
    dropCaches();
    tarMount = timeCommand(`tar xf ${q(tarball)} -C ${q(mt)}`);
    const count = Number(execFileSync('bash', ['-c', `find ${q(mt)} -type f | wc -l`], { encoding: 'utf8' }).trim());
    if (count !== nfiles) throw new Error(`tar x into the mount made ${count} files, expected ${nfiles}`);

    // The same with metadata write-back (a second mount of the container).
    spawnSync(process.execPath, [CLI, 'umount', mnt], { env, stdio: 'ignore' });
    strata(['mount', mnt, '--pool', 'bench', '--cont', 'fb'], { STRATA_MOUNT_WRITEBACK: '1' });
    const mw = path.join(mnt, 'tar-wb');
    fs.mkdirSync(mw);
    dropCaches();
    tarMountWb = timeCommand(`tar xf ${q(tarball)} -C ${q(mw)}`);
    const countWb = Number(execFileSync('bash', ['-c', `find ${q(mw)} -type f | wc -l`], { encoding: 'utf8' }).trim());
    if (countWb !== nfiles) throw new Error(`tar x into the write-back mount made ${countWb} files, expected ${nfiles}`);
  } finally {
    spawnSync(process.execPath, [CLI, 'umount', mnt], { env, stdio: 'ignore' });
    spawnSync('umount', ['-l', mnt], { stdio: 'ignore' });
  }
  const bw = (s: number) => bytes / s;
  const bindfsNote = (t: number) => tarBindfs === undefined ? '' : `; bindfs ${tarBindfs.toFixed(2)} s (ratio ${ratio(tarBindfs, t)})`;
  const bindfsSpeed = (t: number) => tarBindfs === undefined ? [] : [{ vs: 'tar x into bindfs (C FUSE passthrough)', ratio: tarBindfs / t }];
  rows.push({ name: `write ${mb} MiB, 1 MiB blocks, through the mount (dd conv=fdatasync)`, value: `${mbps(bytes, mWrite)}; fs put ${mbps(bytes, pWrite)} (ratio ${ratio(bw(mWrite), bw(pWrite))}); local dd ${mbps(bytes, dWrite)} (ratio ${ratio(bw(mWrite), bw(dWrite))})`, speed: [{ vs: 'strata fs put', ratio: pWrite / mWrite }, { vs: 'dd conv=fdatasync', ratio: dWrite / mWrite }] });
  rows.push({ name: `read ${mb} MiB, 1 MiB blocks, through the mount (cold cache)`, value: `${mbps(bytes, mRead)}; fs get ${mbps(bytes, pRead)} (ratio ${ratio(bw(mRead), bw(pRead))}); local dd ${mbps(bytes, dRead)} (ratio ${ratio(bw(mRead), bw(dRead))})`, speed: [{ vs: 'strata fs get', ratio: pRead / mRead }, { vs: 'dd', ratio: dRead / mRead }] });
  rows.push({ name: `tar x of ${nfiles} files of 4 KiB (200 dirs), close-to-open (default)`, value: `${(nfiles / tarMount).toFixed(0)} files/s (${tarMount.toFixed(1)} s); local ${tarLocal.toFixed(2)} s (ratio ${ratio(tarLocal, tarMount)}); local + sync ${tarLocalSync.toFixed(2)} s (ratio ${ratio(tarLocalSync, tarMount)})${bindfsNote(tarMount)}`, speed: [{ vs: 'tar x to local disk', ratio: tarLocal / tarMount }, ...bindfsSpeed(tarMount)] });
  rows.push({ name: `tar x of ${nfiles} files of 4 KiB (200 dirs), metadata write-back`, value: `${(nfiles / tarMountWb).toFixed(0)} files/s (${tarMountWb.toFixed(1)} s); local ${tarLocal.toFixed(2)} s (ratio ${ratio(tarLocal, tarMountWb)}); local + sync ${tarLocalSync.toFixed(2)} s (ratio ${ratio(tarLocalSync, tarMountWb)})${bindfsNote(tarMountWb)}`, speed: [{ vs: 'tar x to local disk', ratio: tarLocal / tarMountWb }, ...bindfsSpeed(tarMountWb)] });
  rows.push({
    name: `tar x of ${nfiles} files of 4 KiB (200 dirs) into bindfs over a local directory (reference C FUSE filesystem)`,
    value: tarBindfs === undefined ? 'skipped: bindfs not installed (scripts/install-deps.sh --bench)' : `${(nfiles / tarBindfs).toFixed(0)} files/s (${tarBindfs.toFixed(2)} s); local ${tarLocal.toFixed(2)} s (ratio ${ratio(tarLocal, tarBindfs)})`,
    ...(tarBindfs === undefined ? {} : { speed: [{ vs: 'tar x to local disk', ratio: tarLocal / tarBindfs }] }),
  });
  return rows;
}

/** tar x into a bindfs mount of a local directory; undefined when bindfs is not installed. */
function tarIntoBindfs(workDir: string, tarball: string, nfiles: number, q: (s: string) => string): number | undefined {
  if (spawnSync('bindfs', ['--version'], { stdio: 'ignore' }).status !== 0) return undefined;
  const under = path.join(workDir, 'bindfs-dir');
  const over = path.join(workDir, 'bindfs-mnt');
  fs.mkdirSync(under);
  fs.mkdirSync(over);
  execFileSync('bindfs', [under, over]);
  try {
    dropCaches();
    const t = timeCommand(`tar xf ${q(tarball)} -C ${q(over)}`);
    const count = Number(execFileSync('bash', ['-c', `find ${q(under)} -type f | wc -l`], { encoding: 'utf8' }).trim());
    if (count !== nfiles) throw new Error(`tar x into bindfs made ${count} files, expected ${nfiles}`);
    return t;
  } finally {
    spawnSync('fusermount', ['-u', over], { stdio: 'ignore' });
    spawnSync('umount', ['-l', over], { stdio: 'ignore' });
    fs.rmSync(under, { recursive: true, force: true });
  }
}
