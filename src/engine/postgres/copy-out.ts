// Reads query results as raw bytes with COPY ... TO STDOUT (FORMAT binary).
// node-postgres decodes every result column as UTF-8 text (bytea arrives as
// hex, twice the bytes, then decoded): fine for keys and small values, slow
// for bulk bytes. COPY data messages reach us as raw buffers instead.
import type pg from 'pg';

interface CopyDataMessage { chunk: Buffer }

class CopyOutQuery {
  private chunks: Buffer[] = [];
  private error: Error | undefined;
  readonly done: Promise<Buffer>;
  private resolve!: (b: Buffer) => void;
  private reject!: (e: Error) => void;

  constructor(readonly text: string) {
    this.done = new Promise((res, rej) => { this.resolve = res; this.reject = rej; });
  }

  submit(connection: { query(text: string): void }): void { connection.query(this.text); }
  // The protocol parser reuses its buffer: copy each chunk out at once.
  handleCopyData(msg: CopyDataMessage): void { this.chunks.push(Buffer.from(msg.chunk)); }
  handleCommandComplete(): void { /* wait for ReadyForQuery */ }
  handleRowDescription(): void { /* none for COPY */ }
  handleDataRow(): void { /* none for COPY */ }
  handleEmptyQuery(): void { /* none */ }
  handlePortalSuspended(): void { /* none */ }
  handleCopyInResponse(connection: { sendCopyFail(msg: string): void }): void { connection.sendCopyFail('not a COPY FROM'); }
  handleError(err: Error): void { this.error = err; }
  handleReadyForQuery(): void {
    if (this.error) this.reject(this.error);
    else this.resolve(Buffer.concat(this.chunks));
  }
}

/** Runs a COPY (query) TO STDOUT (FORMAT binary) and returns the first column of each row (null as empty). */
export async function copyOut(client: pg.ClientBase, text: string): Promise<Buffer[]> {
  const q = new CopyOutQuery(text);
  (client as unknown as { query(q: CopyOutQuery): void }).query(q);
  const raw = await q.done;
  // Binary COPY: 11-byte signature, int32 flags, int32 header extension length (+ extension),
  // then tuples: int16 field count (-1 ends), per field int32 length (-1 = null) and bytes.
  const out: Buffer[] = [];
  if (raw.length < 19) return out;
  let pos = 15 + 4 + raw.readInt32BE(15);
  while (pos + 2 <= raw.length) {
    const fields = raw.readInt16BE(pos);
    pos += 2;
    if (fields < 0) break;
    for (let f = 0; f < fields; f++) {
      const len = raw.readInt32BE(pos);
      pos += 4;
      const val = len < 0 ? Buffer.alloc(0) : raw.subarray(pos, pos + len);
      if (len > 0) pos += len;
      if (f === 0) out.push(val);
    }
  }
  return out;
}
