/*
 * MPI-IO through a strata FUSE mount: N ranks share one file.
 *   region 0: collective  MPI_File_write_at_all, rank r writes [r*B, (r+1)*B)
 *   region 1: independent MPI_File_write_at,     rank r writes [N*B + r*B, ...)
 *   region 2: overlapping independent writes, one rank after another
 *             (write, MPI_File_sync, barrier): rank r writes
 *             [2*N*B + r*B/2, 2*N*B + r*B/2 + B); later ranks win per byte
 *   then a hole of H bytes, and rank N-1 writes T bytes after it (tail).
 * B is not a multiple of the 1 MiB chunk, so ranks share chunks.
 * Every byte written at file offset o by rank r in region k is
 *   (o*7 + r*31 + k*101) & 0xff.
 * Then every rank reads the whole file back (collective MPI_File_read_at_all)
 * and checks it; rank 0 writes the expected bytes to EXPECTED (a local file).
 * Usage: mpiio FILE EXPECTED [B]
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char pat(long long o, int r, int k) { return (unsigned char)((o * 7 + r * 31 + k * 101) & 0xff); }

static void fill(unsigned char *buf, long long off, long long n, int r, int k) {
  for (long long i = 0; i < n; i++) buf[i] = pat(off + i, r, k);
}

static void check(int rc, const char *what) {
  if (rc != MPI_SUCCESS) {
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    fprintf(stderr, "mpiio: %s: %s\n", what, msg);
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, n;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  if (argc < 3) {
    if (rank == 0) fprintf(stderr, "usage: mpiio FILE EXPECTED [B]\n");
    MPI_Finalize();
    return 2;
  }
  long long B = argc > 3 ? atoll(argv[3]) : 1500007;
  const long long H = 3 * 1048576 + 5, T = 4099;
  long long r2 = 2LL * n * B;                 /* start of region 2 */
  long long r2end = r2 + (long long)(n - 1) * (B / 2) + B;
  long long tail = r2end + H;
  long long size = tail + T;

  MPI_File fh;
  check(MPI_File_open(MPI_COMM_WORLD, argv[1], MPI_MODE_CREATE | MPI_MODE_RDWR, MPI_INFO_NULL, &fh), "open");
  unsigned char *buf = malloc(B);
  MPI_Status st;

  /* region 0: collective */
  fill(buf, rank * B, B, rank, 0);
  check(MPI_File_write_at_all(fh, rank * B, buf, (int)B, MPI_BYTE, &st), "write_at_all");
  /* region 1: independent */
  long long off1 = n * B + rank * B;
  fill(buf, off1, B, rank, 1);
  check(MPI_File_write_at(fh, off1, buf, (int)B, MPI_BYTE, &st), "write_at");
  check(MPI_File_sync(fh), "sync");
  MPI_Barrier(MPI_COMM_WORLD);
  /* region 2: overlapping, one rank after another (sync-barrier-sync) */
  for (int t = 0; t < n; t++) {
    if (rank == t) {
      long long off2 = r2 + (long long)t * (B / 2);
      fill(buf, off2, B, t, 2);
      check(MPI_File_write_at(fh, off2, buf, (int)B, MPI_BYTE, &st), "write_at (overlap)");
    }
    check(MPI_File_sync(fh), "sync");
    MPI_Barrier(MPI_COMM_WORLD);
  }
  /* hole, then a tail from the last rank */
  if (rank == n - 1) {
    fill(buf, tail, T, rank, 3);
    check(MPI_File_write_at(fh, tail, buf, (int)T, MPI_BYTE, &st), "write_at (tail)");
  }
  check(MPI_File_sync(fh), "sync");
  MPI_Barrier(MPI_COMM_WORLD);

  /* the expected file */
  unsigned char *want = calloc(size, 1);
  for (int r = 0; r < n; r++) {
    fill(want + r * B, r * B, B, r, 0);
    fill(want + n * B + r * B, n * B + r * B, B, r, 1);
  }
  for (int r = 0; r < n; r++) {
    long long o = r2 + (long long)r * (B / 2);
    fill(want + o, o, B, r, 2);
  }
  fill(want + tail, tail, T, n - 1, 3);

  MPI_Offset got_size = 0;
  check(MPI_File_get_size(fh, &got_size), "get_size");
  int bad = 0;
  if (got_size != size) {
    fprintf(stderr, "mpiio: rank %d: file size %lld, expected %lld\n", rank, (long long)got_size, size);
    bad = 1;
  }
  /* read back: collective, in pieces, every rank the whole file */
  unsigned char *got = malloc(size);
  const long long piece = 1 << 20;
  for (long long o = 0; o < size; o += piece) {
    int len = (int)(size - o < piece ? size - o : piece);
    check(MPI_File_read_at_all(fh, o, got + o, len, MPI_BYTE, &st), "read_at_all");
  }
  for (long long o = 0; o < size && !bad; o++) {
    if (got[o] != want[o]) {
      fprintf(stderr, "mpiio: rank %d: byte %lld is %d, expected %d\n", rank, o, got[o], want[o]);
      bad = 1;
    }
  }
  check(MPI_File_close(&fh), "close");
  if (rank == 0) {
    FILE *f = fopen(argv[2], "wb");
    if (!f || fwrite(want, 1, size, f) != (size_t)size || fclose(f) != 0) { perror(argv[2]); bad = 1; }
  }
  int anybad = 0;
  MPI_Allreduce(&bad, &anybad, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (rank == 0) printf("mpiio: %d ranks, %lld bytes, %s\n", n, size, anybad ? "MISMATCH" : "ok");
  free(buf); free(want); free(got);
  MPI_Finalize();
  return anybad ? 1 : 0;
}
