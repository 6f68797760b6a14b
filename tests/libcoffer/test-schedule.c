/* test-schedule.c: schedules run at the local times the user chose, across
 * DST and time zones, and retention keeps what its rules say. */
#include "config.h"

#include "coffer.h"

static gint64
at (GTimeZone *tz, int year, int month, int day, int hour, int minute)
{
  g_autoptr (GDateTime) time = g_date_time_new (tz, year, month, day, hour, minute, 0);

  g_assert_nonnull (time);
  return g_date_time_to_unix (time);
}

static gint64
utc (int year, int month, int day, int hour, int minute)
{
  g_autoptr (GTimeZone) tz = g_time_zone_new_utc ();
  return at (tz, year, month, day, hour, minute);
}

static void
make (CofferSchedule *schedule, CofferScheduleKind kind, const char *times, const char *days)
{
  g_auto (GStrv) time_list = g_strsplit (times, ",", -1);
  g_auto (GStrv) day_list = days != NULL ? g_strsplit (days, ",", -1) : NULL;
  g_autoptr (GError) error = NULL;

  coffer_schedule_init_default (schedule);
  schedule->kind = kind;
  g_assert_true (coffer_schedule_set_times (schedule, (const char *const *) time_list, &error));
  g_assert_no_error (error);
  g_assert_true (coffer_schedule_set_weekdays (schedule, (const char *const *) day_list, &error));
  g_assert_true (coffer_schedule_check (schedule, &error));
  g_assert_no_error (error);
}

static void
assert_refused (const CofferSchedule *schedule, const char *words)
{
  g_autoptr (GError) error = NULL;

  g_assert_false (coffer_schedule_check (schedule, &error));
  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, words));
}

static void
test_rules (void)
{
  const char *four[] = { "06:00", "12:00", "18:00", "21:30", NULL };
  const char *three_with_repeat[] = { "06:00", "12:00", "06:00", "18:00", NULL };
  const char *quarter[] = { "09:15", NULL };
  const char *nonsense[] = { "9am", NULL };
  const char *bad_day[] = { "someday", NULL };
  g_autoptr (GError) error = NULL;
  CofferSchedule schedule;
  guint16 minutes;

  coffer_schedule_init_default (&schedule);
  schedule.kind = COFFER_SCHEDULE_DAILY;
  g_assert_false (coffer_schedule_set_times (&schedule, four, &error));
  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT);
  g_assert_cmpstr (error->message, ==, "Maximum allowed is three times a day.");
  g_clear_error (&error);
  g_assert_cmpuint (schedule.n_times, ==, 0);

  /* The same time twice is one time. */
  g_assert_true (coffer_schedule_set_times (&schedule, three_with_repeat, &error));
  g_assert_cmpuint (schedule.n_times, ==, 3);

  g_assert_false (coffer_schedule_set_times (&schedule, quarter, &error));
  g_assert_nonnull (strstr (error->message, "hour or the half hour"));
  g_clear_error (&error);
  g_assert_false (coffer_schedule_set_times (&schedule, nonsense, &error));
  g_assert_nonnull (strstr (error->message, "HH:MM"));
  g_clear_error (&error);
  g_assert_false (coffer_schedule_parse_time ("24:00", &minutes, NULL));
  g_assert_true (coffer_schedule_parse_time ("23:30", &minutes, NULL));
  g_assert_cmpuint (minutes, ==, 23 * 60 + 30);
  g_assert_false (coffer_schedule_set_weekdays (&schedule, bad_day, &error));
  g_assert_nonnull (strstr (error->message, "mon, tue"));
  g_clear_error (&error);

  /* Weekly needs a day; scheduled needs a time and some retention. */
  make (&schedule, COFFER_SCHEDULE_DAILY, "21:00", NULL);
  schedule.kind = COFFER_SCHEDULE_WEEKLY;
  assert_refused (&schedule, "at least one day of the week");
  schedule.kind = COFFER_SCHEDULE_DAILY;
  schedule.n_times = 0;
  assert_refused (&schedule, "at least one time");
  schedule.n_times = 1;
  schedule.retain_daily = 0;
  assert_refused (&schedule, "need a retention policy");

  /* Each retention rule, just outside and at its limits. */
  {
    const struct
    {
      guint32 *field;
      guint32 min, max;
      const char *words;
    } rules[] = {
      { &schedule.retain_daily, 7, 9999, "between 7 and 9,999 days" },
      { &schedule.retain_weekly, 4, 5163, "between 4 and 5,163 weeks" },
      { &schedule.retain_monthly, 3, 1188, "between 3 and 1,188 months" },
      { &schedule.retain_yearly, 1, 99, "between 1 and 99 years" },
    };

    for (guint i = 0; i < G_N_ELEMENTS (rules); i++)
      {
        make (&schedule, COFFER_SCHEDULE_DAILY, "21:00", NULL);
        *rules[i].field = rules[i].min;
        g_assert_true (coffer_schedule_check (&schedule, NULL));
        *rules[i].field = rules[i].max;
        g_assert_true (coffer_schedule_check (&schedule, NULL));
        *rules[i].field = rules[i].max + 1;
        assert_refused (&schedule, rules[i].words);
        if (rules[i].min > 1)
          {
            *rules[i].field = rules[i].min - 1;
            assert_refused (&schedule, rules[i].words);
          }
      }
  }
}

static char *
local_text (GTimeZone *tz, gint64 unix_seconds)
{
  g_autoptr (GDateTime) utc_time = g_date_time_new_from_unix_utc (unix_seconds);
  g_autoptr (GDateTime) local = g_date_time_to_timezone (utc_time, tz);

  return g_date_time_format (local, "%Y-%m-%d %H:%M %Z");
}

#define assert_local(tz, unix_seconds, text)                                                       \
  G_STMT_START                                                                                     \
  {                                                                                                \
    g_autofree char *got = local_text (tz, unix_seconds);                                          \
    g_assert_cmpstr (got, ==, text);                                                               \
  }                                                                                                \
  G_STMT_END

static void
test_next_run_daily_across_dst (void)
{
  g_autoptr (GTimeZone) tz = g_time_zone_new_identifier ("Europe/Stockholm");
  CofferSchedule schedule;
  gint64 next;

  g_assert_nonnull (tz);
  make (&schedule, COFFER_SCHEDULE_DAILY, "09:00,21:30", NULL);

  /* 09:00 stays 09:00 on the clock when the clock moves forward (29 March
   * 2026): 23 hours between the runs, not 24. */
  next = coffer_schedule_next_run (&schedule, tz, at (tz, 2026, 3, 28, 10, 0));
  assert_local (tz, next, "2026-03-28 21:30 CET");
  next = coffer_schedule_next_run (&schedule, tz, next);
  assert_local (tz, next, "2026-03-29 09:00 CEST");
  g_assert_cmpint (next, ==, utc (2026, 3, 29, 7, 0));
  g_assert_cmpint (next - at (tz, 2026, 3, 28, 9, 0), ==, 23 * 3600);

  /* And when it moves back (25 October 2026): 25 hours. */
  next = coffer_schedule_next_run (&schedule, tz, at (tz, 2026, 10, 24, 22, 0));
  assert_local (tz, next, "2026-10-25 09:00 CET");
  g_assert_cmpint (next - at (tz, 2026, 10, 24, 9, 0), ==, 25 * 3600);

  /* Exactly at a run: the next one, not the same. */
  next = coffer_schedule_next_run (&schedule, tz, at (tz, 2026, 6, 1, 9, 0));
  assert_local (tz, next, "2026-06-01 21:30 CEST");
}

static void
test_next_run_in_gap_and_overlap (void)
{
  g_autoptr (GTimeZone) tz = g_time_zone_new_identifier ("Europe/Stockholm");
  CofferSchedule schedule;
  gint64 next, after;

  /* 02:30 does not exist on 29 March: it runs once, as the clock jumps. */
  make (&schedule, COFFER_SCHEDULE_DAILY, "02:30", NULL);
  next = coffer_schedule_next_run (&schedule, tz, at (tz, 2026, 3, 28, 12, 0));
  assert_local (tz, next, "2026-03-29 03:00 CEST");
  next = coffer_schedule_next_run (&schedule, tz, next);
  assert_local (tz, next, "2026-03-30 02:30 CEST");

  /* 02:30 happens twice on 25 October: it runs once. */
  next = coffer_schedule_next_run (&schedule, tz, at (tz, 2026, 10, 24, 12, 0));
  g_assert_cmpint (next, ==, utc (2026, 10, 25, 1, 30));
  after = coffer_schedule_next_run (&schedule, tz, next);
  assert_local (tz, after, "2026-10-26 02:30 CET");
  /* Even looking from the first 02:30 (summer time). */
  after = coffer_schedule_next_run (&schedule, tz, utc (2026, 10, 25, 0, 30));
  g_assert_cmpint (after, ==, next);

  /* 02:30 and 03:00 on the day 02:30 is skipped: one run, not two. */
  make (&schedule, COFFER_SCHEDULE_DAILY, "02:30,03:00", NULL);
  next = coffer_schedule_next_run (&schedule, tz, at (tz, 2026, 3, 29, 0, 0));
  assert_local (tz, next, "2026-03-29 03:00 CEST");
  next = coffer_schedule_next_run (&schedule, tz, next);
  assert_local (tz, next, "2026-03-30 02:30 CEST");
}

static void
test_next_run_weekly_and_time_zones (void)
{
  g_autoptr (GTimeZone) stockholm = g_time_zone_new_identifier ("Europe/Stockholm");
  g_autoptr (GTimeZone) new_york = g_time_zone_new_identifier ("America/New_York");
  CofferSchedule schedule;
  gint64 now = utc (2026, 11, 20, 12, 0); /* a Friday */
  gint64 next;

  make (&schedule, COFFER_SCHEDULE_WEEKLY, "21:00", "mon,fri");
  next = coffer_schedule_next_run (&schedule, stockholm, now);
  assert_local (stockholm, next, "2026-11-20 21:00 CET");
  next = coffer_schedule_next_run (&schedule, stockholm, next);
  assert_local (stockholm, next, "2026-11-23 21:00 CET");

  /* The machine moves to New York: 21:00 there. */
  next = coffer_schedule_next_run (&schedule, new_york, now);
  assert_local (new_york, next, "2026-11-20 21:00 EST");
  g_assert_cmpint (next, ==, utc (2026, 11, 21, 2, 0));

  /* The last run due, for runs missed while the machine was off. */
  g_assert_cmpint (coffer_schedule_last_due (&schedule, stockholm, now), ==,
                   at (stockholm, 2026, 11, 16, 21, 0));
  g_assert_cmpint (
      coffer_schedule_last_due (&schedule, stockholm, at (stockholm, 2026, 11, 20, 21, 0)), ==,
      at (stockholm, 2026, 11, 20, 21, 0));

  coffer_schedule_init_default (&schedule);
  g_assert_cmpint (coffer_schedule_next_run (&schedule, stockholm, now), ==, 0);
  g_assert_cmpint (coffer_schedule_last_due (&schedule, stockholm, now), ==, 0);
}

static CofferSnapshot *
point (const char *id, gint64 time, gboolean on_demand, gint64 retain_until)
{
  CofferSnapshot *snapshot = g_new0 (CofferSnapshot, 1);

  snapshot->id = g_strdup (id);
  snapshot->time = time;
  snapshot->on_demand = on_demand;
  snapshot->retain_until = retain_until;
  snapshot->items = g_ptr_array_new_with_free_func (g_free);
  return snapshot;
}

static char *
kept_ids (GHashTable *kept, GPtrArray *snapshots)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < snapshots->len; i++)
    {
      CofferSnapshot *snapshot = g_ptr_array_index (snapshots, i);
      if (g_hash_table_contains (kept, snapshot->id))
        g_string_append_printf (text, "%s%s", text->len > 0 ? " " : "", snapshot->id);
    }
  return g_string_free (text, FALSE);
}

static void
test_retention (void)
{
  g_autoptr (GTimeZone) tz = g_time_zone_new_identifier ("Europe/Stockholm");
  g_autoptr (GPtrArray) snapshots =
      g_ptr_array_new_with_free_func ((GDestroyNotify) coffer_snapshot_free);
  gint64 now = at (tz, 2026, 11, 22, 12, 0); /* a Sunday */
  CofferSchedule schedule;

  /* Two a day for 40 days back, at 09:00 and 21:00. */
  for (int d = 40; d >= 0; d--)
    for (int h = 9; h <= 21; h += 12)
      {
        g_autoptr (GDateTime) noon = g_date_time_new (tz, 2026, 11, 22, 12, 0, 0);
        g_autoptr (GDateTime) day = g_date_time_add_days (noon, -d);
        g_autoptr (GDateTime) time =
            g_date_time_new (tz, g_date_time_get_year (day), g_date_time_get_month (day),
                             g_date_time_get_day_of_month (day), h, 0, 0);
        g_autofree char *id = g_date_time_format (time, "%m%d-%H");

        if (g_date_time_to_unix (time) <= now)
          g_ptr_array_add (snapshots, point (id, g_date_time_to_unix (time), FALSE, 0));
      }
  /* Back Up Now points: one still within its retain-until, one past it. */
  g_ptr_array_add (snapshots, point ("now-kept", at (tz, 2026, 10, 1, 10, 0), TRUE, now + 1));
  g_ptr_array_add (snapshots, point ("now-gone", at (tz, 2026, 11, 21, 10, 0), TRUE, now - 1));

  make (&schedule, COFFER_SCHEDULE_DAILY, "09:00,21:00", NULL);
  schedule.retain_daily = 7;
  {
    g_autoptr (GHashTable) kept = coffer_retention_select (snapshots, &schedule, tz, now);
    g_autofree char *ids = kept_ids (kept, snapshots);
    /* Today (its 09:00 only so far) and the six days before: the newest of each. */
    g_assert_cmpstr (ids, ==, "1116-21 1117-21 1118-21 1119-21 1120-21 1121-21 1122-09 now-kept");
  }

  /* Weekly 4 and monthly 3 on top: each week's and month's newest. */
  schedule.retain_weekly = 4;
  schedule.retain_monthly = 3;
  {
    g_autoptr (GHashTable) kept = coffer_retention_select (snapshots, &schedule, tz, now);
    g_autofree char *ids = kept_ids (kept, snapshots);
    /* Weeks end on Sundays: 1101, 1108, 1115 (and this one's newest, today);
     * months: October's newest is 1031-21, November's is today's. The
     * oldest points (from 13 October) are in no kept period. */
    g_assert_cmpstr (ids, ==,
                     "1031-21 1101-21 1108-21 1115-21 1116-21 1117-21 1118-21 1119-21 1120-21 "
                     "1121-21 1122-09 now-kept");
  }

  /* Nothing left by the rules: the newest scheduled point still stays. */
  schedule.retain_daily = 7;
  schedule.retain_weekly = 0;
  schedule.retain_monthly = 0;
  {
    g_autoptr (GHashTable) kept =
        coffer_retention_select (snapshots, &schedule, tz, now + 365 * 24 * 3600);
    g_autofree char *ids = kept_ids (kept, snapshots);
    g_assert_cmpstr (ids, ==, "1122-09");
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/libcoffer/schedule/rules", test_rules);
  g_test_add_func ("/libcoffer/schedule/next-run-daily-across-dst", test_next_run_daily_across_dst);
  g_test_add_func ("/libcoffer/schedule/next-run-in-gap-and-overlap",
                   test_next_run_in_gap_and_overlap);
  g_test_add_func ("/libcoffer/schedule/next-run-weekly-and-time-zones",
                   test_next_run_weekly_and_time_zones);
  g_test_add_func ("/libcoffer/schedule/retention", test_retention);
  return g_test_run ();
}
