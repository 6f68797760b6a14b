/* coffer-schedule.c: when scheduled backups run, and how long their points are kept.
 *
 * Times are local wall-clock times on 30-minute boundaries. A run's instant
 * is computed afresh for each day in the time zone given (GTimeZone), so it
 * follows DST and time-zone changes: 09:00 stays 09:00 on the clock. Across
 * a DST change, a time that does not exist that day (the hour the clock
 * skips) runs at the jump itself (02:30 runs at 03:00 when the clock goes
 * from 02:00 to 03:00), and a time that happens twice (the hour the clock
 * repeats) runs once, the second time (standard time): GLib's rules for
 * g_date_time_new() in a gap and in an overlap.
 */
#include "config.h"

#include "coffer-schedule.h"

#include "coffer-error.h"

#include <stdlib.h>
#include <string.h>

static const char *const weekday_names[] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };

/* How far to look for the next or last run: a week and a bit. */
#define SEARCH_DAYS 9

/**
 * coffer_schedule_init_default:
 * @schedule: (out caller-allocates): a schedule
 *
 * No schedule, active, keeping daily points for 30 days once one is set.
 */
void
coffer_schedule_init_default (CofferSchedule *schedule)
{
  memset (schedule, 0, sizeof *schedule);
  schedule->kind = COFFER_SCHEDULE_NONE;
  schedule->retain_daily = 30;
}

const char *
coffer_schedule_kind_to_string (CofferScheduleKind kind)
{
  switch (kind)
    {
      case COFFER_SCHEDULE_DAILY:
        return "daily";
      case COFFER_SCHEDULE_WEEKLY:
        return "weekly";
      case COFFER_SCHEDULE_NONE:
      default:
        return "none";
    }
}

gboolean
coffer_schedule_kind_from_string (const char *text, CofferScheduleKind *out_kind)
{
  if (g_strcmp0 (text, "none") == 0)
    *out_kind = COFFER_SCHEDULE_NONE;
  else if (g_strcmp0 (text, "daily") == 0)
    *out_kind = COFFER_SCHEDULE_DAILY;
  else if (g_strcmp0 (text, "weekly") == 0)
    *out_kind = COFFER_SCHEDULE_WEEKLY;
  else
    return FALSE;
  return TRUE;
}

/**
 * coffer_schedule_parse_time:
 * @text: "HH:MM", 00:00 to 23:30, on a 30-minute boundary
 * @out_minutes: (out): minutes after midnight
 * @error: return location for a #GError
 */
gboolean
coffer_schedule_parse_time (const char *text, guint16 *out_minutes, GError **error)
{
  guint hours, minutes;

  if (text == NULL || strlen (text) != 5 || !g_ascii_isdigit (text[0]) ||
      !g_ascii_isdigit (text[1]) || text[2] != ':' || !g_ascii_isdigit (text[3]) ||
      !g_ascii_isdigit (text[4]))
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "“%s” is not a time; write it as HH:MM, such as 21:30.",
                   text != NULL ? text : "");
      return FALSE;
    }
  hours = (text[0] - '0') * 10 + (text[1] - '0');
  minutes = (text[3] - '0') * 10 + (text[4] - '0');
  if (hours > 23 || minutes > 59)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT, "“%s” is not a time of day.",
                   text);
      return FALSE;
    }
  if (minutes % 30 != 0)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "Backups can be scheduled on the hour or the half hour, not at %s.", text);
      return FALSE;
    }
  *out_minutes = hours * 60 + minutes;
  return TRUE;
}

char *
coffer_schedule_format_time (guint16 minutes)
{
  return g_strdup_printf ("%02u:%02u", minutes / 60u, minutes % 60u);
}

/**
 * coffer_schedule_parse_weekday:
 * @text: "mon" … "sun" (or the full English name), in any case
 * @out_index: (out): 0 for Monday … 6 for Sunday
 * @error: return location for a #GError
 */
gboolean
coffer_schedule_parse_weekday (const char *text, guint *out_index, GError **error)
{
  static const char *const full[] = { "monday", "tuesday",  "wednesday", "thursday",
                                      "friday", "saturday", "sunday" };

  for (guint i = 0; text != NULL && i < G_N_ELEMENTS (weekday_names); i++)
    if (g_ascii_strcasecmp (text, weekday_names[i]) == 0 || g_ascii_strcasecmp (text, full[i]) == 0)
      {
        *out_index = i;
        return TRUE;
      }
  g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
               "“%s” is not a day of the week; write mon, tue, wed, thu, fri, sat or sun.",
               text != NULL ? text : "");
  return FALSE;
}

const char *
coffer_schedule_weekday_name (guint index)
{
  g_return_val_if_fail (index < G_N_ELEMENTS (weekday_names), NULL);
  return weekday_names[index];
}

static int
compare_minutes (gconstpointer a, gconstpointer b)
{
  return (int) *(const guint16 *) a - (int) *(const guint16 *) b;
}

/**
 * coffer_schedule_set_times:
 * @self: a schedule
 * @times: the times of day, "HH:MM"; at most three
 * @error: return location for a #GError
 *
 * Replaces the schedule's times, or leaves it as it was and says why.
 */
gboolean
coffer_schedule_set_times (CofferSchedule *self, const char *const *times, GError **error)
{
  guint16 parsed[COFFER_SCHEDULE_MAX_TIMES];
  guint n = 0;

  for (guint i = 0; times != NULL && times[i] != NULL; i++)
    {
      guint16 minutes;
      gboolean seen = FALSE;

      if (!coffer_schedule_parse_time (times[i], &minutes, error))
        return FALSE;
      for (guint j = 0; j < n; j++)
        seen = seen || parsed[j] == minutes;
      if (seen)
        continue;
      if (n == COFFER_SCHEDULE_MAX_TIMES)
        {
          g_set_error_literal (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                               "Maximum allowed is three times a day.");
          return FALSE;
        }
      parsed[n++] = minutes;
    }
  qsort (parsed, n, sizeof parsed[0], compare_minutes);
  memcpy (self->times, parsed, n * sizeof parsed[0]);
  self->n_times = n;
  return TRUE;
}

/**
 * coffer_schedule_set_weekdays:
 * @self: a schedule
 * @weekdays: days of the week, as coffer_schedule_parse_weekday() takes them
 * @error: return location for a #GError
 */
gboolean
coffer_schedule_set_weekdays (CofferSchedule *self, const char *const *weekdays, GError **error)
{
  guint8 mask = 0;

  for (guint i = 0; weekdays != NULL && weekdays[i] != NULL; i++)
    {
      guint index;

      if (!coffer_schedule_parse_weekday (weekdays[i], &index, error))
        return FALSE;
      mask |= 1u << index;
    }
  self->weekdays = mask;
  return TRUE;
}

static gboolean
check_range (guint32 value, guint32 min, guint32 max, const char *what, GError **error)
{
  if (value == 0 || (value >= min && value <= max))
    return TRUE;
  g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
               "%s must be between %u and %s (or 0 to turn the rule off).", what, min,
               max == COFFER_RETAIN_DAILY_MAX     ? "9,999 days"
               : max == COFFER_RETAIN_WEEKLY_MAX  ? "5,163 weeks"
               : max == COFFER_RETAIN_MONTHLY_MAX ? "1,188 months"
                                                  : "99 years");
  return FALSE;
}

/**
 * coffer_schedule_parse_retention:
 * @rule: "daily", "weekly", "monthly" or "yearly"
 * @text: how many days, weeks, months or years, as a user typed it
 * @out_value: (out): the number
 * @error: return location for a #GError
 *
 * Reads one retention rule's number and checks it against the rule's range,
 * as coffer_schedule_check() does (0 turns the rule off). Anything else —
 * a negative number, a word, a number out of range — is
 * %COFFER_ERROR_INVALID_ARGUMENT stating the range.
 *
 * Returns: whether @text is a number the rule takes
 */
gboolean
coffer_schedule_parse_retention (const char *rule,
                                 const char *text,
                                 guint32 *out_value,
                                 GError **error)
{
  const struct
  {
    const char *rule;
    guint32 min, max;
    const char *what;
  } rules[] = {
    { "daily", COFFER_RETAIN_DAILY_MIN, COFFER_RETAIN_DAILY_MAX, "Retention of daily backups" },
    { "weekly", COFFER_RETAIN_WEEKLY_MIN, COFFER_RETAIN_WEEKLY_MAX, "Retention of weekly backups" },
    { "monthly", COFFER_RETAIN_MONTHLY_MIN, COFFER_RETAIN_MONTHLY_MAX,
      "Retention of monthly backups" },
    { "yearly", COFFER_RETAIN_YEARLY_MIN, COFFER_RETAIN_YEARLY_MAX, "Retention of yearly backups" },
  };
  guint64 value = 0;

  g_return_val_if_fail (rule != NULL, FALSE);
  g_return_val_if_fail (text != NULL, FALSE);

  for (gsize i = 0; i < G_N_ELEMENTS (rules); i++)
    {
      if (!g_str_equal (rule, rules[i].rule))
        continue;
      /* A number out of guint32 is out of range, as is anything but digits;
       * the message is the range's either way. */
      if (!g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT32, &value, NULL))
        value = rules[i].max + 1;
      if (!check_range (value, rules[i].min, rules[i].max, rules[i].what, error))
        return FALSE;
      *out_value = value;
      return TRUE;
    }
  g_return_val_if_reached (FALSE);
}

/**
 * coffer_schedule_check:
 * @self: a schedule
 * @error: return location for a #GError
 *
 * Checks every rule of the reference: one to three times a day on 30-minute
 * boundaries, at least one weekday for a weekly schedule, retention within
 * daily 7–9,999 days, weekly 4–5,163 weeks, monthly 3–1,188 months, yearly
 * 1–99 years, and at least one retention rule when backups are scheduled.
 *
 * Returns: %TRUE when the schedule may be saved; otherwise
 *   %COFFER_ERROR_INVALID_ARGUMENT naming the rule
 */
gboolean
coffer_schedule_check (const CofferSchedule *self, GError **error)
{
  g_return_val_if_fail (self != NULL, FALSE);

  if (self->n_times > COFFER_SCHEDULE_MAX_TIMES)
    {
      g_set_error_literal (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                           "Maximum allowed is three times a day.");
      return FALSE;
    }
  for (guint i = 0; i < self->n_times; i++)
    if (self->times[i] % 30 != 0 || self->times[i] >= 24 * 60)
      {
        g_set_error_literal (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                             "Backups can be scheduled on the hour or the half hour only.");
        return FALSE;
      }
  if (self->kind != COFFER_SCHEDULE_NONE && self->n_times == 0)
    {
      g_set_error_literal (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                           "Choose at least one time of day for scheduled backups.");
      return FALSE;
    }
  if (self->kind == COFFER_SCHEDULE_WEEKLY && (self->weekdays & 0x7f) == 0)
    {
      g_set_error_literal (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                           "Choose at least one day of the week for weekly backups.");
      return FALSE;
    }
  if (!check_range (self->retain_daily, COFFER_RETAIN_DAILY_MIN, COFFER_RETAIN_DAILY_MAX,
                    "Retention of daily backups", error) ||
      !check_range (self->retain_weekly, COFFER_RETAIN_WEEKLY_MIN, COFFER_RETAIN_WEEKLY_MAX,
                    "Retention of weekly backups", error) ||
      !check_range (self->retain_monthly, COFFER_RETAIN_MONTHLY_MIN, COFFER_RETAIN_MONTHLY_MAX,
                    "Retention of monthly backups", error) ||
      !check_range (self->retain_yearly, COFFER_RETAIN_YEARLY_MIN, COFFER_RETAIN_YEARLY_MAX,
                    "Retention of yearly backups", error))
    return FALSE;
  if (self->kind != COFFER_SCHEDULE_NONE && self->retain_daily == 0 && self->retain_weekly == 0 &&
      self->retain_monthly == 0 && self->retain_yearly == 0)
    {
      g_set_error_literal (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                           "Scheduled backups need a retention policy: keep daily, weekly, "
                           "monthly or yearly backups.");
      return FALSE;
    }
  return TRUE;
}

/* Whether the schedule runs on this local date. */
static gboolean
runs_on (const CofferSchedule *self, const GDate *date)
{
  if (self->kind == COFFER_SCHEDULE_DAILY)
    return TRUE;
  /* GDateWeekday: Monday is 1. */
  return (self->weekdays & (1u << (g_date_get_weekday (date) - 1))) != 0;
}

static gint64
run_instant (GTimeZone *tz, const GDate *date, guint16 minutes)
{
  g_autoptr (GDateTime) local =
      g_date_time_new (tz, g_date_get_year (date), g_date_get_month (date), g_date_get_day (date),
                       minutes / 60, minutes % 60, 0);

  return local != NULL ? g_date_time_to_unix (local) : 0;
}

static void
local_date (GTimeZone *tz, gint64 unix_seconds, GDate *out)
{
  g_autoptr (GDateTime) utc = g_date_time_new_from_unix_utc (unix_seconds);
  g_autoptr (GDateTime) local = g_date_time_to_timezone (utc, tz);

  g_date_clear (out, 1);
  g_date_set_dmy (out, g_date_time_get_day_of_month (local), g_date_time_get_month (local),
                  g_date_time_get_year (local));
}

/* The scheduled runs within a few days of @around: the earliest after
 * @after (when @next) or the latest at or before it. Every candidate is
 * looked at, because a DST gap can move one time past a later one. */
static gint64
search (const CofferSchedule *self, GTimeZone *tz, gint64 around, gboolean next)
{
  gint64 best = 0;
  GDate date;

  if (self->kind == COFFER_SCHEDULE_NONE || self->n_times == 0)
    return 0;
  local_date (tz, around, &date);
  if (next)
    g_date_subtract_days (&date, 1);
  else
    g_date_subtract_days (&date, SEARCH_DAYS - 2);
  for (guint d = 0; d < SEARCH_DAYS; d++, g_date_add_days (&date, 1))
    {
      if (!runs_on (self, &date))
        continue;
      for (guint t = 0; t < self->n_times; t++)
        {
          gint64 instant = run_instant (tz, &date, self->times[t]);

          if (instant == 0)
            continue;
          if (next && instant > around && (best == 0 || instant < best))
            best = instant;
          else if (!next && instant <= around && instant > best)
            best = instant;
        }
    }
  return best;
}

/**
 * coffer_schedule_next_run:
 * @self: a schedule
 * @tz: the local time zone
 * @after: Unix seconds
 *
 * Returns: the first scheduled run strictly after @after, Unix seconds; 0
 *   when nothing is scheduled (whether it is paused is the caller's to say)
 */
gint64
coffer_schedule_next_run (const CofferSchedule *self, GTimeZone *tz, gint64 after)
{
  g_return_val_if_fail (self != NULL && tz != NULL, 0);

  return search (self, tz, after, TRUE);
}

/**
 * coffer_schedule_last_due:
 * @self: a schedule
 * @tz: the local time zone
 * @now: Unix seconds
 *
 * Returns: the latest scheduled run at or before @now (within the last
 *   week), Unix seconds; 0 when there is none
 */
gint64
coffer_schedule_last_due (const CofferSchedule *self, GTimeZone *tz, gint64 now)
{
  g_return_val_if_fail (self != NULL && tz != NULL, 0);

  return search (self, tz, now, FALSE);
}
