// Child process of `container serialize/deserialize -j N`: runs one job (one
// rank file) with its own engine handle and HDF5 library, reports over IPC.
import { openEngine } from '../engine/open.js';
import { serializeRank, type RankJob } from './serialize.js';
import { loadRankFile, type LoadJob } from './deserialize.js';

type Msg = { kind: 'serialize'; engineUrl: string; job: RankJob } | { kind: 'deserialize'; engineUrl: string; job: LoadJob };

process.once('message', (m: Msg) => {
  void (async () => {
    const engine = await openEngine(m.engineUrl);
    try {
      const result = m.kind === 'serialize' ? await serializeRank(engine, m.job) : await loadRankFile(engine, m.job);
      process.send!({ ok: true, result: JSON.parse(JSON.stringify(result, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))) });
    } catch (e) {
      const err = e as Error & { code?: string };
      process.send!({ ok: false, error: { code: err.code ?? 'EIO', message: err.message } });
    } finally {
      await engine.close();
    }
    process.disconnect();
  })();
});
