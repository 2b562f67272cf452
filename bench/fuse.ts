// FUSE mount benchmarks, each compared in the same run with what a user would
// do instead: sequential write/read of a large file through `strata mount`
// versus `strata fs put`/`fs get` of the same file and versus the local disk
// (dd conv=fdatasync; reads after dropping caches), and `tar x` of many small
// files (4 KiB each, 200 directories) into the mount versus into a local
// directory (with and without a closing sync), in rotated rounds with caches
// dropped before each run: with the default close-to-open mount (every close
// commits) and with metadata write-back (--write-back, see docs/fuse.md), and
// into bindfs (with and without sync) (a C FUSE filesystem on libfuse that passes every request to a
// local directory): what the kernel's FUSE round trips alone cost a `tar x`
// on this machine, whatever the daemon does.
// Sizes: FUSE_BENCH_FILE_MB (default 1024), FUSE_BENCH_FILES (default 20000).
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dropCaches, mbps, median, pairedRatio, ratio, rounds, size, timeCommand, MiB, type Row } from './util.js';

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
  let tar: Record<string, number[]> = {};
  const mntWb = path.join(workDir, 'mnt-wb');
  fs.mkdirSync(mntWb);
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
    // A second container mounted with metadata write-back, and bindfs over a
    // local directory, all mounted for the whole of the rounds; every run
    // extracts into a fresh directory, removed after its round.
    strata(['container', 'create', 'bench', 'fw']);
    strata(['mount', mntWb, '--pool', 'bench', '--cont', 'fw', '--write-back']);
    const bindfs = mountBindfs(workDir);
    let n = 0;
    const outs: string[] = [];
    const tarInto = (dir: string, then = '') => () => {
      const o = path.join(dir, `t${n++}`);
      fs.mkdirSync(o);
      outs.push(o);
      const t = timeCommand(`tar xf ${q(tarball)} -C ${q(o)}${then}`);
      const count = Number(execFileSync('bash', ['-c', `find ${q(o)} -type f | wc -l`], { encoding: 'utf8' }).trim());
      if (count !== nfiles) throw new Error(`tar x into ${dir} made ${count} files, expected ${nfiles}`);
      return t;
    };
    const local = path.join(workDir, 'tar-local');
    fs.mkdirSync(local);
    const contenders: Record<string, () => number> = {
      local: tarInto(local),
      'local + sync': tarInto(local, ' && sync'),
      mount: tarInto(mnt),
      'mount --write-back': tarInto(mntWb),
    };
    if (bindfs) {
      contenders['bindfs'] = tarInto(bindfs.over);
      contenders['bindfs + sync'] = tarInto(bindfs.over, ' && sync');
    }
    try {
      tar = await rounds(size('BENCH_ROUNDS', 3, 3), contenders, {
        afterRound: async () => {
          for (const o of outs.splice(0)) fs.rmSync(o, { recursive: true, force: true });
          execFileSync('sync');
          await new Promise((res) => setTimeout(res, 3000));
        },
      });
    } finally {
      bindfs?.unmount();
    }
  } finally {
    for (const m of [mnt, mntWb]) {
      spawnSync(process.execPath, [CLI, 'umount', m], { env, stdio: 'ignore' });
      spawnSync('umount', ['-l', m], { stdio: 'ignore' });
    }
  }
  const bw = (s: number) => bytes / s;
  rows.push({ name: `write ${mb} MiB, 1 MiB blocks, through the mount (dd conv=fdatasync)`, value: `${mbps(bytes, mWrite)}; fs put ${mbps(bytes, pWrite)} (ratio ${ratio(bw(mWrite), bw(pWrite))}); local dd ${mbps(bytes, dWrite)} (ratio ${ratio(bw(mWrite), bw(dWrite))})`, speed: [{ vs: 'strata fs put', ratio: pWrite / mWrite }, { vs: 'dd conv=fdatasync', ratio: dWrite / mWrite }] });
  rows.push({ name: `read ${mb} MiB, 1 MiB blocks, through the mount (cold cache)`, value: `${mbps(bytes, mRead)}; fs get ${mbps(bytes, pRead)} (ratio ${ratio(bw(mRead), bw(pRead))}); local dd ${mbps(bytes, dRead)} (ratio ${ratio(bw(mRead), bw(dRead))})`, speed: [{ vs: 'strata fs get', ratio: pRead / mRead }, { vs: 'dd', ratio: dRead / mRead }] });
  const runs = (ts: number[]) => ts.map((x) => x.toFixed(2)).join(', ');
  for (const [k, label] of [['mount', 'close-to-open (default)'], ['mount --write-back', 'metadata write-back']] as const) {
    const ts = tar[k]!;
    const refs = ['bindfs', 'bindfs + sync', 'local', 'local + sync'].filter((r) => tar[r]).map((r) => ({ vs: r, p: pairedRatio(ts, tar[r]!) }));
    rows.push({
      name: `tar x of ${nfiles} files of 4 KiB (200 dirs) into the mount, ${label}`,
      value: `median ${median(ts).toFixed(2)} s (${(nfiles / median(ts)).toFixed(0)} files/s); runs ${runs(ts)} s; per-round ratios: ${refs.map((r) => `${r.vs} ${r.p.median.toFixed(2)} (${r.p.min.toFixed(2)}-${r.p.max.toFixed(2)})`).join('; ')}`,
      speed: refs.map((r) => ({ vs: r.vs === 'bindfs' ? 'tar x into bindfs (C FUSE passthrough)' : `tar x into ${r.vs}`, ratio: r.p.median })),
    });
  }
  for (const k of ['local', 'local + sync', 'bindfs', 'bindfs + sync']) {
    const ts = tar[k];
    rows.push({ name: `tar x of ${nfiles} files of 4 KiB (200 dirs) into ${k}`, value: ts ? `median ${median(ts).toFixed(2)} s; runs ${runs(ts)} s` : 'skipped: bindfs not installed (scripts/install-deps.sh --bench)' });
  }
  return rows;
}

/** bindfs over a fresh local directory, or undefined when bindfs is not installed. */
function mountBindfs(workDir: string): { over: string; unmount: () => void } | undefined {
  if (spawnSync('bindfs', ['--version'], { stdio: 'ignore' }).status !== 0) return undefined;
  const under = path.join(workDir, 'bindfs-dir');
  const over = path.join(workDir, 'bindfs-mnt');
  fs.mkdirSync(under);
  fs.mkdirSync(over);
  execFileSync('bindfs', [under, over]);
  return {
    over,
    unmount: () => {
      spawnSync('fusermount', ['-u', over], { stdio: 'ignore' });
      spawnSync('umount', ['-l', over], { stdio: 'ignore' });
      fs.rmSync(under, { recursive: true, force: true });
    },
  };
}
