/* test-blob.c: blobs give back exactly what was sealed, under their own id
 * and type only, and no changed bit goes unnoticed. */
#include "config.h"

#include <string.h>

#include "coffer.h"

static GBytes *
random_bytes (gsize size)
{
  guint8 *data = g_malloc (size + 1);

  coffer_random_bytes (data, size);
  return g_bytes_new_take (data, size);
}

/* Text that compresses well. */
static GBytes *
text_bytes (gsize size)
{
  static const char line[] = "The quick brown fox jumps over the lazy dog. ";
  guint8 *data = g_malloc (size + 1);

  for (gsize i = 0; i < size; i++)
    data[i] = line[i % (sizeof line - 1)];
  return g_bytes_new_take (data, size);
}

static GBytes *
seal (const CofferMasterKeys *keys, GBytes *plain, CofferBlobType type, guint8 id[32])
{
  gsize size;
  const guint8 *data = g_bytes_get_data (plain, &size);

  coffer_blob_id (keys, data, size, id);
  return coffer_blob_seal (keys, id, type, data, size, COFFER_BLOB_DEFAULT_ZSTD_LEVEL);
}

static void
assert_opens_to (const CofferMasterKeys *keys,
                 const guint8 id[32],
                 CofferBlobType type,
                 GBytes *blob,
                 GBytes *plain)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) opened = NULL;

  opened = coffer_blob_open (keys, id, type, g_bytes_get_data (blob, NULL), g_bytes_get_size (blob),
                             g_bytes_get_size (plain), &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (opened, plain));
}

/* Opens @size bytes of @blob and expects @code, with the message naming the
 * blob. */
static void
assert_refused (const CofferMasterKeys *keys,
                const guint8 id[32],
                CofferBlobType type,
                const guint8 *blob,
                gsize size,
                gsize raw_size,
                int code)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) opened = NULL;
  g_autofree char *hex = coffer_blob_id_to_hex (id);

  opened = coffer_blob_open (keys, id, type, blob, size, raw_size, &error);
  g_assert_error (error, COFFER_ERROR, code);
  g_assert_null (opened);
  g_assert_nonnull (strstr (error->message, hex));
}

static void
test_id_is_keyed (void)
{
  g_autoptr (CofferMasterKeys) keys = coffer_master_keys_generate ();
  g_autoptr (CofferMasterKeys) other = coffer_master_keys_generate ();
  static const char data[] = "hello";
  guint8 id[32], again[32], other_id[32], expected[32];

  coffer_blob_id (keys, data, 5, id);
  coffer_blob_id (keys, data, 5, again);
  coffer_blob_id (other, data, 5, other_id);
  coffer_hmac_sha256 (keys->chunk_id, 32, data, 5, expected);

  g_assert_cmpmem (id, 32, again, 32);
  g_assert_cmpmem (id, 32, expected, 32);
  g_assert_true (memcmp (id, other_id, 32) != 0);
}

static void
test_compressible (void)
{
  g_autoptr (CofferMasterKeys) keys = coffer_master_keys_generate ();
  g_autoptr (GBytes) plain = text_bytes (1024 * 1024);
  g_autoptr (GBytes) blob = NULL;
  const guint8 *data;
  guint8 id[32];

  blob = seal (keys, plain, COFFER_BLOB_DATA, id);
  data = g_bytes_get_data (blob, NULL);
  g_assert_cmpuint (g_bytes_get_size (blob), <, 64 * 1024);
  g_assert_cmpuint (data[0], ==, 1);
  g_assert_cmpuint (data[1], ==, 1);
  assert_opens_to (keys, id, COFFER_BLOB_DATA, blob, plain);
}

/* Bytes that look random to a glance but use 7 bits of 8 are compressed:
 * the sample that spares zstd on random data does not skip them. */
static void
test_seven_bit_noise_is_compressed (void)
{
  g_autoptr (CofferMasterKeys) keys = coffer_master_keys_generate ();
  g_autoptr (GBytes) random = random_bytes (256 * 1024);
  g_autofree guint8 *masked = g_memdup2 (g_bytes_get_data (random, NULL), 256 * 1024);
  g_autoptr (GBytes) plain = NULL;
  g_autoptr (GBytes) blob = NULL;
  guint8 id[32];

  for (gsize i = 0; i < 256 * 1024; i++)
    masked[i] &= 0x7f;
  plain = g_bytes_new (masked, 256 * 1024);
  blob = seal (keys, plain, COFFER_BLOB_DATA, id);
  g_assert_cmpuint (((const guint8 *) g_bytes_get_data (blob, NULL))[1], ==, 1);
  g_assert_cmpuint (g_bytes_get_size (blob), <, 256 * 1024 * 15 / 16);
  assert_opens_to (keys, id, COFFER_BLOB_DATA, blob, plain);
}

/* Small chunks are judged on every byte: a random 4 KiB is stored as it
 * is, 7-bit noise and a random block repeated four times are compressed. */
static void
test_small_chunks_judged_whole (void)
{
  g_autoptr (CofferMasterKeys) keys = coffer_master_keys_generate ();
  g_autoptr (GBytes) random = random_bytes (4096);
  g_autofree guint8 *masked = g_memdup2 (g_bytes_get_data (random, NULL), 4096);
  g_autofree guint8 *repeated = g_malloc (4096);
  GBytes *cases[3];
  const guint8 expect_flag[3] = { 0, 1, 1 };

  for (gsize i = 0; i < 4096; i++)
    {
      masked[i] &= 0x7f;
      repeated[i] = ((const guint8 *) g_bytes_get_data (random, NULL))[i % 1024];
    }
  cases[0] = g_bytes_ref (random);
  cases[1] = g_bytes_new (masked, 4096);
  cases[2] = g_bytes_new (repeated, 4096);
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_autoptr (GBytes) blob = NULL;
      guint8 id[32];

      blob = seal (keys, cases[c], COFFER_BLOB_DATA, id);
      g_assert_cmpuint (((const guint8 *) g_bytes_get_data (blob, NULL))[1], ==, expect_flag[c]);
      if (expect_flag[c] == 1)
        g_assert_cmpuint (g_bytes_get_size (blob), <, 4096);
      assert_opens_to (keys, id, COFFER_BLOB_DATA, blob, cases[c]);
      g_bytes_unref (cases[c]);
    }
}

/* The HMAC a thread keeps per key gives what GLib's HMAC gives: one key
 * after another, more keys than it keeps, a key too long to keep, and from
 * several threads at once. */
static gpointer
hmac_agrees (gpointer data)
{
  guint8 keys[6][32];
  guint8 long_key[100];
  guint8 message[300];

  coffer_random_bytes (keys, sizeof keys);
  coffer_random_bytes (long_key, sizeof long_key);
  for (guint round = 0; round < 200; round++)
    {
      const guint8 *key = round % 7 == 6 ? long_key : keys[(round * 5) % 6];
      gsize key_size = round % 7 == 6 ? sizeof long_key : 32;
      gsize size = round % sizeof message;
      g_autofree char *expected = NULL;
      g_autofree char *got = NULL;
      guint8 out[32];

      coffer_random_bytes (message, sizeof message);
      coffer_hmac_sha256 (key, key_size, message, size, out);
      expected = g_compute_hmac_for_data (G_CHECKSUM_SHA256, key, key_size, message, size);
      got = coffer_blob_id_to_hex (out);
      g_assert_cmpstr (got, ==, expected);
    }
  return NULL;
}

static void
test_hmac_matches_glib (void)
{
  GThread *threads[4];

  hmac_agrees (NULL);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("hmac", hmac_agrees, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    g_thread_join (threads[i]);
}

static void
test_incompressible (void)
{
  g_autoptr (CofferMasterKeys) keys = coffer_master_keys_generate ();
  g_autoptr (GBytes) plain = random_bytes (256 * 1024);
  g_autoptr (GBytes) blob = NULL;
  const guint8 *data;
  guint8 id[32];

  blob = seal (keys, plain, COFFER_BLOB_DATA, id);
  data = g_bytes_get_data (blob, NULL);
  g_assert_cmpuint (g_bytes_get_size (blob), ==, 256 * 1024 + COFFER_BLOB_OVERHEAD);
  g_assert_cmpuint (data[0], ==, 1);
  g_assert_cmpuint (data[1], ==, 0);
  assert_opens_to (keys, id, COFFER_BLOB_DATA, blob, plain);
}

static void
test_small_sizes (void)
{
  g_autoptr (CofferMasterKeys) keys = coffer_master_keys_generate ();

  for (gsize size = 0; size < 80; size++)
    {
      g_autoptr (GBytes) plain = text_bytes (size);
      g_autoptr (GBytes) blob = NULL;
      guint8 id[32];

      blob = seal (keys, plain, COFFER_BLOB_TREE, id);
      g_assert_cmpuint (g_bytes_get_size (blob), <=, size + COFFER_BLOB_OVERHEAD);
      assert_opens_to (keys, id, COFFER_BLOB_TREE, blob, plain);
    }
}

static void
test_same_plaintext_new_nonce (void)
{
  g_autoptr (CofferMasterKeys) keys = coffer_master_keys_generate ();
  g_autoptr (GBytes) plain = random_bytes (1000);
  g_autoptr (GBytes) first = NULL;
  g_autoptr (GBytes) second = NULL;
  guint8 id[32];

  first = seal (keys, plain, COFFER_BLOB_DATA, id);
  second = seal (keys, plain, COFFER_BLOB_DATA, id);
  g_assert_false (g_bytes_equal (first, second));
  assert_opens_to (keys, id, COFFER_BLOB_DATA, second, plain);
}

/* Every single flipped bit of a compressed and of a raw blob is refused. */
static void
test_every_bit_flipped (void)
{
  g_autoptr (CofferMasterKeys) keys = coffer_master_keys_generate ();
  GBytes *plains[] = { text_bytes (300), random_bytes (40) };

  for (guint p = 0; p < G_N_ELEMENTS (plains); p++)
    {
      g_autoptr (GBytes) blob = NULL;
      g_autofree guint8 *copy = NULL;
      gsize size;
      guint8 id[32];

      blob = seal (keys, plains[p], COFFER_BLOB_DATA, id);
      copy = g_bytes_unref_to_data (g_steal_pointer (&blob), &size);
      g_assert_cmpuint (copy[1], ==, p == 0 ? 1 : 0);
      for (gsize bit = 0; bit < size * 8; bit++)
        {
          copy[bit / 8] ^= 1 << (bit % 8);
          assert_refused (keys, id, COFFER_BLOB_DATA, copy, size, g_bytes_get_size (plains[p]),
                          COFFER_ERROR_CORRUPT);
          copy[bit / 8] ^= 1 << (bit % 8);
        }
      g_bytes_unref (plains[p]);
    }
}

static void
test_truncated (void)
{
  g_autoptr (CofferMasterKeys) keys = coffer_master_keys_generate ();
  g_autoptr (GBytes) plain = text_bytes (500);
  g_autoptr (GBytes) blob = NULL;
  const guint8 *data;
  gsize size;
  guint8 id[32];

  blob = seal (keys, plain, COFFER_BLOB_DATA, id);
  data = g_bytes_get_data (blob, &size);
  for (gsize length = 0; length < size; length++)
    {
      assert_refused (keys, id, COFFER_BLOB_DATA, data, length, 500, COFFER_ERROR_CORRUPT);
      assert_refused (keys, id, COFFER_BLOB_DATA, data + size - length, length, 500,
                      COFFER_ERROR_CORRUPT);
    }
}

static void
test_wrong_id_type_or_keys (void)
{
  g_autoptr (CofferMasterKeys) keys = coffer_master_keys_generate ();
  g_autoptr (CofferMasterKeys) other = coffer_master_keys_generate ();
  GBytes *plains[] = { text_bytes (4096), random_bytes (4096) };

  for (guint p = 0; p < G_N_ELEMENTS (plains); p++)
    {
      g_autoptr (GBytes) blob = NULL;
      g_autoptr (GBytes) second = random_bytes (10);
      const guint8 *data;
      gsize size;
      guint8 id[32];
      guint8 other_id[32];

      blob = seal (keys, plains[p], COFFER_BLOB_TREE, id);
      data = g_bytes_get_data (blob, &size);
      coffer_blob_id (keys, g_bytes_get_data (second, NULL), 10, other_id);

      assert_refused (keys, other_id, COFFER_BLOB_TREE, data, size, 4096, COFFER_ERROR_CORRUPT);
      assert_refused (keys, id, COFFER_BLOB_DATA, data, size, 4096, COFFER_ERROR_CORRUPT);
      assert_refused (other, id, COFFER_BLOB_TREE, data, size, 4096, COFFER_ERROR_CORRUPT);
      g_bytes_unref (plains[p]);
    }
}

/* The index's raw length is checked: a compressed blob never decompresses
 * into more or less than it, a raw blob must be exactly it. */
static void
test_wrong_raw_size (void)
{
  g_autoptr (CofferMasterKeys) keys = coffer_master_keys_generate ();
  GBytes *plains[] = { text_bytes (4096), random_bytes (4096) };

  for (guint p = 0; p < G_N_ELEMENTS (plains); p++)
    {
      g_autoptr (GBytes) blob = NULL;
      const guint8 *data;
      gsize size;
      guint8 id[32];

      blob = seal (keys, plains[p], COFFER_BLOB_DATA, id);
      data = g_bytes_get_data (blob, &size);
      assert_refused (keys, id, COFFER_BLOB_DATA, data, size, 4095, COFFER_ERROR_CORRUPT);
      assert_refused (keys, id, COFFER_BLOB_DATA, data, size, 4097, COFFER_ERROR_CORRUPT);
      assert_refused (keys, id, COFFER_BLOB_DATA, data, size, 0, COFFER_ERROR_CORRUPT);
      assert_refused (keys, id, COFFER_BLOB_DATA, data, size, G_MAXSIZE, COFFER_ERROR_CORRUPT);
      g_bytes_unref (plains[p]);
    }
}

/* A blob sealed under an id that is not its content's (a bug in a writer) is
 * caught on reading. */
static void
test_content_must_match_id (void)
{
  g_autoptr (CofferMasterKeys) keys = coffer_master_keys_generate ();
  g_autoptr (GBytes) plain = text_bytes (1000);
  g_autoptr (GBytes) blob = NULL;
  guint8 id[32];

  coffer_random_bytes (id, sizeof id);
  blob = coffer_blob_seal (keys, id, COFFER_BLOB_DATA, g_bytes_get_data (plain, NULL), 1000, 3);
  assert_refused (keys, id, COFFER_BLOB_DATA, g_bytes_get_data (blob, NULL),
                  g_bytes_get_size (blob), 1000, COFFER_ERROR_CORRUPT);
}

/* Builds a blob by hand, as FORMAT.md describes it, with a raw payload. */
static GBytes *
build_blob (const CofferMasterKeys *keys,
            const guint8 id[32],
            guint8 type,
            guint8 version,
            guint8 flags,
            const guint8 *payload,
            gsize size)
{
  guint8 *out = g_malloc (size + COFFER_BLOB_OVERHEAD);
  guint8 key[32];
  guint8 aad[35];

  coffer_hmac_sha256 (keys->encryption, 32, id, 32, key);
  memcpy (aad, id, 32);
  aad[32] = type;
  aad[33] = version;
  aad[34] = flags;
  out[0] = version;
  out[1] = flags;
  coffer_random_bytes (out + 2, 12);
  g_assert_true (coffer_aes_gcm_encrypt (key, out + 2, aad, sizeof aad, payload, size, out + 14,
                                         out + 14 + size));
  return g_bytes_new_take (out, size + COFFER_BLOB_OVERHEAD);
}

static void
test_format_as_documented (void)
{
  g_autoptr (CofferMasterKeys) keys = coffer_master_keys_generate ();
  g_autoptr (GBytes) plain = text_bytes (700);
  const guint8 *data = g_bytes_get_data (plain, NULL);
  g_autoptr (GBytes) v1 = NULL;
  g_autoptr (GBytes) v2 = NULL;
  g_autoptr (GBytes) unknown_flag = NULL;
  g_autoptr (GBytes) false_flag = NULL;
  guint8 id[32];

  coffer_blob_id (keys, data, 700, id);
  v1 = build_blob (keys, id, COFFER_BLOB_DATA, 1, 0, data, 700);
  assert_opens_to (keys, id, COFFER_BLOB_DATA, v1, plain);

  /* Intact but newer: not damage. */
  v2 = build_blob (keys, id, COFFER_BLOB_DATA, 2, 0, data, 700);
  assert_refused (keys, id, COFFER_BLOB_DATA, g_bytes_get_data (v2, NULL), g_bytes_get_size (v2),
                  700, COFFER_ERROR_NEWER_FORMAT);

  unknown_flag = build_blob (keys, id, COFFER_BLOB_DATA, 1, 2, data, 700);
  assert_refused (keys, id, COFFER_BLOB_DATA, g_bytes_get_data (unknown_flag, NULL),
                  g_bytes_get_size (unknown_flag), 700, COFFER_ERROR_CORRUPT);

  /* Marked compressed, but not a zstd frame. */
  false_flag = build_blob (keys, id, COFFER_BLOB_DATA, 1, 1, data, 600);
  assert_refused (keys, id, COFFER_BLOB_DATA, g_bytes_get_data (false_flag, NULL),
                  g_bytes_get_size (false_flag), 700, COFFER_ERROR_CORRUPT);
}

static void
test_hex (void)
{
  guint8 id[32], parsed[32];
  g_autofree char *hex = NULL;
  g_autofree char *upper = NULL;
  g_autofree char *longer = NULL;

  coffer_random_bytes (id, sizeof id);
  hex = coffer_blob_id_to_hex (id);
  g_assert_cmpuint (strlen (hex), ==, 64);
  for (const char *c = hex; *c != '\0'; c++)
    g_assert_true (g_ascii_isdigit (*c) || (*c >= 'a' && *c <= 'f'));
  g_assert_true (coffer_blob_id_from_hex (hex, parsed));
  g_assert_cmpmem (id, 32, parsed, 32);

  upper = g_ascii_strup (hex, -1);
  memset (parsed, 0, sizeof parsed);
  g_assert_true (coffer_blob_id_from_hex (upper, parsed));
  g_assert_cmpmem (id, 32, parsed, 32);

  longer = g_strconcat (hex, "0", NULL);
  g_assert_false (coffer_blob_id_from_hex (longer, parsed));
  hex[63] = '\0';
  g_assert_false (coffer_blob_id_from_hex (hex, parsed));
  hex[63] = 'g';
  g_assert_false (coffer_blob_id_from_hex (hex, parsed));
  g_assert_false (coffer_blob_id_from_hex ("", parsed));
}

static gpointer
seal_and_open_many (gpointer data)
{
  const CofferMasterKeys *keys = data;

  for (guint i = 0; i < 40; i++)
    {
      g_autoptr (GBytes) plain = i % 2 == 0 ? text_bytes (10000 + i) : random_bytes (10000 + i);
      g_autoptr (GBytes) blob = NULL;
      g_autoptr (GBytes) opened = NULL;
      g_autoptr (GError) error = NULL;
      guint8 id[32];

      blob = seal (keys, plain, COFFER_BLOB_DATA, id);
      opened = coffer_blob_open (keys, id, COFFER_BLOB_DATA, g_bytes_get_data (blob, NULL),
                                 g_bytes_get_size (blob), g_bytes_get_size (plain), &error);
      g_assert_no_error (error);
      g_assert_true (g_bytes_equal (opened, plain));
    }
  return NULL;
}

static void
test_threads (void)
{
  g_autoptr (CofferMasterKeys) keys = coffer_master_keys_generate ();
  GThread *threads[8];

  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("blob", seal_and_open_many, keys);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    g_thread_join (threads[i]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/libcoffer/blob/id-is-keyed", test_id_is_keyed);
  g_test_add_func ("/libcoffer/blob/hmac-matches-glib", test_hmac_matches_glib);
  g_test_add_func ("/libcoffer/blob/compressible-is-compressed", test_compressible);
  g_test_add_func ("/libcoffer/blob/incompressible-is-stored-raw", test_incompressible);
  g_test_add_func ("/libcoffer/blob/small-chunks-judged-whole", test_small_chunks_judged_whole);
  g_test_add_func ("/libcoffer/blob/seven-bit-noise-is-compressed",
                   test_seven_bit_noise_is_compressed);
  g_test_add_func ("/libcoffer/blob/small-sizes", test_small_sizes);
  g_test_add_func ("/libcoffer/blob/new-nonce-each-time", test_same_plaintext_new_nonce);
  g_test_add_func ("/libcoffer/blob/every-flipped-bit-is-corrupt", test_every_bit_flipped);
  g_test_add_func ("/libcoffer/blob/truncated-is-corrupt", test_truncated);
  g_test_add_func ("/libcoffer/blob/wrong-id-type-or-keys", test_wrong_id_type_or_keys);
  g_test_add_func ("/libcoffer/blob/wrong-raw-size", test_wrong_raw_size);
  g_test_add_func ("/libcoffer/blob/content-must-match-id", test_content_must_match_id);
  g_test_add_func ("/libcoffer/blob/format-as-documented", test_format_as_documented);
  g_test_add_func ("/libcoffer/blob/hex", test_hex);
  g_test_add_func ("/libcoffer/blob/threads", test_threads);

  return g_test_run ();
}
