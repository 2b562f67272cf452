// `strata uns ...`: the unified namespace — resolve a path to its container,
// scan a tree for links, and serve as Lustre's foreign_symlink_upcall helper.
import fs from 'node:fs';
import type { Command } from 'commander';
import { StrataError, fromSystemError } from '../errors.js';
import { withEngine, printJson, printTable, jsonList } from './context.js';
import type { UnsInfo, ScannedLink } from '../uns/ops.js';
// upcall.js is small and names the default format in the help text; the rest loads when a command runs.
import {
  parseUpcallFormat, encodeUpcallItems, decodeUpcallItems, applyUpcall, foreignSymlinkTarget, formatUpcallFormat, LEGACY_POOL_COLON_CONT,
} from '../uns/upcall.js';

const ops = () => import('../uns/ops.js');
const link = () => import('../uns/link.js');

function out(s: string): Promise<void> {
  return new Promise((r) => { if (process.stdout.write(s)) r(); else process.stdout.once('drain', () => r()); });
}

function warn(p: string, e: unknown): void {
  const m = e instanceof StrataError ? e.message : fromSystemError(e, p).message;
  process.stderr.write(`strata: warning: skipped ${m.startsWith(p) ? m : `${p}: ${m}`}\n`);
}

function infoJson(i: UnsInfo): Record<string, unknown> {
  return {
    path: i.path, linkPath: i.link.path, linkKind: i.link.kind, linkObject: i.link.object,
    poolUuid: i.poolUuid, poolLabel: i.poolLabel ?? null, contUuid: i.contUuid, contLabel: i.contLabel ?? null,
    type: i.type ?? null, containerPath: i.containerPath, dangling: i.dangling, ...(i.away ? { away: i.away } : {}),
    ...(i.link.prefix !== undefined ? { prefix: i.link.prefix, target: i.link.target } : {}),
  };
}

function scanJson(l: ScannedLink): Record<string, unknown> {
  return {
    path: l.path, kind: l.kind, object: l.object, poolUuid: l.pool, poolLabel: l.poolLabel ?? null, contUuid: l.cont,
    contLabel: l.contLabel ?? null, type: l.type ?? null, dangling: l.dangling, ...(l.away ? { away: l.away } : {}), ...(l.target ? { target: l.target } : {}),
  };
}

/** The upcall format: --format, else uns.upcall_format (or STRATA_UNS_UPCALL_FORMAT), else the legacy <pool>:<cont> one. */
async function upcallText(explicit?: string): Promise<string> {
  if (explicit !== undefined) return explicit;
  const { siteUpcallFormat } = await link();
  return siteUpcallFormat()?.text ?? LEGACY_POOL_COLON_CONT;
}

export function registerUns(program: Command): Command {
  const uns = program.command('uns').description('unified namespace: containers at filesystem paths');

  uns.command('resolve <path>')
    .description('show the pool, container and path inside it for a UNS link or any path below one')
    .option('--json', 'print JSON')
    .action(async (p: string, o: { json?: boolean }, cmd: Command) => {
      const { resolveUnsPath } = await ops();
      const i = await withEngine(cmd, (e) => resolveUnsPath(e, p));
      if (o.json) { printJson(infoJson(i)); return; }
      const rows: Array<[string, string]> = [
        ['Link', `${i.link.path} (${i.link.kind}${i.link.target ? ` -> ${i.link.target}` : ''})`],
        ['Pool UUID', i.poolUuid], ['Pool Label', i.poolLabel ?? '(pool not found)'],
        ['Container UUID', i.contUuid], ['Container Label', i.contLabel ?? (i.away ? `(not in the tier: ${i.away})` : '(container not found: dangling link)')],
        ['Container Type', i.type ?? 'unknown'], ['Path in container', i.containerPath],
      ];
      const w = Math.max(...rows.map((r) => r[0].length));
      await out(rows.map(([k, v]) => `  ${k.padEnd(w)} : ${v}`).join('\n') + '\n');
    });

  uns.command('scan <dir>')
    .description('list every UNS link under a directory (dangling ones flagged); --orphans: containers of a pool no link names')
    .option('--orphans <pool>', 'list the containers of this pool that no link under DIR names')
    .option('--json', 'one JSON array of links')
    .option('--json-lines', 'one JSON object per line')
    .action(async (dir: string, o: { json?: boolean; jsonLines?: boolean; orphans?: string }, cmd: Command) => {
      const { findOrphans, scanLinksChecked } = await ops();
      const json = o.json || o.jsonLines ? jsonList(out, !!o.jsonLines) : undefined;
      await withEngine(cmd, async (e) => {
        if (o.orphans) {
          const orphans = await findOrphans(e, o.orphans, dir, {}, warn);
          if (json) {
            for (const c of orphans) await json.item({ orphan: true, contUuid: c.uuid, contLabel: c.label, type: c.type, poolUuid: c.poolUuid });
            await json.end();
            return;
          }
          if (orphans.length === 0) { await out('no orphan containers\n'); return; }
          printTable(['UUID', 'Label', 'Type'], orphans.map((c) => [c.uuid, c.label, c.type]));
          return;
        }
        let n = 0;
        let dangling = 0;
        let away = 0;
        for await (const l of scanLinksChecked(e, dir, warn)) {
          n++;
          if (l.away) away++;
          else if (l.dangling) dangling++;
          if (json) await json.item(scanJson(l));
          else {
            const names = l.away ? `${l.pool}/${l.cont} AWAY (${l.away})` : l.dangling ? `${l.pool}/${l.cont} DANGLING (container gone)` : `${l.poolLabel}/${l.contLabel} (${l.pool}/${l.cont})`;
            await out(`${l.path}\t${l.kind}\t${l.type ?? 'unknown'}\t${names}\n`);
          }
        }
        await json?.end();
        if (!json) process.stderr.write(`${n} link${n === 1 ? '' : 's'}, ${dangling} dangling${away ? `, ${away} away (parked)` : ''}\n`);
      });
    });

  uns.command('lustre-upcall <instance>')
    .description('foreign_symlink_upcall helper: write the item list of the site format to llite.<instance>.foreign_symlink_upcall_info')
    .option('--format <text>', `site EA format, e.g. ${LEGACY_POOL_COLON_CONT} (default: uns.upcall_format in the config, else ${LEGACY_POOL_COLON_CONT})`)
    .option('--output <file>', 'write the items here instead of /sys/fs/lustre/llite/<instance>/foreign_symlink_upcall_info')
    .action(async (instance: string, o: { format?: string; output?: string }) => {
      if (!/^[A-Za-z0-9._-]+$/.test(instance)) throw new StrataError('EINVAL', `bad llite instance name '${instance}' (e.g. lustre-ffff8f1e3c5a4800)`);
      const buf = encodeUpcallItems(parseUpcallFormat(await upcallText(o.format)));
      decodeUpcallItems(buf); // the client's checks, before anything is written
      const target = o.output ?? `/sys/fs/lustre/llite/${instance}/foreign_symlink_upcall_info`;
      let fd: number;
      try {
        fd = fs.openSync(target, o.output ? 'w' : fs.constants.O_WRONLY); // sysfs: write-only attribute
      } catch (e) {
        throw fromSystemError(e, `open ${target}`);
      }
      try {
        const n = fs.writeSync(fd, buf, 0, buf.length);
        if (n !== buf.length) throw new StrataError('EIO', `partial write to ${target} (${n} of ${buf.length} bytes)`);
      } catch (e) {
        throw fromSystemError(e, `write ${target}`);
      } finally {
        fs.closeSync(fd);
      }
    });

  uns.command('lustre-target <value>')
    .description('the symlink target a Lustre client builds from a foreign EA value with the site format')
    .option('--format <text>', 'site EA format (default: uns.upcall_format, else none: the whole value is the suffix)')
    .option('--prefix <prefix>', 'the client\'s foreign_symlink prefix', '/mnt/')
    .option('--items <file>', 'use an item buffer as written by an upcall helper instead of --format')
    .option('--json', 'print JSON')
    .action(async (value: string, o: { format?: string; prefix: string; items?: string; json?: boolean }) => {
      const v = Buffer.from(value, 'latin1');
      let items;
      if (o.items) {
        let b: Buffer;
        try { b = fs.readFileSync(o.items); } catch (e) { throw fromSystemError(e, `read ${o.items}`); }
        items = decodeUpcallItems(b);
      } else {
        const { siteUpcallFormat } = await link();
        const text = o.format ?? siteUpcallFormat()?.text;
        items = text ? parseUpcallFormat(text) : undefined;
      }
      const suffix = items ? applyUpcall(items, v, 'value') : v;
      const target = foreignSymlinkTarget(o.prefix, suffix);
      if (o.json) printJson({ value, format: items ? formatUpcallFormat(items) : null, prefix: o.prefix, target });
      else await out(target + '\n');
    });

  return uns;
}
