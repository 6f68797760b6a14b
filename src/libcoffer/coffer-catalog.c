/* coffer-catalog.c: the agent's catalog, an SQLite database in WAL mode.
 *
 * The catalog is not rebuildable (registration, settings, policy, job
 * history), so it lives in the state folder and never under the cache folder.
 * Its schema is versioned with PRAGMA user_version: each entry of migrations[]
 * moves the schema one version up, inside one transaction. A catalog whose
 * version is above the latest known one was written by a newer Coffer and is
 * left untouched.
 *
 * One CofferCatalog may be used from several threads; a mutex serialises
 * access to the connection.
 */
#include "config.h"

#include "coffer-catalog.h"

#include "coffer-error.h"
#include "coffer-paths.h"

#include <string.h>

#include <glib/gstdio.h>
#include <sqlite3.h>

struct _CofferCatalog
{
  GObject parent_instance;

  GMutex lock;
  sqlite3 *db;
  char *path;
  int schema_version;
};

G_DEFINE_FINAL_TYPE (CofferCatalog, coffer_catalog, G_TYPE_OBJECT)

/* Each entry takes the schema from version (index) to version (index + 1).
 * Never edit an entry that has shipped; append a new one. */
static const char *const migrations[] = {
  /* 0 → 1: settings and the registration record. */
  "CREATE TABLE settings ("
  "  key TEXT PRIMARY KEY NOT NULL,"
  "  value TEXT NOT NULL"
  ");"
  "CREATE TABLE registration ("
  "  id INTEGER PRIMARY KEY CHECK (id = 1),"
  "  vault_id TEXT NOT NULL,"
  "  vault_name TEXT NOT NULL,"
  "  machine_id TEXT NOT NULL,"
  "  machine_name TEXT NOT NULL,"
  "  instance_id TEXT NOT NULL,"
  "  storage_location TEXT NOT NULL,"
  "  registered_at INTEGER NOT NULL"
  ");",
  /* 1 → 2: the backup policy's items and rules. */
  "CREATE TABLE policy ("
  "  kind TEXT NOT NULL CHECK (kind IN ('item', 'exclude', 'include')),"
  "  value TEXT NOT NULL,"
  "  PRIMARY KEY (kind, value)"
  ");",
  /* 2 → 3: job history. */
  "CREATE TABLE jobs ("
  "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
  "  kind TEXT NOT NULL,"
  "  status TEXT NOT NULL,"
  "  phase TEXT NOT NULL DEFAULT '',"
  "  message TEXT NOT NULL DEFAULT '',"
  "  started_at INTEGER NOT NULL DEFAULT 0,"
  "  ended_at INTEGER NOT NULL DEFAULT 0,"
  "  bytes_scanned INTEGER NOT NULL DEFAULT 0,"
  "  bytes_sent INTEGER NOT NULL DEFAULT 0,"
  "  files_scanned INTEGER NOT NULL DEFAULT 0,"
  "  files_backed_up INTEGER NOT NULL DEFAULT 0,"
  "  files_failed INTEGER NOT NULL DEFAULT 0,"
  "  recovery_point TEXT NOT NULL DEFAULT ''"
  ");"
  "CREATE INDEX jobs_by_status ON jobs (status, id);"
  "CREATE TABLE job_failed_items ("
  "  job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,"
  "  seq INTEGER NOT NULL,"
  "  path TEXT NOT NULL,"
  "  reason TEXT NOT NULL,"
  "  PRIMARY KEY (job_id, seq)"
  ");",
  /* 3 → 4: the policy's schedule, retention and state, and the last
   * scheduled run the scheduler has dealt with (run or skipped). */
  "CREATE TABLE schedule ("
  "  id INTEGER PRIMARY KEY CHECK (id = 1),"
  "  kind TEXT NOT NULL DEFAULT 'none' CHECK (kind IN ('none', 'daily', 'weekly')),"
  "  times TEXT NOT NULL DEFAULT '',"
  "  weekdays INTEGER NOT NULL DEFAULT 0,"
  "  retain_daily INTEGER NOT NULL DEFAULT 30,"
  "  retain_weekly INTEGER NOT NULL DEFAULT 0,"
  "  retain_monthly INTEGER NOT NULL DEFAULT 0,"
  "  retain_yearly INTEGER NOT NULL DEFAULT 0,"
  "  state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'paused')),"
  "  last_considered INTEGER NOT NULL DEFAULT 0"
  ");"
  "INSERT INTO schedule (id) VALUES (1);",
  /* 4 → 5: the recovery points this agent wrote or saw, a witness the
   * check compares with the vault. */
  "CREATE TABLE points ("
  "  id TEXT PRIMARY KEY NOT NULL,"
  "  machine_id TEXT NOT NULL,"
  "  time INTEGER NOT NULL,"
  "  state TEXT NOT NULL DEFAULT 'stored'"
  "    CHECK (state IN ('stored', 'deleted', 'lost', 'replaced')),"
  "  replaced_by TEXT NOT NULL DEFAULT ''"
  ");"
  "CREATE INDEX points_by_machine ON points (machine_id, time);",
};

void
coffer_registration_free (CofferRegistration *registration)
{
  if (registration == NULL)
    return;

  g_free (registration->vault_id);
  g_free (registration->vault_name);
  g_free (registration->machine_id);
  g_free (registration->machine_name);
  g_free (registration->instance_id);
  g_free (registration->storage_location);
  g_free (registration);
}

static void
coffer_catalog_finalize (GObject *object)
{
  CofferCatalog *self = COFFER_CATALOG (object);

  g_clear_pointer (&self->db, sqlite3_close);
  g_clear_pointer (&self->path, g_free);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (coffer_catalog_parent_class)->finalize (object);
}

static void
coffer_catalog_class_init (CofferCatalogClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = coffer_catalog_finalize;
}

static void
coffer_catalog_init (CofferCatalog *self)
{
  g_mutex_init (&self->lock);
}

static gboolean
set_sqlite_error (CofferCatalog *self, GError **error, const char *what)
{
  g_set_error (error, COFFER_ERROR, COFFER_ERROR_FAILED, "%s in the catalog %s: %s", what,
               self->path, sqlite3_errmsg (self->db));
  return FALSE;
}

static gboolean
exec_locked (CofferCatalog *self, const char *sql, GError **error)
{
  char *message = NULL;

  if (sqlite3_exec (self->db, sql, NULL, NULL, &message) != SQLITE_OK)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_FAILED, "Cannot update the catalog %s: %s",
                   self->path, message != NULL ? message : "unknown error");
      sqlite3_free (message);
      return FALSE;
    }
  return TRUE;
}

static gboolean
read_user_version_locked (CofferCatalog *self, int *version, GError **error)
{
  sqlite3_stmt *stmt = NULL;
  gboolean ok = FALSE;

  if (sqlite3_prepare_v2 (self->db, "PRAGMA user_version", -1, &stmt, NULL) == SQLITE_OK &&
      sqlite3_step (stmt) == SQLITE_ROW)
    {
      *version = sqlite3_column_int (stmt, 0);
      ok = TRUE;
    }
  else
    set_sqlite_error (self, error, "Cannot read the schema version");

  sqlite3_finalize (stmt);
  return ok;
}

static gboolean
migrate_locked (CofferCatalog *self, GError **error)
{
  int version;

  if (!read_user_version_locked (self, &version, error))
    return FALSE;

  if (version > (int) G_N_ELEMENTS (migrations))
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_NEWER_FORMAT,
                   "The catalog %s was written by a newer version of Coffer (schema %d; "
                   "this version knows up to %d). Update Coffer to use it.",
                   self->path, version, (int) G_N_ELEMENTS (migrations));
      return FALSE;
    }

  for (; version < (int) G_N_ELEMENTS (migrations); version++)
    {
      g_autofree char *bump = g_strdup_printf ("PRAGMA user_version = %d", version + 1);

      if (!exec_locked (self, "BEGIN IMMEDIATE", error))
        return FALSE;
      if (!exec_locked (self, migrations[version], error) || !exec_locked (self, bump, error))
        {
          g_prefix_error (error, "Upgrading the catalog to schema %d: ", version + 1);
          exec_locked (self, "ROLLBACK", NULL);
          return FALSE;
        }
      if (!exec_locked (self, "COMMIT", error))
        return FALSE;
      g_debug ("Catalog %s upgraded to schema %d", self->path, version + 1);
    }

  self->schema_version = version;
  return TRUE;
}

static gboolean
enable_wal_locked (CofferCatalog *self, GError **error)
{
  sqlite3_stmt *stmt = NULL;
  gboolean ok = FALSE;

  if (sqlite3_prepare_v2 (self->db, "PRAGMA journal_mode = WAL", -1, &stmt, NULL) == SQLITE_OK &&
      sqlite3_step (stmt) == SQLITE_ROW)
    ok = g_ascii_strcasecmp ((const char *) sqlite3_column_text (stmt, 0), "wal") == 0;
  sqlite3_finalize (stmt);

  if (!ok)
    return set_sqlite_error (self, error, "Cannot turn on write-ahead logging");

  /* FULL: a recorded recovery point or job must survive a power cut. */
  return exec_locked (self, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON", error);
}

/**
 * coffer_catalog_open:
 * @state_dir: the state folder, usually coffer_paths_state_dir()
 * @error: return location for a #GError
 *
 * Opens (creating when missing) `catalog.sqlite` in @state_dir, which is
 * created 0700, and brings its schema up to date.
 *
 * Returns: (transfer full): the catalog, or %NULL with @error set
 */
CofferCatalog *
coffer_catalog_open (const char *state_dir, GError **error)
{
  g_autoptr (CofferCatalog) self = NULL;
  gboolean ok;

  g_return_val_if_fail (state_dir != NULL, NULL);

  if (!coffer_paths_ensure_private_dir (state_dir, error))
    {
      g_prefix_error (error, "Cannot open the catalog: ");
      return NULL;
    }

  self = g_object_new (COFFER_TYPE_CATALOG, NULL);
  self->path = g_build_filename (state_dir, COFFER_CATALOG_FILENAME, NULL);

  if (sqlite3_open_v2 (self->path, &self->db,
                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                       NULL) != SQLITE_OK)
    {
      set_sqlite_error (self, error, "Cannot open");
      return NULL;
    }
  g_chmod (self->path, 0600);
  sqlite3_busy_timeout (self->db, 5000);

  g_mutex_lock (&self->lock);
  ok = enable_wal_locked (self, error) && migrate_locked (self, error);
  g_mutex_unlock (&self->lock);

  return ok ? g_steal_pointer (&self) : NULL;
}

const char *
coffer_catalog_get_path (CofferCatalog *self)
{
  g_return_val_if_fail (COFFER_IS_CATALOG (self), NULL);

  return self->path;
}

int
coffer_catalog_get_schema_version (CofferCatalog *self)
{
  g_return_val_if_fail (COFFER_IS_CATALOG (self), -1);

  return self->schema_version;
}

int
coffer_catalog_latest_schema_version (void)
{
  return G_N_ELEMENTS (migrations);
}

static char *
column_dup (sqlite3_stmt *stmt, int column)
{
  return g_strdup ((const char *) sqlite3_column_text (stmt, column));
}

/**
 * coffer_catalog_get_setting:
 * @self: a #CofferCatalog
 * @key: the setting's name
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the setting's value; %NULL without
 *   @error set when the setting was never set
 */
char *
coffer_catalog_get_setting (CofferCatalog *self, const char *key, GError **error)
{
  sqlite3_stmt *stmt = NULL;
  char *value = NULL;
  int rc;

  g_return_val_if_fail (COFFER_IS_CATALOG (self), NULL);
  g_return_val_if_fail (key != NULL, NULL);

  g_mutex_lock (&self->lock);
  if (sqlite3_prepare_v2 (self->db, "SELECT value FROM settings WHERE key = ?1", -1, &stmt, NULL) !=
      SQLITE_OK)
    {
      set_sqlite_error (self, error, "Cannot read a setting");
      goto out;
    }
  sqlite3_bind_text (stmt, 1, key, -1, SQLITE_TRANSIENT);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    value = column_dup (stmt, 0);
  else if (rc != SQLITE_DONE)
    set_sqlite_error (self, error, "Cannot read a setting");

out:
  sqlite3_finalize (stmt);
  g_mutex_unlock (&self->lock);
  return value;
}

static gboolean
run_statement (
    CofferCatalog *self, const char *sql, const char *const *texts, guint n_texts, GError **error)
{
  sqlite3_stmt *stmt = NULL;
  gboolean ok;

  g_mutex_lock (&self->lock);
  ok = sqlite3_prepare_v2 (self->db, sql, -1, &stmt, NULL) == SQLITE_OK;
  for (guint i = 0; ok && i < n_texts; i++)
    ok = sqlite3_bind_text (stmt, i + 1, texts[i], -1, SQLITE_TRANSIENT) == SQLITE_OK;
  if (ok)
    ok = sqlite3_step (stmt) == SQLITE_DONE;
  if (!ok)
    set_sqlite_error (self, error, "Cannot write");
  sqlite3_finalize (stmt);
  g_mutex_unlock (&self->lock);
  return ok;
}

gboolean
coffer_catalog_set_setting (CofferCatalog *self, const char *key, const char *value, GError **error)
{
  const char *texts[] = { key, value };

  g_return_val_if_fail (COFFER_IS_CATALOG (self), FALSE);
  g_return_val_if_fail (key != NULL && value != NULL, FALSE);

  return run_statement (self,
                        "INSERT INTO settings (key, value) VALUES (?1, ?2) "
                        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        texts, G_N_ELEMENTS (texts), error);
}

gboolean
coffer_catalog_delete_setting (CofferCatalog *self, const char *key, GError **error)
{
  const char *texts[] = { key };

  g_return_val_if_fail (COFFER_IS_CATALOG (self), FALSE);
  g_return_val_if_fail (key != NULL, FALSE);

  return run_statement (self, "DELETE FROM settings WHERE key = ?1", texts, 1, error);
}

/**
 * coffer_catalog_set_settings:
 * @self: a #CofferCatalog
 * @keys: (array length=n_settings): the settings' names
 * @values: (array length=n_settings): their values; a %NULL value deletes
 *   its setting
 * @n_settings: how many
 * @error: return location for a #GError
 *
 * Sets (or deletes) every setting in one transaction: all of them, or none.
 */
gboolean
coffer_catalog_set_settings (CofferCatalog *self,
                             const char *const *keys,
                             const char *const *values,
                             guint n_settings,
                             GError **error)
{
  gboolean ok;

  g_return_val_if_fail (COFFER_IS_CATALOG (self), FALSE);

  g_mutex_lock (&self->lock);
  ok = exec_locked (self, "BEGIN IMMEDIATE", error);
  for (guint i = 0; ok && i < n_settings; i++)
    {
      sqlite3_stmt *stmt = NULL;

      ok = sqlite3_prepare_v2 (self->db,
                               values[i] != NULL
                                   ? "INSERT INTO settings (key, value) VALUES (?1, ?2) "
                                     "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
                                   : "DELETE FROM settings WHERE key = ?1",
                               -1, &stmt, NULL) == SQLITE_OK &&
           sqlite3_bind_text (stmt, 1, keys[i], -1, SQLITE_TRANSIENT) == SQLITE_OK &&
           (values[i] == NULL ||
            sqlite3_bind_text (stmt, 2, values[i], -1, SQLITE_TRANSIENT) == SQLITE_OK) &&
           sqlite3_step (stmt) == SQLITE_DONE;
      if (!ok)
        set_sqlite_error (self, error, "Cannot change the settings");
      sqlite3_finalize (stmt);
    }
  if (ok)
    ok = exec_locked (self, "COMMIT", error);
  else
    exec_locked (self, "ROLLBACK", NULL);
  g_mutex_unlock (&self->lock);
  return ok;
}

/**
 * coffer_catalog_get_registration:
 * @self: a #CofferCatalog
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): this machine's registration; %NULL
 *   without @error set when it is not registered
 */
CofferRegistration *
coffer_catalog_get_registration (CofferCatalog *self, GError **error)
{
  sqlite3_stmt *stmt = NULL;
  CofferRegistration *registration = NULL;
  int rc;

  g_return_val_if_fail (COFFER_IS_CATALOG (self), NULL);

  g_mutex_lock (&self->lock);
  if (sqlite3_prepare_v2 (self->db,
                          "SELECT vault_id, vault_name, machine_id, machine_name, instance_id, "
                          "storage_location, registered_at FROM registration WHERE id = 1",
                          -1, &stmt, NULL) != SQLITE_OK)
    {
      set_sqlite_error (self, error, "Cannot read the registration");
      goto out;
    }

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      registration = g_new0 (CofferRegistration, 1);
      registration->vault_id = column_dup (stmt, 0);
      registration->vault_name = column_dup (stmt, 1);
      registration->machine_id = column_dup (stmt, 2);
      registration->machine_name = column_dup (stmt, 3);
      registration->instance_id = column_dup (stmt, 4);
      registration->storage_location = column_dup (stmt, 5);
      registration->registered_at = sqlite3_column_int64 (stmt, 6);
    }
  else if (rc != SQLITE_DONE)
    set_sqlite_error (self, error, "Cannot read the registration");

out:
  sqlite3_finalize (stmt);
  g_mutex_unlock (&self->lock);
  return registration;
}

gboolean
coffer_catalog_set_registration (CofferCatalog *self,
                                 const CofferRegistration *registration,
                                 GError **error)
{
  sqlite3_stmt *stmt = NULL;
  gboolean ok;

  g_return_val_if_fail (COFFER_IS_CATALOG (self), FALSE);
  g_return_val_if_fail (registration != NULL, FALSE);

  g_mutex_lock (&self->lock);
  ok = sqlite3_prepare_v2 (self->db,
                           "INSERT OR REPLACE INTO registration (id, vault_id, vault_name, "
                           "machine_id, machine_name, instance_id, storage_location, "
                           "registered_at) VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                           -1, &stmt, NULL) == SQLITE_OK;
  if (ok)
    {
      sqlite3_bind_text (stmt, 1, registration->vault_id, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text (stmt, 2, registration->vault_name, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text (stmt, 3, registration->machine_id, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text (stmt, 4, registration->machine_name, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text (stmt, 5, registration->instance_id, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text (stmt, 6, registration->storage_location, -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64 (stmt, 7, registration->registered_at);
      ok = sqlite3_step (stmt) == SQLITE_DONE;
    }
  if (!ok)
    set_sqlite_error (self, error, "Cannot record the registration");
  sqlite3_finalize (stmt);
  g_mutex_unlock (&self->lock);
  return ok;
}

gboolean
coffer_catalog_clear_registration (CofferCatalog *self, GError **error)
{
  g_return_val_if_fail (COFFER_IS_CATALOG (self), FALSE);

  return run_statement (self, "DELETE FROM registration", NULL, 0, error);
}

/**
 * coffer_catalog_get_policy:
 * @self: a #CofferCatalog
 * @kind: "item", "exclude" or "include"
 * @error: return location for a #GError
 *
 * Returns: (transfer container) (element-type utf8): the values of @kind,
 *   sorted
 */
GPtrArray *
coffer_catalog_get_policy (CofferCatalog *self, const char *kind, GError **error)
{
  g_autoptr (GPtrArray) values = g_ptr_array_new_with_free_func (g_free);
  sqlite3_stmt *stmt = NULL;
  gboolean ok;
  int rc;

  g_return_val_if_fail (COFFER_IS_CATALOG (self), NULL);

  g_mutex_lock (&self->lock);
  ok = sqlite3_prepare_v2 (self->db, "SELECT value FROM policy WHERE kind = ?1 ORDER BY value", -1,
                           &stmt, NULL) == SQLITE_OK;
  if (ok)
    {
      sqlite3_bind_text (stmt, 1, kind, -1, SQLITE_TRANSIENT);
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        g_ptr_array_add (values, column_dup (stmt, 0));
      ok = rc == SQLITE_DONE;
    }
  if (!ok)
    set_sqlite_error (self, error, "Cannot read the backup policy");
  sqlite3_finalize (stmt);
  g_mutex_unlock (&self->lock);
  return ok ? g_steal_pointer (&values) : NULL;
}

/**
 * coffer_catalog_edit_policy:
 * @self: a #CofferCatalog
 * @edits: (array length=n_edits): what to add and remove
 * @n_edits: how many
 * @error: return location for a #GError
 *
 * Applies every edit in one transaction: all of them, or none. Adding a
 * value that is there, or removing one that is not, changes nothing.
 */
gboolean
coffer_catalog_edit_policy (CofferCatalog *self,
                            const CofferPolicyEdit *edits,
                            guint n_edits,
                            GError **error)
{
  gboolean ok;

  g_return_val_if_fail (COFFER_IS_CATALOG (self), FALSE);

  g_mutex_lock (&self->lock);
  ok = exec_locked (self, "BEGIN IMMEDIATE", error);
  for (guint i = 0; ok && i < n_edits; i++)
    {
      sqlite3_stmt *stmt = NULL;

      ok = sqlite3_prepare_v2 (
               self->db,
               edits[i].add
                   ? "INSERT INTO policy (kind, value) VALUES (?1, ?2) ON CONFLICT DO NOTHING"
                   : "DELETE FROM policy WHERE kind = ?1 AND value = ?2",
               -1, &stmt, NULL) == SQLITE_OK &&
           sqlite3_bind_text (stmt, 1, edits[i].kind, -1, SQLITE_TRANSIENT) == SQLITE_OK &&
           sqlite3_bind_text (stmt, 2, edits[i].value, -1, SQLITE_TRANSIENT) == SQLITE_OK &&
           sqlite3_step (stmt) == SQLITE_DONE;
      if (!ok)
        set_sqlite_error (self, error, "Cannot change the backup policy");
      sqlite3_finalize (stmt);
    }
  if (ok)
    ok = exec_locked (self, "COMMIT", error);
  else
    exec_locked (self, "ROLLBACK", NULL);
  g_mutex_unlock (&self->lock);
  return ok;
}

void
coffer_job_record_free (CofferJobRecord *record)
{
  if (record == NULL)
    return;

  g_free (record->kind);
  g_free (record->status);
  g_free (record->phase);
  g_free (record->message);
  g_free (record->recovery_point);
  g_free (record);
}

/**
 * coffer_catalog_add_job:
 * @self: a #CofferCatalog
 * @record: the new job; its id is set
 * @error: return location for a #GError
 *
 * Records a new job.
 */
gboolean
coffer_catalog_add_job (CofferCatalog *self, CofferJobRecord *record, GError **error)
{
  sqlite3_stmt *stmt = NULL;
  gboolean ok;

  g_return_val_if_fail (COFFER_IS_CATALOG (self), FALSE);

  g_mutex_lock (&self->lock);
  ok = sqlite3_prepare_v2 (self->db,
                           "INSERT INTO jobs (kind, status, phase, started_at) "
                           "VALUES (?1, ?2, ?3, ?4)",
                           -1, &stmt, NULL) == SQLITE_OK &&
       sqlite3_bind_text (stmt, 1, record->kind, -1, SQLITE_TRANSIENT) == SQLITE_OK &&
       sqlite3_bind_text (stmt, 2, record->status, -1, SQLITE_TRANSIENT) == SQLITE_OK &&
       sqlite3_bind_text (stmt, 3, record->phase != NULL ? record->phase : "", -1,
                          SQLITE_TRANSIENT) == SQLITE_OK &&
       sqlite3_bind_int64 (stmt, 4, record->started_at) == SQLITE_OK &&
       sqlite3_step (stmt) == SQLITE_DONE;
  if (ok)
    record->id = sqlite3_last_insert_rowid (self->db);
  else
    set_sqlite_error (self, error, "Cannot record a job");
  sqlite3_finalize (stmt);
  g_mutex_unlock (&self->lock);
  return ok;
}

/**
 * coffer_catalog_update_job:
 * @self: a #CofferCatalog
 * @record: the job, as it is now
 * @error: return location for a #GError
 */
gboolean
coffer_catalog_update_job (CofferCatalog *self, const CofferJobRecord *record, GError **error)
{
  sqlite3_stmt *stmt = NULL;
  gboolean ok;

  g_return_val_if_fail (COFFER_IS_CATALOG (self), FALSE);

  g_mutex_lock (&self->lock);
  ok = sqlite3_prepare_v2 (self->db,
                           "UPDATE jobs SET status = ?2, phase = ?3, message = ?4, ended_at = ?5, "
                           "bytes_scanned = ?6, bytes_sent = ?7, files_scanned = ?8, "
                           "files_backed_up = ?9, files_failed = ?10, recovery_point = ?11 "
                           "WHERE id = ?1",
                           -1, &stmt, NULL) == SQLITE_OK;
  if (ok)
    {
      sqlite3_bind_int64 (stmt, 1, record->id);
      sqlite3_bind_text (stmt, 2, record->status, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text (stmt, 3, record->phase != NULL ? record->phase : "", -1, SQLITE_TRANSIENT);
      sqlite3_bind_text (stmt, 4, record->message != NULL ? record->message : "", -1,
                         SQLITE_TRANSIENT);
      sqlite3_bind_int64 (stmt, 5, record->ended_at);
      sqlite3_bind_int64 (stmt, 6, record->bytes_scanned);
      sqlite3_bind_int64 (stmt, 7, record->bytes_sent);
      sqlite3_bind_int64 (stmt, 8, record->files_scanned);
      sqlite3_bind_int64 (stmt, 9, record->files_backed_up);
      sqlite3_bind_int64 (stmt, 10, record->files_failed);
      sqlite3_bind_text (stmt, 11, record->recovery_point != NULL ? record->recovery_point : "", -1,
                         SQLITE_TRANSIENT);
      ok = sqlite3_step (stmt) == SQLITE_DONE;
    }
  if (!ok)
    set_sqlite_error (self, error, "Cannot record a job");
  sqlite3_finalize (stmt);
  g_mutex_unlock (&self->lock);
  return ok;
}

/**
 * coffer_catalog_add_failed_items:
 * @self: a #CofferCatalog
 * @job_id: the job
 * @paths: (array length=n_items): what failed
 * @reasons: (array length=n_items): why
 * @n_items: how many
 * @error: return location for a #GError
 *
 * Records a job's failed items, at most %COFFER_JOB_MAX_FAILED_ITEMS of them.
 */
gboolean
coffer_catalog_add_failed_items (CofferCatalog *self,
                                 gint64 job_id,
                                 const char *const *paths,
                                 const char *const *reasons,
                                 guint n_items,
                                 GError **error)
{
  sqlite3_stmt *stmt = NULL;
  gboolean ok;

  g_mutex_lock (&self->lock);
  ok = exec_locked (self, "BEGIN IMMEDIATE", error) &&
       sqlite3_prepare_v2 (self->db,
                           "INSERT INTO job_failed_items (job_id, seq, path, reason) "
                           "VALUES (?1, ?2, ?3, ?4)",
                           -1, &stmt, NULL) == SQLITE_OK;
  for (guint i = 0; ok && i < MIN (n_items, COFFER_JOB_MAX_FAILED_ITEMS); i++)
    {
      sqlite3_bind_int64 (stmt, 1, job_id);
      sqlite3_bind_int64 (stmt, 2, i);
      sqlite3_bind_text (stmt, 3, paths[i], -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 4, reasons[i], -1, SQLITE_STATIC);
      ok = sqlite3_step (stmt) == SQLITE_DONE;
      sqlite3_reset (stmt);
    }
  sqlite3_finalize (stmt);
  if (ok)
    ok = exec_locked (self, "COMMIT", error);
  else
    {
      set_sqlite_error (self, error, "Cannot record failed items");
      exec_locked (self, "ROLLBACK", NULL);
    }
  g_mutex_unlock (&self->lock);
  return ok;
}

static CofferJobRecord *
job_from_row (sqlite3_stmt *stmt)
{
  CofferJobRecord *record = g_new0 (CofferJobRecord, 1);

  record->id = sqlite3_column_int64 (stmt, 0);
  record->kind = column_dup (stmt, 1);
  record->status = column_dup (stmt, 2);
  record->phase = column_dup (stmt, 3);
  record->message = column_dup (stmt, 4);
  record->started_at = sqlite3_column_int64 (stmt, 5);
  record->ended_at = sqlite3_column_int64 (stmt, 6);
  record->bytes_scanned = sqlite3_column_int64 (stmt, 7);
  record->bytes_sent = sqlite3_column_int64 (stmt, 8);
  record->files_scanned = sqlite3_column_int64 (stmt, 9);
  record->files_backed_up = sqlite3_column_int64 (stmt, 10);
  record->files_failed = sqlite3_column_int64 (stmt, 11);
  record->recovery_point = column_dup (stmt, 12);
  return record;
}

#define JOB_COLUMNS                                                                                \
  "id, kind, status, phase, message, started_at, ended_at, bytes_scanned, bytes_sent, "            \
  "files_scanned, files_backed_up, files_failed, recovery_point"

/**
 * coffer_catalog_list_jobs:
 * @self: a #CofferCatalog
 * @offset: how many of the newest to skip
 * @limit: how many at most
 * @status: (nullable): only this status; %NULL or "" for all
 * @error: return location for a #GError
 *
 * Returns: (transfer container) (element-type CofferJobRecord): the jobs,
 *   newest first
 */
GPtrArray *
coffer_catalog_list_jobs (
    CofferCatalog *self, guint64 offset, guint limit, const char *status, GError **error)
{
  g_autoptr (GPtrArray) jobs =
      g_ptr_array_new_with_free_func ((GDestroyNotify) coffer_job_record_free);
  sqlite3_stmt *stmt = NULL;
  gboolean ok;
  int rc;

  g_mutex_lock (&self->lock);
  ok = sqlite3_prepare_v2 (self->db,
                           "SELECT " JOB_COLUMNS " FROM jobs WHERE ?1 = '' OR status = ?1 "
                           "ORDER BY id DESC LIMIT ?2 OFFSET ?3",
                           -1, &stmt, NULL) == SQLITE_OK;
  if (ok)
    {
      sqlite3_bind_text (stmt, 1, status != NULL ? status : "", -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64 (stmt, 2, limit);
      sqlite3_bind_int64 (stmt, 3, offset);
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        g_ptr_array_add (jobs, job_from_row (stmt));
      ok = rc == SQLITE_DONE;
    }
  if (!ok)
    set_sqlite_error (self, error, "Cannot read the job history");
  sqlite3_finalize (stmt);
  g_mutex_unlock (&self->lock);
  return ok ? g_steal_pointer (&jobs) : NULL;
}

/**
 * coffer_catalog_get_job:
 * @self: a #CofferCatalog
 * @id: a job number
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the job; %COFFER_ERROR_NOT_FOUND when there is none
 */
CofferJobRecord *
coffer_catalog_get_job (CofferCatalog *self, gint64 id, GError **error)
{
  CofferJobRecord *record = NULL;
  sqlite3_stmt *stmt = NULL;
  int rc = SQLITE_ERROR;

  g_mutex_lock (&self->lock);
  if (sqlite3_prepare_v2 (self->db, "SELECT " JOB_COLUMNS " FROM jobs WHERE id = ?1", -1, &stmt,
                          NULL) == SQLITE_OK)
    {
      sqlite3_bind_int64 (stmt, 1, id);
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW)
        record = job_from_row (stmt);
    }
  if (rc == SQLITE_DONE)
    g_set_error (error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND,
                 "There is no job %" G_GINT64_FORMAT ".", id);
  else if (rc != SQLITE_ROW)
    set_sqlite_error (self, error, "Cannot read a job");
  sqlite3_finalize (stmt);
  g_mutex_unlock (&self->lock);
  return record;
}

/**
 * coffer_catalog_get_failed_items:
 * @self: a #CofferCatalog
 * @job_id: the job
 * @offset: how many to skip
 * @limit: how many at most
 * @out_total: (out): how many the job has
 * @error: return location for a #GError
 *
 * Returns: (transfer container) (element-type utf8): path, reason, path,
 *   reason…
 */
GPtrArray *
coffer_catalog_get_failed_items (
    CofferCatalog *self, gint64 job_id, guint offset, guint limit, guint *out_total, GError **error)
{
  g_autoptr (GPtrArray) items = g_ptr_array_new_with_free_func (g_free);
  sqlite3_stmt *stmt = NULL;
  gboolean ok;
  int rc;

  g_mutex_lock (&self->lock);
  ok = sqlite3_prepare_v2 (self->db,
                           "SELECT path, reason, (SELECT COUNT (*) FROM job_failed_items "
                           "WHERE job_id = ?1) FROM job_failed_items WHERE job_id = ?1 "
                           "ORDER BY seq LIMIT ?2 OFFSET ?3",
                           -1, &stmt, NULL) == SQLITE_OK;
  *out_total = 0;
  if (ok)
    {
      sqlite3_bind_int64 (stmt, 1, job_id);
      sqlite3_bind_int64 (stmt, 2, limit);
      sqlite3_bind_int64 (stmt, 3, offset);
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        {
          g_ptr_array_add (items, column_dup (stmt, 0));
          g_ptr_array_add (items, column_dup (stmt, 1));
          *out_total = sqlite3_column_int (stmt, 2);
        }
      ok = rc == SQLITE_DONE;
    }
  if (!ok)
    set_sqlite_error (self, error, "Cannot read the failed items");
  sqlite3_finalize (stmt);
  g_mutex_unlock (&self->lock);
  return ok ? g_steal_pointer (&items) : NULL;
}

/**
 * coffer_catalog_fail_interrupted_jobs:
 * @self: a #CofferCatalog
 * @message: why they failed
 * @error: return location for a #GError
 *
 * Marks every job still queued or running as failed with @message: at the
 * agent's start, those are jobs the agent was stopped or killed in.
 */
gboolean
coffer_catalog_fail_interrupted_jobs (CofferCatalog *self, const char *message, GError **error)
{
  const char *texts[] = { message };

  return run_statement (self,
                        "UPDATE jobs SET status = 'failed', message = ?1, "
                        "ended_at = CAST (strftime ('%s', 'now') AS INTEGER) "
                        "WHERE status IN ('queued', 'running')",
                        texts, 1, error);
}

/**
 * coffer_catalog_get_schedule:
 * @self: a #CofferCatalog
 * @out_schedule: (out caller-allocates): the policy's schedule and retention
 * @out_last_considered: (out) (optional): the last scheduled run the
 *   scheduler dealt with, Unix seconds, 0 for none
 * @error: return location for a #GError
 */
gboolean
coffer_catalog_get_schedule (CofferCatalog *self,
                             CofferSchedule *out_schedule,
                             gint64 *out_last_considered,
                             GError **error)
{
  sqlite3_stmt *stmt = NULL;
  gboolean ok;

  g_return_val_if_fail (COFFER_IS_CATALOG (self), FALSE);

  coffer_schedule_init_default (out_schedule);
  if (out_last_considered != NULL)
    *out_last_considered = 0;
  g_mutex_lock (&self->lock);
  ok = sqlite3_prepare_v2 (self->db,
                           "SELECT kind, times, weekdays, retain_daily, retain_weekly, "
                           "retain_monthly, retain_yearly, state, last_considered "
                           "FROM schedule WHERE id = 1",
                           -1, &stmt, NULL) == SQLITE_OK &&
       sqlite3_step (stmt) == SQLITE_ROW;
  if (ok)
    {
      const char *times = (const char *) sqlite3_column_text (stmt, 1);
      g_auto (GStrv) parts = g_strsplit (times != NULL ? times : "", ",", -1);

      coffer_schedule_kind_from_string ((const char *) sqlite3_column_text (stmt, 0),
                                        &out_schedule->kind);
      for (guint i = 0; parts[i] != NULL; i++)
        if (*parts[i] != '\0' && out_schedule->n_times < COFFER_SCHEDULE_MAX_TIMES &&
            coffer_schedule_parse_time (parts[i], &out_schedule->times[out_schedule->n_times],
                                        NULL))
          out_schedule->n_times++;
      out_schedule->weekdays = sqlite3_column_int (stmt, 2) & 0x7f;
      out_schedule->retain_daily = sqlite3_column_int64 (stmt, 3);
      out_schedule->retain_weekly = sqlite3_column_int64 (stmt, 4);
      out_schedule->retain_monthly = sqlite3_column_int64 (stmt, 5);
      out_schedule->retain_yearly = sqlite3_column_int64 (stmt, 6);
      out_schedule->paused =
          g_strcmp0 ((const char *) sqlite3_column_text (stmt, 7), "paused") == 0;
      if (out_last_considered != NULL)
        *out_last_considered = sqlite3_column_int64 (stmt, 8);
    }
  else
    set_sqlite_error (self, error, "Cannot read the backup schedule");
  sqlite3_finalize (stmt);
  g_mutex_unlock (&self->lock);
  return ok;
}

static char *
times_text (const CofferSchedule *schedule)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < schedule->n_times; i++)
    {
      g_autofree char *time = coffer_schedule_format_time (schedule->times[i]);
      g_string_append_printf (text, "%s%s", i > 0 ? "," : "", time);
    }
  return g_string_free (text, FALSE);
}

/**
 * coffer_catalog_set_schedule:
 * @self: a #CofferCatalog
 * @schedule: the schedule, retention and state to record
 * @last_considered: Unix seconds to record as the last scheduled run dealt
 *   with, or -1 to leave it
 * @error: return location for a #GError
 *
 * Records @schedule as it is: check it with coffer_schedule_check() first.
 */
gboolean
coffer_catalog_set_schedule (CofferCatalog *self,
                             const CofferSchedule *schedule,
                             gint64 last_considered,
                             GError **error)
{
  g_autofree char *times = times_text (schedule);
  sqlite3_stmt *stmt = NULL;
  gboolean ok;

  g_return_val_if_fail (COFFER_IS_CATALOG (self), FALSE);

  g_mutex_lock (&self->lock);
  ok = sqlite3_prepare_v2 (
           self->db,
           "UPDATE schedule SET kind = ?1, times = ?2, weekdays = ?3, retain_daily = ?4, "
           "retain_weekly = ?5, retain_monthly = ?6, retain_yearly = ?7, state = ?8, "
           "last_considered = CASE WHEN ?9 < 0 THEN last_considered ELSE ?9 END WHERE id = 1",
           -1, &stmt, NULL) == SQLITE_OK &&
       sqlite3_bind_text (stmt, 1, coffer_schedule_kind_to_string (schedule->kind), -1,
                          SQLITE_STATIC) == SQLITE_OK &&
       sqlite3_bind_text (stmt, 2, times, -1, SQLITE_STATIC) == SQLITE_OK &&
       sqlite3_bind_int (stmt, 3, schedule->weekdays) == SQLITE_OK &&
       sqlite3_bind_int64 (stmt, 4, schedule->retain_daily) == SQLITE_OK &&
       sqlite3_bind_int64 (stmt, 5, schedule->retain_weekly) == SQLITE_OK &&
       sqlite3_bind_int64 (stmt, 6, schedule->retain_monthly) == SQLITE_OK &&
       sqlite3_bind_int64 (stmt, 7, schedule->retain_yearly) == SQLITE_OK &&
       sqlite3_bind_text (stmt, 8, schedule->paused ? "paused" : "active", -1, SQLITE_STATIC) ==
           SQLITE_OK &&
       sqlite3_bind_int64 (stmt, 9, last_considered) == SQLITE_OK &&
       sqlite3_step (stmt) == SQLITE_DONE;
  if (!ok)
    set_sqlite_error (self, error, "Cannot change the backup schedule");
  sqlite3_finalize (stmt);
  g_mutex_unlock (&self->lock);
  return ok;
}

/**
 * coffer_catalog_clear_policy:
 * @self: a #CofferCatalog
 * @error: return location for a #GError
 *
 * Removes the whole policy at once: items, exclusions, inclusions, the
 * schedule (back to none, active) and the retention (back to the default).
 */
gboolean
coffer_catalog_clear_policy (CofferCatalog *self, GError **error)
{
  gboolean ok;

  g_return_val_if_fail (COFFER_IS_CATALOG (self), FALSE);

  g_mutex_lock (&self->lock);
  ok = exec_locked (self,
                    "BEGIN IMMEDIATE;"
                    "DELETE FROM policy;"
                    "DELETE FROM schedule;"
                    "INSERT INTO schedule (id) VALUES (1);"
                    "COMMIT;",
                    error);
  if (!ok)
    exec_locked (self, "ROLLBACK", NULL);
  g_mutex_unlock (&self->lock);
  return ok;
}

/* ---- Recovery points ------------------------------------------------------ */

void
coffer_catalog_point_free (CofferCatalogPoint *point)
{
  if (point == NULL)
    return;
  g_free (point->id);
  g_free (point->state);
  g_free (point->replaced_by);
  g_free (point);
}

/**
 * coffer_catalog_add_point:
 * @self: a #CofferCatalog
 * @machine_id: whose point
 * @id: the point's id
 * @time: its time, Unix seconds
 * @error: return location for a #GError
 *
 * Records a point as stored in the vault; a point recorded already keeps
 * its state.
 */
gboolean
coffer_catalog_add_point (
    CofferCatalog *self, const char *machine_id, const char *id, gint64 time, GError **error)
{
  g_autofree char *time_text = g_strdup_printf ("%" G_GINT64_FORMAT, time);
  const char *texts[] = { id, machine_id, time_text };

  g_return_val_if_fail (COFFER_IS_CATALOG (self), FALSE);
  g_return_val_if_fail (machine_id != NULL && id != NULL, FALSE);

  return run_statement (self,
                        "INSERT INTO points (id, machine_id, time) VALUES (?1, ?2, CAST (?3 AS "
                        "INTEGER)) ON CONFLICT (id) DO NOTHING",
                        texts, G_N_ELEMENTS (texts), error);
}

/**
 * coffer_catalog_set_point_state:
 * @self: a #CofferCatalog
 * @id: a point's id
 * @state: "stored", "deleted" (by a prune), "lost" (found missing and
 *   given up by a repair) or "replaced" (rewritten by a repair)
 * @replaced_by: (nullable): with "replaced", the new point's id
 * @error: return location for a #GError
 */
gboolean
coffer_catalog_set_point_state (
    CofferCatalog *self, const char *id, const char *state, const char *replaced_by, GError **error)
{
  const char *texts[] = { id, state, replaced_by != NULL ? replaced_by : "" };

  g_return_val_if_fail (COFFER_IS_CATALOG (self), FALSE);
  g_return_val_if_fail (id != NULL && state != NULL, FALSE);

  return run_statement (self, "UPDATE points SET state = ?2, replaced_by = ?3 WHERE id = ?1", texts,
                        G_N_ELEMENTS (texts), error);
}

/**
 * coffer_catalog_list_points:
 * @self: a #CofferCatalog
 * @machine_id: whose points
 * @error: return location for a #GError
 *
 * Returns: (transfer container) (element-type CofferCatalogPoint): every
 *   point recorded for the machine, oldest first, or %NULL with @error set
 */
GPtrArray *
coffer_catalog_list_points (CofferCatalog *self, const char *machine_id, GError **error)
{
  g_autoptr (GPtrArray) points =
      g_ptr_array_new_with_free_func ((GDestroyNotify) coffer_catalog_point_free);
  sqlite3_stmt *stmt = NULL;
  gboolean ok;
  int rc = SQLITE_DONE;

  g_return_val_if_fail (COFFER_IS_CATALOG (self), NULL);
  g_return_val_if_fail (machine_id != NULL, NULL);

  g_mutex_lock (&self->lock);
  ok = sqlite3_prepare_v2 (self->db,
                           "SELECT id, time, state, replaced_by FROM points WHERE machine_id = ?1 "
                           "ORDER BY time, id",
                           -1, &stmt, NULL) == SQLITE_OK &&
       sqlite3_bind_text (stmt, 1, machine_id, -1, SQLITE_TRANSIENT) == SQLITE_OK;
  while (ok && (rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      CofferCatalogPoint *point = g_new0 (CofferCatalogPoint, 1);

      point->id = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
      point->time = sqlite3_column_int64 (stmt, 1);
      point->state = g_strdup ((const char *) sqlite3_column_text (stmt, 2));
      point->replaced_by = g_strdup ((const char *) sqlite3_column_text (stmt, 3));
      g_ptr_array_add (points, point);
    }
  if (!ok || rc != SQLITE_DONE)
    {
      set_sqlite_error (self, error, "Cannot read");
      ok = FALSE;
    }
  sqlite3_finalize (stmt);
  g_mutex_unlock (&self->lock);
  return ok ? g_steal_pointer (&points) : NULL;
}
