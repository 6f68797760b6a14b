/* test-register.c: a new user creates a vault, issues credentials and
 * registers, with the real CLI and the real agent; every bad input gets its
 * message and changes nothing. */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coffer-test-util.h"
#include "coffer.h"

#define INVALID_MESSAGE                                                                            \
  "coffer: Invalid vault credentials provided. The file is either corrupted or does not have the " \
  "latest credentials associated with recovery service.\n"

typedef struct
{
  CofferTestAgent *agent;
  char *work;
  char *out;
  char *err;
  int status;
} Fixture;

static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  fixture->agent = coffer_test_agent_start (g_get_user_state_dir ());
  fixture->work = g_build_filename (g_get_user_data_dir (), "work", NULL);
  g_assert_cmpint (g_mkdir_with_parents (fixture->work, 0700), ==, 0);
}

static void
fixture_set_up_keyring (Fixture *fixture, gconstpointer data)
{
  fixture->agent = coffer_test_agent_start_with_keyring (g_get_user_state_dir ());
  fixture->work = g_build_filename (g_get_user_data_dir (), "work", NULL);
  g_assert_cmpint (g_mkdir_with_parents (fixture->work, 0700), ==, 0);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  g_clear_pointer (&fixture->agent, coffer_test_agent_stop);
  g_free (fixture->work);
  g_free (fixture->out);
  g_free (fixture->err);
}

/* Runs `coffer ARGS…`; the output lands in fixture->out, err and status. */
static int
cli_env (Fixture *fixture, const char *const *env, ...)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  const char *arg;
  va_list ap;

  va_start (ap, env);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (args, (gpointer) arg);
  va_end (ap);
  g_ptr_array_add (args, NULL);

  g_clear_pointer (&fixture->out, g_free);
  g_clear_pointer (&fixture->err, g_free);
  fixture->out =
      coffer_test_run_cli_env (coffer_test_bus_get_address (fixture->agent->bus), env,
                               (const char *const *) args->pdata, &fixture->err, &fixture->status);
  if (g_test_verbose ())
    g_printerr ("$ coffer %s\n%s%s", (char *) args->pdata[0], fixture->out, fixture->err);
  return fixture->status;
}

#define cli(fixture, ...) cli_env (fixture, NULL, __VA_ARGS__, NULL)

/* Runs `coffer ARGS…`, which must end within two seconds: a command that
 * waits on a fifo or reads /dev/zero fails the test. */
static int
cli_quick_args (Fixture *fixture, const char *first, ...)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  const char *arg;
  va_list ap;

  va_start (ap, first);
  for (arg = first; arg != NULL; arg = va_arg (ap, const char *))
    g_ptr_array_add (args, (gpointer) arg);
  va_end (ap);
  g_ptr_array_add (args, NULL);

  g_clear_pointer (&fixture->out, g_free);
  g_clear_pointer (&fixture->err, g_free);
  fixture->out = coffer_test_run_cli_timed (coffer_test_bus_get_address (fixture->agent->bus), NULL,
                                            (const char *const *) args->pdata, 2000, &fixture->err,
                                            &fixture->status);
  if (g_test_verbose ())
    g_printerr ("$ coffer %s\n%s%s", first, fixture->out, fixture->err);
  return fixture->status;
}

#define cli_quick(fixture, ...) cli_quick_args (fixture, __VA_ARGS__, NULL)

static char *
make_vault (Fixture *fixture, const char *name)
{
  char *path = g_build_filename (fixture->work, name, NULL);

  g_assert_cmpint (cli (fixture, "vault", "create", "--name", name, path), ==, 0);
  return path;
}

static char *
issue_env (Fixture *fixture, const char *vault, const char *const *env)
{
  g_assert_cmpint (
      cli_env (fixture, env, "vault", "credentials", vault, "--output", fixture->work, NULL), ==,
      0);
  return g_strstrip (g_strdup (fixture->out));
}

static char *
issue (Fixture *fixture, const char *vault)
{
  return issue_env (fixture, vault, NULL);
}

static char *
write_passphrase (Fixture *fixture, const char *name, const char *passphrase)
{
  char *path = g_build_filename (fixture->work, name, NULL);
  g_autofree char *contents = g_strconcat (passphrase, "\n", NULL);

  g_assert_true (
      g_file_set_contents_full (path, contents, -1, G_FILE_SET_CONTENTS_NONE, 0600, NULL));
  return path;
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

/* Every object of a vault with its contents, but the store's scratch folder:
 * to show nothing changed. */
static void
snapshot_walk (const char *root, const char *relative, GString *out)
{
  g_autofree char *path = g_build_filename (root, relative, NULL);
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  if (dir == NULL)
    return;
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *child = g_build_filename (relative, g_ptr_array_index (names, i), NULL);
      g_autofree char *full = g_build_filename (root, child, NULL);
      g_autofree char *contents = NULL;
      gsize length = 0;

      if (g_str_equal (child, "tmp"))
        continue;
      if (g_file_test (full, G_FILE_TEST_IS_DIR))
        snapshot_walk (root, child, out);
      else if (g_file_get_contents (full, &contents, &length, NULL))
        g_string_append_printf (
            out, "%s %" G_GSIZE_FORMAT " %s\n", child, length,
            g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) contents, length));
    }
}

static char *
snapshot (const char *root)
{
  GString *out = g_string_new (NULL);

  snapshot_walk (root, "", out);
  return g_string_free (out, FALSE);
}

static guint
count_objects (const char *root, const char *suffix)
{
  g_autofree char *listing = snapshot (root);
  g_auto (GStrv) lines = g_strsplit (listing, "\n", -1);
  guint count = 0;

  for (guint i = 0; lines[i] != NULL; i++)
    if (strstr (lines[i], suffix) != NULL)
      count++;
  return count;
}

static void
assert_not_registered (Fixture *fixture)
{
  g_assert_cmpint (cli (fixture, "status"), ==, 0);
  g_assert_cmpstr (fixture->out, ==, "This server is not registered to a vault.\n");
}

static void
assert_mode (const char *path, int mode)
{
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, mode);
}

static void
test_new_user_flow (Fixture *fixture, gconstpointer data)
{
  g_autofree char *vault = make_vault (fixture, "Acme-Vault");
  g_autofree char *credentials = issue (fixture, vault);
  g_autofree char *passphrase =
      write_passphrase (fixture, "pass.txt", "correct horse battery staple");
  g_autofree char *base = g_path_get_basename (credentials);

  /* NAME_YYYY-MM-DD.VaultCredentials, private. */
  g_assert_true (g_str_has_prefix (base, "Acme-Vault_"));
  g_assert_true (g_str_has_suffix (base, ".VaultCredentials"));
  assert_mode (credentials, 0600);
  g_assert_nonnull (strstr (fixture->err, "Valid until"));

  g_assert_cmpint (cli (fixture, "register", "--vault-credentials", credentials,
                        "--passphrase-file", passphrase, "--machine-name", "alpha"),
                   ==, 0);
  g_assert_nonnull (strstr (fixture->out, "This server is registered to vault “Acme-Vault” as "
                                          "“alpha”."));
  /* The passphrase itself is never printed when it came from a file. */
  g_assert_null (strstr (fixture->out, "correct horse"));

  g_assert_cmpint (cli (fixture, "status"), ==, 0);
  g_assert_nonnull (strstr (fixture->out, "Vault:             Acme-Vault\n"));
  g_assert_nonnull (strstr (fixture->out, "Server:            alpha\n"));
  g_assert_nonnull (strstr (fixture->out, vault));
  /* No Secret Service on the test's bus: the 0600 fallback file. */
  g_assert_nonnull (strstr (fixture->out, "Passphrase kept:   file"));

  /* The machine is in the vault, with its wrapped keys and config. */
  g_assert_cmpuint (count_objects (vault, "/machine.json "), ==, 1);
  g_assert_cmpuint (count_objects (vault, "/keys/"), ==, 1);
  g_assert_cmpuint (count_objects (vault, "/config "), ==, 1);

  g_assert_cmpint (cli (fixture, "status", "--json"), ==, 0);
  g_assert_nonnull (strstr (fixture->out, "\"vault-name\" : \"Acme-Vault\""));
}

static void
test_create_local_vault_in_one_step (Fixture *fixture, gconstpointer data)
{
  g_autofree char *vault = g_build_filename (fixture->work, "vault", NULL);
  g_autofree char *keep = g_build_filename (fixture->work, "keep", NULL);
  g_autofree char *saved = NULL;
  g_autofree char *contents = NULL;
  const char *line;

  g_assert_cmpint (g_mkdir (keep, 0700), ==, 0);
  g_assert_cmpint (cli (fixture, "register", "--create-local-vault", vault, "--generate-passphrase",
                        "--save-passphrase-to", keep, "--machine-name", "beta"),
                   ==, 0);
  g_assert_nonnull (strstr (fixture->out, "Created vault “Coffer-Vault”"));
  g_assert_nonnull (strstr (fixture->err, "Warning: the passphrase was saved on this machine"));

  line = strstr (fixture->out, "Passphrase saved:  ");
  g_assert_nonnull (line);
  saved = g_strndup (line + strlen ("Passphrase saved:  "),
                     strcspn (line, "\n") - strlen ("Passphrase saved:  "));
  g_assert_true (g_str_has_prefix (saved, keep));
  g_assert_nonnull (strstr (saved, "CofferPassphrase-beta-"));
  assert_mode (saved, 0600);
  g_assert_true (g_file_get_contents (saved, &contents, NULL, NULL));
  g_assert_cmpuint (strlen (contents), ==, 33);
  g_assert_cmpint (contents[32], ==, '\n');
  /* Saved, so not shown. */
  g_assert_null (strstr (fixture->out, g_strstrip (contents)));

  g_assert_cmpint (cli (fixture, "status"), ==, 0);
  g_assert_nonnull (strstr (fixture->out, "Vault:             Coffer-Vault\n"));
}

static void
test_generated_passphrase_is_shown_once (Fixture *fixture, gconstpointer data)
{
  g_autofree char *vault = g_build_filename (fixture->work, "vault", NULL);
  const char *line;

  g_assert_cmpint (
      cli (fixture, "register", "--create-local-vault", vault, "--generate-passphrase"), ==, 0);
  line = strstr (fixture->out, "Your passphrase");
  g_assert_nonnull (line);
  line = strchr (line, '\n') + 1;
  g_assert_true (g_str_has_prefix (line, "  "));
  g_assert_cmpuint (strcspn (line + 2, "\n"), ==, 32);
}

static void
test_credentials_failures_change_nothing (Fixture *fixture, gconstpointer data)
{
  g_autofree char *vault = make_vault (fixture, "Acme-Vault");
  g_autofree char *libfaketime = NULL;
  g_autofree char *preload = NULL;
  g_autofree char *faketime = g_strdup ("FAKETIME=-3d");
  g_autofree char *expired = NULL;
  g_autofree char *superseded = NULL;
  g_autofree char *current = NULL;
  g_autofree char *damaged = g_build_filename (fixture->work, "damaged.VaultCredentials", NULL);
  g_autofree char *garbage = g_build_filename (fixture->work, "garbage.VaultCredentials", NULL);
  g_autofree char *missing = g_build_filename (fixture->work, "missing.VaultCredentials", NULL);
  g_autofree char *passphrase =
      write_passphrase (fixture, "pass.txt", "correct horse battery staple");
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autofree char *contents = NULL;
  gsize length;
  const char *env[3] = { NULL };

  libfaketime = g_strdup ("/usr/lib/" MULTIARCH_TRIPLET "/faketime/libfaketime.so.1");
  if (!g_file_test (libfaketime, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("libfaketime is not installed");
      return;
    }

  /* Issued three days ago: past its 48 hours. */
  preload = g_strconcat ("LD_PRELOAD=", libfaketime, NULL);
  env[0] = preload;
  env[1] = faketime;
  {
    g_autofree char *issued = issue_env (fixture, vault, env);

    /* Out of the way of the files issued next, which get the same name. */
    expired = g_build_filename (fixture->work, "expired.VaultCredentials", NULL);
    g_assert_cmpint (g_rename (issued, expired), ==, 0);
  }

  g_assert_cmpint (
      cli (fixture, "register", "--vault-credentials", expired, "--passphrase-file", passphrase),
      ==, 1);
  g_assert_true (
      g_str_has_prefix (fixture->err, "coffer: Vault credentials file provided has expired\n"));

  {
    g_autofree char *issued = issue (fixture, vault);

    superseded = g_build_filename (fixture->work, "old.VaultCredentials", NULL);
    g_assert_cmpint (g_rename (issued, superseded), ==, 0);
  }
  current = issue (fixture, vault);

  g_assert_true (g_file_get_contents (current, &contents, &length, NULL));
  /* "Acme-Vault" → "ACme-Vault": still a well-formed file, but not the one
   * the vault issued. */
  {
    char *name = strstr (contents, "\"vault_name\" : \"Acme");
    g_assert_nonnull (name);
    name[strlen ("\"vault_name\" : \"A")] ^= 0x20;
  }
  g_assert_true (g_file_set_contents (damaged, contents, length, NULL));
  g_assert_true (g_file_set_contents (garbage, "This is not a credentials file.\n", -1, NULL));

  before = snapshot (vault);

  g_assert_cmpint (
      cli (fixture, "register", "--vault-credentials", superseded, "--passphrase-file", passphrase),
      ==, 1);
  g_assert_true (g_str_has_prefix (fixture->err, INVALID_MESSAGE));
  g_assert_nonnull (strstr (fixture->err, "\nA newer credentials file was issued on "));

  g_assert_cmpint (
      cli (fixture, "register", "--vault-credentials", damaged, "--passphrase-file", passphrase),
      ==, 1);
  g_assert_true (g_str_has_prefix (fixture->err, INVALID_MESSAGE));
  g_assert_nonnull (strstr (fixture->err, "\nThe file is damaged"));

  g_assert_cmpint (
      cli (fixture, "register", "--vault-credentials", garbage, "--passphrase-file", passphrase),
      ==, 1);
  g_assert_true (g_str_has_prefix (fixture->err, INVALID_MESSAGE));
  g_assert_nonnull (strstr (fixture->err, "\nThe file is not a vault credentials file"));

  g_assert_cmpint (
      cli (fixture, "register", "--vault-credentials", missing, "--passphrase-file", passphrase),
      ==, 1);
  g_assert_true (
      g_str_has_prefix (fixture->err, "coffer: Cannot read the vault credentials file: "));
  g_assert_nonnull (strstr (fixture->err, missing));

  /* A passphrase one character short. */
  {
    g_autofree char *short_one = write_passphrase (fixture, "short.txt", "fifteen-chars!!");

    g_assert_cmpint (
        cli (fixture, "register", "--vault-credentials", current, "--passphrase-file", short_one),
        ==, 1);
    g_assert_cmpstr (fixture->err, ==,
                     "coffer: The passphrase must be at least 16 characters long.\n");
  }

  after = snapshot (vault);
  g_assert_cmpstr (before, ==, after);
  assert_not_registered (fixture);

  /* The newest file still works after all that. */
  g_assert_cmpint (
      cli (fixture, "register", "--vault-credentials", current, "--passphrase-file", passphrase),
      ==, 0);
}

static void
test_other_vault_is_refused (Fixture *fixture, gconstpointer data)
{
  g_autofree char *first = make_vault (fixture, "First-Vault");
  g_autofree char *second = make_vault (fixture, "Second-Vault");
  g_autofree char *first_credentials = issue (fixture, first);
  g_autofree char *second_credentials = issue (fixture, second);
  g_autofree char *passphrase =
      write_passphrase (fixture, "pass.txt", "correct horse battery staple");
  g_autofree char *before = NULL;

  g_assert_cmpint (cli (fixture, "register", "--vault-credentials", first_credentials,
                        "--passphrase-file", passphrase),
                   ==, 0);
  before = snapshot (second);
  g_assert_cmpint (cli (fixture, "register", "--vault-credentials", second_credentials,
                        "--passphrase-file", passphrase),
                   ==, 1);
  g_assert_true (g_str_has_prefix (fixture->err,
                                   "coffer: The specified vault credential file cannot be used as "
                                   "it is not downloaded from the vault associated with this "
                                   "server.\n"));
  g_assert_cmpstr (snapshot (second), ==, before);
  g_assert_cmpint (cli (fixture, "status"), ==, 0);
  g_assert_nonnull (strstr (fixture->out, "Vault:             First-Vault\n"));
}

static void
test_reinstall_keeps_the_machine (Fixture *fixture, gconstpointer data)
{
  g_autofree char *vault = make_vault (fixture, "Acme-Vault");
  g_autofree char *credentials = NULL;
  g_autofree char *first = write_passphrase (fixture, "first.txt", "first passphrase, long enough");
  g_autofree char *second =
      write_passphrase (fixture, "second.txt", "second passphrase, long enough");
  g_autofree char *wrong = write_passphrase (fixture, "wrong.txt", "not the passphrase at all");
  g_autofree char *machines_before = NULL;

  credentials = issue (fixture, vault);
  g_assert_cmpint (cli (fixture, "register", "--vault-credentials", credentials,
                        "--passphrase-file", first, "--machine-name", "alpha"),
                   ==, 0);
  g_assert_cmpint (cli (fixture, "unregister"), ==, 0);
  g_assert_nonnull (strstr (fixture->out, "The vault keeps its recovery points"));
  assert_not_registered (fixture);
  machines_before = snapshot (vault);

  /* Same name, without --existing: refused, and told how. */
  g_assert_cmpint (cli (fixture, "register", "--vault-credentials", credentials,
                        "--passphrase-file", first, "--machine-name", "alpha"),
                   ==, 1);
  g_assert_nonnull (strstr (fixture->err, "A server named “alpha” is already registered"));
  g_assert_nonnull (strstr (fixture->err, "--existing"));

  /* --existing with a wrong passphrase: refused. */
  g_assert_cmpint (cli (fixture, "register", "--vault-credentials", credentials,
                        "--passphrase-file", wrong, "--machine-name", "alpha", "--existing"),
                   ==, 1);
  g_assert_cmpstr (fixture->err, ==,
                   "coffer: The passphrase is incorrect: it does not open the keys of server "
                   "“alpha”.\n");
  g_assert_cmpstr (snapshot (vault), ==, machines_before);

  /* With its passphrase: the same machine again. */
  g_assert_cmpint (cli (fixture, "register", "--vault-credentials", credentials,
                        "--passphrase-file", first, "--machine-name", "alpha", "--existing"),
                   ==, 0);
  g_assert_cmpuint (count_objects (vault, "/machine.json "), ==, 1);

  /* A new passphrase: the keys are rewrapped, the old one stops working. */
  g_assert_cmpint (cli (fixture, "passphrase", "change", "--passphrase-file", second), ==, 0);
  g_assert_cmpuint (count_objects (vault, "/keys/"), ==, 1);
  g_assert_cmpint (cli (fixture, "unregister"), ==, 0);
  g_assert_cmpint (cli (fixture, "register", "--vault-credentials", credentials,
                        "--passphrase-file", first, "--machine-name", "alpha", "--existing"),
                   ==, 1);
  g_assert_nonnull (strstr (fixture->err, "The passphrase is incorrect"));
  g_assert_cmpint (cli (fixture, "register", "--vault-credentials", credentials,
                        "--passphrase-file", second, "--machine-name", "alpha", "--existing"),
                   ==, 0);
}

static void
test_redundancy_locks (Fixture *fixture, gconstpointer data)
{
  g_autofree char *vault = make_vault (fixture, "Acme-Vault");
  g_autofree char *credentials = NULL;
  g_autofree char *passphrase =
      write_passphrase (fixture, "pass.txt", "correct horse battery staple");

  g_assert_cmpint (cli (fixture, "vault", "set-redundancy", vault, "local"), ==, 0);
  credentials = issue (fixture, vault);
  g_assert_cmpint (cli (fixture, "register", "--vault-credentials", credentials,
                        "--passphrase-file", passphrase),
                   ==, 0);
  g_assert_cmpint (cli (fixture, "vault", "set-redundancy", vault, "geo"), ==, 1);
  g_assert_cmpstr (fixture->err, ==,
                   "coffer: The storage redundancy option is locked because a server is "
                   "registered to this vault.\n");
}

static void
test_vault_create_refuses (Fixture *fixture, gconstpointer data)
{
  g_autofree char *vault = make_vault (fixture, "Acme-Vault");
  g_autofree char *busy = g_build_filename (fixture->work, "busy", NULL);
  g_autofree char *file = g_build_filename (busy, "file", NULL);
  g_autofree char *fresh = g_build_filename (fixture->work, "fresh", NULL);

  g_assert_cmpint (cli (fixture, "vault", "create", "--name", "Again", vault), ==, 1);
  g_assert_nonnull (strstr (fixture->err, "A vault already exists at"));

  g_assert_cmpint (g_mkdir (busy, 0700), ==, 0);
  g_assert_true (g_file_set_contents (file, "x", -1, NULL));
  g_assert_cmpint (cli (fixture, "vault", "create", "--name", "Busy", busy), ==, 1);
  g_assert_nonnull (strstr (fixture->err, "is not an empty folder"));

  g_assert_cmpint (cli (fixture, "vault", "create", "--name", "9lives", fresh), ==, 1);
  g_assert_cmpstr (fixture->err, ==, "coffer: A vault name must start with a letter.\n");
  g_assert_false (g_file_test (fresh, G_FILE_TEST_EXISTS));
}

static void
test_passphrase_in_secret_service (Fixture *fixture, gconstpointer data)
{
  g_autofree char *vault = NULL;
  g_autofree char *credentials = NULL;
  g_autofree char *passphrase = NULL;
  g_autofree char *second = NULL;
  g_autofree char *secrets = g_build_filename (g_get_user_state_dir (), "coffer", "secrets", NULL);

  if (fixture->agent == NULL)
    return; /* skipped: no gnome-keyring-daemon */

  vault = make_vault (fixture, "Acme-Vault");
  credentials = issue (fixture, vault);
  passphrase = write_passphrase (fixture, "pass.txt", "correct horse battery staple");
  second = write_passphrase (fixture, "second.txt", "second passphrase, long enough");

  g_assert_cmpint (cli (fixture, "register", "--vault-credentials", credentials,
                        "--passphrase-file", passphrase),
                   ==, 0);
  g_assert_nonnull (strstr (fixture->out, "Passphrase kept:   Secret Service"));
  g_assert_cmpint (cli (fixture, "status"), ==, 0);
  g_assert_nonnull (strstr (fixture->out, "Passphrase kept:   Secret Service"));
  /* Nothing fell back to a file. */
  {
    g_autoptr (GDir) dir = g_dir_open (secrets, 0, NULL);
    g_assert_true (dir == NULL || g_dir_read_name (dir) == NULL);
  }

  /* The change reads the old passphrase back from the keyring. */
  g_assert_cmpint (cli (fixture, "passphrase", "change", "--passphrase-file", second), ==, 0);
  g_assert_cmpint (cli (fixture, "status"), ==, 0);
  g_assert_nonnull (strstr (fixture->out, "Passphrase kept:   Secret Service"));
}

static void
test_vault_mounted_elsewhere (Fixture *fixture, gconstpointer data)
{
  g_autofree char *vault = make_vault (fixture, "Acme-Vault");
  g_autofree char *other = make_vault (fixture, "Other-Vault");
  g_autofree char *moved = g_build_filename (fixture->work, "moved", NULL);
  g_autofree char *credentials = issue (fixture, vault);
  g_autofree char *passphrase =
      write_passphrase (fixture, "pass.txt", "correct horse battery staple");

  /* The drive comes back at another mount point. */
  g_assert_cmpint (g_rename (vault, moved), ==, 0);
  g_assert_cmpint (cli (fixture, "register", "--vault-credentials", credentials,
                        "--passphrase-file", passphrase),
                   ==, 1);
  g_assert_nonnull (strstr (fixture->err, "cannot be reached"));
  g_assert_false (g_file_test (vault, G_FILE_TEST_EXISTS));

  /* Another vault at the path given: its id does not match. */
  g_assert_cmpint (cli (fixture, "register", "--vault-credentials", credentials,
                        "--passphrase-file", passphrase, "--vault-path", other),
                   ==, 1);
  g_assert_nonnull (strstr (fixture->err, "holds another vault"));

  g_assert_cmpint (cli (fixture, "register", "--vault-credentials", credentials,
                        "--passphrase-file", passphrase, "--vault-path", moved),
                   ==, 0);
  g_assert_cmpint (cli (fixture, "status"), ==, 0);
  g_assert_nonnull (strstr (fixture->out, moved));
}

static void
test_fifty_machines_at_most (Fixture *fixture, gconstpointer data)
{
  g_autofree char *vault = make_vault (fixture, "Acme-Vault");
  g_autofree char *credentials = issue (fixture, vault);
  g_autofree char *passphrase =
      write_passphrase (fixture, "pass.txt", "correct horse battery staple");
  g_autoptr (CofferStore) store = coffer_local_store_new (vault);
  g_autoptr (CofferVault) opened = coffer_vault_open (store, NULL, NULL, NULL);

  for (int i = 0; i < COFFER_VAULT_MAX_MACHINES; i++)
    {
      g_autoptr (CofferMachineInfo) machine = g_new0 (CofferMachineInfo, 1);
      g_autoptr (GError) error = NULL;

      machine->id = g_strdup_printf ("%032x", i + 1);
      machine->name = g_strdup_printf ("server-%02d", i);
      machine->host = g_strdup (machine->name);
      machine->os = g_strdup ("Debian GNU/Linux 12");
      machine->agent_version = g_strdup (PACKAGE_VERSION);
      machine->instance_id = g_strdup ("i");
      machine->registered_at = 1795000000;
      g_assert_true (coffer_vault_put_machine (opened, machine, TRUE, NULL, &error));
      g_assert_no_error (error);
    }

  g_assert_cmpint (cli (fixture, "register", "--vault-credentials", credentials,
                        "--passphrase-file", passphrase, "--machine-name", "one-more"),
                   ==, 1);
  g_assert_cmpstr (fixture->err, ==,
                   "coffer: Vault “Acme-Vault” already holds 50 servers, the most a vault can "
                   "hold.\n");
}

static void
test_policy_set_and_show (Fixture *fixture, gconstpointer data)
{
  g_autofree char *vault = g_build_filename (fixture->work, "vault", NULL);
  g_autofree char *documents = g_build_filename (fixture->work, "Documents", NULL);
  g_autofree char *missing = g_build_filename (fixture->work, "Missing", NULL);
  g_autofree char *passphrase =
      write_passphrase (fixture, "pass.txt", "correct horse battery staple");

  /* Not registered: no policy to change. */
  g_assert_cmpint (cli (fixture, "policy", "set", "--add", fixture->work), ==, 1);
  g_assert_nonnull (strstr (fixture->err, "not registered"));

  g_assert_cmpint (
      cli (fixture, "register", "--create-local-vault", vault, "--passphrase-file", passphrase), ==,
      0);
  g_assert_cmpint (g_mkdir (documents, 0700), ==, 0);

  /* --add is idempotent; each flag changes only its part. */
  g_assert_cmpint (cli (fixture, "policy", "set", "--add", documents, "--add", documents,
                        "--exclude", ".tmp", "--exclude", "/var/cache/*"),
                   ==, 0);
  g_assert_cmpint (cli (fixture, "policy", "set", "--add", missing), ==, 0);
  g_assert_nonnull (strstr (fixture->err, "does not exist now"));
  g_assert_cmpint (cli (fixture, "policy", "set", "--remove", missing, "--include", "keep.tmp"), ==,
                   0);

  g_assert_cmpint (cli (fixture, "policy", "show"), ==, 0);
  {
    g_autofree char *expected = g_strdup_printf ("Items:\n  %s\nExclusions:\n  .tmp\n  "
                                                 "/var/cache/*\nInclusions (win over "
                                                 "exclusions):\n  keep.tmp\nSchedule: none "
                                                 "(Back Up Now only)\nState: active\n"
                                                 "Retention: daily 30 days, weekly off, "
                                                 "monthly off, yearly off\n",
                                                 documents);
    g_assert_cmpstr (fixture->out, ==, expected);
  }

  /* A bad pattern is refused, and nothing of that call is kept. */
  g_assert_cmpint (cli (fixture, "policy", "set", "--exclude", "*.iso", "--exclude", "rel/x"), ==,
                   1);
  g_assert_nonnull (strstr (fixture->err, "“rel/x” is neither a folder"));
  g_assert_cmpint (cli (fixture, "policy", "show", "--json"), ==, 0);
  g_assert_null (strstr (fixture->out, "*.iso"));
}

static void
write_random_file (const char *path, gsize size)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (7);
  g_autofree guint32 *data = g_new (guint32, size / 4);

  for (gsize i = 0; i < size / 4; i++)
    data[i] = g_rand_int (rand);
  g_assert_true (g_file_set_contents (path, (const char *) data, size, NULL));
}

static guint64
job_number (const char *out)
{
  const char *line = strstr (out, " job ");
  g_assert_nonnull (line);
  return g_ascii_strtoull (line + strlen (" job "), NULL, 10);
}

static void
test_back_up_now (Fixture *fixture, gconstpointer data)
{
  g_autofree char *vault = g_build_filename (fixture->work, "vault", NULL);
  g_autofree char *source = g_build_filename (fixture->work, "source", NULL);
  g_autofree char *big = g_build_filename (source, "big.bin", NULL);
  g_autofree char *small = g_build_filename (source, "notes.txt", NULL);
  g_autofree char *more = g_build_filename (source, "more.bin", NULL);
  g_autofree char *passphrase =
      write_passphrase (fixture, "pass.txt", "correct horse battery staple");
  g_autofree char *show = NULL;
  guint64 first, second;

  g_assert_cmpint (
      cli (fixture, "register", "--create-local-vault", vault, "--passphrase-file", passphrase), ==,
      0);
  /* Nothing to back up yet: a clear refusal, not an empty point. */
  g_assert_cmpint (cli (fixture, "backup", "--wait"), ==, 1);
  g_assert_nonnull (strstr (fixture->out, "There is nothing to back up"));

  g_assert_cmpint (g_mkdir (source, 0700), ==, 0);
  write_random_file (big, 16 * 1024 * 1024);
  g_assert_true (g_file_set_contents (small, "remember the milk\n", -1, NULL));
  g_assert_cmpint (cli (fixture, "policy", "set", "--add", source), ==, 0);

  g_assert_cmpint (cli (fixture, "backup", "--wait"), ==, 0);
  g_assert_nonnull (strstr (fixture->out, "Job completed."));
  first = job_number (fixture->out);

  /* A second job while one runs is refused. Sending a new 1 MiB at 4 Mbps
   * keeps the job running for about two seconds. */
  write_random_file (more, 1024 * 1024);
  g_assert_cmpint (cli (fixture, "properties", "set", "--throttle", "on", "--work-days", "mon-sun",
                        "--work-bandwidth", "4Mbps", "--non-work-bandwidth", "4Mbps"),
                   ==, 0);
  g_assert_cmpint (cli (fixture, "backup"), ==, 0);
  second = job_number (fixture->out);
  g_assert_cmpuint (second, ==, first + 1);
  g_assert_cmpint (cli (fixture, "backup"), ==, 1);
  g_assert_cmpstr (fixture->err, ==, "coffer: Another job is in progress.\n");
  g_assert_cmpint (cli (fixture, "properties", "set", "--throttle", "off"), ==, 0);

  /* Let it end, then look at the history. */
  for (int i = 0; i < 200; i++)
    {
      g_autofree char *id = g_strdup_printf ("%" G_GUINT64_FORMAT, second);
      cli (fixture, "job", "show", id);
      if (strstr (fixture->out, "Status:           running") == NULL)
        break;
      g_usleep (100 * G_TIME_SPAN_MILLISECOND);
    }
  g_assert_nonnull (strstr (fixture->out, "Status:           completed"));
  g_assert_nonnull (strstr (fixture->out, "Recovery point:   "));

  g_assert_cmpint (cli (fixture, "jobs"), ==, 0);
  g_assert_nonnull (strstr (fixture->out, "backup      completed"));
  /* The first job found nothing to back up: it is in the history as failed. */
  g_assert_cmpint (cli (fixture, "jobs", "--status", "failed"), ==, 0);
  g_assert_nonnull (strstr (fixture->out, "     1  backup      failed"));
  g_assert_cmpint (cli (fixture, "jobs", "--status", "cancelled"), ==, 0);
  g_assert_cmpstr (fixture->out, ==, "No jobs yet.\n");
  g_assert_cmpint (cli (fixture, "job", "show", "999"), ==, 1);
  g_assert_cmpstr (fixture->err, ==, "coffer: There is no job 999.\n");

  /* Everything stored checks out, byte for byte. */
  g_assert_cmpint (cli (fixture, "check", "--read-data", "--wait"), ==, 0);
  g_assert_nonnull (strstr (fixture->out, "No damage found: 2 recovery points"));
}

static void
test_killed_agent_leaves_a_failed_job (Fixture *fixture, gconstpointer data)
{
  g_autofree char *vault = g_build_filename (fixture->work, "vault", NULL);
  g_autofree char *source = g_build_filename (fixture->work, "source", NULL);
  g_autofree char *passphrase =
      write_passphrase (fixture, "pass.txt", "correct horse battery staple");
  g_autofree char *big = g_build_filename (source, "big.bin", NULL);
  gboolean transferring = FALSE;

  g_assert_cmpint (
      cli (fixture, "register", "--create-local-vault", vault, "--passphrase-file", passphrase), ==,
      0);
  g_assert_cmpint (g_mkdir (source, 0700), ==, 0);
  write_random_file (big, 32 * 1024 * 1024);
  g_assert_cmpint (cli (fixture, "policy", "set", "--add", source), ==, 0);
  /* At 512 Kbps the 32 MiB take minutes: the kill surely comes while the
   * data is being sent, however fast the machine. */
  g_assert_cmpint (cli (fixture, "properties", "set", "--throttle", "on", "--work-days", "mon-sun",
                        "--work-hours", "08:00-18:00", "--work-bandwidth", "512Kbps",
                        "--non-work-bandwidth", "512Kbps"),
                   ==, 0);

  g_assert_cmpint (cli (fixture, "backup"), ==, 0);
  /* Killed (SIGKILL) while the data is being sent. */
  for (int i = 0; i < 400 && !transferring; i++)
    {
      g_autoptr (GVariant) phase = g_dbus_connection_call_sync (
          fixture->agent->connection, AGENT_BUS_NAME, AGENT_OBJECT_PATH "/Jobs/1",
          "org.freedesktop.DBus.Properties", "Get",
          g_variant_new ("(ss)", "io.github.coffer.Job1", "Phase"), G_VARIANT_TYPE ("(v)"),
          G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL);
      g_autoptr (GVariant) value = phase != NULL ? g_variant_get_child_value (phase, 0) : NULL;
      g_autoptr (GVariant) text = value != NULL ? g_variant_get_variant (value) : NULL;

      transferring = text != NULL && g_str_equal (g_variant_get_string (text, NULL),
                                                  "Data transfer is in progress…");
      if (!transferring)
        g_usleep (10 * G_TIME_SPAN_MILLISECOND);
    }
  g_assert_true (transferring);
  g_subprocess_force_exit (fixture->agent->agent);
  g_subprocess_wait (fixture->agent->agent, NULL, NULL);
  g_clear_object (&fixture->agent->agent);

  /* The next agent marks the job failed, and the next backup succeeds. */
  {
    g_autoptr (CofferTestAgent) again = coffer_test_agent_start (g_get_user_state_dir ());
    const char *args[] = { "jobs", NULL };
    const char *backup[] = { "backup", "--wait", NULL };
    const char *unthrottle[] = { "properties", "set", "--throttle", "off", NULL };
    const char *show[] = { "job", "show", "1", NULL };
    const char *check[] = { "check", "--read-data", "--wait", NULL };
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    int status;

    out = coffer_test_run_cli (coffer_test_bus_get_address (again->bus), args, NULL, &status);
    g_assert_cmpint (status, ==, 0);
    g_assert_nonnull (strstr (out, "backup      failed"));
    g_clear_pointer (&out, g_free);
    out = coffer_test_run_cli (coffer_test_bus_get_address (again->bus), show, NULL, &status);
    g_assert_cmpint (status, ==, 0);
    g_assert_nonnull (strstr (out, "Status:           failed"));
    g_assert_nonnull (strstr (out, "Result:           The agent stopped while the job ran"));
    g_clear_pointer (&out, g_free);
    out = coffer_test_run_cli (coffer_test_bus_get_address (again->bus), unthrottle, NULL, &status);
    g_assert_cmpint (status, ==, 0);
    g_clear_pointer (&out, g_free);
    out = coffer_test_run_cli (coffer_test_bus_get_address (again->bus), backup, &err, &status);
    g_assert_cmpint (status, ==, 0);
    g_assert_nonnull (strstr (out, "Job completed."));
    g_clear_pointer (&out, g_free);
    /* What the killed job left behind does not hurt what is stored. */
    out = coffer_test_run_cli (coffer_test_bus_get_address (again->bus), check, NULL, &status);
    g_assert_cmpint (status, ==, 0);
    g_assert_nonnull (strstr (out, "No damage found: 1 recovery point,"));
  }
}

static void
test_recover_from_this_and_another_server (Fixture *fixture, gconstpointer data)
{
  g_autofree char *vault = make_vault (fixture, "Acme-Vault");
  g_autofree char *credentials = issue (fixture, vault);
  g_autofree char *source = g_build_filename (fixture->work, "source", NULL);
  g_autofree char *nested = g_build_filename (source, "letters", NULL);
  g_autofree char *letter = g_build_filename (nested, "to-ann.txt", NULL);
  g_autofree char *big = g_build_filename (source, "big.bin", NULL);
  g_autofree char *target = g_build_filename (fixture->work, "recovered", NULL);
  g_autofree char *alpha_pass =
      write_passphrase (fixture, "alpha.txt", "alpha passphrase, long enough");
  g_autofree char *beta_pass =
      write_passphrase (fixture, "beta.txt", "beta passphrase, long enough!");
  g_autofree char *wrong = write_passphrase (fixture, "wrong.txt", "not alpha's passphrase at all");
  g_autofree char *original = NULL;
  g_autofree char *restored = NULL;
  g_autofree char *restored_path = NULL;
  g_autofree char *letter_path = NULL;
  gsize original_length, restored_length;

  g_assert_cmpint (cli (fixture, "register", "--vault-credentials", credentials,
                        "--passphrase-file", alpha_pass, "--machine-name", "alpha"),
                   ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (nested, 0700), ==, 0);
  g_assert_true (g_file_set_contents (letter, "Dear Ann,\n", -1, NULL));
  write_random_file (big, 8 * 1024 * 1024);
  g_assert_cmpint (cli (fixture, "policy", "set", "--add", source), ==, 0);
  g_assert_cmpint (cli (fixture, "backup", "--wait"), ==, 0);

  g_assert_cmpint (cli (fixture, "recover", "points"), ==, 0);
  g_assert_nonnull (strstr (fixture->out, "on-demand"));
  /* A passphrase without --machine is a mistake, not something to ignore. */
  g_assert_cmpint (cli (fixture, "recover", "points", "--passphrase-file", wrong), !=, 0);
  g_assert_nonnull (strstr (fixture->err, "add --machine NAME"));
  g_assert_cmpint (cli (fixture, "recover", "ls", "latest", source), ==, 0);
  g_assert_nonnull (strstr (fixture->out, "big.bin"));
  g_assert_nonnull (strstr (fixture->out, "letters/"));
  g_assert_cmpint (cli (fixture, "recover", "find", "latest", "*.TXT"), ==, 0);
  g_assert_true (g_str_has_prefix (fixture->out, letter));
  g_assert_cmpstr (fixture->out + strlen (letter), ==, "\n");

  /* Recover to another folder; the bytes are the original's. */
  g_assert_cmpint (g_mkdir (target, 0700), ==, 0);
  g_assert_cmpint (cli (fixture, "recover", "run", "latest", big, "--to", target, "--wait"), ==, 0);
  restored_path = g_build_filename (target, "big.bin", NULL);
  g_assert_true (g_file_get_contents (big, &original, &original_length, NULL));
  g_assert_true (g_file_get_contents (restored_path, &restored, &restored_length, NULL));
  g_assert_cmpmem (original, original_length, restored, restored_length);

  /* A second server of the vault recovers the first one's files. */
  g_assert_cmpint (cli (fixture, "unregister"), ==, 0);
  g_free (credentials);
  credentials = issue (fixture, vault);
  g_assert_cmpint (cli (fixture, "register", "--vault-credentials", credentials,
                        "--passphrase-file", beta_pass, "--machine-name", "beta"),
                   ==, 0);
  g_assert_cmpint (
      cli (fixture, "recover", "points", "--machine", "alpha", "--passphrase-file", wrong), ==, 1);
  g_assert_cmpstr (fixture->err, ==,
                   "coffer: The passphrase is incorrect: it does not open the keys of server "
                   "“alpha”.\n");
  g_assert_cmpint (cli (fixture, "recover", "run", "latest", nested, "--to", target, "--machine",
                        "alpha", "--passphrase-file", alpha_pass, "--wait"),
                   ==, 0);
  letter_path = g_build_filename (target, "letters", "to-ann.txt", NULL);
  g_clear_pointer (&restored, g_free);
  g_assert_true (g_file_get_contents (letter_path, &restored, NULL, NULL));
  g_assert_cmpstr (restored, ==, "Dear Ann,\n");
}

static char *
make_fifo (Fixture *fixture, const char *name)
{
  char *path = g_build_filename (fixture->work, name, NULL);

  g_assert_cmpint (mkfifo (path, 0600), ==, 0);
  return path;
}

/* Every file a command reads is a regular file of a bounded size: a fifo,
 * /dev/zero, a huge file, a NUL byte or an empty credentials file is refused
 * at once, saying what is wrong. */
static void
test_input_files_are_checked (Fixture *fixture, gconstpointer data)
{
  g_autofree char *vault = make_vault (fixture, "Acme-Vault");
  g_autofree char *credentials = issue (fixture, vault);
  g_autofree char *fifo = make_fifo (fixture, "fifo");
  g_autofree char *passphrase =
      write_passphrase (fixture, "pass.txt", "correct horse battery staple");
  g_autofree char *link = g_build_filename (fixture->work, "link.txt", NULL);
  g_autofree char *nul = g_build_filename (fixture->work, "nul.txt", NULL);
  g_autofree char *huge = g_build_filename (fixture->work, "huge.txt", NULL);
  g_autofree char *empty = g_build_filename (fixture->work, "empty.VaultCredentials", NULL);
  g_autofree char *long_one = NULL;
  g_autofree char *longest = NULL;
  g_autofree char *before = NULL;
  g_autofree char *text = NULL;
  const char *fifo_message = " is a named pipe (fifo), not a regular file.\n";
  const char *zero_message = "/dev/zero is a character device, not a regular file.\n";

  g_assert_true (g_file_set_contents (nul, "correct horse\0battery staple\n", 30, NULL));
  text = g_strnfill (100 * 1024, 'a');
  g_assert_true (g_file_set_contents (huge, text, -1, NULL));
  g_assert_true (g_file_set_contents (empty, "", 0, NULL));
  g_assert_cmpint (symlink (passphrase, link), ==, 0);
  g_free (text);
  text = g_strnfill (COFFER_PASSPHRASE_MAX_LENGTH + 1, 'b');
  long_one = write_passphrase (fixture, "long.txt", text);
  g_free (text);
  text = g_strnfill (COFFER_PASSPHRASE_MAX_LENGTH, 'c');
  longest = write_passphrase (fixture, "longest.txt", text);
  before = snapshot (vault);

  /* The passphrase file. */
  g_assert_cmpint (cli_quick (fixture, "register", "--vault-credentials", credentials,
                              "--passphrase-file", fifo),
                   ==, 1);
  g_assert_true (g_str_has_prefix (fixture->err, "coffer: Cannot read the passphrase file: "));
  g_assert_true (g_str_has_suffix (fixture->err, fifo_message));
  g_assert_cmpint (cli_quick (fixture, "register", "--vault-credentials", credentials,
                              "--passphrase-file", "/dev/zero"),
                   ==, 1);
  g_assert_true (g_str_has_suffix (fixture->err, zero_message));
  g_assert_cmpint (cli_quick (fixture, "register", "--vault-credentials", credentials,
                              "--passphrase-file", huge),
                   ==, 1);
  g_assert_nonnull (strstr (fixture->err, "huge.txt is too large ("));
  g_assert_true (g_str_has_suffix (fixture->err, "): a file of this kind holds at most 64 KiB.\n"));
  g_assert_cmpint (
      cli_quick (fixture, "register", "--vault-credentials", credentials, "--passphrase-file", nul),
      ==, 1);
  g_assert_nonnull (strstr (fixture->err, "holds a NUL byte in its first line"));
  g_assert_nonnull (strstr (fixture->err, "16–1,024 printable ASCII characters"));
  g_assert_cmpint (cli_quick (fixture, "register", "--vault-credentials", credentials,
                              "--passphrase-file", long_one),
                   ==, 1);
  g_assert_cmpstr (fixture->err, ==,
                   "coffer: The passphrase is too long (1025 characters): a passphrase has "
                   "16–1,024 printable ASCII characters.\n");
  g_assert_cmpint (cli_quick (fixture, "passphrase", "change", "--passphrase-file", fifo), ==, 1);
  g_assert_true (g_str_has_suffix (fixture->err, fifo_message));

  /* The credentials file. */
  g_assert_cmpint (
      cli_quick (fixture, "register", "--vault-credentials", fifo, "--passphrase-file", passphrase),
      ==, 1);
  g_assert_true (
      g_str_has_prefix (fixture->err, "coffer: Cannot read the vault credentials file: "));
  g_assert_true (g_str_has_suffix (fixture->err, fifo_message));
  g_assert_cmpint (cli_quick (fixture, "register", "--vault-credentials", "/dev/zero",
                              "--passphrase-file", passphrase),
                   ==, 1);
  g_assert_true (g_str_has_suffix (fixture->err, zero_message));
  /* Empty: the agent says what it is, and is still there to say it. */
  g_assert_cmpint (
      cli (fixture, "register", "--vault-credentials", empty, "--passphrase-file", passphrase), ==,
      1);
  g_assert_true (g_str_has_prefix (fixture->err, INVALID_MESSAGE));
  g_assert_nonnull (strstr (fixture->err, "\nThe file is not a vault credentials file"));
  assert_not_registered (fixture);

  /* Another server's passphrase, the proxy password, an account key, a SAS. */
  g_assert_cmpint (
      cli_quick (fixture, "recover", "points", "--machine", "alpha", "--passphrase-file", fifo), ==,
      1);
  g_assert_true (g_str_has_suffix (fixture->err, fifo_message));
  g_assert_cmpint (cli_quick (fixture, "properties", "set", "--proxy", "http://proxy.example:3128",
                              "--proxy-user", "me", "--proxy-password-file", fifo),
                   ==, 1);
  g_assert_true (g_str_has_prefix (fixture->err, "coffer: Cannot read the proxy password file: "));
  g_assert_true (g_str_has_suffix (fixture->err, fifo_message));
  g_assert_cmpint (cli_quick (fixture, "vault", "create", "--name", "Blob-Vault",
                              "azure://acme/vault", "--sas-file", fifo),
                   ==, 1);
  g_assert_true (g_str_has_suffix (fixture->err, fifo_message));
  g_assert_cmpint (cli_quick (fixture, "vault", "credentials", "azure://acme/vault",
                              "--account-key-file", "/dev/zero"),
                   ==, 1);
  g_assert_true (g_str_has_suffix (fixture->err, zero_message));
  g_assert_cmpint (cli (fixture, "properties", "show", "--json"), ==, 0);
  g_assert_nonnull (strstr (fixture->out, "\"proxy\" : \"none\""));

  g_assert_cmpstr (snapshot (vault), ==, before);
  assert_not_registered (fixture);

  /* A link to a regular file is that file; 1,024 characters are allowed. */
  g_assert_cmpint (
      cli (fixture, "register", "--vault-credentials", credentials, "--passphrase-file", link), ==,
      0);
  g_assert_cmpint (cli (fixture, "passphrase", "change", "--passphrase-file", longest), ==, 0);
}

/* A second registration with --create-local-vault is refused before any
 * vault is made, in the words of what is wrong. */
static void
test_create_local_vault_when_registered (Fixture *fixture, gconstpointer data)
{
  g_autofree char *vault = g_build_filename (fixture->work, "vault", NULL);
  g_autofree char *second = g_build_filename (fixture->work, "second", NULL);
  g_autofree char *passphrase =
      write_passphrase (fixture, "pass.txt", "correct horse battery staple");

  g_assert_cmpint (cli (fixture, "register", "--create-local-vault", vault, "--passphrase-file",
                        passphrase, "--machine-name", "alpha"),
                   ==, 0);
  g_assert_cmpint (
      cli (fixture, "register", "--create-local-vault", second, "--passphrase-file", passphrase),
      ==, 1);
  g_assert_cmpstr (fixture->err, ==,
                   "coffer: This server is already registered to vault “Coffer-Vault” as "
                   "“alpha”; no vault was created. Run “coffer unregister” first to register it "
                   "to another vault.\n");
  g_assert_null (strstr (fixture->out, "Created vault"));
  g_assert_false (g_file_test (second, G_FILE_TEST_EXISTS));
}

/* A value out of its range is a usage error stating the range; nothing is
 * changed, nothing dropped without a word. */
static void
test_values_out_of_range (Fixture *fixture, gconstpointer data)
{
  g_autofree char *vault = g_build_filename (fixture->work, "vault", NULL);
  g_autofree char *passphrase =
      write_passphrase (fixture, "pass.txt", "correct horse battery staple");
  g_autofree char *policy = NULL;
  const struct
  {
    const char *option, *value, *message;
  } retention[] = {
    { "--retain-daily", "-1",
      "coffer: --retain-daily -1: Retention of daily backups must be between 7 and 9,999 days "
      "(or 0 to turn the rule off).\n" },
    { "--retain-weekly", "-1",
      "coffer: --retain-weekly -1: Retention of weekly backups must be between 4 and 5,163 "
      "weeks (or 0 to turn the rule off).\n" },
    { "--retain-monthly", "1189",
      "coffer: --retain-monthly 1189: Retention of monthly backups must be between 3 and 1,188 "
      "months (or 0 to turn the rule off).\n" },
    { "--retain-yearly", "ten",
      "coffer: --retain-yearly ten: Retention of yearly backups must be between 1 and 99 years "
      "(or 0 to turn the rule off).\n" },
  };

  g_assert_cmpint (
      cli (fixture, "register", "--create-local-vault", vault, "--passphrase-file", passphrase), ==,
      0);
  g_assert_cmpint (cli (fixture, "policy", "show", "--json"), ==, 0);
  policy = g_strdup (fixture->out);

  for (gsize i = 0; i < G_N_ELEMENTS (retention); i++)
    {
      g_assert_cmpint (cli (fixture, "policy", "set", retention[i].option, retention[i].value), ==,
                       2);
      g_assert_cmpstr (fixture->err, ==, retention[i].message);
    }
  g_assert_cmpint (cli (fixture, "policy", "set", "--daily", "09:15"), ==, 2);
  g_assert_cmpstr (fixture->err, ==,
                   "coffer: Backups can be scheduled on the hour or the half hour, not at "
                   "09:15.\n");
  g_assert_cmpint (cli (fixture, "policy", "set", "--weekly", "someday@09:00"), ==, 2);
  g_assert_nonnull (strstr (fixture->err, "“someday” is not a day of the week"));
  g_assert_cmpint (cli (fixture, "policy", "show", "--json"), ==, 0);
  g_assert_cmpstr (fixture->out, ==, policy);
  /* 0 turns a rule off, as before. */
  g_assert_cmpint (cli (fixture, "policy", "set", "--retain-weekly", "0"), ==, 0);

  g_assert_cmpint (cli (fixture, "jobs", "--status", "garbage"), ==, 2);
  g_assert_cmpstr (fixture->err, ==,
                   "coffer: --status is queued, running, completed, warnings, failed or "
                   "cancelled; not “garbage”.\n");
  g_assert_cmpint (cli (fixture, "job", "show", "0"), ==, 2);
  g_assert_cmpstr (fixture->err, ==, "coffer: “0” is not a job number.\n");
  g_assert_cmpint (cli (fixture, "job", "show", "18446744073709551615"), ==, 1);
  g_assert_cmpstr (fixture->err, ==, "coffer: There is no job 18446744073709551615.\n");

  g_assert_cmpint (cli (fixture, "properties", "set", "--concurrency", "17"), ==, 2);
  g_assert_cmpstr (fixture->err, ==, "coffer: --concurrency is a number from 1 to 16, not “17”.\n");
  g_assert_cmpint (cli (fixture, "properties", "set", "--work-bandwidth", "100Kbps"), ==, 2);
  g_assert_nonnull (strstr (fixture->err, "512Kbps to 1023Mbps"));
  g_assert_cmpint (cli (fixture, "properties", "set", "--work-hours", "17:00-09:00"), ==, 2);
  g_assert_nonnull (strstr (fixture->err, "ending after it starts"));
  /* A proxy user name without a custom proxy would be kept and never used. */
  g_assert_cmpint (cli (fixture, "properties", "set", "--proxy-user", "me"), ==, 1);
  g_assert_cmpstr (fixture->err, ==,
                   "coffer: A proxy user name goes with a custom proxy (http://HOST:PORT); the "
                   "proxy is none.\n");
  g_assert_cmpint (cli (fixture, "properties", "show", "--json"), ==, 0);
  g_assert_nonnull (strstr (fixture->out, "\"proxy-user\" : \"\""));
  g_assert_nonnull (strstr (fixture->out, "\"concurrency\" : 4"));
}

/* File names need not be UTF-8: a backup keeps them, listing shows them
 * escaped, recovery gives them back byte for byte. What cannot take them
 * yet (an item, a pattern, a folder setting) says so. */
static void
test_names_that_are_not_utf8 (Fixture *fixture, gconstpointer data)
{
  g_autofree char *vault = g_build_filename (fixture->work, "vault", NULL);
  g_autofree char *source = g_build_filename (fixture->work, "source", NULL);
  g_autofree char *latin1 = g_build_filename (source, "caf\xe9.txt", NULL);
  g_autofree char *folder = g_build_filename (source, "d\xff", NULL);
  g_autofree char *inside = g_build_filename (folder, "in.txt", NULL);
  g_autofree char *link = g_build_filename (source, "link", NULL);
  g_autofree char *target = g_build_filename (fixture->work, "recovered", NULL);
  g_autofree char *whole = g_build_filename (fixture->work, "whole", NULL);
  g_autofree char *bad_item = g_build_filename (fixture->work, "\xff", NULL);
  g_autofree char *passphrase =
      write_passphrase (fixture, "pass.txt", "correct horse battery staple");
  g_autofree char *policy = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *escaped = NULL;

  g_assert_cmpint (
      cli (fixture, "register", "--create-local-vault", vault, "--passphrase-file", passphrase), ==,
      0);
  g_assert_cmpint (g_mkdir_with_parents (folder, 0700), ==, 0);
  g_assert_cmpint (g_mkdir (target, 0700), ==, 0);
  g_assert_cmpint (g_mkdir (whole, 0700), ==, 0);
  g_assert_true (g_file_set_contents (latin1, "café\n", -1, NULL));
  g_assert_true (g_file_set_contents (inside, "inside\n", -1, NULL));
  g_assert_cmpint (symlink ("caf\xe9.txt", link), ==, 0);

  /* An item must be text: refused, saying why, and nothing is changed. */
  g_assert_cmpint (cli (fixture, "policy", "show", "--json"), ==, 0);
  policy = g_strdup (fixture->out);
  g_assert_cmpint (cli_quick (fixture, "policy", "set", "--add", source, "--add", bad_item), ==, 2);
  escaped = g_strdup_printf ("coffer: “%s/\\xff” is not valid UTF-8; Coffer cannot take it as an "
                             "item yet.\n",
                             fixture->work);
  g_assert_cmpstr (fixture->err, ==, escaped);
  g_assert_cmpint (cli (fixture, "policy", "show", "--json"), ==, 0);
  g_assert_cmpstr (fixture->out, ==, policy);
  g_assert_cmpint (cli_quick (fixture, "properties", "set", "--cache-folder", bad_item), ==, 2);
  g_assert_nonnull (strstr (fixture->err, "is not valid UTF-8; Coffer cannot take it as a cache "
                                          "folder yet."));

  /* Names inside an item are backed up and recovered as they are. */
  g_assert_cmpint (cli (fixture, "policy", "set", "--add", source), ==, 0);
  g_assert_cmpint (cli (fixture, "backup", "--wait"), ==, 0);
  g_assert_cmpint (cli_quick (fixture, "recover", "ls", "latest", source), ==, 0);
  g_assert_true (g_utf8_validate (fixture->out, -1, NULL));
  g_assert_nonnull (strstr (fixture->out, "  caf\\xe9.txt\n"));
  g_assert_nonnull (strstr (fixture->out, "  d\\xff/\n"));
  g_assert_nonnull (strstr (fixture->out, "  link -> caf\\xe9.txt\n"));
  g_assert_cmpint (cli_quick (fixture, "recover", "ls", "latest", source, "--json"), ==, 0);
  g_assert_nonnull (strstr (fixture->out, "\"name\" : \"caf\\\\xe9.txt\""));
  g_assert_cmpint (cli_quick (fixture, "recover", "ls", "latest", folder), ==, 0);
  g_assert_nonnull (strstr (fixture->out, "  in.txt\n"));
  g_assert_cmpint (cli_quick (fixture, "recover", "find", "latest", "in.txt"), ==, 0);
  g_free (escaped);
  escaped = g_strdup_printf ("%s/d\\xff/in.txt\n", source);
  g_assert_cmpstr (fixture->out, ==, escaped);
  g_assert_cmpint (cli_quick (fixture, "recover", "find", "latest", "\xff*"), ==, 2);
  g_assert_nonnull (strstr (fixture->err, "Coffer cannot take it as a pattern yet."));

  g_assert_cmpint (cli (fixture, "recover", "run", "latest", latin1, "--to", target, "--wait"), ==,
                   0);
  {
    g_autofree char *restored = g_build_filename (target, "caf\xe9.txt", NULL);
    g_assert_true (g_file_get_contents (restored, &contents, NULL, NULL));
    g_assert_cmpstr (contents, ==, "café\n");
  }
  g_assert_cmpint (cli (fixture, "recover", "run", "latest", source, "--to", whole, "--wait"), ==,
                   0);
  {
    g_autofree char *restored = g_build_filename (whole, "source", "d\xff", "in.txt", NULL);
    g_autofree char *restored_link = g_build_filename (whole, "source", "link", NULL);
    g_autofree char *link_target = g_file_read_link (restored_link, NULL);

    g_clear_pointer (&contents, g_free);
    g_assert_true (g_file_get_contents (restored, &contents, NULL, NULL));
    g_assert_cmpstr (contents, ==, "inside\n");
    g_assert_cmpstr (link_target, ==, "caf\xe9.txt");
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func)                                                                            \
  g_test_add ("/cli/register/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("new-user-flow", test_new_user_flow);
  ADD ("create-local-vault-in-one-step", test_create_local_vault_in_one_step);
  ADD ("generated-passphrase-is-shown-once", test_generated_passphrase_is_shown_once);
  ADD ("credentials-failures-change-nothing", test_credentials_failures_change_nothing);
  ADD ("other-vault-is-refused", test_other_vault_is_refused);
  ADD ("reinstall-keeps-the-machine", test_reinstall_keeps_the_machine);
  ADD ("redundancy-locks", test_redundancy_locks);
  ADD ("vault-create-refuses", test_vault_create_refuses);
  ADD ("vault-mounted-elsewhere", test_vault_mounted_elsewhere);
  ADD ("fifty-machines-at-most", test_fifty_machines_at_most);
  ADD ("policy-set-and-show", test_policy_set_and_show);
  ADD ("back-up-now", test_back_up_now);
  ADD ("killed-agent-leaves-a-failed-job", test_killed_agent_leaves_a_failed_job);
  ADD ("recover-from-this-and-another-server", test_recover_from_this_and_another_server);
  ADD ("input-files-are-checked", test_input_files_are_checked);
  ADD ("create-local-vault-when-registered", test_create_local_vault_when_registered);
  ADD ("values-out-of-range", test_values_out_of_range);
  ADD ("names-that-are-not-utf8", test_names_that_are_not_utf8);
#undef ADD
  g_test_add ("/cli/register/passphrase-in-secret-service", Fixture, NULL, fixture_set_up_keyring,
              test_passphrase_in_secret_service, fixture_tear_down);

  return g_test_run ();
}
