/* test-prune.c: prune deletes the points retention does not keep and the
 * packs only they needed; what is kept still checks clean and restores the
 * same bytes. */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "coffer-test-util.h"

#include "coffer.h"

#define MACHINE "0123456789abcdef0123456789abcdef"

typedef CofferTestVault Fixture;

/* Backs up the source and files the point again as a scheduled (or Back Up
 * Now) point made at @time. */
static CofferSnapshot *
back_up_at (Fixture *fixture, gint64 time, gboolean on_demand, gint64 retain_until)
{
  g_autoptr (CofferPolicy) policy = coffer_policy_load (fixture->catalog, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (CofferBackupResult) result = NULL;
  g_autofree char *name = NULL;
  const char *skip[] = { fixture->vault_dir, fixture->cache_dir, NULL };
  CofferBackupOptions options = {
    .vault = fixture->vault,
    .machine_id = MACHINE,
    .keys = fixture->keys,
    .policy = policy,
    .cache_dir = fixture->cache_dir,
    .skip_paths = skip,
    .workers = 2,
  };
  CofferSnapshot *snapshot;

  result = coffer_backup_run (&options, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (result->failed->len, ==, 0);
  snapshot = g_steal_pointer (&result->snapshot);
  name = g_strdup_printf ("machines/%s/snapshots/%s", MACHINE, snapshot->id);
  g_assert_true (coffer_store_delete_sync (fixture->store, name, NULL, &error));
  snapshot->time = time;
  snapshot->on_demand = on_demand;
  snapshot->retain_until = retain_until;
  g_assert_true (
      coffer_snapshot_put (fixture->vault, MACHINE, fixture->keys, snapshot, NULL, &error));
  g_assert_no_error (error);
  return snapshot;
}

static void
write_random (Fixture *fixture, const char *name, gsize size)
{
  g_autofree char *path = g_build_filename (fixture->source, name, NULL);
  g_autofree guint8 *data = g_malloc (size);

  coffer_random_bytes (data, size);
  g_assert_true (g_file_set_contents (path, (const char *) data, size, NULL));
}

static guint
count_objects (Fixture *fixture, const char *kind)
{
  g_autofree char *prefix = g_strdup_printf ("machines/%s/%s/", MACHINE, kind);
  g_autoptr (GPtrArray) entries = coffer_store_list_sync (fixture->store, prefix, NULL, NULL);

  g_assert_nonnull (entries);
  return entries->len;
}

static void
assert_check_clean (Fixture *fixture, guint expected_points)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CofferCheckResult) result =
      coffer_check_run (fixture->vault, MACHINE, fixture->keys, TRUE, NULL, NULL, NULL, &error);

  g_assert_no_error (error);
  for (guint i = 0; i < result->problems->len; i++)
    {
      CofferFailedItem *item = g_ptr_array_index (result->problems, i);
      g_test_message ("problem: %s: %s", item->path, item->reason);
    }
  g_assert_cmpuint (result->problems->len, ==, 0);
  /* Nothing unreferenced is left behind either. */
  g_assert_cmpuint (result->notes->len, ==, 0);
  g_assert_cmpuint (result->snapshots, ==, expected_points);
}

/* Restores @name of @snapshot and compares it with @expected. */
static void
assert_restores (Fixture *fixture, CofferSnapshot *snapshot, const char *name, GBytes *expected)
{
  g_autofree char *path = g_build_filename (fixture->source, name, NULL);
  g_autofree char *restored = g_build_filename (fixture->target, name, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (CofferPointReader) reader =
      coffer_point_reader_new (fixture->vault, MACHINE, fixture->keys, NULL, &error);
  g_autoptr (CofferRestoreResult) result = NULL;
  g_autofree char *contents = NULL;
  gsize length;
  const char *paths[] = { path, NULL };
  CofferRestoreOptions options = {
    .reader = reader,
    .root = snapshot->root,
    .point_time = snapshot->time,
    .paths = paths,
    .target = fixture->target,
    .conflict = COFFER_CONFLICT_OVERWRITE,
    .workers = 2,
  };

  g_assert_no_error (error);
  result = coffer_restore_run (&options, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (result->failed->len, ==, 0);
  g_assert_true (g_file_get_contents (restored, &contents, &length, NULL));
  g_assert_cmpmem (contents, length, g_bytes_get_data (expected, NULL),
                   g_bytes_get_size (expected));
  g_unlink (restored);
}

static GBytes *
read_source (Fixture *fixture, const char *name)
{
  g_autofree char *path = g_build_filename (fixture->source, name, NULL);
  char *contents;
  gsize length;

  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  return g_bytes_new_take (contents, length);
}

static gboolean
prune (Fixture *fixture,
       const CofferSchedule *schedule,
       GTimeZone *tz,
       gint64 now,
       CofferPruneResult *result)
{
  g_autoptr (GError) error = NULL;
  CofferPruneOptions options = {
    .vault = fixture->vault,
    .machine_id = MACHINE,
    .instance_id = "test-instance",
    .keys = fixture->keys,
    .schedule = schedule,
    .tz = tz,
    .now = now,
    .cache_dir = fixture->cache_dir,
  };
  gboolean ok = coffer_prune_run (&options, result, NULL, &error);

  g_assert_no_error (error);
  return ok;
}

/* Four scheduled points: keep.bin in all, old.bin only in the second (so
 * its pack holds nothing else), mid.bin and new.bin later. */
typedef struct
{
  CofferSnapshot *points[4];
  GBytes *keep, *old, *mid, *new;
  gint64 now;
} History;

static void
make_history (Fixture *fixture, GTimeZone *tz, History *history, gboolean on_demand_copy)
{
  g_autoptr (GDateTime) noon = g_date_time_new (tz, 2026, 11, 22, 12, 0, 0);

  history->now = g_date_time_to_unix (noon);
  write_random (fixture, "keep.bin", 600 * 1024);
  history->points[0] = back_up_at (fixture, history->now - 20 * 86400, FALSE, 0);
  write_random (fixture, "old.bin", 700 * 1024);
  /* Old enough to be cached (a file changed within a second is not). */
  g_usleep (2100 * G_TIME_SPAN_MILLISECOND);
  history->points[1] = back_up_at (fixture, history->now - 10 * 86400, on_demand_copy,
                                   on_demand_copy ? history->now + 86400 : 0);
  history->old = read_source (fixture, "old.bin");
  {
    g_autofree char *old = g_build_filename (fixture->source, "old.bin", NULL);
    g_unlink (old);
  }
  write_random (fixture, "mid.bin", 300 * 1024);
  history->points[2] = back_up_at (fixture, history->now - 86400, FALSE, 0);
  write_random (fixture, "new.bin", 300 * 1024);
  history->points[3] = back_up_at (fixture, history->now - 3600, FALSE, 0);
  history->keep = read_source (fixture, "keep.bin");
  history->mid = read_source (fixture, "mid.bin");
  history->new = read_source (fixture, "new.bin");
}

static void
history_clear (History *history)
{
  for (guint i = 0; i < G_N_ELEMENTS (history->points); i++)
    coffer_snapshot_free (history->points[i]);
  g_clear_pointer (&history->keep, g_bytes_unref);
  g_clear_pointer (&history->old, g_bytes_unref);
  g_clear_pointer (&history->mid, g_bytes_unref);
  g_clear_pointer (&history->new, g_bytes_unref);
}

static void
test_retention_deletes_points_and_packs (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GTimeZone) tz = g_time_zone_new_identifier ("Europe/Stockholm");
  g_autofree char *old_path = g_build_filename (fixture->source, "old.bin", NULL);
  History history = { 0 };
  CofferPruneResult result;
  CofferSchedule schedule;
  guint packs_before;

  make_history (fixture, tz, &history, FALSE);
  coffer_schedule_init_default (&schedule);
  schedule.retain_daily = 7;
  packs_before = count_objects (fixture, "data");
  g_assert_true (prune (fixture, &schedule, tz, history.now, &result));

  /* The points of 20 and 10 days ago are gone; so are the packs only they
   * needed: old.bin's data, their trees. */
  g_assert_cmpuint (result.points_deleted, ==, 2);
  g_assert_cmpuint (result.points_kept, ==, 2);
  g_assert_cmpuint (count_objects (fixture, "snapshots"), ==, 2);
  g_assert_cmpuint (result.packs_deleted, >=, 2);
  g_assert_cmpuint (result.bytes_deleted, >, 700 * 1024);
  g_assert_cmpuint (count_objects (fixture, "data"), ==, packs_before - result.packs_deleted);
  g_assert_cmpuint (result.index_files_written, >=, 1);
  /* old.bin's files-cache row named chunks that are gone. */
  g_assert_cmpuint (result.cache_rows_dropped, ==, 1);

  assert_check_clean (fixture, 2);
  assert_restores (fixture, history.points[3], "keep.bin", history.keep);
  assert_restores (fixture, history.points[3], "mid.bin", history.mid);
  assert_restores (fixture, history.points[3], "new.bin", history.new);
  assert_restores (fixture, history.points[2], "keep.bin", history.keep);

  /* Pruning again finds nothing more to do. */
  g_assert_true (prune (fixture, &schedule, tz, history.now, &result));
  g_assert_cmpuint (result.points_deleted, ==, 0);
  g_assert_cmpuint (result.packs_deleted, ==, 0);
  assert_check_clean (fixture, 2);

  /* A later backup of old.bin stores it again rather than trusting the
   * files cache. */
  g_assert_true (g_file_set_contents (old_path, g_bytes_get_data (history.old, NULL),
                                      g_bytes_get_size (history.old), NULL));
  {
    g_autoptr (CofferSnapshot) again = back_up_at (fixture, history.now, FALSE, 0);
    assert_check_clean (fixture, 3);
    assert_restores (fixture, again, "old.bin", history.old);
  }
  history_clear (&history);
}

static void
test_back_up_now_point_keeps_its_data (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GTimeZone) tz = g_time_zone_new_identifier ("Europe/Stockholm");
  History history = { 0 };
  CofferPruneResult result;
  CofferSchedule schedule;

  make_history (fixture, tz, &history, TRUE);
  coffer_schedule_init_default (&schedule);
  schedule.retain_daily = 7;
  g_assert_true (prune (fixture, &schedule, tz, history.now, &result));
  g_assert_cmpuint (result.points_deleted, ==, 1);
  assert_check_clean (fixture, 3);
  assert_restores (fixture, history.points[1], "old.bin", history.old);

  /* Past its retain-until, it goes, and old.bin's data with it. */
  g_assert_true (prune (fixture, &schedule, tz, history.now + 2 * 86400, &result));
  g_assert_cmpuint (result.points_deleted, ==, 1);
  g_assert_cmpuint (result.bytes_deleted, >, 700 * 1024);
  assert_check_clean (fixture, 2);
  history_clear (&history);
}

static void
test_delete_all (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GTimeZone) tz = g_time_zone_new_identifier ("Europe/Stockholm");
  History history = { 0 };
  CofferPruneResult result;

  make_history (fixture, tz, &history, TRUE);
  g_assert_true (prune (fixture, NULL, tz, history.now, &result));
  g_assert_cmpuint (result.points_deleted, ==, 4);
  g_assert_cmpuint (count_objects (fixture, "snapshots"), ==, 0);
  g_assert_cmpuint (count_objects (fixture, "data"), ==, 0);
  g_assert_cmpuint (count_objects (fixture, "index"), ==, 0);
  assert_check_clean (fixture, 0);
  history_clear (&history);
}

static void
test_exclusive_lock (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GTimeZone) tz = g_time_zone_new_identifier ("Europe/Stockholm");
  g_autoptr (GError) error = NULL;
  g_autoptr (CofferLock) lock = NULL;
  CofferPruneResult result;
  CofferSchedule schedule;
  CofferPruneOptions options = {
    .vault = fixture->vault,
    .machine_id = MACHINE,
    .instance_id = "test-instance",
    .keys = fixture->keys,
    .schedule = &schedule,
    .tz = tz,
    .now = g_get_real_time () / G_USEC_PER_SEC,
  };

  coffer_schedule_init_default (&schedule);
  write_random (fixture, "keep.bin", 1000);
  coffer_snapshot_free (back_up_at (fixture, options.now - 30 * 86400, FALSE, 0));
  /* A backup holds its shared lock: prune waits for nothing and deletes
   * nothing. */
  lock = coffer_lock_take (fixture->vault, MACHINE, "test-instance", FALSE, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (coffer_prune_run (&options, &result, NULL, &error));
  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_BUSY);
  g_assert_cmpuint (count_objects (fixture, "snapshots"), ==, 1);
}

/* The prune after each backup stops when no point expired: it neither
 * reads the index nor deletes a pack no index names (an interrupted
 * backup's), which waits for the next prune that deletes a point. */
static void
test_only_when_expired (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GTimeZone) tz = g_time_zone_new_identifier ("Europe/Stockholm");
  g_autoptr (GError) error = NULL;
  g_autofree char *stray = g_strdup_printf ("machines/%s/data/00/%064d", MACHINE, 0);
  g_autoptr (GBytes) bytes = g_bytes_new_static ("stray", 5);
  CofferPruneResult result;
  CofferSchedule schedule;
  CofferPruneOptions options = {
    .vault = fixture->vault,
    .machine_id = MACHINE,
    .instance_id = "test-instance",
    .keys = fixture->keys,
    .schedule = &schedule,
    .tz = tz,
    .now = g_get_real_time () / G_USEC_PER_SEC,
    .only_when_expired = TRUE,
  };
  guint packs;

  coffer_schedule_init_default (&schedule);
  schedule.retain_daily = 7;
  write_random (fixture, "keep.bin", 1000);
  coffer_snapshot_free (back_up_at (fixture, options.now - 3600, FALSE, 0));
  g_assert_true (coffer_store_put_sync (fixture->store, stray, bytes, COFFER_PUT_ALWAYS, NULL, NULL,
                                        NULL, &error));
  packs = count_objects (fixture, "data");

  g_assert_true (coffer_prune_run (&options, &result, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (result.points_deleted, ==, 0);
  g_assert_cmpuint (result.packs_deleted, ==, 0);
  g_assert_cmpuint (count_objects (fixture, "data"), ==, packs);

  options.only_when_expired = FALSE;
  g_assert_true (prune (fixture, &schedule, tz, options.now, &result));
  g_assert_cmpuint (result.packs_deleted, ==, 1);
  g_assert_cmpuint (count_objects (fixture, "data"), ==, packs - 1);
  assert_check_clean (fixture, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func)                                                                            \
  g_test_add ("/libcoffer/prune/" path, Fixture, NULL, coffer_test_vault_set_up, func,             \
              coffer_test_vault_tear_down)
  ADD ("retention-deletes-points-and-packs", test_retention_deletes_points_and_packs);
  ADD ("back-up-now-point-keeps-its-data", test_back_up_now_point_keeps_its_data);
  ADD ("delete-all", test_delete_all);
  ADD ("exclusive-lock", test_exclusive_lock);
  ADD ("only-when-expired", test_only_when_expired);
#undef ADD
  return g_test_run ();
}
