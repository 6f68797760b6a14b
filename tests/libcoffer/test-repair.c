/* test-repair.c: one damaged object costs only what it holds, and a repair
 * mends the rest: a fifo at a pack's name, damaged and foreign recovery
 * points and index files, a damaged pack, a point the catalog knows but
 * the vault lost, and the store's move. Each test damages a real local
 * vault by hand. */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coffer-test-util.h"
#include "coffer.h"

#define MACHINE "0123456789abcdef0123456789abcdef"

typedef CofferTestVault Fixture;

static CofferSnapshot *
back_up (Fixture *fixture)
{
  g_autoptr (CofferPolicy) policy = coffer_policy_load (fixture->catalog, NULL);
  g_autoptr (CofferBackupResult) result = NULL;
  g_autoptr (GError) error = NULL;
  const char *skip[] = { fixture->vault_dir, fixture->cache_dir, NULL };
  CofferBackupOptions options = {
    .vault = fixture->vault,
    .machine_id = MACHINE,
    .keys = fixture->keys,
    .policy = policy,
    .cache_dir = fixture->cache_dir,
    .skip_paths = skip,
    .on_demand = TRUE,
    .workers = 2,
  };

  result = coffer_backup_run (&options, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (result->failed->len, ==, 0);
  return g_steal_pointer (&result->snapshot);
}

static void
write_random (const char *folder, const char *name, gsize size, guint32 seed)
{
  g_autofree char *path = g_build_filename (folder, name, NULL);
  g_autofree guint8 *data = g_malloc (size);
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed);

  for (gsize i = 0; i < size; i += 4)
    {
      guint32 word = g_rand_int (rand);
      memcpy (data + i, &word, MIN (4, size - i));
    }
  g_assert_true (g_file_set_contents (path, (char *) data, size, NULL));
}

/* A source of two big files (each in its own data pack) and small ones. */
static void
make_source (Fixture *fixture)
{
  g_autofree char *sub = g_build_filename (fixture->source, "sub", NULL);

  g_assert_cmpint (g_mkdir_with_parents (sub, 0700), ==, 0);
  write_random (fixture->source, "big-a.bin", 17 * 1024 * 1024, 1);
  write_random (sub, "big-b.bin", 17 * 1024 * 1024, 2);
  for (guint i = 0; i < 10; i++)
    {
      g_autofree char *name = g_strdup_printf ("small-%u.txt", i);
      g_autofree char *text = g_strdup_printf ("small file %u\n", i);
      g_autofree char *path = g_build_filename (sub, name, NULL);

      g_assert_true (g_file_set_contents (path, text, -1, NULL));
    }
}

static GPtrArray *
list (Fixture *fixture, const char *what)
{
  g_autofree char *prefix = g_strdup_printf ("machines/" MACHINE "/%s", what);
  g_autoptr (GError) error = NULL;
  GPtrArray *entries = coffer_store_list_sync (fixture->store, prefix, NULL, &error);

  g_assert_no_error (error);
  return entries;
}

static char *
path_of (Fixture *fixture, CofferStoreEntry *entry)
{
  return g_build_filename (fixture->vault_dir, entry->name, NULL);
}

/* The largest pack: a data pack holding part of one big file. */
static CofferStoreEntry *
largest_pack (Fixture *fixture, GPtrArray *packs)
{
  CofferStoreEntry *largest = NULL;

  for (guint i = 0; i < packs->len; i++)
    {
      CofferStoreEntry *entry = g_ptr_array_index (packs, i);
      if (largest == NULL || entry->size > largest->size)
        largest = entry;
    }
  return largest;
}

static void
flip_byte (const char *path, gsize at)
{
  g_autofree char *contents = NULL;
  gsize length;

  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  contents[at < length ? at : length / 2] ^= 0x20;
  g_assert_true (g_file_set_contents (path, contents, length, NULL));
}

static CofferCheckResult *
check (Fixture *fixture, gboolean repair, GPtrArray *catalog_points)
{
  g_autoptr (GError) error = NULL;
  CofferCheckOptions options = { 0 };
  CofferCheckResult *result;

  options.vault = fixture->vault;
  options.machine_id = MACHINE;
  options.keys = fixture->keys;
  options.read_data = TRUE;
  options.repair = repair;
  options.catalog_points = catalog_points;
  result = coffer_check_run_full (&options, NULL, &error);
  g_assert_no_error (error);
  return result;
}

static gboolean
items_name (GPtrArray *items, const char *text)
{
  for (guint i = 0; i < items->len; i++)
    {
      CofferFailedItem *item = g_ptr_array_index (items, i);
      if (strstr (item->path, text) != NULL || strstr (item->reason, text) != NULL)
        return TRUE;
    }
  return FALSE;
}

static CofferRestoreResult *
restore (Fixture *fixture, CofferSnapshot *snapshot, GCancellable *cancellable)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CofferPointReader) reader =
      coffer_point_reader_new (fixture->vault, MACHINE, fixture->keys, NULL, &error);
  const char *paths[] = { fixture->source, NULL };
  CofferRestoreOptions options = {
    .reader = reader,
    .root = snapshot->root,
    .point_time = snapshot->time,
    .paths = paths,
    .target = fixture->target,
    .conflict = COFFER_CONFLICT_OVERWRITE,
    .restore_permissions = TRUE,
    .workers = 2,
  };
  CofferRestoreResult *result;

  g_assert_no_error (error);
  result = coffer_restore_run (&options, cancellable, &error);
  g_assert_no_error (error);
  return result;
}

static void
assert_restored_same (Fixture *fixture, const char *relative, gboolean same)
{
  g_autofree char *source = g_build_filename (fixture->source, relative, NULL);
  g_autofree char *base = g_path_get_basename (fixture->source);
  g_autofree char *target = g_build_filename (fixture->target, base, relative, NULL);
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;
  gsize la = 0, lb = 0;

  g_assert_true (g_file_get_contents (source, &a, &la, NULL));
  if (!same)
    {
      g_assert_false (g_file_test (target, G_FILE_TEST_EXISTS));
      return;
    }
  g_assert_true (g_file_get_contents (target, &b, &lb, NULL));
  g_assert_cmpmem (a, la, b, lb);
}

/* Every file of the source (as backed up) came back identical, but for
 * those @lost names (full source paths); those did not come back at all. */
static void
assert_all_restored_but (Fixture *fixture, GPtrArray *lost)
{
  const char *relative[] = { "big-a.bin",       "sub/big-b.bin",   "sub/small-0.txt",
                             "sub/small-1.txt", "sub/small-2.txt", "sub/small-3.txt",
                             "sub/small-4.txt", "sub/small-5.txt", "sub/small-6.txt",
                             "sub/small-7.txt", "sub/small-8.txt", "sub/small-9.txt" };
  guint missing = 0;

  for (guint i = 0; i < G_N_ELEMENTS (relative); i++)
    {
      g_autofree char *full = g_build_filename (fixture->source, relative[i], NULL);
      gboolean is_lost = items_name (lost, full);

      missing += is_lost;
      assert_restored_same (fixture, relative[i], !is_lost);
    }
  g_assert_cmpuint (missing, ==, lost->len);
}

/* A fifo where a pack should be: reads fail at once (no hang), a recovery
 * fails only the file that needs it, and the store moves the fifo. */
static void
test_fifo_at_a_pack (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CofferSnapshot) snapshot = NULL;
  g_autoptr (GPtrArray) packs = NULL;
  g_autoptr (CofferRestoreResult) result = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = NULL;
  g_autofree char *path = NULL;
  g_autofree char *name = NULL;
  g_autoptr (GTimer) timer = g_timer_new ();
  CofferStoreEntry *pack;

  make_source (fixture);
  snapshot = back_up (fixture);
  packs = list (fixture, "data/");
  pack = largest_pack (fixture, packs);
  name = g_strdup (pack->name);
  path = path_of (fixture, pack);
  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_cmpint (mkfifo (path, 0600), ==, 0);

  bytes = coffer_store_get_sync (fixture->store, name, 0, 10, NULL, NULL, &error);
  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "fifo"));
  g_clear_error (&error);

  result = restore (fixture, snapshot, NULL);
  g_assert_cmpfloat (g_timer_elapsed (timer, NULL), <, 30);
  /* Exactly the files with data in that pack are named, and the rest
   * come back. */
  g_assert_cmpuint (result->failed->len, >=, 1);
  {
    g_autoptr (GPtrArray) lost =
        g_ptr_array_new_with_free_func ((GDestroyNotify) coffer_failed_item_free);

    for (guint i = 0; i < result->failed->len; i++)
      {
        CofferFailedItem *item = g_ptr_array_index (result->failed, i);
        CofferFailedItem *copy = g_new0 (CofferFailedItem, 1);
        g_autofree char *parent = g_path_get_dirname (fixture->source);

        /* Named where it would have gone: TARGET/source/… */
        g_assert_nonnull (strstr (item->reason, "cannot be read"));
        g_assert_true (g_str_has_prefix (item->path, fixture->target));
        copy->path = g_strconcat (parent, item->path + strlen (fixture->target), NULL);
        copy->reason = g_strdup ("");
        g_ptr_array_add (lost, copy);
      }
    assert_all_restored_but (fixture, lost);
  }

  /* A repair moves it out of the way, as anything it cannot use. */
  {
    g_autoptr (CofferCheckResult) repaired = check (fixture, TRUE, NULL);
    g_autofree char *moved = g_build_filename (fixture->vault_dir, "damaged", name, NULL);
    struct stat st;

    g_assert_cmpuint (repaired->problems->len, ==, 0);
    g_assert_cmpuint (repaired->files_lost, ==, result->failed->len);
    g_assert_cmpint (lstat (moved, &st), ==, 0);
    g_assert_true (S_ISFIFO (st.st_mode));
  }
}

/* One damaged point and one foreign file among the points: the others list
 * and recover; a strict listing (prune's) refuses. */
static void
test_damaged_point_costs_only_itself (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CofferSnapshot) first = NULL;
  g_autoptr (CofferSnapshot) second = NULL;
  g_autoptr (GPtrArray) damaged =
      g_ptr_array_new_with_free_func ((GDestroyNotify) coffer_failed_item_free);
  g_autoptr (GPtrArray) points = NULL;
  g_autoptr (GPtrArray) strict = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *object = NULL;
  g_autofree char *path = NULL;
  g_autofree char *foreign = NULL;

  make_source (fixture);
  first = back_up (fixture);
  g_usleep (1100 * 1000);
  write_random (fixture->source, "later.bin", 1000, 3);
  second = back_up (fixture);

  object = g_strdup_printf ("machines/" MACHINE "/snapshots/%s", second->id);
  path = g_build_filename (fixture->vault_dir, object, NULL);
  flip_byte (path, 40);
  foreign =
      g_build_filename (fixture->vault_dir, "machines", MACHINE, "snapshots",
                        "0000000000000000000000000000000000000000000000000000000000000001", NULL);
  g_assert_true (g_file_set_contents (foreign, "not a point", -1, NULL));

  points = coffer_snapshot_list (fixture->vault, MACHINE, fixture->keys, damaged, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (points->len, ==, 1);
  g_assert_cmpstr (((CofferSnapshot *) g_ptr_array_index (points, 0))->id, ==, first->id);
  g_assert_cmpuint (damaged->len, ==, 2);
  g_assert_true (items_name (damaged, second->id));

  strict = coffer_snapshot_list (fixture->vault, MACHINE, fixture->keys, NULL, NULL, &error);
  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT);
  g_assert_null (strict);
  g_clear_error (&error);

  {
    g_autoptr (CofferRestoreResult) result = restore (fixture, first, NULL);
    g_assert_cmpuint (result->failed->len, ==, 0);
    assert_restored_same (fixture, "big-a.bin", TRUE);
  }
}

/* Index files damaged, foreign or all gone: recoveries and backups go on
 * from the packs' own headers, check reports it, repair writes the index. */
static void
test_lost_index_costs_no_data (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CofferSnapshot) snapshot = NULL;
  g_autoptr (CofferSnapshot) again = NULL;
  g_autoptr (GPtrArray) files = NULL;
  g_autoptr (CofferCheckResult) found = NULL;
  g_autoptr (CofferCheckResult) repaired = NULL;
  g_autoptr (CofferCheckResult) clean = NULL;
  g_autofree char *foreign = NULL;

  make_source (fixture);
  snapshot = back_up (fixture);
  files = list (fixture, "index/");
  g_assert_cmpuint (files->len, >, 0);
  for (guint i = 0; i < files->len; i++)
    {
      g_autofree char *path = path_of (fixture, g_ptr_array_index (files, i));
      if (i == 0)
        flip_byte (path, 20);
      else
        g_assert_cmpint (g_unlink (path), ==, 0);
    }
  foreign =
      g_build_filename (fixture->vault_dir, "machines", MACHINE, "index",
                        "00000000000000000000000000000000000000000000000000000000000000aa", NULL);
  g_assert_true (g_file_set_contents (foreign, "", 0, NULL));

  /* Every file comes back. */
  {
    g_autoptr (CofferRestoreResult) result = restore (fixture, snapshot, NULL);
    g_assert_cmpuint (result->failed->len, ==, 0);
    assert_restored_same (fixture, "big-a.bin", TRUE);
    assert_restored_same (fixture, "sub/big-b.bin", TRUE);
  }
  /* A backup still works, and stores no file data again: the chunks are
   * known from the packs' headers (only trees and the index are new). */
  {
    g_autoptr (CofferBackupResult) result = NULL;
    g_autoptr (CofferPolicy) policy = coffer_policy_load (fixture->catalog, NULL);
    g_autoptr (GError) error = NULL;
    const char *skip[] = { fixture->vault_dir, fixture->cache_dir, NULL };
    CofferBackupOptions options = {
      .vault = fixture->vault,
      .machine_id = MACHINE,
      .keys = fixture->keys,
      .policy = policy,
      .cache_dir = fixture->cache_dir,
      .skip_paths = skip,
      .on_demand = TRUE,
      .workers = 2,
    };

    result = coffer_backup_run (&options, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (result->snapshot->files, ==, snapshot->files);
    g_assert_cmpuint (result->totals.bytes_sent, <, 1024 * 1024);
    again = g_steal_pointer (&result->snapshot);
  }

  found = check (fixture, FALSE, NULL);
  g_assert_true (items_name (found->problems, "index"));
  repaired = check (fixture, TRUE, NULL);
  g_assert_cmpuint (repaired->found, >, 0);
  g_assert_cmpuint (repaired->problems->len, ==, 0);
  g_assert_cmpuint (repaired->files_lost, ==, 0);
  g_assert_true (items_name (repaired->repairs, "rebuilt"));
  g_assert_true (items_name (repaired->repairs, "damaged/"));
  clean = check (fixture, TRUE, NULL);
  g_assert_cmpuint (clean->found, ==, 0);
  g_assert_cmpuint (clean->repairs->len, ==, 0);
}

/* A flipped byte in a data pack: check names the pack and the file; repair
 * salvages the other blobs, rewrites the point without that file, keeps
 * the damaged pack under damaged/; every other file comes back. */
static void
test_repair_of_a_damaged_pack (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CofferSnapshot) snapshot = NULL;
  g_autoptr (GPtrArray) packs = NULL;
  g_autoptr (CofferCheckResult) found = NULL;
  g_autoptr (CofferCheckResult) repaired = NULL;
  g_autoptr (CofferCheckResult) clean = NULL;
  g_autoptr (GPtrArray) points = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *name = NULL;
  g_autofree char *path = NULL;
  g_autofree char *moved = NULL;
  CofferSnapshot *repaired_point;

  make_source (fixture);
  snapshot = back_up (fixture);
  packs = list (fixture, "data/");
  name = g_strdup (largest_pack (fixture, packs)->name);
  path = g_build_filename (fixture->vault_dir, name, NULL);
  flip_byte (path, 1024 * 1024);

  found = check (fixture, FALSE, NULL);
  g_assert_true (items_name (found->problems, name));
  g_assert_true (items_name (found->problems, "big-"));

  repaired = check (fixture, TRUE, NULL);
  g_assert_cmpuint (repaired->problems->len, ==, 0);
  g_assert_cmpuint (repaired->files_lost, ==, 1);
  g_assert_true (items_name (repaired->repairs, "still opened"));
  moved = g_build_filename (fixture->vault_dir, "damaged", name, NULL);
  g_assert_true (g_file_test (moved, G_FILE_TEST_IS_REGULAR));
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_assert_cmpuint (repaired->points_replaced->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (repaired->points_replaced, 0), ==, snapshot->id);

  points = coffer_snapshot_list (fixture->vault, MACHINE, fixture->keys, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (points->len, ==, 1);
  repaired_point = g_ptr_array_index (points, 0);
  g_assert_cmpint (repaired_point->time, ==, snapshot->time);
  g_assert_cmpuint (repaired_point->files, ==, snapshot->files - 1);
  {
    g_autoptr (CofferRestoreResult) result = restore (fixture, repaired_point, NULL);
    g_autoptr (GPtrArray) lost = g_ptr_array_new ();

    g_assert_cmpuint (result->failed->len, ==, 0);
    for (guint i = 0; i < repaired->repairs->len; i++)
      {
        CofferFailedItem *item = g_ptr_array_index (repaired->repairs, i);
        if (g_str_has_prefix (item->reason, "Lost from the recovery point"))
          g_ptr_array_add (lost, item);
      }
    g_assert_cmpuint (lost->len, ==, 1);
    assert_all_restored_but (fixture, lost);
  }

  clean = check (fixture, TRUE, NULL);
  g_assert_cmpuint (clean->found, ==, 0);
  g_assert_cmpuint (clean->repairs->len, ==, 0);
}

/* The catalog is a witness: a point it recorded that the vault lacks is
 * damage, named with its date; a repair gives it up. */
static void
test_missing_point_the_catalog_knows (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CofferSnapshot) first = NULL;
  g_autoptr (CofferSnapshot) second = NULL;
  g_autoptr (GPtrArray) known = NULL;
  g_autoptr (CofferCheckResult) found = NULL;
  g_autoptr (CofferCheckResult) repaired = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *object = NULL;

  make_source (fixture);
  first = back_up (fixture);
  g_usleep (1100 * 1000);
  write_random (fixture->source, "later.bin", 1000, 4);
  second = back_up (fixture);
  g_assert_true (
      coffer_catalog_add_point (fixture->catalog, MACHINE, first->id, first->time, NULL));
  g_assert_true (
      coffer_catalog_add_point (fixture->catalog, MACHINE, second->id, second->time, NULL));

  object = g_strdup_printf ("machines/" MACHINE "/snapshots/%s", second->id);
  g_assert_true (coffer_store_delete_sync (fixture->store, object, NULL, NULL));

  known = coffer_catalog_list_points (fixture->catalog, MACHINE, &error);
  g_assert_no_error (error);
  found = check (fixture, FALSE, known);
  g_assert_cmpuint (found->problems->len, ==, 1);
  g_assert_true (items_name (found->problems, second->id));
  g_assert_true (items_name (found->problems, "missing from the vault"));

  repaired = check (fixture, TRUE, known);
  g_assert_cmpuint (repaired->problems->len, ==, 0);
  g_assert_cmpuint (repaired->points_lost->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (repaired->points_lost, 0), ==, second->id);
}

static gboolean
prune (Fixture *fixture, CofferPruneResult *result, GError **error)
{
  CofferPruneOptions options = {
    .vault = fixture->vault,
    .machine_id = MACHINE,
    .instance_id = "test-instance",
    .keys = fixture->keys,
    .now = g_get_real_time () / G_USEC_PER_SEC,
  };
  g_autoptr (GTimeZone) tz = g_time_zone_new_utc ();
  CofferSchedule schedule;

  coffer_schedule_init_default (&schedule);
  schedule.retain_daily = 7;
  options.schedule = &schedule;
  options.tz = tz;
  return coffer_prune_run (&options, result, NULL, error);
}

/* A pack lost, or cut short: the next backup stores its chunks again (it
 * never points into what is gone), and a prune deletes nothing until a
 * repair: it must never take the pack that holds them again for unused. */
static void
test_backups_and_prune_after_a_lost_pack (Fixture *fixture, gconstpointer data)
{
  guint cut = GPOINTER_TO_UINT (data);

  {
    g_autoptr (CofferSnapshot) first = NULL;
    g_autoptr (CofferSnapshot) second = NULL;
    g_autoptr (GPtrArray) packs = NULL;
    g_autoptr (GError) error = NULL;
    g_autoptr (CofferCheckResult) repaired = NULL;
    g_autofree char *path = NULL;
    CofferPruneResult result;

    make_source (fixture);
    first = back_up (fixture);
    packs = list (fixture, "data/");
    path = path_of (fixture, largest_pack (fixture, packs));
    if (cut == 0)
      g_assert_cmpint (g_unlink (path), ==, 0);
    else
      g_assert_cmpint (truncate (path, 1000), ==, 0);

    second = back_up (fixture);
    {
      g_autoptr (CofferRestoreResult) restored = restore (fixture, second, NULL);
      g_autoptr (GPtrArray) none = g_ptr_array_new ();

      g_assert_cmpuint (restored->failed->len, ==, 0);
      assert_all_restored_but (fixture, none);
    }

    /* Prune deletes nothing while the index names the lost pack; it may
     * go on when none does (every blob of it was stored again, in an
     * index file read first): either way no data a point needs goes. */
    if (!prune (fixture, &result, &error))
      {
        g_assert_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT);
        g_assert_nonnull (strstr (error->message, "Nothing was deleted"));
        g_clear_error (&error);
      }
    {
      g_autoptr (CofferRestoreResult) restored = NULL;
      g_autoptr (GPtrArray) none = g_ptr_array_new ();
      g_autofree char *base = g_path_get_basename (fixture->source);
      g_autofree char *again = g_build_filename (fixture->target, base, NULL);
      g_autofree char *command = g_strdup_printf ("rm -rf '%s'", again);

      g_spawn_command_line_sync (command, NULL, NULL, NULL, NULL);
      restored = restore (fixture, second, NULL);
      g_assert_cmpuint (restored->failed->len, ==, 0);
      assert_all_restored_but (fixture, none);
    }

    repaired = check (fixture, TRUE, NULL);
    g_assert_cmpuint (repaired->problems->len, ==, 0);
    g_assert_true (prune (fixture, &result, &error));
    g_assert_no_error (error);
    {
      g_autoptr (GPtrArray) points =
          coffer_snapshot_list (fixture->vault, MACHINE, fixture->keys, NULL, NULL, &error);
      CofferSnapshot *newest;
      g_autoptr (CofferRestoreResult) restored = NULL;
      g_autoptr (GPtrArray) none = g_ptr_array_new ();
      g_autofree char *base = g_path_get_basename (fixture->source);
      g_autofree char *again = g_build_filename (fixture->target, base, NULL);
      g_autofree char *command = g_strdup_printf ("rm -rf '%s'", again);

      g_assert_no_error (error);
      newest = g_ptr_array_index (points, points->len - 1);
      g_spawn_command_line_sync (command, NULL, NULL, NULL, NULL);
      restored = restore (fixture, newest, NULL);
      g_assert_cmpuint (restored->failed->len, ==, 0);
      assert_all_restored_but (fixture, none);
    }
  }
}

/* Move renames, refuses to replace, and says when there is nothing. */
static void
test_store_move (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GBytes) bytes = g_bytes_new_static ("hello", 5);
  g_autoptr (GBytes) back = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (coffer_store_put_sync (fixture->store, "a/b", bytes, COFFER_PUT_ALWAYS, NULL, NULL,
                                        NULL, &error));
  g_assert_true (coffer_store_put_sync (fixture->store, "c", bytes, COFFER_PUT_ALWAYS, NULL, NULL,
                                        NULL, &error));
  g_assert_false (coffer_store_move_sync (fixture->store, "a/b", "c", NULL, &error));
  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_true (coffer_store_move_sync (fixture->store, "a/b", "damaged/a/b", NULL, &error));
  g_assert_no_error (error);
  back = coffer_store_get_sync (fixture->store, "damaged/a/b", 0, -1, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (back, bytes));
  g_assert_false (coffer_store_move_sync (fixture->store, "a/b", "d", NULL, &error));
  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func)                                                                            \
  g_test_add ("/libcoffer/repair/" path, Fixture, NULL, coffer_test_vault_set_up, func,            \
              coffer_test_vault_tear_down)
  ADD ("fifo-at-a-pack", test_fifo_at_a_pack);
  ADD ("damaged-point-costs-only-itself", test_damaged_point_costs_only_itself);
  ADD ("lost-index-costs-no-data", test_lost_index_costs_no_data);
  ADD ("repair-of-a-damaged-pack", test_repair_of_a_damaged_pack);
  ADD ("missing-point-the-catalog-knows", test_missing_point_the_catalog_knows);
  ADD ("store-move", test_store_move);
  g_test_add ("/libcoffer/repair/backups-and-prune-after-a-lost-pack", Fixture,
              GUINT_TO_POINTER (0), coffer_test_vault_set_up,
              test_backups_and_prune_after_a_lost_pack, coffer_test_vault_tear_down);
  g_test_add ("/libcoffer/repair/backups-and-prune-after-a-cut-pack", Fixture, GUINT_TO_POINTER (1),
              coffer_test_vault_set_up, test_backups_and_prune_after_a_lost_pack,
              coffer_test_vault_tear_down);
#undef ADD

  return g_test_run ();
}
