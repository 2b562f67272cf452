// Helpers of the UNS end-to-end tests: an engine home with its environment,
// and checks of a CLI result (success; a refusal as one `strata:` line).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { runCli, tempDir, type CliResult } from '../helpers.js';

/** A fresh home (0755, so test users may enter it) and the environment that points the CLI at it. */
export function unsHome(prefix: string): { home: string; env: Record<string, string>; run: (...args: string[]) => Promise<CliResult> } {
  const home = tempDir(prefix);
  fs.chmodSync(home, 0o755);
  const env = { STRATA_HOME: path.join(home, 'engine'), STRATA_ENGINE: '', STRATA_CONFIG: path.join(home, 'strata.conf'), STRATA_UNS_PREFIX: '', STRATA_TIER_PAUSE_AT: '' };
  return { home, env, run: (...args: string[]) => runCli(args, { env }) };
}

export function ok(r: CliResult): string {
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** A refusal: non-zero exit, one `strata:` line matching re. */
export function refused(r: CliResult, re: RegExp): void {
  assert.notEqual(r.code, 0, `expected a refusal, got: ${r.stdout}`);
  assert.match(r.stderr, /^strata: [^\n]+\n$/, r.stderr);
  assert.match(r.stderr, re);
}
