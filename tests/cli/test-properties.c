/* test-properties.c: `coffer properties show|set` against the real agent —
 * throttling, proxy, concurrency, moving the cache folder — and the
 * throttle measured where the bytes land: in the vault. */
#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/stat.h>

#include "coffer-test-util.h"
#include "coffer.h"

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
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  g_clear_pointer (&fixture->agent, coffer_test_agent_stop);
  g_free (fixture->work);
  g_free (fixture->out);
  g_free (fixture->err);
}

static int
cli_args (Fixture *fixture, const char *first, ...)
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
  fixture->out =
      coffer_test_run_cli (coffer_test_bus_get_address (fixture->agent->bus),
                           (const char *const *) args->pdata, &fixture->err, &fixture->status);
  if (g_test_verbose ())
    g_printerr ("$ coffer %s\n%s%s", first, fixture->out, fixture->err);
  return fixture->status;
}

#define cli(fixture, ...) cli_args (fixture, __VA_ARGS__, NULL)

/* Runs a command that starts a job once the agent is idle: a backup's job
 * goes on pruning after its record says completed. */
#define cli_when_idle(fixture, ...)                                                                \
  G_STMT_START                                                                                     \
  {                                                                                                \
    for (int try_ = 0; try_ < 300; try_++)                                                         \
      {                                                                                            \
        if (cli (fixture, __VA_ARGS__) == 0 ||                                                     \
            g_strcmp0 (fixture->err, "coffer: Another job is in progress.\n") != 0)                \
          break;                                                                                   \
        g_usleep (100 * G_TIME_SPAN_MILLISECOND);                                                  \
      }                                                                                            \
  }                                                                                                \
  G_STMT_END

static JsonObject *
properties_json (Fixture *fixture)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (cli (fixture, "properties", "show", "--json"), ==, 0);
  g_assert_true (json_parser_load_from_data (parser, fixture->out, -1, &error));
  g_assert_no_error (error);
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

static char *
write_file (Fixture *fixture, const char *name, const char *contents)
{
  char *path = g_build_filename (fixture->work, name, NULL);

  g_assert_true (
      g_file_set_contents_full (path, contents, -1, G_FILE_SET_CONTENTS_NONE, 0600, NULL));
  return path;
}

static void
register_local (Fixture *fixture)
{
  g_autofree char *vault = g_build_filename (fixture->work, "vault", NULL);
  g_autofree char *passphrase = write_file (fixture, "pass.txt", "correct horse battery staple\n");

  g_assert_cmpint (
      cli (fixture, "register", "--create-local-vault", vault, "--passphrase-file", passphrase), ==,
      0);
}

static void
test_defaults_before_registration (Fixture *fixture, gconstpointer data)
{
  g_autoptr (JsonObject) object = NULL;
  g_autofree char *cache = g_build_filename (g_get_user_cache_dir (), "coffer", NULL);

  g_assert_cmpint (cli (fixture, "properties", "show"), ==, 0);
  g_assert_nonnull (strstr (fixture->out, "Throttling:                 off\n"));
  g_assert_nonnull (strstr (fixture->out, "Proxy:                      none\n"));

  object = properties_json (fixture);
  g_assert_false (json_object_get_boolean_member (object, "throttle"));
  g_assert_cmpstr (json_object_get_string_member (object, "work-start"), ==, "09:00");
  g_assert_cmpstr (json_object_get_string_member (object, "work-end"), ==, "17:00");
  g_assert_cmpint (json_object_get_int_member (object, "work-bandwidth"), ==, 512000);
  g_assert_cmpint (json_object_get_int_member (object, "non-work-bandwidth"), ==, 1023000000);
  g_assert_cmpint (json_object_get_int_member (object, "concurrency"), ==, 4);
  g_assert_cmpstr (json_object_get_string_member (object, "proxy"), ==, "none");
  g_assert_cmpstr (json_object_get_string_member (object, "cache-folder"), ==, cache);
}

static void
test_throttle_set_and_show (Fixture *fixture, gconstpointer data)
{
  g_autoptr (JsonObject) object = NULL;
  JsonArray *days;

  /* Settable before registration; each flag changes only its part. */
  g_assert_cmpint (cli (fixture, "properties", "set", "--throttle", "on", "--work-days", "mon-thu",
                        "--work-hours", "08:30-18:00", "--work-bandwidth", "4Mbps",
                        "--non-work-bandwidth", "20Mbps"),
                   ==, 0);
  g_assert_cmpint (cli (fixture, "properties", "set", "--work-bandwidth", "512Kbps"), ==, 0);
  g_assert_cmpint (cli (fixture, "properties", "set", "--concurrency", "8"), ==, 0);

  g_assert_cmpint (cli (fixture, "properties", "show"), ==, 0);
  g_assert_nonnull (strstr (fixture->out, "Throttling:                 on\n"));
  g_assert_nonnull (strstr (fixture->out, "Work days:                mon,tue,wed,thu\n"));
  g_assert_nonnull (strstr (fixture->out, "Work hours:               08:30-18:00\n"));
  g_assert_nonnull (strstr (fixture->out, "Work-hours bandwidth:     512 Kbps\n"));
  g_assert_nonnull (strstr (fixture->out, "Non-work-hours bandwidth: 20 Mbps\n"));
  g_assert_nonnull (strstr (fixture->out, "Concurrent requests:        8\n"));

  object = properties_json (fixture);
  days = json_object_get_array_member (object, "work-days");
  g_assert_cmpuint (json_array_get_length (days), ==, 4);
  g_assert_cmpint (json_object_get_int_member (object, "non-work-bandwidth"), ==, 20000000);

  /* The settings outlive the agent. */
  g_clear_pointer (&fixture->agent, coffer_test_agent_stop);
  fixture->agent = coffer_test_agent_start (g_get_user_state_dir ());
  g_assert_cmpint (cli (fixture, "properties", "show"), ==, 0);
  g_assert_nonnull (strstr (fixture->out, "Work hours:               08:30-18:00\n"));
  g_assert_nonnull (strstr (fixture->out, "Concurrent requests:        8\n"));
}

static void
test_refusals_change_nothing (Fixture *fixture, gconstpointer data)
{
  g_autofree char *before = NULL;

  g_assert_cmpint (cli (fixture, "properties", "show", "--json"), ==, 0);
  before = g_strdup (fixture->out);

  /* Out of range: a usage error naming the rule, and the valid part of the
   * same call (--throttle on) is not applied either. */
  g_assert_cmpint (
      cli (fixture, "properties", "set", "--throttle", "on", "--work-bandwidth", "100Kbps"), ==, 2);
  g_assert_cmpstr (fixture->err, ==,
                   "coffer: A bandwidth is 512Kbps to 1023Mbps, such as 512Kbps or 20Mbps; not "
                   "“100Kbps”.\n");
  g_assert_cmpint (
      cli (fixture, "properties", "set", "--throttle", "on", "--non-work-bandwidth", "1024Mbps"),
      ==, 2);
  g_assert_nonnull (strstr (fixture->err, "512Kbps to 1023Mbps"));
  g_assert_cmpint (
      cli (fixture, "properties", "set", "--throttle", "on", "--work-hours", "17:00-09:00"), ==, 2);
  g_assert_nonnull (strstr (fixture->err, "ending after it starts on the same day"));
  g_assert_cmpint (cli (fixture, "properties", "set", "--throttle", "on", "--concurrency", "17"),
                   ==, 2);
  g_assert_cmpstr (fixture->err, ==, "coffer: --concurrency is a number from 1 to 16, not “17”.\n");
  g_assert_cmpint (cli (fixture, "properties", "set", "--concurrency", "0"), ==, 2);
  /* A user name without a custom proxy would never be used: refused, not
   * dropped without a word. */
  g_assert_cmpint (cli (fixture, "properties", "set", "--throttle", "on", "--proxy-user", "bob",
                        "--proxy", "system"),
                   ==, 1);
  g_assert_cmpstr (fixture->err, ==,
                   "coffer: A proxy user name goes with a custom proxy (http://HOST:PORT); the "
                   "proxy is system.\n");
  g_assert_cmpint (cli (fixture, "properties", "set", "--proxy-user", "bob"), ==, 1);
  g_assert_cmpint (cli (fixture, "properties", "set", "--throttle", "off", "--proxy", "none"), ==,
                   0);

  /* Usage errors, caught before the agent is asked. */
  g_assert_cmpint (cli (fixture, "properties", "set", "--throttle", "maybe"), ==, 2);
  g_assert_cmpint (cli (fixture, "properties", "set", "--work-hours", "9-5"), ==, 2);
  g_assert_nonnull (strstr (fixture->err, "HH:MM-HH:MM"));
  g_assert_cmpint (cli (fixture, "properties", "set", "--work-days", "weekdays"), ==, 2);
  g_assert_cmpint (cli (fixture, "properties", "set", "--work-bandwidth", "20MB"), ==, 2);
  g_assert_cmpint (cli (fixture, "properties", "set", "--proxy", "ftp://proxy:21"), ==, 2);
  g_assert_cmpint (cli (fixture, "properties", "set", "--proxy", "http://proxy"), ==, 2);
  /* A password in the address is refused, and not repeated. */
  g_assert_cmpint (cli (fixture, "properties", "set", "--proxy", "http://ann:hunter2@proxy:3128"),
                   ==, 2);
  g_assert_null (strstr (fixture->err, "hunter2"));
  g_assert_cmpint (cli (fixture, "properties", "set"), ==, 2);
  g_assert_nonnull (strstr (fixture->err, "Nothing to change"));

  g_assert_cmpint (cli (fixture, "properties", "show", "--json"), ==, 0);
  g_assert_cmpstr (fixture->out, ==, before);
}

/* Every byte of a file, to look for a secret in it. */
static gboolean
file_contains (const char *path, const char *needle)
{
  g_autofree char *contents = NULL;
  gsize length = 0;

  if (!g_file_get_contents (path, &contents, &length, NULL))
    return FALSE;
  return memmem (contents, length, needle, strlen (needle)) != NULL;
}

static void
test_proxy_password_from_file (Fixture *fixture, gconstpointer data)
{
  g_autofree char *password = write_file (fixture, "proxy-pass", "Tr0ub4dor&3\nsecond line\n");
  g_autofree char *state = coffer_paths_state_dir ();
  g_autofree char *catalog = g_build_filename (state, "catalog.sqlite", NULL);
  g_autofree char *catalog_wal = g_build_filename (state, "catalog.sqlite-wal", NULL);
  g_autofree char *secrets = g_build_filename (state, "secrets", NULL);
  g_autoptr (JsonObject) object = NULL;
  g_autoptr (GDir) dir = NULL;
  const char *name;
  gboolean found = FALSE;

  g_assert_cmpint (cli (fixture, "properties", "set", "--proxy", "http://proxy.example:3128",
                        "--proxy-user", "bob", "--proxy-password-file", password),
                   ==, 0);
  object = properties_json (fixture);
  g_assert_cmpstr (json_object_get_string_member (object, "proxy"), ==, "custom");
  g_assert_cmpstr (json_object_get_string_member (object, "proxy-host"), ==, "proxy.example");
  g_assert_cmpint (json_object_get_int_member (object, "proxy-port"), ==, 3128);
  g_assert_cmpstr (json_object_get_string_member (object, "proxy-user"), ==, "bob");
  g_assert_true (json_object_get_boolean_member (object, "proxy-password-set"));
  g_assert_cmpint (cli (fixture, "properties", "show"), ==, 0);
  g_assert_nonnull (strstr (fixture->out, "http://proxy.example:3128\n"));
  g_assert_nonnull (strstr (fixture->out, "bob (password stored)"));
  g_assert_null (strstr (fixture->out, "Tr0ub4dor"));

  /* The first line only, never in the catalog; kept in a 0600 file where no
   * Secret Service answers. */
  g_assert_false (file_contains (catalog, "Tr0ub4dor"));
  g_assert_false (file_contains (catalog_wal, "Tr0ub4dor"));
  dir = g_dir_open (secrets, 0, NULL);
  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (secrets, name, NULL);
      g_autofree char *contents = NULL;
      GStatBuf st;

      g_assert_cmpint (g_stat (path, &st), ==, 0);
      g_assert_cmpint (st.st_mode & 0777, ==, 0600);
      if (g_file_get_contents (path, &contents, NULL, NULL) &&
          g_str_equal (contents, "Tr0ub4dor&3"))
        found = TRUE;
    }
  g_assert_true (found);

  /* Another user name forgets the password given for the first. */
  g_assert_cmpint (cli (fixture, "properties", "set", "--proxy-user", "carol"), ==, 0);
  g_clear_pointer (&object, json_object_unref);
  object = properties_json (fixture);
  g_assert_false (json_object_get_boolean_member (object, "proxy-password-set"));
  g_assert_cmpint (
      cli (fixture, "properties", "set", "--proxy-user", "bob", "--proxy-password-file", password),
      ==, 0);

  /* Changing the port keeps the rest; no proxy forgets the password. */
  g_assert_cmpint (cli (fixture, "properties", "set", "--proxy", "proxy.example:8080"), ==, 0);
  g_clear_pointer (&object, json_object_unref);
  object = properties_json (fixture);
  g_assert_cmpint (json_object_get_int_member (object, "proxy-port"), ==, 8080);
  g_assert_true (json_object_get_boolean_member (object, "proxy-password-set"));
  g_assert_cmpint (cli (fixture, "properties", "set", "--proxy", "none"), ==, 0);
  g_clear_pointer (&object, json_object_unref);
  object = properties_json (fixture);
  g_assert_cmpstr (json_object_get_string_member (object, "proxy"), ==, "none");
  g_assert_false (json_object_get_boolean_member (object, "proxy-password-set"));

  /* A password needs a custom proxy with a user name. */
  g_assert_cmpint (cli (fixture, "properties", "set", "--proxy-password-file", password), ==, 1);
  g_assert_nonnull (strstr (fixture->err, "needs a custom proxy with a user name"));
}

static void
write_random_file (const char *path, gsize size, guint32 seed)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
  g_autofree guint32 *data = g_new (guint32, size / 4);

  for (gsize i = 0; i < size / 4; i++)
    data[i] = g_rand_int (rand);
  g_assert_true (g_file_set_contents (path, (const char *) data, size, NULL));
}

/* Every byte in the vault's files, the store's scratch files included: what
 * has arrived so far. */
static guint64
bytes_in (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;
  guint64 total = 0;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      GStatBuf st;

      if (g_lstat (child, &st) != 0)
        continue;
      if (S_ISDIR (st.st_mode))
        total += bytes_in (child);
      else if (S_ISREG (st.st_mode))
        total += st.st_size;
    }
  return total;
}

static guint64
job_number (const char *out)
{
  const char *line = strstr (out, " job ");

  g_assert_nonnull (line);
  return g_ascii_strtoull (line + strlen (" job "), NULL, 10);
}

static void
wait_for_job_end (Fixture *fixture, guint64 id, int seconds)
{
  g_autofree char *text = g_strdup_printf ("%" G_GUINT64_FORMAT, id);

  for (int i = 0; i < seconds * 10; i++)
    {
      cli (fixture, "job", "show", text);
      if (strstr (fixture->out, "Status:           running") == NULL)
        return;
      g_usleep (100 * G_TIME_SPAN_MILLISECOND);
    }
  g_error ("Job %s still runs after %d seconds", text, seconds);
}

/* With a 4 Mbps limit (500,000 bytes a second) the bytes that land in the
 * vault over ten seconds of a backup average that rate within 10 %; turning
 * throttling off reaches the running job within a second. */
static void
test_throttle_measured (Fixture *fixture, gconstpointer data)
{
  g_autofree char *vault = g_build_filename (fixture->work, "vault", NULL);
  g_autofree char *source = g_build_filename (fixture->work, "source", NULL);
  g_autofree char *big = g_build_filename (source, "big.bin", NULL);
  const double limit = 500000;
  guint64 baseline, start_bytes, end_bytes, at_change;
  gint64 start, end, changed, applied;
  gboolean sped_up = FALSE;
  double rate;
  guint64 job;

  register_local (fixture);
  g_assert_cmpint (g_mkdir (source, 0700), ==, 0);
  write_random_file (big, 24 * 1024 * 1024, 11);
  g_assert_cmpint (cli (fixture, "policy", "set", "--add", source), ==, 0);
  g_assert_cmpint (cli (fixture, "properties", "set", "--throttle", "on", "--work-days", "mon-sun",
                        "--work-bandwidth", "4Mbps", "--non-work-bandwidth", "4Mbps"),
                   ==, 0);

  baseline = bytes_in (vault);
  g_assert_cmpint (cli (fixture, "backup"), ==, 0);
  job = job_number (fixture->out);

  /* Wait until the first pack is on its way, then measure ten seconds. */
  for (int i = 0; i < 1200 && bytes_in (vault) < baseline + 200000; i++)
    g_usleep (50 * G_TIME_SPAN_MILLISECOND);
  start = g_get_monotonic_time ();
  start_bytes = bytes_in (vault);
  g_assert_cmpuint (start_bytes, >, baseline);
  g_usleep (10 * G_USEC_PER_SEC);
  end_bytes = bytes_in (vault);
  end = g_get_monotonic_time ();
  rate = (double) (end_bytes - start_bytes) * G_USEC_PER_SEC / (end - start);
  g_test_message ("Measured %.0f bytes a second for a limit of %.0f (%.1f %%)", rate, limit,
                  100.0 * rate / limit);
  if (g_test_verbose ())
    g_printerr ("Throttled to 4 Mbps: %.0f bytes a second over %.2f s (%.1f %% of the limit)\n",
                rate, (end - start) / 1e6, 100.0 * rate / limit);
  g_assert_cmpfloat (rate, >=, 0.9 * limit);
  g_assert_cmpfloat (rate, <=, 1.1 * limit);

  /* Throttling off: within a second of the agent taking the change, the
   * running job has moved a megabyte more than the limit would allow. */
  at_change = bytes_in (vault);
  changed = g_get_monotonic_time ();
  g_assert_cmpint (cli (fixture, "properties", "set", "--throttle", "off"), ==, 0);
  applied = g_get_monotonic_time ();
  while (!sped_up && g_get_monotonic_time () - applied < G_USEC_PER_SEC)
    {
      double allowed = limit * (g_get_monotonic_time () - changed) / G_USEC_PER_SEC + 1e6;

      sped_up = bytes_in (vault) - at_change > allowed;
      if (!sped_up)
        g_usleep (20 * G_TIME_SPAN_MILLISECOND);
    }
  g_assert_true (sped_up);
  wait_for_job_end (fixture, job, 60);
  g_assert_nonnull (strstr (fixture->out, "Status:           completed"));
  cli_when_idle (fixture, "check", "--wait");
  g_assert_cmpint (fixture->status, ==, 0);
}

static void
test_cache_move (Fixture *fixture, gconstpointer data)
{
  g_autofree char *source = g_build_filename (fixture->work, "source", NULL);
  g_autofree char *file = g_build_filename (source, "a.bin", NULL);
  g_autofree char *more = g_build_filename (source, "b.bin", NULL);
  g_autofree char *old = g_build_filename (g_get_user_cache_dir (), "coffer", NULL);
  g_autofree char *moved = g_build_filename (fixture->work, "new", "cache", NULL);
  g_autofree char *tag = g_build_filename (moved, "CACHEDIR.TAG", NULL);
  g_autofree char *full = g_build_filename (fixture->work, "full", NULL);
  g_autofree char *stray = g_build_filename (full, "keep.txt", NULL);
  g_autoptr (JsonObject) object = NULL;
  guint64 old_size, running;

  /* Not registered: nothing to move. */
  g_assert_cmpint (cli (fixture, "properties", "set", "--cache-folder", moved), ==, 1);
  g_assert_nonnull (strstr (fixture->err, "not registered"));

  register_local (fixture);
  g_assert_cmpint (g_mkdir (source, 0700), ==, 0);
  write_random_file (file, 1024 * 1024, 5);
  g_assert_cmpint (cli (fixture, "policy", "set", "--add", source), ==, 0);
  g_assert_cmpint (cli (fixture, "backup", "--wait"), ==, 0);
  old_size = coffer_cache_folder_size (old);
  g_assert_cmpuint (old_size, >, 0);

  /* A folder that is not empty, or the cache folder itself, is refused. */
  g_assert_cmpint (g_mkdir (full, 0700), ==, 0);
  g_assert_true (g_file_set_contents (stray, "mine\n", -1, NULL));
  g_assert_cmpint (cli (fixture, "properties", "set", "--cache-folder", full), ==, 1);
  g_assert_nonnull (strstr (fixture->err, "is not empty"));
  g_assert_true (g_file_test (stray, G_FILE_TEST_EXISTS));
  g_assert_cmpint (cli (fixture, "properties", "set", "--cache-folder", old), ==, 1);
  g_assert_nonnull (strstr (fixture->err, "already"));

  /* Refused while another job runs: one sending a new 1 MiB at 4 Mbps,
   * about two seconds. */
  write_random_file (more, 1024 * 1024, 6);
  g_assert_cmpint (cli (fixture, "properties", "set", "--throttle", "on", "--work-days", "mon-sun",
                        "--work-bandwidth", "4Mbps", "--non-work-bandwidth", "4Mbps"),
                   ==, 0);
  g_assert_cmpint (cli (fixture, "backup"), ==, 0);
  running = job_number (fixture->out);
  g_assert_cmpint (cli (fixture, "properties", "set", "--cache-folder", moved), ==, 1);
  g_assert_cmpstr (fixture->err, ==, "coffer: Another job is in progress.\n");
  g_assert_cmpint (cli (fixture, "properties", "set", "--throttle", "off"), ==, 0);
  wait_for_job_end (fixture, running, 60);
  cli_when_idle (fixture, "properties", "set", "--cache-folder", moved, "--wait");
  g_assert_cmpint (fixture->status, ==, 0);
  g_assert_nonnull (strstr (fixture->out, "Cache move job"));

  /* Switched, copied, old one gone. */
  object = properties_json (fixture);
  g_assert_cmpstr (json_object_get_string_member (object, "cache-folder"), ==, moved);
  g_assert_true (g_file_test (tag, G_FILE_TEST_EXISTS));
  g_assert_cmpuint (coffer_cache_folder_size (moved), ==, old_size);
  g_assert_false (g_file_test (old, G_FILE_TEST_EXISTS));
  g_assert_cmpint (cli (fixture, "status"), ==, 0);
  g_assert_nonnull (strstr (fixture->out, moved));

  /* The next backup uses it, and the history says what was moved. */
  cli_when_idle (fixture, "backup", "--wait");
  g_assert_cmpint (fixture->status, ==, 0);
  g_assert_false (g_file_test (old, G_FILE_TEST_EXISTS));
  g_assert_cmpint (cli (fixture, "jobs"), ==, 0);
  g_assert_nonnull (strstr (fixture->out, "cache-move"));
}

/* The D-Bus contract itself, as the console calls it. */
static void
test_dbus_contract (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CofferDBusAgent) proxy = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) shown = NULL;
  g_autoptr (GVariant) properties = NULL;
  g_autofree char *path = NULL;
  guint64 id;
  GVariantBuilder changes;
  gboolean throttle = TRUE;

  /* The error domain is registered before GDBus decodes the first error. */
  (void) COFFER_ERROR;
  proxy = coffer_dbus_agent_proxy_new_sync (fixture->agent->connection, G_DBUS_PROXY_FLAGS_NONE,
                                            AGENT_BUS_NAME, AGENT_OBJECT_PATH, NULL, &error);
  g_assert_no_error (error);

  /* An unknown key, the cache folder, a wrong type: refused, naming why. */
  g_variant_builder_init (&changes, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&changes, "{sv}", "throttle", g_variant_new_boolean (TRUE));
  g_variant_builder_add (&changes, "{sv}", "colour", g_variant_new_string ("blue"));
  g_assert_false (coffer_dbus_agent_call_set_properties_sync (
      proxy, g_variant_builder_end (&changes), G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error));
  shown = coffer_error_from_dbus (error);
  g_assert_error (shown, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS);
  g_assert_nonnull (strstr (shown->message, "Unknown option “colour”"));
  g_clear_error (&error);
  g_clear_error (&shown);

  g_variant_builder_init (&changes, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&changes, "{sv}", "cache-folder", g_variant_new_string ("/tmp/x"));
  g_assert_false (coffer_dbus_agent_call_set_properties_sync (
      proxy, g_variant_builder_end (&changes), G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error));
  shown = coffer_error_from_dbus (error);
  g_assert_nonnull (strstr (shown->message, "StartCacheMove"));
  g_clear_error (&error);
  g_clear_error (&shown);

  g_variant_builder_init (&changes, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&changes, "{sv}", "throttle", g_variant_new_boolean (TRUE));
  g_variant_builder_add (&changes, "{sv}", "work-bandwidth", g_variant_new_uint32 (4000000));
  g_assert_false (coffer_dbus_agent_call_set_properties_sync (
      proxy, g_variant_builder_end (&changes), G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error));
  shown = coffer_error_from_dbus (error);
  g_assert_nonnull (strstr (shown->message, "takes a value of type “t”"));
  g_clear_error (&error);
  g_clear_error (&shown);

  /* The agent checks the ranges too, for any client. */
  g_variant_builder_init (&changes, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&changes, "{sv}", "work-bandwidth", g_variant_new_uint64 (100000));
  g_assert_false (coffer_dbus_agent_call_set_properties_sync (
      proxy, g_variant_builder_end (&changes), G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error));
  shown = coffer_error_from_dbus (error);
  g_assert_cmpstr (shown->message, ==, "Bandwidth must be between 512 Kbps and 1023 Mbps.");
  g_clear_error (&error);
  g_clear_error (&shown);

  g_variant_builder_init (&changes, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&changes, "{sv}", "work-days",
                         g_variant_new_strv ((const char *const[]){ "mon", "caturday" }, 2));
  g_assert_false (coffer_dbus_agent_call_set_properties_sync (
      proxy, g_variant_builder_end (&changes), G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error));
  g_clear_error (&error);

  g_assert_true (coffer_dbus_agent_call_get_properties_sync (proxy, G_DBUS_CALL_FLAGS_NONE, -1,
                                                             &properties, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_variant_lookup (properties, "throttle", "b", &throttle));
  g_assert_false (throttle);

  /* A cache folder that is not absolute is refused before any job starts. */
  register_local (fixture);
  g_assert_false (coffer_dbus_agent_call_start_cache_move_sync (
      proxy, "relative/cache", G_DBUS_CALL_FLAGS_NONE, -1, &path, &id, NULL, &error));
  shown = coffer_error_from_dbus (error);
  g_assert_error (shown, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT);
  g_assert_cmpstr (shown->message, ==, "The cache folder must be an absolute path.");
  g_assert_cmpint (cli (fixture, "jobs", "--json"), ==, 0);
  g_assert_null (strstr (fixture->out, "cache-move"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/cli/properties/defaults-before-registration", Fixture, NULL, fixture_set_up,
              test_defaults_before_registration, fixture_tear_down);
  g_test_add ("/cli/properties/throttle-set-and-show", Fixture, NULL, fixture_set_up,
              test_throttle_set_and_show, fixture_tear_down);
  g_test_add ("/cli/properties/refusals-change-nothing", Fixture, NULL, fixture_set_up,
              test_refusals_change_nothing, fixture_tear_down);
  g_test_add ("/cli/properties/proxy-password-from-file", Fixture, NULL, fixture_set_up,
              test_proxy_password_from_file, fixture_tear_down);
  g_test_add ("/cli/properties/dbus-contract", Fixture, NULL, fixture_set_up, test_dbus_contract,
              fixture_tear_down);
  g_test_add ("/cli/properties/cache-move", Fixture, NULL, fixture_set_up, test_cache_move,
              fixture_tear_down);
  g_test_add ("/cli/properties/throttle-measured", Fixture, NULL, fixture_set_up,
              test_throttle_measured, fixture_tear_down);
  return g_test_run ();
}
