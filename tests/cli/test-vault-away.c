/* test-vault-away.c: a local vault whose drive is not there — the folder
 * renamed away, or an empty mount point in its place. A scheduled backup
 * waits for it and completes when it is back, under the agent's test clock
 * (COFFER_AGENT_TEST_CLOCK, HACKING.md); Back Up Now fails at once; nothing
 * is ever written where the vault should be; and a backup that loses the
 * vault in the middle fails clearly, after which the next one succeeds. */
#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "coffer-test-util.h"
#include "coffer.h"

typedef struct
{
  CofferTestAgent *agent;
  char *work;
  char *clock;
  char *source;
  char *vault;
  char *away;
  char *out;
  char *err;
  int status;
} Fixture;

/* 2026-03-24, Europe/Stockholm (CET). */
static gint64
local_time (int hour, int minute, int second)
{
  g_autoptr (GTimeZone) tz = g_time_zone_new_identifier ("Europe/Stockholm");
  g_autoptr (GDateTime) time = g_date_time_new (tz, 2026, 3, 24, hour, minute, second);

  return g_date_time_to_unix (time);
}

static void
set_clock (Fixture *fixture, gint64 now)
{
  g_autofree char *text = g_strdup_printf ("%" G_GINT64_FORMAT "\n", now);
  g_autofree char *temporary = g_strconcat (fixture->clock, ".new", NULL);

  g_assert_true (g_file_set_contents (temporary, text, -1, NULL));
  g_assert_cmpint (g_rename (temporary, fixture->clock), ==, 0);
}

static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  fixture->work = g_build_filename (g_get_user_data_dir (), "work", NULL);
  fixture->clock = g_build_filename (fixture->work, "clock", NULL);
  fixture->source = g_build_filename (fixture->work, "source", NULL);
  fixture->vault = g_build_filename (fixture->work, "vault", NULL);
  fixture->away = g_build_filename (fixture->work, "vault-unplugged", NULL);
  g_assert_cmpint (g_mkdir_with_parents (fixture->source, 0700), ==, 0);
  set_clock (fixture, local_time (8, 0, 0));
  g_setenv ("COFFER_AGENT_TEST_CLOCK", fixture->clock, TRUE);
  g_setenv ("TZ", "Europe/Stockholm", TRUE);
  fixture->agent = coffer_test_agent_start (g_get_user_state_dir ());
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  g_clear_pointer (&fixture->agent, coffer_test_agent_stop);
  g_free (fixture->work);
  g_free (fixture->clock);
  g_free (fixture->source);
  g_free (fixture->vault);
  g_free (fixture->away);
  g_free (fixture->out);
  g_free (fixture->err);
}

static int
cli_args (Fixture *fixture, ...)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  const char *arg;
  va_list ap;

  va_start (ap, fixture);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (args, (gpointer) arg);
  va_end (ap);
  g_ptr_array_add (args, NULL);

  g_clear_pointer (&fixture->out, g_free);
  g_clear_pointer (&fixture->err, g_free);
  fixture->out =
      coffer_test_run_cli (coffer_test_bus_get_address (fixture->agent->bus),
                           (const char *const *) args->pdata, &fixture->err, &fixture->status);
  if (g_test_verbose ())
    g_printerr ("$ coffer %s\n%s%s", (char *) args->pdata[0], fixture->out, fixture->err);
  return fixture->status;
}

#define cli(fixture, ...) cli_args (fixture, __VA_ARGS__, NULL)

static void
write_random_file (const char *path, gsize size, guint32 seed)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
  g_autofree guint32 *data = g_new (guint32, size / 4);

  for (gsize i = 0; i < size / 4; i++)
    data[i] = g_rand_int (rand);
  g_assert_true (g_file_set_contents (path, (const char *) data, size, NULL));
}

static void
register_with_policy (Fixture *fixture)
{
  g_autofree char *passphrase = g_build_filename (fixture->work, "pass.txt", NULL);
  g_autofree char *file = g_build_filename (fixture->source, "notes.txt", NULL);

  g_assert_true (g_file_set_contents_full (passphrase, "correct horse battery staple\n", -1,
                                           G_FILE_SET_CONTENTS_NONE, 0600, NULL));
  g_assert_true (g_file_set_contents (file, "what must not be lost\n", -1, NULL));
  g_assert_cmpint (cli (fixture, "register", "--create-local-vault", fixture->vault,
                        "--passphrase-file", passphrase),
                   ==, 0);
  g_assert_cmpint (cli (fixture, "policy", "set", "--add", fixture->source, "--daily", "09:00",
                        "--retain-daily", "7"),
                   ==, 0);
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* Every file below @path with its size, sorted: what a folder holds. */
static void
list_tree (const char *path, const char *prefix, GString *out)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  for (guint i = 0; i < names->len; i++)
    {
      const char *child_name = g_ptr_array_index (names, i);
      g_autofree char *child = g_build_filename (path, child_name, NULL);
      g_autofree char *relative = g_strconcat (prefix, child_name, NULL);
      GStatBuf st;

      g_assert_cmpint (g_lstat (child, &st), ==, 0);
      if (S_ISDIR (st.st_mode))
        {
          g_autofree char *below = g_strconcat (relative, "/", NULL);

          g_string_append_printf (out, "%s/\n", relative);
          list_tree (child, below, out);
        }
      else
        g_string_append_printf (out, "%s %" G_GINT64_FORMAT " %" G_GINT64_FORMAT "\n", relative,
                                (gint64) st.st_size, (gint64) st.st_mtime);
    }
}

static char *
tree_of (const char *path)
{
  GString *out = g_string_new (NULL);

  list_tree (path, "", out);
  return g_string_free (out, FALSE);
}

/* The newest job, as `coffer jobs --json` gives it; NULL when none. */
static JsonObject *
newest_job (Fixture *fixture)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *newest = NULL;
  JsonArray *jobs;

  g_assert_cmpint (cli (fixture, "jobs", "--json", "--limit", "1000"), ==, 0);
  g_assert_true (json_parser_load_from_data (parser, fixture->out, -1, NULL));
  jobs = json_node_get_array (json_parser_get_root (parser));
  for (guint i = 0; i < json_array_get_length (jobs); i++)
    {
      JsonObject *job = json_array_get_object_element (jobs, i);

      if (newest == NULL ||
          json_object_get_int_member (job, "id") > json_object_get_int_member (newest, "id"))
        newest = job;
    }
  return newest != NULL ? json_object_ref (newest) : NULL;
}

/* Waits until the newest job's @member contains @text; returns the job. */
static JsonObject *
wait_for_job (Fixture *fixture, const char *member, const char *text)
{
  for (int i = 0; i < 600; i++)
    {
      g_autoptr (JsonObject) job = newest_job (fixture);

      if (job != NULL && strstr (json_object_get_string_member (job, member), text) != NULL)
        return g_steal_pointer (&job);
      g_usleep (100 * G_TIME_SPAN_MILLISECOND);
    }
  {
    g_autoptr (JsonObject) job = newest_job (fixture);
    g_error ("The newest job's %s never showed “%s”; it is: %s", member, text,
             job != NULL ? json_object_get_string_member (job, member) : "(no job)");
  }
}

static void
wait_until_idle (Fixture *fixture)
{
  for (int i = 0; i < 600; i++)
    {
      g_autoptr (CofferDBusAgent) agent =
          coffer_dbus_agent_proxy_new_sync (fixture->agent->connection, G_DBUS_PROXY_FLAGS_NONE,
                                            AGENT_BUS_NAME, AGENT_OBJECT_PATH, NULL, NULL);
      if (g_strcmp0 (coffer_dbus_agent_get_state (agent), "idle") == 0)
        return;
      g_usleep (100 * G_TIME_SPAN_MILLISECOND);
    }
  g_assert_not_reached ();
}

/* How many lock objects the vault holds. */
static guint
count_locks (Fixture *fixture)
{
  g_autofree char *machines = g_build_filename (fixture->vault, "machines", NULL);
  g_autoptr (GDir) dir = g_dir_open (machines, 0, NULL);
  const char *machine;
  guint count = 0;

  while (dir != NULL && (machine = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *locks = g_build_filename (machines, machine, "locks", NULL);
      g_autoptr (GDir) locks_dir = g_dir_open (locks, 0, NULL);

      while (locks_dir != NULL && g_dir_read_name (locks_dir) != NULL)
        count++;
    }
  return count;
}

/* Waits until a pack is being written into the vault. */
static void
wait_for_pack_on_its_way (Fixture *fixture)
{
  g_autofree char *tmp = g_build_filename (fixture->vault, "tmp", NULL);

  for (int i = 0; i < 1500; i++)
    {
      g_autoptr (GDir) tmp_dir = g_dir_open (tmp, 0, NULL);
      const char *name;

      while (tmp_dir != NULL && (name = g_dir_read_name (tmp_dir)) != NULL)
        if (g_str_has_suffix (name, ".tmp"))
          return;
      g_usleep (20 * G_TIME_SPAN_MILLISECOND);
    }
  g_error ("No pack was written");
}

static char *
unreachable_message (Fixture *fixture)
{
  return g_strdup_printf ("The vault at %s cannot be reached (is the drive connected?)",
                          fixture->vault);
}

/* The drive is unplugged at 09:00: the scheduled backup waits, retries on
 * its backoff as the clock moves, and completes once the drive is back. */
static void
test_scheduled_waits_then_completes (Fixture *fixture, gconstpointer data)
{
  g_autofree char *message = unreachable_message (fixture);
  g_autofree char *waiting = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autoptr (JsonObject) job = NULL;

  register_with_policy (fixture);
  before = tree_of (fixture->vault);
  g_assert_cmpint (g_rename (fixture->vault, fixture->away), ==, 0);
  set_clock (fixture, local_time (9, 0, 30));

  waiting = g_strdup_printf ("Waiting for the vault: %s — retrying at 09:01", message);
  job = wait_for_job (fixture, "phase", waiting);
  g_assert_cmpstr (json_object_get_string_member (job, "kind"), ==, "backup");
  g_assert_cmpstr (json_object_get_string_member (job, "status"), ==, "running");
  g_assert_cmpint (cli (fixture, "status"), ==, 0);
  /* Nothing made the vault's folder again, nor wrote in the unplugged one. */
  g_assert_false (g_file_test (fixture->vault, G_FILE_TEST_EXISTS));
  after = tree_of (fixture->away);
  g_assert_cmpstr (after, ==, before);

  /* At 09:01 it tries again, and waits two minutes more. */
  set_clock (fixture, local_time (9, 1, 35));
  g_clear_pointer (&job, json_object_unref);
  job = wait_for_job (fixture, "phase", "— retrying at 09:03");
  g_assert_cmpstr (json_object_get_string_member (job, "status"), ==, "running");
  g_assert_false (g_file_test (fixture->vault, G_FILE_TEST_EXISTS));

  /* Plugged in again: the job sees it and completes. */
  g_assert_cmpint (g_rename (fixture->away, fixture->vault), ==, 0);
  g_clear_pointer (&job, json_object_unref);
  job = wait_for_job (fixture, "status", "completed");
  g_assert_cmpstr (json_object_get_string_member (job, "kind"), ==, "backup");
  g_assert_cmpstr (json_object_get_string_member (job, "message"), ==, "Job completed.");
  wait_until_idle (fixture);
  g_assert_cmpint (cli (fixture, "check", "--read-data", "--wait"), ==, 0);
  g_assert_nonnull (strstr (fixture->out, "No damage found: 1 recovery point,"));
}

/* Cancelled while it waits: the job ends cancelled at once, and nothing is
 * written anywhere. */
static void
test_cancel_while_waiting (Fixture *fixture, gconstpointer data)
{
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autofree char *id = NULL;
  g_autoptr (JsonObject) job = NULL;
  gint64 asked;

  register_with_policy (fixture);
  before = tree_of (fixture->vault);
  g_assert_cmpint (g_rename (fixture->vault, fixture->away), ==, 0);
  set_clock (fixture, local_time (9, 0, 30));
  job = wait_for_job (fixture, "phase", "Waiting for the vault: ");

  id = g_strdup_printf ("%" G_GINT64_FORMAT, json_object_get_int_member (job, "id"));
  asked = g_get_monotonic_time ();
  g_assert_cmpint (cli (fixture, "job", "cancel", id), ==, 0);
  g_clear_pointer (&job, json_object_unref);
  job = wait_for_job (fixture, "status", "cancelled");
  g_assert_cmpint (g_get_monotonic_time () - asked, <, 5 * G_USEC_PER_SEC);
  wait_until_idle (fixture);

  g_assert_false (g_file_test (fixture->vault, G_FILE_TEST_EXISTS));
  after = tree_of (fixture->away);
  g_assert_cmpstr (after, ==, before);
  /* Still nothing when the clock passes the retry. */
  set_clock (fixture, local_time (9, 5, 0));
  g_usleep (1000 * G_TIME_SPAN_MILLISECOND);
  g_assert_false (g_file_test (fixture->vault, G_FILE_TEST_EXISTS));
  g_clear_pointer (&job, json_object_unref);
  job = newest_job (fixture);
  g_assert_cmpstr (json_object_get_string_member (job, "status"), ==, "cancelled");
}

/* The drive's mount point, empty, stays where the vault was: Back Up Now
 * says so at once; a scheduled backup waits two hours, never writing there,
 * then fails with the same words. */
static void
test_empty_mount_point_never_written (Fixture *fixture, gconstpointer data)
{
  g_autofree char *message = unreachable_message (fixture);
  g_autoptr (JsonObject) job = NULL;
  g_autoptr (GDir) dir = NULL;
  const char *ended;

  register_with_policy (fixture);
  g_assert_cmpint (g_rename (fixture->vault, fixture->away), ==, 0);
  g_assert_cmpint (g_mkdir (fixture->vault, 0700), ==, 0);

  g_assert_cmpint (cli (fixture, "backup", "--wait"), ==, 1);
  g_assert_nonnull (strstr (fixture->out, message));
  job = newest_job (fixture);
  g_assert_cmpstr (json_object_get_string_member (job, "status"), ==, "failed");
  g_assert_true (g_str_has_prefix (json_object_get_string_member (job, "message"), message));
  wait_until_idle (fixture);

  set_clock (fixture, local_time (9, 0, 30));
  g_clear_pointer (&job, json_object_unref);
  job = wait_for_job (fixture, "phase", "— retrying at 09:01");
  g_assert_nonnull (strstr (json_object_get_string_member (job, "phase"), "holds no vault.json"));
  /* Past the two hours: it fails with the vault's words. */
  set_clock (fixture, local_time (11, 0, 31));
  g_clear_pointer (&job, json_object_unref);
  job = wait_for_job (fixture, "status", "failed");
  ended = json_object_get_string_member (job, "message");
  g_assert_true (g_str_has_prefix (ended, message));
  g_assert_nonnull (strstr (ended, "Coffer waited 2 hours for it"));
  wait_until_idle (fixture);

  dir = g_dir_open (fixture->vault, 0, NULL);
  g_assert_nonnull (dir);
  g_assert_null (g_dir_read_name (dir));
}

/* The drive is pulled out while a backup writes (throttled, so it is still
 * writing): the job fails saying so, the empty mount point gets nothing, and
 * once the drive is back the next backup succeeds and checks clean. */
static void
test_lost_in_the_middle (Fixture *fixture, gconstpointer data)
{
  g_autofree char *message = unreachable_message (fixture);
  g_autofree char *big = g_build_filename (fixture->source, "big.bin", NULL);
  g_autoptr (GDir) dir = NULL;

  register_with_policy (fixture);
  write_random_file (big, 8 * 1024 * 1024, 5);
  g_assert_cmpint (cli (fixture, "properties", "set", "--throttle", "on", "--work-days", "mon-sun",
                        "--work-bandwidth", "8Mbps", "--non-work-bandwidth", "8Mbps"),
                   ==, 0);
  g_assert_cmpint (cli (fixture, "backup"), ==, 0);

  /* A pack is on its way: pull the drive, leave the mount point. */
  wait_for_pack_on_its_way (fixture);
  g_assert_cmpint (g_rename (fixture->vault, fixture->away), ==, 0);
  g_assert_cmpint (g_mkdir (fixture->vault, 0700), ==, 0);

  {
    g_autoptr (JsonObject) job = wait_for_job (fixture, "status", "failed");
    const char *ended = json_object_get_string_member (job, "message");

    g_assert_cmpstr (json_object_get_string_member (job, "kind"), ==, "backup");
    g_assert_true (g_str_has_prefix (ended, message));
  }
  wait_until_idle (fixture);
  dir = g_dir_open (fixture->vault, 0, NULL);
  g_assert_null (g_dir_read_name (dir));

  /* Back again: the next backup completes and everything checks. */
  g_assert_cmpint (g_rmdir (fixture->vault), ==, 0);
  g_assert_cmpint (g_rename (fixture->away, fixture->vault), ==, 0);
  g_assert_cmpint (cli (fixture, "properties", "set", "--throttle", "off"), ==, 0);
  g_assert_cmpint (cli (fixture, "backup", "--wait"), ==, 0);
  g_assert_cmpint (cli (fixture, "check", "--read-data", "--wait"), ==, 0);
  g_assert_nonnull (strstr (fixture->out, "No damage found: 1 recovery point,"));
  /* The lock the lost job could not remove is gone too, so a prune is not
   * held up for half an hour. */
  g_assert_cmpuint (count_locks (fixture), ==, 0);
}

/* A scheduled backup that loses its drive in the middle waits for it like
 * one that never found it, and completes when it is back. */
static void
test_scheduled_lost_in_the_middle (Fixture *fixture, gconstpointer data)
{
  g_autofree char *big = g_build_filename (fixture->source, "big.bin", NULL);
  g_autoptr (JsonObject) job = NULL;
  g_autoptr (GDir) dir = NULL;

  register_with_policy (fixture);
  write_random_file (big, 8 * 1024 * 1024, 7);
  g_assert_cmpint (cli (fixture, "properties", "set", "--throttle", "on", "--work-days", "mon-sun",
                        "--work-bandwidth", "8Mbps", "--non-work-bandwidth", "8Mbps"),
                   ==, 0);
  set_clock (fixture, local_time (9, 0, 30));
  wait_for_pack_on_its_way (fixture);
  g_assert_cmpint (g_rename (fixture->vault, fixture->away), ==, 0);
  g_assert_cmpint (g_mkdir (fixture->vault, 0700), ==, 0);

  job = wait_for_job (fixture, "phase", "Waiting for the vault: ");
  g_assert_cmpstr (json_object_get_string_member (job, "status"), ==, "running");
  dir = g_dir_open (fixture->vault, 0, NULL);
  g_assert_null (g_dir_read_name (dir));

  g_assert_cmpint (cli (fixture, "properties", "set", "--throttle", "off"), ==, 0);
  g_assert_cmpint (g_rmdir (fixture->vault), ==, 0);
  g_assert_cmpint (g_rename (fixture->away, fixture->vault), ==, 0);
  g_clear_pointer (&job, json_object_unref);
  job = wait_for_job (fixture, "status", "completed");
  g_assert_cmpstr (json_object_get_string_member (job, "kind"), ==, "backup");
  wait_until_idle (fixture);
  g_assert_cmpint (cli (fixture, "check", "--read-data", "--wait"), ==, 0);
  g_assert_nonnull (strstr (fixture->out, "No damage found: 1 recovery point,"));
  g_assert_cmpuint (count_locks (fixture), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/cli/vault-away/scheduled-waits-then-completes", Fixture, NULL, fixture_set_up,
              test_scheduled_waits_then_completes, fixture_tear_down);
  g_test_add ("/cli/vault-away/cancel-while-waiting", Fixture, NULL, fixture_set_up,
              test_cancel_while_waiting, fixture_tear_down);
  g_test_add ("/cli/vault-away/empty-mount-point-never-written", Fixture, NULL, fixture_set_up,
              test_empty_mount_point_never_written, fixture_tear_down);
  g_test_add ("/cli/vault-away/lost-in-the-middle", Fixture, NULL, fixture_set_up,
              test_lost_in_the_middle, fixture_tear_down);
  g_test_add ("/cli/vault-away/scheduled-lost-in-the-middle", Fixture, NULL, fixture_set_up,
              test_scheduled_lost_in_the_middle, fixture_tear_down);
  return g_test_run ();
}
