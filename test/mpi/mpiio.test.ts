// MPI-IO on a POSIX container through `strata mount`: test/mpi/mpiio.c (built
// with mpicc into a temporary directory) runs with several ranks under
// OpenMPI, writes one shared file with collective (MPI_File_write_at_all) and
// independent (MPI_File_write_at) calls — including overlapping ranges
// written one rank after another, and a hole — reads it back collectively and
// checks every byte. Then the file is checked here again, through the mount
// and with `strata fs get` after unmounting. Runs with both of OpenMPI's MPI-IO
// implementations (OMPIO and ROMIO) when present.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { REPO, runCli, tempDir } from '../helpers.js';

const SOURCE = path.join(REPO, 'test', 'mpi', 'mpiio.c');
const home = tempDir('strata-mpi-home-');
const env = { STRATA_HOME: home, STRATA_ENGINE: '' };
const mounts = new Set<string>();
const ompiEnv = { ...process.env, OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1', OMPI_MCA_rmaps_base_oversubscribe: '1' };

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Why the test cannot run here, or false. mpicc missing: installs it (scripts/install-deps.sh) when root. */
function skipReason(): string | false {
  if (process.getuid?.() !== 0 || !fs.existsSync('/dev/fuse')) return 'needs root and /dev/fuse (strata mount)';
  if (!have('mpicc') || !have('mpirun')) {
    spawnSync('flock', ['/tmp/strata-apt.lock', 'bash', path.join(REPO, 'scripts', 'install-deps.sh'), '--test'], { stdio: 'ignore', timeout: 300000 });
    if (!have('mpicc') || !have('mpirun')) return 'mpicc/mpirun not found and could not be installed (apt-get install libopenmpi-dev openmpi-bin)';
  }
  return false;
}

const skip = skipReason();
let bin = '';
const ioComponents: string[] = [];

async function cli(args: string[]): Promise<string> {
  const r = await runCli(args, { env });
  assert.equal(r.code, 0, `strata ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function umountQuiet(mp: string): void {
  spawnSync('umount', [mp], { stdio: 'ignore' });
  spawnSync('umount', ['-l', mp], { stdio: 'ignore' });
}

before(async () => {
  if (skip) return;
  const dir = tempDir('strata-mpi-bin-');
  bin = path.join(dir, 'mpiio');
  const cc = spawnSync('mpicc', ['-O2', '-Wall', '-o', bin, SOURCE], { encoding: 'utf8' });
  assert.equal(cc.status, 0, `mpicc failed:\n${cc.stderr}`);
  const info = spawnSync('ompi_info', ['--parsable'], { encoding: 'utf8' }).stdout ?? '';
  for (const c of ['ompio', 'romio321', 'romio341']) if (info.includes(`mca:io:${c}:`)) ioComponents.push(c);
  if (ioComponents.length === 0) ioComponents.push('');
  await cli(['pool', 'create', 'tank']);
  await cli(['container', 'create', 'tank', 'mpi']);
});

after(() => {
  for (const mp of mounts) umountQuiet(mp);
});

/** The byte rank r writes at offset o in region k (as in mpiio.c). */
const pat = (o: number, r: number, k: number) => (o * 7 + r * 31 + k * 101) & 0xff;

function mpirun(np: number, io: string, args: string[]): { status: number | null; out: string } {
  const mca = ['--mca', 'btl', 'self,vader', '--mca', 'btl_vader_single_copy_mechanism', 'none', '--mca', 'plm_rsh_agent', 'false'];
  if (io) mca.push('--mca', 'io', io);
  const r = spawnSync('mpirun', ['--allow-run-as-root', '--oversubscribe', '-np', String(np), ...mca, bin, ...args], { env: ompiEnv, encoding: 'utf8', timeout: 60000 });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}` };
}

test('MPI ranks share one file in a POSIX container through the mount (collective, independent, overlapping writes)', { skip, timeout: 100000 }, async () => {
  const mp = tempDir('strata-mpi-mnt-');
  const work = tempDir('strata-mpi-work-');
  await cli(['mount', mp, '--pool', 'tank', '--cont', 'mpi']);
  mounts.add(mp);
  const np = 3;
  const B = 1500007; // not a multiple of the 1 MiB chunk: ranks share chunks
  for (const io of ioComponents) {
    const name = `shared-${io || 'default'}.dat`;
    const expected = path.join(work, `${name}.expected`);
    const r = mpirun(np, io, [path.join(mp, name), expected, String(B)]);
    assert.equal(r.status, 0, `mpirun (io ${io || 'default'}) failed:\n${r.out}`);
    assert.match(r.out, new RegExp(`mpiio: ${np} ranks, \\d+ bytes, ok`));
    const want = fs.readFileSync(expected);
    // Independent check of a few regions: collective blocks, independent
    // blocks, the overlap (later rank wins), the hole, the tail.
    const r2 = 2 * np * B;
    const probes: Array<[number, number]> = [
      [0, pat(0, 0, 0)], [B - 1, pat(B - 1, 0, 0)], [B, pat(B, 1, 0)], [np * B + 5, pat(np * B + 5, 0, 1)],
      [r2, pat(r2, 0, 2)], [r2 + Math.floor(B / 2), pat(r2 + Math.floor(B / 2), 1, 2)],
      [r2 + B - 1, pat(r2 + B - 1, 2, 2)], [r2 + (np - 1) * Math.floor(B / 2) + B + 10, 0],
    ];
    for (const [o, v] of probes) assert.equal(want[o], v, `expected file byte ${o}`);
    const got = fs.readFileSync(path.join(mp, name));
    assert.equal(got.length, want.length);
    assert.ok(got.equals(want), `file read through the mount differs (io ${io})`);
  }
  umountQuiet(mp);
  mounts.delete(mp);
  for (const io of ioComponents) {
    const name = `shared-${io || 'default'}.dat`;
    const out = path.join(work, `${name}.get`);
    await cli(['fs', 'get', `daos://tank/mpi/${name}`, out]);
    assert.ok(fs.readFileSync(out).equals(fs.readFileSync(path.join(work, `${name}.expected`))), `strata fs get of ${name} differs`);
  }
});
