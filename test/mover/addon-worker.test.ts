// The native addon in a worker thread (the mover's read threads load it for
// xattrs of names that are not UTF-8): the worker's calls answer right, and
// the process survives the worker's end, whether it returns or is terminated.
// Run in a child process: a crash at the worker's end must not take the runner.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers.js';
import { BAD_NAME, hasSetfattr } from './util.js';

const xattrsModule = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'mover', 'xattrs.js');

for (const ending of ['returns', 'terminated'] as const) {
  test(`xattrs of a non-UTF-8 name read in a worker thread; the process survives the worker (${ending})`, { skip: !hasSetfattr() && 'needs setfattr' }, (t) => {
    const dir = tempDir('strata-addon-worker-');
    const file = Buffer.concat([Buffer.from(dir + '/'), BAD_NAME]);
    fs.writeFileSync(file, 'x');
    // The attribute is set by name through a process that takes bytes: the addon is not the judge of itself.
    const set = spawnSync('bash', ['-c', `setfattr -n user.k -v v1 "$(printf '${BAD_NAME.toString('latin1').replace(/[^ -~]/g, (c) => `\\x${c.charCodeAt(0).toString(16)}`)}')"`], { cwd: dir });
    if (set.status !== 0) {
      // CI's temp filesystem keeps user xattrs: there the test must run, not skip.
      if (process.env['CI']) assert.fail(`setfattr failed in ${dir}: ${set.stderr}`);
      return t.skip('no user xattrs on this filesystem');
    }
    const script = `
      import { Worker } from 'node:worker_threads';
      const w = new Worker(\`
        import { parentPort, workerData } from 'node:worker_threads';
        const m = await import(workerData.mod);
        const r = await m.readXattrs(Buffer.from(workerData.file, 'hex'));
        parentPort.postMessage(r.map(([n, v]) => [n, v.toString()]));
        ${ending === 'terminated' ? 'setInterval(() => {}, 1000);' : ''}\`, { eval: true, workerData: { mod: ${JSON.stringify(xattrsModule)}, file: ${JSON.stringify(file.toString('hex'))} } });
      w.on('message', async (m) => {
        console.log(JSON.stringify(m));
        ${ending === 'terminated' ? 'await w.terminate();' : ''}
      });
      w.on('exit', () => setTimeout(() => console.log('survived'), 50));
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(r.signal, null, `the process died of ${r.signal}: ${r.stderr}`);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), [JSON.stringify([['user.k', 'v1']]), 'survived']);
  });
}
