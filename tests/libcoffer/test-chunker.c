/* test-chunker.c: chunk boundaries depend on the content and the key only,
 * survive edits elsewhere in a file, and match FORMAT.md's "Chunker" exactly. */
#include "config.h"

#include <string.h>

#include "coffer.h"

#define MIB (1024 * 1024)

static const guint8 test_key[32] = {
  0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
  16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
};

/* splitmix64, stored little-endian: the same pseudo-random test data on
 * every machine, whatever GLib's version. */
static guint64
next_random (guint64 *state)
{
  guint64 z = (*state += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15));

  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

static guint8 *
random_data (gsize size, guint64 seed)
{
  guint8 *data = g_malloc (size);
  guint64 state = seed;

  for (gsize i = 0; i < size; i += 8)
    {
      guint64 value = GUINT64_TO_LE (next_random (&state));

      memcpy (data + i, &value, MIN (8, size - i));
    }
  return data;
}

static CofferChunker *
default_chunker (const guint8 key[32])
{
  return coffer_chunker_new (key, COFFER_CHUNK_MIN, COFFER_CHUNK_AVG, COFFER_CHUNK_MAX);
}

/* The lengths of the chunks of a whole file held in memory. */
static GArray *
chunk_lengths (const CofferChunker *chunker, const guint8 *data, gsize size)
{
  GArray *lengths = g_array_new (FALSE, FALSE, sizeof (gsize));
  gsize offset = 0;

  while (offset < size)
    {
      gsize length = coffer_chunker_next (chunker, data + offset, size - offset, TRUE);

      g_assert_cmpuint (length, >, 0);
      g_assert_cmpuint (length, <=, size - offset);
      g_array_append_val (lengths, length);
      offset += length;
    }
  return lengths;
}

/* The same, read the way the backup engine reads a file: a window that grows
 * by @step bytes whenever the chunker asks for more. */
static GArray *
chunk_lengths_streaming (const CofferChunker *chunker, const guint8 *data, gsize size, gsize step)
{
  GArray *lengths = g_array_new (FALSE, FALSE, sizeof (gsize));
  gsize offset = 0;
  gsize available = MIN (step, size);

  while (offset < size)
    {
      gboolean at_eof = available == size;
      gsize length = coffer_chunker_next (chunker, data + offset, available - offset, at_eof);

      if (length == 0)
        {
          g_assert_false (at_eof);
          available = MIN (available + step, size);
          continue;
        }
      g_array_append_val (lengths, length);
      offset += length;
    }
  return lengths;
}

/* The set of SHA-256 digests of the chunks: what deduplication sees. */
static GHashTable *
chunk_digests (const guint8 *data, GArray *lengths)
{
  GHashTable *digests = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  gsize offset = 0;

  for (guint i = 0; i < lengths->len; i++)
    {
      gsize length = g_array_index (lengths, gsize, i);

      g_hash_table_add (digests,
                        g_compute_checksum_for_data (G_CHECKSUM_SHA256, data + offset, length));
      offset += length;
    }
  return digests;
}

/* How many chunks of @before's file are not among @after's. */
static guint
chunks_lost (const guint8 *before,
             GArray *before_lengths,
             const guint8 *after,
             GArray *after_lengths)
{
  g_autoptr (GHashTable) old_digests = chunk_digests (before, before_lengths);
  g_autoptr (GHashTable) new_digests = chunk_digests (after, after_lengths);
  GHashTableIter iter;
  gpointer digest;
  guint lost = 0;

  g_hash_table_iter_init (&iter, old_digests);
  while (g_hash_table_iter_next (&iter, &digest, NULL))
    if (!g_hash_table_contains (new_digests, digest))
      lost++;
  return lost;
}

static void
assert_lengths_equal (GArray *a, GArray *b)
{
  g_assert_cmpuint (a->len, ==, b->len);
  for (guint i = 0; i < a->len; i++)
    g_assert_cmpuint (g_array_index (a, gsize, i), ==, g_array_index (b, gsize, i));
}

/* FORMAT.md's "Chunker", written out again the plain way: one byte at a time,
 * the mask chosen by position. The library must cut exactly here. */
typedef struct
{
  guint64 gear[256];
  guint64 mask_s;
  guint64 mask_l;
  gsize min_size;
  gsize avg_size;
  gsize max_size;
} Reference;

static guint64
reference_mask (guint bits)
{
  guint64 mask = 0;

  for (guint i = 0; i < bits; i++)
    mask |= G_GUINT64_CONSTANT (1) << (62 - 2 * i);
  return mask;
}

static void
reference_init (
    Reference *ref, const guint8 key[32], gsize min_size, gsize avg_size, gsize max_size)
{
  guint bits = 0;

  for (guint j = 0; j < 64; j++)
    {
      guint8 message[23];
      guint8 block[32];

      memcpy (message, "coffer-chunker-gear-v1", 22);
      message[22] = j;
      coffer_hmac_sha256 (key, 32, message, sizeof message, block);
      for (guint k = 0; k < 4; k++)
        {
          guint64 value = 0;

          for (guint b = 0; b < 8; b++)
            value |= (guint64) block[8 * k + b] << (8 * b);
          ref->gear[4 * j + k] = value;
        }
    }
  while ((G_GUINT64_CONSTANT (1) << bits) < avg_size)
    bits++;
  ref->mask_s = reference_mask (bits + 2);
  ref->mask_l = reference_mask (bits - 2);
  ref->min_size = min_size;
  ref->avg_size = avg_size;
  ref->max_size = max_size;
}

static gsize
reference_next (const Reference *ref, const guint8 *data, gsize size, gboolean at_eof)
{
  gsize end = MIN (size, ref->max_size);
  guint64 fp = 0;

  for (gsize i = ref->min_size; i < end; i++)
    {
      fp = (fp << 1) + ref->gear[data[i]];
      if ((fp & (i < ref->avg_size ? ref->mask_s : ref->mask_l)) == 0)
        return i + 1;
    }
  if (size >= ref->max_size)
    return ref->max_size;
  return at_eof ? size : 0;
}

static void
test_masks_as_documented (void)
{
  Reference ref;

  /* The masks FORMAT.md prints for the default sizes. */
  reference_init (&ref, test_key, COFFER_CHUNK_MIN, COFFER_CHUNK_AVG, COFFER_CHUNK_MAX);
  g_assert_cmphex (ref.mask_s, ==, G_GUINT64_CONSTANT (0x5555555555500000));
  g_assert_cmphex (ref.mask_l, ==, G_GUINT64_CONSTANT (0x5555555550000000));
}

static void
test_sizes_within_bounds (void)
{
  const gsize size = 64 * MIB;
  g_autofree guint8 *data = random_data (size, 1);
  g_autoptr (CofferChunker) chunker = default_chunker (test_key);
  g_autoptr (GArray) lengths = chunk_lengths (chunker, data, size);
  gsize total = 0;
  double average;

  g_assert_cmpuint (lengths->len, >, 1);
  for (guint i = 0; i < lengths->len; i++)
    {
      gsize length = g_array_index (lengths, gsize, i);

      if (i + 1 < lengths->len)
        g_assert_cmpuint (length, >=, COFFER_CHUNK_MIN);
      g_assert_cmpuint (length, <=, COFFER_CHUNK_MAX);
      total += length;
    }
  g_assert_cmpuint (total, ==, size);

  average = (double) size / lengths->len;
  g_test_message ("%u chunks, %.0f bytes on average", lengths->len, average);
  g_assert_cmpfloat (average, >=, 0.75 * COFFER_CHUNK_AVG);
  g_assert_cmpfloat (average, <=, 1.5 * COFFER_CHUNK_AVG);
}

static void
test_deterministic (void)
{
  const gsize size = 24 * MIB;
  g_autofree guint8 *data = random_data (size, 2);
  g_autoptr (CofferChunker) first = default_chunker (test_key);
  g_autoptr (CofferChunker) second = default_chunker (test_key);
  g_autoptr (GArray) lengths = chunk_lengths (first, data, size);
  g_autoptr (GArray) again = chunk_lengths (second, data, size);
  g_autoptr (GArray) streamed = chunk_lengths_streaming (first, data, size, 64 * 1024);
  g_autoptr (GArray) streamed_odd = chunk_lengths_streaming (second, data, size, 777777);

  g_assert_cmpuint (lengths->len, >, 10);
  assert_lengths_equal (lengths, again);
  /* However the file arrives, the chunks are the same. */
  assert_lengths_equal (lengths, streamed);
  assert_lengths_equal (lengths, streamed_odd);
}

/* Fixed key, fixed data: these lengths are the format. If this test fails,
 * every chunk of every vault changed. */
static void
test_known_answer (void)
{
  static const gsize expected[] = { 461265,  1065133, 1731325, 1118077, 1107095,
                                    1333278, 1063325, 996970,  1257883, 1875907,
                                    1138452, 1177745, 1043565, 1058070, 349126 };
  const gsize size = 16 * MIB;
  g_autofree guint8 *data = random_data (size, 42);
  g_autoptr (CofferChunker) chunker = default_chunker (test_key);
  g_autoptr (GArray) lengths = chunk_lengths (chunker, data, size);

  g_assert_cmpuint (lengths->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < lengths->len; i++)
    g_assert_cmpuint (g_array_index (lengths, gsize, i), ==, expected[i]);
}

static void
test_keys_differ (void)
{
  const gsize size = 32 * MIB;
  g_autofree guint8 *data = random_data (size, 3);
  guint8 other_key[32];
  g_autoptr (CofferChunker) chunker = default_chunker (test_key);
  g_autoptr (CofferChunker) other = NULL;
  g_autoptr (GArray) lengths = chunk_lengths (chunker, data, size);
  g_autoptr (GArray) other_lengths = NULL;
  g_autoptr (GHashTable) boundaries = g_hash_table_new (g_direct_hash, g_direct_equal);
  gsize offset = 0;
  guint shared = 0;

  /* One bit of the key changes the whole table. */
  memcpy (other_key, test_key, sizeof other_key);
  other_key[31] ^= 0x80;
  other = default_chunker (other_key);
  other_lengths = chunk_lengths (other, data, size);

  for (guint i = 0; i + 1 < lengths->len; i++)
    {
      offset += g_array_index (lengths, gsize, i);
      g_hash_table_add (boundaries, GSIZE_TO_POINTER (offset));
    }
  offset = 0;
  for (guint i = 0; i + 1 < other_lengths->len; i++)
    {
      offset += g_array_index (other_lengths, gsize, i);
      if (g_hash_table_contains (boundaries, GSIZE_TO_POINTER (offset)))
        shared++;
    }
  g_assert_cmpuint (g_hash_table_size (boundaries), >, 10);
  g_assert_cmpuint (shared, ==, 0);
}

static void
check_insert_at_front (gsize inserted)
{
  const gsize size = 32 * MIB;
  g_autofree guint8 *data = random_data (size, 4);
  g_autofree guint8 *edited = g_malloc (size + inserted);
  g_autoptr (CofferChunker) chunker = default_chunker (test_key);
  g_autoptr (GArray) lengths = NULL;
  g_autoptr (GArray) edited_lengths = NULL;
  guint lost;

  memset (edited, 'x', inserted);
  memcpy (edited + inserted, data, size);
  lengths = chunk_lengths (chunker, data, size);
  edited_lengths = chunk_lengths (chunker, edited, size + inserted);

  lost = chunks_lost (data, lengths, edited, edited_lengths);
  g_test_message ("%" G_GSIZE_FORMAT " bytes inserted: %u of %u chunks lost", inserted, lost,
                  lengths->len);
  g_assert_cmpuint (lengths->len, >, 10);
  g_assert_cmpuint (lost, <=, 2);
}

static void
test_insert_at_front (void)
{
  check_insert_at_front (1);
  check_insert_at_front (100);
}

/* Replaces @remove bytes in the middle of a file with @insert others: one or
 * two of its chunks change, never more. */
static void
check_edit_in_middle (gsize remove, gsize insert)
{
  const gsize size = 32 * MIB;
  const gsize at = 16 * MIB + 12345;
  g_autofree guint8 *data = random_data (size, 5);
  g_autofree guint8 *insertion = random_data (MAX (insert, 1), 6);
  gsize edited_size = size - remove + insert;
  g_autofree guint8 *edited = g_malloc (edited_size);
  g_autoptr (CofferChunker) chunker = default_chunker (test_key);
  g_autoptr (GArray) lengths = NULL;
  g_autoptr (GArray) edited_lengths = NULL;
  guint lost;

  if (insert > 0 && remove > 0)
    insertion[0] = data[at] ^ 1;
  memcpy (edited, data, at);
  memcpy (edited + at, insertion, insert);
  memcpy (edited + at + insert, data + at + remove, size - at - remove);
  lengths = chunk_lengths (chunker, data, size);
  edited_lengths = chunk_lengths (chunker, edited, edited_size);

  lost = chunks_lost (data, lengths, edited, edited_lengths);
  g_test_message ("%" G_GSIZE_FORMAT " bytes replaced by %" G_GSIZE_FORMAT ": %u of %u chunks lost",
                  remove, insert, lost, lengths->len);
  g_assert_cmpuint (lengths->len, >, 10);
  g_assert_cmpuint (lost, >=, 1);
  g_assert_cmpuint (lost, <=, 2);
}

static void
test_change_in_middle (void)
{
  check_edit_in_middle (1, 1);       /* one byte overwritten */
  check_edit_in_middle (0, 1000);    /* bytes inserted */
  check_edit_in_middle (1000, 0);    /* bytes removed */
  check_edit_in_middle (4096, 4096); /* a block rewritten */
}

static void
test_at_eof (void)
{
  const gsize size = 8 * MIB;
  g_autofree guint8 *data = random_data (size, 7);
  g_autofree guint8 *zeros = g_malloc0 (size);
  g_autoptr (CofferChunker) chunker = default_chunker (test_key);
  gsize cut = coffer_chunker_next (chunker, data, size, FALSE);

  /* A cut found in the buffer is returned whether or not the file ends. */
  g_assert_cmpuint (cut, >, COFFER_CHUNK_MIN);
  g_assert_cmpuint (cut, <, COFFER_CHUNK_MAX);
  g_assert_cmpuint (coffer_chunker_next (chunker, data, cut, FALSE), ==, cut);
  g_assert_cmpuint (coffer_chunker_next (chunker, data, cut + 1, FALSE), ==, cut);

  /* The byte that completes the cut is missing: more data, or the rest is the chunk. */
  g_assert_cmpuint (coffer_chunker_next (chunker, data, cut - 1, FALSE), ==, 0);
  g_assert_cmpuint (coffer_chunker_next (chunker, data, cut - 1, TRUE), ==, cut - 1);

  /* No cut in zeros: the chunk stops at the maximum, and not before the
   * caller has supplied it. */
  g_assert_cmpuint (coffer_chunker_next (chunker, zeros, size, FALSE), ==, COFFER_CHUNK_MAX);
  g_assert_cmpuint (coffer_chunker_next (chunker, zeros, size, TRUE), ==, COFFER_CHUNK_MAX);
  g_assert_cmpuint (coffer_chunker_next (chunker, zeros, COFFER_CHUNK_MAX, FALSE), ==,
                    COFFER_CHUNK_MAX);
  g_assert_cmpuint (coffer_chunker_next (chunker, zeros, COFFER_CHUNK_MAX - 1, FALSE), ==, 0);
  g_assert_cmpuint (coffer_chunker_next (chunker, zeros, COFFER_CHUNK_MAX - 1, TRUE), ==,
                    COFFER_CHUNK_MAX - 1);
}

static void
test_small_inputs (void)
{
  const gsize sizes[] = { 1, 2, 1000, COFFER_CHUNK_MIN - 1, COFFER_CHUNK_MIN };
  g_autofree guint8 *data = random_data (COFFER_CHUNK_MIN, 8);
  g_autoptr (CofferChunker) chunker = default_chunker (test_key);

  /* An empty file has no chunk. */
  g_assert_cmpuint (coffer_chunker_next (chunker, data, 0, TRUE), ==, 0);
  g_assert_cmpuint (coffer_chunker_next (chunker, NULL, 0, TRUE), ==, 0);

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autoptr (GArray) lengths = chunk_lengths (chunker, data, sizes[i]);

      g_assert_cmpuint (coffer_chunker_next (chunker, data, sizes[i], FALSE), ==, 0);
      g_assert_cmpuint (lengths->len, ==, 1);
      g_assert_cmpuint (g_array_index (lengths, gsize, 0), ==, sizes[i]);
    }
}

/* Runs of a few byte values: the hash repeats itself, unlike random data. */
static guint8 *
patterned_data (gsize size, guint64 seed)
{
  guint8 *data = g_malloc (size);
  guint64 state = seed;
  gsize i = 0;

  while (i < size)
    {
      guint64 r = next_random (&state);
      gsize run = MIN (1 + (r >> 8) % 200, size - i);

      memset (data + i, "\0\0\0 ae\n\xff"[r & 7], run);
      i += run;
    }
  return data;
}

static void
test_matches_reference (void)
{
  const struct
  {
    gsize min_size, avg_size, max_size;
  } params[] = {
    { COFFER_CHUNK_MIN, COFFER_CHUNK_AVG, COFFER_CHUNK_MAX },
    { 0, 64, 64 },
    { 0, 64, 200 },
    { 1, 64, 1000 },
    { 33, 128, 4097 },
    { 100, 256, 1000 },
    { 2047, 4096, 16385 },
    { 8192, 8192, 65536 },
  };
  const gsize size = 8 * MIB;

  for (guint k = 0; k < 4; k++)
    {
      guint8 key[32];
      g_autofree guint8 *random = random_data (size, 100 + k);
      g_autofree guint8 *patterned = patterned_data (size, 200 + k);
      guint64 state = 300 + k;

      for (guint b = 0; b < 32; b++)
        key[b] = next_random (&state);

      for (guint p = 0; p < G_N_ELEMENTS (params); p++)
        {
          g_autoptr (CofferChunker) chunker =
              coffer_chunker_new (key, params[p].min_size, params[p].avg_size, params[p].max_size);
          Reference ref;
          const guint8 *inputs[] = { random, patterned };
          guint checked = 0;

          g_assert_nonnull (chunker);
          reference_init (&ref, key, params[p].min_size, params[p].avg_size, params[p].max_size);

          for (guint d = 0; d < G_N_ELEMENTS (inputs); d++)
            {
              const guint8 *data = inputs[d];
              gsize offset = 0;

              while (offset < size)
                {
                  gsize available = size - offset;
                  gsize expected = reference_next (&ref, data + offset, available, TRUE);
                  gsize prefix = next_random (&state) % MIN (available, params[p].max_size + 2);

                  g_assert_cmpuint (coffer_chunker_next (chunker, data + offset, available, TRUE),
                                    ==, expected);
                  /* And on a buffer cut short at a random length, both ways. */
                  g_assert_cmpuint (coffer_chunker_next (chunker, data + offset, prefix, FALSE), ==,
                                    reference_next (&ref, data + offset, prefix, FALSE));
                  g_assert_cmpuint (coffer_chunker_next (chunker, data + offset, prefix, TRUE), ==,
                                    reference_next (&ref, data + offset, prefix, TRUE));
                  offset += expected;
                  checked++;
                }
            }
          g_assert_cmpuint (checked, >, 2);
        }
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/libcoffer/chunker/masks-as-documented", test_masks_as_documented);
  g_test_add_func ("/libcoffer/chunker/matches-reference", test_matches_reference);
  g_test_add_func ("/libcoffer/chunker/known-answer", test_known_answer);
  g_test_add_func ("/libcoffer/chunker/sizes-within-bounds", test_sizes_within_bounds);
  g_test_add_func ("/libcoffer/chunker/deterministic", test_deterministic);
  g_test_add_func ("/libcoffer/chunker/keys-differ", test_keys_differ);
  g_test_add_func ("/libcoffer/chunker/boundaries-stable-under-insert", test_insert_at_front);
  g_test_add_func ("/libcoffer/chunker/change-in-middle", test_change_in_middle);
  g_test_add_func ("/libcoffer/chunker/at-eof", test_at_eof);
  g_test_add_func ("/libcoffer/chunker/small-inputs", test_small_inputs);

  return g_test_run ();
}
