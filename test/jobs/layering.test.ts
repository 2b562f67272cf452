// The jobs layer sits above the engine and below the layers that make jobs:
// it imports only the engine and the shared pieces; park and the mover reach
// the queue through it, never through each other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { REPO } from '../helpers.js';

/** Every module specifier a source file under src/<dir> imports (static and dynamic), with its file. */
function imports(dir: string): Array<{ file: string; spec: string }> {
  const out: Array<{ file: string; spec: string }> = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.ts')) {
        const text = fs.readFileSync(p, 'utf8');
        for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*)'([^']+)'/g)) out.push({ file: path.relative(REPO, p), spec: m[1]! });
      }
    }
  };
  walk(path.join(REPO, 'src', dir));
  return out;
}

/** The top folder under src/ (or the file) an import from src/<dir>/... lands in. */
function target(file: string, spec: string): string {
  if (!spec.startsWith('.')) return `package:${spec}`;
  const abs = path.resolve(REPO, path.dirname(file), spec);
  return path.relative(path.join(REPO, 'src'), abs).split(path.sep)[0]!;
}

test('jobs imports only the engine and the shared pieces below the layers', () => {
  const found = imports('jobs');
  assert.ok(found.length > 0);
  const allowed = new Set(['engine', 'jobs', 'errors.js', 'semaphore.js']);
  const bad = found.filter((x) => { const t = target(x.file, x.spec); return !allowed.has(t) && !t.startsWith('package:node:'); });
  assert.deepEqual(bad, []);
});

test('park and the mover do not import each other', () => {
  assert.deepEqual(imports('park').filter((x) => target(x.file, x.spec) === 'mover'), []);
  assert.deepEqual(imports('mover').filter((x) => target(x.file, x.spec) === 'park'), []);
});
