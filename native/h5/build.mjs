// Builds the HDF5 addon (native/h5) with node-gyp unless the built module is
// newer than its sources, so `npm run build` stays fast once built.
// Needs libhdf5-dev (scripts/install-deps.sh installs it).
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const dir = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(dir, 'build', 'Release', 'strata_h5.node');
const sources = ['h5.c', 'binding.gyp', 'build.mjs'].map((f) => path.join(dir, f));
const mtime = (f) => { try { return fs.statSync(f).mtimeMs; } catch { return -1; } };
if (mtime(out) > Math.max(...sources.map(mtime))) process.exit(0);

// npm sets npm_config_node_gyp to its bundled node-gyp; otherwise try PATH, then npm's copy next to node.
const candidates = [];
if (process.env.npm_config_node_gyp) candidates.push([process.execPath, [process.env.npm_config_node_gyp]]);
candidates.push(['node-gyp', []]);
candidates.push([process.execPath, [path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')]]);
// Build against the installed Node headers (no download): npm's nodedir setting, else the prefix of this node.
const prefix = path.resolve(path.dirname(process.execPath), '..');
const nodedir = process.env.npm_config_nodedir || (fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined);
const extra = nodedir ? [`--nodedir=${nodedir}`] : [];
for (const [cmd, pre] of candidates) {
  if (pre.length && !fs.existsSync(pre[0])) continue;
  const r = spawnSync(cmd, [...pre, 'rebuild', '--silent', ...extra, '-C', dir], { stdio: 'inherit' });
  if (r.error && r.error.code === 'ENOENT') continue;
  if (r.status !== 0) {
    process.stderr.write('native/h5: building the HDF5 addon failed (is libhdf5-dev installed? run scripts/install-deps.sh)\n');
    process.exit(1);
  }
  process.exit(0);
}
process.stderr.write('native/h5: node-gyp not found\n');
process.exit(1);
