// Shared CLI plumbing: opening the engine from --engine / STRATA_ENGINE /
// STRATA_HOME, printing results (plain or --json), and turning errors into
// one line "strata: <message>" with a non-zero exit.
import type { Command } from 'commander';
import type { Engine } from '../engine/types.js';
import { openEngine } from '../engine/open.js';
import { StrataError } from '../errors.js';
import { count } from '../plural.js';
export { count };

/** Global options, read from the root command. */
export function globalOpts(cmd: Command): { engine?: string } {
  let root = cmd;
  while (root.parent) root = root.parent;
  return root.opts() as { engine?: string };
}

/** Commands that may start from nothing: only they create a missing engine home. */
const CREATING_COMMANDS = new Set(['pool create', 'engine init']);

/** "pool create" for the command `strata pool create`. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c && c.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Opens the engine for one command, runs fn, always closes. */
export async function withEngine<T>(cmd: Command, fn: (engine: Engine) => Promise<T>): Promise<T> {
  const engine = await openEngine(globalOpts(cmd).engine, { create: CREATING_COMMANDS.has(commandPath(cmd)) });
  try {
    return await fn(engine);
  } finally {
    await engine.close();
  }
}

/**
 * A listing as one JSON document: an array written entry by entry as the
 * walk yields them (memory stays bounded), so `python3 -m json.tool` and
 * `jq` read it whole; with `lines`, JSON lines (one object a line) instead.
 */
export function jsonList(write: (s: string) => Promise<void>, lines = false): { item(v: unknown): Promise<void>; end(): Promise<void> } {
  let n = 0;
  return {
    item: (v) => write(lines ? `${JSON.stringify(v)}\n` : `${n++ === 0 ? '[\n' : ',\n'}${JSON.stringify(v)}`),
    end: () => (lines ? Promise.resolve() : write(n === 0 ? '[]\n' : '\n]\n')),
  };
}


/** A positive number of seconds (--h5-timeout), in ms. */
export function secondsOf(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(text) || Number(text) <= 0 || Number(text) > 86400) throw new StrataError('EINVAL', `bad ${flag} '${text}': expected seconds (0 < s <= 86400)`);
  return Math.round(Number(text) * 1000);
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2) + '\n');
}

/** Prints rows as aligned columns with a header line. */
export function printTable(headers: string[], rows: Array<Array<string | number>>): void {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  process.stdout.write(cells.map(line).join('\n') + '\n');
}
