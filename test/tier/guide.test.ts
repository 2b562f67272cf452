// docs/guide.md is executable: its ```sh blocks, in order, form one bash
// script that must run to the end (set -e) with `strata` on PATH.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI, REPO, tempDir } from '../helpers.js';

const canFuse = fs.existsSync('/dev/fuse') && process.getuid?.() === 0;
const home = tempDir('strata-guide-');
const demo = path.join(home, 'demo');
after(() => { spawnSync('umount', [path.join(demo, 'tier')]); spawnSync('umount', ['-l', path.join(demo, 'tier')]); });

export function guideScript(md: string): string {
  const blocks = [...md.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
  return blocks.join('\n');
}

test('every sh block of docs/guide.md runs, in order', { skip: canFuse ? false : 'the guide mounts the tier: needs root and /dev/fuse' }, () => {
  const script = guideScript(fs.readFileSync(path.join(REPO, 'docs', 'guide.md'), 'utf8'));
  assert.ok(script.split('\n').filter((l) => l.startsWith('strata ')).length >= 25, 'the guide shows the commands');
  fs.mkdirSync(demo);
  const bin = path.join(home, 'bin');
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, 'strata'), `#!/bin/sh\nexec '${process.execPath}' '${CLI}' "$@"\n`, { mode: 0o755 });
  const r = spawnSync('bash', ['-c', `set -x\n${script}`], {
    cwd: home, encoding: 'utf8', timeout: 120_000,
    env: { ...process.env, DEMO: demo, PATH: `${bin}:${process.env['PATH']}`, STRATA_HOME: path.join(home, 'engine'), STRATA_ENGINE: '', STRATA_CONFIG: path.join(home, 'strata.conf'), STRATA_UNS_PREFIX: '', STRATA_TIER_PAUSE_AT: '' },
  });
  assert.equal(r.status, 0, `the guide's script failed:\n${r.stderr.split('\n').slice(-30).join('\n')}`);
  assert.match(r.stderr, /results\/output\/log.txt is parked in .*cold; run strata tier unpark .*results/);
  assert.match(r.stdout, /old-run\s+\d/);
  assert.doesNotMatch(r.stdout, /new-run\s+\d/);
});
