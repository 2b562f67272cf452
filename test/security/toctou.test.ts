// The mover never writes outside its destination when the destination is
// tampered with: a symlink planted where a directory or a file of the copy
// goes, a directory swapped for a symlink between a run and its --resume, a
// directory swapped the instant after the mover made it, a resume journal
// whose plan points elsewhere, a symlink at the HDF5 export's temporary name.
// Every case is deterministic: the tampering happens before the command, or
// (through NODE_OPTIONS --import, as test/uns/cli.test.ts does) at an exact
// call inside it. "Outside" is a directory beside the destination whose
// fingerprint (names, modes, owners, sizes, content digests, mtimes) must not
// change. Both POSIX -> POSIX and container -> POSIX copies are checked.
//
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from '../helpers.js';
import { journalPath } from '../../src/mover/journal.js';
import { H5File } from '../../src/hdf5/h5lib/index.js';
import { cli, describe as show, fingerprint, injected, makeContainer, ok, type CliResult } from './util.js';

const home = tempDir('strata-sec-toctou-');
fs.chmodSync(home, 0o755);
const env = { STRATA_HOME: path.join(home, 'engine'), STRATA_ENGINE: '' };
const SRC = path.join(home, 'tree');

type Kind = 'posix' | 'container';
const KINDS: Kind[] = ['posix', 'container'];
/** The source of each kind; both are named "tree", so a copy into an existing DST goes to DST/tree. */
const source = (k: Kind) => (k === 'posix' ? SRC : 'daos://tank/c/tree');

let n = 0;
/** A fresh destination directory and a fresh "outside" directory next to it, holding a victim file. */
function arena(tag: string): { dst: string; outside: string; victim: string } {
  const base = path.join(home, `${tag}-${n++}`);
  const dst = path.join(base, 'dst');
  const outside = path.join(base, 'outside');
  fs.mkdirSync(dst, { recursive: true });
  fs.mkdirSync(outside, { mode: 0o700 });
  fs.chmodSync(outside, 0o700);
  const victim = path.join(outside, 'victim.txt');
  fs.writeFileSync(victim, 'precious\n', { mode: 0o600 });
  return { dst, outside, victim };
}

const copy = (args: string[], extraEnv: Record<string, string> = {}) => cli(['fs', 'copy', ...args], { env: { ...env, ...extraEnv } });

function errorLines(r: CliResult): string[] {
  return r.stderr.split('\n').filter((l) => l.startsWith('strata: '));
}

before(async () => {
  fs.mkdirSync(path.join(SRC, 'a/blocker'), { recursive: true });
  fs.mkdirSync(path.join(SRC, 'a/deep'), { recursive: true });
  fs.writeFileSync(path.join(SRC, 'top.txt'), 'top\n');
  fs.writeFileSync(path.join(SRC, 'a/one.txt'), 'one\n');
  fs.writeFileSync(path.join(SRC, 'a/blocker/inner.txt'), 'inner\n');
  fs.writeFileSync(path.join(SRC, 'a/deep/two.txt'), 'two\n');
  fs.writeFileSync(path.join(SRC, 'a/big.bin'), Buffer.alloc(300_000, 7)); // a "large" file (temporary name + rename)
  fs.chmodSync(path.join(SRC, 'a'), 0o777); // the copy would chmod a swapped-in target to this
  await makeContainer(env, 'tank', 'c');
  await ok(['fs', 'copy', '--src', SRC, '--dst', 'daos://tank/c', '-q'], { env }); // into an existing container: daos://tank/c/tree
});

for (const kind of KINDS) {
  test(`${kind} -> POSIX: symlinks planted where a directory and a file of the copy go are not followed`, async () => {
    const { dst, outside, victim } = arena(`planted-${kind}`);
    fs.mkdirSync(path.join(dst, 'tree'));
    fs.symlinkSync(outside, path.join(dst, 'tree/a')); // a directory goes here
    fs.symlinkSync(victim, path.join(dst, 'tree/top.txt')); // a file goes here
    const fp = fingerprint(outside);
    const r = await copy(['--src', source(kind), '--dst', dst]);
    assert.equal(r.code, 1, show(['fs', 'copy'], r));
    const errs = errorLines(r);
    assert.match(errs[0] ?? '', /tree\/a: .*cannot overwrite non-directory with directory \(EEXIST\)$/, r.stderr);
    assert.equal(errs.length, 2, r.stderr); // the refusal and the summary "copy: 1 error"
    assert.equal(fingerprint(outside), fp, 'nothing outside the destination changed');
    // The file's symlink was replaced by the file (renamed over it), not written through.
    assert.ok(fs.lstatSync(path.join(dst, 'tree/top.txt')).isFile());
    assert.equal(fs.readFileSync(path.join(dst, 'tree/top.txt'), 'utf8'), 'top\n');
    assert.ok(fs.lstatSync(path.join(dst, 'tree/a')).isSymbolicLink(), 'the planted symlink is left alone');
  });

  test(`${kind} -> POSIX: --resume after a directory of the copy was swapped for a symlink does not follow it`, async () => {
    const { dst, outside } = arena(`resume-${kind}`);
    // A file where the directory a/blocker goes: the first run fails there and keeps its journal.
    fs.mkdirSync(path.join(dst, 'tree/a'), { recursive: true });
    fs.writeFileSync(path.join(dst, 'tree/a/blocker'), 'in the way\n');
    const r1 = await copy(['--src', source(kind), '--dst', dst]);
    assert.equal(r1.code, 1, r1.stderr);
    assert.match(r1.stderr, /a\/blocker: cannot overwrite non-directory with directory/);
    assert.match(r1.stderr, /--resume/);
    // Between the runs someone swaps tree/a for a symlink to elsewhere.
    fs.renameSync(path.join(dst, 'tree/a'), path.join(dst, 'tree/a.moved'));
    fs.symlinkSync(outside, path.join(dst, 'tree/a'));
    const fp = fingerprint(outside);
    const r2 = await copy(['--src', source(kind), '--dst', dst, '--resume']);
    assert.equal(r2.code, 1, r2.stderr);
    assert.match(errorLines(r2)[0] ?? '', /tree\/a: .*cannot overwrite non-directory with directory \(EEXIST\)$/, r2.stderr);
    assert.equal(fingerprint(outside), fp, 'nothing outside the destination changed');
    assert.ok(fs.lstatSync(path.join(dst, 'tree/a')).isSymbolicLink());
  });
}

// ---- swaps and plants in the destination ----

// (Fixed: a copy root the mover computes, DST/<name of SRC>, is never followed when it is a symlink.)

for (const kind of KINDS) {
  test(`${kind} -> POSIX: a symlink planted at DST/<name of SRC> is an error, not a way out`, async () => {
    const { dst, outside } = arena(`root-${kind}`);
    fs.symlinkSync(outside, path.join(dst, 'tree'));
    const fp = fingerprint(outside);
    const r = await copy(['--src', source(kind), '--dst', dst]);
    assert.equal(fingerprint(outside), fp, `nothing outside the destination changed; outside now holds: ${fs.readdirSync(outside).join(' ')}`);
    assert.equal(r.code, 1, r.stderr);
    assert.match(errorLines(r)[0] ?? '', /tree: .*(not a directory|symbolic link)/);
  });
}

test('POSIX -> POSIX: --resume after the copy root itself was swapped for a symlink does not follow it', async () => {
  const { dst, outside } = arena('resume-root');
  fs.mkdirSync(path.join(dst, 'tree/a'), { recursive: true });
  fs.writeFileSync(path.join(dst, 'tree/a/blocker'), 'in the way\n');
  const r1 = await copy(['--src', SRC, '--dst', dst]);
  assert.equal(r1.code, 1, r1.stderr);
  fs.renameSync(path.join(dst, 'tree'), path.join(dst, 'tree.moved'));
  fs.symlinkSync(outside, path.join(dst, 'tree'));
  const fp = fingerprint(outside);
  await copy(['--src', SRC, '--dst', dst, '--resume']);
  assert.equal(fingerprint(outside), fp, `nothing outside the destination changed; outside now holds: ${fs.readdirSync(outside).join(' ')}`);
});

/**
 * Child-side hook: right after the mover makes directory SWAP_DIR (whichever
 * mkdir it uses), "another process" swaps it for a symlink to SWAP_TO.
 */
const SWAP_AFTER_MKDIR = `
import fs from 'node:fs';
const dir = process.env.SWAP_DIR, to = process.env.SWAP_TO;
let done = false;
const swap = (p) => {
  if (done) return;
  // The mover may name the directory through a descriptor of its parent (/proc/<pid>/fd/N/a).
  try { if (fs.realpathSync(p) !== fs.realpathSync(dir)) return; } catch { return; }
  done = true;
  fs.renameSync(dir, dir + '.moved');
  fs.symlinkSync(to, dir);
};
const mkdirP = fs.promises.mkdir;
fs.promises.mkdir = async function (p, ...rest) { const r = await mkdirP.call(this, p, ...rest); swap(p); return r; };
const mkdirS = fs.mkdirSync;
fs.mkdirSync = function (p, ...rest) { const r = mkdirS.call(this, p, ...rest); swap(p); return r; };
`;

for (const kind of KINDS) {
  test(`${kind} -> POSIX: a directory swapped for a symlink right after the mover made it is not written through`, async () => {
    const { dst, outside } = arena(`swap-${kind}`);
    const fp = fingerprint(outside);
    const swapped = path.join(dst, 'tree/a');
    const r = await copy(['--src', source(kind), '--dst', dst], { ...injected(SWAP_AFTER_MKDIR), SWAP_DIR: swapped, SWAP_TO: outside });
    assert.ok(fs.lstatSync(swapped, { throwIfNoEntry: false })?.isSymbolicLink(), `the swap happened: ${r.stderr}`);
    assert.equal(fingerprint(outside), fp, `nothing outside the destination changed; outside now holds: ${fs.readdirSync(outside).join(' ')}, mode ${(fs.statSync(outside).mode & 0o777).toString(8)}`);
  });
}

test('--resume with a journal whose plan points outside DST does not write there', async () => {
  const { dst, outside } = arena('journal');
  fs.mkdirSync(path.join(dst, 'tree/a'), { recursive: true });
  fs.writeFileSync(path.join(dst, 'tree/a/blocker'), 'in the way\n');
  const r1 = await copy(['--src', SRC, '--dst', dst]);
  assert.equal(r1.code, 1, r1.stderr);
  const journal = path.join(env.STRATA_HOME, 'mover', path.basename(journalPath(SRC, dst)));
  const lines = fs.readFileSync(journal, 'utf8').split('\n');
  const header = JSON.parse(lines[0]!) as { dstRoot: { kind: string; path: string } };
  assert.equal(header.dstRoot.path, path.join(dst, 'tree'), 'the journal found');
  header.dstRoot = { kind: 'posix', path: outside };
  lines[0] = JSON.stringify(header);
  fs.writeFileSync(journal, lines.join('\n'));
  const fp = fingerprint(outside);
  const r2 = await copy(['--src', SRC, '--dst', dst, '--resume']);
  assert.equal(fingerprint(outside), fp, `nothing outside the destination changed; outside now holds: ${fs.readdirSync(outside).join(' ')} (${r2.stderr.trim()})`);
});

test('HDF5 export: a symlink at the temporary file\'s name is not written through', async () => {
  const h5 = path.join(home, 'in.h5');
  const f = H5File.create(h5, { overwrite: true });
  f.createGroup('g').close();
  f.close();
  await ok(['fs', 'copy', '--src', h5, '--dst', 'daos://tank/h5c', '-q'], { env });
  const { dst, outside, victim } = arena('h5export');
  const fp = fingerprint(outside);
  // Planted at the name the export once used (pid only): the export now adds a
  // random part and creates its temporary file exclusively.
  const plant = `import fs from 'node:fs'; fs.symlinkSync(${JSON.stringify(victim)}, ${JSON.stringify(dst)} + '/.h5c.h5.strata-' + process.pid + '.tmp');`;
  const r = await copy(['--src', 'daos://tank/h5c', '--dst', dst], injected(plant));
  assert.equal(fingerprint(outside), fp, `the victim outside the destination is unchanged (${r.stderr.trim()})`);
  assert.ok(!fs.lstatSync(path.join(dst, 'h5c.h5'), { throwIfNoEntry: false })?.isSymbolicLink(), 'the export is a file, not the planted symlink');
});

// ---- swaps in the source ----
// The mover runs as root over a tree another user can change (an archive of a
// user's directory). If it resolved source paths again after listing them, a
// directory swapped for a symlink would pull in what only root may read.

/**
 * Child-side hook: right after the mover lstats SWAP_AFTER (whichever path
 * form it uses), "another process" renames SWAP_DIR away and puts a symlink
 * to SWAP_TO in its place (a hard link with SWAP_MODE=hardlink).
 */
const SWAP_AFTER_LSTAT = `
import fs from 'node:fs';
import path from 'node:path';
const after = process.env.SWAP_AFTER, dir = process.env.SWAP_DIR, to = process.env.SWAP_TO;
let done = false;
const real = (p) => {
  const s = Buffer.isBuffer(p) ? p.toString('latin1') : String(p);
  try { return path.join(fs.realpathSync.native(path.dirname(s)), path.basename(s)); } catch { return s; }
};
const hit = (p) => {
  if (done || real(p) !== after) return;
  done = true;
  fs.renameSync(dir, dir + '.moved');
  if (process.env.SWAP_MODE === 'hardlink') fs.linkSync(to, dir); else fs.symlinkSync(to, dir);
};
const lstatS = fs.lstatSync;
fs.lstatSync = function (p, ...rest) { const r = lstatS.call(this, p, ...rest); hit(p); return r; };
const lstatP = fs.promises.lstat;
fs.promises.lstat = async function (p, ...rest) { const r = await lstatP.call(this, p, ...rest); hit(p); return r; };
`;

const SECRET = 'root-only secret\n';

/** A source tree (a.txt, p/f.txt, z/inner.txt, q.txt) and a root-only 0700 directory whose files have the same names, sizes and mtimes. */
function sourceArena(tag: string): { src: string; secret: string; dst: string } {
  const base = path.join(home, `srcswap-${tag}-${n++}`);
  const src = path.join(base, 'src');
  const secret = path.join(base, 'secret');
  fs.mkdirSync(path.join(src, 'p'), { recursive: true });
  fs.mkdirSync(path.join(src, 'z'));
  fs.mkdirSync(secret, { mode: 0o700 });
  fs.chmodSync(secret, 0o700);
  const same = 'x'.repeat(SECRET.length - 1) + '\n'; // same size: a plain size check cannot tell them apart
  const t = new Date('2020-01-01T00:00:00Z');
  for (const f of ['a.txt', 'p/f.txt', 'z/inner.txt']) {
    fs.writeFileSync(path.join(src, f), same);
    fs.utimesSync(path.join(src, f), t, t);
  }
  fs.writeFileSync(path.join(src, 'q.txt'), 'the rest\n');
  for (const f of ['f.txt', 'inner.txt']) {
    fs.writeFileSync(path.join(secret, f), SECRET, { mode: 0o600 });
    fs.utimesSync(path.join(secret, f), t, t);
  }
  const dst = path.join(base, 'dst');
  fs.mkdirSync(dst);
  return { src, secret, dst };
}

/** Every file's content under a POSIX directory or in a container (copied out to look). */
async function contents(where: string): Promise<string[]> {
  let dir = where;
  if (where.startsWith('daos://')) {
    dir = path.join(home, `look-${n++}`);
    await ok(['fs', 'copy', '--src', where, '--dst', dir, '-q'], { env });
  }
  const out: string[] = [];
  const walk = (p: string) => {
    for (const e of fs.readdirSync(p, { withFileTypes: true })) {
      const q = path.join(p, e.name);
      if (e.isDirectory()) walk(q);
      else if (e.isFile()) out.push(fs.readFileSync(q, 'utf8'));
    }
  };
  walk(dir);
  return out;
}

// -j 1 reads the source on the main thread, -j 2 on a read thread: the same guarantees.
for (const jobs of ['1', '2']) {
  for (const [cmd, kind] of [['copy', 'posix'], ['copy', 'container'], ['sync', 'posix']] as const) {
    test(`fs ${cmd} -j ${jobs} -> ${kind}: a source directory swapped for a symlink between listing and descending is not followed`, async () => {
      const { src, secret, dst } = sourceArena(`dir-${cmd}-${kind}`);
      const target = kind === 'posix' ? (cmd === 'sync' ? dst : path.join(dst, 'src')) : `daos://tank/srcswap${n++}`;
      const r = await cli(['fs', cmd, '-j', jobs, '--src', cmd === 'sync' ? `${src}/` : src, '--dst', kind === 'posix' && cmd === 'copy' ? dst : target], {
        env: { ...env, ...injected(SWAP_AFTER_LSTAT), SWAP_AFTER: path.join(src, 'z'), SWAP_DIR: path.join(src, 'z'), SWAP_TO: secret },
      });
      assert.ok(fs.lstatSync(path.join(src, 'z')).isSymbolicLink(), `the swap happened: ${r.stderr}`);
      assert.ok(!(await contents(target)).includes(SECRET), `the root-only file was not copied: ${r.stderr}`);
      assert.equal(r.code, 1, show(['fs', cmd], r));
      assert.match(errorLines(r)[0] ?? '', new RegExp(`^strata: ${src}/z: .*symbolic link`), r.stderr);
      const got = (await contents(target)).sort();
      assert.deepEqual(got.filter((c) => c === 'the rest\n'), ['the rest\n'], 'the rest is copied');
      assert.equal(got.length, 3, `a.txt, p/f.txt and q.txt copied: ${r.stderr}`);
    });
  }

  test(`fs copy -j ${jobs}: a file's directory swapped for a symlink after it was listed: the file is read from the directory listed`, async () => {
    const { src, secret, dst } = sourceArena('parent');
    const r = await cli(['fs', 'copy', '-j', jobs, '--src', src, '--dst', dst], {
      env: { ...env, ...injected(SWAP_AFTER_LSTAT), SWAP_AFTER: path.join(src, 'p/f.txt'), SWAP_DIR: path.join(src, 'p'), SWAP_TO: secret },
    });
    assert.ok(fs.lstatSync(path.join(src, 'p')).isSymbolicLink(), `the swap happened: ${r.stderr}`);
    assert.ok(!(await contents(dst)).includes(SECRET), `the root-only file was not copied: ${r.stderr}`);
    // The directory the listing saw is still open: the file comes from there (now p.moved), as listed.
    assert.equal(fs.readFileSync(path.join(dst, 'src/p/f.txt'), 'utf8'), fs.readFileSync(path.join(src, 'p.moved/f.txt'), 'utf8'));
    assert.equal(r.code, 0, show(['fs', 'copy'], r));
  });

  test(`fs copy -j ${jobs}: a source file replaced by a hard link to a root-only file after it was listed is an error, not copied`, async () => {
    const { src, secret, dst } = sourceArena('file');
    const r = await cli(['fs', 'copy', '-j', jobs, '--src', src, '--dst', dst], {
      env: { ...env, ...injected(SWAP_AFTER_LSTAT), SWAP_AFTER: path.join(src, 'a.txt'), SWAP_DIR: path.join(src, 'a.txt'), SWAP_TO: path.join(secret, 'f.txt'), SWAP_MODE: 'hardlink' },
    });
    assert.equal(fs.statSync(path.join(src, 'a.txt')).ino, fs.statSync(path.join(secret, 'f.txt')).ino, `the swap happened: ${r.stderr}`);
    assert.ok(!(await contents(dst)).includes(SECRET), `the root-only file was not copied: ${r.stderr}`);
    assert.equal(r.code, 1, show(['fs', 'copy'], r));
    assert.match(errorLines(r)[0] ?? '', new RegExp(`^strata: ${src}/a.txt: .*replaced while being copied`), r.stderr);
    assert.ok(!fs.existsSync(path.join(dst, 'src/a.txt')));
    assert.equal(fs.readFileSync(path.join(dst, 'src/q.txt'), 'utf8'), 'the rest\n', 'the rest is copied');
  });
}
