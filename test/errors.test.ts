// System errors become one readable line: the code, the reason, and the path once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { fromSystemError } from '../src/errors.js';

function sysError(fn: () => unknown): unknown {
  try { fn(); } catch (e) { return e; }
  throw new Error('did not fail');
}

test('fromSystemError names the path once', () => {
  const e = sysError(() => fs.statSync('/nonexistent/x'));
  assert.equal(fromSystemError(e, 'stat /nonexistent/x').message, 'stat /nonexistent/x: ENOENT (no such file or directory)');
  // A context that does not name the path keeps Node's.
  assert.equal(fromSystemError(e, 'cannot look').message, "cannot look: ENOENT (no such file or directory, stat '/nonexistent/x')");
  const r = sysError(() => fs.renameSync('/nonexistent/a', '/nonexistent/b'));
  assert.equal(fromSystemError(r, 'rename /nonexistent/a').message, 'rename /nonexistent/a: ENOENT (no such file or directory)');
  assert.equal(fromSystemError(r, 'rename /nonexistent/a').code, 'ENOENT');
});
