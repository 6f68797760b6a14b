/* chunker-speed.c: how fast the chunker cuts data, in MB/s of one core.
 *
 * Usage: chunker-speed [MIB [ROUNDS]]   (512 MiB, best of 5 rounds by default)
 *
 * Chunks MIB of pseudo-random data (held in memory, so only the chunker is
 * measured) with the backup sizes and a random key, and beside it the same
 * FastCDC done the plain way, one byte a step, as the peer measured in the
 * same run.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coffer.h"

#define MIB (1024 * 1024)

/* splitmix64 */
static guint64
next_random (guint64 *state)
{
  guint64 z = (*state += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15));

  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

/* The peer: FastCDC one byte a step, with the library's masks for a 1 MiB
 * average and a gear table of its own (the speed does not depend on it). */
typedef struct
{
  guint64 gear[256];
} Plain;

static gsize
plain_next (const Plain *plain, const guint8 *data, gsize size)
{
  const guint64 mask_s = G_GUINT64_CONSTANT (0x5555555555500000);
  const guint64 mask_l = G_GUINT64_CONSTANT (0x5555555550000000);
  gsize end = MIN (size, COFFER_CHUNK_MAX);
  gsize normal = MIN (end, COFFER_CHUNK_AVG);
  guint64 fp = 0;
  gsize i;

  for (i = COFFER_CHUNK_MIN; i < normal; i++)
    {
      fp = (fp << 1) + plain->gear[data[i]];
      if ((fp & mask_s) == 0)
        return i + 1;
    }
  for (; i < end; i++)
    {
      fp = (fp << 1) + plain->gear[data[i]];
      if ((fp & mask_l) == 0)
        return i + 1;
    }
  return MIN (size, COFFER_CHUNK_MAX);
}

typedef gsize (*NextFunc) (gconstpointer chunker, const guint8 *data, gsize size);

static gsize
coffer_next (gconstpointer chunker, const guint8 *data, gsize size)
{
  return coffer_chunker_next (chunker, data, size, TRUE);
}

static gsize
peer_next (gconstpointer plain, const guint8 *data, gsize size)
{
  return plain_next (plain, data, size);
}

/* Seconds of CPU time this thread has used: other work on the machine does
 * not count against the chunker. */
static double
thread_seconds (void)
{
  struct timespec now;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &now);
  return now.tv_sec + now.tv_nsec * 1e-9;
}

/* The best of @rounds passes over @data, in MB/s (10^6 bytes a second of one
 * core's time). */
static double
measure (NextFunc next,
         gconstpointer chunker,
         const guint8 *data,
         gsize size,
         guint rounds,
         guint *chunks)
{
  double best = G_MAXDOUBLE;

  for (guint r = 0; r < rounds; r++)
    {
      double start = thread_seconds ();
      gsize offset = 0;
      guint count = 0;

      while (offset < size)
        {
          offset += next (chunker, data + offset, size - offset);
          count++;
        }
      best = MIN (best, thread_seconds () - start);
      *chunks = count;
    }
  return size / 1e6 / MAX (best, 1e-9);
}

int
main (int argc, char **argv)
{
  gsize mib = argc > 1 ? strtoul (argv[1], NULL, 10) : 512;
  guint rounds = argc > 2 ? strtoul (argv[2], NULL, 10) : 5;
  gsize size = mib * MIB;
  g_autofree guint8 *data = NULL;
  g_autoptr (CofferChunker) chunker = NULL;
  g_autofree Plain *plain = g_new (Plain, 1);
  guint8 key[32];
  guint64 state;
  guint chunks = 0;
  guint plain_chunks = 0;
  double speed;
  double plain_speed;

  if (mib == 0 || rounds == 0)
    {
      g_printerr ("Usage: %s [MIB [ROUNDS]]\n", argv[0]);
      return 2;
    }

  coffer_random_bytes (&state, sizeof state);
  coffer_random_bytes (key, sizeof key);
  data = g_malloc (size);
  for (gsize i = 0; i < size; i += 8)
    {
      guint64 value = next_random (&state);

      memcpy (data + i, &value, MIN (8, size - i));
    }
  for (guint i = 0; i < 256; i++)
    plain->gear[i] = next_random (&state);
  chunker = coffer_chunker_new (key, COFFER_CHUNK_MIN, COFFER_CHUNK_AVG, COFFER_CHUNK_MAX);

  speed = measure (coffer_next, chunker, data, size, rounds, &chunks);
  plain_speed = measure (peer_next, plain, data, size, rounds, &plain_chunks);

  g_print ("%" G_GSIZE_FORMAT
           " MiB of pseudo-random data, best of %u rounds, MB/s of one core's CPU time\n",
           mib, rounds);
  g_print ("coffer chunker (FastCDC, two bytes a step): %8.1f MB/s  %u chunks, %.2f MiB average\n",
           speed, chunks, (double) size / chunks / MIB);
  g_print ("plain FastCDC (one byte a step):            %8.1f MB/s  %u chunks\n", plain_speed,
           plain_chunks);
  g_print ("ratio coffer / plain:                       %8.2f\n", speed / plain_speed);
  return 0;
}
