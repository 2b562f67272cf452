// A writer process of dead-writer.test.ts: appends large bytes to an extent
// file of its own, then punches them, so its file is unsealed and holds no
// live bytes (with mode 'half': half of them stay live); says "ready" and waits. On "exit" it dies without closing the
// engine (its file stays unsealed). With a pid argument it writes that pid in
// its file's row instead of its own (as a pid from another PID namespace,
// or of another node with the same hostname, looks here).
import { openEngine } from '../../src/engine/open.js';

const [url, cont, fakePid, mode] = process.argv.slice(2);
if (fakePid) Object.defineProperty(process, 'pid', { value: Number(fakePid) });
const engine = await openEngine(url);
const k = { cont: cont!, oid: Buffer.alloc(16, 3), dkey: Buffer.from('d'), akey: Buffer.from('arr') };
await engine.commit({ ops: [{ op: 'write', ...k, offset: 0, data: Buffer.alloc(100000, 9) }] });
if (mode === 'half') {
  // Another 100 KB, and only that punched: the file keeps half its bytes live.
  await engine.commit({ ops: [{ op: 'write', ...k, offset: 100000, data: Buffer.alloc(100000, 8) }] });
  await engine.commit({ ops: [{ op: 'punch-range', ...k, offset: 100000, length: 100000 }] });
} else {
  await engine.commit({ ops: [{ op: 'punch-range', ...k, offset: 0, length: 100000 }] });
}
process.stdout.write('ready\n');
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d: string) => { if (d.includes('exit')) process.exit(0); });
