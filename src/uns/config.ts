// A small config file for the unified namespace: $STRATA_CONFIG, else
// <engine home>/strata.conf ($STRATA_HOME or ~/.local/share/strata).
// Lines "key = value"; '#' starts a comment. Keys used here:
//   uns.prefix        where the tier's root is mounted (symlink links point below it)
//   uns.upcall_format the site's Lustre foreign EA layout, e.g. [0,36]/[37,36]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StrataError, fromSystemError } from '../errors.js';

export function configPath(): string {
  const env = process.env['STRATA_CONFIG'];
  if (env) return path.resolve(env);
  const home = process.env['STRATA_HOME'] || path.join(os.homedir(), '.local', 'share', 'strata');
  return path.join(home, 'strata.conf');
}

/** Reads the config file; {} when it does not exist. EINVAL on a malformed line. */
export function readConfig(file = configPath()): Record<string, string> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw fromSystemError(e, `read config ${file}`);
  }
  const out: Record<string, string> = {};
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (!line) return;
    const m = /^([A-Za-z0-9_.-]+)\s*=\s*(.*)$/.exec(line);
    if (!m) throw new StrataError('EINVAL', `${file}:${i + 1}: expected 'key = value', got '${raw.trim()}'`);
    out[m[1]!] = m[2]!.trim();
  });
  return out;
}

/** The symlink-link prefix: explicit, else $STRATA_UNS_PREFIX, else uns.prefix in the config. */
export function unsPrefix(explicit?: string): string | undefined {
  const p = explicit || process.env['STRATA_UNS_PREFIX'] || readConfig()['uns.prefix'];
  if (p === undefined || p === '') return undefined;
  if (!p.startsWith('/')) throw new StrataError('EINVAL', `UNS prefix '${p}' must be an absolute path`);
  return normPrefix(p);
}

/** "/mnt//strata/" -> "/mnt/strata"; "/" stays "/". */
export function normPrefix(p: string): string {
  const n = path.posix.normalize(p).replace(/\/+$/, '');
  return n === '' ? '/' : n;
}
