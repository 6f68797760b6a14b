/* coffer-retention.c: which recovery points the retention policy keeps.
 *
 * Each rule keeps the newest scheduled point of each local calendar day,
 * week (Monday to Sunday), month or year, for that many periods counted back
 * from the current one (daily 7: today and the six days before). A point
 * kept by any rule stays. Two more rules keep what a user would never want
 * lost: the newest scheduled point always stays (a machine that was off for
 * months still has its last backup), and a Back Up Now point stays until its
 * own retain-until (none: for ever), whatever the rules say.
 */
#include "config.h"

#include "coffer-retention.h"

#include "coffer-snapshot.h"

typedef enum
{
  PERIOD_DAY,
  PERIOD_WEEK,
  PERIOD_MONTH,
  PERIOD_YEAR,
} Period;

/* A number for the local period @unix_seconds falls in; consecutive periods
 * have consecutive numbers. */
static gint64
period_of (GTimeZone *tz, gint64 unix_seconds, Period period)
{
  g_autoptr (GDateTime) utc = g_date_time_new_from_unix_utc (unix_seconds);
  g_autoptr (GDateTime) local = g_date_time_to_timezone (utc, tz);
  GDate date;

  g_date_clear (&date, 1);
  g_date_set_dmy (&date, g_date_time_get_day_of_month (local), g_date_time_get_month (local),
                  g_date_time_get_year (local));
  switch (period)
    {
      case PERIOD_DAY:
        return g_date_get_julian (&date);
      case PERIOD_WEEK:
        /* Julian day 1, 1 January of year 1, was a Monday. */
        return (g_date_get_julian (&date) - 1) / 7;
      case PERIOD_MONTH:
        return (gint64) g_date_get_year (&date) * 12 + g_date_get_month (&date) - 1;
      case PERIOD_YEAR:
      default:
        return g_date_get_year (&date);
    }
}

static void
apply_rule (
    GPtrArray *snapshots, GTimeZone *tz, gint64 now, Period period, guint32 count, GHashTable *kept)
{
  g_autoptr (GHashTable) newest = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_autoptr (GArray) keys = g_array_sized_new (FALSE, FALSE, sizeof (gint64), snapshots->len);
  gint64 current;
  GHashTableIter iter;
  gpointer value;

  if (count == 0)
    return;
  current = period_of (tz, now, period);
  g_array_set_size (keys, snapshots->len);
  for (guint i = 0; i < snapshots->len; i++)
    {
      CofferSnapshot *snapshot = g_ptr_array_index (snapshots, i);
      gint64 *key = &g_array_index (keys, gint64, i);
      CofferSnapshot *best;

      if (snapshot->on_demand)
        continue;
      *key = period_of (tz, snapshot->time, period);
      /* A point from the future (a clock set back) counts as current. */
      if (current - *key >= count)
        continue;
      best = g_hash_table_lookup (newest, key);
      if (best == NULL || snapshot->time > best->time ||
          (snapshot->time == best->time && g_strcmp0 (snapshot->id, best->id) > 0))
        g_hash_table_insert (newest, key, snapshot);
    }
  g_hash_table_iter_init (&iter, newest);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_hash_table_add (kept, g_strdup (((CofferSnapshot *) value)->id));
}

/**
 * coffer_retention_select:
 * @snapshots: (element-type CofferSnapshot): a machine's recovery points
 * @schedule: the retention rules
 * @tz: the local time zone
 * @now: Unix seconds
 *
 * Returns: (transfer full) (element-type utf8 utf8): the ids of the points
 *   to keep, a set; every other point may be deleted
 */
GHashTable *
coffer_retention_select (GPtrArray *snapshots,
                         const CofferSchedule *schedule,
                         GTimeZone *tz,
                         gint64 now)
{
  GHashTable *kept = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  CofferSnapshot *latest = NULL;

  g_return_val_if_fail (snapshots != NULL && schedule != NULL && tz != NULL, kept);

  for (guint i = 0; i < snapshots->len; i++)
    {
      CofferSnapshot *snapshot = g_ptr_array_index (snapshots, i);

      if (snapshot->on_demand)
        {
          if (snapshot->retain_until == 0 || snapshot->retain_until > now)
            g_hash_table_add (kept, g_strdup (snapshot->id));
        }
      else if (latest == NULL || snapshot->time > latest->time)
        latest = snapshot;
    }
  if (latest != NULL)
    g_hash_table_add (kept, g_strdup (latest->id));

  apply_rule (snapshots, tz, now, PERIOD_DAY, schedule->retain_daily, kept);
  apply_rule (snapshots, tz, now, PERIOD_WEEK, schedule->retain_weekly, kept);
  apply_rule (snapshots, tz, now, PERIOD_MONTH, schedule->retain_monthly, kept);
  apply_rule (snapshots, tz, now, PERIOD_YEAR, schedule->retain_yearly, kept);
  return kept;
}
