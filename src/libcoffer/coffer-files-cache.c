/* coffer-files-cache.c: which files are unchanged since the last backup.
 *
 * An SQLite database in the cache folder (files-MACHINE.sqlite): for each
 * path, the stamp (filesystem id, inode, size, mtime and ctime in ns) it had
 * when it was last read, and the chunk ids of its content. A file with
 * several names has its row under its filesystem id and inode instead (the
 * links table), so that it is found whichever of its names a backup meets
 * first. A file whose stamp matches is not read again — provided every
 * chunk is still in the index, which the caller checks. Rows of a backup
 * are staged in memory and written only once its recovery point is in the
 * vault, so a failed backup never leaves rows that name chunks no point
 * holds: they may be written ahead (coffer_files_cache_prepare()), while
 * the last packs are uploaded, but in a transaction committed only then.
 * Everything here can be rebuilt (by reading the files again); a damaged
 * cache is simply started afresh.
 */
#include "config.h"

#include "coffer-files-cache.h"

#include "coffer-error.h"

#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>

#define CHUNK_ID_SIZE 32

typedef struct
{
  char *path; /* NULL: a row of the links table */
  CofferFileStamp stamp;
  GArray *chunks;
} StagedRow;

struct _CofferFilesCache
{
  GMutex lock;
  sqlite3 *db;
  sqlite3_stmt *lookup;      /* by path */
  sqlite3_stmt *lookup_link; /* by filesystem id and inode */
  GArray *staged;            /* StagedRow */
  gint empty;                /* no rows committed: lookups need not ask (atomic) */
  gboolean prepared;         /* staged rows written in a transaction still open */
};

static void
staged_row_clear (StagedRow *row)
{
  g_free (row->path);
  g_clear_pointer (&row->chunks, g_array_unref);
}

static gboolean
sqlite_error (sqlite3 *db, const char *what, GError **error)
{
  g_set_error (error, COFFER_ERROR, COFFER_ERROR_FAILED, "%s the files cache: %s", what,
               db != NULL ? sqlite3_errmsg (db) : "out of memory");
  return FALSE;
}

/* Ends the lookups' read transaction, before a write; a prepared write
 * transaction is left to coffer_files_cache_commit(). */
static void
end_reading (CofferFilesCache *self)
{
  if (!self->prepared && !sqlite3_get_autocommit (self->db))
    sqlite3_exec (self->db, "COMMIT", NULL, NULL, NULL);
}

/* Rows written before version 2 may describe sparse files without their
 * holes: they are dropped, which costs one full read of the files.
 * Version 3 keeps the rows of files with several names in the links table;
 * the rows version 2 wrote for them under a path are simply not asked for
 * again, so the upgrade keeps every row. */
#define CACHE_VERSION 3

static gboolean
upgrade_db (sqlite3 *db)
{
  sqlite3_stmt *stmt = NULL;
  int version = -1;

  if (sqlite3_prepare_v2 (db, "PRAGMA user_version", -1, &stmt, NULL) == SQLITE_OK &&
      sqlite3_step (stmt) == SQLITE_ROW)
    version = sqlite3_column_int (stmt, 0);
  sqlite3_finalize (stmt);
  if (version < 0)
    return FALSE;
  if (version >= CACHE_VERSION)
    return TRUE;
  return sqlite3_exec (db,
                       version < 2 ? "BEGIN IMMEDIATE; DELETE FROM files; DELETE FROM links; "
                                     "PRAGMA user_version = " G_STRINGIFY (CACHE_VERSION) "; COMMIT"
                                   : "PRAGMA user_version = " G_STRINGIFY (CACHE_VERSION),
                       NULL, NULL, NULL) == SQLITE_OK;
}

static gboolean
has_rows (sqlite3 *db)
{
  sqlite3_stmt *stmt = NULL;
  gboolean rows = TRUE; /* when in doubt, look */

  if (sqlite3_prepare_v2 (db, "SELECT 1 FROM files UNION ALL SELECT 1 FROM links LIMIT 1", -1,
                          &stmt, NULL) == SQLITE_OK)
    rows = sqlite3_step (stmt) != SQLITE_DONE;
  sqlite3_finalize (stmt);
  return rows;
}

static gboolean
open_db (CofferFilesCache *self, const char *path, GError **error)
{
  if (sqlite3_open_v2 (path, &self->db,
                       /* Every use of the connection is under self->lock. */
                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                       NULL) != SQLITE_OK ||
      sqlite3_exec (self->db,
                    /* Only the job holding it uses the cache: taking the
                     * lock once, not at each of a backup's lookups (two
                     * fcntl calls each), saves a second per 100,000 files. */
                    "PRAGMA locking_mode = EXCLUSIVE;"
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                    "CREATE TABLE IF NOT EXISTS files ("
                    "  path TEXT PRIMARY KEY NOT NULL,"
                    "  fsid INTEGER NOT NULL, inode INTEGER NOT NULL, size INTEGER NOT NULL,"
                    "  mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL,"
                    "  chunks BLOB NOT NULL"
                    ") WITHOUT ROWID;"
                    "CREATE TABLE IF NOT EXISTS links ("
                    "  fsid INTEGER NOT NULL, inode INTEGER NOT NULL, size INTEGER NOT NULL,"
                    "  mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL,"
                    "  chunks BLOB NOT NULL,"
                    "  PRIMARY KEY (fsid, inode)"
                    ") WITHOUT ROWID",
                    NULL, NULL, NULL) != SQLITE_OK ||
      !upgrade_db (self->db) ||
      sqlite3_prepare_v2 (self->db,
                          "SELECT fsid, inode, size, mtime_ns, ctime_ns, chunks FROM files "
                          "WHERE path = ?1",
                          -1, &self->lookup, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2 (self->db,
                          "SELECT fsid, inode, size, mtime_ns, ctime_ns, chunks FROM links "
                          "WHERE fsid = ?1 AND inode = ?2",
                          -1, &self->lookup_link, NULL) != SQLITE_OK)
    return sqlite_error (self->db, "Cannot open", error);
  g_chmod (path, 0600);
  g_atomic_int_set (&self->empty, !has_rows (self->db));
  return TRUE;
}

void
coffer_files_cache_free (CofferFilesCache *self)
{
  if (self == NULL)
    return;

  g_clear_pointer (&self->lookup, sqlite3_finalize);
  g_clear_pointer (&self->lookup_link, sqlite3_finalize);
  g_clear_pointer (&self->db, sqlite3_close);
  g_clear_pointer (&self->staged, g_array_unref);
  g_mutex_clear (&self->lock);
  g_free (self);
}

/**
 * coffer_files_cache_open:
 * @cache_dir: the cache folder
 * @machine_id: whose backups it speeds up
 * @error: return location for a #GError
 *
 * Opens the files cache, starting a new one when it is damaged.
 *
 * Returns: (transfer full): the files cache
 */
CofferFilesCache *
coffer_files_cache_open (const char *cache_dir, const char *machine_id, GError **error)
{
  g_autofree char *name = g_strdup_printf ("files-%s.sqlite", machine_id);
  g_autofree char *path = g_build_filename (cache_dir, name, NULL);
  CofferFilesCache *self = g_new0 (CofferFilesCache, 1);
  g_autoptr (GError) local_error = NULL;

  g_mutex_init (&self->lock);
  self->staged = g_array_new (FALSE, FALSE, sizeof (StagedRow));
  g_array_set_clear_func (self->staged, (GDestroyNotify) staged_row_clear);

  if (!open_db (self, path, &local_error))
    {
      /* Rebuildable: a damaged cache costs one full read, nothing else. */
      g_warning ("Starting a new files cache: %s", local_error->message);
      g_clear_pointer (&self->lookup, sqlite3_finalize);
      g_clear_pointer (&self->lookup_link, sqlite3_finalize);
      g_clear_pointer (&self->db, sqlite3_close);
      g_unlink (path);
      if (!open_db (self, path, error))
        {
          coffer_files_cache_free (self);
          return NULL;
        }
    }
  return self;
}

/* Walkers look files up in turn, each holding the lock a few
 * microseconds: one that finds it taken spins a little before it sleeps,
 * since being put to sleep and woken costs more than the wait. */
#define LOOKUP_SPINS 256

static inline void
cpu_relax (void)
{
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause ();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

static void
lock_for_lookup (CofferFilesCache *self)
{
  for (guint spins = 0; !g_mutex_trylock (&self->lock); spins++)
    {
      if (spins == LOOKUP_SPINS)
        {
          g_mutex_lock (&self->lock);
          return;
        }
      cpu_relax ();
    }
}

/**
 * coffer_files_cache_lookup:
 * @self: a #CofferFilesCache
 * @path: (nullable): a file's absolute path, or %NULL for a file with
 *   several names: its row is then the one of its filesystem id and inode,
 *   whichever name it was staged under
 * @stamp: what the file's stat says now
 *
 * Returns: (transfer full) (nullable): the chunk ids of the file's content
 *   when its stamp is unchanged, %NULL otherwise
 */
GArray *
coffer_files_cache_lookup (CofferFilesCache *self, const char *path, const CofferFileStamp *stamp)
{
  GArray *chunks = NULL;
  sqlite3_stmt *lookup;

  /* A first backup asks for every file: an empty cache answers at once
   * (it stays empty until the backup commits). */
  if (g_atomic_int_get (&self->empty))
    return NULL;
  lock_for_lookup (self);
  /* One read transaction for all of a backup's lookups: each lookup on
   * its own would ask the file's size and header again. */
  if (sqlite3_get_autocommit (self->db))
    sqlite3_exec (self->db, "BEGIN", NULL, NULL, NULL);
  lookup = path != NULL ? self->lookup : self->lookup_link;
  sqlite3_reset (lookup);
  if (path != NULL)
    sqlite3_bind_text (lookup, 1, path, -1, SQLITE_STATIC);
  else
    {
      sqlite3_bind_int64 (lookup, 1, stamp->fsid);
      sqlite3_bind_int64 (lookup, 2, stamp->inode);
    }
  if (sqlite3_step (lookup) == SQLITE_ROW &&
      (guint64) sqlite3_column_int64 (lookup, 0) == stamp->fsid &&
      (guint64) sqlite3_column_int64 (lookup, 1) == stamp->inode &&
      (guint64) sqlite3_column_int64 (lookup, 2) == stamp->size &&
      sqlite3_column_int64 (lookup, 3) == stamp->mtime_ns &&
      sqlite3_column_int64 (lookup, 4) == stamp->ctime_ns)
    {
      const void *blob = sqlite3_column_blob (lookup, 5);
      int bytes = sqlite3_column_bytes (lookup, 5);

      if (bytes % CHUNK_ID_SIZE == 0 && (blob != NULL || bytes == 0))
        {
          chunks = g_array_sized_new (FALSE, FALSE, CHUNK_ID_SIZE, bytes / CHUNK_ID_SIZE);
          g_array_append_vals (chunks, blob, bytes / CHUNK_ID_SIZE);
        }
    }
  sqlite3_reset (lookup);
  sqlite3_clear_bindings (lookup);
  g_mutex_unlock (&self->lock);
  return chunks;
}

/**
 * coffer_files_cache_stage:
 * @self: a #CofferFilesCache
 * @path: (nullable): a file's absolute path, or %NULL for a file with
 *   several names (see coffer_files_cache_lookup())
 * @stamp: its stamp when it was read
 * @chunks: its chunk ids
 *
 * Remembers a row for coffer_files_cache_commit(). Thread-safe.
 */
void
coffer_files_cache_stage (CofferFilesCache *self,
                          const char *path,
                          const CofferFileStamp *stamp,
                          GArray *chunks)
{
  StagedRow row = { g_strdup (path), *stamp, g_array_ref (chunks) };

  g_mutex_lock (&self->lock);
  g_array_append_val (self->staged, row);
  g_mutex_unlock (&self->lock);
}

/* Rows by path first, in its order, then the links table's rows in
 * theirs. */
static int
compare_rows (gconstpointer a, gconstpointer b)
{
  const StagedRow *x = a;
  const StagedRow *y = b;

  if (x->path != NULL && y->path != NULL)
    return strcmp (x->path, y->path);
  if (x->path != NULL || y->path != NULL)
    return x->path != NULL ? -1 : 1;
  if (x->stamp.fsid != y->stamp.fsid)
    return x->stamp.fsid < y->stamp.fsid ? -1 : 1;
  return x->stamp.inode < y->stamp.inode ? -1 : x->stamp.inode > y->stamp.inode;
}

/* Writes the staged rows, in the transaction it begins unless one is
 * already open (self->prepared). */
static gboolean
write_staged_locked (CofferFilesCache *self, GError **error)
{
  sqlite3_stmt *insert_file = NULL;
  sqlite3_stmt *insert_link = NULL;
  gboolean ok = TRUE;

  if (!self->prepared)
    {
      end_reading (self);
      ok = sqlite3_exec (self->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK;
      self->prepared = ok;
    }
  /* In the table's order, each row lands next to the one before: the
   * B-tree is walked and split far less than in the workers' order. */
  g_array_sort (self->staged, compare_rows);
  ok = ok &&
       sqlite3_prepare_v2 (self->db,
                           "INSERT OR REPLACE INTO files (path, fsid, inode, size, mtime_ns, "
                           "ctime_ns, chunks) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                           -1, &insert_file, NULL) == SQLITE_OK &&
       sqlite3_prepare_v2 (self->db,
                           "INSERT OR REPLACE INTO links (fsid, inode, size, mtime_ns, ctime_ns, "
                           "chunks) VALUES (?2, ?3, ?4, ?5, ?6, ?7)",
                           -1, &insert_link, NULL) == SQLITE_OK;
  for (guint i = 0; ok && i < self->staged->len; i++)
    {
      StagedRow *row = &g_array_index (self->staged, StagedRow, i);
      sqlite3_stmt *insert = row->path != NULL ? insert_file : insert_link;

      if (row->path != NULL)
        sqlite3_bind_text (insert, 1, row->path, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (insert, 2, row->stamp.fsid);
      sqlite3_bind_int64 (insert, 3, row->stamp.inode);
      sqlite3_bind_int64 (insert, 4, row->stamp.size);
      sqlite3_bind_int64 (insert, 5, row->stamp.mtime_ns);
      sqlite3_bind_int64 (insert, 6, row->stamp.ctime_ns);
      sqlite3_bind_blob (insert, 7, row->chunks->len > 0 ? row->chunks->data : "",
                         row->chunks->len * CHUNK_ID_SIZE, SQLITE_STATIC);
      ok = sqlite3_step (insert) == SQLITE_DONE;
      sqlite3_reset (insert);
    }
  sqlite3_finalize (insert_file);
  sqlite3_finalize (insert_link);
  if (!ok)
    {
      sqlite_error (self->db, "Cannot update", error);
      if (self->prepared)
        sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
      self->prepared = FALSE;
    }
  g_array_set_size (self->staged, 0);
  return ok;
}

/**
 * coffer_files_cache_prepare:
 * @self: a #CofferFilesCache
 * @error: return location for a #GError
 *
 * Writes the rows staged so far in a transaction that only
 * coffer_files_cache_commit() commits: until then no lookup, here or after
 * a crash, finds them, and coffer_files_cache_discard() or closing the
 * cache drops them. A backup calls it while its last packs are uploaded,
 * so that its commit at the end is short. Thread-safe.
 */
gboolean
coffer_files_cache_prepare (CofferFilesCache *self, GError **error)
{
  gboolean ok;

  g_mutex_lock (&self->lock);
  ok = write_staged_locked (self, error);
  g_mutex_unlock (&self->lock);
  return ok;
}

/**
 * coffer_files_cache_commit:
 * @self: a #CofferFilesCache
 * @error: return location for a #GError
 *
 * Writes every staged row, and commits them with those written by
 * coffer_files_cache_prepare(), in one transaction. Call it once the
 * recovery point naming their chunks is in the vault.
 */
gboolean
coffer_files_cache_commit (CofferFilesCache *self, GError **error)
{
  gboolean ok;

  g_mutex_lock (&self->lock);
  ok = write_staged_locked (self, error);
  if (ok && sqlite3_exec (self->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
    {
      ok = sqlite_error (self->db, "Cannot update", error);
      sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
    }
  self->prepared = FALSE;
  if (ok)
    g_atomic_int_set (&self->empty, !has_rows (self->db));
  g_mutex_unlock (&self->lock);
  return ok;
}

/**
 * coffer_files_cache_discard:
 * @self: a #CofferFilesCache
 *
 * Drops the staged rows and those written by coffer_files_cache_prepare():
 * the backup that staged them has failed.
 */
void
coffer_files_cache_discard (CofferFilesCache *self)
{
  g_mutex_lock (&self->lock);
  if (self->prepared)
    sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
  self->prepared = FALSE;
  g_array_set_size (self->staged, 0);
  g_mutex_unlock (&self->lock);
}

/* What coffer_files_cache_forget_missing() asks of each row's chunks. */
typedef struct
{
  gboolean (*has_chunk) (const guint8 *id, gpointer user_data);
  gpointer user_data;
} ChunkCheck;

/* The SQL function chunks_kept(chunks): 1 when every chunk id of the
 * blob is still there, 0 otherwise (or when the blob is damaged). */
static void
chunks_kept (sqlite3_context *context, int argc, sqlite3_value **argv)
{
  const ChunkCheck *check = sqlite3_user_data (context);
  const guint8 *blob = sqlite3_value_blob (argv[0]);
  int bytes = sqlite3_value_bytes (argv[0]);
  gboolean kept = bytes % CHUNK_ID_SIZE == 0 && (blob != NULL || bytes == 0);

  for (int at = 0; kept && at + CHUNK_ID_SIZE <= bytes; at += CHUNK_ID_SIZE)
    kept = check->has_chunk (blob + at, check->user_data);
  sqlite3_result_int (context, kept);
}

/**
 * coffer_files_cache_forget_missing:
 * @self: a #CofferFilesCache
 * @has_chunk: whether a chunk id (32 bytes) is still in the vault
 * @user_data: data for @has_chunk
 * @out_forgotten: (out) (optional): how many rows were dropped
 * @error: return location for a #GError
 *
 * Drops every row, of a path or of a file with several names, that names a
 * chunk @has_chunk no longer finds: prune calls it for the chunks it
 * deleted.
 */
gboolean
coffer_files_cache_forget_missing (CofferFilesCache *self,
                                   gboolean (*has_chunk) (const guint8 *id, gpointer user_data),
                                   gpointer user_data,
                                   guint *out_forgotten,
                                   GError **error)
{
  ChunkCheck check = { has_chunk, user_data };
  gboolean ok;
  int changes_before;

  g_mutex_lock (&self->lock);
  end_reading (self);
  changes_before = sqlite3_total_changes (self->db);
  ok = sqlite3_create_function (self->db, "chunks_kept", 1, SQLITE_UTF8, &check, chunks_kept, NULL,
                                NULL) == SQLITE_OK &&
       sqlite3_exec (self->db,
                     "BEGIN IMMEDIATE;"
                     "DELETE FROM files WHERE NOT chunks_kept (chunks);"
                     "DELETE FROM links WHERE NOT chunks_kept (chunks);"
                     "COMMIT",
                     NULL, NULL, NULL) == SQLITE_OK;
  if (!ok)
    {
      sqlite_error (self->db, "Cannot update", error);
      if (!sqlite3_get_autocommit (self->db))
        sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
    }
  else if (out_forgotten != NULL)
    *out_forgotten = sqlite3_total_changes (self->db) - changes_before;
  /* @check lives on this stack: the function must not outlive the call. */
  sqlite3_create_function (self->db, "chunks_kept", 1, SQLITE_UTF8, NULL, NULL, NULL, NULL);
  g_mutex_unlock (&self->lock);
  return ok;
}
