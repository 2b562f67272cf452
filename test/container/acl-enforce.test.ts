// ACL enforcement through the real CLI, run as an unprivileged user.
// Needs root (to create the user and run as it); skipped otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { runCli, tempDir, type CliResult } from '../helpers.js';

const USER = 'strata-test-user';
const isRoot = process.getuid?.() === 0;

function ensureUser(): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, USER], { encoding: 'utf8' }).trim());
  try { return { uid: id('-u'), gid: id('-g') }; } catch { /* create it */ }
  execFileSync('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', '--user-group', USER], { stdio: 'ignore' });
  return { uid: id('-u'), gid: id('-g') };
}

/** Lets the test user open the engine: directories 0777, files 0666. */
function openUp(dir: string): void {
  fs.chmodSync(dir, 0o777);
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) openUp(p); else fs.chmodSync(p, 0o666);
  }
}

test('ACL enforcement as an unprivileged user', { skip: isRoot ? false : 'needs root to create and run as an unprivileged user' }, async () => {
  const { uid, gid } = ensureUser();
  const home = tempDir('strata-acl-');
  fs.chmodSync(home, 0o777);
  const engineDir = path.join(home, 'engine');
  const env = { STRATA_HOME: engineDir };
  const root = async (...args: string[]) => {
    const r = await runCli(args, { env });
    assert.equal(r.code, 0, r.stderr);
    openUp(engineDir);
    return r;
  };
  const user = (...args: string[]) => runCli(args, { env, uid, gid });
  const denied = (r: CliResult) => {
    assert.notEqual(r.code, 0, `expected permission denied, got: ${r.stdout}`);
    assert.match(r.stderr, /^strata: .*permission denied.*\n$/);
  };
  const allowed = (r: CliResult) => { assert.equal(r.code, 0, r.stderr); return r.stdout; };

  await root('pool', 'create', 'aclpool');
  await root('container', 'create', 'aclpool', 'secret', '--attrs', 'k:v');

  // EVERYONE@ may see the pool and its containers (pool ACL A::EVERYONE@:r) ...
  assert.match(allowed(await user('pool', 'list')), /aclpool/);
  assert.match(allowed(await user('cont', 'list', 'aclpool')), /secret/);
  // ... but the container ACL grants it nothing
  denied(await user('cont', 'get-attr', 'aclpool', 'secret', 'k'));
  denied(await user('cont', 'list-attrs', 'aclpool', 'secret'));
  denied(await user('cont', 'get-prop', 'aclpool', 'secret'));
  denied(await user('cont', 'get-acl', 'aclpool', 'secret'));
  denied(await user('cont', 'set-attr', 'aclpool', 'secret', 'k', 'stolen'));
  denied(await user('cont', 'destroy', 'aclpool', 'secret'));
  denied(await user('cont', 'create', 'aclpool', 'mine'));
  denied(await user('pool', 'destroy', 'aclpool', '--recursive'));

  await root('cont', 'update-acl', 'aclpool', 'secret', '--entry', `A::${USER}@:rt`);
  assert.equal(allowed(await user('cont', 'get-attr', 'aclpool', 'secret', 'k')), 'v\n');
  assert.match(allowed(await user('cont', 'get-prop', 'aclpool', 'secret')), /chunk_size/);
  denied(await user('cont', 'set-attr', 'aclpool', 'secret', 'k', 'stolen'));
  denied(await user('cont', 'get-acl', 'aclpool', 'secret'));

  await root('cont', 'update-acl', 'aclpool', 'secret', '--entry', `A::${USER}@:rwtaA`);
  allowed(await user('cont', 'set-attr', 'aclpool', 'secret', 'k', 'mine'));
  assert.match(allowed(await user('cont', 'get-acl', 'aclpool', 'secret')), new RegExp(`A::${USER}@:rwtaA`));
  assert.equal(allowed(await root('cont', 'get-attr', 'aclpool', 'secret', 'k')), 'mine\n');

  // pool-level: w on the pool lets the user create containers, which it then owns
  await root('pool', 'update-acl', 'aclpool', '--entry', `A::${USER}@:rw`);
  allowed(await user('cont', 'create', 'aclpool', 'mine'));
  openUp(engineDir);
  const props = JSON.parse(allowed(await user('cont', 'get-prop', 'aclpool', 'mine', '--json'))) as Array<{ name: string; value: string }>;
  assert.equal(props.find((p) => p.name === 'owner')?.value, `${USER}@`);
  // root is not the owner of 'mine' and has no bypass: only the pool's 'd' lets it destroy it
  const r = await runCli(['cont', 'get-attr', 'aclpool', 'mine', 'x'], { env });
  assert.match(r.stderr, /permission denied/);
  await root('pool', 'destroy', 'aclpool', '--recursive');
});
