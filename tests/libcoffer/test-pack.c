/* test-pack.c: a pack describes itself through its header, and a damaged,
 * truncated or forged header is refused instead of being believed. */
#include "config.h"

#include <string.h>

#include "coffer.h"

typedef struct
{
  CofferMasterKeys *keys;
  GBytes *pack;
  char name[COFFER_PACK_NAME_LENGTH + 1];
  GArray *entries;  /* CofferPackEntry */
  GPtrArray *plain; /* GBytes, the plaintext of each blob */
} Pack;

static void
pack_free (Pack *pack)
{
  coffer_master_keys_free (pack->keys);
  g_bytes_unref (pack->pack);
  g_array_unref (pack->entries);
  g_ptr_array_unref (pack->plain);
  g_free (pack);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Pack, pack_free)

static GBytes *
plaintext (guint i, gsize size)
{
  guint8 *data = g_malloc (size + 1);

  /* Every other blob compresses. */
  if (i % 2 == 0)
    coffer_random_bytes (data, size);
  else
    for (gsize j = 0; j < size; j++)
      data[j] = "coffer pack test "[j % 17] + i;
  return g_bytes_new_take (data, size);
}

static void
add_blob (CofferPackWriter *writer,
          const CofferMasterKeys *keys,
          CofferBlobType type,
          GBytes *plain,
          guint8 id[32])
{
  g_autoptr (GBytes) blob = NULL;
  gsize size;
  const guint8 *data = g_bytes_get_data (plain, &size);

  coffer_blob_id (keys, data, size, id);
  blob = coffer_blob_seal (keys, id, type, data, size, 3);
  coffer_pack_writer_add (writer, id, blob, size);
}

static Pack *
make_pack (CofferBlobType type, guint n_blobs, gsize blob_size)
{
  Pack *pack = g_new0 (Pack, 1);
  g_autoptr (CofferPackWriter) writer = NULL;

  pack->keys = coffer_master_keys_generate ();
  pack->plain = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  writer = coffer_pack_writer_new (pack->keys, type, NULL);
  for (guint i = 0; i < n_blobs; i++)
    {
      GBytes *plain = plaintext (i, blob_size + i);
      guint8 id[32];

      add_blob (writer, pack->keys, type, plain, id);
      g_ptr_array_add (pack->plain, plain);
    }
  g_assert_cmpuint (coffer_pack_writer_get_count (writer), ==, n_blobs);
  pack->pack = coffer_pack_writer_finish (writer, pack->name, &pack->entries);
  g_assert_cmpuint (coffer_pack_writer_get_count (writer), ==, 0);
  g_assert_cmpuint (coffer_pack_writer_get_size (writer), ==, 0);
  return pack;
}

static GArray *
read_header (Pack *pack, const guint8 *data, gsize size, GError **error)
{
  g_autoptr (GBytes) tail = g_bytes_new (data, size);

  return coffer_pack_read_header (pack->keys, pack->name, tail, size, error);
}

static void
assert_corrupt (Pack *pack, const guint8 *data, gsize size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) entries = read_header (pack, data, size, &error);

  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT);
  g_assert_null (entries);
  g_assert_nonnull (strstr (error->message, pack->name));
}

static void
assert_entries_equal (GArray *a, GArray *b)
{
  g_assert_cmpuint (a->len, ==, b->len);
  for (guint i = 0; i < a->len; i++)
    {
      const CofferPackEntry *x = &g_array_index (a, CofferPackEntry, i);
      const CofferPackEntry *y = &g_array_index (b, CofferPackEntry, i);

      g_assert_cmpmem (x->id, 32, y->id, 32);
      g_assert_cmpuint (x->type, ==, y->type);
      g_assert_cmpuint (x->offset, ==, y->offset);
      g_assert_cmpuint (x->length, ==, y->length);
      g_assert_cmpuint (x->raw_length, ==, y->raw_length);
    }
}

static GBytes *
open_blob (Pack *pack, const guint8 *data, const CofferPackEntry *entry, GError **error)
{
  return coffer_blob_open (pack->keys, entry->id, entry->type, data + entry->offset, entry->length,
                           entry->raw_length, error);
}

static void
test_round_trip (void)
{
  g_autoptr (Pack) pack = make_pack (COFFER_BLOB_DATA, 12, 5000);
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) entries = NULL;
  g_autofree char *digest = NULL;
  gsize size;
  const guint8 *data = g_bytes_get_data (pack->pack, &size);
  guint32 end = 0;

  entries = read_header (pack, data, size, &error);
  g_assert_no_error (error);
  assert_entries_equal (entries, pack->entries);

  /* Named by the SHA-256 of its header (with its length) and then each
   * blob's tag, its last 16 bytes: FORMAT.md, "Pack (format 2)". */
  {
    g_autoptr (GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
    const CofferPackEntry *last = &g_array_index (entries, CofferPackEntry, entries->len - 1);
    gsize header_at = last->offset + last->length;

    g_assert_cmpuint (data[header_at], ==, 2);
    g_checksum_update (checksum, data + header_at, size - header_at);
    for (guint i = 0; i < entries->len; i++)
      {
        const CofferPackEntry *entry = &g_array_index (entries, CofferPackEntry, i);
        g_checksum_update (checksum, data + entry->offset + entry->length - 16, 16);
      }
    digest = g_strdup (g_checksum_get_string (checksum));
  }
  g_assert_cmpstr (pack->name, ==, digest);
  g_assert_true (coffer_pack_name_matches (pack->name, pack->pack, entries));
  for (guint i = 0; i < entries->len; i++)
    {
      const CofferPackEntry *entry = &g_array_index (entries, CofferPackEntry, i);
      g_autoptr (GBytes) opened = open_blob (pack, data, entry, &error);

      g_assert_no_error (error);
      g_assert_true (g_bytes_equal (opened, g_ptr_array_index (pack->plain, i)));
      g_assert_cmpuint (entry->type, ==, COFFER_BLOB_DATA);
      g_assert_cmpuint (entry->offset, ==, end);
      end = entry->offset + entry->length;
    }
  /* Compressible blobs were compressed. */
  g_assert_cmpuint (g_array_index (entries, CofferPackEntry, 1).length, <,
                    g_array_index (entries, CofferPackEntry, 1).raw_length);
}

/* The header is read from the pack's end alone: first its length, then just
 * enough bytes; or the most a header can need in one request. */
static void
test_header_from_tail (void)
{
  g_autoptr (Pack) pack = make_pack (COFFER_BLOB_TREE, 5, 300000);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) last4 = NULL;
  g_autoptr (GBytes) tail = NULL;
  g_autoptr (GBytes) big_tail = NULL;
  g_autoptr (GArray) entries = NULL;
  g_autoptr (GArray) again = NULL;
  gsize size = g_bytes_get_size (pack->pack);
  guint32 length;

  last4 = g_bytes_new_from_bytes (pack->pack, size - 4, 4);
  length = coffer_pack_header_length (last4, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (length, ==, 29 + 5 + 44 * 5);

  tail = g_bytes_new_from_bytes (pack->pack, size - 4 - length, 4 + length);
  entries = coffer_pack_read_header (pack->keys, pack->name, tail, size, &error);
  g_assert_no_error (error);
  assert_entries_equal (entries, pack->entries);
  g_assert_cmpuint (g_array_index (entries, CofferPackEntry, 0).type, ==, COFFER_BLOB_TREE);

  g_assert_cmpuint (size, >, COFFER_PACK_MAX_TAIL);
  big_tail = g_bytes_new_from_bytes (pack->pack, size - COFFER_PACK_MAX_TAIL, COFFER_PACK_MAX_TAIL);
  again = coffer_pack_read_header (pack->keys, pack->name, big_tail, size, &error);
  g_assert_no_error (error);
  assert_entries_equal (again, pack->entries);

  g_clear_pointer (&tail, g_bytes_unref);
  g_clear_pointer (&entries, g_array_unref);
  tail = g_bytes_new_from_bytes (pack->pack, size - 3 - length, 3 + length);
  entries = coffer_pack_read_header (pack->keys, pack->name, tail, size, &error);
  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT);
  g_assert_null (entries);
}

static void
test_writer_reusable (void)
{
  g_autoptr (CofferMasterKeys) keys = coffer_master_keys_generate ();
  g_autoptr (CofferPackWriter) writer = coffer_pack_writer_new (keys, COFFER_BLOB_DATA, NULL);
  g_autoptr (GBytes) plain = plaintext (0, 1000);
  g_autoptr (GBytes) first = NULL;
  g_autoptr (GBytes) second = NULL;
  g_autoptr (GArray) first_entries = NULL;
  g_autoptr (GArray) second_entries = NULL;
  char first_name[65], second_name[65];
  guint8 id[32];

  add_blob (writer, keys, COFFER_BLOB_DATA, plain, id);
  g_assert_cmpuint (coffer_pack_writer_get_size (writer), ==, 1000 + COFFER_BLOB_OVERHEAD);
  first = coffer_pack_writer_finish (writer, first_name, &first_entries);
  add_blob (writer, keys, COFFER_BLOB_DATA, plain, id);
  second = coffer_pack_writer_finish (writer, second_name, &second_entries);

  /* Same blob, new nonces: another pack. */
  g_assert_cmpstr (first_name, !=, second_name);
  g_assert_cmpuint (first_entries->len, ==, 1);
  g_assert_cmpuint (second_entries->len, ==, 1);
  g_assert_cmpuint (g_array_index (second_entries, CofferPackEntry, 0).offset, ==, 0);
}

/* Reads every blob of @pack back and compares it with what went in. */
static void
assert_blobs_read_back (const CofferMasterKeys *keys,
                        const char *name,
                        GBytes *pack,
                        GPtrArray *plain)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) entries =
      coffer_pack_read_header (keys, name, pack, g_bytes_get_size (pack), &error);
  const guint8 *data = g_bytes_get_data (pack, NULL);

  g_assert_no_error (error);
  g_assert_cmpuint (entries->len, ==, plain->len);
  for (guint i = 0; i < entries->len; i++)
    {
      const CofferPackEntry *entry = &g_array_index (entries, CofferPackEntry, i);
      g_autoptr (GBytes) opened =
          coffer_blob_open (keys, entry->id, entry->type, data + entry->offset, entry->length,
                            entry->raw_length, &error);

      g_assert_no_error (error);
      g_assert_true (g_bytes_equal (opened, g_ptr_array_index (plain, i)));
    }
}

/* Packs gathered in a pool's buffers: a buffer goes back to the pool only
 * once the pack's bytes are freed, a pack outlives its writer and the pool,
 * and a pack of blobs larger than a buffer still comes out whole. */
static void
test_pooled_buffers (void)
{
  g_autoptr (CofferMasterKeys) keys = coffer_master_keys_generate ();
  g_autoptr (CofferBufferPool) pool = coffer_buffer_pool_new (COFFER_PACK_BUFFER_SIZE, 1);
  g_autoptr (CofferPackWriter) writer = coffer_pack_writer_new (keys, COFFER_BLOB_TREE, pool);
  g_autoptr (GPtrArray) plain = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr (GBytes) first = NULL;
  g_autoptr (GBytes) second = NULL;
  g_autoptr (GBytes) third = NULL;
  g_autoptr (GBytes) big = NULL;
  const guint8 *first_data;
  char name[65];
  guint8 id[32];

  g_ptr_array_add (plain, plaintext (0, 3000));
  add_blob (writer, keys, COFFER_BLOB_TREE, g_ptr_array_index (plain, 0), id);
  first = coffer_pack_writer_finish (writer, name, NULL);
  first_data = g_bytes_get_data (first, NULL);
  assert_blobs_read_back (keys, name, first, plain);
  /* Block-aligned, so a local vault can write it directly. */
  g_assert_cmpuint ((guintptr) first_data % COFFER_BUFFER_POOL_ALIGNMENT, ==, 0);

  /* The first pack's buffer is still lent: the second pack is elsewhere. */
  add_blob (writer, keys, COFFER_BLOB_TREE, g_ptr_array_index (plain, 0), id);
  second = coffer_pack_writer_finish (writer, name, NULL);
  g_assert_true (g_bytes_get_data (second, NULL) != first_data);
  assert_blobs_read_back (keys, name, second, plain);

  /* Freed, the first buffer is kept (the pool keeps one) and gathers the
   * pack after the one already begun. */
  g_clear_pointer (&first, g_bytes_unref);
  g_clear_pointer (&second, g_bytes_unref);
  add_blob (writer, keys, COFFER_BLOB_TREE, g_ptr_array_index (plain, 0), id);
  g_clear_pointer (&third, g_bytes_unref);
  third = coffer_pack_writer_finish (writer, name, NULL);
  add_blob (writer, keys, COFFER_BLOB_TREE, g_ptr_array_index (plain, 0), id);
  g_clear_pointer (&third, g_bytes_unref);
  third = coffer_pack_writer_finish (writer, name, NULL);
  g_assert_true (g_bytes_get_data (third, NULL) == first_data);
  assert_blobs_read_back (keys, name, third, plain);

  /* Two random 12 MiB trees do not fit in one buffer: it grows. */
  g_ptr_array_set_size (plain, 0);
  for (guint i = 0; i < 2; i++)
    {
      g_ptr_array_add (plain, plaintext (0, 12 * 1024 * 1024));
      add_blob (writer, keys, COFFER_BLOB_TREE, g_ptr_array_index (plain, i), id);
    }
  big = coffer_pack_writer_finish (writer, name, NULL);
  g_assert_cmpuint (g_bytes_get_size (big), >, COFFER_PACK_BUFFER_SIZE);

  /* The packs outlive the writer and the last reference to the pool. */
  g_clear_pointer (&writer, coffer_pack_writer_free);
  g_clear_pointer (&pool, coffer_buffer_pool_unref);
  assert_blobs_read_back (keys, name, big, plain);
}

static void
test_is_full (void)
{
  g_autoptr (CofferMasterKeys) keys = coffer_master_keys_generate ();
  g_autoptr (CofferPackWriter) writer = coffer_pack_writer_new (keys, COFFER_BLOB_DATA, NULL);
  g_autoptr (GBytes) big = plaintext (0, 4 * 1024 * 1024);
  g_autoptr (GBytes) small = plaintext (0, 1);
  g_autoptr (GBytes) pack = NULL;
  g_autoptr (GArray) entries = NULL;
  g_autoptr (GArray) read = NULL;
  g_autoptr (GError) error = NULL;
  char name[65];
  guint8 id[32];

  while (!coffer_pack_writer_is_full (writer))
    add_blob (writer, keys, COFFER_BLOB_DATA, big, id);
  g_assert_cmpuint (coffer_pack_writer_get_size (writer), >=, COFFER_PACK_TARGET_SIZE);
  g_clear_pointer (&pack, g_bytes_unref);
  pack = coffer_pack_writer_finish (writer, name, NULL);

  /* Tiny files fill a pack by count before size. */
  while (!coffer_pack_writer_is_full (writer))
    add_blob (writer, keys, COFFER_BLOB_DATA, small, id);
  g_assert_cmpuint (coffer_pack_writer_get_count (writer), ==, COFFER_PACK_MAX_ENTRIES);
  g_clear_pointer (&pack, g_bytes_unref);
  pack = coffer_pack_writer_finish (writer, name, &entries);

  /* The largest header there is still reads. */
  read = coffer_pack_read_header (keys, name, pack, g_bytes_get_size (pack), &error);
  g_assert_no_error (error);
  assert_entries_equal (read, entries);
}

/* A flipped bit anywhere is caught: in the header by reading it, in a blob by
 * opening that blob. */
static void
test_flipped_bits (void)
{
  g_autoptr (Pack) pack = make_pack (COFFER_BLOB_DATA, 6, 2000);
  gsize size;
  g_autofree guint8 *copy = g_bytes_unref_to_data (g_bytes_ref (pack->pack), &size);
  const CofferPackEntry *last = &g_array_index (pack->entries, CofferPackEntry, 5);
  gsize header_at = last->offset + last->length;
  guint header_hits = 0;

  for (guint n = 0; n < 3000; n++)
    {
      /* Half the positions in the header and its length. */
      gsize bit = n % 2 == 0 ? (gsize) g_test_rand_int_range (0, size * 8)
                             : header_at * 8 + g_test_rand_int_range (0, (size - header_at) * 8);
      g_autoptr (GError) error = NULL;
      g_autoptr (GArray) entries = NULL;

      copy[bit / 8] ^= 1 << (bit % 8);
      entries = read_header (pack, copy, size, &error);
      if (bit / 8 >= header_at)
        {
          g_assert_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT);
          g_assert_nonnull (strstr (error->message, pack->name));
          header_hits++;
        }
      else
        {
          g_assert_no_error (error);
          for (guint i = 0; i < entries->len; i++)
            {
              const CofferPackEntry *entry = &g_array_index (entries, CofferPackEntry, i);
              g_autoptr (GBytes) opened = NULL;

              if (bit / 8 < entry->offset || bit / 8 >= entry->offset + entry->length)
                continue;
              opened = open_blob (pack, copy, entry, &error);
              g_assert_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT);
              g_assert_null (opened);
            }
          g_assert_nonnull (error);
        }
      copy[bit / 8] ^= 1 << (bit % 8);
    }
  g_assert_cmpuint (header_hits, >=, 1500);
}

static void
test_truncated (void)
{
  g_autoptr (Pack) pack = make_pack (COFFER_BLOB_DATA, 3, 100);
  gsize size;
  const guint8 *data = g_bytes_get_data (pack->pack, &size);
  g_autofree guint8 *longer = g_malloc (size + 1);

  /* Cut at the end, or at the start (the header then sits elsewhere than it
   * says). */
  for (gsize length = 0; length < size; length++)
    {
      assert_corrupt (pack, data, length);
      assert_corrupt (pack, data + size - length, length);
    }
  longer[0] = 0;
  memcpy (longer + 1, data, size);
  assert_corrupt (pack, longer, size + 1);
}

static void
test_header_length_bounds (void)
{
  guint32 values[] = { 0, 4, 77, COFFER_PACK_MAX_HEADER_SIZE + 1, G_MAXUINT32 };
  g_autoptr (GBytes) short_bytes = g_bytes_new ("abc", 3);
  g_autoptr (GError) error = NULL;
  guint8 ok[4] = { 78, 0, 0, 0 };
  g_autoptr (GBytes) ok_bytes = g_bytes_new (ok, 4);

  for (guint i = 0; i < G_N_ELEMENTS (values); i++)
    {
      guint32 le = GUINT32_TO_LE (values[i]);
      g_autoptr (GBytes) bytes = g_bytes_new (&le, 4);

      g_assert_cmpuint (coffer_pack_header_length (bytes, &error), ==, 0);
      g_assert_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT);
      g_clear_error (&error);
    }
  g_assert_cmpuint (coffer_pack_header_length (short_bytes, &error), ==, 0);
  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT);
  g_clear_error (&error);
  g_assert_cmpuint (coffer_pack_header_length (ok_bytes, &error), ==, 78);
  g_assert_no_error (error);
}

/* A header written by hand as FORMAT.md describes it: the blob area is
 * @area_size zero bytes; each entry is (offset, length, raw length). */
static GBytes *
forge_pack (const CofferMasterKeys *keys,
            guint8 version,
            guint8 type,
            guint32 count,
            const guint32 (*entries)[3],
            guint n_entries,
            gsize area_size)
{
  GByteArray *plain = g_byte_array_new ();
  GByteArray *pack = g_byte_array_new ();
  guint8 key[32];
  guint8 aad[5];
  guint32 le;
  gsize header_at;
  guint32 header_size;

  g_byte_array_append (plain, &type, 1);
  le = GUINT32_TO_LE (count);
  g_byte_array_append (plain, (guint8 *) &le, 4);
  for (guint i = 0; i < n_entries; i++)
    {
      guint8 id[32];

      coffer_random_bytes (id, 32);
      g_byte_array_append (plain, id, 32);
      for (guint j = 0; j < 3; j++)
        {
          le = GUINT32_TO_LE (entries[i][j]);
          g_byte_array_append (plain, (guint8 *) &le, 4);
        }
    }

  g_byte_array_set_size (pack, area_size);
  if (area_size > 0) /* an empty GByteArray has no data to fill */
    memset (pack->data, 0, area_size);
  header_at = pack->len;
  header_size = 1 + 12 + plain->len + 16;
  g_byte_array_set_size (pack, header_at + header_size + 4);
  coffer_hmac_sha256 (keys->encryption, 32, "coffer-pack-header", 18, key);
  aad[0] = version;
  le = GUINT32_TO_LE ((guint32) header_at);
  memcpy (aad + 1, &le, 4);
  pack->data[header_at] = version;
  coffer_random_bytes (pack->data + header_at + 1, 12);
  g_assert_true (coffer_aes_gcm_encrypt (key, pack->data + header_at + 1, aad, 5, plain->data,
                                         plain->len, pack->data + header_at + 13,
                                         pack->data + header_at + 13 + plain->len));
  le = GUINT32_TO_LE (header_size);
  memcpy (pack->data + header_at + header_size, &le, 4);
  g_byte_array_unref (plain);
  return g_byte_array_free_to_bytes (pack);
}

static void
assert_forged (const CofferMasterKeys *keys,
               guint8 version,
               guint8 type,
               guint32 count,
               const guint32 (*entries)[3],
               guint n_entries,
               gsize area_size,
               int code)
{
  g_autoptr (GBytes) pack = forge_pack (keys, version, type, count, entries, n_entries, area_size);
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) read = NULL;

  read = coffer_pack_read_header (keys, "forged", pack, g_bytes_get_size (pack), &error);
  if (code < 0)
    {
      g_assert_no_error (error);
      g_assert_cmpuint (read->len, ==, n_entries);
      return;
    }
  g_assert_error (error, COFFER_ERROR, code);
  g_assert_nonnull (strstr (error->message, "forged"));
  g_assert_null (read);
}

static void
test_forged_headers (void)
{
  g_autoptr (CofferMasterKeys) keys = coffer_master_keys_generate ();
  const guint32 good[][3] = { { 0, 100, 200 }, { 100, 50, 20 }, { 150, 30, 0 } };
  const guint32 overlap[][3] = { { 0, 100, 200 }, { 90, 60, 200 }, { 150, 30, 0 } };
  const guint32 past_header[][3] = { { 0, 100, 200 }, { 100, 50, 20 }, { 150, 31, 1 } };
  const guint32 gap[][3] = { { 0, 100, 200 }, { 101, 49, 20 }, { 150, 30, 0 } };
  const guint32 first_late[][3] = { { 1, 99, 200 }, { 100, 50, 20 }, { 150, 30, 0 } };
  const guint32 short_end[][3] = { { 0, 100, 200 }, { 100, 50, 20 }, { 150, 30, 0 } };
  const guint32 too_short[][3] = { { 0, 100, 200 }, { 100, 29, 20 }, { 129, 51, 40 } };
  const guint32 too_long[][3] = { { 0, 100, 200 }, { 100, 51, 20 }, { 151, 29, 0 } };
  const guint32 too_big[][3] = { { 0, 100, 64 * 1024 * 1024 }, { 100, 50, 20 }, { 150, 30, 0 } };
  const guint32 wraps[][3] = { { 0, 100, 200 }, { 100, 50, 20 }, { G_MAXUINT32 - 10, 40, 200 } };

  assert_forged (keys, 1, COFFER_BLOB_DATA, 3, good, 3, 180, -1);
  assert_forged (keys, 2, COFFER_BLOB_DATA, 3, good, 3, 180, -1);
  assert_forged (keys, 3, COFFER_BLOB_DATA, 3, good, 3, 180, COFFER_ERROR_NEWER_FORMAT);
  assert_forged (keys, 0, COFFER_BLOB_DATA, 3, good, 3, 180, COFFER_ERROR_CORRUPT);
  assert_forged (keys, 1, 2, 3, good, 3, 180, COFFER_ERROR_CORRUPT);
  assert_forged (keys, 1, COFFER_BLOB_DATA, 2, good, 3, 180, COFFER_ERROR_CORRUPT);
  assert_forged (keys, 1, COFFER_BLOB_DATA, 4, good, 3, 180, COFFER_ERROR_CORRUPT);
  assert_forged (keys, 1, COFFER_BLOB_DATA, G_MAXUINT32, good, 3, 180, COFFER_ERROR_CORRUPT);
  assert_forged (keys, 1, COFFER_BLOB_DATA, 0, good, 0, 0, COFFER_ERROR_CORRUPT);
  assert_forged (keys, 1, COFFER_BLOB_DATA, 3, overlap, 3, 180, COFFER_ERROR_CORRUPT);
  assert_forged (keys, 1, COFFER_BLOB_DATA, 3, past_header, 3, 180, COFFER_ERROR_CORRUPT);
  assert_forged (keys, 1, COFFER_BLOB_DATA, 3, gap, 3, 180, COFFER_ERROR_CORRUPT);
  assert_forged (keys, 1, COFFER_BLOB_DATA, 3, first_late, 3, 180, COFFER_ERROR_CORRUPT);
  assert_forged (keys, 1, COFFER_BLOB_DATA, 3, short_end, 3, 181, COFFER_ERROR_CORRUPT);
  assert_forged (keys, 1, COFFER_BLOB_DATA, 3, too_short, 3, 180, COFFER_ERROR_CORRUPT);
  assert_forged (keys, 1, COFFER_BLOB_DATA, 3, too_long, 3, 180, COFFER_ERROR_CORRUPT);
  assert_forged (keys, 1, COFFER_BLOB_DATA, 3, too_big, 3, 180, COFFER_ERROR_CORRUPT);
  assert_forged (keys, 1, COFFER_BLOB_DATA, 3, wraps, 3, 180, COFFER_ERROR_CORRUPT);
}

/* A format 1 pack (named by all its bytes) is still read and its name
 * checked; in either format, a changed header or tag no longer matches the
 * name, and a changed ciphertext fails its blob's tag. */
static void
test_name_matches (void)
{
  g_autoptr (Pack) pack = make_pack (COFFER_BLOB_DATA, 4, 3000);
  g_autoptr (CofferMasterKeys) keys = coffer_master_keys_generate ();
  const guint32 good[][3] = { { 0, 100, 200 }, { 100, 50, 20 }, { 150, 30, 0 } };
  g_autoptr (GBytes) old = forge_pack (keys, 1, COFFER_BLOB_DATA, 3, good, 3, 180);
  g_autofree char *old_name = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, old);
  g_autoptr (GArray) old_entries = NULL;
  g_autoptr (GError) error = NULL;
  gsize size = g_bytes_get_size (pack->pack);
  const CofferPackEntry *second = &g_array_index (pack->entries, CofferPackEntry, 1);
  const gsize places[] = { second->offset + second->length - 1, size - 30, size - 1 };

  old_entries = coffer_pack_read_header (keys, old_name, old, g_bytes_get_size (old), &error);
  g_assert_no_error (error);
  g_assert_true (coffer_pack_name_matches (old_name, old, old_entries));
  g_assert_false (coffer_pack_name_matches (pack->name, old, old_entries));
  g_assert_true (coffer_pack_name_matches (pack->name, pack->pack, pack->entries));

  /* A tag, the header, its length. */
  for (guint i = 0; i < G_N_ELEMENTS (places); i++)
    {
      g_autofree guint8 *copy = g_memdup2 (g_bytes_get_data (pack->pack, NULL), size);
      g_autoptr (GBytes) damaged = NULL;

      copy[places[i]] ^= 0x20;
      damaged = g_bytes_new_take (g_steal_pointer (&copy), size);
      g_assert_false (coffer_pack_name_matches (pack->name, damaged, pack->entries));
    }

  /* The ciphertext: the name stands, the blob does not open. */
  {
    g_autofree guint8 *copy = g_memdup2 (g_bytes_get_data (pack->pack, NULL), size);
    g_autoptr (GBytes) damaged = NULL;
    g_autoptr (GBytes) opened = NULL;

    copy[second->offset + second->length / 2] ^= 0x01;
    damaged = g_bytes_new_take (g_steal_pointer (&copy), size);
    g_assert_true (coffer_pack_name_matches (pack->name, damaged, pack->entries));
    opened = open_blob (pack, g_bytes_get_data (damaged, NULL), second, &error);
    g_assert_null (opened);
    g_assert_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT);
  }
}

static void
test_wrong_keys (void)
{
  g_autoptr (Pack) pack = make_pack (COFFER_BLOB_DATA, 2, 100);
  g_autoptr (CofferMasterKeys) other = coffer_master_keys_generate ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) entries = NULL;

  entries = coffer_pack_read_header (other, pack->name, pack->pack, g_bytes_get_size (pack->pack),
                                     &error);
  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT);
  g_assert_null (entries);
}

static void
test_too_large (void)
{
  g_autoptr (Pack) pack = make_pack (COFFER_BLOB_DATA, 2, 100);
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) entries = NULL;

  entries = coffer_pack_read_header (pack->keys, pack->name, pack->pack,
                                     G_GUINT64_CONSTANT (1) << 40, &error);
  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT);
  g_assert_null (entries);
}

static void
test_object_name (void)
{
  const char *pack = "3fa1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1";
  g_autofree char *name = coffer_pack_object_name ("0123abcd", pack);

  g_assert_cmpstr (name, ==,
                   "machines/0123abcd/data/3f/"
                   "3fa1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/libcoffer/pack/round-trip", test_round_trip);
  g_test_add_func ("/libcoffer/pack/header-from-tail", test_header_from_tail);
  g_test_add_func ("/libcoffer/pack/writer-reusable", test_writer_reusable);
  g_test_add_func ("/libcoffer/pack/pooled-buffers", test_pooled_buffers);
  g_test_add_func ("/libcoffer/pack/full-by-size-or-count", test_is_full);
  g_test_add_func ("/libcoffer/pack/flipped-bits-are-corrupt", test_flipped_bits);
  g_test_add_func ("/libcoffer/pack/truncated-is-corrupt", test_truncated);
  g_test_add_func ("/libcoffer/pack/header-length-bounds", test_header_length_bounds);
  g_test_add_func ("/libcoffer/pack/forged-headers", test_forged_headers);
  g_test_add_func ("/libcoffer/pack/name-matches", test_name_matches);
  g_test_add_func ("/libcoffer/pack/wrong-keys", test_wrong_keys);
  g_test_add_func ("/libcoffer/pack/larger-than-any-pack", test_too_large);
  g_test_add_func ("/libcoffer/pack/object-name", test_object_name);

  return g_test_run ();
}
