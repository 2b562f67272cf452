// An interrupted copy (Ctrl-C) and a killed one, run again: reported as an
// interrupt with the command that continues it; a rerun without --resume is
// refused rather than nesting a second copy beside the first one's leftovers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CLI, runCli } from '../helpers.js';
import { moverEnv, ok } from './util.js';

const { home, env } = moverEnv();
const jdir = path.join(env.STRATA_HOME!, 'mover');

function makeSource(src: string, n: number): void {
  for (let d = 0; d < 20; d++) {
    const dir = path.join(src, `d${String(d).padStart(2, '0')}`);
    fs.mkdirSync(dir, { recursive: true });
    for (let f = 0; f < n / 20; f++) fs.writeFileSync(path.join(dir, `f${f}`), `file ${d}/${f}\n`.repeat(2000));
  }
}

function journalLines(): number {
  const j = fs.existsSync(jdir) ? fs.readdirSync(jdir).find((n) => n.endsWith('.journal')) : undefined;
  return j ? fs.readFileSync(path.join(jdir, j), 'utf8').split('\n').length : 0;
}

/** Runs the CLI and sends it `sig` once its journal has more than `lines` lines. */
async function runAndSignal(args: string[], sig: NodeJS.Signals, lines: number): Promise<{ code: number | null; stdout: string; stderr: string; signalled: boolean }> {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b) => { stdout += b; });
  child.stderr.on('data', (b) => { stderr += b; });
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  let signalled = false;
  let done = false;
  void exited.then(() => { done = true; });
  while (!done && !signalled) {
    await new Promise((r) => setTimeout(r, 10));
    if (journalLines() > lines) { child.kill(sig); signalled = true; }
  }
  return { code: await exited, stdout, stderr, signalled };
}

const countFiles = (root: string): number => {
  let n = 0;
  const walk = (d: string) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) { if (e.isDirectory()) walk(path.join(d, e.name)); else n++; } };
  walk(root);
  return n;
};

test('Ctrl-C mid-copy: reported as an interrupt (no errors) with the --resume command, exit 130; that command completes the copy', async () => {
  const src = path.join(home, 'tree');
  const N = 4000;
  makeSource(src, N);
  const out = path.join(home, 'out-int');
  fs.mkdirSync(out);
  const args = ['fs', 'copy', '--src', src, '--dst', out, '--json'];
  const r = await runAndSignal(args, 'SIGINT', 300);
  assert.ok(r.signalled, 'the copy was interrupted mid-way');
  assert.equal(r.code, 130, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.stopped, 'interrupted');
  assert.equal(s.errors, 0, `errors counted for an interrupt: ${r.stdout}`);
  assert.deepEqual(s.failures, []);
  assert.ok(s.files > 0 && s.files < N, `mid-way (${s.files} files)`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line: ${r.stderr}`);
  const m = /^strata: copy interrupted after (\d+) items \([\d.]+ MB\); continue with: strata (.*)$/.exec(lines[0]!);
  assert.ok(m, lines[0]);
  assert.equal(Number(m[1]), s.files);
  assert.equal(m[2], [...args, '--resume'].join(' '));

  const again = await ok(env, m[2]!.split(' '));
  const s2 = JSON.parse(again.stdout);
  assert.equal(s2.resumed, true);
  assert.equal(s2.errors, 0);
  assert.ok(s2.skipped >= s.files, `finished files skipped (${s2.skipped})`);
  assert.equal((await runCli(['fs', 'compare', src, path.join(out, 'tree')], { env })).code, 0);
  assert.equal(countFiles(out), N);
});

const temps = (root: string): string[] => {
  const out: string[] = [];
  const walk = (d: string) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) { if (e.isDirectory()) walk(path.join(d, e.name)); else if (e.name.startsWith('.strata-tmp.')) out.push(e.name); } };
  walk(root);
  return out;
};

test('a killed copy run again without --resume: refused with one line naming --resume and --restart; --restart starts over in the same place', async () => {
  const src = path.join(home, 'tree');
  if (!fs.existsSync(src)) makeSource(src, 4000);
  const out = path.join(home, 'out-kill');
  fs.mkdirSync(out);
  const args = ['fs', 'copy', '--src', src, '--dst', out, '-q'];
  const r = await runAndSignal(args, 'SIGKILL', 300);
  assert.ok(r.signalled, 'the copy was killed mid-way');
  assert.ok(fs.existsSync(path.join(out, 'tree')));

  const again = await runCli(args, { env });
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /^strata: .*unfinished copy.*--resume.*--restart[^\n]*\n$/);
  assert.ok(!fs.existsSync(path.join(out, 'tree', 'tree')), 'no second copy nested in the first one');

  const both = await runCli([...args, '--resume', '--restart'], { env });
  assert.notEqual(both.code, 0);
  assert.match(both.stderr, /^strata: .*--resume or --restart, not both\n$/);

  const restarted = await ok(env, [...args.filter((a) => a !== '-q'), '--restart', '--json']);
  const s = JSON.parse(restarted.stdout);
  assert.equal(s.resumed, false);
  assert.equal(s.errors, 0);
  assert.equal(s.files, 4000, 'started over: every file copied');
  assert.ok(!fs.existsSync(path.join(out, 'tree', 'tree')));
  assert.deepEqual(temps(out), [], 'the killed run\'s temporary files are gone');
  assert.equal((await runCli(['fs', 'compare', src, path.join(out, 'tree')], { env })).code, 0);
  // Finished: a plain rerun is a new copy again (into the existing directory, as cp -a).
  assert.deepEqual(fs.readdirSync(jdir).filter((n) => n.endsWith('.journal')), []);
});
