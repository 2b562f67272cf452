// fs sync as a library call: -j 2 reads the source's small files on a read
// thread as copy does, and a run leaves no descriptor (held directories) or
// thread behind in the calling process; nor does fs compare.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from '../helpers.js';
import { compare, sync } from '../../src/index.js';

function tree(root: string, files: number): void {
  for (let d = 0; d < 4; d++) {
    const dir = path.join(root, `d${d}`);
    fs.mkdirSync(dir, { recursive: true });
    for (let i = 0; i < files; i++) fs.writeFileSync(path.join(dir, `f${i}`), Buffer.alloc(100 + i, d * 16 + i));
  }
}

const openFds = () => fs.readdirSync('/proc/self/fd').length;

test('fs sync -j 2 and fs compare between directories leave no descriptor open afterwards', async () => {
  const base = tempDir('strata-sync-lib-');
  const src = path.join(base, 'src');
  const dst = path.join(base, 'dst');
  tree(src, 50);
  const before = openFds();
  for (let round = 0; round < 3; round++) {
    fs.writeFileSync(path.join(src, 'd1', `new${round}`), `round ${round}`);
    const s = await sync(src, dst, { jobs: 2 });
    assert.equal(s.errors, 0);
    const diff = await compare(src, dst, {});
    assert.equal(diff.differences, 0, `round ${round}: ${JSON.stringify(diff)}`);
  }
  assert.equal(openFds(), before, 'descriptors left open by the syncs and compares');
});
