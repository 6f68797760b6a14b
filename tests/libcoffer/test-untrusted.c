/* test-untrusted.c: documents from a vault or a credentials file that once
 * broke their reader (found by the fuzzers of tests/fuzz, whose corpora
 * keep each input as crash-…) are refused as damaged, or read, and nothing
 * crashes, leaks or logs a critical on the way. */
#include "config.h"

#include <string.h>

#include "coffer-json-util.h"
#include "coffer.h"

#define MACHINE "0123456789abcdef0123456789abcdef"

typedef struct
{
  char *root;
  CofferStore *store;
  CofferVault *vault;
} Fixture;

static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  fixture->root = g_build_filename (g_get_user_data_dir (), "vault", NULL);
  g_assert_cmpint (g_mkdir_with_parents (fixture->root, 0700), ==, 0);
  fixture->store = coffer_local_store_new (fixture->root);
  fixture->vault = coffer_vault_create (fixture->store, "Acme-Vault", NULL, NULL, NULL, &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  g_clear_object (&fixture->vault);
  g_clear_object (&fixture->store);
  g_free (fixture->root);
}

static void
put (Fixture *fixture, const char *name, const char *text)
{
  g_autoptr (GBytes) bytes = g_bytes_new (text, strlen (text));
  g_autoptr (GError) error = NULL;

  coffer_store_put_sync (fixture->store, name, bytes, COFFER_PUT_ALWAYS, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
}

/* json-glib 1.6 takes a second value after the first as the document and
 * leaks the first, and takes escapes that make strings of bytes that are
 * not UTF-8: only one object of JSON's own syntax, alone, reaches it. */
static void
test_one_object_only (void)
{
  const char *refused[] = {
    "{\"a\" : 1}{\"b\" : 2}",
    "''{\"a\" : 1}",
    "{\"a\" : 1} x",
    "/* c */ {\"a\" : 1}",
    "{\"a\" : 'x'}",
    "{\"a\" : \"unterminated}",
    "[1]",
    "{\"a\" : 1",
    "",
    "{\"a\" : \"\\344\"}",
    "{\"a\" : \"\\uD800x\"}",
    "{\"a\" : \"\\uDC00\"}",
    "{\"a\" : \"\\u0000b\"}",
    "{\"a\" : \"\\x41\"}",
    "{\"a\" : \"\\q\"}",
    "{\"a\" : \"tab\there\"}",
    "{\"a\" : \"\\u12\"}",
  };
  const char *accepted[] = {
    "{\"a\" : 1}",
    "\n {\"host\" : \"Bob's \\\"laptop\\\" {[\", \"n\" : [-1.5e+3, true, null]}\r\n",
    "{\"nested\" : {\"list\" : [{}, []]}}",
    "{\"a\" : \"\\ud83d\\ude00 \\u00e9 \\n \\\" \\\\ \\/ \\t\"}",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autoptr (GBytes) bytes = g_bytes_new (refused[i], strlen (refused[i]));
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonObject) object = coffer_json_parse_object (bytes, "doc", &error);

      g_assert_null (object);
      g_assert_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT);
      g_assert_false (coffer_json_is_one_object (refused[i], strlen (refused[i])));
    }
  for (gsize i = 0; i < G_N_ELEMENTS (accepted); i++)
    {
      g_autoptr (GBytes) bytes = g_bytes_new (accepted[i], strlen (accepted[i]));
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonObject) object = coffer_json_parse_object (bytes, "doc", &error);

      g_assert_no_error (error);
      g_assert_nonnull (object);
    }
}

/* An empty key file, or one with a second value, is damaged. */
static void
test_key_file_shape (void)
{
  g_autoptr (CofferMasterKeys) keys = coffer_master_keys_generate ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) wrapped =
      coffer_master_keys_wrap (keys, "a passphrase for the tests", 1024, &error);
  g_autoptr (GBytes) empty = g_bytes_new (NULL, 0);
  g_autoptr (GByteArray) twice = g_byte_array_new ();
  g_autoptr (GBytes) twice_bytes = NULL;
  g_autoptr (CofferMasterKeys) opened = NULL;

  g_assert_no_error (error);
  opened = coffer_master_keys_unwrap (empty, "a passphrase for the tests", &error);
  g_assert_null (opened);
  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT);
  g_clear_error (&error);

  g_byte_array_append (twice, g_bytes_get_data (wrapped, NULL), g_bytes_get_size (wrapped));
  g_byte_array_append (twice, (const guint8 *) "{}", 2);
  twice_bytes = g_byte_array_free_to_bytes (g_steal_pointer (&twice));
  opened = coffer_master_keys_unwrap (twice_bytes, "a passphrase for the tests", &error);
  g_assert_null (opened);
  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT);
}

static char *
vault_json (Fixture *fixture, const char *created)
{
  return g_strdup_printf ("{\n"
                          "  \"format\" : 1,\n"
                          "  \"min_reader_version\" : 1,\n"
                          "  \"vault_id\" : \"%s\",\n"
                          "  \"name\" : \"Acme-Vault\",\n"
                          "  \"region\" : \"local\",\n"
                          "  \"redundancy\" : \"local\",\n"
                          "  \"created\" : \"%s\"\n"
                          "}\n",
                          coffer_vault_get_id (fixture->vault), created);
}

/* A time that is no date in UTC (year 0 or 10000) is damage; a year before
 * 1000 is a date, written back with four digits so that it reads again. */
static void
test_times_in_range (Fixture *fixture, gconstpointer data)
{
  const char *refused[] = { "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00" };
  g_autofree char *early = coffer_json_format_time (G_GINT64_CONSTANT (-30641760000));
  g_autofree char *text = NULL;
  g_autoptr (CofferVault) vault = NULL;
  g_autoptr (CofferVault) again = NULL;
  g_autoptr (GError) error = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autofree char *json = vault_json (fixture, refused[i]);

      put (fixture, "vault.json", json);
      vault = coffer_vault_open (fixture->store, NULL, NULL, &error);
      g_assert_null (vault);
      g_assert_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT);
      g_assert_nonnull (strstr (error->message, "“created” is not a time"));
      g_clear_error (&error);
    }

  g_assert_cmpstr (early, ==, "0999-01-01T00:00:00Z");
  text = vault_json (fixture, "0999-01-01T00:00:00Z");
  put (fixture, "vault.json", text);
  vault = coffer_vault_open (fixture->store, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (coffer_vault_set_redundancy (vault, "geo", NULL, &error));
  g_assert_no_error (error);
  again = coffer_vault_open (fixture->store, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (coffer_vault_get_redundancy (again), ==, "geo");
}

/* A credentials file whose store descriptor has members of another type,
 * its MAC intact, is refused: the descriptor's members are read as
 * strings. */
static void
test_credentials_store_members (void)
{
  const char *stores[] = {
    "{\"type\" : 1, \"path\" : \"/srv/vault\"}",
    "{\"type\" : \"local\", \"path\" : {}}",
    "{\"type\" : \"azure\", \"account\" : [], \"container\" : \"c\"}",
    "{\"path\" : \"/srv/vault\"}",
  };
  static const guint8 secret[32] = { 1, 2, 3 };
  g_autofree char *secret_text = g_base64_encode (secret, sizeof secret);

  for (gsize i = 0; i < G_N_ELEMENTS (stores); i++)
    {
      g_autoptr (GString) file = g_string_new (NULL);
      g_autoptr (GBytes) bytes = NULL;
      g_autoptr (GError) error = NULL;
      g_autoptr (CofferCredentials) credentials = NULL;
      guint8 digest[32];

      g_string_append_printf (file,
                              "{\n"
                              "  \"format\" : 1,\n"
                              "  \"type\" : \"coffer-vault-credentials\",\n"
                              "  \"vault_id\" : \"6f1c2a3e-8d4b-4f6a-9c1e-2b3d4e5f6a7b\",\n"
                              "  \"vault_name\" : \"Acme-Vault\",\n"
                              "  \"store\" : %s,\n"
                              "  \"serial\" : 1,\n"
                              "  \"issued\" : \"2026-11-21T09:30:00Z\",\n"
                              "  \"expires\" : \"2026-11-23T09:30:00Z\",\n"
                              "  \"secret\" : \"%s\",\n"
                              "  ",
                              stores[i], secret_text);
      coffer_hmac_sha256 (secret, sizeof secret, file->str, file->len, digest);
      g_string_append (file, "\"mac\" : \"");
      for (gsize j = 0; j < sizeof digest; j++)
        g_string_append_printf (file, "%02x", digest[j]);
      g_string_append (file, "\"\n}\n");
      bytes = g_bytes_new (file->str, file->len);

      credentials = coffer_credentials_parse (bytes, &error);
      g_assert_null (credentials);
      g_assert_error (error, COFFER_ERROR, COFFER_ERROR_CREDENTIALS_INVALID);
      g_assert_nonnull (strstr (error->message, "it does not say where the vault is"));
    }
}

/* Another job's lock whose members have other types is still a lock, one
 * that is not this process's: it is live, and exclusive unless it says
 * otherwise. */
static void
test_lock_members (Fixture *fixture, gconstpointer data)
{
  const char *locks[] = {
    "{\"host\" : 5, \"boot_id\" : 6, \"pid\" : \"7\"}",
    "{\"host\" : {}, \"boot_id\" : [], \"pid\" : {}, \"exclusive\" : []}",
    "{\"exclusive\" : \"no\"}",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (locks); i++)
    {
      g_autoptr (CofferLock) lock = NULL;
      g_autoptr (GError) error = NULL;

      put (fixture, "machines/" MACHINE "/locks/other", locks[i]);
      lock = coffer_lock_take (fixture->vault, MACHINE, "instance", FALSE, NULL, &error);
      g_assert_null (lock);
      g_assert_error (error, COFFER_ERROR, COFFER_ERROR_BUSY);
    }
}

/* A config whose chunker parameters have other types is damaged. */
static void
test_config_members (Fixture *fixture, gconstpointer data)
{
  const char *chunkers[] = {
    "{\"algorithm\" : [], \"min\" : 262144, \"avg\" : 1048576, \"max\" : 4194304}",
    "{\"algorithm\" : \"fastcdc-2020\", \"min\" : {}, \"avg\" : 1048576, \"max\" : 4194304}",
    "{\"algorithm\" : \"fastcdc-2020\", \"min\" : \"262144\", \"max\" : 4194304}",
  };
  g_autoptr (CofferMasterKeys) keys = coffer_master_keys_generate ();
  guint8 key[32];

  coffer_hmac_sha256 (keys->encryption, COFFER_KEY_SIZE, "config", strlen ("config"), key);
  for (gsize i = 0; i < G_N_ELEMENTS (chunkers); i++)
    {
      g_autofree char *json = g_strdup_printf (
          "{\"format\" : 1, \"chunker\" : %s, \"compression\" : \"zstd-3\"}", chunkers[i]);
      g_autoptr (GBytes) plain = g_bytes_new (json, strlen (json));
      g_autoptr (GBytes) sealed =
          coffer_gcm_seal (key, plain, "coffer-config-v1", strlen ("coffer-config-v1"));
      g_autoptr (GError) error = NULL;

      coffer_store_put_sync (fixture->store, "machines/" MACHINE "/config", sealed,
                             COFFER_PUT_ALWAYS, NULL, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_false (coffer_machine_config_read (fixture->vault, MACHINE, keys, NULL, &error));
      g_assert_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT);
    }
}

/* json-glib 1.6 writes U+001F raw, which is not JSON: a vault.json (or any
 * document) holding one was read, but once written back could never be read
 * again. Every control character must survive a write and a read. */
static void
test_control_characters_written_back (Fixture *fixture, gconstpointer data)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (JsonObject) object = NULL;
  g_autoptr (GError) error = NULL;
  char text[33];
  const char *back;

  for (guint i = 0; i < 32; i++)
    text[i] = (char) (i + 1);
  text[32] = '\0';
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "value");
  json_builder_add_string_value (builder, text);
  json_builder_end_object (builder);
  bytes = coffer_json_to_bytes (builder);
  object = coffer_json_parse_object (bytes, "a document", &error);
  g_assert_no_error (error);
  back = coffer_json_get_string (object, "value", "a document", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (back, ==, text);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/libcoffer/untrusted/one-object-only", test_one_object_only);
  g_test_add_func ("/libcoffer/untrusted/key-file-shape", test_key_file_shape);
  g_test_add_func ("/libcoffer/untrusted/credentials-store-members",
                   test_credentials_store_members);
#define ADD(path, func)                                                                            \
  g_test_add ("/libcoffer/untrusted/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("times-in-range", test_times_in_range);
  ADD ("lock-members", test_lock_members);
  ADD ("config-members", test_config_members);
  ADD ("control-characters-written-back", test_control_characters_written_back);
#undef ADD

  return g_test_run ();
}
