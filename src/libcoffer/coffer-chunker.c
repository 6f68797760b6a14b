/* coffer-chunker.c: content-defined chunking (FastCDC with a keyed gear table).
 *
 * FastCDC as in Xia et al., "The Design of Fast Content-Defined Chunking for
 * Data Deduplication Based Storage Systems" (IEEE TPDS, 2020): a gear rolling
 * hash `fp = (fp << 1) + gear[byte]` over 64 bits, no cut before the minimum
 * size, normalized chunking (level 2: a harder mask before the average size,
 * an easier one after it) and a forced cut at the maximum size.
 *
 * The gear table is derived from the machine's chunker key, so someone without
 * the key cannot tell from the chunk lengths what a file holds. The derivation
 * and the masks are part of the vault format: FORMAT.md, "Chunker".
 *
 * Speed: the hash rolls two bytes per step with a second table holding every
 * gear value shifted left by one (the paper's "rolling two bytes"):
 *
 *   fp2 = (fp << 2) + (gear[a] << 1) + gear[b]
 *
 * The hash after byte a alone is fp1 = (fp << 1) + gear[a]; its test
 * `fp1 & mask` is `(fp1 << 1) & (mask << 1)` shifted right by one, which holds
 * because no mask uses bit 63. So both bytes keep their own test and the cut
 * points are exactly the one-byte loop's (the tests keep that loop to check).
 */
#include "config.h"

#include "coffer-chunker.h"

#include "coffer-crypto.h"

#include <openssl/crypto.h>
#include <string.h>

/* The HMAC message prefix of the gear table (FORMAT.md, "Chunker"). */
#define GEAR_LABEL "coffer-chunker-gear-v1"
#define GEAR_BLOCKS 64
#define GEAR_PER_BLOCK 4

/* The average size is a power of two within these bounds, so both masks have
 * between 4 and 32 one-bits. */
#define AVG_SIZE_MIN 64
#define AVG_SIZE_MAX (G_GUINT64_CONSTANT (1) << 30)

struct _CofferChunker
{
  guint64 gear[256];
  guint64 gear_ls[256]; /* gear[i] << 1: the first byte of a pair */
  guint64 mask_s;       /* before the average size: log2 (avg) + 2 bits */
  guint64 mask_l;       /* from the average size on: log2 (avg) - 2 bits */
  gsize min_size;
  gsize avg_size;
  gsize max_size;
};

/* @bits one-bits, every other bit down from bit 62. Bit 63 stays clear: the
 * two-bytes step relies on it. */
static guint64
spread_mask (guint bits)
{
  guint64 mask = 0;

  g_assert (bits >= 1 && bits <= 32);
  for (guint i = 0; i < bits; i++)
    mask |= G_GUINT64_CONSTANT (1) << (62 - 2 * i);
  return mask;
}

/* gear[4j + k] is bytes 8k..8k+7 (little-endian) of
 * HMAC-SHA256 (key, GEAR_LABEL || j), for j in 0..63. */
static void
derive_gear (const guint8 key[32], guint64 gear[256])
{
  guint8 message[sizeof GEAR_LABEL];
  guint8 block[32];

  memcpy (message, GEAR_LABEL, sizeof GEAR_LABEL - 1);
  for (guint j = 0; j < GEAR_BLOCKS; j++)
    {
      message[sizeof GEAR_LABEL - 1] = j;
      coffer_hmac_sha256 (key, 32, message, sizeof message, block);
      for (guint k = 0; k < GEAR_PER_BLOCK; k++)
        {
          guint64 value;

          memcpy (&value, block + 8 * k, 8);
          gear[GEAR_PER_BLOCK * j + k] = GUINT64_FROM_LE (value);
        }
    }
  OPENSSL_cleanse (block, sizeof block);
}

/**
 * coffer_chunker_new:
 * @key: the chunker key (CofferMasterKeys.chunker)
 * @min_size: no chunk but a file's last is shorter
 * @avg_size: the size chunks are normalized around: a power of two, 64 to 2^30
 * @max_size: no chunk is longer
 *
 * Backups use %COFFER_CHUNK_MIN, %COFFER_CHUNK_AVG and %COFFER_CHUNK_MAX; other
 * sizes are for tests. @min_size ≤ @avg_size ≤ @max_size.
 *
 * Returns: (transfer full): a chunker; free it with coffer_chunker_free()
 */
CofferChunker *
coffer_chunker_new (const guint8 key[32], gsize min_size, gsize avg_size, gsize max_size)
{
  CofferChunker *self;
  guint avg_bits;

  g_return_val_if_fail (key != NULL, NULL);
  g_return_val_if_fail (avg_size >= AVG_SIZE_MIN && avg_size <= AVG_SIZE_MAX, NULL);
  g_return_val_if_fail ((avg_size & (avg_size - 1)) == 0, NULL);
  g_return_val_if_fail (min_size <= avg_size && avg_size <= max_size, NULL);

  avg_bits = g_bit_nth_lsf (avg_size, -1);

  self = g_aligned_alloc0 (1, sizeof *self, 64);
  derive_gear (key, self->gear);
  for (guint i = 0; i < 256; i++)
    self->gear_ls[i] = self->gear[i] << 1;
  self->mask_s = spread_mask (avg_bits + 2);
  self->mask_l = spread_mask (avg_bits - 2);
  self->min_size = min_size;
  self->avg_size = avg_size;
  self->max_size = max_size;
  return self;
}

/**
 * coffer_chunker_free:
 * @self: (transfer full) (nullable): a chunker
 *
 * Wipes the gear table (it depends on the key) and frees the chunker.
 */
void
coffer_chunker_free (CofferChunker *self)
{
  if (self == NULL)
    return;
  OPENSSL_cleanse (self, sizeof *self);
  g_aligned_free (self);
}

/* One step of two bytes, testing after each. */
#define ROLL_PAIR(offset)                                                                          \
  G_STMT_START                                                                                     \
  {                                                                                                \
    fp = (fp << 2) + gear_ls[data[i + (offset)]];                                                  \
    if (G_UNLIKELY ((fp & mask_ls) == 0))                                                          \
      return i + (offset) + 1;                                                                     \
    fp += gear[data[i + (offset) + 1]];                                                            \
    if (G_UNLIKELY ((fp & mask) == 0))                                                             \
      return i + (offset) + 2;                                                                     \
  }                                                                                                \
  G_STMT_END

/* Rolls *@fp over data[i..end) and returns the length of the chunk ending at
 * the first byte after which the hash has no bit of @mask set; 0 if none does
 * (*@fp is then the hash after data[end - 1]). */
static inline gsize
scan (const CofferChunker *self,
      guint64 mask,
      const guint8 *restrict data,
      gsize i,
      gsize end,
      guint64 *fp_inout)
{
  const guint64 *restrict gear = self->gear;
  const guint64 *restrict gear_ls = self->gear_ls;
  const guint64 mask_ls = mask << 1;
  guint64 fp = *fp_inout;

  for (; end - i >= 8; i += 8)
    {
      ROLL_PAIR (0);
      ROLL_PAIR (2);
      ROLL_PAIR (4);
      ROLL_PAIR (6);
    }
  for (; end - i >= 2; i += 2)
    ROLL_PAIR (0);
  if (i < end)
    {
      fp = (fp << 1) + gear[data[i]];
      if ((fp & mask) == 0)
        return i + 1;
    }
  *fp_inout = fp;
  return 0;
}

/**
 * coffer_chunker_next:
 * @self: a chunker
 * @data: bytes starting at a chunk boundary
 * @size: how many
 * @at_eof: whether the file ends after them
 *
 * Finds the end of the chunk that starts at @data. The hash starts at zero at
 * byte @min_size and rolls on until its test passes; before byte @avg_size it
 * tests the harder mask, from there the easier one. A chunk ends with the byte
 * that passed the test.
 *
 * Returns: the chunk's length: where a cut was found; the maximum size when
 * @size reaches it and no cut was found; otherwise 0 when more data is needed
 * (!@at_eof) or @size at the end of the file
 */
gsize
coffer_chunker_next (const CofferChunker *self, const guint8 *data, gsize size, gboolean at_eof)
{
  gsize end;
  gsize normal;
  gsize cut;
  guint64 fp = 0;

  g_return_val_if_fail (self != NULL, 0);
  g_return_val_if_fail (data != NULL || size == 0, 0);

  end = MIN (size, self->max_size);
  normal = MAX (self->min_size, MIN (end, self->avg_size));

  if (self->min_size < normal)
    {
      cut = scan (self, self->mask_s, data, self->min_size, normal, &fp);
      if (cut != 0)
        return cut;
    }
  if (normal < end)
    {
      cut = scan (self, self->mask_l, data, normal, end, &fp);
      if (cut != 0)
        return cut;
    }

  if (size >= self->max_size)
    return self->max_size;
  return at_eof ? size : 0;
}
