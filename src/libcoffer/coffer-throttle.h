/* coffer-throttle.h: bandwidth throttling of every byte moved to or from the vault.
 *
 * One CofferThrottle is shared by everything that moves bytes for the agent
 * (a throttled store wraps the vault's store, coffer-throttled-store.h), so
 * a change of settings reaches a running job. Its settings live in the
 * catalog (coffer-settings.h).
 */
#pragma once

#include <gio/gio.h>

#include "coffer-catalog.h"

G_BEGIN_DECLS

/* The reference's limits, in bits a second (K = 1000, M = 1,000,000). */
#define COFFER_THROTTLE_MIN_BPS ((guint64) 512 * 1000)
#define COFFER_THROTTLE_MAX_BPS ((guint64) 1023 * 1000 * 1000)

/**
 * CofferThrottleSettings:
 * @enabled: whether to throttle at all
 * @work_days: a bit per work day: bit 0 is Monday … bit 6 Sunday
 * @work_start: when work hours start, minutes after local midnight
 * @work_end: when they end (after @work_start); all other time is
 *   non-work hours
 * @work_bps: the limit in work hours, bits a second
 * @non_work_bps: the limit at other times, bits a second
 */
typedef struct
{
  gboolean enabled;
  guint work_days;
  guint work_start;
  guint work_end;
  guint64 work_bps;
  guint64 non_work_bps;
} CofferThrottleSettings;

void coffer_throttle_settings_init_default (CofferThrottleSettings *settings);
gboolean coffer_throttle_settings_check (const CofferThrottleSettings *settings, GError **error);
gboolean coffer_throttle_settings_load (CofferCatalog *catalog,
                                        CofferThrottleSettings *settings,
                                        GError **error);
void coffer_throttle_settings_to_catalog (const CofferThrottleSettings *settings,
                                          GPtrArray *keys,
                                          GPtrArray *values);

gboolean coffer_throttle_parse_days (const char *text, guint *out_days, GError **error);
char *coffer_throttle_format_days (guint days);
gboolean coffer_throttle_parse_time (const char *text, guint *out_minutes, GError **error);
char *coffer_throttle_format_time (guint minutes);
gboolean coffer_throttle_parse_rate (const char *text, guint64 *out_bps, GError **error);
char *coffer_throttle_format_rate (guint64 bps);

/**
 * CofferThrottleClock:
 * @monotonic: microseconds on a clock that never jumps
 * @now_local: the local date and time now
 * @sleep: (nullable): waits @usec microseconds; %NULL waits for real (and a
 *   settings change or a cancellation ends the wait early)
 * @user_data: passed to each
 *
 * Where a throttle reads the time; tests inject their own.
 */
typedef struct
{
  gint64 (*monotonic) (gpointer user_data);
  GDateTime *(*now_local) (gpointer user_data);
  void (*sleep) (gpointer user_data, gint64 usec);
  gpointer user_data;
} CofferThrottleClock;

#define COFFER_TYPE_THROTTLE (coffer_throttle_get_type ())
G_DECLARE_FINAL_TYPE (CofferThrottle, coffer_throttle, COFFER, THROTTLE, GObject)

CofferThrottle *coffer_throttle_new (const CofferThrottleSettings *settings);
void coffer_throttle_set_clock (CofferThrottle *self, const CofferThrottleClock *clock);
void coffer_throttle_set_settings (CofferThrottle *self, const CofferThrottleSettings *settings);
void coffer_throttle_get_settings (CofferThrottle *self, CofferThrottleSettings *out_settings);
guint64 coffer_throttle_get_current_bps (CofferThrottle *self);
gboolean coffer_throttle_consume (CofferThrottle *self,
                                  gsize bytes,
                                  GCancellable *cancellable,
                                  GError **error);
gsize coffer_throttle_get_piece_size (CofferThrottle *self);
guint64 coffer_throttle_get_bytes (CofferThrottle *self);

G_END_DECLS
