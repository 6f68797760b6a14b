/* test-keys.c: the passphrase wraps the master keys, and a key file that was
 * tampered with never opens. */
#include "config.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "coffer.h"

#define PASSPHRASE "correct horse battery staple"
/* The smallest N a key file may hold: fast enough to run scrypt hundreds of times. */
#define TINY_N (G_GUINT64_CONSTANT (1) << 10)

static GBytes *
wrap (const CofferMasterKeys *keys, guint64 n)
{
  g_autoptr (GError) error = NULL;
  GBytes *wrapped = coffer_master_keys_wrap (keys, PASSPHRASE, n, &error);

  g_assert_no_error (error);
  g_assert_nonnull (wrapped);
  return wrapped;
}

static JsonObject *
parse (GBytes *wrapped)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  gsize size;
  const char *data = g_bytes_get_data (wrapped, &size);

  json_parser_load_from_data (parser, data, size, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

static GBytes *
serialize (JsonObject *root)
{
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  gsize size;
  char *text;

  json_node_set_object (node, root);
  json_generator_set_root (generator, node);
  text = json_generator_to_data (generator, &size);
  return g_bytes_new_take (text, size);
}

static void
assert_keys_equal (const CofferMasterKeys *a, const CofferMasterKeys *b)
{
  g_assert_cmpmem (a->encryption, COFFER_KEY_SIZE, b->encryption, COFFER_KEY_SIZE);
  g_assert_cmpmem (a->chunk_id, COFFER_KEY_SIZE, b->chunk_id, COFFER_KEY_SIZE);
  g_assert_cmpmem (a->chunker, COFFER_KEY_SIZE, b->chunker, COFFER_KEY_SIZE);
}

/* Unwraps @wrapped with the right passphrase, expecting @code. */
static void
assert_refused (GBytes *wrapped, int code)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CofferMasterKeys) keys = coffer_master_keys_unwrap (wrapped, PASSPHRASE, &error);

  g_assert_error (error, COFFER_ERROR, code);
  g_assert_null (keys);
}

static void
test_round_trip (void)
{
  g_autoptr (CofferMasterKeys) keys = coffer_master_keys_generate ();
  g_autoptr (CofferMasterKeys) opened = NULL;
  g_autoptr (GBytes) wrapped = wrap (keys, COFFER_SCRYPT_N_MIN);
  g_autoptr (GBytes) again = wrap (keys, COFFER_SCRYPT_N_MIN);
  g_autoptr (JsonObject) root = parse (wrapped);
  g_autoptr (GError) error = NULL;
  JsonObject *kdf;

  opened = coffer_master_keys_unwrap (wrapped, PASSPHRASE, &error);
  g_assert_no_error (error);
  assert_keys_equal (opened, keys);

  /* A new salt and nonce each time. */
  g_assert_false (g_bytes_equal (wrapped, again));

  g_assert_cmpint (json_object_get_int_member (root, "format"), ==, 1);
  kdf = json_object_get_object_member (root, "kdf");
  g_assert_cmpstr (json_object_get_string_member (kdf, "name"), ==, "scrypt");
  g_assert_cmpint (json_object_get_int_member (kdf, "n"), ==, COFFER_SCRYPT_N_MIN);
  g_assert_cmpint (json_object_get_int_member (kdf, "r"), ==, 8);
  g_assert_cmpint (json_object_get_int_member (kdf, "p"), ==, 1);

  /* The key bytes never appear in the file. */
  g_assert_null (
      memmem (g_bytes_get_data (wrapped, NULL), g_bytes_get_size (wrapped), keys->encryption, 8));
}

static void
test_generated_keys_differ (void)
{
  g_autoptr (CofferMasterKeys) a = coffer_master_keys_generate ();
  g_autoptr (CofferMasterKeys) b = coffer_master_keys_generate ();
  static const guint8 zero[COFFER_KEY_SIZE] = { 0 };

  g_assert_true (memcmp (a, b, sizeof *a) != 0);
  g_assert_true (memcmp (a->encryption, a->chunk_id, COFFER_KEY_SIZE) != 0);
  g_assert_true (memcmp (a->chunk_id, a->chunker, COFFER_KEY_SIZE) != 0);
  g_assert_true (memcmp (a->chunker, zero, COFFER_KEY_SIZE) != 0);
}

static void
test_wrong_passphrase (void)
{
  g_autoptr (CofferMasterKeys) keys = coffer_master_keys_generate ();
  g_autoptr (GBytes) wrapped = wrap (keys, COFFER_SCRYPT_N_MIN);
  g_autoptr (CofferMasterKeys) opened = NULL;
  g_autoptr (GError) error = NULL;

  opened = coffer_master_keys_unwrap (wrapped, "correct horse battery stapler", &error);
  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_WRONG_PASSPHRASE);
  g_assert_cmpstr (error->message, ==,
                   "The passphrase is incorrect: it does not open this machine's keys.");
  g_assert_null (opened);
}

/* Flips one bit in byte @index of the base64 member @member of @object. */
static GBytes *
flip_byte (JsonObject *root, JsonObject *object, const char *member, gsize index)
{
  g_autofree char *encoded = NULL;
  g_autofree guint8 *bytes = NULL;
  gsize size;

  bytes = g_base64_decode (json_object_get_string_member (object, member), &size);
  g_assert_cmpuint (index, <, size);
  bytes[index] ^= 1 << (index % 8);
  encoded = g_base64_encode (bytes, size);
  json_object_set_string_member (object, member, encoded);
  return serialize (root);
}

static void
test_every_flipped_byte_fails (void)
{
  g_autoptr (CofferMasterKeys) keys = coffer_master_keys_generate ();
  g_autoptr (GBytes) wrapped = wrap (keys, TINY_N);
  struct
  {
    const char *member;
    gboolean in_kdf;
    gsize size;
  } fields[] = {
    { "salt", TRUE, 32 },
    { "nonce", FALSE, 12 },
    { "sealed", FALSE, 3 * COFFER_KEY_SIZE + 16 },
  };

  for (gsize f = 0; f < G_N_ELEMENTS (fields); f++)
    {
      for (gsize i = 0; i < fields[f].size; i++)
        {
          g_autoptr (JsonObject) root = parse (wrapped);
          JsonObject *object =
              fields[f].in_kdf ? json_object_get_object_member (root, "kdf") : root;
          g_autoptr (GBytes) tampered = flip_byte (root, object, fields[f].member, i);

          assert_refused (tampered, COFFER_ERROR_WRONG_PASSPHRASE);
        }
    }
}

static void
test_other_valid_parameters_fail (void)
{
  g_autoptr (CofferMasterKeys) keys = coffer_master_keys_generate ();
  g_autoptr (GBytes) wrapped = wrap (keys, TINY_N);
  const struct
  {
    const char *member;
    gint64 value;
  } swaps[] = { { "n", TINY_N * 2 }, { "p", 2 } };

  for (gsize i = 0; i < G_N_ELEMENTS (swaps); i++)
    {
      g_autoptr (JsonObject) root = parse (wrapped);
      g_autoptr (GBytes) tampered = NULL;

      json_object_set_int_member (json_object_get_object_member (root, "kdf"), swaps[i].member,
                                  swaps[i].value);
      tampered = serialize (root);
      assert_refused (tampered, COFFER_ERROR_WRONG_PASSPHRASE);
    }
}

static void
test_kdf_out_of_bounds_refused_before_work (void)
{
  g_autoptr (CofferMasterKeys) keys = coffer_master_keys_generate ();
  g_autoptr (GBytes) wrapped = wrap (keys, COFFER_SCRYPT_N_MIN);
  const struct
  {
    const char *member;
    gint64 value;
  } cases[] = {
    { "n", G_GINT64_CONSTANT (1) << 21 },
    { "n", G_GINT64_CONSTANT (1) << 40 },
    { "n", 3 * (G_GINT64_CONSTANT (1) << 16) },
    { "n", G_GINT64_CONSTANT (1) << 9 },
    { "n", 0 },
    { "n", -65536 },
    { "r", 4 },
    { "r", 16 },
    { "p", 5 },
    { "p", 0 },
    { "p", -1 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (JsonObject) root = parse (wrapped);
      g_autoptr (GBytes) tampered = NULL;
      gint64 start;

      json_object_set_int_member (json_object_get_object_member (root, "kdf"), cases[i].member,
                                  cases[i].value);
      tampered = serialize (root);

      start = g_get_monotonic_time ();
      assert_refused (tampered, COFFER_ERROR_CORRUPT);
      /* Refused before scrypt ran: 2^21 alone would take seconds and 2 GiB. */
      g_assert_cmpint (g_get_monotonic_time () - start, <, G_USEC_PER_SEC);
    }
}

static void
test_malformed_members_refused (void)
{
  g_autoptr (CofferMasterKeys) keys = coffer_master_keys_generate ();
  g_autoptr (GBytes) wrapped = wrap (keys, TINY_N);
  const char *kdf_members[] = { "name", "n", "r", "p", "salt" };
  const char *root_members[] = { "format", "kdf", "cipher", "nonce", "sealed" };
  g_autofree char *short_salt = g_base64_encode ((const guint8 *) "0123456789abcdef", 16);
  const char *bad_strings[][2] = {
    { "nonce", "not base64!!!!!!" },     { "nonce", "" },
    { "nonce", "AAAAAAAAAAAAAAA=" },     /* 11 bytes */
    { "nonce", "AAAAAAAAAAAAAAAAAA==" }, /* 13 bytes */
    { "cipher", "aes-128-gcm" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (kdf_members); i++)
    {
      g_autoptr (JsonObject) root = parse (wrapped);
      g_autoptr (GBytes) tampered = NULL;

      json_object_remove_member (json_object_get_object_member (root, "kdf"), kdf_members[i]);
      tampered = serialize (root);
      assert_refused (tampered, COFFER_ERROR_CORRUPT);
    }

  for (gsize i = 0; i < G_N_ELEMENTS (root_members); i++)
    {
      g_autoptr (JsonObject) root = parse (wrapped);
      g_autoptr (GBytes) tampered = NULL;

      json_object_remove_member (root, root_members[i]);
      tampered = serialize (root);
      assert_refused (tampered, COFFER_ERROR_CORRUPT);
    }

  for (gsize i = 0; i < G_N_ELEMENTS (bad_strings); i++)
    {
      g_autoptr (JsonObject) root = parse (wrapped);
      g_autoptr (GBytes) tampered = NULL;

      json_object_set_string_member (root, bad_strings[i][0], bad_strings[i][1]);
      tampered = serialize (root);
      assert_refused (tampered, COFFER_ERROR_CORRUPT);
    }

  /* Wrong types and sizes. */
  {
    g_autoptr (JsonObject) root = parse (wrapped);
    g_autoptr (GBytes) tampered = NULL;

    json_object_set_string_member (json_object_get_object_member (root, "kdf"), "salt", short_salt);
    tampered = serialize (root);
    assert_refused (tampered, COFFER_ERROR_CORRUPT);
  }
  {
    g_autoptr (JsonObject) root = parse (wrapped);
    g_autoptr (GBytes) tampered = NULL;

    json_object_set_string_member (json_object_get_object_member (root, "kdf"), "n", "1024");
    tampered = serialize (root);
    assert_refused (tampered, COFFER_ERROR_CORRUPT);
  }
  {
    g_autoptr (JsonObject) root = parse (wrapped);
    g_autoptr (GBytes) tampered = NULL;

    json_object_set_double_member (json_object_get_object_member (root, "kdf"), "n", 1024.0);
    tampered = serialize (root);
    assert_refused (tampered, COFFER_ERROR_CORRUPT);
  }
  {
    g_autoptr (JsonObject) root = parse (wrapped);
    g_autoptr (GBytes) tampered = NULL;

    json_object_set_string_member (json_object_get_object_member (root, "kdf"), "name", "argon2id");
    tampered = serialize (root);
    assert_refused (tampered, COFFER_ERROR_CORRUPT);
  }
  {
    g_autoptr (JsonObject) root = parse (wrapped);
    g_autoptr (GBytes) tampered = NULL;

    json_object_set_int_member (root, "kdf", 1);
    tampered = serialize (root);
    assert_refused (tampered, COFFER_ERROR_CORRUPT);
  }

  /* Not a key file at all. */
  {
    const char *documents[] = { "", "[]", "\"format\"", "{\"format\":1", "{}" };

    for (gsize i = 0; i < G_N_ELEMENTS (documents); i++)
      {
        g_autoptr (GBytes) bytes = g_bytes_new_static (documents[i], strlen (documents[i]));

        assert_refused (bytes, COFFER_ERROR_CORRUPT);
      }
  }
}

static void
test_newer_format (void)
{
  g_autoptr (CofferMasterKeys) keys = coffer_master_keys_generate ();
  g_autoptr (GBytes) wrapped = wrap (keys, TINY_N);
  g_autoptr (JsonObject) root = parse (wrapped);
  g_autoptr (GBytes) newer = NULL;
  g_autoptr (GBytes) older = NULL;
  g_autoptr (CofferMasterKeys) opened = NULL;
  g_autoptr (GError) error = NULL;

  /* A newer format may change anything else: the format alone decides. */
  json_object_set_int_member (root, "format", 2);
  json_object_remove_member (root, "sealed");
  newer = serialize (root);
  opened = coffer_master_keys_unwrap (newer, PASSPHRASE, &error);
  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_NEWER_FORMAT);
  g_assert_nonnull (strstr (error->message, "made by a newer version of Coffer"));
  g_assert_null (opened);

  json_object_set_int_member (root, "format", 0);
  older = serialize (root);
  assert_refused (older, COFFER_ERROR_CORRUPT);
}

static void
test_calibrate_within_bounds (void)
{
  guint64 n = coffer_scrypt_calibrate ();
  g_autoptr (CofferMasterKeys) keys = coffer_master_keys_generate ();
  g_autoptr (CofferMasterKeys) opened = NULL;
  g_autoptr (GBytes) wrapped = NULL;
  g_autoptr (JsonObject) root = NULL;
  g_autoptr (GError) error = NULL;
  gint64 start;

  g_assert_cmpuint (n, >=, COFFER_SCRYPT_N_MIN);
  g_assert_cmpuint (n, <=, COFFER_SCRYPT_N_MAX);
  g_assert_cmpuint (n & (n - 1), ==, 0);

  /* Measured once: the second call does not run scrypt again. */
  start = g_get_monotonic_time ();
  g_assert_cmpuint (coffer_scrypt_calibrate (), ==, n);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 1000);

  /* 0 means "calibrate". */
  wrapped = wrap (keys, 0);
  root = parse (wrapped);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (root, "kdf"), "n"),
                   ==, n);
  opened = coffer_master_keys_unwrap (wrapped, PASSPHRASE, &error);
  g_assert_no_error (error);
  assert_keys_equal (opened, keys);
}

static void
test_passphrase_rules (void)
{
  const char *short_message = "The passphrase must be at least 16 characters long.";
  const char *ascii_message = "The passphrase may contain only printable ASCII characters (no "
                              "accents, no control characters).";
  const struct
  {
    const char *passphrase;
    const char *message;
  } cases[] = {
    { "", short_message },
    { "fifteen chars!!", short_message },
    { "sixteen chars!!!", NULL },
    { "                ", NULL },
    { "~!@#$%^&*()_+{}|:\"<>?`-=[]\\;',./", NULL },
    { "sixteen chars!!\xc3\xa9", ascii_message },
    { "caf\xc3\xa9 au lait, merci", ascii_message },
    { "with a\ttab inside it", ascii_message },
    { "with a newline at the end\n", ascii_message },
    { "with a DEL \x7f character", ascii_message },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      gboolean ok = coffer_passphrase_check (cases[i].passphrase, &error);

      if (cases[i].message == NULL)
        {
          g_assert_no_error (error);
          g_assert_true (ok);
        }
      else
        {
          g_assert_error (error, COFFER_ERROR, COFFER_ERROR_WEAK_PASSPHRASE);
          g_assert_cmpstr (error->message, ==, cases[i].message);
          g_assert_false (ok);
        }
    }
}

static void
test_generated_passphrases (void)
{
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                       (GDestroyNotify) coffer_passphrase_free);
  guint counts[256] = { 0 };

  for (guint i = 0; i < 200; i++)
    {
      char *passphrase = coffer_passphrase_generate ();
      g_autoptr (GError) error = NULL;

      g_assert_cmpuint (strlen (passphrase), ==, COFFER_PASSPHRASE_GENERATED_LENGTH);
      g_assert_true (coffer_passphrase_check (passphrase, &error));
      g_assert_no_error (error);
      /* Safe to paste in a shell, unambiguous to read. */
      g_assert_null (strpbrk (passphrase, " '\"\\`$!&|;<>()*?[]{}~#0O1lI"));
      for (const char *c = passphrase; *c != '\0'; c++)
        counts[(guchar) *c]++;

      g_assert_false (g_hash_table_contains (seen, passphrase));
      g_hash_table_add (seen, passphrase);
    }

  /* 6,400 draws from 62 characters: each appears, none dominates. */
  for (guint c = 0; c < 256; c++)
    if (counts[c] != 0)
      g_assert_cmpuint (counts[c], <, 250);
  g_assert_cmpuint (counts['A'], >, 0);
  g_assert_cmpuint (counts['z'], >, 0);
  g_assert_cmpuint (counts['9'], >, 0);
  g_assert_cmpuint (counts['%'], >, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/libcoffer/keys/wrap-unwrap-round-trip", test_round_trip);
  g_test_add_func ("/libcoffer/keys/generated-keys-differ", test_generated_keys_differ);
  g_test_add_func ("/libcoffer/keys/wrong-passphrase-refused", test_wrong_passphrase);
  g_test_add_func ("/libcoffer/keys/every-flipped-byte-fails", test_every_flipped_byte_fails);
  g_test_add_func ("/libcoffer/keys/other-valid-parameters-fail", test_other_valid_parameters_fail);
  g_test_add_func ("/libcoffer/keys/kdf-out-of-bounds-refused-before-work",
                   test_kdf_out_of_bounds_refused_before_work);
  g_test_add_func ("/libcoffer/keys/malformed-members-refused", test_malformed_members_refused);
  g_test_add_func ("/libcoffer/keys/newer-format", test_newer_format);
  g_test_add_func ("/libcoffer/keys/calibrate-within-bounds", test_calibrate_within_bounds);
  g_test_add_func ("/libcoffer/keys/passphrase-rules", test_passphrase_rules);
  g_test_add_func ("/libcoffer/keys/generated-passphrases", test_generated_passphrases);

  return g_test_run ();
}
