// The `strata` command. Thin: parse, call a library function, print.
// One file per command group registers its subcommands here. Those files load
// the library layers inside their actions (dynamic import), so `--help`,
// `--version` and each command load only what they use.
import { Command, CommanderError } from 'commander';
import { StrataError } from '../errors.js';
import { registerPool } from './pool.js';
import { registerContainer } from './container.js';
import { registerPark } from './park.js';
import { registerFilesystem } from './filesystem.js';
import { registerMover } from './mover.js';
import { registerMount } from './mount.js';
import { registerUns } from './uns.js';
import { registerEngine } from './engine.js';
import { registerTier } from './tier.js';
import { registerH5 } from './h5.js';
import { registerClone } from './clone.js';
import { registerWorker } from './worker.js';

const program = new Command();
program
  .name('strata')
  .description('Tiering and unified namespace for HPC storage')
  .version('0.1.0')
  .option('--engine <url>', 'engine: lmdb:/dir (embedded, default $STRATA_HOME or ~/.local/share/strata) or postgres://user@host/db; also STRATA_ENGINE')
  .showHelpAfterError(false)
  .configureOutput({ outputError: (str, write) => write(`strata: ${str.replace(/^error: /, '').trim()}\n`) })
  .exitOverride();

registerPool(program);
registerContainer(program);
registerPark(program);
registerFilesystem(program);
registerMover(program);
registerMount(program);
registerUns(program);
registerEngine(program);
registerTier(program);
registerH5(program);
registerClone(program);
registerWorker(program);

// Watchdog: if the event loop empties while the command is still waiting (a
// wait that can no longer complete, seen after an LMDB write error on a full
// disk), say so and exit 1 instead of node's silent exit 13. The journal of an
// interrupted copy is kept, so --resume continues it.
let finished = false;
process.on('beforeExit', () => {
  if (finished) return;
  finished = true;
  process.stderr.write('strata: the command stopped before finishing (an internal wait can no longer complete after an earlier error); for a copy, fix the cause and run the same command with --resume\n');
  process.exit(1);
});

// A reader that goes away (`strata fs ls | head`): stop quietly with the
// status of a program killed by SIGPIPE (141), as ls and cat do, not a stack.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(141);
    throw e;
  });
}

// `strata help tier archive` is `strata tier archive --help` (commander's own
// help command looks at one word only and showed the whole group).
const argv = process.argv.slice(2);
const helpFor = argv[0] === 'help' && argv.length > 2 && argv.slice(1).every((a) => !a.startsWith('-'));

try {
  await program.parseAsync(helpFor ? [...process.argv.slice(0, 2), ...argv.slice(1), '--help'] : process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    process.exitCode = e.exitCode === 0 ? 0 : 2;
  } else if (e instanceof StrataError) {
    process.stderr.write(`strata: ${e.message}\n`);
    process.exitCode = 1;
  } else {
    const err = e as Error;
    process.stderr.write(`strata: ${err?.message ?? String(e)}\n`);
    if (process.env['STRATA_DEBUG']) process.stderr.write(`${err?.stack}\n`);
    process.exitCode = 1;
  }
}
finished = true;
