/* test-vault.c: a vault is found where it was made, and nowhere else. */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "coffer.h"

static char *
vault_root (void)
{
  return g_build_filename (g_get_user_data_dir (), "vault", NULL);
}

static CofferVault *
make_vault (const char *root, const char *name)
{
  g_autoptr (CofferStore) store = NULL;
  g_autoptr (GError) error = NULL;
  CofferVault *vault;

  g_assert_cmpint (g_mkdir_with_parents (root, 0700), ==, 0);
  store = coffer_local_store_new (root);
  vault = coffer_vault_create (store, name, "westeurope", NULL, NULL, &error);
  g_assert_no_error (error);
  return vault;
}

static void
test_name_rules (void)
{
  const struct
  {
    const char *name;
    const char *message;
  } refused[] = {
    { "A", "A vault name must be 2 to 50 characters long." },
    { "A123456789012345678901234567890123456789012345678901",
      "A vault name must be 2 to 50 characters long." },
    { "1vault", "A vault name must start with a letter." },
    { "-vault", "A vault name must start with a letter." },
    { "my vault", "A vault name may contain only letters, digits and hyphens." },
    { "my_vault", "A vault name may contain only letters, digits and hyphens." },
    { "välv", "A vault name may contain only letters, digits and hyphens." },
  };
  const char *accepted[] = { "Ab", "Acme-Vault", "v2",
                             "A1234567890123456789012345678901234567890123456789" };

  for (gsize i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autoptr (GError) error = NULL;

      g_assert_false (coffer_vault_name_check (refused[i].name, &error));
      g_assert_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT);
      g_assert_cmpstr (error->message, ==, refused[i].message);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (accepted); i++)
    g_assert_true (coffer_vault_name_check (accepted[i], NULL));
}

static void
test_reopens_with_its_identity (void)
{
  g_autofree char *root = vault_root ();
  g_autoptr (CofferVault) vault = make_vault (root, "Acme-Vault");
  g_autoptr (CofferStore) store = coffer_local_store_new (root);
  g_autoptr (CofferVault) again = NULL;
  g_autoptr (GError) error = NULL;

  again = coffer_vault_open (store, coffer_vault_get_id (vault), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (coffer_vault_get_name (again), ==, "Acme-Vault");
  g_assert_cmpstr (coffer_vault_get_region (again), ==, "westeurope");
  g_assert_cmpstr (coffer_vault_get_redundancy (again), ==, "geo");
}

static void
test_refuses_a_second_vault_in_one_place (void)
{
  g_autofree char *root = vault_root ();
  g_autoptr (CofferVault) vault = make_vault (root, "Acme-Vault");
  g_autoptr (CofferStore) store = coffer_local_store_new (root);
  g_autoptr (CofferVault) second = NULL;
  g_autoptr (GError) error = NULL;

  second = coffer_vault_create (store, "Other", NULL, NULL, NULL, &error);
  g_assert_null (second);
  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_EXISTS);
}

static void
test_unplugged_drive_is_unreachable (void)
{
  g_autofree char *root = vault_root ();
  g_autofree char *mount_point = g_build_filename (g_get_user_data_dir (), "empty-mount", NULL);
  g_autofree char *gone = g_build_filename (g_get_user_data_dir (), "gone", NULL);
  g_autoptr (CofferVault) vault = make_vault (root, "Acme-Vault");
  g_autoptr (CofferStore) empty = NULL;
  g_autoptr (CofferStore) missing = NULL;
  g_autoptr (CofferVault) opened = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GDir) dir = NULL;

  /* An empty mount point: no vault there, and none made by looking. */
  g_assert_cmpint (g_mkdir_with_parents (mount_point, 0700), ==, 0);
  empty = coffer_local_store_new (mount_point);
  opened = coffer_vault_open (empty, coffer_vault_get_id (vault), NULL, &error);
  g_assert_null (opened);
  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_VAULT_UNREACHABLE);
  g_assert_nonnull (strstr (error->message, "cannot be reached (is the drive connected?)"));
  g_clear_error (&error);
  dir = g_dir_open (mount_point, 0, NULL);
  g_assert_null (g_dir_read_name (dir));

  /* A folder that is not there at all is not created. */
  missing = coffer_local_store_new (gone);
  opened = coffer_vault_open (missing, NULL, NULL, &error);
  g_assert_null (opened);
  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_VAULT_UNREACHABLE);
  g_assert_false (g_file_test (gone, G_FILE_TEST_EXISTS));
}

static void
test_another_vault_in_its_place (void)
{
  g_autofree char *root_a = g_build_filename (g_get_user_data_dir (), "a", NULL);
  g_autofree char *root_b = g_build_filename (g_get_user_data_dir (), "b", NULL);
  g_autoptr (CofferVault) a = make_vault (root_a, "Vault-A");
  g_autoptr (CofferVault) b = make_vault (root_b, "Vault-B");
  g_autoptr (CofferStore) store = coffer_local_store_new (root_b);
  g_autoptr (CofferVault) opened = NULL;
  g_autoptr (GError) error = NULL;

  opened = coffer_vault_open (store, coffer_vault_get_id (a), NULL, &error);
  g_assert_null (opened);
  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_VAULT_UNREACHABLE);
  g_assert_nonnull (strstr (error->message, "holds another vault"));
}

static void
test_newer_vault_is_not_corrupt (void)
{
  g_autofree char *root = vault_root ();
  g_autofree char *path = NULL;
  g_autoptr (CofferVault) vault = make_vault (root, "Acme-Vault");
  g_autoptr (CofferStore) store = coffer_local_store_new (root);
  g_autoptr (CofferVault) opened = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *edited = NULL;
  GRegex *regex;

  path = g_build_filename (root, "vault.json", NULL);
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  regex = g_regex_new ("\"min_reader_version\" : 1", 0, 0, NULL);
  edited = g_regex_replace_literal (regex, contents, -1, 0, "\"min_reader_version\" : 7", 0, NULL);
  g_regex_unref (regex);
  g_assert_cmpstr (edited, !=, contents);
  g_assert_true (g_file_set_contents (path, edited, -1, NULL));

  opened = coffer_vault_open (store, NULL, NULL, &error);
  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_NEWER_FORMAT);
  g_assert_true (
      g_str_has_prefix (error->message, "This vault was made by a newer version of Coffer"));
}

static void
test_redundancy_locks_with_the_first_machine (void)
{
  g_autofree char *root = vault_root ();
  g_autoptr (CofferVault) vault = make_vault (root, "Acme-Vault");
  g_autoptr (CofferMachineInfo) machine = g_new0 (CofferMachineInfo, 1);
  g_autoptr (GError) error = NULL;

  g_assert_true (coffer_vault_set_redundancy (vault, "local", NULL, &error));
  g_assert_no_error (error);
  g_assert_false (coffer_vault_set_redundancy (vault, "zone", NULL, &error));
  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  machine->id = g_strdup ("0123456789abcdef0123456789abcdef");
  machine->name = g_strdup ("build-07");
  machine->host = g_strdup ("build-07");
  machine->os = g_strdup ("Debian GNU/Linux 12");
  machine->agent_version = g_strdup (PACKAGE_VERSION);
  machine->instance_id = g_strdup ("i-1");
  machine->registered_at = 1795000000;
  g_assert_true (coffer_vault_put_machine (vault, machine, TRUE, NULL, &error));
  g_assert_no_error (error);

  g_assert_false (coffer_vault_set_redundancy (vault, "geo", NULL, &error));
  g_assert_cmpstr (error->message, ==,
                   "The storage redundancy option is locked because a server is registered to "
                   "this vault.");

  {
    g_autoptr (CofferStore) store = coffer_local_store_new (root);
    g_autoptr (CofferVault) again = coffer_vault_open (store, NULL, NULL, NULL);
    g_autoptr (CofferMachineInfo) found = coffer_vault_find_machine (again, "BUILD-07", NULL, NULL);

    g_assert_cmpstr (coffer_vault_get_redundancy (again), ==, "local");
    g_assert_nonnull (found);
    g_assert_cmpstr (found->id, ==, machine->id);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/libcoffer/vault/name-rules", test_name_rules);
  g_test_add_func ("/libcoffer/vault/reopens-with-its-identity", test_reopens_with_its_identity);
  g_test_add_func ("/libcoffer/vault/refuses-a-second-vault-in-one-place",
                   test_refuses_a_second_vault_in_one_place);
  g_test_add_func ("/libcoffer/vault/unplugged-drive-is-unreachable",
                   test_unplugged_drive_is_unreachable);
  g_test_add_func ("/libcoffer/vault/another-vault-in-its-place", test_another_vault_in_its_place);
  g_test_add_func ("/libcoffer/vault/newer-vault-is-not-corrupt", test_newer_vault_is_not_corrupt);
  g_test_add_func ("/libcoffer/vault/redundancy-locks-with-the-first-machine",
                   test_redundancy_locks_with_the_first_machine);

  return g_test_run ();
}
