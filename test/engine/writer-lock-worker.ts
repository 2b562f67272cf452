// A holder process of writer-lock.test.ts: creates the file, locks it as an
// extent-file writer does (on the descriptor it writes with), starts a
// long-lived program of its own (which must not inherit the lock), says
// "ready <that program's pid>" and waits to be killed.
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { holdLock } from '../../src/engine/writer-lock.js';

const file = process.argv[2]!;
const fd = fs.openSync(file, 'wx');
holdLock(fd, file);
const other = spawn('sleep', ['600'], { stdio: 'ignore', detached: true });
other.unref();
process.stdout.write(`ready ${other.pid}\n`);
setInterval(() => undefined, 1 << 30);
