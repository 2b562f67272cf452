// Runs node-gyp for a native addon against the installed Node headers (no
// download): npm's bundled node-gyp when run by npm, else one on PATH, else
// npm's copy next to this node. Shared by the native/*/build.mjs scripts.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

/**
 * Runs `node-gyp rebuild` in dir; returns its exit status (127: no node-gyp
 * found). The compiler's output is shown only when the build fails.
 */
export function gypRebuild(dir, env = {}) {
  const candidates = [];
  if (process.env.npm_config_node_gyp) candidates.push([process.execPath, [process.env.npm_config_node_gyp]]);
  candidates.push(['node-gyp', []]);
  candidates.push([process.execPath, [path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')]]);
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  const nodedir = process.env.npm_config_nodedir || (fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined);
  const extra = nodedir ? [`--nodedir=${nodedir}`] : [];
  for (const [cmd, pre] of candidates) {
    if (pre.length && !fs.existsSync(pre[0])) continue;
    const r = spawnSync(cmd, [...pre, 'rebuild', '--silent', '-j', 'max', ...extra, '-C', dir], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
    if (r.error && r.error.code === 'ENOENT') continue;
    if (r.status !== 0) process.stderr.write(`${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n').slice(-40).join('\n') + '\n');
    return r.status ?? 1;
  }
  return 127;
}

/** True when the built file is newer than every source. */
export function upToDate(out, sources) {
  const mtime = (f) => { try { return fs.statSync(f).mtimeMs; } catch { return -1; } };
  return mtime(out) > Math.max(...sources.map(mtime));
}
