// Who the caller is comes from the operating system only: the process's ids,
// named through the system's /etc/passwd and /etc/group. Nothing a caller
// controls (environment, flags) may rename it: a user who could point strata
// at a passwd file of their own would name themselves `root` and so become the
// owner of every container root made. Needs root (to create a real
// unprivileged user and run the CLI as it); skipped otherwise.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import {
  cli, createUser, digest, isRoot, makeContainer, ok, refused, removeUser, sharedHome, type TestUser,
} from '../security/util.js';
import { userName } from '../../src/container/identity.js';

const IDENTITY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/container/identity.js');

const skip = isRoot ? false : 'needs root to create an unprivileged user and run as it';

let user: TestUser;
let home: string;
let env: Record<string, string>;

before(() => {
  if (!isRoot) return;
  user = createUser('ident');
  ({ dir: home, env } = sharedHome('strata-identity-', user.gid));
});

after(async () => {
  if (user) await removeUser(user);
});

test('a passwd or group file named in the environment does not rename the caller: a private container stays private', { skip, timeout: 60000 }, async () => {
  await makeContainer(env, 'tank', 'private', { acl: ['A::OWNER@:rwdtTaAo'], files: { '/secret': 'root only\n' } });
  const before = await digest(env, 'tank', 'private');

  // Files the user wrote, mapping its uid to root and its gid to root's group.
  const passwd = path.join(home, 'passwd');
  const group = path.join(home, 'group');
  fs.writeFileSync(passwd, `root:x:${user.uid}:${user.gid}::/root:/bin/sh\n`);
  fs.writeFileSync(group, `root:x:${user.gid}:\n`);
  const hostile = { ...env, STRATA_PASSWD_FILE: passwd, STRATA_GROUP_FILE: group };
  const as = { env: hostile, as: user };

  await refused(['fs', 'cat', 'daos://tank/private/secret'], as, /permission denied/);
  await refused(['container', 'get-acl', 'tank', 'private'], as, /permission denied/);
  await refused(['container', 'update-acl', 'tank', 'private', '--entry', `A::${user.name}@:rwdtTaAo`], as, /permission denied/);
  const aclFile = path.join(home, 'open.acl');
  fs.writeFileSync(aclFile, 'A::EVERYONE@:rwdtTaAo\n');
  await refused(['container', 'overwrite-acl', 'tank', 'private', '--acl-file', aclFile], as, /permission denied/);
  await refused(['container', 'set-owner', 'tank', 'private', '--user', user.name], as, /permission denied/);
  assert.equal(await digest(env, 'tank', 'private'), before, 'the container, its ACL and owner are unchanged');

  // The same user is named by the system's files: it sees its own name.
  await ok(['pool', 'create', 'own'], as);
  await ok(['container', 'create', 'own', 'mine'], as);
  assert.match((await ok(['container', 'get-prop', 'own', 'mine'], as)).stdout, new RegExp(`${user.name}@`));
  assert.doesNotMatch((await cli(['container', 'get-prop', 'own', 'mine'], as)).stdout, /\broot@/);
});

test('the library names the caller from the system files, whatever the environment says', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-ident-'));
  try {
    fs.writeFileSync(path.join(dir, 'passwd'), `impostor:x:${process.geteuid!()}:0::/:/bin/sh\n`);
    fs.writeFileSync(path.join(dir, 'group'), `impostors:x:${process.getegid!()}:\n`);
    // A fresh process: the names are read once per process.
    const r = spawnSync(process.execPath, ['--input-type=module', '-e',
      `import { currentCaller } from ${JSON.stringify(pathToFileURL(IDENTITY).href)}; console.log(JSON.stringify(currentCaller()))`], {
      env: { ...process.env, STRATA_PASSWD_FILE: path.join(dir, 'passwd'), STRATA_GROUP_FILE: path.join(dir, 'group') }, encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const caller = JSON.parse(r.stdout) as { user: string; groups: string[] };
    assert.equal(caller.user, userName(process.geteuid!()));
    assert.notEqual(caller.user, 'impostor');
    assert.ok(!caller.groups.includes('impostors'), caller.groups.join(','));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
