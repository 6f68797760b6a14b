/* coffer-throttle.c: a token bucket over the bytes moved to or from the vault.
 *
 * The bucket fills at the limit in force now — the work-hours limit on a work
 * day between work start and work end (local time), the non-work-hours limit
 * at every other time — and holds at most a tenth of a second's worth, so
 * the rate cannot burst above the limit. Consuming takes the bytes at once,
 * going into debt, and waits until the debt is paid: several threads sharing
 * one throttle then share its rate, and no byte is ever taken twice or
 * forgotten. A waiter wakes at least every 100 ms and on every settings
 * change, and recomputes the limit each time, so a job switches at the
 * boundary of work hours and follows a change of settings at once.
 */
#include "config.h"

#include "coffer-throttle.h"

#include "coffer-error.h"
#include "coffer-settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How long the bucket can save up, and the longest single wait. */
#define BURST_USEC (G_USEC_PER_SEC / 10)
#define MAX_WAIT_USEC (G_USEC_PER_SEC / 10)

struct _CofferThrottle
{
  GObject parent_instance;

  GMutex lock;
  GCond changed;
  CofferThrottleSettings settings;
  CofferThrottleClock clock;
  double tokens;   /* bytes; negative is a debt */
  gint64 refilled; /* monotonic µs of the last refill; 0 for never */
  guint64 bytes;   /* every byte consumed, for the record */
};

G_DEFINE_FINAL_TYPE (CofferThrottle, coffer_throttle, G_TYPE_OBJECT)

static const char *const day_names[] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };

/**
 * coffer_throttle_settings_init_default:
 * @settings: settings to fill in
 *
 * Throttling off; when turned on: Monday to Friday, 09:00 to 17:00, 512 Kbps
 * in work hours and 1023 Mbps outside them.
 */
void
coffer_throttle_settings_init_default (CofferThrottleSettings *settings)
{
  settings->enabled = FALSE;
  settings->work_days = 0x1f;
  settings->work_start = 9 * 60;
  settings->work_end = 17 * 60;
  settings->work_bps = COFFER_THROTTLE_MIN_BPS;
  settings->non_work_bps = COFFER_THROTTLE_MAX_BPS;
}

/**
 * coffer_throttle_settings_check:
 * @settings: proposed settings
 * @error: return location for a #GError
 *
 * Checks every value, whether throttling is on or off, with a message naming
 * the rule that was broken.
 */
gboolean
coffer_throttle_settings_check (const CofferThrottleSettings *settings, GError **error)
{
  if (settings->work_bps < COFFER_THROTTLE_MIN_BPS ||
      settings->work_bps > COFFER_THROTTLE_MAX_BPS ||
      settings->non_work_bps < COFFER_THROTTLE_MIN_BPS ||
      settings->non_work_bps > COFFER_THROTTLE_MAX_BPS)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "Bandwidth must be between 512 Kbps and 1023 Mbps.");
      return FALSE;
    }
  if (settings->work_days > 0x7f)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "Work days are mon, tue, wed, thu, fri, sat and sun.");
      return FALSE;
    }
  if (settings->work_start >= 24 * 60 || settings->work_end > 24 * 60)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "Work hours are times of day, from 00:00 to 24:00.");
      return FALSE;
    }
  if (settings->work_end <= settings->work_start)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "Work hours must end after they start, on the same day.");
      return FALSE;
    }
  return TRUE;
}

/**
 * coffer_throttle_parse_days:
 * @text: days as "mon-fri", "mon,wed,fri", "sat-sun" or "none"
 * @out_days: (out): a bit per day, bit 0 Monday
 * @error: return location for a #GError
 */
gboolean
coffer_throttle_parse_days (const char *text, guint *out_days, GError **error)
{
  g_auto (GStrv) parts = NULL;
  guint days = 0;

  if (g_ascii_strcasecmp (text, "none") == 0)
    {
      *out_days = 0;
      return TRUE;
    }
  parts = g_strsplit (text, ",", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      g_auto (GStrv) range = g_strsplit (g_strstrip (parts[i]), "-", 2);
      int first = -1, last = -1;

      for (int d = 0; d < 7; d++)
        {
          if (range[0] != NULL && g_ascii_strcasecmp (range[0], day_names[d]) == 0)
            first = d;
          if (range[0] != NULL && range[1] != NULL &&
              g_ascii_strcasecmp (range[1], day_names[d]) == 0)
            last = d;
        }
      if (range[1] == NULL)
        last = first;
      if (first < 0 || last < first)
        {
          g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                       "Work days are mon, tue, wed, thu, fri, sat and sun, as a list (mon,wed) "
                       "or a range (mon-fri), not “%s”.",
                       text);
          return FALSE;
        }
      for (int d = first; d <= last; d++)
        days |= 1u << d;
    }
  *out_days = days;
  return TRUE;
}

/**
 * coffer_throttle_format_days:
 * @days: a bit per day, bit 0 Monday
 *
 * Returns: (transfer full): the days as a list: "mon,tue,wed,thu,fri", or
 *   "none"
 */
char *
coffer_throttle_format_days (guint days)
{
  GString *text = g_string_new (NULL);

  for (int d = 0; d < 7; d++)
    if (days & (1u << d))
      g_string_append_printf (text, "%s%s", text->len > 0 ? "," : "", day_names[d]);
  if (text->len == 0)
    g_string_append (text, "none");
  return g_string_free (text, FALSE);
}

/**
 * coffer_throttle_parse_time:
 * @text: "HH:MM", 00:00 to 24:00
 * @out_minutes: (out): minutes after midnight
 * @error: return location for a #GError
 */
gboolean
coffer_throttle_parse_time (const char *text, guint *out_minutes, GError **error)
{
  guint hours, minutes;
  int consumed = 0;

  if (strlen (text) == 5 && g_ascii_isdigit (text[0]) && g_ascii_isdigit (text[1]) &&
      text[2] == ':' && g_ascii_isdigit (text[3]) && g_ascii_isdigit (text[4]) &&
      sscanf (text, "%2u:%2u%n", &hours, &minutes, &consumed) == 2 && consumed == 5 &&
      minutes < 60 && (hours < 24 || (hours == 24 && minutes == 0)))
    {
      *out_minutes = hours * 60 + minutes;
      return TRUE;
    }
  g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
               "Work hours are times of day as HH:MM, from 00:00 to 24:00, not “%s”.", text);
  return FALSE;
}

/**
 * coffer_throttle_format_time:
 * @minutes: minutes after midnight
 *
 * Returns: (transfer full): "HH:MM"
 */
char *
coffer_throttle_format_time (guint minutes)
{
  return g_strdup_printf ("%02u:%02u", minutes / 60, minutes % 60);
}

/**
 * coffer_throttle_parse_rate:
 * @text: a rate such as "512Kbps", "20Mbps" or "1.5 Mbps" (K = 1000)
 * @out_bps: (out): bits a second
 * @error: return location for a #GError
 *
 * Parses a rate; its range is checked by coffer_throttle_settings_check().
 */
gboolean
coffer_throttle_parse_rate (const char *text, guint64 *out_bps, GError **error)
{
  static const struct
  {
    const char *unit;
    double factor;
  } units[] = { { "kbps", 1e3 }, { "mbps", 1e6 }, { "gbps", 1e9 }, { "bps", 1 } };
  g_autofree char *copy = g_strstrip (g_strdup (text));
  char *end = NULL;
  double value;

  value = g_ascii_strtod (copy, &end);
  if (end != copy && value > 0 && value < 1e15)
    {
      while (*end == ' ')
        end++;
      for (gsize i = 0; i < G_N_ELEMENTS (units); i++)
        if (g_ascii_strcasecmp (end, units[i].unit) == 0 && value * units[i].factor < 1e15)
          {
            *out_bps = (guint64) (value * units[i].factor + 0.5);
            return TRUE;
          }
    }
  g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
               "A bandwidth is a number with Kbps or Mbps, such as 512Kbps or 20Mbps, not “%s”.",
               text);
  return FALSE;
}

/**
 * coffer_throttle_format_rate:
 * @bps: bits a second
 *
 * Returns: (transfer full): "20 Mbps", "512 Kbps", or "1500 bps"
 */
char *
coffer_throttle_format_rate (guint64 bps)
{
  if (bps >= 1000000 && bps % 1000000 == 0)
    return g_strdup_printf ("%" G_GUINT64_FORMAT " Mbps", bps / 1000000);
  if (bps >= 1000 && bps % 1000 == 0)
    return g_strdup_printf ("%" G_GUINT64_FORMAT " Kbps", bps / 1000);
  return g_strdup_printf ("%" G_GUINT64_FORMAT " bps", bps);
}

static gboolean
read_setting (CofferCatalog *catalog, const char *key, char **out_value, GError **error)
{
  g_autoptr (GError) local_error = NULL;

  *out_value = coffer_catalog_get_setting (catalog, key, &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  return TRUE;
}

static gboolean
corrupt (const char *key, GError **error)
{
  g_set_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT,
               "The catalog's throttling setting “%s” is damaged; set throttling again.", key);
  return FALSE;
}

/**
 * coffer_throttle_settings_load:
 * @catalog: the agent's catalog
 * @settings: (out caller-allocates): the settings; the defaults for what was
 *   never set
 * @error: return location for a #GError
 */
gboolean
coffer_throttle_settings_load (CofferCatalog *catalog,
                               CofferThrottleSettings *settings,
                               GError **error)
{
  g_autofree char *enabled = NULL, *days = NULL, *start = NULL, *end = NULL;
  g_autofree char *work = NULL, *non_work = NULL;

  coffer_throttle_settings_init_default (settings);
  if (!read_setting (catalog, COFFER_SETTING_THROTTLE, &enabled, error) ||
      !read_setting (catalog, COFFER_SETTING_THROTTLE_WORK_DAYS, &days, error) ||
      !read_setting (catalog, COFFER_SETTING_THROTTLE_WORK_START, &start, error) ||
      !read_setting (catalog, COFFER_SETTING_THROTTLE_WORK_END, &end, error) ||
      !read_setting (catalog, COFFER_SETTING_THROTTLE_WORK_BPS, &work, error) ||
      !read_setting (catalog, COFFER_SETTING_THROTTLE_NON_WORK_BPS, &non_work, error))
    return FALSE;

  if (enabled != NULL)
    settings->enabled = g_str_equal (enabled, "on");
  if (days != NULL && !coffer_throttle_parse_days (days, &settings->work_days, NULL))
    return corrupt (COFFER_SETTING_THROTTLE_WORK_DAYS, error);
  if (start != NULL && !coffer_throttle_parse_time (start, &settings->work_start, NULL))
    return corrupt (COFFER_SETTING_THROTTLE_WORK_START, error);
  if (end != NULL && !coffer_throttle_parse_time (end, &settings->work_end, NULL))
    return corrupt (COFFER_SETTING_THROTTLE_WORK_END, error);
  if (work != NULL &&
      !g_ascii_string_to_unsigned (work, 10, 1, G_MAXUINT64, &settings->work_bps, NULL))
    return corrupt (COFFER_SETTING_THROTTLE_WORK_BPS, error);
  if (non_work != NULL &&
      !g_ascii_string_to_unsigned (non_work, 10, 1, G_MAXUINT64, &settings->non_work_bps, NULL))
    return corrupt (COFFER_SETTING_THROTTLE_NON_WORK_BPS, error);
  if (!coffer_throttle_settings_check (settings, NULL))
    return corrupt (COFFER_SETTING_THROTTLE, error);
  return TRUE;
}

/**
 * coffer_throttle_settings_to_catalog:
 * @settings: checked settings
 * @keys: (element-type utf8): where to add the settings' names (static strings)
 * @values: (element-type utf8): where to add their values (owned by @values)
 *
 * Adds every throttling setting to @keys and @values, for
 * coffer_catalog_set_settings().
 */
void
coffer_throttle_settings_to_catalog (const CofferThrottleSettings *settings,
                                     GPtrArray *keys,
                                     GPtrArray *values)
{
  g_ptr_array_add (keys, (gpointer) COFFER_SETTING_THROTTLE);
  g_ptr_array_add (values, g_strdup (settings->enabled ? "on" : "off"));
  g_ptr_array_add (keys, (gpointer) COFFER_SETTING_THROTTLE_WORK_DAYS);
  g_ptr_array_add (values, coffer_throttle_format_days (settings->work_days));
  g_ptr_array_add (keys, (gpointer) COFFER_SETTING_THROTTLE_WORK_START);
  g_ptr_array_add (values, coffer_throttle_format_time (settings->work_start));
  g_ptr_array_add (keys, (gpointer) COFFER_SETTING_THROTTLE_WORK_END);
  g_ptr_array_add (values, coffer_throttle_format_time (settings->work_end));
  g_ptr_array_add (keys, (gpointer) COFFER_SETTING_THROTTLE_WORK_BPS);
  g_ptr_array_add (values, g_strdup_printf ("%" G_GUINT64_FORMAT, settings->work_bps));
  g_ptr_array_add (keys, (gpointer) COFFER_SETTING_THROTTLE_NON_WORK_BPS);
  g_ptr_array_add (values, g_strdup_printf ("%" G_GUINT64_FORMAT, settings->non_work_bps));
}

static gint64
real_monotonic (gpointer user_data)
{
  return g_get_monotonic_time ();
}

/* The local time zone, read afresh at most once a minute, so a change of
 * /etc/localtime (or travel) is followed; g_time_zone_new_local() would keep
 * its first answer for the life of the agent. */
static GMutex zone_lock;
static GTimeZone *zone;
static gint64 zone_read;

static GDateTime *
real_now_local (gpointer user_data)
{
  gint64 now = g_get_monotonic_time ();
  GTimeZone *current;
  GDateTime *local;

  g_mutex_lock (&zone_lock);
  if (zone == NULL || now - zone_read >= 60 * G_USEC_PER_SEC)
    {
      const char *tz = g_getenv ("TZ");
      GTimeZone *fresh = tz != NULL && *tz != '\0' ? g_time_zone_new_identifier (tz) : NULL;

      if (fresh == NULL)
        fresh = g_time_zone_new_identifier (NULL);
      if (fresh == NULL)
        fresh = g_time_zone_new_local ();
      g_clear_pointer (&zone, g_time_zone_unref);
      zone = fresh;
      zone_read = now;
    }
  current = g_time_zone_ref (zone);
  g_mutex_unlock (&zone_lock);
  local = g_date_time_new_now (current);
  g_time_zone_unref (current);
  return local;
}

static void
coffer_throttle_finalize (GObject *object)
{
  CofferThrottle *self = COFFER_THROTTLE (object);

  g_mutex_clear (&self->lock);
  g_cond_clear (&self->changed);

  G_OBJECT_CLASS (coffer_throttle_parent_class)->finalize (object);
}

static void
coffer_throttle_class_init (CofferThrottleClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = coffer_throttle_finalize;
}

static void
coffer_throttle_init (CofferThrottle *self)
{
  g_mutex_init (&self->lock);
  g_cond_init (&self->changed);
  coffer_throttle_settings_init_default (&self->settings);
  self->clock.monotonic = real_monotonic;
  self->clock.now_local = real_now_local;
}

/**
 * coffer_throttle_new:
 * @settings: (nullable): the settings; %NULL for the defaults (off)
 *
 * Returns: (transfer full): a throttle
 */
CofferThrottle *
coffer_throttle_new (const CofferThrottleSettings *settings)
{
  CofferThrottle *self = g_object_new (COFFER_TYPE_THROTTLE, NULL);

  if (settings != NULL)
    self->settings = *settings;
  return self;
}

/**
 * coffer_throttle_set_clock:
 * @self: a #CofferThrottle
 * @clock: where to read the time, and how to wait
 *
 * For tests: replaces the real clock. Set it before the throttle is used.
 */
void
coffer_throttle_set_clock (CofferThrottle *self, const CofferThrottleClock *clock)
{
  g_return_if_fail (COFFER_IS_THROTTLE (self));
  g_return_if_fail (clock != NULL && clock->monotonic != NULL && clock->now_local != NULL);

  g_mutex_lock (&self->lock);
  self->clock = *clock;
  self->refilled = 0;
  g_mutex_unlock (&self->lock);
}

/**
 * coffer_throttle_set_settings:
 * @self: a #CofferThrottle
 * @settings: checked settings
 *
 * Changes the settings; every waiting transfer follows them at once.
 */
void
coffer_throttle_set_settings (CofferThrottle *self, const CofferThrottleSettings *settings)
{
  g_return_if_fail (COFFER_IS_THROTTLE (self));

  g_mutex_lock (&self->lock);
  self->settings = *settings;
  g_cond_broadcast (&self->changed);
  g_mutex_unlock (&self->lock);
}

void
coffer_throttle_get_settings (CofferThrottle *self, CofferThrottleSettings *out_settings)
{
  g_return_if_fail (COFFER_IS_THROTTLE (self));

  g_mutex_lock (&self->lock);
  *out_settings = self->settings;
  g_mutex_unlock (&self->lock);
}

/* The limit in force now, bytes a second; 0 when there is none. */
static double
current_rate_locked (CofferThrottle *self)
{
  g_autoptr (GDateTime) now = NULL;
  const CofferThrottleSettings *settings = &self->settings;
  guint minute;
  int day;

  if (!settings->enabled)
    return 0;
  now = self->clock.now_local (self->clock.user_data);
  day = g_date_time_get_day_of_week (now) - 1;
  minute = g_date_time_get_hour (now) * 60 + g_date_time_get_minute (now);
  if ((settings->work_days & (1u << day)) != 0 && minute >= settings->work_start &&
      minute < settings->work_end)
    return settings->work_bps / 8.0;
  return settings->non_work_bps / 8.0;
}

/**
 * coffer_throttle_get_current_bps:
 * @self: a #CofferThrottle
 *
 * Returns: the limit in force now, bits a second; 0 when throttling is off
 */
guint64
coffer_throttle_get_current_bps (CofferThrottle *self)
{
  double rate;

  g_return_val_if_fail (COFFER_IS_THROTTLE (self), 0);

  g_mutex_lock (&self->lock);
  rate = current_rate_locked (self);
  g_mutex_unlock (&self->lock);
  return (guint64) (rate * 8);
}

/* Adds what the bucket earned since the last refill, at today's rate;
 * returns that rate. */
static double
refill_locked (CofferThrottle *self)
{
  double rate = current_rate_locked (self);
  gint64 now = self->clock.monotonic (self->clock.user_data);

  if (rate == 0)
    self->tokens = 0;
  else if (self->refilled != 0 && now > self->refilled)
    self->tokens = MIN (rate * BURST_USEC / G_USEC_PER_SEC,
                        self->tokens + rate * (now - self->refilled) / G_USEC_PER_SEC);
  self->refilled = now;
  return rate;
}

/**
 * coffer_throttle_consume:
 * @self: a #CofferThrottle
 * @bytes: how many bytes are about to move (or just moved)
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Takes @bytes from the bucket and waits until the limit in force allows
 * them. Returns at once when throttling is off. Blocks: call from a worker
 * thread.
 *
 * Returns: %FALSE only when @cancellable was cancelled while waiting
 */
gboolean
coffer_throttle_consume (CofferThrottle *self,
                         gsize bytes,
                         GCancellable *cancellable,
                         GError **error)
{
  gboolean ok = TRUE;

  g_return_val_if_fail (COFFER_IS_THROTTLE (self), FALSE);

  g_mutex_lock (&self->lock);
  self->bytes += bytes;
  if (refill_locked (self) > 0)
    self->tokens -= bytes;
  for (;;)
    {
      double rate = refill_locked (self);
      gint64 wait;

      if (rate == 0 || self->tokens >= 0)
        break;
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        {
          ok = FALSE;
          break;
        }
      wait = MIN (MAX_WAIT_USEC, (gint64) (-self->tokens * G_USEC_PER_SEC / rate) + 1);
      if (self->clock.sleep != NULL)
        {
          CofferThrottleClock clock = self->clock;

          g_mutex_unlock (&self->lock);
          clock.sleep (clock.user_data, MAX (wait, 1));
          g_mutex_lock (&self->lock);
        }
      else
        g_cond_wait_until (&self->changed, &self->lock, g_get_monotonic_time () + MAX (wait, 1));
    }
  g_mutex_unlock (&self->lock);
  return ok;
}

/**
 * coffer_throttle_get_piece_size:
 * @self: a #CofferThrottle
 *
 * Returns: how many bytes a store should move between two calls of
 *   coffer_throttle_consume() so that the bytes flow evenly: about a
 *   sixteenth of a second's worth, 4 KiB to 1 MiB
 */
gsize
coffer_throttle_get_piece_size (CofferThrottle *self)
{
  double rate;

  g_return_val_if_fail (COFFER_IS_THROTTLE (self), 1024 * 1024);

  g_mutex_lock (&self->lock);
  rate = current_rate_locked (self);
  g_mutex_unlock (&self->lock);
  if (rate == 0)
    return 1024 * 1024;
  return CLAMP ((gsize) (rate / 16), 4096, 1024 * 1024);
}

/**
 * coffer_throttle_get_bytes:
 * @self: a #CofferThrottle
 *
 * Returns: how many bytes passed through the throttle
 */
guint64
coffer_throttle_get_bytes (CofferThrottle *self)
{
  guint64 bytes;

  g_return_val_if_fail (COFFER_IS_THROTTLE (self), 0);

  g_mutex_lock (&self->lock);
  bytes = self->bytes;
  g_mutex_unlock (&self->lock);
  return bytes;
}
