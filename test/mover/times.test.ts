// Times to the nanosecond, as cp -a and rsync -a keep them: a file, a
// symlink and a directory copied POSIX -> POSIX, POSIX -> container -> POSIX,
// and given their times again by a sync over a copy whose times changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { runCli } from '../helpers.js';
import { moverEnv, ok, sh } from './util.js';

const { home, env } = moverEnv();
const WHEN = '2020-01-02 03:04:05.123456789';
const NS = '1577934245123456789'; // WHEN in nanoseconds since the epoch

/** atime and mtime of each entry (a symlink's own), to the nanosecond, in UTC. */
function times(root: string): string {
  return sh(`cd '${root}' && for e in f link d d/g; do TZ=UTC stat -c "%n %x %y" "$e"; done`);
}

/** Sets every entry's times to `when` (a symlink's own); reading the source moves its atimes, so each copy starts from this. */
function stamp(root: string, when = WHEN): void {
  sh(`cd '${root}' && export TZ=UTC && touch -d '${when}' f d/g d && touch -h -d '${when}' link`);
}

function expected(): string {
  return ['f', 'link', 'd', 'd/g'].map((e) => `${e} ${WHEN} +0000 ${WHEN} +0000\n`).join('');
}

test('times keep their nanoseconds: file, symlink and directory; POSIX, container and back; sync', async () => {
  const src = path.join(home, 'src');
  fs.mkdirSync(path.join(src, 'd'), { recursive: true });
  fs.writeFileSync(path.join(src, 'f'), 'f\n');
  fs.writeFileSync(path.join(src, 'd', 'g'), 'g\n');
  fs.symlinkSync('f', path.join(src, 'link'));
  stamp(src);
  assert.equal(times(src), expected());

  const direct = path.join(home, 'direct');
  await ok(env, ['fs', 'copy', '--src', src, '--dst', direct, '-q']);
  assert.equal(times(direct), expected(), 'POSIX -> POSIX');

  await ok(env, ['pool', 'create', 'tank']);
  stamp(src);
  await ok(env, ['fs', 'copy', '--src', src, '--dst', 'daos://tank/c', '-q']);
  const back = path.join(home, 'back');
  await ok(env, ['fs', 'copy', '--src', 'daos://tank/c', '--dst', back, '-q']);
  assert.equal(times(back), expected(), 'POSIX -> container -> POSIX');

  // A copy whose times are off by less than a microsecond: compare sees it, sync sets them again.
  stamp(direct, '2020-01-02 03:04:05.123456');
  const cmp = await runCli(['fs', 'compare', '--dir-times', src, direct], { env });
  assert.equal(cmp.code, 1, `compare sees the lost nanoseconds: ${cmp.stdout}${cmp.stderr}`);
  for (const e of ['f', 'link', 'd', 'd/g']) assert.match(cmp.stdout, new RegExp(`^mtime\t${e}: ${NS} \\| ${NS.slice(0, -3)}000$`, 'm'));
  // compare read both sides (atimes moved): stamp them again.
  stamp(src);
  stamp(direct, '2020-01-02 03:04:05.123456');
  await ok(env, ['fs', 'sync', '--src', `${src}/`, '--dst', direct, '-q']);
  assert.equal(times(direct), expected(), 'sync over a copy');
  assert.equal((await ok(env, ['fs', 'compare', '--dir-times', src, direct])).code, 0);
});
