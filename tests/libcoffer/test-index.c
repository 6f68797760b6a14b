/* test-index.c: the index finds every blob it was told about, its files give
 * back exactly what was written, and a damaged file changes nothing. */
#include "config.h"

#include <string.h>

#include "coffer.h"

/* A pack's worth of made-up entries: random ids, blobs back to back. */
static GArray *
fake_entries (guint count, CofferBlobType type)
{
  GArray *entries = g_array_sized_new (FALSE, TRUE, sizeof (CofferPackEntry), count);
  guint32 offset = 0;

  for (guint i = 0; i < count; i++)
    {
      CofferPackEntry entry = { 0 };

      coffer_random_bytes (entry.id, sizeof entry.id);
      entry.type = type;
      entry.offset = offset;
      /* Small enough for 1,000 of them to fit in a pack. */
      entry.raw_length = g_test_rand_int_range (0, 60000);
      entry.length = COFFER_BLOB_OVERHEAD + entry.raw_length -
                     g_test_rand_int_range (0, MIN (entry.raw_length, 1000) + 1);
      offset += entry.length;
      g_array_append_val (entries, entry);
    }
  return entries;
}

typedef struct
{
  guint8 pack[32];
  GArray *entries;
} FakePack;

static void
fake_pack_free (gpointer data)
{
  FakePack *pack = data;

  g_array_unref (pack->entries);
  g_free (pack);
}

/* Adds @n_packs packs of @per_pack entries; returns them. */
static GPtrArray *
add_packs (CofferIndex *index, guint n_packs, guint per_pack)
{
  GPtrArray *packs = g_ptr_array_new_with_free_func (fake_pack_free);

  for (guint i = 0; i < n_packs; i++)
    {
      FakePack *pack = g_new0 (FakePack, 1);

      coffer_random_bytes (pack->pack, sizeof pack->pack);
      pack->entries = fake_entries (per_pack, i % 3 == 2 ? COFFER_BLOB_TREE : COFFER_BLOB_DATA);
      coffer_index_add_pack (index, pack->pack, pack->entries);
      g_ptr_array_add (packs, pack);
    }
  return packs;
}

static void
assert_knows (CofferIndex *index, const FakePack *pack, const CofferPackEntry *entry)
{
  CofferBlobLocation location;

  g_assert_true (coffer_index_lookup (index, entry->id, &location));
  g_assert_cmpmem (location.pack, 32, pack->pack, 32);
  g_assert_cmpuint (location.type, ==, entry->type);
  g_assert_cmpuint (location.offset, ==, entry->offset);
  g_assert_cmpuint (location.length, ==, entry->length);
  g_assert_cmpuint (location.raw_length, ==, entry->raw_length);
}

static void
assert_knows_all (CofferIndex *index, GPtrArray *packs)
{
  for (guint p = 0; p < packs->len; p++)
    {
      const FakePack *pack = g_ptr_array_index (packs, p);

      for (guint i = 0; i < pack->entries->len; i++)
        assert_knows (index, pack, &g_array_index (pack->entries, CofferPackEntry, i));
    }
}

static void
load (CofferIndex *index, const CofferMasterKeys *keys, GBytes *file)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *name = coffer_index_file_name (file);

  g_assert_true (coffer_index_load_file (index, keys, name, file, &error));
  g_assert_no_error (error);
}

static void
assert_load_fails (
    CofferIndex *index, const CofferMasterKeys *keys, const char *name, GBytes *file, int code)
{
  g_autoptr (GError) error = NULL;
  guint size = coffer_index_get_size (index);

  g_assert_false (coffer_index_load_file (index, keys, name, file, &error));
  g_assert_error (error, COFFER_ERROR, code);
  g_assert_nonnull (strstr (error->message, name));
  g_assert_cmpuint (coffer_index_get_size (index), ==, size);
}

static void
test_lookup (void)
{
  g_autoptr (CofferIndex) index = coffer_index_new ();
  g_autoptr (GPtrArray) packs = NULL;
  g_autoptr (GArray) again = NULL;
  guint8 unknown[32];
  guint8 other_pack[32];

  g_assert_cmpuint (coffer_index_get_size (index), ==, 0);
  coffer_random_bytes (unknown, sizeof unknown);
  g_assert_false (coffer_index_contains (index, unknown));

  packs = add_packs (index, 50, 100);
  g_assert_cmpuint (coffer_index_get_size (index), ==, 5000);
  g_assert_cmpuint (coffer_index_get_pending (index), ==, 5000);
  assert_knows_all (index, packs);
  g_assert_false (coffer_index_contains (index, unknown));

  /* A blob stored again elsewhere keeps its first location. */
  again = g_array_copy (((FakePack *) g_ptr_array_index (packs, 7))->entries);
  coffer_random_bytes (other_pack, sizeof other_pack);
  coffer_index_add_pack (index, other_pack, again);
  g_assert_cmpuint (coffer_index_get_size (index), ==, 5000);
  g_assert_cmpuint (coffer_index_get_pending (index), ==, 5000);
  assert_knows_all (index, packs);
}

static void
test_round_trip (void)
{
  g_autoptr (CofferMasterKeys) keys = coffer_master_keys_generate ();
  g_autoptr (CofferIndex) index = coffer_index_new ();
  g_autoptr (CofferIndex) loaded = coffer_index_new ();
  g_autoptr (GPtrArray) packs = add_packs (index, 20, 37);
  g_autoptr (GPtrArray) files = NULL;
  g_autoptr (GPtrArray) none = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *name = NULL;
  g_autofree char *object = NULL;

  files = coffer_index_take_pending (index, keys);
  g_assert_cmpuint (files->len, ==, 1);
  g_assert_cmpuint (coffer_index_get_pending (index), ==, 0);
  g_assert_cmpuint (coffer_index_get_size (index), ==, 20 * 37);
  none = coffer_index_take_pending (index, keys);
  g_assert_cmpuint (none->len, ==, 0);

  /* Loaded by its object name. */
  name = coffer_index_file_name (g_ptr_array_index (files, 0));
  g_assert_cmpuint (strlen (name), ==, 64);
  object = coffer_index_object_name ("0123abcd", name);
  g_assert_true (g_str_has_prefix (object, "machines/0123abcd/index/"));
  g_assert_true (
      coffer_index_load_file (loaded, keys, object, g_ptr_array_index (files, 0), &error));
  g_assert_no_error (error);
  g_assert_cmpuint (coffer_index_get_size (loaded), ==, 20 * 37);
  g_assert_cmpuint (coffer_index_get_pending (loaded), ==, 0);
  assert_knows_all (loaded, packs);

  /* Loading it twice changes nothing. */
  load (loaded, keys, g_ptr_array_index (files, 0));
  g_assert_cmpuint (coffer_index_get_size (loaded), ==, 20 * 37);
}

/* Enough entries for three files: each at most 8 MiB, together everything. */
static void
test_split (void)
{
  g_autoptr (CofferMasterKeys) keys = coffer_master_keys_generate ();
  g_autoptr (CofferIndex) index = coffer_index_new ();
  g_autoptr (CofferIndex) loaded = coffer_index_new ();
  g_autoptr (GPtrArray) packs = add_packs (index, 450, 1000);
  g_autoptr (GPtrArray) files = coffer_index_take_pending (index, keys);

  g_assert_cmpuint (files->len, ==, 3);
  for (guint i = 0; i < files->len; i++)
    {
      gsize size = g_bytes_get_size (g_ptr_array_index (files, i));

      g_assert_cmpuint (size, <=, COFFER_INDEX_MAX_FILE_SIZE);
      if (i + 1 < files->len)
        g_assert_cmpuint (size, >, COFFER_INDEX_MAX_FILE_SIZE - 100);
      load (loaded, keys, g_ptr_array_index (files, i));
    }
  g_assert_cmpuint (coffer_index_get_size (loaded), ==, 450000);
  assert_knows_all (loaded, packs);
}

static GBytes *
small_file (const CofferMasterKeys *keys, GPtrArray **out_packs)
{
  g_autoptr (CofferIndex) index = coffer_index_new ();
  g_autoptr (GPtrArray) files = NULL;

  *out_packs = add_packs (index, 4, 3);
  files = coffer_index_take_pending (index, keys);
  g_assert_cmpuint (files->len, ==, 1);
  return g_bytes_ref (g_ptr_array_index (files, 0));
}

/* Every flipped bit is caught by the name check, and with the name fitting the
 * damaged bytes, by the file's own checks; the index is left untouched. */
static void
test_flipped_bits (void)
{
  g_autoptr (CofferMasterKeys) keys = coffer_master_keys_generate ();
  g_autoptr (CofferIndex) index = coffer_index_new ();
  g_autoptr (GPtrArray) packs = NULL;
  g_autoptr (GBytes) file = small_file (keys, &packs);
  g_autofree char *name = coffer_index_file_name (file);
  gsize size;
  g_autofree guint8 *copy = g_bytes_unref_to_data (g_bytes_ref (file), &size);

  for (gsize bit = 0; bit < size * 8; bit++)
    {
      g_autoptr (GBytes) damaged = NULL;
      g_autofree char *damaged_name = NULL;

      copy[bit / 8] ^= 1 << (bit % 8);
      damaged = g_bytes_new (copy, size);
      damaged_name = coffer_index_file_name (damaged);
      assert_load_fails (index, keys, name, damaged, COFFER_ERROR_CORRUPT);
      assert_load_fails (index, keys, damaged_name, damaged, COFFER_ERROR_CORRUPT);
      copy[bit / 8] ^= 1 << (bit % 8);
    }
  g_assert_cmpuint (coffer_index_get_size (index), ==, 0);
  load (index, keys, file);
  assert_knows_all (index, packs);
}

static void
test_truncated (void)
{
  g_autoptr (CofferMasterKeys) keys = coffer_master_keys_generate ();
  g_autoptr (CofferIndex) index = coffer_index_new ();
  g_autoptr (GPtrArray) packs = NULL;
  g_autoptr (GBytes) file = small_file (keys, &packs);
  gsize size = g_bytes_get_size (file);

  for (gsize length = 0; length < size; length++)
    {
      g_autoptr (GBytes) start = g_bytes_new_from_bytes (file, 0, length);
      g_autoptr (GBytes) end = g_bytes_new_from_bytes (file, size - length, length);
      g_autofree char *start_name = coffer_index_file_name (start);
      g_autofree char *end_name = coffer_index_file_name (end);

      assert_load_fails (index, keys, start_name, start, COFFER_ERROR_CORRUPT);
      assert_load_fails (index, keys, end_name, end, COFFER_ERROR_CORRUPT);
    }
}

static void
test_wrong_keys (void)
{
  g_autoptr (CofferMasterKeys) keys = coffer_master_keys_generate ();
  g_autoptr (CofferMasterKeys) other = coffer_master_keys_generate ();
  g_autoptr (CofferIndex) index = coffer_index_new ();
  g_autoptr (GPtrArray) packs = NULL;
  g_autoptr (GBytes) file = small_file (keys, &packs);
  g_autofree char *name = coffer_index_file_name (file);

  assert_load_fails (index, other, name, file, COFFER_ERROR_CORRUPT);
}

/* Writes an index file by hand, as FORMAT.md describes it. */
static GBytes *
forge_file (const CofferMasterKeys *keys, guint8 version, GByteArray *plain)
{
  guint8 *out = g_malloc (29 + plain->len);
  guint8 key[32];

  coffer_hmac_sha256 (keys->encryption, 32, "coffer-index", 12, key);
  out[0] = version;
  coffer_random_bytes (out + 1, 12);
  g_assert_true (coffer_aes_gcm_encrypt (key, out + 1, &version, 1, plain->data, plain->len,
                                         out + 13, out + 13 + plain->len));
  return g_bytes_new_take (out, 29 + plain->len);
}

static void
append_le32 (GByteArray *plain, guint32 value)
{
  value = GUINT32_TO_LE (value);
  g_byte_array_append (plain, (guint8 *) &value, 4);
}

/* One pack of @type with @count entries of the given sizes. */
static void
append_group (GByteArray *plain,
              guint8 type,
              guint32 count,
              guint n_entries,
              guint32 offset,
              guint32 length,
              guint32 raw_length)
{
  guint8 id[32];

  coffer_random_bytes (id, 32);
  g_byte_array_append (plain, id, 32);
  g_byte_array_append (plain, &type, 1);
  append_le32 (plain, count);
  for (guint i = 0; i < n_entries; i++)
    {
      coffer_random_bytes (id, 32);
      g_byte_array_append (plain, id, 32);
      append_le32 (plain, offset);
      append_le32 (plain, length);
      append_le32 (plain, raw_length);
    }
}

/* Loads a forged file; @code < 0 expects success. */
static void
assert_forged (const CofferMasterKeys *keys, guint8 version, GByteArray *plain, int code)
{
  g_autoptr (CofferIndex) index = coffer_index_new ();
  g_autoptr (GBytes) file = forge_file (keys, version, plain);
  g_autofree char *name = coffer_index_file_name (file);

  if (code < 0)
    load (index, keys, file);
  else
    assert_load_fails (index, keys, name, file, code);
  g_byte_array_unref (plain);
}

static GByteArray *
plain_with_groups (guint32 n_groups)
{
  GByteArray *plain = g_byte_array_new ();

  append_le32 (plain, n_groups);
  return plain;
}

static void
test_forged_files (void)
{
  g_autoptr (CofferMasterKeys) keys = coffer_master_keys_generate ();
  GByteArray *plain;

  plain = plain_with_groups (2);
  append_group (plain, COFFER_BLOB_DATA, 2, 2, 0, 100, 200);
  append_group (plain, COFFER_BLOB_TREE, 1, 1, 0, 30, 0);
  assert_forged (keys, 1, plain, -1);

  plain = plain_with_groups (1);
  append_group (plain, COFFER_BLOB_DATA, 1, 1, 0, 100, 200);
  assert_forged (keys, 2, plain, COFFER_ERROR_NEWER_FORMAT);

  plain = plain_with_groups (1);
  append_group (plain, COFFER_BLOB_DATA, 1, 1, 0, 100, 200);
  assert_forged (keys, 0, plain, COFFER_ERROR_CORRUPT);

  assert_forged (keys, 1, plain_with_groups (0), COFFER_ERROR_CORRUPT);
  assert_forged (keys, 1, g_byte_array_new (), COFFER_ERROR_CORRUPT);

  /* Counts larger than the bytes that follow. */
  plain = plain_with_groups (2);
  append_group (plain, COFFER_BLOB_DATA, 1, 1, 0, 100, 200);
  assert_forged (keys, 1, plain, COFFER_ERROR_CORRUPT);
  plain = plain_with_groups (G_MAXUINT32);
  append_group (plain, COFFER_BLOB_DATA, 1, 1, 0, 100, 200);
  assert_forged (keys, 1, plain, COFFER_ERROR_CORRUPT);
  plain = plain_with_groups (1);
  append_group (plain, COFFER_BLOB_DATA, 3, 2, 0, 100, 200);
  assert_forged (keys, 1, plain, COFFER_ERROR_CORRUPT);
  plain = plain_with_groups (1);
  append_group (plain, COFFER_BLOB_DATA, G_MAXUINT32, 2, 0, 100, 200);
  assert_forged (keys, 1, plain, COFFER_ERROR_CORRUPT);
  plain = plain_with_groups (1);
  append_group (plain, COFFER_BLOB_DATA, 0, 0, 0, 100, 200);
  assert_forged (keys, 1, plain, COFFER_ERROR_CORRUPT);

  /* Bytes after the last entry. */
  plain = plain_with_groups (1);
  append_group (plain, COFFER_BLOB_DATA, 1, 2, 0, 100, 200);
  assert_forged (keys, 1, plain, COFFER_ERROR_CORRUPT);

  plain = plain_with_groups (1);
  append_group (plain, 2, 1, 1, 0, 100, 200);
  assert_forged (keys, 1, plain, COFFER_ERROR_CORRUPT);

  /* Impossible sizes. */
  plain = plain_with_groups (1);
  append_group (plain, COFFER_BLOB_DATA, 1, 1, 0, 29, 0);
  assert_forged (keys, 1, plain, COFFER_ERROR_CORRUPT);
  plain = plain_with_groups (1);
  append_group (plain, COFFER_BLOB_DATA, 1, 1, 0, 231, 200);
  assert_forged (keys, 1, plain, COFFER_ERROR_CORRUPT);
  plain = plain_with_groups (1);
  append_group (plain, COFFER_BLOB_DATA, 1, 1, 0, 100, COFFER_BLOB_MAX_SIZE + 1);
  assert_forged (keys, 1, plain, COFFER_ERROR_CORRUPT);
  plain = plain_with_groups (1);
  append_group (plain, COFFER_BLOB_DATA, 1, 1, G_MAXUINT32 - 50, 100, 200);
  assert_forged (keys, 1, plain, COFFER_ERROR_CORRUPT);

  /* Larger than any index file, though intact. */
  plain = plain_with_groups (1);
  append_group (plain, COFFER_BLOB_DATA, 190651, 190651, 0, 100, 200);
  g_assert_cmpuint (29 + plain->len, >, COFFER_INDEX_MAX_FILE_SIZE);
  assert_forged (keys, 1, plain, COFFER_ERROR_CORRUPT);
}

static void
test_list_and_remove (void)
{
  g_autoptr (CofferMasterKeys) keys = coffer_master_keys_generate ();
  g_autoptr (CofferIndex) index = coffer_index_new ();
  g_autoptr (GPtrArray) old = add_packs (index, 10, 40);
  g_autoptr (GPtrArray) files = coffer_index_take_pending (index, keys);
  g_autoptr (GPtrArray) fresh = add_packs (index, 10, 40);
  g_autoptr (GPtrArray) listed = coffer_index_list_packs (index);
  g_autoptr (GHashTable) remove = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GPtrArray) kept_packs = g_ptr_array_new ();
  g_autoptr (GPtrArray) after = NULL;
  g_autoptr (GPtrArray) pending = NULL;
  g_autoptr (CofferIndex) loaded = coffer_index_new ();

  g_assert_cmpuint (listed->len, ==, 20);
  for (guint i = 0; i < 20; i++)
    {
      const FakePack *pack = g_ptr_array_index (i < 10 ? old : fresh, i % 10);
      g_autofree char *hex = coffer_blob_id_to_hex (pack->pack);

      g_assert_true (g_ptr_array_find_with_equal_func (listed, hex, g_str_equal, NULL));
      /* Every other pack goes, old and pending ones alike. */
      if (i % 2 == 0)
        g_hash_table_add (remove, g_steal_pointer (&hex));
      else
        g_ptr_array_add (kept_packs, (gpointer) pack);
    }

  coffer_index_remove_packs (index, remove);
  g_assert_cmpuint (coffer_index_get_size (index), ==, 10 * 40);
  g_assert_cmpuint (coffer_index_get_pending (index), ==, 5 * 40);
  assert_knows_all (index, kept_packs);
  for (guint i = 0; i < 20; i += 2)
    {
      const FakePack *pack = g_ptr_array_index (i < 10 ? old : fresh, i % 10);

      for (guint j = 0; j < pack->entries->len; j++)
        g_assert_false (
            coffer_index_contains (index, g_array_index (pack->entries, CofferPackEntry, j).id));
    }
  after = coffer_index_list_packs (index);
  g_assert_cmpuint (after->len, ==, 10);

  /* Only the kept pending packs are written. */
  pending = coffer_index_take_pending (index, keys);
  g_assert_cmpuint (pending->len, ==, 1);
  load (loaded, keys, g_ptr_array_index (pending, 0));
  g_assert_cmpuint (coffer_index_get_size (loaded), ==, 5 * 40);

  /* Removing everything leaves an empty index that still works. */
  g_hash_table_remove_all (remove);
  for (guint i = 0; i < after->len; i++)
    g_hash_table_add (remove, g_strdup (g_ptr_array_index (after, i)));
  coffer_index_remove_packs (index, remove);
  g_assert_cmpuint (coffer_index_get_size (index), ==, 0);
  g_clear_pointer (&after, g_ptr_array_unref);
  after = coffer_index_list_packs (index);
  g_assert_cmpuint (after->len, ==, 0);
  load (index, keys, g_ptr_array_index (files, 0));
  assert_knows_all (index, old);
}

typedef struct
{
  CofferIndex *index;
  GPtrArray *known; /* FakePack, all in the index before the threads start */
  GPtrArray *added; /* FakePack, added meanwhile; read only after they join */
  gint done;
} Race;

static gpointer
look_up_known (gpointer data)
{
  Race *race = data;
  guint rounds = 0;

  /* One pack a round, so that the writer gets its turns between rounds. */
  while (!g_atomic_int_get (&race->done) || rounds < race->known->len)
    {
      const FakePack *pack = g_ptr_array_index (race->known, rounds % race->known->len);

      for (guint i = 0; i < pack->entries->len; i++)
        assert_knows (race->index, pack, &g_array_index (pack->entries, CofferPackEntry, i));
      rounds++;
    }
  return NULL;
}

static gpointer
add_more (gpointer data)
{
  Race *race = data;

  for (guint i = 0; i < 200; i++)
    {
      FakePack *pack = g_new0 (FakePack, 1);

      coffer_random_bytes (pack->pack, sizeof pack->pack);
      pack->entries = fake_entries (500, COFFER_BLOB_DATA);
      coffer_index_add_pack (race->index, pack->pack, pack->entries);
      g_ptr_array_add (race->added, pack);
    }
  g_atomic_int_set (&race->done, 1);
  return NULL;
}

/* Lookups from four threads while another thread adds, growing the table
 * several times. */
static void
test_concurrent (void)
{
  g_autoptr (CofferIndex) index = coffer_index_new ();
  g_autoptr (GPtrArray) known = add_packs (index, 20, 500);
  g_autoptr (GPtrArray) added = g_ptr_array_new_with_free_func (fake_pack_free);
  Race race = { index, known, added, 0 };
  GThread *readers[4];
  GThread *writer;

  for (guint i = 0; i < G_N_ELEMENTS (readers); i++)
    readers[i] = g_thread_new ("reader", look_up_known, &race);
  writer = g_thread_new ("writer", add_more, &race);
  g_thread_join (writer);
  for (guint i = 0; i < G_N_ELEMENTS (readers); i++)
    g_thread_join (readers[i]);

  g_assert_cmpuint (coffer_index_get_size (index), ==, 220 * 500);
  assert_knows_all (index, known);
  assert_knows_all (index, added);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/libcoffer/index/lookup", test_lookup);
  g_test_add_func ("/libcoffer/index/round-trip", test_round_trip);
  g_test_add_func ("/libcoffer/index/split-at-8-mib", test_split);
  g_test_add_func ("/libcoffer/index/flipped-bits-are-corrupt", test_flipped_bits);
  g_test_add_func ("/libcoffer/index/truncated-is-corrupt", test_truncated);
  g_test_add_func ("/libcoffer/index/wrong-keys", test_wrong_keys);
  g_test_add_func ("/libcoffer/index/forged-files", test_forged_files);
  g_test_add_func ("/libcoffer/index/list-and-remove-packs", test_list_and_remove);
  g_test_add_func ("/libcoffer/index/lookups-while-adding", test_concurrent);

  return g_test_run ();
}
