/* coffer-schedule.h: when scheduled backups run, and how long their points are kept. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The reference's limits. */
#define COFFER_SCHEDULE_MAX_TIMES 3
#define COFFER_RETAIN_DAILY_MIN 7
#define COFFER_RETAIN_DAILY_MAX 9999
#define COFFER_RETAIN_WEEKLY_MIN 4
#define COFFER_RETAIN_WEEKLY_MAX 5163
#define COFFER_RETAIN_MONTHLY_MIN 3
#define COFFER_RETAIN_MONTHLY_MAX 1188
#define COFFER_RETAIN_YEARLY_MIN 1
#define COFFER_RETAIN_YEARLY_MAX 99

typedef enum
{
  COFFER_SCHEDULE_NONE,
  COFFER_SCHEDULE_DAILY,
  COFFER_SCHEDULE_WEEKLY,
} CofferScheduleKind;

/**
 * CofferSchedule:
 * @kind: none, daily or weekly
 * @n_times: how many times a day (0 to 3)
 * @times: minutes after local midnight, sorted, each a multiple of 30
 * @weekdays: for weekly: bit 0 Monday … bit 6 Sunday
 * @retain_daily: days to keep the newest scheduled point of each day (0: off)
 * @retain_weekly: weeks, for each week's newest (0: off)
 * @retain_monthly: months, for each month's newest (0: off)
 * @retain_yearly: years, for each year's newest (0: off)
 * @paused: scheduled backups do not run; everything stays
 *
 * The schedule and retention of this machine's policy.
 */
typedef struct
{
  CofferScheduleKind kind;
  guint n_times;
  guint16 times[COFFER_SCHEDULE_MAX_TIMES];
  guint8 weekdays;
  guint32 retain_daily;
  guint32 retain_weekly;
  guint32 retain_monthly;
  guint32 retain_yearly;
  gboolean paused;
} CofferSchedule;

void coffer_schedule_init_default (CofferSchedule *schedule);
const char *coffer_schedule_kind_to_string (CofferScheduleKind kind);
gboolean coffer_schedule_kind_from_string (const char *text, CofferScheduleKind *out_kind);
gboolean coffer_schedule_parse_time (const char *text, guint16 *out_minutes, GError **error);
char *coffer_schedule_format_time (guint16 minutes);
gboolean coffer_schedule_parse_weekday (const char *text, guint *out_index, GError **error);
const char *coffer_schedule_weekday_name (guint index);
gboolean coffer_schedule_set_times (CofferSchedule *self, const char *const *times, GError **error);
gboolean
coffer_schedule_set_weekdays (CofferSchedule *self, const char *const *weekdays, GError **error);
gboolean coffer_schedule_parse_retention (const char *rule,
                                          const char *text,
                                          guint32 *out_value,
                                          GError **error);
gboolean coffer_schedule_check (const CofferSchedule *self, GError **error);

gint64 coffer_schedule_next_run (const CofferSchedule *self, GTimeZone *tz, gint64 after);
gint64 coffer_schedule_last_due (const CofferSchedule *self, GTimeZone *tz, gint64 now);

G_END_DECLS
