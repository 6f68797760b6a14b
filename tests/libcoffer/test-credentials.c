/* test-credentials.c: a credentials file registers only while it is the
 * newest, untouched and unexpired one. */
#include "config.h"

#include <string.h>

#include "coffer.h"

typedef struct
{
  char *root;
  CofferStore *store;
  CofferVault *vault;
  JsonObject *descriptor;
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
  fixture->descriptor = coffer_store_descriptor_new_local (fixture->root);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  g_clear_object (&fixture->vault);
  g_clear_object (&fixture->store);
  g_clear_pointer (&fixture->descriptor, json_object_unref);
  g_free (fixture->root);
}

static GBytes *
issue (Fixture *fixture, gint64 now)
{
  g_autoptr (GError) error = NULL;
  GBytes *file =
      coffer_vault_issue_credentials (fixture->vault, fixture->descriptor, now, NULL, &error);
  g_assert_no_error (error);
  return file;
}

static gboolean
accepts (Fixture *fixture, GBytes *file, gint64 now, GError **error)
{
  g_autoptr (CofferCredentials) credentials = coffer_credentials_parse (file, error);

  return credentials != NULL &&
         coffer_credentials_verify (credentials, fixture->vault, now, NULL, error);
}

#define NOW ((gint64) 1795000000)
#define INVALID_PREFIX                                                                             \
  "Invalid vault credentials provided. The file is either corrupted or does not have the latest "  \
  "credentials associated with recovery service.\n"

static void
test_fresh_file_is_accepted (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GBytes) file = issue (fixture, NOW);
  g_autoptr (CofferCredentials) credentials = NULL;
  g_autoptr (GError) error = NULL;

  credentials = coffer_credentials_parse (file, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (credentials->vault_name, ==, "Acme-Vault");
  g_assert_cmpint (credentials->expires - credentials->issued, ==, 48 * 3600);
  g_assert_true (coffer_credentials_verify (credentials, fixture->vault, NOW + 3600, NULL, &error));
  g_assert_no_error (error);
}

static void
test_newer_file_supersedes (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GBytes) first = issue (fixture, NOW);
  g_autoptr (GBytes) second = issue (fixture, NOW + 60);
  g_autoptr (GError) error = NULL;

  g_assert_false (accepts (fixture, first, NOW + 120, &error));
  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_CREDENTIALS_INVALID);
  g_assert_true (g_str_has_prefix (error->message, INVALID_PREFIX));
  g_assert_nonnull (strstr (error->message, "A newer credentials file was issued on"));
  g_clear_error (&error);

  g_assert_true (accepts (fixture, second, NOW + 120, &error));
  g_assert_no_error (error);
}

static void
test_expiry_follows_the_vault_record (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GBytes) file = issue (fixture, NOW);
  g_autoptr (GError) error = NULL;

  /* Within the five minutes of allowed clock skew. */
  g_assert_true (accepts (fixture, file, NOW + 48 * 3600 + 4 * 60, &error));
  g_assert_no_error (error);

  g_assert_false (accepts (fixture, file, NOW + 48 * 3600 + 6 * 60, &error));
  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_CREDENTIALS_EXPIRED);
  g_assert_true (g_str_has_prefix (error->message, "Vault credentials file provided has expired"));
}

static void
test_garbage_is_refused (Fixture *fixture, gconstpointer data)
{
  const char *inputs[] = { "", "{}", "not json", "[1,2,3]",
                           "{\"type\":\"coffer-vault-credentials\"}" };

  for (gsize i = 0; i < G_N_ELEMENTS (inputs); i++)
    {
      g_autoptr (GBytes) file = g_bytes_new_static (inputs[i], strlen (inputs[i]));
      g_autoptr (GError) error = NULL;

      g_assert_false (accepts (fixture, file, NOW, &error));
      g_assert_error (error, COFFER_ERROR, COFFER_ERROR_CREDENTIALS_INVALID);
      g_assert_true (g_str_has_prefix (error->message, INVALID_PREFIX));
      /* The reason is its own line, after the reference's message. */
      g_assert_cmpuint (strlen (error->message), >, strlen (INVALID_PREFIX));
    }
}

/* Thousands of random damages to a valid file: every one is refused, none
 * crashes. */
static void
test_every_mutation_is_refused (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GBytes) file = issue (fixture, NOW);
  g_autoptr (GRand) rand = g_rand_new_with_seed (g_test_rand_int ());
  gsize size;
  const guint8 *original = g_bytes_get_data (file, &size);

  for (int round = 0; round < 3000; round++)
    {
      g_autoptr (GByteArray) copy = g_byte_array_sized_new (size + 1);
      g_autoptr (GBytes) mutated = NULL;
      g_autoptr (GError) error = NULL;
      guint at = g_rand_int_range (rand, 0, size);

      g_byte_array_append (copy, original, size);
      switch (g_rand_int_range (rand, 0, 4))
        {
          case 0: /* flip bits of one byte */
            copy->data[at] ^= (guint8) g_rand_int_range (rand, 1, 256);
            break;
          case 1: /* delete one byte */
            g_byte_array_remove_index (copy, at);
            break;
          case 2: /* insert one byte */
            {
              guint8 byte = (guint8) g_rand_int_range (rand, 0, 256);
              g_array_insert_val ((GArray *) copy, at, byte);
            }
            break;
          default: /* cut the file short */
            g_byte_array_set_size (copy, at);
            break;
        }

      mutated = g_byte_array_free_to_bytes (g_steal_pointer (&copy));
      if (g_bytes_equal (mutated, file))
        continue;
      if (accepts (fixture, mutated, NOW, &error))
        g_error ("A damaged credentials file was accepted (round %d, offset %u)", round, at);
      g_assert_true (error->domain == COFFER_ERROR);
    }
}

static void
test_file_name (void)
{
  g_autofree char *name = coffer_credentials_file_name ("Acme-Vault", 1795000000);

  g_assert_cmpstr (name, ==, "Acme-Vault_2026-11-18.VaultCredentials");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func)                                                                            \
  g_test_add ("/libcoffer/credentials/" path, Fixture, NULL, fixture_set_up, func,                 \
              fixture_tear_down)
  ADD ("fresh-file-is-accepted", test_fresh_file_is_accepted);
  ADD ("newer-file-supersedes", test_newer_file_supersedes);
  ADD ("expiry-follows-the-vault-record", test_expiry_follows_the_vault_record);
  ADD ("garbage-is-refused", test_garbage_is_refused);
  ADD ("every-mutation-is-refused", test_every_mutation_is_refused);
#undef ADD
  g_test_add_func ("/libcoffer/credentials/file-name", test_file_name);

  return g_test_run ();
}
