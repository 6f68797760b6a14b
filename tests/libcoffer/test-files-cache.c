/* test-files-cache.c: which files a backup need not read again. */
#include "config.h"

#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>

#include "coffer.h"

#define MACHINE "0123456789abcdef0123456789abcdef"

static CofferFileStamp
stamp (guint64 size)
{
  CofferFileStamp s = { 7, 42, size, 1000000000, 2000000000 };
  return s;
}

static GArray *
chunks_of (guint8 fill, guint n)
{
  GArray *chunks = g_array_new (FALSE, TRUE, 32);

  g_array_set_size (chunks, n);
  memset (chunks->data, fill, 32 * n);
  return chunks;
}

static char *
cache_dir (void)
{
  char *dir = g_build_filename (g_get_user_cache_dir (), "coffer", NULL);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  return dir;
}

/* Rows are kept only once committed, and found only while the stamp
 * matches; lookups and commits may follow each other in any order. */
static void
test_round_trip (void)
{
  g_autofree char *dir = cache_dir ();
  g_autoptr (GError) error = NULL;
  CofferFilesCache *cache = coffer_files_cache_open (dir, MACHINE, &error);
  g_autoptr (GArray) chunks = chunks_of (0xab, 3);
  CofferFileStamp now = stamp (3000);
  CofferFileStamp changed = stamp (3001);
  GArray *found;

  g_assert_no_error (error);
  g_assert_null (coffer_files_cache_lookup (cache, "/home/ann/a.txt", &now));
  /* A backup that never commits (it failed, or the agent died) leaves
   * nothing behind. */
  coffer_files_cache_stage (cache, "/home/ann/a.txt", &now, chunks);
  coffer_files_cache_free (cache);
  cache = coffer_files_cache_open (dir, MACHINE, &error);
  g_assert_no_error (error);
  g_assert_null (coffer_files_cache_lookup (cache, "/home/ann/a.txt", &now));

  coffer_files_cache_stage (cache, "/home/ann/a.txt", &now, chunks);
  g_assert_true (coffer_files_cache_commit (cache, &error));
  g_assert_no_error (error);
  coffer_files_cache_free (cache);
  cache = coffer_files_cache_open (dir, MACHINE, &error);
  g_assert_no_error (error);

  found = coffer_files_cache_lookup (cache, "/home/ann/a.txt", &now);
  g_assert_nonnull (found);
  g_assert_cmpuint (found->len, ==, 3);
  g_assert_cmpmem (found->data, 96, chunks->data, 96);
  g_array_unref (found);
  g_assert_null (coffer_files_cache_lookup (cache, "/home/ann/a.txt", &changed));

  /* A second round, after lookups: the commit still lands. */
  coffer_files_cache_stage (cache, "/home/ann/b.txt", &changed, chunks);
  g_assert_true (coffer_files_cache_commit (cache, &error));
  coffer_files_cache_free (cache);

  cache = coffer_files_cache_open (dir, MACHINE, &error);
  g_assert_no_error (error);
  found = coffer_files_cache_lookup (cache, "/home/ann/b.txt", &changed);
  g_assert_nonnull (found);
  g_array_unref (found);
  coffer_files_cache_free (cache);
}

/* Rows written ahead are found by no one until committed: closing the
 * cache (the agent died) or discarding them (the backup failed) leaves
 * nothing, and a commit keeps them with the rows staged after. */
static void
test_prepared_rows (void)
{
  g_autofree char *dir = cache_dir ();
  g_autoptr (GError) error = NULL;
  CofferFilesCache *cache = coffer_files_cache_open (dir, MACHINE, &error);
  g_autoptr (GArray) chunks = chunks_of (0xcd, 2);
  CofferFileStamp now = stamp (2000);
  GArray *found;

  g_assert_no_error (error);
  coffer_files_cache_stage (cache, "/srv/a", &now, chunks);
  g_assert_true (coffer_files_cache_prepare (cache, &error));
  g_assert_no_error (error);
  coffer_files_cache_free (cache);
  cache = coffer_files_cache_open (dir, MACHINE, &error);
  g_assert_no_error (error);
  g_assert_null (coffer_files_cache_lookup (cache, "/srv/a", &now));

  coffer_files_cache_stage (cache, "/srv/a", &now, chunks);
  g_assert_true (coffer_files_cache_prepare (cache, &error));
  coffer_files_cache_discard (cache);
  g_assert_true (coffer_files_cache_commit (cache, &error));
  g_assert_no_error (error);
  coffer_files_cache_free (cache);
  cache = coffer_files_cache_open (dir, MACHINE, &error);
  g_assert_null (coffer_files_cache_lookup (cache, "/srv/a", &now));

  coffer_files_cache_stage (cache, "/srv/a", &now, chunks);
  g_assert_true (coffer_files_cache_prepare (cache, &error));
  coffer_files_cache_stage (cache, "/srv/b", &now, chunks);
  g_assert_true (coffer_files_cache_commit (cache, &error));
  g_assert_no_error (error);
  coffer_files_cache_free (cache);
  cache = coffer_files_cache_open (dir, MACHINE, &error);
  for (guint i = 0; i < 2; i++)
    {
      found = coffer_files_cache_lookup (cache, i == 0 ? "/srv/a" : "/srv/b", &now);
      g_assert_nonnull (found);
      g_assert_cmpmem (found->data, 64, chunks->data, 64);
      g_array_unref (found);
    }
  coffer_files_cache_free (cache);
}

/* The vault after a prune that deleted the chunks made of 0xab bytes. */
static gboolean
not_ab (const guint8 *id, gpointer user_data)
{
  return id[0] != 0xab;
}

/* A file with several names has one row, found by its filesystem and
 * inode whichever name the backup meets, and only while its stamp
 * matches; prune drops it like any other row whose chunks are gone. */
static void
test_several_names (void)
{
  g_autofree char *dir = cache_dir ();
  g_autoptr (GError) error = NULL;
  CofferFilesCache *cache = coffer_files_cache_open (dir, MACHINE, &error);
  g_autoptr (GArray) linked = chunks_of (0xab, 2);
  g_autoptr (GArray) single = chunks_of (0xcd, 1);
  CofferFileStamp now = stamp (4000);
  CofferFileStamp other_inode = now;
  CofferFileStamp other_fs = now;
  CofferFileStamp changed = now;
  CofferFileStamp alone = stamp (10);
  guint forgotten = 0;
  GArray *found;

  g_assert_no_error (error);
  other_inode.inode++;
  other_fs.fsid++;
  changed.ctime_ns++;
  alone.inode = 43;
  coffer_files_cache_stage (cache, NULL, &now, linked);
  coffer_files_cache_stage (cache, "/srv/alone", &alone, single);
  g_assert_true (coffer_files_cache_commit (cache, &error));
  g_assert_no_error (error);
  coffer_files_cache_free (cache);
  cache = coffer_files_cache_open (dir, MACHINE, &error);
  g_assert_no_error (error);

  found = coffer_files_cache_lookup (cache, NULL, &now);
  g_assert_nonnull (found);
  g_assert_cmpmem (found->data, 64, linked->data, 64);
  g_array_unref (found);
  g_assert_null (coffer_files_cache_lookup (cache, NULL, &other_inode));
  g_assert_null (coffer_files_cache_lookup (cache, NULL, &other_fs));
  g_assert_null (coffer_files_cache_lookup (cache, NULL, &changed));
  /* Rows by path and by inode are apart. */
  g_assert_null (coffer_files_cache_lookup (cache, "/srv/linked", &now));
  g_assert_null (coffer_files_cache_lookup (cache, NULL, &alone));

  g_assert_true (coffer_files_cache_forget_missing (cache, not_ab, NULL, &forgotten, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (forgotten, ==, 1);
  g_assert_null (coffer_files_cache_lookup (cache, NULL, &now));
  found = coffer_files_cache_lookup (cache, "/srv/alone", &alone);
  g_assert_nonnull (found);
  g_array_unref (found);
  coffer_files_cache_free (cache);
}

/* Creates a cache file as Coffer wrote it at @version, with one row. */
static void
write_old_cache (const char *path, int version, const char *row_path, const CofferFileStamp *now)
{
  g_autofree char *pragma = g_strdup_printf ("PRAGMA user_version = %d", version);
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  guint8 blob[32] = { 1 };

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db,
                                 "CREATE TABLE files (path TEXT PRIMARY KEY NOT NULL,"
                                 " fsid INTEGER NOT NULL, inode INTEGER NOT NULL,"
                                 " size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,"
                                 " ctime_ns INTEGER NOT NULL, chunks BLOB NOT NULL)"
                                 " WITHOUT ROWID",
                                 NULL, NULL, NULL),
                   ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, pragma, NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "INSERT INTO files VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                                       -1, &stmt, NULL),
                   ==, SQLITE_OK);
  sqlite3_bind_text (stmt, 1, row_path, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 2, now->fsid);
  sqlite3_bind_int64 (stmt, 3, now->inode);
  sqlite3_bind_int64 (stmt, 4, now->size);
  sqlite3_bind_int64 (stmt, 5, now->mtime_ns);
  sqlite3_bind_int64 (stmt, 6, now->ctime_ns);
  sqlite3_bind_blob (stmt, 7, blob, sizeof blob, SQLITE_STATIC);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_DONE);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
}

static int
read_version (const char *path)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  int version;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "PRAGMA user_version", -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  version = sqlite3_column_int (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return version;
}

/* A version 2 cache keeps its rows on its way to version 3: none can
 * mislead, so no file is read again for the upgrade's sake. */
static void
test_version_2_rows_are_kept (void)
{
  g_autofree char *dir = cache_dir ();
  g_autofree char *path = g_build_filename (dir, "files-" MACHINE ".sqlite", NULL);
  g_autoptr (GError) error = NULL;
  CofferFileStamp now = stamp (5);
  CofferFilesCache *cache;
  GArray *found;

  write_old_cache (path, 2, "/srv/notes.txt", &now);
  cache = coffer_files_cache_open (dir, MACHINE, &error);
  g_assert_no_error (error);
  found = coffer_files_cache_lookup (cache, "/srv/notes.txt", &now);
  g_assert_nonnull (found);
  g_array_unref (found);
  coffer_files_cache_free (cache);
  g_assert_cmpint (read_version (path), ==, 3);
}

/* A cache written before version 2 may describe sparse files without
 * their holes: its rows are dropped, so those files are read again. */
static void
test_old_rows_are_dropped (void)
{
  g_autofree char *dir = cache_dir ();
  g_autofree char *path = g_build_filename (dir, "files-" MACHINE ".sqlite", NULL);
  g_autoptr (GError) error = NULL;
  CofferFileStamp now = stamp (5);
  CofferFilesCache *cache;

  write_old_cache (path, 0, "/srv/disk.img", &now);
  cache = coffer_files_cache_open (dir, MACHINE, &error);
  g_assert_no_error (error);
  g_assert_null (coffer_files_cache_lookup (cache, "/srv/disk.img", &now));
  coffer_files_cache_free (cache);
  g_assert_cmpint (read_version (path), ==, 3);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/libcoffer/files-cache/round-trip", test_round_trip);
  g_test_add_func ("/libcoffer/files-cache/prepared-rows", test_prepared_rows);
  g_test_add_func ("/libcoffer/files-cache/several-names", test_several_names);
  g_test_add_func ("/libcoffer/files-cache/version-2-rows-are-kept", test_version_2_rows_are_kept);
  g_test_add_func ("/libcoffer/files-cache/old-rows-are-dropped", test_old_rows_are_dropped);

  return g_test_run ();
}
