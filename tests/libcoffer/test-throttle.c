/* test-throttle.c: the token bucket, the work-hour switch and the throttled
 * store, on an injected clock (a test's "sleep" moves the clock), and one
 * real-time case: a settings change reaches a waiting transfer at once. */
#include "config.h"

#include <string.h>

#include "coffer-test-util.h"
#include "coffer.h"

#define MBPS ((guint64) 1000 * 1000)

/* A clock that starts at a given local time and moves only when the
 * throttle sleeps; a hook can change the settings at a given moment. */
typedef struct
{
  GTimeZone *zone;
  gint64 start_unix; /* seconds */
  gint64 now;        /* µs since the start */
  CofferThrottle *throttle;
  gint64 change_at; /* µs; -1 for never */
  CofferThrottleSettings change_to;
  gint64 cancel_at; /* µs; -1 for never */
  GCancellable *cancellable;
} FakeClock;

static gint64
fake_monotonic (gpointer user_data)
{
  FakeClock *clock = user_data;
  return 1000000 + clock->now;
}

static GDateTime *
fake_now_local (gpointer user_data)
{
  FakeClock *clock = user_data;
  g_autoptr (GDateTime) start = g_date_time_new_from_unix_utc (clock->start_unix);
  g_autoptr (GDateTime) moved = g_date_time_add (start, clock->now);

  return g_date_time_to_timezone (moved, clock->zone);
}

static void
fake_sleep (gpointer user_data, gint64 usec)
{
  FakeClock *clock = user_data;

  g_assert_cmpint (usec, >, 0);
  g_assert_cmpint (usec, <=, G_USEC_PER_SEC / 10);
  clock->now += usec;
  if (clock->change_at >= 0 && clock->now >= clock->change_at)
    {
      clock->change_at = -1;
      coffer_throttle_set_settings (clock->throttle, &clock->change_to);
    }
  if (clock->cancel_at >= 0 && clock->now >= clock->cancel_at)
    {
      clock->cancel_at = -1;
      g_cancellable_cancel (clock->cancellable);
    }
}

/* A throttle on a fake clock starting at @local ("2026-11-23T16:59:50", a
 * Monday) at UTC+1. */
static CofferThrottle *
fake_throttle (FakeClock *clock, const char *local, const CofferThrottleSettings *settings)
{
  g_autoptr (GDateTime) start = NULL;
  CofferThrottleClock hooks = { fake_monotonic, fake_now_local, fake_sleep, clock };

  clock->zone = g_time_zone_new_identifier ("+01:00");
  g_assert_nonnull (clock->zone);
  start = g_date_time_new_from_iso8601 (local, clock->zone);
  g_assert_nonnull (start);
  clock->start_unix = g_date_time_to_unix (start);
  clock->now = 0;
  clock->change_at = -1;
  clock->cancel_at = -1;
  clock->throttle = coffer_throttle_new (settings);
  coffer_throttle_set_clock (clock->throttle, &hooks);
  return clock->throttle;
}

static void
fake_clock_clear (FakeClock *clock)
{
  g_clear_object (&clock->throttle);
  g_clear_pointer (&clock->zone, g_time_zone_unref);
}

static CofferThrottleSettings
limited (guint64 work_bps, guint64 non_work_bps)
{
  CofferThrottleSettings settings;

  coffer_throttle_settings_init_default (&settings);
  settings.enabled = TRUE;
  settings.work_bps = work_bps;
  settings.non_work_bps = non_work_bps;
  return settings;
}

/* Consumes in 64 KiB pieces until the fake clock reaches @until µs; returns
 * the bytes taken. */
static guint64
consume_until (FakeClock *clock, gint64 until)
{
  guint64 bytes = 0;

  while (clock->now < until)
    {
      g_assert_true (coffer_throttle_consume (clock->throttle, 65536, NULL, NULL));
      bytes += 65536;
    }
  return bytes;
}

static void
test_bucket_rate (void)
{
  FakeClock clock;
  CofferThrottleSettings settings = limited (4 * MBPS, 4 * MBPS);
  guint64 bytes;

  fake_throttle (&clock, "2026-11-23T10:00:00", &settings);
  /* 4 Mbps is 500,000 bytes a second: ten seconds take five million bytes. */
  bytes = consume_until (&clock, 10 * G_USEC_PER_SEC);
  g_assert_cmpuint (bytes, >=, 4950000);
  g_assert_cmpuint (bytes, <=, 5050000 + 65536);
  g_assert_cmpuint (coffer_throttle_get_bytes (clock.throttle), ==, bytes);
  fake_clock_clear (&clock);
}

static void
test_bucket_no_burst_after_idle (void)
{
  FakeClock clock;
  CofferThrottleSettings settings = limited (8 * MBPS, 8 * MBPS);
  guint64 bytes;

  fake_throttle (&clock, "2026-11-23T10:00:00", &settings);
  coffer_throttle_consume (clock.throttle, 1, NULL, NULL);
  /* A minute idle saves up at most a tenth of a second's worth. */
  clock.now += 60 * G_USEC_PER_SEC;
  bytes = consume_until (&clock, clock.now + G_USEC_PER_SEC);
  g_assert_cmpuint (bytes, <=, 1000000 + 100000 + 65536);
  g_assert_cmpuint (bytes, >=, 990000);
  fake_clock_clear (&clock);
}

static void
test_off_never_waits (void)
{
  FakeClock clock;
  CofferThrottleSettings settings = limited (512 * 1000, 512 * 1000);

  settings.enabled = FALSE;
  fake_throttle (&clock, "2026-11-23T10:00:00", &settings);
  for (int i = 0; i < 1000; i++)
    g_assert_true (coffer_throttle_consume (clock.throttle, 1024 * 1024, NULL, NULL));
  g_assert_cmpint (clock.now, ==, 0);
  g_assert_cmpuint (coffer_throttle_get_current_bps (clock.throttle), ==, 0);
  fake_clock_clear (&clock);
}

static void
test_switches_at_work_end (void)
{
  FakeClock clock;
  /* 8 Mbps (1 MB/s) in work hours, 1 Mbps (125 kB/s) after them. */
  CofferThrottleSettings settings = limited (8 * MBPS, 1 * MBPS);
  guint64 before, after;

  fake_throttle (&clock, "2026-11-23T16:59:50", &settings);
  g_assert_cmpuint (coffer_throttle_get_current_bps (clock.throttle), ==, 8 * MBPS);
  before = consume_until (&clock, 10 * G_USEC_PER_SEC);
  g_assert_cmpuint (coffer_throttle_get_current_bps (clock.throttle), ==, 1 * MBPS);
  after = consume_until (&clock, 20 * G_USEC_PER_SEC);
  g_assert_cmpuint (before, >=, 9900000);
  g_assert_cmpuint (before, <=, 10100000 + 65536);
  g_assert_cmpuint (after, >=, 1237500 - 65536);
  g_assert_cmpuint (after, <=, 1262500 + 65536);
  fake_clock_clear (&clock);
}

static void
test_switches_at_work_start (void)
{
  FakeClock clock;
  CofferThrottleSettings settings = limited (1 * MBPS, 8 * MBPS);
  guint64 before, after;

  settings.work_start = 8 * 60 + 30;
  fake_throttle (&clock, "2026-11-27T08:29:50", &settings); /* a Friday */
  before = consume_until (&clock, 10 * G_USEC_PER_SEC);
  after = consume_until (&clock, 20 * G_USEC_PER_SEC);
  g_assert_cmpuint (before, >=, 9900000);
  g_assert_cmpuint (after, <=, 1262500 + 65536);
  fake_clock_clear (&clock);
}

static void
test_weekend_is_non_work (void)
{
  FakeClock clock;
  CofferThrottleSettings settings = limited (1 * MBPS, 8 * MBPS);

  fake_throttle (&clock, "2026-11-28T11:00:00", &settings); /* a Saturday */
  g_assert_cmpuint (coffer_throttle_get_current_bps (clock.throttle), ==, 8 * MBPS);
  fake_clock_clear (&clock);

  settings.work_days = 0x7f;
  fake_throttle (&clock, "2026-11-28T11:00:00", &settings);
  g_assert_cmpuint (coffer_throttle_get_current_bps (clock.throttle), ==, 1 * MBPS);
  fake_clock_clear (&clock);
}

static void
test_change_reaches_waiter (void)
{
  FakeClock clock;
  CofferThrottleSettings settings = limited (4 * MBPS, 4 * MBPS);
  guint64 before, after;

  fake_throttle (&clock, "2026-11-23T10:00:00", &settings);
  clock.change_at = 5 * G_USEC_PER_SEC;
  clock.change_to = limited (16 * MBPS, 16 * MBPS);
  before = consume_until (&clock, 5 * G_USEC_PER_SEC);
  after = consume_until (&clock, 10 * G_USEC_PER_SEC);
  /* 2.5 MB at 4 Mbps, then 10 MB at 16 Mbps. */
  g_assert_cmpuint (before, <=, 2525000 + 65536);
  g_assert_cmpuint (after, >=, 9900000);
  g_assert_cmpuint (after, <=, 10100000 + 65536);
  fake_clock_clear (&clock);
}

typedef struct
{
  CofferThrottle *throttle;
  gint64 done_at;
} Waiter;

static gpointer
waiter_thread (gpointer user_data)
{
  Waiter *waiter = user_data;

  /* At 512 Kbps, 6.4 MB take 100 seconds. */
  g_assert_true (coffer_throttle_consume (waiter->throttle, 6400000, NULL, NULL));
  waiter->done_at = g_get_monotonic_time ();
  return NULL;
}

static void
test_change_reaches_waiter_real_time (void)
{
  CofferThrottleSettings settings = limited (512 * 1000, 512 * 1000);
  g_autoptr (CofferThrottle) throttle = NULL;
  Waiter waiter = { 0 };
  GThread *thread;
  gint64 changed;

  settings.work_days = 0x7f;
  settings.work_start = 0;
  settings.work_end = 24 * 60;
  throttle = coffer_throttle_new (&settings);
  waiter.throttle = throttle;
  coffer_throttle_consume (throttle, 1, NULL, NULL);
  thread = g_thread_new ("waiter", waiter_thread, &waiter);
  g_usleep (300 * 1000);
  g_assert_cmpint (waiter.done_at, ==, 0);
  settings.enabled = FALSE;
  changed = g_get_monotonic_time ();
  coffer_throttle_set_settings (throttle, &settings);
  g_thread_join (thread);
  g_assert_cmpint (waiter.done_at - changed, <, G_USEC_PER_SEC);
}

static void
test_cancel_while_waiting (void)
{
  CofferThrottleSettings settings = limited (512 * 1000, 512 * 1000);
  g_autoptr (CofferThrottle) throttle = coffer_throttle_new (&settings);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;
  gint64 start = g_get_monotonic_time ();

  g_cancellable_cancel (cancellable);
  g_assert_false (coffer_throttle_consume (throttle, 6400000, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (g_get_monotonic_time () - start, <, G_USEC_PER_SEC);
}

static void
test_parse (void)
{
  guint64 bps = 0;
  guint days = 0, minutes = 0;
  g_autofree char *rate = NULL;
  g_autofree char *day_list = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (coffer_throttle_parse_rate ("512Kbps", &bps, NULL));
  g_assert_cmpuint (bps, ==, 512000);
  g_assert_true (coffer_throttle_parse_rate ("20Mbps", &bps, NULL));
  g_assert_cmpuint (bps, ==, 20 * MBPS);
  g_assert_true (coffer_throttle_parse_rate ("1.5 mbps", &bps, NULL));
  g_assert_cmpuint (bps, ==, 1500000);
  g_assert_false (coffer_throttle_parse_rate ("20MB", &bps, &error));
  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (coffer_throttle_parse_rate ("-3Mbps", &bps, NULL));
  rate = coffer_throttle_format_rate (1023 * MBPS);
  g_assert_cmpstr (rate, ==, "1023 Mbps");

  g_assert_true (coffer_throttle_parse_days ("mon-fri", &days, NULL));
  g_assert_cmpuint (days, ==, 0x1f);
  g_assert_true (coffer_throttle_parse_days ("sat,mon-tue", &days, NULL));
  g_assert_cmpuint (days, ==, 0x23);
  g_assert_false (coffer_throttle_parse_days ("fri-mon", &days, NULL));
  g_assert_false (coffer_throttle_parse_days ("monday", &days, NULL));
  day_list = coffer_throttle_format_days (0x61);
  g_assert_cmpstr (day_list, ==, "mon,sat,sun");

  g_assert_true (coffer_throttle_parse_time ("09:30", &minutes, NULL));
  g_assert_cmpuint (minutes, ==, 570);
  g_assert_true (coffer_throttle_parse_time ("24:00", &minutes, NULL));
  g_assert_false (coffer_throttle_parse_time ("9:30", &minutes, NULL));
  g_assert_false (coffer_throttle_parse_time ("24:30", &minutes, NULL));
}

static void
test_check_names_the_rule (void)
{
  CofferThrottleSettings settings = limited (511 * 1000, 4 * MBPS);
  g_autoptr (GError) error = NULL;

  g_assert_false (coffer_throttle_settings_check (&settings, &error));
  g_assert_cmpstr (error->message, ==, "Bandwidth must be between 512 Kbps and 1023 Mbps.");
  g_clear_error (&error);
  settings = limited (4 * MBPS, 1024 * MBPS);
  g_assert_false (coffer_throttle_settings_check (&settings, &error));
  g_assert_cmpstr (error->message, ==, "Bandwidth must be between 512 Kbps and 1023 Mbps.");
  g_clear_error (&error);
  settings = limited (4 * MBPS, 4 * MBPS);
  settings.work_start = 17 * 60;
  settings.work_end = 9 * 60;
  g_assert_false (coffer_throttle_settings_check (&settings, &error));
  g_assert_nonnull (strstr (error->message, "must end after they start"));
}

static void
test_settings_round_trip (void)
{
  g_autofree char *state = g_build_filename (g_get_user_state_dir (), "coffer", NULL);
  g_autoptr (CofferCatalog) catalog = coffer_catalog_open (state, NULL);
  g_autoptr (GPtrArray) keys = g_ptr_array_new ();
  g_autoptr (GPtrArray) values = g_ptr_array_new_with_free_func (g_free);
  CofferThrottleSettings settings = limited (2 * MBPS, 300 * MBPS), loaded;

  g_assert_nonnull (catalog);
  g_assert_true (coffer_throttle_settings_load (catalog, &loaded, NULL));
  g_assert_false (loaded.enabled);
  g_assert_cmpuint (coffer_settings_get_concurrency (catalog), ==, 4);

  settings.work_days = 0x15;
  settings.work_start = 7 * 60 + 30;
  settings.work_end = 19 * 60;
  coffer_throttle_settings_to_catalog (&settings, keys, values);
  g_assert_true (coffer_catalog_set_settings (catalog, (const char *const *) keys->pdata,
                                              (const char *const *) values->pdata, keys->len,
                                              NULL));
  g_assert_true (coffer_throttle_settings_load (catalog, &loaded, NULL));
  g_assert_true (memcmp (&settings, &loaded, sizeof settings) == 0);
}

/* The throttled store: a put of 1 MB at 4 Mbps lands in the vault over two
 * seconds, in even pieces, and a get is throttled the same way. */
static void
test_throttled_store (void)
{
  g_autofree char *root = g_build_filename (g_get_user_data_dir (), "vault", NULL);
  g_autoptr (CofferStore) inner = NULL;
  g_autoptr (CofferStore) store = NULL;
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (GBytes) back = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree guint8 *data = g_malloc (1000000);
  FakeClock clock;
  CofferThrottleSettings settings = limited (4 * MBPS, 4 * MBPS);

  g_assert_cmpint (g_mkdir_with_parents (root, 0700), ==, 0);
  inner = coffer_local_store_new (root);
  fake_throttle (&clock, "2026-11-23T10:00:00", &settings);
  store = coffer_throttled_store_new (inner, clock.throttle);
  memset (data, 'x', 1000000);
  bytes = g_bytes_new (data, 1000000);

  g_assert_true (
      coffer_store_put_sync (store, "a/b", bytes, COFFER_PUT_ALWAYS, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (clock.now, >=, 1.9 * G_USEC_PER_SEC);
  g_assert_cmpint (clock.now, <=, 2.1 * G_USEC_PER_SEC);
  g_assert_cmpuint (coffer_throttle_get_bytes (clock.throttle), ==, 1000000);

  back = coffer_store_get_sync (store, "a/b", 0, -1, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (back, bytes));
  g_assert_cmpint (clock.now, >=, 3.9 * G_USEC_PER_SEC);
  g_assert_cmpuint (coffer_throttle_get_bytes (clock.throttle), ==, 2000000);

  /* Listings and stats go through unthrottled. */
  g_assert_cmpuint (coffer_throttle_get_bytes (clock.throttle), ==, 2000000);
  coffer_store_entry_free (coffer_store_stat_sync (store, "a/b", NULL, NULL));
  fake_clock_clear (&clock);
}

/* A put cancelled half-way pays for what it sent, not for the whole object:
 * the next transfer (a cancelled backup still writes its index) does not
 * wait for bytes that never left. */
static void
test_cancelled_put_leaves_no_debt (void)
{
  g_autofree char *root = g_build_filename (g_get_user_data_dir (), "vault", NULL);
  g_autoptr (CofferStore) inner = NULL;
  g_autoptr (CofferStore) store = NULL;
  g_autoptr (GBytes) big = NULL;
  g_autoptr (GBytes) small = NULL;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;
  g_autofree guint8 *data = g_malloc0 (1000000);
  FakeClock clock;
  CofferThrottleSettings settings = limited (4 * MBPS, 4 * MBPS);
  gint64 cancelled_at;

  g_assert_cmpint (g_mkdir_with_parents (root, 0700), ==, 0);
  inner = coffer_local_store_new (root);
  fake_throttle (&clock, "2026-11-23T10:00:00", &settings);
  store = coffer_throttled_store_new (inner, clock.throttle);
  big = g_bytes_new (data, 1000000);
  small = g_bytes_new (data, 1000);

  /* 1 MB at 4 Mbps takes two seconds; it is cancelled after half a second. */
  clock.cancellable = cancellable;
  clock.cancel_at = G_USEC_PER_SEC / 2;
  g_assert_false (coffer_store_put_sync (store, "a/big", big, COFFER_PUT_ALWAYS, NULL, NULL,
                                         cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  cancelled_at = clock.now;
  g_assert_cmpint (cancelled_at, <, 0.7 * G_USEC_PER_SEC);
  g_assert_cmpuint (coffer_throttle_get_bytes (clock.throttle), <, 400000);
  g_clear_error (&error);

  g_assert_true (
      coffer_store_put_sync (store, "a/small", small, COFFER_PUT_ALWAYS, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (clock.now - cancelled_at, <, G_USEC_PER_SEC / 5);
  fake_clock_clear (&clock);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/libcoffer/throttle/bucket-holds-the-rate", test_bucket_rate);
  g_test_add_func ("/libcoffer/throttle/no-burst-after-idle", test_bucket_no_burst_after_idle);
  g_test_add_func ("/libcoffer/throttle/off-never-waits", test_off_never_waits);
  g_test_add_func ("/libcoffer/throttle/switches-at-work-end", test_switches_at_work_end);
  g_test_add_func ("/libcoffer/throttle/switches-at-work-start", test_switches_at_work_start);
  g_test_add_func ("/libcoffer/throttle/weekend-is-non-work", test_weekend_is_non_work);
  g_test_add_func ("/libcoffer/throttle/change-reaches-waiter", test_change_reaches_waiter);
  g_test_add_func ("/libcoffer/throttle/change-reaches-waiter-real-time",
                   test_change_reaches_waiter_real_time);
  g_test_add_func ("/libcoffer/throttle/cancel-while-waiting", test_cancel_while_waiting);
  g_test_add_func ("/libcoffer/throttle/parse", test_parse);
  g_test_add_func ("/libcoffer/throttle/check-names-the-rule", test_check_names_the_rule);
  g_test_add_func ("/libcoffer/throttle/settings-round-trip", test_settings_round_trip);
  g_test_add_func ("/libcoffer/throttle/throttled-store", test_throttled_store);
  g_test_add_func ("/libcoffer/throttle/cancelled-put-leaves-no-debt",
                   test_cancelled_put_leaves_no_debt);
  return g_test_run ();
}
