// Child process of `container serialize/deserialize -j N`: runs one task (one
// rank file) with its own engine handle and HDF5 library, reports over IPC.
import { openEngine } from '../engine/open.js';
import { runParkTask, type ParkTask } from './task.js';

process.once('message', (m: ParkTask) => {
  void (async () => {
    const engine = await openEngine(m.engineUrl);
    try {
      process.send!({ ok: true, result: await runParkTask(engine, m) });
    } catch (e) {
      const err = e as Error & { code?: string };
      process.send!({ ok: false, error: { code: err.code ?? 'EIO', message: err.message } });
    } finally {
      await engine.close();
    }
    process.disconnect();
  })();
});
