// Bad input: every kind of damaged or mismatched file set gives a clear error
// naming the file, and leaves the pool exactly as it was. A fast-check fuzzer
// mutates valid files; a SIGKILLed deserialize leaves no visible container and
// the next parking command removes its data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { CLI, REPO, runCli, tempDir, tempEngine } from '../helpers.js';
import type { Engine } from '../../src/engine/types.js';
import { serializeContainer, deserializeContainer } from '../../src/park/index.js';
import { sealFile } from '../../src/park/format.js';
import { listContainers, createContainer, openContainer } from '../../src/container/index.js';
import { openEngine } from '../../src/engine/open.js';
import { H5File } from '../../src/hdf5/h5lib/index.js';
import { isStrataError } from '../../src/errors.js';
import { fillObjects, fillPosix, makePool } from './util.js';

async function poolState(engine: Engine): Promise<string> {
  const conts = await listContainers(engine, 'pool');
  const pending = await engine.catList('park-');
  return JSON.stringify({ conts: conts.map((c) => c.uuid), pending });
}

async function expectFail(engine: Engine, files: string[], re: RegExp, label = 'x'): Promise<void> {
  const before = await poolState(engine);
  await assert.rejects(deserializeContainer(engine, 'pool', files, { label }), (e: unknown) => {
    assert.ok(isStrataError(e), `not a StrataError: ${String(e)}`);
    assert.match((e as Error).message, re);
    return true;
  });
  assert.equal(await poolState(engine), before);
}

function copyTo(dir: string, files: string[]): string[] {
  fs.mkdirSync(dir, { recursive: true });
  return files.map((f) => {
    const to = path.join(dir, path.basename(f));
    fs.copyFileSync(f, to);
    return to;
  });
}

/** Edits a file with the HDF5 library, then reseals its checksum (a "valid" file with bad content). */
function edit(file: string, fn: (f: H5File) => void): void {
  const f = H5File.open(file, { write: true });
  try { fn(f); } finally { f.close(); }
}

/** The HDF5 type descriptor of a table as the file has it (packed tables have u8 and u32 fields). */
function tableType(ds: ReturnType<H5File['openDataset']>): { compound: Array<[string, 'vbytes' | 'u8' | 'u32' | 'u64']> } {
  return { compound: ds.info().type.members!.map((m) => [m.name, m.type.class === 'vlen' ? 'vbytes' : (`u${m.type.size * 8}` as 'u8' | 'u32' | 'u64')]) };
}

/** Sets one field of one row of a table, and reseals the file. */
async function setRow(file: string, table: string, row: number, field: string, value: bigint | number): Promise<void> {
  edit(file, (f) => {
    const ds = f.openDataset(table);
    const r = ds.readRows<Record<string, unknown>>(row, 1);
    r[0]![field] = value;
    ds.writeRows(tableType(ds), row, r);
    ds.close();
  });
  await sealFile(file);
}

test('damaged and mismatched files: clear errors naming the file, pool unchanged', async () => {
  const { engine, url } = await tempEngine();
  await makePool(engine);
  await fillObjects(engine, 'pool', 'a', 'RAW', { objects: 30, akeys: 3 });
  await fillObjects(engine, 'pool', 'b', 'RAW', { objects: 5, akeys: 2 });
  const work = tempDir();
  const A = (await serializeContainer(engine, 'pool', 'a', { outputDir: path.join(work, 'a'), jobs: 2, engineUrl: url })).files;
  const B = (await serializeContainer(engine, 'pool', 'b', { outputDir: path.join(work, 'b'), jobs: 2, engineUrl: url })).files;
  let n = 0;
  const fresh = () => copyTo(path.join(work, `case${n++}`), A);

  // truncated
  let fs1 = fresh();
  fs.truncateSync(fs1[1]!, fs.statSync(fs1[1]!).size - 100);
  await expectFail(engine, fs1, new RegExp(`${fs1[1]}: .*truncated`));
  fs1 = fresh();
  fs.truncateSync(fs1[0]!, 300);
  await expectFail(engine, fs1, new RegExp(`${fs1[0]}: .*truncated`));
  // corrupted bytes
  fs1 = fresh();
  const fd = fs.openSync(fs1[0]!, 'r+');
  fs.writeSync(fd, Buffer.from([0xde, 0xad]), 0, 2, 4000);
  fs.closeSync(fd);
  await expectFail(engine, fs1, new RegExp(`${fs1[0]}: .*checksum mismatch`));
  // a byte of the header block's padding (outside the checksum)
  fs1 = fresh();
  const pad = fs.openSync(fs1[0]!, 'r+');
  fs.writeSync(pad, Buffer.from([1]), 0, 1, 500);
  fs.closeSync(pad);
  await expectFail(engine, fs1, new RegExp(`${fs1[0]}: .*damaged header`));
  // another container's file mixed in
  await expectFail(engine, [A[0]!, B[1]!], /files of different containers mixed/);
  // missing rank file
  await expectFail(engine, [A[0]!], /rank file\(s\) missing: .*_rank1\.h5/);
  const dirMissing = path.join(work, 'missing');
  copyTo(dirMissing, [A[1]!]);
  await expectFail(engine, [dirMissing], /rank file\(s\) missing: .*_rank0\.h5/);
  // the same rank twice
  await expectFail(engine, [A[0]!, A[1]!, copyTo(path.join(work, 'dup'), [A[0]!])[0]!], /rank 0 given twice/);
  // wrong Version
  fs1 = fresh();
  edit(fs1[0]!, (f) => f.writeAttr('Version', 'f32', [2]));
  await sealFile(fs1[0]!);
  await expectFail(engine, fs1, new RegExp(`${fs1[0]}: unsupported Version 2`));
  // unknown property
  fs1 = fresh();
  edit(fs1[1]!, (f) => f.writeAttr('DAOS_PROP_CO_FROBNICATE', 'u64', [1n]));
  await sealFile(fs1[1]!);
  await expectFail(engine, fs1, new RegExp(`${fs1[1]}: unknown property attribute 'DAOS_PROP_CO_FROBNICATE'`));
  // bad property value
  fs1 = fresh();
  for (const f of fs1) { edit(f, (h) => h.writeAttr('DAOS_PROP_CO_CSUM', 'u64', [99n])); await sealFile(f); }
  await expectFail(engine, fs1, /DAOS_PROP_CO_CSUM' has an unknown value 99/);
  // a corrupted table (offsets that do not line up), resealed: packed layout, and daos-serialize layout
  fs1 = fresh();
  await setRow(fs1[0]!, 'Objects', 1, 'Dkey Offset', 999999n);
  await expectFail(engine, fs1, new RegExp(`${fs1[0]}: 'Objects' row [0-9]+: Dkey Offset`));
  const D = (await serializeContainer(engine, 'pool', 'a', { outputDir: path.join(work, 'd'), jobs: 2, engineUrl: url, layout: 'daos' })).files;
  fs1 = copyTo(path.join(work, `case${n++}`), D);
  await setRow(fs1[0]!, 'Oid Data', 1, 'Dkey Offset', 999999n);
  await expectFail(engine, fs1, new RegExp(`${fs1[0]}: 'Oid Data' row [0-9]+: Dkey Offset`));
  // packed rows that reach beyond the bytes, an unknown kind, extents beyond the table
  fs1 = fresh();
  await setRow(fs1[0]!, 'Akeys', 3, 'Size', 2n ** 40n);
  await expectFail(engine, fs1, new RegExp(`${fs1[0]}: 'Akeys' row 3: .*(beyond 'Bytes'|extents from row)`));
  fs1 = fresh();
  await setRow(fs1[1]!, 'Dkeys', 0, 'Key Length', 4000000000);
  await expectFail(engine, fs1, new RegExp(`${fs1[1]}: 'Dkeys' row 0: 4000000000 bytes at 0 lie beyond 'Bytes'`));
  fs1 = fresh();
  await setRow(fs1[0]!, 'Akeys', 0, 'Kind', 7);
  await expectFail(engine, fs1, new RegExp(`${fs1[0]}: 'Akeys' row 0: unknown Kind 7`));
  fs1 = fresh();
  edit(fs1[0]!, (f) => { const ds = f.openDataset('Bytes'); ds.setExtent([ds.info().dims[0]! + 10]); ds.close(); });
  await sealFile(fs1[0]!);
  await expectFail(engine, fs1, new RegExp(`${fs1[0]}: the tables do not line up .* bytes read`));
  // not HDF5 at all
  fs1 = fresh();
  fs.writeFileSync(fs1[1]!, 'not hdf5 at all');
  await expectFail(engine, fs1, new RegExp(`${fs1[1]}: not a strata parking file`));
  // not a file / label taken
  await expectFail(engine, [path.join(work, 'nope.h5')], /nope\.h5: no such file/);
  await expectFail(engine, A, /already exists/, 'b');
  await engine.close();
});

test('fuzz: mutated files are refused with an error naming the file, or load; the pool is never left half-made', async () => {
  const { engine } = await tempEngine();
  await makePool(engine);
  await fillObjects(engine, 'pool', 'src', 'RAW', { objects: 6, akeys: 2 });
  const work = tempDir();
  const [orig] = (await serializeContainer(engine, 'pool', 'src', { outputDir: path.join(work, 'o') })).files;
  const bytes = fs.readFileSync(orig!);
  let i = 0;
  // Byte-level mutations (flips, overwrites, truncation, extension): refused by the header check.
  await fc.assert(fc.asyncProperty(
    fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(bytes.length - 1), v: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat(bytes.length - 1), v: fc.constant(0) }),
      fc.record({ kind: fc.constant('grow' as const), at: fc.nat(4096), v: fc.integer({ min: 0, max: 255 }) }),
    ),
    async (m) => {
      let b = Buffer.from(bytes);
      if (m.kind === 'flip') b[m.at] = b[m.at]! ^ m.v;
      if (m.kind === 'cut') b = b.subarray(0, m.at);
      if (m.kind === 'grow') b = Buffer.concat([b, Buffer.alloc(m.at + 1, m.v)]);
      const f = path.join(work, `m${i++}`, path.basename(orig!));
      fs.mkdirSync(path.dirname(f));
      fs.writeFileSync(f, b);
      const before = await poolState(engine);
      try {
        await deserializeContainer(engine, 'pool', [f], { label: `ok${i}` });
        assert.fail('a mutated file was accepted');
      } catch (e) {
        assert.ok(isStrataError(e), String(e));
        assert.ok((e as Error).message.includes(f), (e as Error).message);
      }
      assert.equal(await poolState(engine), before);
    },
  ), { numRuns: 60 });
  // Content-level mutations written through HDF5 and resealed: rows of the tables get random values
  // (packed layout, and daos-serialize layout).
  const [daosOrig] = (await serializeContainer(engine, 'pool', 'src', { outputDir: path.join(work, 'od'), layout: 'daos' })).files;
  const tables = {
    packed: { file: orig!, names: ['Objects', 'Dkeys', 'Akeys', 'Extents'], fields: ['OID Hi', 'Dkey Offset', 'Key Length', 'Akey Offset', 'Kind', 'Size', 'Offset', 'Length'] },
    daos: { file: daosOrig!, names: ['Oid Data', 'Dkey Data', 'Akey Data'], fields: ['OID Hi', 'Dkey Offset', 'Akey Offset', 'Dataset ID', 'Dkey Value', 'Akey Value', 'Record Single Value', 'Record KV Value'] },
  };
  for (const { file: src, names, fields } of Object.values(tables)) {
    await fc.assert(fc.asyncProperty(
      fc.constantFrom(...names), fc.nat(50), fc.constantFrom(...fields),
      fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.constantFrom(0n, 1n, 2n, 5n), fc.uint8Array({ maxLength: 20 })),
      async (table, row, field, value) => {
        const f = path.join(work, `s${i++}`, path.basename(src));
        fs.mkdirSync(path.dirname(f));
        fs.copyFileSync(src, f);
        edit(f, (h) => {
          const ds = h.openDataset(table);
          const type = tableType(ds);
          const n = ds.info().dims[0]!;
          if (n === 0) { ds.close(); return; }
          const r = ds.readRows<Record<string, unknown>>(row % n, 1)[0]!;
          const t = type.compound.find(([name]) => name === field)?.[1];
          if (!t) { ds.close(); return; }
          const num = typeof value === 'bigint' ? value : BigInt(value.length);
          r[field] = t === 'vbytes' ? Buffer.from(typeof value === 'bigint' ? value.toString() : value)
            : t === 'u64' ? num : Number(num % (t === 'u8' ? 256n : 2n ** 32n));
          ds.writeRows(type, row % n, [r]);
          ds.close();
        });
        await sealFile(f);
        const before = await poolState(engine);
        try {
          const d = await deserializeContainer(engine, 'pool', [f], { label: `ok${i}` });
          const c = await openContainer(engine, 'pool', d.label);
          assert.equal(c.uuid, d.uuid);
        } catch (e) {
          assert.ok(isStrataError(e), String(e));
          assert.ok((e as Error).message.includes(f) || /already exists|bad|key/i.test((e as Error).message), (e as Error).message);
          assert.equal(await poolState(engine), before);
        }
        assert.deepEqual(await engine.catList('park-'), []);
      },
    ), { numRuns: 40 });
  }
  await engine.close();
});

test('SIGKILL during deserialize: no container becomes visible; the next parking command removes the data', async () => {
  const home = tempDir();
  const url = `lmdb:${home}`;
  let engine = await openEngine(url);
  await makePool(engine);
  await createContainer(engine, 'pool', 'keep', { type: 'RAW' });
  await fillPosix(engine, 'pool', 'src');
  const c = await openContainer(engine, 'pool', 'src', { write: true });
  const { mountDfs } = await import('../../src/dfs/index.js');
  const dfs = await mountDfs(c);
  for (let k = 0; k < 6; k++) await dfs.writeFile(`/blob${k}`, Buffer.alloc(24 * 1024 * 1024, k + 1));
  const out = tempDir();
  await serializeContainer(engine, 'pool', 'src', { outputDir: out });
  const conts = async () => (await listContainers(engine, 'pool')).map((x) => x.label).sort();
  const before = await conts();
  const child = spawn(process.execPath, [CLI, 'container', 'deserialize', 'pool', out, '--label', 'victim'], { env: { ...process.env, STRATA_HOME: home }, stdio: 'ignore' });
  // kill it once it has started writing data
  let pending: Array<[string, unknown]> = [];
  const t0 = Date.now();
  while (pending.length === 0 && Date.now() - t0 < 20000) {
    await new Promise((r) => setTimeout(r, 20));
    pending = await engine.catList('pending/');
  }
  assert.equal(pending.length, 1, 'deserialize never started');
  await new Promise((r) => setTimeout(r, 300));
  child.kill('SIGKILL');
  await new Promise((r) => child.on('exit', r));
  const orphan = pending[0]![0].slice('pending/'.length);
  assert.deepEqual(await conts(), before);
  const cli = await runCli(['container', 'list', 'pool', '--json'], { env: { STRATA_HOME: home } });
  assert.ok(!cli.stdout.includes('victim'));
  assert.ok((await engine.listObjects(orphan, { limit: 1 })).length > 0, 'the killed run had written data');
  // the next parking command cleans up
  await engine.close();
  const r = await runCli(['container', 'check', 'pool', 'keep'], { env: { STRATA_HOME: home } });
  assert.equal(r.code, 0, r.stderr);
  engine = await openEngine(url);
  assert.deepEqual(await engine.catList('park-'), []);
  assert.equal((await engine.listObjects(orphan, { limit: 1 })).length, 0);
  assert.deepEqual(await conts(), before);
  await engine.close();
});

test('serialize: a symlink planted at a rank file\'s name is replaced, never written through; a failed run leaves no rank file', async () => {
  const { engine, url } = await tempEngine();
  await makePool(engine);
  await fillObjects(engine, 'pool', 'c', 'RAW', { objects: 5, akeys: 2 });
  const c = await openContainer(engine, 'pool', 'c');
  const work = tempDir();
  const out = path.join(work, 'out');
  fs.mkdirSync(out);
  const victim = path.join(work, 'victim');
  fs.writeFileSync(victim, 'not yours\n');
  fs.symlinkSync(victim, path.join(out, `${c.uuid}_rank0.h5`));
  const r = await serializeContainer(engine, 'pool', 'c', { outputDir: out, jobs: 2, engineUrl: url });
  assert.equal(fs.readFileSync(victim, 'utf8'), 'not yours\n', 'the symlink\'s target is untouched');
  for (const f of r.files) assert.ok(fs.lstatSync(f).isFile(), `${f} is a regular file`);
  assert.deepEqual(fs.readdirSync(out).sort(), r.files.map((f) => path.basename(f)).sort(), 'no temporary file left');
  // A run that fails (the output directory is not writable for a rank's file) leaves nothing behind.
  const ro = path.join(work, 'ro');
  fs.mkdirSync(ro);
  fs.mkdirSync(path.join(ro, `${c.uuid}_rank1.h5`)); // a directory where rank 1's file goes: the rename fails
  await assert.rejects(serializeContainer(engine, 'pool', 'c', { outputDir: ro, jobs: 2, engineUrl: url }), /rank1\.h5/);
  assert.deepEqual(fs.readdirSync(ro), [`${c.uuid}_rank1.h5`], 'no partial or temporary rank file left');
});

/** `strata ARGS`, SIGKILLed after `ms`: the result says whether it had to be killed. */
function runBounded(args: string[], env: Record<string, string>, ms: number): Promise<{ code: number | null; stderr: string; stdout: string; killed: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let killed = false;
    const timer = setTimeout(() => { killed = true; child.kill('SIGKILL'); }, ms);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => err.push(d));
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, killed, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }); });
  });
}

test('sealed files whose global heap was damaged (and the seal recomputed) are refused in bounded time, never hang or crash', { timeout: 180000 }, async () => {
  // The seal is an unkeyed hash: anyone can damage a file and seal it again. On a damaged global heap collection
  // libhdf5 loops forever (an object's size) or dies of SIGSEGV (the collection's size), so the seal must not stand
  // in for the watchdog.
  const home = tempDir();
  let engine = await openEngine(`lmdb:${home}`);
  await makePool(engine);
  await fillPosix(engine, 'pool', 'src');
  const out = tempDir();
  const [file] = (await serializeContainer(engine, 'pool', 'src', { outputDir: out })).files;
  await engine.close();
  const env = { STRATA_HOME: home };
  const cases: Array<[string, number, bigint]> = [['object size', 24, 4000n], ['collection size', 8, 16n]];
  for (const [what, at, value] of cases) {
    const b = fs.readFileSync(file!);
    const g = b.indexOf('GCOL');
    assert.ok(g >= 0, 'the file has a global heap collection');
    b.writeBigUInt64LE(value, g + at);
    const damaged = path.join(tempDir(), path.basename(file!));
    fs.writeFileSync(damaged, b);
    await sealFile(damaged);
    const r = await runBounded(['container', 'deserialize', 'pool', damaged, '--label', 'victim', '--h5-timeout', '3'], env, 60000);
    assert.equal(r.killed, false, `${what}: deserialize did not end within 60 s (stderr so far: ${r.stderr})`);
    assert.equal(r.code, 1, `${what}: ${r.stderr}`);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 1, `${what}: ${r.stderr}`);
    assert.match(lines[0]!, new RegExp(`^strata: ${damaged.replace(/[.]/g, '\\.')}: not a readable HDF5 file`), what);
    engine = await openEngine(`lmdb:${home}`);
    try {
      assert.deepEqual((await listContainers(engine, 'pool')).map((c) => c.label), ['src'], what);
      assert.deepEqual(await engine.catList('pending/'), [], `${what}: no half-made container`);
    } finally { await engine.close(); }
  }
});

test('a queued load probes its file again in the worker: a file replaced after the command checked it fails the rank, the worker lives on', { timeout: 120000 }, async () => {
  // A `strata worker` is shared: a rank file swapped for a damaged one after the command probed it must fail
  // that rank with one clear error, not hang or kill the worker. The worker's step is run here in a child
  // process (what a worker runs for a queued rank, park/rank-job.ts), bounded by a timer.
  const home = tempDir();
  const engine = await openEngine(`lmdb:${home}`);
  await makePool(engine);
  await fillPosix(engine, 'pool', 'src');
  const [file] = (await serializeContainer(engine, 'pool', 'src', { outputDir: tempDir() })).files;
  await engine.close();
  const b = fs.readFileSync(file!);
  b.writeBigUInt64LE(4000n, b.indexOf('GCOL') + 24); // libhdf5 loops forever on this object size
  fs.writeFileSync(file!, b);
  await sealFile(file!);
  const task = { kind: 'deserialize', engineUrl: `lmdb:${home}`, job: { file, cont: '2f1e2d3c-4b5a-4678-9abc-def012345678', h5StallMs: 2000 } };
  const code = `
    import { openEngine } from ${JSON.stringify(pathToFileURL(path.join(REPO, 'dist/src/engine/open.js')).href)};
    import { runParkTask } from ${JSON.stringify(pathToFileURL(path.join(REPO, 'dist/src/park/task.js')).href)};
    const task = ${JSON.stringify(task)};
    const engine = await openEngine(task.engineUrl);
    try { await runParkTask(engine, task, { queued: true }); console.log('loaded'); }
    catch (e) { console.log('refused: ' + e.message); }
    finally { await engine.close(); }`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 60000, killSignal: 'SIGKILL' });
  assert.equal(r.signal, null, `the worker's step did not end within 60 s (${r.stderr})`);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout.trim(), new RegExp(`^refused: ${file!.replace(/[.]/g, '\\.')}: not a readable HDF5 file .*no progress`));
});

test('packed files whose tables or Bytes declare more than the file holds are refused before any read of it: memory and time stay bounded', { timeout: 120000 }, async () => {
  const { engine, url } = await tempEngine();
  await makePool(engine);
  await fillObjects(engine, 'pool', 'a', 'RAW', { objects: 6, akeys: 2 });
  const work = tempDir();
  const A = (await serializeContainer(engine, 'pool', 'a', { outputDir: path.join(work, 'a'), jobs: 1, engineUrl: url })).files;
  let n = 0;
  const fresh = () => copyTo(path.join(work, `case${n++}`), A);
  const firstArray = (file: string): number => {
    const f = H5File.open(file);
    try {
      const ds = f.openDataset('Akeys');
      const r = ds.readRows<{ Kind: number }>(0, ds.info().dims[0]!);
      ds.close();
      return r.findIndex((x) => x.Kind === 1);
    } finally { f.close(); }
  };
  /** Declares `more` further elements of a dataset (unallocated: the file does not grow). */
  const extend = (file: string, ds: string, more: number) => edit(file, (f) => { const d = f.openDataset(ds); d.setExtent([d.info().dims[0]! + more]); d.close(); });
  const huge = 2 ** 40;

  // A single value of 4 GiB: read whole, it would be allocated before anything checked it.
  let fs1 = fresh();
  extend(fs1[0]!, 'Bytes', 2 ** 32);
  await setRow(fs1[0]!, 'Akeys', 0, 'Size', 2n ** 32n);
  await expectFail(engine, fs1, new RegExp(`${fs1[0]}: 'Bytes' declares [0-9]+ bytes, more than the file holds`));
  // An extent of 1 TiB: 4 MiB at a time it would write a terabyte of fill bytes into the pool.
  fs1 = fresh();
  const arr = firstArray(fs1[0]!);
  assert.ok(arr >= 0, 'the file has an array akey');
  extend(fs1[0]!, 'Bytes', huge);
  await setRow(fs1[0]!, 'Extents', 0, 'Length', BigInt(huge));
  await expectFail(engine, fs1, new RegExp(`${fs1[0]}: 'Bytes' declares [0-9]+ bytes, more than the file holds`));
  // 2^40 empty extents: no byte to read, a loop of 2^40 rows.
  fs1 = fresh();
  extend(fs1[0]!, 'Extents', huge);
  await setRow(fs1[0]!, 'Akeys', arr, 'Size', BigInt(huge));
  await expectFail(engine, fs1, new RegExp(`${fs1[0]}: 'Extents' declares [0-9]+ bytes, more than the file holds`));
  // The same for the daos-serialize layout's tables.
  const D = (await serializeContainer(engine, 'pool', 'a', { outputDir: path.join(work, 'd'), jobs: 1, engineUrl: url, layout: 'daos' })).files;
  fs1 = copyTo(path.join(work, `case${n++}`), D);
  extend(fs1[0]!, 'Oid Data', huge);
  await sealFile(fs1[0]!);
  await expectFail(engine, fs1, new RegExp(`${fs1[0]}: 'Oid Data' declares [0-9]+ bytes, more than the file holds`));
  // An array's dataset may be sparse (declared beyond what is stored), but the extents read from a file never exceed it.
  fs1 = copyTo(path.join(work, `case${n++}`), D);
  edit(fs1[0]!, (f) => {
    const name = f.links().find((x) => {
      if (!/^\d+$/.test(x)) return false;
      const d = f.openDataset(x);
      try { return d.info().maxdims[0] === -1; } finally { d.close(); }
    })!;
    const d = f.openDataset(name);
    d.setExtent([huge]);
    const sel = d.encodeSelection([0], [huge]);
    d.writeAttr(`A-${name}9`, { opaque: sel.length }, [sel]);
    d.close();
  });
  await sealFile(fs1[0]!);
  await expectFail(engine, fs1, new RegExp(`${fs1[0]}: dataset '[0-9]+': extents of [0-9]+ bytes, more than the file holds`));
  await engine.close();
});

test('packed files with a duplicate object or overlapping extents are refused: each key and byte is loaded once, in the order serialize wrote it', { timeout: 120000 }, async () => {
  const { engine, url } = await tempEngine();
  await makePool(engine);
  await fillObjects(engine, 'pool', 'a', 'RAW', { objects: 6, akeys: 2 });
  const work = tempDir();
  const A = (await serializeContainer(engine, 'pool', 'a', { outputDir: path.join(work, 'a'), jobs: 1, engineUrl: url })).files;
  let n = 0;
  const fresh = () => copyTo(path.join(work, `case${n++}`), A);
  const row = <T>(file: string, table: string, i: number): T => {
    const f = H5File.open(file);
    try { const ds = f.openDataset(table); const r = ds.readRows<T>(i, 1)[0]!; ds.close(); return r; } finally { f.close(); }
  };
  // The second object claims the first one's OID: its keys would be merged into the first.
  let fs1 = fresh();
  const o0 = row<{ 'OID Hi': bigint; 'OID Low': bigint }>(fs1[0]!, 'Objects', 0);
  await setRow(fs1[0]!, 'Objects', 1, 'OID Hi', o0['OID Hi']);
  await setRow(fs1[0]!, 'Objects', 1, 'OID Low', o0['OID Low']);
  await expectFail(engine, fs1, new RegExp(`${fs1[0]}: 'Objects' row 1: .*not after the one before`));
  // The second extent of an array starts inside the first.
  fs1 = fresh();
  const e0 = row<{ Offset: bigint; Length: bigint }>(fs1[0]!, 'Extents', 0);
  assert.ok(e0.Length > 1n);
  await setRow(fs1[0]!, 'Extents', 1, 'Offset', e0.Offset + 1n);
  await expectFail(engine, fs1, new RegExp(`${fs1[0]}: 'Extents' row 1: .*overlaps`));
  await engine.close();
});

test('a User Attributes table declaring more rows than the file holds is refused, not read row by row', { timeout: 120000 }, async () => {
  const { engine, url } = await tempEngine();
  await makePool(engine);
  await fillObjects(engine, 'pool', 'a', 'RAW', { objects: 3, akeys: 1 });
  const work = tempDir();
  const A = (await serializeContainer(engine, 'pool', 'a', { outputDir: path.join(work, 'a'), jobs: 1, engineUrl: url })).files;
  const fs1 = copyTo(path.join(work, 'case'), A);
  edit(fs1[0]!, (f) => { const d = f.openDataset('User Attributes'); d.setExtent([2 ** 40]); d.close(); });
  await sealFile(fs1[0]!);
  await expectFail(engine, fs1, new RegExp(`${fs1[0]}: dataset 'User Attributes' declares [0-9]+ variable-length values, more than the file`));
  await engine.close();
});
