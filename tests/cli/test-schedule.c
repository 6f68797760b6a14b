/* test-schedule.c: a policy set through coffer(1) runs on schedule and
 * prunes by its retention, under a test clock the agent reads
 * (COFFER_AGENT_TEST_CLOCK, HACKING.md) in a time zone with DST. */
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
  char *out;
  char *err;
  int status;
} Fixture;

static GTimeZone *
stockholm (void)
{
  return g_time_zone_new_identifier ("Europe/Stockholm");
}

/* Local time in Stockholm, 2026; @day may run past the month's end. */
static gint64
local_time (int month, int day, int hour, int minute, int second)
{
  g_autoptr (GTimeZone) tz = stockholm ();
  g_autoptr (GDateTime) time = NULL;
  GDate date;

  g_date_clear (&date, 1);
  g_date_set_dmy (&date, 1, month, 2026);
  g_date_add_days (&date, day - 1);
  time = g_date_time_new (tz, g_date_get_year (&date), g_date_get_month (&date),
                          g_date_get_day (&date), hour, minute, second);
  return g_date_time_to_unix (time);
}

static void
set_clock (Fixture *fixture, gint64 now)
{
  g_autofree char *text = g_strdup_printf ("%" G_GINT64_FORMAT "\n", now);
  g_autofree char *temporary = g_strconcat (fixture->clock, ".new", NULL);

  /* Replaced whole, so the agent never reads half a number. */
  g_assert_true (g_file_set_contents (temporary, text, -1, NULL));
  g_assert_cmpint (g_rename (temporary, fixture->clock), ==, 0);
}

static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  fixture->work = g_build_filename (g_get_user_data_dir (), "work", NULL);
  fixture->clock = g_build_filename (fixture->work, "clock", NULL);
  fixture->source = g_build_filename (fixture->work, "source", NULL);
  g_assert_cmpint (g_mkdir_with_parents (fixture->source, 0700), ==, 0);
  set_clock (fixture, local_time (3, 24, 8, 0, 0));
  /* The agent and the CLI inherit both. */
  g_setenv ("COFFER_AGENT_TEST_CLOCK", fixture->clock, TRUE);
  g_setenv ("TZ", "Europe/Stockholm", TRUE);
  fixture->agent = coffer_test_agent_start (g_get_user_state_dir ());
}

static void
fixture_set_up_keyring (Fixture *fixture, gconstpointer data)
{
  fixture->work = g_build_filename (g_get_user_data_dir (), "work", NULL);
  fixture->clock = g_build_filename (fixture->work, "clock", NULL);
  fixture->source = g_build_filename (fixture->work, "source", NULL);
  g_assert_cmpint (g_mkdir_with_parents (fixture->source, 0700), ==, 0);
  set_clock (fixture, local_time (3, 24, 8, 0, 0));
  g_setenv ("COFFER_AGENT_TEST_CLOCK", fixture->clock, TRUE);
  g_setenv ("TZ", "Europe/Stockholm", TRUE);
  fixture->agent = coffer_test_agent_start_with_keyring (g_get_user_state_dir ());
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  g_clear_pointer (&fixture->agent, coffer_test_agent_stop);
  g_free (fixture->work);
  g_free (fixture->clock);
  g_free (fixture->source);
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
register_with_policy (Fixture *fixture)
{
  g_autofree char *vault = g_build_filename (fixture->work, "vault", NULL);
  g_autofree char *passphrase = g_build_filename (fixture->work, "pass.txt", NULL);

  g_assert_true (g_file_set_contents_full (passphrase, "correct horse battery staple\n", -1,
                                           G_FILE_SET_CONTENTS_NONE, 0600, NULL));
  g_assert_cmpint (
      cli (fixture, "register", "--create-local-vault", vault, "--passphrase-file", passphrase), ==,
      0);
  g_assert_cmpint (cli (fixture, "policy", "set", "--add", fixture->source, "--daily", "09:00",
                        "--retain-daily", "7"),
                   ==, 0);
}

static void
write_day (Fixture *fixture, guint day)
{
  g_autofree char *name = g_strdup_printf ("day-%02u.txt", day);
  g_autofree char *path = g_build_filename (fixture->source, name, NULL);
  g_autofree char *contents = g_strdup_printf ("what happened on day %u\n", day);

  g_assert_true (g_file_set_contents (path, contents, -1, NULL));
}

static JsonArray *
json_array_of (Fixture *fixture, JsonParser *parser)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (json_parser_load_from_data (parser, fixture->out, -1, &error));
  g_assert_no_error (error);
  return json_node_get_array (json_parser_get_root (parser));
}

/* How many jobs of @kind ended with @status. */
static guint
count_jobs (Fixture *fixture, const char *kind, const char *status)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonArray *jobs;
  guint count = 0;

  g_assert_cmpint (cli (fixture, "jobs", "--json", "--limit", "1000"), ==, 0);
  jobs = json_array_of (fixture, parser);
  for (guint i = 0; i < json_array_get_length (jobs); i++)
    {
      JsonObject *job = json_array_get_object_element (jobs, i);
      if (g_str_equal (json_object_get_string_member (job, "kind"), kind) &&
          g_str_equal (json_object_get_string_member (job, "status"), status))
        count++;
    }
  return count;
}

/* Waits until @count backup jobs have completed. */
static void
wait_for_backups (Fixture *fixture, guint count)
{
  for (int i = 0; i < 600; i++)
    {
      if (count_jobs (fixture, "backup", "completed") >= count)
        break;
      g_usleep (100 * G_TIME_SPAN_MILLISECOND);
    }
  g_assert_cmpuint (count_jobs (fixture, "backup", "completed"), ==, count);
  /* And the agent is idle again (the prune after the backup is done). */
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

/* The points of this machine: their times, oldest first. */
static GArray *
point_times (Fixture *fixture, const char *kind)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  GArray *times = g_array_new (FALSE, FALSE, sizeof (gint64));
  JsonArray *points;

  g_assert_cmpint (cli (fixture, "recover", "points", "--json"), ==, 0);
  points = json_array_of (fixture, parser);
  for (guint i = 0; i < json_array_get_length (points); i++)
    {
      JsonObject *point = json_array_get_object_element (points, i);
      gint64 time = json_object_get_int_member (point, "time");

      if (g_str_equal (json_object_get_string_member (point, "kind"), kind))
        g_array_append_val (times, time);
    }
  return times;
}

static void
test_refuses_what_the_reference_refuses (Fixture *fixture, gconstpointer data)
{
  register_with_policy (fixture);

  /* Each is a usage error naming the rule, caught before the agent is asked. */
  g_assert_cmpint (cli (fixture, "policy", "set", "--daily", "06:00,09:00,12:00,18:00"), ==, 2);
  g_assert_cmpstr (fixture->err, ==, "coffer: Maximum allowed is three times a day.\n");
  g_assert_cmpint (cli (fixture, "policy", "set", "--daily", "09:15"), ==, 2);
  g_assert_nonnull (strstr (fixture->err, "on the hour or the half hour"));
  g_assert_cmpint (cli (fixture, "policy", "set", "--retain-daily", "6"), ==, 2);
  g_assert_cmpstr (fixture->err, ==,
                   "coffer: --retain-daily 6: Retention of daily backups must be between 7 and "
                   "9,999 days (or 0 to turn the rule off).\n");
  g_assert_cmpint (cli (fixture, "policy", "set", "--retain-weekly", "5164"), ==, 2);
  g_assert_nonnull (strstr (fixture->err, "between 4 and 5,163 weeks"));
  g_assert_cmpint (cli (fixture, "policy", "set", "--retain-monthly", "2"), ==, 2);
  g_assert_nonnull (strstr (fixture->err, "between 3 and 1,188 months"));
  g_assert_cmpint (cli (fixture, "policy", "set", "--retain-yearly", "100"), ==, 2);
  g_assert_nonnull (strstr (fixture->err, "between 1 and 99 years"));
  g_assert_cmpint (cli (fixture, "policy", "set", "--weekly", "mon,someday@21:00"), ==, 2);
  g_assert_nonnull (strstr (fixture->err, "“someday” is not a day of the week"));
  g_assert_cmpint (cli (fixture, "policy", "set", "--weekly", "21:00"), ==, 2);
  g_assert_cmpint (cli (fixture, "policy", "set", "--daily", "09:00", "--no-schedule"), ==, 2);

  /* Nothing refused was kept; a valid change changes only its part. */
  g_assert_cmpint (
      cli (fixture, "policy", "set", "--weekly", "mon,fri@21:00,06:30", "--retain-weekly", "4"), ==,
      0);
  g_assert_cmpint (cli (fixture, "policy", "show"), ==, 0);
  g_assert_nonnull (strstr (fixture->out, "Schedule: weekly on mon, fri at 06:30, 21:00\n"));
  g_assert_nonnull (strstr (fixture->out, "State: active\n"));
  /* 24 March 2026 is a Tuesday: the next run is Friday morning. */
  g_assert_nonnull (strstr (fixture->out, "Next run: 2026-03-27 06:30 CET\n"));
  g_assert_nonnull (
      strstr (fixture->out, "Retention: daily 7 days, weekly 4 weeks, monthly off, yearly off\n"));
  g_assert_cmpint (cli (fixture, "policy", "show", "--json"), ==, 0);
  {
    g_autoptr (JsonParser) parser = json_parser_new ();
    JsonObject *policy;

    g_assert_true (json_parser_load_from_data (parser, fixture->out, -1, NULL));
    policy = json_node_get_object (json_parser_get_root (parser));
    g_assert_cmpstr (json_object_get_string_member (policy, "schedule"), ==, "weekly");
    g_assert_cmpint (json_object_get_int_member (policy, "next-run"), ==,
                     local_time (3, 27, 6, 30, 0));
    g_assert_cmpint (json_object_get_int_member (policy, "retain-weekly"), ==, 4);
  }
}

static void
test_runs_on_schedule_and_prunes (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GArray) times = NULL;
  guint days = 12;

  register_with_policy (fixture);
  g_assert_cmpint (cli (fixture, "policy", "show"), ==, 0);
  g_assert_nonnull (strstr (fixture->out, "Schedule: daily at 09:00\n"));
  g_assert_nonnull (strstr (fixture->out, "Next run: 2026-03-24 09:00 CET\n"));

  /* Nothing runs before 09:00. */
  write_day (fixture, 0);
  set_clock (fixture, local_time (3, 24, 8, 59, 0));
  g_usleep (1000 * G_TIME_SPAN_MILLISECOND);
  g_assert_cmpuint (count_jobs (fixture, "backup", "completed"), ==, 0);

  /* Twelve days, one backup a day at 09:00 local time (CET, then CEST from
   * 29 March). */
  for (guint day = 0; day < days; day++)
    {
      write_day (fixture, day);
      set_clock (fixture, local_time (3, 24 + day, 9, 0, 30));
      wait_for_backups (fixture, day + 1);
    }
  g_assert_cmpint (cli (fixture, "policy", "show"), ==, 0);
  g_assert_nonnull (strstr (fixture->out, "Next run: 2026-04-05 09:00 CEST\n"));

  /* Daily retention of 7: the points of 29 March to 4 April are left. */
  times = point_times (fixture, "scheduled");
  g_assert_cmpuint (times->len, ==, 7);
  g_assert_cmpint (g_array_index (times, gint64, 0), ==, local_time (3, 29, 9, 0, 30));
  g_assert_cmpint (g_array_index (times, gint64, 6), ==, local_time (4, 4, 9, 0, 30));
  g_assert_cmpuint (count_jobs (fixture, "prune", "completed"), ==, days - 7);
  g_assert_cmpint (cli (fixture, "jobs", "--status", "completed", "--limit", "2"), ==, 0);
  g_assert_nonnull (strstr (fixture->out, "prune       completed"));

  /* What is left checks clean and restores the same bytes. */
  g_assert_cmpint (cli (fixture, "check", "--read-data", "--wait"), ==, 0);
  g_assert_nonnull (strstr (fixture->out, "No damage found: 7 recovery points"));
  {
    g_autofree char *target = g_build_filename (fixture->work, "recovered", NULL);
    g_autofree char *first = g_build_filename (fixture->source, "day-05.txt", NULL);
    g_autofree char *restored = g_build_filename (target, "day-05.txt", NULL);
    g_autofree char *contents = NULL;

    g_assert_cmpint (g_mkdir (target, 0700), ==, 0);
    g_assert_cmpint (cli (fixture, "recover", "run", "latest", first, "--to", target, "--wait"), ==,
                     0);
    g_assert_true (g_file_get_contents (restored, &contents, NULL, NULL));
    g_assert_cmpstr (contents, ==, "what happened on day 5\n");
  }

  /* The agent stops; three runs pass; it comes back: one backup, soon. */
  coffer_test_agent_stop (fixture->agent);
  set_clock (fixture, local_time (4, 7, 12, 0, 0));
  fixture->agent = coffer_test_agent_start (g_get_user_state_dir ());
  wait_for_backups (fixture, days + 1);
  g_usleep (1000 * G_TIME_SPAN_MILLISECOND);
  g_assert_cmpuint (count_jobs (fixture, "backup", "completed"), ==, days + 1);

  /* Paused: the time passes without a backup; resumed: no make-up run. */
  g_assert_cmpint (cli (fixture, "policy", "pause"), ==, 0);
  g_assert_cmpint (cli (fixture, "policy", "show"), ==, 0);
  g_assert_nonnull (strstr (fixture->out, "State: paused\n"));
  g_assert_cmpint (cli (fixture, "status"), ==, 0);
  g_assert_nonnull (strstr (fixture->out, "Next backup:       none: the schedule is paused\n"));
  g_assert_null (strstr (fixture->out, "Next run:"));
  set_clock (fixture, local_time (4, 8, 9, 30, 0));
  g_usleep (1000 * G_TIME_SPAN_MILLISECOND);
  g_assert_cmpint (cli (fixture, "policy", "resume"), ==, 0);
  g_usleep (1000 * G_TIME_SPAN_MILLISECOND);
  g_assert_cmpuint (count_jobs (fixture, "backup", "completed"), ==, days + 1);
  g_assert_cmpint (cli (fixture, "policy", "show"), ==, 0);
  g_assert_nonnull (strstr (fixture->out, "Next run: 2026-04-09 09:00 CEST\n"));
}

static void
test_queued_behind_a_running_job (Fixture *fixture, gconstpointer data)
{
  g_autofree char *big = g_build_filename (fixture->source, "big.bin", NULL);
  g_autofree guint8 *bytes = g_malloc (4 * 1024 * 1024);
  g_autoptr (GArray) scheduled = NULL;

  register_with_policy (fixture);
  coffer_random_bytes (bytes, 4 * 1024 * 1024);
  g_assert_true (g_file_set_contents (big, (const char *) bytes, 4 * 1024 * 1024, NULL));

  /* Throttled to 512 Kbps, the Back Up Now of 4 MiB takes about a minute,
   * however fast the machine: it is still running when 09:00 comes. */
  g_assert_cmpint (cli (fixture, "properties", "set", "--throttle", "on", "--work-days", "mon-sun",
                        "--work-hours", "08:00-18:00", "--work-bandwidth", "512Kbps",
                        "--non-work-bandwidth", "512Kbps"),
                   ==, 0);
  g_assert_cmpint (cli (fixture, "backup"), ==, 0);
  set_clock (fixture, local_time (3, 24, 9, 0, 30));
  /* Due now, the scheduled backup waits behind it. */
  g_usleep (2000 * G_TIME_SPAN_MILLISECOND);
  g_assert_cmpuint (count_jobs (fixture, "backup", "running"), ==, 1);
  g_assert_cmpint (cli (fixture, "jobs"), ==, 0);
  g_assert_null (strstr (fixture->out, "\n     2  backup"));

  /* Unthrottled, the Back Up Now ends, then the scheduled one runs. */
  g_assert_cmpint (cli (fixture, "properties", "set", "--throttle", "off"), ==, 0);
  wait_for_backups (fixture, 2);
  scheduled = point_times (fixture, "scheduled");
  g_assert_cmpuint (scheduled->len, ==, 1);
  {
    g_autoptr (GArray) on_demand = point_times (fixture, "on-demand");
    g_assert_cmpuint (on_demand->len, ==, 1);
  }
}

static void
test_stop_deletes_every_backup (Fixture *fixture, gconstpointer data)
{
  g_autofree char *vault = g_build_filename (fixture->work, "vault", NULL);
  g_autofree char *data_dir = NULL;
  g_autoptr (GArray) points = NULL;

  register_with_policy (fixture);
  write_day (fixture, 1);
  g_assert_cmpint (cli (fixture, "backup", "--wait"), ==, 0);
  set_clock (fixture, local_time (3, 24, 9, 0, 30));
  wait_for_backups (fixture, 2);

  /* Without a terminal, it is not asked: it needs the name. */
  g_assert_cmpint (cli (fixture, "policy", "stop"), ==, 2);
  g_assert_nonnull (strstr (fixture->err, "--confirm-vault-name"));
  g_assert_cmpint (cli (fixture, "policy", "stop", "--confirm-vault-name", "Other"), ==, 1);
  g_assert_cmpstr (fixture->err, ==,
                   "coffer: The name typed is not the vault's name; nothing was deleted.\n");
  points = point_times (fixture, "scheduled");
  g_assert_cmpuint (points->len, ==, 1);

  g_assert_cmpint (
      cli (fixture, "policy", "stop", "--confirm-vault-name", "Coffer-Vault", "--wait"), ==, 0);
  g_assert_nonnull (strstr (fixture->out, "Removed 2 recovery points"));
  g_assert_cmpint (cli (fixture, "recover", "points", "--json"), ==, 0);
  g_assert_cmpstr (g_strstrip (fixture->out), ==, "[]");
  g_assert_cmpint (cli (fixture, "policy", "show"), ==, 0);
  g_assert_nonnull (strstr (fixture->out, "Items:\n  (none)\n"));
  g_assert_nonnull (strstr (fixture->out, "Schedule: none"));
  g_assert_cmpint (cli (fixture, "check", "--read-data", "--wait"), ==, 0);
  g_assert_nonnull (strstr (fixture->out, "No damage found: 0 recovery points, 0 packs"));
  g_assert_cmpint (cli (fixture, "jobs", "--limit", "1"), ==, 0);
}

static void
emit_prepare_for_sleep (GDBusConnection *system_bus, gboolean going_to_sleep)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (g_dbus_connection_emit_signal (system_bus, NULL, "/org/freedesktop/login1",
                                                "org.freedesktop.login1.Manager", "PrepareForSleep",
                                                g_variant_new ("(b)", going_to_sleep), &error));
  g_assert_no_error (error);
  g_dbus_connection_flush_sync (system_bus, NULL, NULL);
}

static void
name_acquired_cb (GDBusConnection *connection, const char *name, gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
}

/* The machine sleeps through 09:00: the wall clock is past it when it
 * wakes, and logind's PrepareForSleep(false) (on a stand-in system bus)
 * makes the agent look at once, not at its next tick. */
static void
test_wake_up_runs_the_missed_backup (Fixture *fixture, gconstpointer data)
{
  CofferTestBus *system = NULL;
  g_autoptr (GDBusConnection) system_bus = NULL;
  g_autoptr (GError) error = NULL;
  gboolean owned = FALSE;
  guint owner;

  /* This fixture's agent is not the one to test: one whose tick is a
   * minute, with a system bus. */
  g_clear_pointer (&fixture->agent, coffer_test_agent_stop);
  system = coffer_test_bus_up ();
  g_setenv ("DBUS_SYSTEM_BUS_ADDRESS", coffer_test_bus_get_address (system), TRUE);
  g_setenv ("COFFER_AGENT_TEST_TICK_MS", "60000", TRUE);
  fixture->agent = coffer_test_agent_start (g_get_user_state_dir ());
  g_unsetenv ("COFFER_AGENT_TEST_TICK_MS");
  g_unsetenv ("DBUS_SYSTEM_BUS_ADDRESS");

  system_bus =
      g_dbus_connection_new_for_address_sync (coffer_test_bus_get_address (system),
                                              G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                  G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                              NULL, NULL, &error);
  g_assert_no_error (error);
  owner = g_bus_own_name_on_connection (system_bus, "org.freedesktop.login1",
                                        G_BUS_NAME_OWNER_FLAGS_NONE, name_acquired_cb, NULL, &owned,
                                        NULL);
  while (!owned)
    g_main_context_iteration (NULL, TRUE);

  register_with_policy (fixture);
  set_clock (fixture, local_time (3, 24, 9, 0, 30));
  /* Going to sleep, and a while after 09:00: nothing yet. */
  emit_prepare_for_sleep (system_bus, TRUE);
  g_usleep (1500 * G_TIME_SPAN_MILLISECOND);
  g_assert_cmpuint (count_jobs (fixture, "backup", "completed"), ==, 0);
  g_assert_cmpint (cli (fixture, "jobs"), ==, 0);
  g_assert_cmpstr (fixture->out, ==, "No jobs yet.\n");

  /* Awake: the backup starts. */
  emit_prepare_for_sleep (system_bus, FALSE);
  wait_for_backups (fixture, 1);

  g_bus_unown_name (owner);
  g_dbus_connection_close_sync (system_bus, NULL, NULL);
  g_clear_pointer (&fixture->agent, coffer_test_agent_stop);
  /* Taken down as the session bus it was made as. */
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", coffer_test_bus_get_address (system), TRUE);
  coffer_test_bus_down (system);
}

/* Flips a byte in the middle of every pack below @folder of the vault at
 * @root. */
static guint
damage_packs (const char *root, const char *folder)
{
  g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
  const char *name;
  guint count = 0;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (folder, name, NULL);
      g_autofree char *contents = NULL;
      gsize length;

      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        {
          count += damage_packs (root, path);
          continue;
        }
      if (strstr (path + strlen (root), "/data/") == NULL)
        continue;
      g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
      contents[length / 2] ^= 0x40;
      g_assert_true (g_file_set_contents (path, contents, length, NULL));
      count++;
    }
  return count;
}

static void
test_job_show_pages_failed_items (Fixture *fixture, gconstpointer data)
{
  g_autofree char *vault = g_build_filename (fixture->work, "vault", NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *job;
  gint64 total;

  register_with_policy (fixture);
  for (guint day = 0; day < 4; day++)
    write_day (fixture, day);
  g_assert_cmpint (cli (fixture, "backup", "--wait"), ==, 0);
  g_assert_cmpuint (damage_packs (vault, vault), >=, 1);
  g_assert_cmpint (cli (fixture, "check", "--read-data", "--wait"), ==, 1);

  /* Every damaged object, in JSON with the job. */
  g_assert_cmpint (cli (fixture, "job", "show", "2", "--json"), ==, 0);
  g_assert_true (json_parser_load_from_data (parser, fixture->out, -1, NULL));
  job = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (job, "status"), ==, "failed");
  total = json_object_get_int_member (job, "failed-items-total");
  g_assert_cmpint (total, >=, 2);
  g_assert_cmpint (json_array_get_length (json_object_get_array_member (job, "failed-items")), ==,
                   total);

  /* A page of one, and where the next starts. */
  g_assert_cmpint (cli (fixture, "job", "show", "2", "--limit", "1"), ==, 0);
  g_assert_nonnull (strstr (fixture->out, "Status:           failed\n"));
  /* A check's failed items are what it found damaged, not "not backed up". */
  g_assert_nonnull (strstr (fixture->out, "\nDamaged or missing:\n"));
  g_assert_null (strstr (fixture->out, "Not backed up"));
  g_assert_nonnull (strstr (fixture->out, "is damaged"));
  {
    g_autofree char *more =
        g_strdup_printf ("(%" G_GINT64_FORMAT " more: --offset 1)\n", total - 1);
    g_assert_true (g_str_has_suffix (fixture->out, more));
  }
  g_assert_cmpint (cli (fixture, "job", "show", "2", "--limit", "0"), ==, 2);
}

/* Locks the keyring's default collection, as a screen lock or a logout
 * would. */
static void
lock_keyring (Fixture *fixture)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) alias = NULL;
  g_autoptr (GVariant) locked = NULL;
  const char *collection;
  const char *objects[2] = { NULL, NULL };

  alias = g_dbus_connection_call_sync (
      fixture->agent->connection, "org.freedesktop.secrets", "/org/freedesktop/secrets",
      "org.freedesktop.Secret.Service", "ReadAlias", g_variant_new ("(s)", "default"),
      G_VARIANT_TYPE ("(o)"), G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &error);
  g_assert_no_error (error);
  g_variant_get (alias, "(&o)", &collection);
  objects[0] = collection;
  locked = g_dbus_connection_call_sync (
      fixture->agent->connection, "org.freedesktop.secrets", "/org/freedesktop/secrets",
      "org.freedesktop.Secret.Service", "Lock", g_variant_new ("(^ao)", objects),
      G_VARIANT_TYPE ("(aoo)"), G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &error);
  g_assert_no_error (error);
}

static void
test_locked_keyring_is_reported (Fixture *fixture, gconstpointer data)
{
  if (fixture->agent == NULL)
    return; /* skipped: no gnome-keyring-daemon */

  register_with_policy (fixture);
  g_assert_cmpint (cli (fixture, "status"), ==, 0);
  g_assert_nonnull (strstr (fixture->out, "Passphrase kept:   Secret Service"));

  /* After a restart (a reboot, a new login) the agent has to read the
   * passphrase again. 09:00 comes while the keyring is locked: the job says
   * so at once, without asking anyone to unlock it. */
  coffer_test_agent_restart (fixture->agent);
  lock_keyring (fixture);
  set_clock (fixture, local_time (3, 24, 9, 0, 30));
  for (int i = 0; i < 300 && count_jobs (fixture, "backup", "failed") == 0; i++)
    g_usleep (100 * G_TIME_SPAN_MILLISECOND);
  g_assert_cmpuint (count_jobs (fixture, "backup", "failed"), ==, 1);
  g_assert_cmpint (cli (fixture, "job", "show", "1"), ==, 0);
  g_assert_nonnull (strstr (
      fixture->out,
      "Result:           The keyring is locked; unlock it or log in to run scheduled backups"));
  g_assert_cmpint (cli (fixture, "status"), ==, 0);
  g_assert_nonnull (strstr (fixture->out, "Passphrase kept:   keyring locked"));
  g_assert_nonnull (strstr (fixture->out, "Next backup:       2026-03-25 09:00 CET\n"));
  g_assert_nonnull (strstr (fixture->out,
                            "Last job:          1 backup failed: The keyring is locked; unlock "
                            "it or log in to run scheduled backups\n"));
  g_assert_nonnull (strstr (fixture->err, "The keyring is locked"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func)                                                                            \
  g_test_add ("/cli/schedule/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("refuses-what-the-reference-refuses", test_refuses_what_the_reference_refuses);
  ADD ("runs-on-schedule-and-prunes", test_runs_on_schedule_and_prunes);
  ADD ("queued-behind-a-running-job", test_queued_behind_a_running_job);
  ADD ("stop-deletes-every-backup", test_stop_deletes_every_backup);
  ADD ("job-show-pages-failed-items", test_job_show_pages_failed_items);
  ADD ("wake-up-runs-the-missed-backup", test_wake_up_runs_the_missed_backup);
#undef ADD
  g_test_add ("/cli/schedule/locked-keyring-is-reported", Fixture, NULL, fixture_set_up_keyring,
              test_locked_keyring_is_reported, fixture_tear_down);
  return g_test_run ();
}
