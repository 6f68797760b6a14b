/* test-azure.c: Azure vaults, end to end, against the real Azure Storage
 * emulator (Azurite, from tests/package.json) and Debian's tinyproxy.
 *
 * Each test starts Azurite on 127.0.0.1 on a free port with a folder of its
 * own, and real agents on private buses; the user's commands are the CLI's.
 */
#include "config.h"

#include "coffer-test-util.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

/* Azurite's documented development account. */
#define ACCOUNT "devstoreaccount1"
#define ACCOUNT_KEY                                                                                \
  "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

typedef struct
{
  char *work;
  char *tls_cert; /* Azurite serves https with this certificate when set */
  char *tls_key;
  char *azurite_dir;
  GSubprocess *azurite;
  guint16 port;
  char *endpoint;
  char *key_file;
  GSubprocess *proxy;
  guint16 proxy_port;
  char *proxy_log;
} Fixture;

static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static guint16
free_port (void)
{
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (GError) error = NULL;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_assert_true (g_socket_bind (socket, address, TRUE, &error));
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static gboolean
port_answers (guint16 port)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketConnection) connection = NULL;

  g_socket_client_set_enable_proxy (client, FALSE);
  connection = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, NULL);
  return connection != NULL;
}

static void
wait_for_port (guint16 port, const char *what)
{
  for (int i = 0; i < 300; i++)
    {
      if (port_answers (port))
        return;
      g_usleep (100 * 1000);
    }
  g_error ("%s did not listen on port %u within 30 seconds", what, port);
}

static void
azurite_start (Fixture *fixture)
{
  const char *source = g_getenv ("COFFER_SOURCE_ROOT");
  g_autofree char *azurite =
      g_build_filename (source, "tests", "node_modules", ".bin", "azurite-blob", NULL);
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *port = NULL;

  if (fixture->port == 0)
    fixture->port = free_port ();
  port = g_strdup_printf ("%u", fixture->port);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                        G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  {
    const char *argv[] = { azurite, "--blobHost", "127.0.0.1", "--blobPort", port, "--location",
                           fixture->azurite_dir, "--silent",
                           /* No telemetry: nothing leaves this machine. */
                           "--disableTelemetry", NULL, NULL, NULL, NULL, NULL };

    if (fixture->tls_cert != NULL)
      {
        argv[9] = "--cert";
        argv[10] = fixture->tls_cert;
        argv[11] = "--key";
        argv[12] = fixture->tls_key;
      }
    fixture->azurite = g_subprocess_launcher_spawnv (launcher, argv, &error);
  }
  g_assert_no_error (error);
  wait_for_port (fixture->port, "Azurite");
}

static void
exited_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *(gboolean *) user_data = TRUE;
}

static void
azurite_stop (Fixture *fixture)
{
  gboolean exited = FALSE;

  if (fixture->azurite == NULL)
    return;
  /* Stopped, not killed: Azurite saves its metadata when it stops, as a
   * real service keeps what it acknowledged. */
  g_subprocess_send_signal (fixture->azurite, SIGTERM);
  g_subprocess_wait_async (fixture->azurite, NULL, exited_cb, &exited);
  for (int i = 0; i < 150 && !exited; i++)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      if (!exited)
        g_usleep (100 * 1000);
    }
  if (!exited)
    {
      g_subprocess_force_exit (fixture->azurite);
      while (!exited)
        g_main_context_iteration (NULL, TRUE);
    }
  g_clear_object (&fixture->azurite);
}

static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  const char *source = g_getenv ("COFFER_SOURCE_ROOT");
  g_autofree char *azurite = NULL;

  g_assert_nonnull (source);
  azurite = g_build_filename (source, "tests", "node_modules", ".bin", "azurite-blob", NULL);
  if (!g_file_test (azurite, G_FILE_TEST_IS_EXECUTABLE))
    g_error ("Azurite is not installed: run “npm ci” in tests/ (bash build-aux/dev.sh test does)");

  fixture->work = g_build_filename (g_get_user_data_dir (), "work", NULL);
  g_assert_cmpint (g_mkdir_with_parents (fixture->work, 0700), ==, 0);
  fixture->azurite_dir = g_build_filename (fixture->work, "azurite", NULL);
  g_assert_cmpint (g_mkdir_with_parents (fixture->azurite_dir, 0700), ==, 0);
  azurite_start (fixture);
  fixture->endpoint = g_strdup_printf ("http://127.0.0.1:%u/" ACCOUNT, fixture->port);
  fixture->key_file = g_build_filename (fixture->work, "account.key", NULL);
  g_assert_true (g_file_set_contents_full (fixture->key_file, ACCOUNT_KEY "\n", -1,
                                           G_FILE_SET_CONTENTS_NONE, 0600, NULL));
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  azurite_stop (fixture);
  if (fixture->proxy != NULL)
    {
      g_subprocess_force_exit (fixture->proxy);
      g_subprocess_wait (fixture->proxy, NULL, NULL);
      g_clear_object (&fixture->proxy);
    }
  g_free (fixture->work);
  g_free (fixture->tls_cert);
  g_free (fixture->tls_key);
  g_free (fixture->azurite_dir);
  g_free (fixture->endpoint);
  g_free (fixture->key_file);
  g_free (fixture->proxy_log);
}

/* ---- Helpers --------------------------------------------------------------- */

/* Runs the CLI on @agent's bus; returns its exit status, and its output in
 * @out and @err when given. */
static int
run_cli (CofferTestAgent *agent, char **out, char **err, const char *first, ...)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  g_autofree char *stdout_text = NULL;
  g_autofree char *stderr_text = NULL;
  const char *arg;
  va_list ap;
  int status = -1;

  va_start (ap, first);
  for (arg = first; arg != NULL; arg = va_arg (ap, const char *))
    g_ptr_array_add (args, (gpointer) arg);
  va_end (ap);
  g_ptr_array_add (args, NULL);

  stdout_text = coffer_test_run_cli (agent != NULL ? coffer_test_bus_get_address (agent->bus)
                                                   : "unix:path=/nonexistent",
                                     (const char *const *) args->pdata, &stderr_text, &status);
  if (status != 0)
    g_test_message ("coffer %s → %d\n%s%s", first, status, stdout_text, stderr_text);
  if (out != NULL)
    *out = g_steal_pointer (&stdout_text);
  if (err != NULL)
    *err = g_steal_pointer (&stderr_text);
  return status;
}

static char *
write_passphrase (Fixture *fixture, const char *name, const char *passphrase)
{
  char *path = g_build_filename (fixture->work, name, NULL);

  g_assert_true (
      g_file_set_contents_full (path, passphrase, -1, G_FILE_SET_CONTENTS_NONE, 0600, NULL));
  return path;
}

/* Incompressible bytes, quickly. */
static void
write_random_file (const char *path, gsize size)
{
  g_autofree guint64 *data = g_new (guint64, size / 8 + 1);
  guint64 state = g_random_int () | ((guint64) g_random_int () << 32) | 1;

  for (gsize i = 0; i < size / 8 + 1; i++)
    {
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      data[i] = state;
    }
  g_assert_true (g_file_set_contents (path, (const char *) data, size, NULL));
}

static void
assert_same_file (const char *a, const char *b)
{
  g_autofree char *x = NULL;
  g_autofree char *y = NULL;
  gsize x_length, y_length;

  g_assert_true (g_file_get_contents (a, &x, &x_length, NULL));
  g_assert_true (g_file_get_contents (b, &y, &y_length, NULL));
  g_assert_cmpmem (x, x_length, y, y_length);
}

/* Creates an Azure vault in @container and issues credentials for it. */
static char *
create_vault (Fixture *fixture, const char *name, const char *container)
{
  g_autofree char *location = g_strdup_printf ("azure://" ACCOUNT "/%s", container);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *folder = g_build_filename (fixture->work, container, NULL);

  g_assert_cmpint (run_cli (NULL, &out, NULL, "vault", "create", "--name", name, location,
                            "--endpoint", fixture->endpoint, "--account-key-file",
                            fixture->key_file, NULL),
                   ==, 0);
  g_assert_nonnull (strstr (out, "Created vault"));
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (g_mkdir_with_parents (folder, 0700), ==, 0);
  g_assert_cmpint (run_cli (NULL, &out, &err, "vault", "credentials", location, "--endpoint",
                            fixture->endpoint, "--account-key-file", fixture->key_file, "--output",
                            folder, NULL),
                   ==, 0);
  /* Nothing secret on the terminal. */
  g_assert_null (strstr (out, ACCOUNT_KEY));
  g_assert_null (strstr (err, ACCOUNT_KEY));
  g_strchomp (out);
  return g_steal_pointer (&out);
}

static CofferTestAgent *
start_machine (Fixture *fixture, const char *machine)
{
  g_autofree char *state = g_build_filename (fixture->work, machine, "state", NULL);

  g_assert_cmpint (g_mkdir_with_parents (state, 0700), ==, 0);
  return coffer_test_agent_start (state);
}

static void
register_machine (Fixture *fixture,
                  CofferTestAgent *agent,
                  const char *credentials,
                  const char *passphrase_file,
                  const char *machine)
{
  g_autofree char *cache = g_build_filename (fixture->work, machine, "cache", NULL);

  g_assert_cmpint (run_cli (agent, NULL, NULL, "register", "--vault-credentials", credentials,
                            "--passphrase-file", passphrase_file, "--machine-name", machine,
                            "--cache-folder", cache, NULL),
                   ==, 0);
}

/* The catalog's copy of the key is as private as the credentials file. */
static void
assert_catalog_private (CofferTestAgent *agent)
{
  g_autofree char *catalog = g_build_filename (agent->state_home, "coffer", "catalog.sqlite", NULL);
  struct stat st;

  g_assert_cmpint (g_stat (catalog, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
}

/* ---- Tests ------------------------------------------------------------------ */

static void
test_round_trip (Fixture *fixture, gconstpointer data)
{
  g_autofree char *credentials = create_vault (fixture, "Cloud-Vault", "round-trip");
  g_autofree char *passphrase = write_passphrase (fixture, "pass", "a passphrase for the cloud");
  g_autofree char *source = g_build_filename (fixture->work, "source", NULL);
  g_autofree char *big = g_build_filename (source, "big.bin", NULL);
  g_autofree char *small = g_build_filename (source, "notes.txt", NULL);
  g_autofree char *target = g_build_filename (fixture->work, "recovered", NULL);
  g_autofree char *restored_big = NULL;
  g_autofree char *restored_small = NULL;
  g_autoptr (CofferTestAgent) agent = start_machine (fixture, "alpha");
  g_autofree char *out = NULL;
  struct stat st;

  g_assert_cmpint (g_stat (credentials, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  register_machine (fixture, agent, credentials, passphrase, "alpha");
  assert_catalog_private (agent);
  g_assert_cmpint (run_cli (agent, &out, NULL, "status", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "azure://" ACCOUNT "/round-trip"));

  g_assert_cmpint (g_mkdir_with_parents (source, 0700), ==, 0);
  write_random_file (big, 40 * 1024 * 1024);
  g_assert_true (g_file_set_contents (small, "remember the milk\n", -1, NULL));
  g_assert_cmpint (run_cli (agent, NULL, NULL, "policy", "set", "--add", source, NULL), ==, 0);
  g_assert_cmpint (run_cli (agent, NULL, NULL, "backup", "--wait", NULL), ==, 0);
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_cli (agent, &out, NULL, "check", "--read-data", "--wait", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "No damage found"));

  g_assert_cmpint (g_mkdir (target, 0700), ==, 0);
  g_assert_cmpint (run_cli (agent, NULL, NULL, "recover", "run", "latest", source, "--to", target,
                            "--wait", NULL),
                   ==, 0);
  restored_big = g_build_filename (target, "source", "big.bin", NULL);
  restored_small = g_build_filename (target, "source", "notes.txt", NULL);
  assert_same_file (big, restored_big);
  assert_same_file (small, restored_small);
}

/* Runs `coffer backup --wait` and returns it running, its stderr piped. */
static GSubprocess *
start_backup (CofferTestAgent *agent)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GError) error = NULL;
  GSubprocess *process;

  launcher =
      g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS",
                                coffer_test_bus_get_address (agent->bus), TRUE);
  process = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("COFFER_CLI"), "backup",
                                         "--wait", NULL);
  g_assert_no_error (error);
  return process;
}

static void
test_outage_retries_then_fails_clearly (Fixture *fixture, gconstpointer data)
{
  g_autofree char *credentials = create_vault (fixture, "Flaky-Vault", "outage");
  g_autofree char *passphrase = write_passphrase (fixture, "pass", "a passphrase for bad days");
  g_autofree char *source = g_build_filename (fixture->work, "source", NULL);
  g_autofree char *first = g_build_filename (source, "first.bin", NULL);
  g_autofree char *second = g_build_filename (source, "second.bin", NULL);
  g_autofree char *target = g_build_filename (fixture->work, "recovered", NULL);
  g_autofree char *restored = NULL;
  g_autoptr (CofferTestAgent) agent = NULL;
  g_autoptr (GSubprocess) backup = NULL;
  g_autoptr (GDataInputStream) lines = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr (GString) phases = g_string_new (NULL);
  char *line;

  /* A short retry budget, so that the test need not wait 15 minutes. */
  g_setenv ("COFFER_STORE_RETRY_SECONDS", "6", TRUE);
  agent = start_machine (fixture, "alpha");
  g_unsetenv ("COFFER_STORE_RETRY_SECONDS");
  register_machine (fixture, agent, credentials, passphrase, "alpha");

  /* A first backup, committed. */
  g_assert_cmpint (g_mkdir_with_parents (source, 0700), ==, 0);
  write_random_file (first, 3 * 1024 * 1024);
  g_assert_cmpint (run_cli (agent, NULL, NULL, "policy", "set", "--add", source, NULL), ==, 0);
  g_assert_cmpint (run_cli (agent, NULL, NULL, "backup", "--wait", NULL), ==, 0);

  /* The storage goes away while the second backup sends its data. */
  write_random_file (second, 400 * 1024 * 1024);
  backup = start_backup (agent);
  lines = g_data_input_stream_new (g_subprocess_get_stderr_pipe (backup));
  while ((line = g_data_input_stream_read_line_utf8 (lines, NULL, NULL, &error)) != NULL)
    {
      g_string_append_printf (phases, "%s\n", line);
      if (strstr (line, "Data transfer is in progress") != NULL && fixture->azurite != NULL)
        {
          g_usleep (G_USEC_PER_SEC / 2);
          azurite_stop (fixture);
        }
      g_free (line);
    }
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (backup, NULL, NULL, &out, NULL, &error));
  g_assert_no_error (error);
  g_test_message ("phases:\n%s", phases->str);
  g_assert_null (fixture->azurite);
  g_assert_false (g_subprocess_get_successful (backup));
  /* The job said it was retrying, then failed in plain words. (Progress is
   * sampled four times a second: on a busy machine the first retry may
   * come and go between two samples, so any retry's number will do.) */
  g_assert_nonnull (strstr (phases->str, "retrying ("));
  g_assert_nonnull (strstr (out, "cannot be reached"));
  g_assert_nonnull (strstr (out, "Coffer retried for 6 seconds"));

  /* The storage is back: the first point is intact, the next backup
   * succeeds, and the check finds no damage. */
  azurite_start (fixture);
  g_assert_cmpint (g_mkdir (target, 0700), ==, 0);
  g_assert_cmpint (run_cli (agent, NULL, NULL, "recover", "run", "latest", first, "--to", target,
                            "--wait", NULL),
                   ==, 0);
  restored = g_build_filename (target, "first.bin", NULL);
  assert_same_file (first, restored);
  g_assert_cmpint (run_cli (agent, NULL, NULL, "backup", "--wait", NULL), ==, 0);
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_cli (agent, &out, &err, "check", "--read-data", "--wait", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "No damage found"));
  g_clear_pointer (&restored, g_free);
  g_assert_cmpint (g_unlink (g_build_filename (target, "first.bin", NULL)), ==, 0);
  g_assert_cmpint (run_cli (agent, NULL, NULL, "recover", "run", "latest", second, "--to", target,
                            "--wait", NULL),
                   ==, 0);
  restored = g_build_filename (target, "second.bin", NULL);
  assert_same_file (second, restored);
}

/* tinyproxy on a free port, with Basic authentication, logging every request. */
static void
proxy_start (Fixture *fixture)
{
  g_autofree char *config = g_build_filename (fixture->work, "tinyproxy.conf", NULL);
  g_autofree char *text = NULL;
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *tinyproxy = g_find_program_in_path ("tinyproxy");

  if (tinyproxy == NULL)
    tinyproxy = g_strdup ("/usr/bin/tinyproxy");
  fixture->proxy_port = free_port ();
  fixture->proxy_log = g_build_filename (fixture->work, "tinyproxy.log", NULL);
  text = g_strdup_printf ("Port %u\n"
                          "Listen 127.0.0.1\n"
                          "Timeout 60\n"
                          "LogFile \"%s\"\n"
                          "LogLevel Info\n"
                          "MaxClients 50\n"
                          "Allow 127.0.0.1\n"
                          "BasicAuth proxyuser proxy-secret-42\n"
                          "ConnectPort %u\n",
                          fixture->proxy_port, fixture->proxy_log, fixture->port);
  g_assert_true (g_file_set_contents (config, text, -1, NULL));
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                        G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  fixture->proxy =
      g_subprocess_launcher_spawn (launcher, &error, tinyproxy, "-d", "-c", config, NULL);
  g_assert_no_error (error);
  wait_for_port (fixture->proxy_port, "tinyproxy");
}

/* Sets the custom proxy, as a user does. */
static void
set_proxy (Fixture *fixture, CofferTestAgent *agent, const char *password)
{
  g_autofree char *proxy = g_strdup_printf ("http://127.0.0.1:%u", fixture->proxy_port);
  g_autofree char *password_file = write_passphrase (fixture, "proxy-password", password);

  g_assert_cmpint (run_cli (agent, NULL, NULL, "properties", "set", "--proxy", proxy,
                            "--proxy-user", "proxyuser", "--proxy-password-file", password_file,
                            NULL),
                   ==, 0);
}

static guint
count_occurrences (const char *haystack, const char *needle)
{
  guint n = 0;

  for (const char *p = strstr (haystack, needle); p != NULL; p = strstr (p + 1, needle))
    n++;
  return n;
}

static void
test_through_an_authenticating_proxy (Fixture *fixture, gconstpointer data)
{
  g_autofree char *credentials = create_vault (fixture, "Proxied-Vault", "proxied");
  g_autofree char *passphrase = write_passphrase (fixture, "pass", "a passphrase behind a proxy");
  g_autofree char *source = g_build_filename (fixture->work, "source", NULL);
  g_autofree char *file = g_build_filename (source, "report.bin", NULL);
  g_autoptr (CofferTestAgent) agent = NULL;
  g_autofree char *log = NULL;
  g_autofree char *out = NULL;
  g_autofree char *url =
      g_strdup_printf ("http://127.0.0.1:%u/" ACCOUNT "/proxied/", fixture->port);
  guint before;

  proxy_start (fixture);
  agent = start_machine (fixture, "alpha");
  /* Set before registration: registration itself goes through it. */
  set_proxy (fixture, agent, "proxy-secret-42");
  register_machine (fixture, agent, credentials, passphrase, "alpha");
  g_assert_cmpint (g_mkdir_with_parents (source, 0700), ==, 0);
  write_random_file (file, 2 * 1024 * 1024);
  g_assert_cmpint (run_cli (agent, NULL, NULL, "policy", "set", "--add", source, NULL), ==, 0);
  g_assert_cmpint (run_cli (agent, NULL, NULL, "backup", "--wait", NULL), ==, 0);

  g_assert_true (g_file_get_contents (fixture->proxy_log, &log, NULL, NULL));
  /* Registration's and the backup's requests went through the proxy: the
   * machine's objects, the packs and the recovery point. */
  g_assert_nonnull (strstr (log, url));
  g_assert_nonnull (strstr (log, "/machines/"));
  g_assert_nonnull (strstr (log, "/data/"));
  g_assert_nonnull (strstr (log, "/snapshots/"));
  before = count_occurrences (log, url);
  g_assert_cmpuint (before, >, 5);
  /* The password is in no file but the 0600 secret file. */
  g_assert_null (strstr (log, "proxy-secret-42"));

  /* A wrong password: the job says so in plain words. */
  set_proxy (fixture, agent, "not-the-password");
  write_random_file (file, 1024 * 1024);
  g_assert_cmpint (run_cli (agent, &out, NULL, "backup", "--wait", NULL), !=, 0);
  g_assert_nonnull (strstr (out, "The proxy server rejected the user name or password"));
}

/* `coffer vault create` and `coffer vault credentials` go through a custom
 * proxy when told to; a wrong password is refused in plain words. */
static void
test_vault_commands_through_a_proxy (Fixture *fixture, gconstpointer data)
{
  g_autofree char *proxy = NULL;
  g_autofree char *good = write_passphrase (fixture, "proxy-password", "proxy-secret-42");
  g_autofree char *bad = write_passphrase (fixture, "bad-proxy-password", "not-the-password");
  g_autofree char *url = NULL;
  g_autofree char *log = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  const char *location = "azure://" ACCOUNT "/via-proxy";

  proxy_start (fixture);
  proxy = g_strdup_printf ("http://127.0.0.1:%u", fixture->proxy_port);
  url = g_strdup_printf ("http://127.0.0.1:%u/" ACCOUNT "/via-proxy", fixture->port);

  g_assert_cmpint (run_cli (NULL, NULL, &err, "vault", "create", "--name", "Proxy-Vault", location,
                            "--endpoint", fixture->endpoint, "--account-key-file",
                            fixture->key_file, "--proxy", proxy, "--proxy-user", "proxyuser",
                            "--proxy-password-file", bad, NULL),
                   ==, 1);
  g_assert_nonnull (strstr (err, "The proxy server rejected the user name or password"));
  g_clear_pointer (&err, g_free);

  g_assert_cmpint (run_cli (NULL, &out, NULL, "vault", "create", "--name", "Proxy-Vault", location,
                            "--endpoint", fixture->endpoint, "--account-key-file",
                            fixture->key_file, "--proxy", proxy, "--proxy-user", "proxyuser",
                            "--proxy-password-file", good, NULL),
                   ==, 0);
  g_assert_nonnull (strstr (out, "Created vault"));
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_cli (NULL, &out, NULL, "vault", "credentials", location, "--endpoint",
                            fixture->endpoint, "--account-key-file", fixture->key_file, "--proxy",
                            proxy, "--proxy-user", "proxyuser", "--proxy-password-file", good,
                            "--output", fixture->work, NULL),
                   ==, 0);
  g_assert_true (g_str_has_suffix (g_strchomp (out), ".VaultCredentials"));

  /* The container's creation and the vault's objects went through it. */
  g_assert_true (g_file_get_contents (fixture->proxy_log, &log, NULL, NULL));
  g_assert_nonnull (strstr (log, url));
  g_assert_cmpuint (count_occurrences (log, url), >=, 3);
  g_assert_null (strstr (log, "proxy-secret-42"));

  /* A user name without a proxy to send it to is a mistake. */
  g_assert_cmpint (run_cli (NULL, NULL, &err, "vault", "credentials", location, "--endpoint",
                            fixture->endpoint, "--account-key-file", fixture->key_file,
                            "--proxy-user", "proxyuser", NULL),
                   !=, 0);
  g_assert_nonnull (strstr (err, "--proxy http://HOST:PORT"));
}

/* A proxy that is not there is named as such. */
static void
test_unreachable_proxy_is_named (Fixture *fixture, gconstpointer data)
{
  g_autofree char *credentials = create_vault (fixture, "Lonely-Vault", "lonely");
  g_autofree char *passphrase = write_passphrase (fixture, "pass", "a passphrase with no proxy");
  g_autoptr (CofferTestAgent) agent = NULL;
  g_autofree char *err = NULL;
  g_autofree char *expected = NULL;

  fixture->proxy_port = free_port ();
  g_setenv ("COFFER_STORE_RETRY_SECONDS", "2", TRUE);
  agent = start_machine (fixture, "alpha");
  g_unsetenv ("COFFER_STORE_RETRY_SECONDS");
  set_proxy (fixture, agent, "whatever");
  g_assert_cmpint (run_cli (agent, NULL, &err, "register", "--vault-credentials", credentials,
                            "--passphrase-file", passphrase, NULL),
                   !=, 0);
  expected =
      g_strdup_printf ("The proxy server 127.0.0.1:%u cannot be reached", fixture->proxy_port);
  g_assert_nonnull (strstr (err, expected));
}

static char *
latest_point (CofferTestAgent *agent, const char *machine, const char *passphrase_file)
{
  g_autofree char *out = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  JsonArray *points;

  g_assert_cmpint (run_cli (agent, &out, NULL, "recover", "points", "--machine", machine,
                            "--passphrase-file", passphrase_file, "--json", NULL),
                   ==, 0);
  g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
  points = json_node_get_array (json_parser_get_root (parser));
  g_assert_cmpuint (json_array_get_length (points), ==, 1);
  return g_strdup (json_object_get_string_member (json_array_get_object_element (points, 0), "id"));
}

/* The acceptance story: a new user makes an Azure vault, registers two
 * machines, backs up from both, and recovers machine A's files on machine B
 * with A's passphrase. */
static void
test_two_machines_share_a_vault (Fixture *fixture, gconstpointer data)
{
  g_autofree char *credentials = create_vault (fixture, "Team-Vault", "team");
  g_autofree char *pass_a = write_passphrase (fixture, "pass-a", "alpha's own passphrase");
  g_autofree char *pass_b = write_passphrase (fixture, "pass-b", "beta's very own passphrase");
  g_autofree char *source_a = g_build_filename (fixture->work, "alpha-files", NULL);
  g_autofree char *source_b = g_build_filename (fixture->work, "beta-files", NULL);
  g_autofree char *file_a = g_build_filename (source_a, "plans.bin", NULL);
  g_autofree char *file_b = g_build_filename (source_b, "budget.bin", NULL);
  g_autofree char *target = g_build_filename (fixture->work, "on-beta", NULL);
  g_autofree char *restored = NULL;
  g_autofree char *point = NULL;
  g_autoptr (CofferTestAgent) alpha = start_machine (fixture, "alpha");
  g_autoptr (CofferTestAgent) beta = start_machine (fixture, "beta");

  register_machine (fixture, alpha, credentials, pass_a, "alpha");
  register_machine (fixture, beta, credentials, pass_b, "beta");

  g_assert_cmpint (g_mkdir_with_parents (source_a, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (source_b, 0700), ==, 0);
  write_random_file (file_a, 6 * 1024 * 1024);
  write_random_file (file_b, 5 * 1024 * 1024);
  g_assert_cmpint (run_cli (alpha, NULL, NULL, "policy", "set", "--add", source_a, NULL), ==, 0);
  g_assert_cmpint (run_cli (beta, NULL, NULL, "policy", "set", "--add", source_b, NULL), ==, 0);
  g_assert_cmpint (run_cli (alpha, NULL, NULL, "backup", "--wait", NULL), ==, 0);
  g_assert_cmpint (run_cli (beta, NULL, NULL, "backup", "--wait", NULL), ==, 0);

  /* Machine B lists and recovers machine A's point with A's passphrase. */
  point = latest_point (beta, "alpha", pass_a);
  g_assert_cmpint (g_mkdir (target, 0700), ==, 0);
  g_assert_cmpint (run_cli (beta, NULL, NULL, "recover", "run", point, file_a, "--to", target,
                            "--machine", "alpha", "--passphrase-file", pass_a, "--wait", NULL),
                   ==, 0);
  restored = g_build_filename (target, "plans.bin", NULL);
  assert_same_file (file_a, restored);
  /* B's passphrase does not open A's keys. */
  g_assert_cmpint (run_cli (beta, NULL, NULL, "recover", "points", "--machine", "alpha",
                            "--passphrase-file", pass_b, NULL),
                   !=, 0);
}

/* An account SAS for the blob service, signed with the account key as
 * Microsoft's "Create an account SAS" page describes for this version. */
static char *
account_sas (const char *permissions)
{
  const char *version = "2021-12-02", *expiry = "2099-01-01T00:00:00Z";
  g_autofree char *to_sign = g_strdup_printf ("%s\n%s\nb\nsco\n\n%s\n\nhttps,http\n%s\n\n", ACCOUNT,
                                              permissions, expiry, version);
  g_autofree char *signature = coffer_azure_sign (ACCOUNT_KEY, to_sign, NULL);
  g_autofree char *escaped = g_uri_escape_string (signature, NULL, FALSE);
  g_autofree char *escaped_expiry = g_uri_escape_string (expiry, NULL, FALSE);

  return g_strdup_printf ("?sv=%s&ss=b&srt=sco&sp=%s&se=%s&spr=https,http&sig=%s", version,
                          permissions, escaped_expiry, escaped);
}

/* A vault reached with a shared access signature instead of the key. */
static void
test_shared_access_signature (Fixture *fixture, gconstpointer data)
{
  g_autofree char *sas = account_sas ("rwdlac");
  g_autofree char *sas_file = write_passphrase (fixture, "vault.sas", sas);
  g_autofree char *bad_file = NULL;
  g_autofree char *passphrase = write_passphrase (fixture, "pass", "a passphrase for a token");
  g_autofree char *source = g_build_filename (fixture->work, "source", NULL);
  g_autofree char *file = g_build_filename (source, "ledger.bin", NULL);
  g_autofree char *folder = g_build_filename (fixture->work, "credentials", NULL);
  g_autofree char *credentials = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr (CofferTestAgent) agent = start_machine (fixture, "alpha");
  char *sig;

  g_assert_cmpint (run_cli (NULL, NULL, NULL, "vault", "create", "--name", "Token-Vault",
                            "azure://" ACCOUNT "/tokens", "--endpoint", fixture->endpoint,
                            "--sas-file", sas_file, NULL),
                   ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (folder, 0700), ==, 0);
  g_assert_cmpint (run_cli (NULL, &credentials, NULL, "vault", "credentials",
                            "azure://" ACCOUNT "/tokens", "--endpoint", fixture->endpoint,
                            "--sas-file", sas_file, "--output", folder, NULL),
                   ==, 0);
  g_strchomp (credentials);
  /* The file carries the token, not the account key. */
  g_assert_true (g_file_get_contents (credentials, &contents, NULL, NULL));
  g_assert_nonnull (strstr (contents, "\"auth\" : \"sas\""));
  g_assert_null (strstr (contents, ACCOUNT_KEY));

  register_machine (fixture, agent, credentials, passphrase, "alpha");
  g_assert_cmpint (g_mkdir_with_parents (source, 0700), ==, 0);
  write_random_file (file, 3 * 1024 * 1024);
  g_assert_cmpint (run_cli (agent, NULL, NULL, "policy", "set", "--add", source, NULL), ==, 0);
  g_assert_cmpint (run_cli (agent, NULL, NULL, "backup", "--wait", NULL), ==, 0);
  g_assert_cmpint (run_cli (agent, &out, NULL, "check", "--read-data", "--wait", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "No damage found"));

  /* A token whose signature is not the account's is refused at once. */
  sig = strstr (sas, "sig=") + strlen ("sig=");
  sig[0] = sig[0] == 'A' ? 'B' : 'A';
  bad_file = write_passphrase (fixture, "bad.sas", sas);
  g_assert_cmpint (run_cli (NULL, NULL, &err, "vault", "credentials", "azure://" ACCOUNT "/tokens",
                            "--endpoint", fixture->endpoint, "--sas-file", bad_file, "--output",
                            folder, NULL),
                   !=, 0);
  g_assert_nonnull (strstr (err, "The shared access signature was rejected"));
}

/* An https endpoint whose certificate no authority signed is refused, at
 * once, not retried and never accepted. */
static void
test_untrusted_certificate_is_refused (Fixture *fixture, gconstpointer data)
{
  g_autofree char *endpoint = NULL;
  g_autofree char *err = NULL;
  g_autofree char *cert = g_build_filename (fixture->work, "cert.pem", NULL);
  g_autofree char *key = g_build_filename (fixture->work, "key.pem", NULL);
  const char *argv[] = {
    "openssl", "req",   "-x509",         "-newkey", "rsa:2048",
    "-nodes",  "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
    "-days",   "1",     "-keyout",       key,       "-out",
    cert,      NULL
  };
  g_autoptr (GError) error = NULL;
  int status;
  gint64 start;

  g_assert_true (
      g_spawn_sync (NULL, (char **) argv, NULL,
                    G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                    NULL, NULL, NULL, NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));

  azurite_stop (fixture);
  fixture->tls_cert = g_strdup (cert);
  fixture->tls_key = g_strdup (key);
  fixture->port = 0;
  azurite_start (fixture);
  endpoint = g_strdup_printf ("https://127.0.0.1:%u/" ACCOUNT, fixture->port);

  start = g_get_monotonic_time ();
  g_assert_cmpint (run_cli (NULL, NULL, &err, "vault", "create", "--name", "Tls-Vault",
                            "azure://" ACCOUNT "/tls", "--endpoint", endpoint, "--account-key-file",
                            fixture->key_file, NULL),
                   !=, 0);
  g_assert_nonnull (
      strstr (err, "TLS certificate cannot be trusted (Unacceptable TLS certificate)"));
  g_assert_cmpint (g_get_monotonic_time () - start, <, 30 * G_USEC_PER_SEC);
}

/* Every byte in @path's files: what has reached Azurite's storage so far. */
static guint64
bytes_in (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;
  guint64 total = 0;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      struct stat st;

      if (lstat (child, &st) != 0)
        continue;
      if (S_ISDIR (st.st_mode))
        total += bytes_in (child);
      else if (S_ISREG (st.st_mode))
        total += st.st_size;
    }
  return total;
}

/* A 4 Mbps limit holds for uploads to Azure, counted where the bytes land
 * (Azurite's extent files), over ten seconds: each request body is read at
 * the throttle's pace, not sent whole and paid for afterwards. */
static void
test_throttled_upload (Fixture *fixture, gconstpointer data)
{
  g_autofree char *credentials = create_vault (fixture, "Cloud-Vault", "throttled");
  g_autofree char *passphrase = write_passphrase (fixture, "pass", "a passphrase for the cloud");
  g_autofree char *source = g_build_filename (fixture->work, "source", NULL);
  g_autofree char *big = g_build_filename (source, "big.bin", NULL);
  g_autofree char *storage = g_build_filename (fixture->azurite_dir, "__blobstorage__", NULL);
  g_autoptr (CofferTestAgent) agent = start_machine (fixture, "alpha");
  g_autoptr (GSubprocess) backup = NULL;
  const double limit = 500000;
  guint64 baseline, first, last;
  gint64 start, end;
  double rate;

  register_machine (fixture, agent, credentials, passphrase, "alpha");
  g_assert_cmpint (g_mkdir_with_parents (source, 0700), ==, 0);
  write_random_file (big, 24 * 1024 * 1024);
  g_assert_cmpint (run_cli (agent, NULL, NULL, "policy", "set", "--add", source, NULL), ==, 0);
  g_assert_cmpint (run_cli (agent, NULL, NULL, "properties", "set", "--throttle", "on",
                            "--work-days", "mon-sun", "--work-bandwidth", "4Mbps",
                            "--non-work-bandwidth", "4Mbps", NULL),
                   ==, 0);

  baseline = bytes_in (storage);
  backup = start_backup (agent);
  for (int i = 0; i < 1200 && bytes_in (storage) < baseline + 200000; i++)
    g_usleep (50 * 1000);
  start = g_get_monotonic_time ();
  first = bytes_in (storage);
  g_assert_cmpuint (first, >, baseline);
  g_usleep (10 * G_USEC_PER_SEC);
  last = bytes_in (storage);
  end = g_get_monotonic_time ();
  rate = (double) (last - first) * G_USEC_PER_SEC / (end - start);
  g_test_message ("Measured %.0f bytes a second into Azurite for a limit of %.0f (%.1f %%)", rate,
                  limit, 100.0 * rate / limit);
  g_assert_cmpfloat (rate, >=, 0.9 * limit);
  g_assert_cmpfloat (rate, <=, 1.1 * limit);

  /* Unthrottled, the rest goes at once and the backup completes. */
  g_assert_cmpint (run_cli (agent, NULL, NULL, "properties", "set", "--throttle", "off", NULL), ==,
                   0);
  g_assert_true (g_subprocess_wait (backup, NULL, NULL));
  g_assert_cmpint (g_subprocess_get_exit_status (backup), ==, 0);
}

/* The container's store, opened as the agent opens it: the test's hands
 * on the vault, through the Blob API. */
static CofferStore *
open_store (Fixture *fixture, const char *container)
{
  CofferAzureConfig config = {
    .endpoint = fixture->endpoint,
    .account = (char *) ACCOUNT,
    .container = (char *) container,
    .auth = COFFER_AZURE_AUTH_SHARED_KEY,
    .secret = (char *) ACCOUNT_KEY,
    .concurrency = 4,
  };
  g_autoptr (GError) error = NULL;
  CofferStore *store = coffer_azure_store_new (&config, &error);

  g_assert_no_error (error);
  return store;
}

static GPtrArray *
list_objects (CofferStore *store, const char *prefix)
{
  g_autoptr (GError) error = NULL;
  GPtrArray *entries = coffer_store_list_sync (store, prefix, NULL, &error);

  g_assert_no_error (error);
  return entries;
}

/* The failed items of the job a `--wait` command started (its "… job N
 * started."), as `coffer job show N --json` lists them. */
static GPtrArray *
job_items (CofferTestAgent *agent, const char *started)
{
  g_auto (GStrv) lines = g_strsplit (started, "\n", -1);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *id = NULL;
  GPtrArray *items = g_ptr_array_new_with_free_func ((GDestroyNotify) coffer_failed_item_free);
  JsonArray *failed;

  for (guint i = 0; lines[i] != NULL && id == NULL; i++)
    {
      guint64 number = 0;

      if (sscanf (lines[i], "%*s job %" G_GUINT64_FORMAT " started.", &number) == 1)
        id = g_strdup_printf ("%" G_GUINT64_FORMAT, number);
    }
  g_assert_nonnull (id);
  g_assert_cmpint (run_cli (agent, &out, NULL, "job", "show", id, "--json", NULL), ==, 0);
  g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
  g_assert_no_error (error);
  failed = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)),
                                         "failed-items");
  for (guint i = 0; failed != NULL && i < json_array_get_length (failed); i++)
    {
      JsonObject *object = json_array_get_object_element (failed, i);
      CofferFailedItem *item = g_new0 (CofferFailedItem, 1);

      item->path = g_strdup (json_object_get_string_member_with_default (object, "path", ""));
      item->reason = g_strdup (json_object_get_string_member_with_default (object, "reason", ""));
      g_test_message ("job %s: %s: %s", id, item->path, item->reason);
      g_ptr_array_add (items, item);
    }
  return items;
}

static gboolean
items_mention (GPtrArray *items, const char *text)
{
  for (guint i = 0; i < items->len; i++)
    {
      CofferFailedItem *item = g_ptr_array_index (items, i);

      if (strstr (item->path, text) != NULL || strstr (item->reason, text) != NULL)
        return TRUE;
    }
  return FALSE;
}

/* A vault damaged through the Blob API — a flipped byte in a data pack,
 * a deleted index file — is found, repaired and recovered from as a folder
 * vault is: each move of the repair is a Get, a Put and a Delete Blob here. */
static void
test_repair_of_a_damaged_vault (Fixture *fixture, gconstpointer data)
{
  g_autofree char *credentials = create_vault (fixture, "Mended-Vault", "mended");
  g_autofree char *passphrase = write_passphrase (fixture, "pass", "a passphrase for repairs");
  g_autofree char *source = g_build_filename (fixture->work, "source", NULL);
  g_autofree char *sub = g_build_filename (source, "sub", NULL);
  g_autofree char *target = g_build_filename (fixture->work, "recovered", NULL);
  const char *files[] = { "big.bin", "notes.txt", "sub/list.txt", "sub/small.bin" };
  g_autoptr (CofferTestAgent) agent = start_machine (fixture, "alpha");
  g_autoptr (CofferStore) store = open_store (fixture, "mended");
  g_autoptr (GPtrArray) objects = NULL;
  g_autoptr (GPtrArray) packs = g_ptr_array_new ();
  g_autoptr (GPtrArray) indexes = g_ptr_array_new ();
  g_autoptr (GPtrArray) damaged = NULL;
  g_autoptr (GPtrArray) found = NULL;
  g_autoptr (GPtrArray) repaired = NULL;
  g_autoptr (GPtrArray) lost = g_ptr_array_new ();
  g_autoptr (GBytes) original = NULL;
  g_autoptr (GBytes) flipped = NULL;
  g_autoptr (GBytes) moved = NULL;
  g_autoptr (CofferStoreEntry) gone = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GTimer) timer = g_timer_new ();
  g_autofree char *moved_name = NULL;
  g_autofree char *out = NULL;
  CofferStoreEntry *pack = NULL;
  guint8 *bytes;
  gsize size;

  register_machine (fixture, agent, credentials, passphrase, "alpha");
  g_assert_cmpint (g_mkdir_with_parents (sub, 0700), ==, 0);
  {
    g_autofree char *big = g_build_filename (source, files[0], NULL);
    g_autofree char *notes = g_build_filename (source, files[1], NULL);
    g_autofree char *list = g_build_filename (source, files[2], NULL);
    g_autofree char *small = g_build_filename (source, files[3], NULL);

    /* About 20 chunks of 1 MiB: one full data pack of 16 MiB and another. */
    write_random_file (big, 20 * 1024 * 1024);
    g_assert_true (g_file_set_contents (notes, "remember the milk\n", -1, NULL));
    g_assert_true (g_file_set_contents (list, "eggs\nflour\nbutter\n", -1, NULL));
    write_random_file (small, 64 * 1024);
  }
  g_assert_cmpint (run_cli (agent, NULL, NULL, "policy", "set", "--add", source, NULL), ==, 0);
  g_assert_cmpint (run_cli (agent, NULL, NULL, "backup", "--wait", NULL), ==, 0);

  /* The packs and index files, as the Blob API lists them. */
  objects = list_objects (store, "machines/");
  for (guint i = 0; i < objects->len; i++)
    {
      CofferStoreEntry *entry = g_ptr_array_index (objects, i);

      if (strstr (entry->name, "/data/") != NULL)
        g_ptr_array_add (packs, entry);
      else if (strstr (entry->name, "/index/") != NULL)
        g_ptr_array_add (indexes, entry);
    }
  /* Two data packs at least, and a tree pack. */
  g_assert_cmpuint (packs->len, >=, 3);
  g_assert_cmpuint (indexes->len, >=, 1);
  for (guint i = 0; i < packs->len; i++)
    {
      CofferStoreEntry *entry = g_ptr_array_index (packs, i);

      if (pack == NULL || entry->size > pack->size)
        pack = entry;
    }
  g_assert_cmpuint (pack->size, >=, 15 * 1024 * 1024);

  /* The largest pack, a data pack, gets a flipped byte 1 MiB in: inside
   * one of big.bin's blobs (the other files are smaller than that), not in
   * the header at its end. Put Blob over it, as another writer could. */
  original = coffer_store_get_sync (store, pack->name, 0, -1, NULL, NULL, &error);
  g_assert_no_error (error);
  bytes = g_bytes_unref_to_data (g_bytes_ref (original), &size);
  g_assert_cmpuint (size, ==, pack->size);
  bytes[1024 * 1024] ^= 0x20;
  flipped = g_bytes_new_take (bytes, size);
  g_assert_true (coffer_store_put_sync (store, pack->name, flipped, COFFER_PUT_ALWAYS, NULL, NULL,
                                        NULL, &error));
  g_assert_no_error (error);
  /* And an index file goes: the index must come from the packs' headers. */
  g_assert_true (coffer_store_delete_sync (store, ((CofferStoreEntry *) indexes->pdata[0])->name,
                                           NULL, &error));
  g_assert_no_error (error);

  /* The check finds the damage and names the pack. */
  g_assert_cmpint (run_cli (agent, &out, NULL, "check", "--read-data", "--wait", NULL), ==, 1);
  found = job_items (agent, out);
  g_assert_true (items_mention (found, strrchr (pack->name, '/') + 1));
  g_clear_pointer (&out, g_free);

  /* The repair mends it, "completed with warnings", and names what is lost. */
  g_assert_cmpint (run_cli (agent, &out, NULL, "check", "--repair", "--wait", NULL), ==, 3);
  repaired = job_items (agent, out);
  g_clear_pointer (&out, g_free);
  for (guint i = 0; i < repaired->len; i++)
    {
      CofferFailedItem *item = g_ptr_array_index (repaired, i);

      if (g_str_has_prefix (item->reason, "Lost from the recovery point"))
        g_ptr_array_add (lost, item->path);
    }
  g_assert_cmpuint (lost->len, ==, 1);
  {
    g_autofree char *big = g_build_filename (source, files[0], NULL);
    g_assert_cmpstr (g_ptr_array_index (lost, 0), ==, big);
  }

  /* The damaged pack's bytes moved under damaged/, its name is free. */
  moved_name = g_strconcat ("damaged/", pack->name, NULL);
  damaged = list_objects (store, "damaged/");
  {
    gboolean listed = FALSE;

    for (guint i = 0; i < damaged->len; i++)
      listed |= g_str_equal (((CofferStoreEntry *) damaged->pdata[i])->name, moved_name);
    g_assert_true (listed);
  }
  moved = coffer_store_get_sync (store, moved_name, 0, -1, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (moved, flipped));
  gone = coffer_store_stat_sync (store, pack->name, NULL, &error);
  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND);
  g_assert_null (gone);
  g_clear_error (&error);
  {
    g_autoptr (GPtrArray) after = list_objects (store, "machines/");
    guint index_files = 0;

    for (guint i = 0; i < after->len; i++)
      index_files += strstr (((CofferStoreEntry *) after->pdata[i])->name, "/index/") != NULL;
    g_assert_cmpuint (index_files, >=, 1);
  }

  /* The vault checks clean. */
  g_assert_cmpint (run_cli (agent, &out, NULL, "check", "--read-data", "--wait", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "No damage found"));
  g_clear_pointer (&out, g_free);

  /* Every file but the lost one comes back, identical. */
  g_assert_cmpint (g_mkdir (target, 0700), ==, 0);
  g_assert_cmpint (run_cli (agent, NULL, NULL, "recover", "run", "latest", source, "--to", target,
                            "--wait", NULL),
                   ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *path = g_build_filename (source, files[i], NULL);
      g_autofree char *restored = g_build_filename (target, "source", files[i], NULL);
      gboolean is_lost = FALSE;

      for (guint n = 0; n < lost->len; n++)
        is_lost |= g_str_equal (g_ptr_array_index (lost, n), path);
      if (is_lost)
        g_assert_false (g_file_test (restored, G_FILE_TEST_EXISTS));
      else
        assert_same_file (path, restored);
    }

  /* A second repair finds nothing. */
  g_assert_cmpint (run_cli (agent, NULL, NULL, "check", "--repair", "--wait", NULL), ==, 0);

  /* The move a repair makes is a copy and a delete here: it never replaces
   * what damaged/ holds (a repair then tries NAME.1), and says when there
   * is nothing to move. */
  {
    g_autoptr (GBytes) probe = g_bytes_new_static ("probe", 5);
    g_autoptr (GBytes) kept = NULL;
    g_autoptr (CofferStoreEntry) left = NULL;

    g_assert_true (
        coffer_store_put_sync (store, "probe", probe, COFFER_PUT_ALWAYS, NULL, NULL, NULL, &error));
    g_assert_false (coffer_store_move_sync (store, "probe", moved_name, NULL, &error));
    g_assert_error (error, COFFER_ERROR, COFFER_ERROR_EXISTS);
    g_clear_error (&error);
    kept = coffer_store_get_sync (store, moved_name, 0, -1, NULL, NULL, &error);
    g_assert_no_error (error);
    g_assert_true (g_bytes_equal (kept, flipped));
    g_assert_false (coffer_store_move_sync (store, pack->name, "damaged/elsewhere", NULL, &error));
    g_assert_error (error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND);
    g_clear_error (&error);
    g_assert_true (coffer_store_move_sync (store, "probe", "damaged/probe", NULL, &error));
    g_assert_no_error (error);
    left = coffer_store_stat_sync (store, "probe", NULL, &error);
    g_assert_error (error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND);
    g_clear_error (&error);
  }
  g_test_message ("Backed up, damaged, repaired and recovered in %.1f s",
                  g_timer_elapsed (timer, NULL));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  /* The isolated folders have no GSettings schemas for the desktop's proxy
   * settings: "system" means no proxy here, for the tests, the agents and
   * the CLI they start. The proxy tests set a custom one. */
  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", TRUE);

#define ADD(path, func)                                                                            \
  g_test_add ("/integration/azure/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("round-trip", test_round_trip);
  ADD ("outage-retries-then-fails-clearly", test_outage_retries_then_fails_clearly);
  ADD ("through-an-authenticating-proxy", test_through_an_authenticating_proxy);
  ADD ("unreachable-proxy-is-named", test_unreachable_proxy_is_named);
  ADD ("vault-commands-through-a-proxy", test_vault_commands_through_a_proxy);
  ADD ("two-machines-share-a-vault", test_two_machines_share_a_vault);
  ADD ("shared-access-signature", test_shared_access_signature);
  ADD ("untrusted-certificate-is-refused", test_untrusted_certificate_is_refused);
  ADD ("throttled-upload", test_throttled_upload);
  ADD ("repair-of-a-damaged-vault", test_repair_of_a_damaged_vault);
#undef ADD

  return g_test_run ();
}
