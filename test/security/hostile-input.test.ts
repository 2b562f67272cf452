// Hostile inputs: malformed `user.daos` xattrs on paths given to UNS-aware
// commands, corrupt or truncated HDF5 files given to `fs copy --src F.h5 --dst
// daos://...` and to `container deserialize`, and a parking file whose DFS
// namespace holds names that are not names (`../..`, with `/`). Each must end
// in one clear `strata: ...` line and exit 1, with no container left behind
// and nothing changed; data from such a container must never be written
// outside the copy's destination.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { getAttributeSync, setAttributeSync } from '@napi-rs/xattr';
import { tempDir } from '../helpers.js';
import { openContainer } from '../../src/container/index.js';
import { PENDING_PREFIX } from '../../src/container/pending.js';
import { sealFile } from '../../src/park/format.js';
import { mountDfs, encodeEntry, ENTRY_AKEY, ROOT_OID } from '../../src/dfs/index.js';
import { makeRichFile } from '../hdf5/fixtures.js';
import { assertOneError, cli, describe as show, digest, fingerprint, fuseUsable, inEngine, labelsOf, listTree, makeContainer, makePool, ok, refused, type CliResult } from './util.js';

const home = tempDir('strata-sec-hostile-');
fs.chmodSync(home, 0o755);
const env = { STRATA_HOME: path.join(home, 'engine'), STRATA_ENGINE: '' };
const o = { env };

const labels = (pool: string) => labelsOf(env, pool);

/** No container being filled is left (pending/ markers) and the engine and every namespace check clean. */
async function noLeftovers(e: Record<string, string>, what: string): Promise<void> {
  assert.deepEqual(await inEngine(e, (engine) => engine.catList(PENDING_PREFIX)), [], `${what}: no half-made container`);
  const chk = await cli(['pool', 'check'], { env: e });
  assert.equal(chk.code, 0, `${what}: pool check\n${chk.stdout}${chk.stderr}`);
}

let poolUuid = '';
let contUuid = '';

test('malformed user.daos xattrs: every UNS-aware command refuses with one line naming the path; nothing is created or changed', async () => {
  const links = path.join(home, 'links');
  fs.mkdirSync(links);
  const P = poolUuid;
  const C = contUuid;
  const values: Record<string, Buffer> = {
    garbage: Buffer.from('not a link at all'),
    'bad-uuid': Buffer.from('DAOS.POSIX://not-a-uuid/x\0'),
    'too-long': Buffer.from(`DAOS.POSIX://${P}/${C}${'x'.repeat(3000)}`),
    binary: Buffer.from(Array.from({ length: 64 }, (_, i) => 0x80 + i)),
    'nul-inside': Buffer.from(`DAOS.POSIX://${P}\0/${C}\0`),
    // A real pool and container with a path glued on: not a link to them.
    traversal: Buffer.from(`DAOS.POSIX://${P}/${C}/../../etc\0`),
    empty: Buffer.alloc(0),
    'bad-type': Buffer.from(`DAOS.WHAT://${P}/${C}\0`),
  };
  for (const [name, v] of Object.entries(values)) {
    fs.mkdirSync(path.join(links, name));
    setAttributeSync(path.join(links, name), 'user.daos', v);
  }
  const before = await digest(env, 'tank', 'real');
  const conts = await labels('tank');
  const fpLinks = fingerprint(links);
  // Resolving a path below some of them (`uns scan` below reports every one).
  await Promise.all(['garbage', 'too-long', 'nul-inside', 'bad-type'].map((name) =>
    refused(['uns', 'resolve', path.join(links, name, 'x')], o, new RegExp(`${path.join(links, name)}: (malformed user\\.daos value|unknown container type)`))));

  // Every command that takes a location, on the one that names a real container.
  const bad = path.join(links, 'traversal');
  const BAD = /malformed user\.daos value/;
  const src = path.join(home, 'src');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'x.txt'), 'x\n');
  const out = path.join(home, 'out');
  await Promise.all([
    refused(['fs', 'ls', bad], o, BAD),
    refused(['fs', 'cat', `${bad}/f`], o, BAD),
    refused(['fs', 'put', '-', `${bad}/f`], { env, input: 'overwrite\n' }, BAD),
    refused(['fs', 'copy', '--src', bad, '--dst', out], o, BAD),
    refused(['fs', 'copy', '--src', src, '--dst', bad], o, BAD),
    refused(['fs', 'copy', '--src', src, '--dst', `${bad}/sub`], o, BAD),
    refused(['container', 'destroy', '--path', bad], o, BAD),
    refused(['container', 'unlink', '--path', bad], o, BAD),
    refused(['container', 'link', 'tank', 'real', '--path', bad], o, /already exists/),
    ...(fuseUsable() === false ? [refused(['mount', '--path', bad], o, /malformed user\.daos value/)] : []),
  ]);
  // A scan reports each one, naming it and why, and goes on.
  const scan = await cli(['uns', 'scan', links], o);
  assert.equal(scan.code, 0, show(['uns', 'scan'], scan));
  const warnings = scan.stderr.split('\n').filter((l) => l.startsWith('strata: warning: skipped'));
  assert.equal(warnings.length, Object.keys(values).length, scan.stderr);
  for (const name of Object.keys(values)) {
    assert.ok(warnings.some((w) => w.includes(`${path.join(links, name)}: `) && /malformed user\.daos value|unknown container type/.test(w)), `${name}: ${scan.stderr}`);
  }

  assert.ok(!fs.existsSync(out), 'nothing copied out');
  assert.equal(fingerprint(links), fpLinks, 'the link directories are as they were');
  for (const [name, v] of Object.entries(values)) {
    assert.ok((getAttributeSync(path.join(links, name), 'user.daos') ?? Buffer.alloc(0)).equals(v), `${name}: xattr unchanged`);
  }
  assert.equal(await digest(env, 'tank', 'real'), before, 'the real container is unchanged');
  assert.deepEqual(await labels('tank'), conts, 'no container created or destroyed');
  const mover = path.join(env.STRATA_HOME, 'mover');
  assert.deepEqual(fs.existsSync(mover) ? fs.readdirSync(mover).filter((n) => n.endsWith('.journal')) : [], []);
  assert.ok(!fs.readFileSync('/proc/mounts', 'utf8').includes(` ${bad} `), 'nothing mounted');
});

// ---- HDF5 files ----

const work = path.join(home, 'h5');
let parking = ''; // a valid parking file (with its strata user block)
let plainParking = ''; // the same without the user block: read without the checksum guard, as mpiFileUtils files are
let rich = ''; // a native HDF5 file with groups, datasets, attributes, dense (fractal heap) storage

/** Offsets of an HDF5 signature in a file. */
function signatures(b: Buffer, sig: string): number[] {
  const out: number[] = [];
  for (let i = b.indexOf(sig); i >= 0; i = b.indexOf(sig, i + 1)) out.push(i);
  return out;
}

function damaged(from: string, name: string, fn: (b: Buffer) => Buffer): string {
  const f = path.join(work, name);
  fs.writeFileSync(f, fn(Buffer.from(fs.readFileSync(from))));
  return f;
}

const overwrite = (at: number, n = 16) => (b: Buffer) => { b.fill(0xff, at, Math.min(b.length, at + n)); return b; };

before(async () => {
  poolUuid = await makePool(env, 'tank');
  contUuid = await makeContainer(env, 'tank', 'real', { files: { '/f': 'real data\n' } });
  fs.mkdirSync(work);
  rich = path.join(work, 'rich.h5');
  makeRichFile(rich);
  await makeContainer(env, 'tank', 'parked', { dirs: ['/d'], files: { '/a': 'parked data\n' } });
  const dir = path.join(work, 'park');
  await ok(['container', 'serialize', 'tank', 'parked', '-o', dir], o);
  parking = path.join(dir, fs.readdirSync(dir).find((n) => n.endsWith('.h5'))!);
  const plain = path.join(work, 'plain.h5');
  if (spawnSync('h5unjam', ['-i', parking, '-o', plain]).status === 0) plainParking = plain;
});

test('corrupt or truncated HDF5 files: `fs copy --src F.h5` and `container deserialize` give one line, exit 1, no container', async () => {
  await makePool(env, 'cold');
  const size = fs.statSync(parking).size;
  const native = fs.readFileSync(rich);
  const garbage = Buffer.alloc(4096);
  for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919 + 13) & 0xff;
  const inputs: Array<{ file: string; re: RegExp }> = [
    { file: damaged(rich, 'empty.h5', () => Buffer.alloc(0)), re: /empty\.h5: .*(not a readable HDF5 file|truncated|only 0 bytes)/ },
    { file: damaged(rich, 'garbage.h5', () => garbage), re: /garbage\.h5: .*(not a readable HDF5 file|not a strata parking file)/ },
    { file: damaged(rich, 'half-native.h5', (b) => b.subarray(0, native.length >> 1)), re: /half-native\.h5: / },
    { file: damaged(parking, 'half-parked.h5', (b) => b.subarray(0, size >> 1)), re: /half-parked\.h5: .*(truncated|not a readable HDF5 file)/ },
    { file: damaged(parking, 'flipped-parked.h5', overwrite(size - 2000, 4)), re: /flipped-parked\.h5: / },
  ];
  if (plainParking) inputs.push({ file: damaged(plainParking, 'half-plain.h5', (b) => b.subarray(0, b.length >> 1)), re: /half-plain\.h5: .*truncated/ });
  let i = 0;
  await Promise.all(inputs.flatMap(({ file, re }) => {
    const k = i++;
    return [
      refused(['fs', 'copy', '--src', file, '--dst', `daos://cold/imported-${k}`], o, re),
      refused(['container', 'deserialize', 'cold', file, '--label', `restored-${k}`], o, re),
    ];
  }));
  // A directory with no parking file in it, and one that does not exist.
  const emptyDir = path.join(work, 'nothing-here');
  fs.mkdirSync(emptyDir);
  await refused(['container', 'deserialize', 'cold', emptyDir], o, /nothing-here/);
  await refused(['container', 'deserialize', 'cold', path.join(work, 'missing.h5')], o, /missing\.h5: no such file/);
  assert.deepEqual(await labels('cold'), [], 'no container left behind');
  await noLeftovers(env, 'after the refused imports');
});

function stderrLines(r: CliResult): string[] {
  return r.stderr.split('\n').filter((l) => l !== '');
}

test('a native HDF5 file with a damaged object header: one error line, nothing else on stderr', async () => {
  await makePool(env, 'ohdr');
  const b = fs.readFileSync(rich);
  const headers = signatures(b, 'OHDR');
  assert.ok(headers.length >= 3, 'object headers found');
  const file = damaged(rich, 'bad-header.h5', overwrite(headers[2]! + 8)); // a group's header: its checksum fails
  const r = await cli(['fs', 'copy', '--src', file, '--dst', 'daos://ohdr/x'], o);
  assert.equal(r.code, 1, r.stderr);
  assert.match(stderrLines(r)[0] ?? '', /^strata: .*bad-header\.h5: /);
  assert.deepEqual(await labels('ohdr'), [], 'no container left behind');
  if (plainParking) {
    const pb = fs.readFileSync(plainParking);
    const bad = damaged(plainParking, 'bad-header-plain.h5', overwrite(signatures(pb, 'OHDR')[1]! + 8));
    const d = await cli(['container', 'deserialize', 'ohdr', bad, '--label', 'y'], o);
    assertOneError(d, /bad-header-plain\.h5: /, 'deserialize of a parking file without user block, damaged header');
  }
  assertOneError(r, /bad-header\.h5: /, 'fs copy of a native file with a damaged header');
});

test('a native HDF5 file with a damaged fractal heap (dense links/attributes) is refused, not a crash', async () => {
  await makePool(env, 'frhp');
  const b = fs.readFileSync(rich);
  const heaps = signatures(b, 'FRHP');
  assert.ok(heaps.length >= 1, 'the rich file stores links or attributes densely');
  const file = damaged(rich, 'bad-heap.h5', overwrite(heaps[0]! + 8));
  const r = await cli(['fs', 'copy', '--src', file, '--dst', 'daos://frhp/x'], o);
  assert.deepEqual(await labels('frhp'), [], 'no container left behind');
  await noLeftovers(env, 'after the crashed import');
  assertOneError(r, /bad-heap\.h5: /, 'fs copy of a file with a damaged fractal heap');
});

/** The size field of the first object of the first global heap collection (variable-length data) set by `fn`. */
function heapObjectSize(fn: (size: bigint) => bigint) {
  return (b: Buffer) => {
    const g = b.indexOf('GCOL');
    assert.ok(g >= 0, 'the file has a global heap');
    b.writeBigUInt64LE(fn(b.readBigUInt64LE(g + 24)) & 0xffffffffffffffffn, g + 24);
    return b;
  };
}

test('damaged global heap objects (variable-length strings and sequences): one error line, never a crash or a hang', async () => {
  // libhdf5 copies a heap object's own size into a buffer made for the element's length: SIGSEGV/SIGABRT in free(),
  // or an endless loop; the import and deserialize probe such files in a child first.
  await makePool(env, 'gheap');
  // A short watchdog (--h5-timeout) for both deserialize and fs copy: a file that makes libhdf5 loop is refused in 2 s.
  const runs: Array<Promise<CliResult>> = [];
  const cases: Array<[string, string[]]> = [];
  const add = (file: string, args: string[]) => { cases.push([file, args]); runs.push(cli(args, o)); };
  let k = 0;
  for (const [name, fn] of [['all-ones', () => (1n << 64n) - 1n], ['plus-4000', (s: bigint) => s + 4000n]] as const) {
    const f = damaged(rich, `gheap-${name}.h5`, heapObjectSize(fn));
    add(f, ['fs', 'copy', '--src', f, '--dst', `daos://gheap/x${k++}`, '--h5-timeout', '2']);
    if (plainParking) {
      const p = damaged(plainParking, `gheap-plain-${name}.h5`, heapObjectSize(fn));
      add(p, ['container', 'deserialize', 'gheap', p, '--label', `y${k++}`, '--h5-timeout', '2']);
      // The same damage in a sealed parking file, sealed again: the seal is no safety check.
      const s = damaged(parking, `gheap-sealed-${name}.h5`, heapObjectSize(fn));
      await sealFile(s);
      add(s, ['container', 'deserialize', 'gheap', s, '--label', `y${k++}`, '--h5-timeout', '2']);
    }
  }
  const results = await Promise.all(runs);
  results.forEach((r, i) => {
    const [file, args] = cases[i]!;
    assertOneError(r, new RegExp(`${path.basename(file).replace(/\./g, '\\.')}: `), args.join(' '));
  });
  assert.deepEqual(await labels('gheap'), [], 'no container left behind');
  await noLeftovers(env, 'after the refused imports');
});

/** A small seeded PRNG (mulberry32): the fuzz cases are the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const METADATA = ['OHDR', 'OCHK', 'FRHP', 'FHDB', 'FHIB', 'BTHD', 'BTIN', 'BTLF', 'TREE', 'HEAP', 'SNOD', 'GCOL'];

/** A damaged copy of `b`: random bytes, a run of 0xff, bytes near a metadata signature, or a truncation. */
function mutate(b: Buffer, seed: number): { how: string; data: Buffer } {
  const r = prng(seed);
  const out = Buffer.from(b);
  const pick = (n: number) => Math.floor(r() * n);
  switch (pick(4)) {
    case 0: {
      for (let i = 0, n = 1 + pick(8); i < n; i++) out[pick(out.length)] = pick(256);
      return { how: 'random bytes', data: out };
    }
    case 1: {
      const at = pick(out.length);
      out.fill(0xff, at, at + 16);
      return { how: `16 x 0xff at ${at}`, data: out };
    }
    case 2: {
      const offs = METADATA.flatMap((s) => signatures(out, s));
      const at = offs[pick(offs.length)]! + 4 + pick(60);
      for (let i = 0, n = 1 + pick(4); i < n; i++) { const j = at + pick(8); if (j < out.length) out[j] = pick(256); }
      return { how: `metadata bytes at ${at}`, data: out };
    }
    default: {
      const n = pick(out.length);
      return { how: `truncated to ${n}`, data: out.subarray(0, n) };
    }
  }
}

test('fuzz: damaged copies of real files end in success or one error line, never a signal', async () => {
  // Seeded: a failure names its seed, and the same damaged file comes back on every run.
  await makePool(env, 'fuzz');
  const exported = path.join(work, 'exported.h5');
  await ok(['fs', 'copy', '--src', rich, '--dst', 'daos://fuzz/src', '-q'], o);
  await ok(['fs', 'copy', '--src', 'daos://fuzz/src', '--dst', exported], o);
  const sources = [rich, exported, ...(plainParking ? [plainParking] : [])].map((f) => ({ f, b: fs.readFileSync(f) }));
  const SEEDS = 24;
  let next = 0;
  const failures: string[] = [];
  const one = async (seed: number) => {
    const src = sources[seed % sources.length]!;
    const { how, data } = mutate(src.b, seed);
    const file = path.join(work, `fuzz-${seed}.h5`);
    fs.writeFileSync(file, data);
    const runs: string[][] = path.basename(src.f) === path.basename(plainParking)
      ? [['container', 'deserialize', 'fuzz', file, '--label', `d${seed}`, '--h5-timeout', '5']]
      : [['fs', 'copy', '--src', file, '--dst', `daos://fuzz/f${seed}`, '-q', '--h5-timeout', '5']];
    for (const args of runs) {
      const r = await cli(args, o);
      const lines = r.stderr.split('\n').filter((l) => l !== '');
      // A signal shows as exit -1 and '[killed by SIG...]' on stderr.
      const fine = r.code === 0 ? lines.every((l) => l.startsWith('strata: warning')) : r.code === 1 && lines.length === 1 && lines[0]!.startsWith('strata: ');
      if (!fine) failures.push(`seed ${seed} (${path.basename(src.f)}, ${how}): strata ${args.slice(0, 2).join(' ')}: exit ${r.code}\n${r.stderr}`);
    }
    fs.rmSync(file);
  };
  await Promise.all([0, 1].map(async () => { while (next < SEEDS) await one(next++); }));
  assert.deepEqual(failures, []);
  await noLeftovers(env, 'after the fuzz runs');
});

// ---- names inside a parked container ----

test('a parking file whose namespace holds "../.." and "a/b" names: nothing is ever written outside the copy\'s destination', async () => {
  // The hostile file is made on another engine: a container whose root directory has entries that are not names.
  const made = tempDir('strata-sec-evil-');
  const evilEnv = { STRATA_HOME: path.join(made, 'engine'), STRATA_ENGINE: '' };
  await makeContainer(evilEnv, 'evil', 'c', { files: { '/payload': 'PLANTED\n' } });
  await inEngine(evilEnv, async (engine) => {
    const c = await openContainer(engine, 'evil', 'c', { write: true });
    const dfs = await mountDfs(c);
    const f = await dfs.lookupPath('/payload', { follow: false });
    const entry = (name: string) => ({ op: 'put' as const, cont: c.uuid, oid: ROOT_OID.toBytes(), dkey: Buffer.from(name), akey: Buffer.from(ENTRY_AKEY), value: encodeEntry({ type: 'file', oid: f.oid }) });
    await engine.commit({ ops: [entry('../../escaped'), entry('x/y')] });
  });
  const parkDir = path.join(made, 'park');
  await ok(['container', 'serialize', 'evil', 'c', '-o', parkDir], { env: evilEnv });

  // The victim restores it and copies it out.
  await makePool(env, 'restore');
  const base = path.join(home, 'names');
  const dst = path.join(base, 'a/b/out');
  fs.mkdirSync(dst, { recursive: true });
  const outsideBefore = listTree(base);
  const d = await cli(['container', 'deserialize', 'restore', parkDir, '--label', 'back'], o);
  if (d.code === 0) {
    await cli(['fs', 'copy', '--src', 'daos://restore/back', '--dst', dst], o);
    assert.equal(fs.readFileSync(path.join(dst, 'payload'), 'utf8'), 'PLANTED\n', 'the entry with a real name is copied');
    const check = await cli(['pool', 'check'], o);
    assert.notEqual(check.code, 0, 'pool check reports the entries that are not names');
    assert.match(check.stdout + check.stderr, /"\.\.\/\.\.\/escaped" is not a valid name/);
  } else {
    assertOneError(d, /name/, 'deserialize of a namespace with bad names');
    assert.deepEqual(await labels('restore'), []);
  }
  const outside = listTree(base).filter((p) => !p.startsWith('a/b/out/'));
  assert.deepEqual(outside, outsideBefore.filter((p) => !p.startsWith('a/b/out/')), `nothing written outside ${dst}`);
});

test('an HDF5 file made by the h5lib binding imports: the fixture the damaged files come from is valid', async () => {
  // Guards the tests above: their inputs are damaged copies of files that do load.
  await makePool(env, 'good');
  await ok(['fs', 'copy', '--src', rich, '--dst', 'daos://good/rich', '-q'], o);
  const r = await ok(['container', 'deserialize', 'good', parking, '--label', 'parked-again'], o);
  assert.match(r.stdout, /[0-9a-f-]{36}/);
  if (plainParking) await ok(['container', 'deserialize', 'good', plainParking, '--label', 'plain-again'], o);
  assert.equal((await ok(['fs', 'cat', 'daos://good/parked-again/a'], o)).stdout, 'parked data\n');
});
