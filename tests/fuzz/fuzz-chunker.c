/* fuzz-chunker.c: libFuzzer harness of coffer_chunker_next() (FORMAT.md,
 * "Chunker").
 *
 * Input: three bytes that choose the sizes (avg 2^6 to 2^16, min 0 or
 * avg / 2^k, max avg · 2^k, so that small inputs hold several chunks), one that chooses how
 * the data is handed over in pieces, then the data. The chunks must be the
 * ones FORMAT.md's rule gives, computed here a byte at a time from the
 * format's own words, whether the whole file is handed over at once or piece
 * by piece as a reader fills its buffer.
 */
#include "config.h"

#include "fuzz-common.h"

#include <string.h>

#define GEAR_LABEL "coffer-chunker-gear-v1"

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_init ();
  return 0;
}

/* FORMAT.md's gear table, from the chunker key. */
static void
gear_table (guint64 gear[256])
{
  for (guint j = 0; j < 64; j++)
    {
      guint8 message[sizeof GEAR_LABEL];
      guint8 block[32];

      memcpy (message, GEAR_LABEL, strlen (GEAR_LABEL));
      message[strlen (GEAR_LABEL)] = j;
      coffer_hmac_sha256 (fuzz_keys ()->chunker, COFFER_KEY_SIZE, message, sizeof message, block);
      for (guint k = 0; k < 4; k++)
        {
          guint64 value = 0;

          for (guint b = 0; b < 8; b++)
            value |= (guint64) block[8 * k + b] << (8 * b);
          gear[4 * j + k] = value;
        }
    }
}

static guint64
mask (guint bits)
{
  guint64 value = 0;

  for (guint i = 0; i < bits; i++)
    value |= G_GUINT64_CONSTANT (1) << (62 - 2 * i);
  return value;
}

/* The length of the chunk at the start of @data, of @size bytes, by the
 * format's rule. */
static gsize
reference_cut (
    const guint64 gear[256], const guint8 *data, gsize size, gsize min, gsize avg, gsize max)
{
  guint bits = g_bit_nth_lsf (avg, -1);
  guint64 mask_s = mask (bits + 2), mask_l = mask (bits - 2);
  guint64 fp = 0;

  for (gsize i = min; i < MIN (size, max); i++)
    {
      fp = (fp << 1) + gear[data[i]];
      if ((fp & (i < avg ? mask_s : mask_l)) == 0)
        return i + 1;
    }
  return MIN (size, max);
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  static guint64 gear[256];
  static gsize gear_done = 0;
  FuzzInput input = { data, size };
  guint avg_bits = 6 + fuzz_take_u8 (&input) % 11;
  gsize avg = (gsize) 1 << avg_bits;
  guint min_shift = fuzz_take_u8 (&input) % 9;
  gsize min = min_shift == 8 ? 0 : avg >> min_shift;
  gsize max = avg << (fuzz_take_u8 (&input) % 4);
  gsize piece = 8 + fuzz_take_u8 (&input) * 31;
  g_autoptr (GBytes) file = fuzz_take_rest (&input);
  g_autoptr (CofferChunker) chunker = coffer_chunker_new (fuzz_keys ()->chunker, min, avg, max);
  const guint8 *bytes = g_bytes_get_data (file, NULL);
  gsize left = g_bytes_get_size (file);
  gsize at = 0;

  if (g_once_init_enter (&gear_done))
    {
      gear_table (gear);
      g_once_init_leave (&gear_done, 1);
    }

  while (at < left)
    {
      gsize expected = reference_cut (gear, bytes + at, left - at, min, avg, max);
      gsize whole = coffer_chunker_next (chunker, bytes + at, left - at, TRUE);
      gsize offered = 0, cut = 0;

      if (whole != expected)
        g_error ("chunk at %zu: %zu bytes, the format says %zu", at, whole, expected);
      /* As a reader hands it over: more each time until a cut is found. */
      while (cut == 0)
        {
          offered = MIN (offered + piece, left - at);
          cut = coffer_chunker_next (chunker, bytes + at, offered, offered == left - at);
        }
      if (cut != expected)
        g_error ("chunk at %zu, handed over in pieces: %zu bytes, the format says %zu", at, cut,
                 expected);
      at += cut;
    }
  return 0;
}
