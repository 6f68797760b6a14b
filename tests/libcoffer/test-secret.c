/* test-secret.c: the passphrase is kept in the Secret Service, or in a private
 * file where there is none, and a locked keyring is reported, never unlocked.
 *
 * The Secret Service cases run Debian's gnome-keyring-daemon, unlocked, on a
 * private bus (GTestDBus) with the test's own home folder.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <libsecret/secret.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include "coffer-test-util.h"
#include "coffer.h"

#define MACHINE_ID "3fa1c0de5b7e4a21"
#define SECRET "open sesame, 16+ characters"
#define LOCKED_MESSAGE "The keyring is locked; unlock it or log in to run scheduled backups"
#define WAIT_SECONDS 20

static char *
secret_file (const char *state_dir, const char *name)
{
  return g_build_filename (state_dir, "secrets", name, NULL);
}

static int
file_mode (const char *path)
{
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  return st.st_mode & 07777;
}

/* A session bus address where nothing listens. */
static void
use_no_bus (void)
{
  g_autofree char *socket = g_build_filename (g_get_user_runtime_dir (), "no-such-bus", NULL);
  g_autofree char *address = g_strconcat ("unix:path=", socket, NULL);

  g_setenv ("DBUS_SESSION_BUS_ADDRESS", address, TRUE);
}

static void
store_ok (const char *state_dir,
          CofferSecretKind kind,
          const char *id,
          const char *secret,
          CofferSecretBackend expected)
{
  g_autoptr (GError) error = NULL;
  CofferSecretBackend backend = -1;

  g_assert_true (coffer_secret_store (state_dir, kind, id, secret, &backend, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (backend, ==, expected);
}

static void
assert_lookup (const char *state_dir,
               CofferSecretKind kind,
               const char *id,
               const char *expected,
               CofferSecretBackend expected_backend)
{
  g_autoptr (GError) error = NULL;
  CofferSecretBackend backend = -1;
  g_autofree char *secret = coffer_secret_lookup (state_dir, kind, id, &backend, NULL, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (secret, ==, expected);
  g_assert_cmpint (backend, ==, expected_backend);
}

/* ---- Without a Secret Service ----------------------------------------- */

static void
test_file_round_trip_without_bus (void)
{
  g_autofree char *state_dir = coffer_paths_state_dir ();
  g_autofree char *path = secret_file (state_dir, "passphrase-" MACHINE_ID);
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *contents = NULL;
  g_autoptr (GError) error = NULL;

  use_no_bus ();
  assert_lookup (state_dir, COFFER_SECRET_PASSPHRASE, MACHINE_ID, NULL, COFFER_SECRET_BACKEND_NONE);

  store_ok (state_dir, COFFER_SECRET_PASSPHRASE, MACHINE_ID, SECRET, COFFER_SECRET_BACKEND_FILE);
  g_assert_cmpint (file_mode (path), ==, 0600);
  g_assert_cmpint (file_mode (state_dir), ==, 0700);
  g_assert_cmpint (file_mode (dir), ==, 0700);
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, SECRET);
  assert_lookup (state_dir, COFFER_SECRET_PASSPHRASE, MACHINE_ID, SECRET,
                 COFFER_SECRET_BACKEND_FILE);

  /* Stored again: replaced, still private, no temporary file left behind. */
  store_ok (state_dir, COFFER_SECRET_PASSPHRASE, MACHINE_ID, "another secret, also long",
            COFFER_SECRET_BACKEND_FILE);
  g_assert_cmpint (file_mode (path), ==, 0600);
  assert_lookup (state_dir, COFFER_SECRET_PASSPHRASE, MACHINE_ID, "another secret, also long",
                 COFFER_SECRET_BACKEND_FILE);
  {
    g_autoptr (GDir) listing = g_dir_open (dir, 0, NULL);

    g_assert_cmpstr (g_dir_read_name (listing), ==, "passphrase-" MACHINE_ID);
    g_assert_null (g_dir_read_name (listing));
  }

  /* The proxy password is another secret. */
  assert_lookup (state_dir, COFFER_SECRET_PROXY_PASSWORD, MACHINE_ID, NULL,
                 COFFER_SECRET_BACKEND_NONE);

  g_assert_true (
      coffer_secret_clear (state_dir, COFFER_SECRET_PASSPHRASE, MACHINE_ID, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  assert_lookup (state_dir, COFFER_SECRET_PASSPHRASE, MACHINE_ID, NULL, COFFER_SECRET_BACKEND_NONE);

  /* Clearing what is not stored succeeds. */
  g_assert_true (
      coffer_secret_clear (state_dir, COFFER_SECRET_PASSPHRASE, MACHINE_ID, NULL, &error));
  g_assert_no_error (error);
}

static void
test_file_private_under_loose_umask (void)
{
  g_autofree char *state_dir = coffer_paths_state_dir ();
  g_autofree char *path = secret_file (state_dir, "proxy-password-" MACHINE_ID);
  mode_t old_umask;

  use_no_bus ();
  old_umask = umask (0);
  store_ok (state_dir, COFFER_SECRET_PROXY_PASSWORD, MACHINE_ID, "hunter2",
            COFFER_SECRET_BACKEND_FILE);
  umask (old_umask);

  g_assert_cmpint (file_mode (path), ==, 0600);
  g_assert_cmpint (file_mode (state_dir), ==, 0700);
  assert_lookup (state_dir, COFFER_SECRET_PROXY_PASSWORD, MACHINE_ID, "hunter2",
                 COFFER_SECRET_BACKEND_FILE);
}

static void
test_file_readable_by_others_refused (void)
{
  g_autofree char *state_dir = coffer_paths_state_dir ();
  g_autofree char *path = secret_file (state_dir, "passphrase-" MACHINE_ID);
  const int loose_modes[] = { 0644, 0640, 0604, 0620 };

  use_no_bus ();
  store_ok (state_dir, COFFER_SECRET_PASSPHRASE, MACHINE_ID, SECRET, COFFER_SECRET_BACKEND_FILE);

  for (gsize i = 0; i < G_N_ELEMENTS (loose_modes); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *secret = NULL;
      CofferSecretBackend backend = -1;

      g_assert_cmpint (g_chmod (path, loose_modes[i]), ==, 0);
      secret = coffer_secret_lookup (state_dir, COFFER_SECRET_PASSPHRASE, MACHINE_ID, &backend,
                                     NULL, &error);
      g_assert_error (error, COFFER_ERROR, COFFER_ERROR_PERMISSION_DENIED);
      g_assert_nonnull (strstr (error->message, path));
      g_assert_null (secret);
    }

  g_assert_cmpint (g_chmod (path, 0600), ==, 0);
  assert_lookup (state_dir, COFFER_SECRET_PASSPHRASE, MACHINE_ID, SECRET,
                 COFFER_SECRET_BACKEND_FILE);
}

static void
test_bad_id_refused (void)
{
  g_autofree char *state_dir = coffer_paths_state_dir ();
  const char *ids[] = { "", "../../evil", "a/b", ".hidden" };

  use_no_bus ();
  for (gsize i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      g_autoptr (GError) error = NULL;

      g_assert_false (coffer_secret_store (state_dir, COFFER_SECRET_PASSPHRASE, ids[i], SECRET,
                                           NULL, NULL, &error));
      g_assert_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT);
    }
  g_assert_false (g_file_test (state_dir, G_FILE_TEST_EXISTS));
}

static void
test_file_on_bus_without_secret_service (void)
{
  g_autoptr (GTestDBus) bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_autofree char *state_dir = coffer_paths_state_dir ();
  g_autofree char *path = secret_file (state_dir, "passphrase-" MACHINE_ID);

  g_test_dbus_up (bus);
  store_ok (state_dir, COFFER_SECRET_PASSPHRASE, MACHINE_ID, SECRET, COFFER_SECRET_BACKEND_FILE);
  g_assert_cmpint (file_mode (path), ==, 0600);
  assert_lookup (state_dir, COFFER_SECRET_PASSPHRASE, MACHINE_ID, SECRET,
                 COFFER_SECRET_BACKEND_FILE);
  secret_service_disconnect ();
  g_test_dbus_down (bus);
}

/* ---- With GNOME Keyring ------------------------------------------------- */

static void
lock_default_collection (void)
{
  g_autoptr (SecretService) service = NULL;
  g_autoptr (SecretCollection) collection = NULL;
  g_autoptr (GError) error = NULL;
  GList *objects;

  service = secret_service_get_sync (SECRET_SERVICE_NONE, NULL, &error);
  g_assert_no_error (error);
  collection = secret_collection_for_alias_sync (service, SECRET_COLLECTION_DEFAULT,
                                                 SECRET_COLLECTION_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (collection);
  objects = g_list_append (NULL, collection);
  g_assert_cmpint (secret_service_lock_sync (service, objects, NULL, NULL, &error), ==, 1);
  g_assert_no_error (error);
  g_list_free (objects);
}

static void
test_service_store_lookup_locked (void)
{
  g_autoptr (CofferTestKeyring) keyring = coffer_test_keyring_start (NULL);
  g_autofree char *state_dir = coffer_paths_state_dir ();
  g_autofree char *path = secret_file (state_dir, "passphrase-" MACHINE_ID);
  g_autoptr (GError) error = NULL;
  g_autofree char *secret = NULL;
  CofferSecretBackend backend = -1;

  if (keyring == NULL)
    return;

  store_ok (state_dir, COFFER_SECRET_PASSPHRASE, MACHINE_ID, SECRET, COFFER_SECRET_BACKEND_SERVICE);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  assert_lookup (state_dir, COFFER_SECRET_PASSPHRASE, MACHINE_ID, SECRET,
                 COFFER_SECRET_BACKEND_SERVICE);
  assert_lookup (state_dir, COFFER_SECRET_PASSPHRASE, "another-machine", NULL,
                 COFFER_SECRET_BACKEND_NONE);

  /* Stored again: the item is replaced, not duplicated. */
  store_ok (state_dir, COFFER_SECRET_PASSPHRASE, MACHINE_ID, "the second passphrase",
            COFFER_SECRET_BACKEND_SERVICE);
  assert_lookup (state_dir, COFFER_SECRET_PASSPHRASE, MACHINE_ID, "the second passphrase",
                 COFFER_SECRET_BACKEND_SERVICE);

  lock_default_collection ();

  secret = coffer_secret_lookup (state_dir, COFFER_SECRET_PASSPHRASE, MACHINE_ID, &backend, NULL,
                                 &error);
  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_KEYRING_LOCKED);
  g_assert_cmpstr (error->message, ==, LOCKED_MESSAGE);
  g_assert_null (secret);
  g_clear_error (&error);

  g_assert_false (coffer_secret_store (state_dir, COFFER_SECRET_PASSPHRASE, MACHINE_ID, SECRET,
                                       &backend, NULL, &error));
  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_KEYRING_LOCKED);
  g_assert_cmpstr (error->message, ==, LOCKED_MESSAGE);
  g_clear_error (&error);

  g_assert_false (
      coffer_secret_clear (state_dir, COFFER_SECRET_PASSPHRASE, MACHINE_ID, NULL, &error));
  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_KEYRING_LOCKED);

  /* Nothing fell back to a file. */
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
}

static void
test_service_replaces_file_and_clears (void)
{
  g_autofree char *state_dir = coffer_paths_state_dir ();
  g_autofree char *path = secret_file (state_dir, "passphrase-" MACHINE_ID);
  g_autoptr (CofferTestKeyring) keyring = NULL;
  g_autoptr (GError) error = NULL;

  /* Saved while there was no Secret Service… */
  use_no_bus ();
  store_ok (state_dir, COFFER_SECRET_PASSPHRASE, MACHINE_ID, "the old passphrase",
            COFFER_SECRET_BACKEND_FILE);

  /* …then there is one: the file is still found until the secret is saved again. */
  keyring = coffer_test_keyring_start (NULL);
  if (keyring == NULL)
    return;
  assert_lookup (state_dir, COFFER_SECRET_PASSPHRASE, MACHINE_ID, "the old passphrase",
                 COFFER_SECRET_BACKEND_FILE);
  store_ok (state_dir, COFFER_SECRET_PASSPHRASE, MACHINE_ID, SECRET, COFFER_SECRET_BACKEND_SERVICE);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  assert_lookup (state_dir, COFFER_SECRET_PASSPHRASE, MACHINE_ID, SECRET,
                 COFFER_SECRET_BACKEND_SERVICE);

  store_ok (state_dir, COFFER_SECRET_PROXY_PASSWORD, MACHINE_ID, "hunter2",
            COFFER_SECRET_BACKEND_SERVICE);

  g_assert_true (
      coffer_secret_clear (state_dir, COFFER_SECRET_PASSPHRASE, MACHINE_ID, NULL, &error));
  g_assert_no_error (error);
  assert_lookup (state_dir, COFFER_SECRET_PASSPHRASE, MACHINE_ID, NULL, COFFER_SECRET_BACKEND_NONE);
  /* Only that secret. */
  assert_lookup (state_dir, COFFER_SECRET_PROXY_PASSWORD, MACHINE_ID, "hunter2",
                 COFFER_SECRET_BACKEND_SERVICE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/libcoffer/secret/file/round-trip-without-bus",
                   test_file_round_trip_without_bus);
  g_test_add_func ("/libcoffer/secret/file/private-under-loose-umask",
                   test_file_private_under_loose_umask);
  g_test_add_func ("/libcoffer/secret/file/readable-by-others-refused",
                   test_file_readable_by_others_refused);
  g_test_add_func ("/libcoffer/secret/file/bad-id-refused", test_bad_id_refused);
  g_test_add_func ("/libcoffer/secret/file/bus-without-secret-service",
                   test_file_on_bus_without_secret_service);
  g_test_add_func ("/libcoffer/secret/service/store-lookup-locked",
                   test_service_store_lookup_locked);
  g_test_add_func ("/libcoffer/secret/service/replaces-file-and-clears",
                   test_service_replaces_file_and_clears);

  return g_test_run ();
}
