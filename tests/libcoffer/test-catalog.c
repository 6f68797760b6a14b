/* test-catalog.c: the catalog keeps what the agent records, privately. */
#include "config.h"

#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>

#include "coffer.h"

static char *
make_state_dir (void)
{
  /* G_TEST_OPTION_ISOLATE_DIRS gives each test its own state home. */
  return coffer_paths_state_dir ();
}

static int
read_user_version (const char *path)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  int version = -1;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "PRAGMA user_version", -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  version = sqlite3_column_int (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return version;
}

static void
exec_sql (const char *path, const char *sql)
{
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
}

static void
test_creates_private_state_folder (void)
{
  g_autofree char *state_dir = make_state_dir ();
  g_autoptr (CofferCatalog) catalog = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *wal = NULL;
  GStatBuf st;

  g_assert_false (g_file_test (state_dir, G_FILE_TEST_EXISTS));
  catalog = coffer_catalog_open (state_dir, &error);
  g_assert_no_error (error);

  g_assert_cmpint (g_stat (state_dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
  g_assert_cmpint (g_stat (coffer_catalog_get_path (catalog), &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0077, ==, 0);

  g_assert_cmpint (coffer_catalog_get_schema_version (catalog), ==,
                   coffer_catalog_latest_schema_version ());
  g_assert_cmpint (read_user_version (coffer_catalog_get_path (catalog)), ==,
                   coffer_catalog_latest_schema_version ());

  /* Write-ahead logging: a write leaves a -wal file beside the database. */
  g_assert_true (coffer_catalog_set_setting (catalog, "probe", "1", &error));
  wal = g_strconcat (coffer_catalog_get_path (catalog), "-wal", NULL);
  g_assert_true (g_file_test (wal, G_FILE_TEST_EXISTS));
}

static void
test_tightens_loose_state_folder (void)
{
  g_autofree char *state_dir = make_state_dir ();
  g_autoptr (CofferCatalog) catalog = NULL;
  g_autoptr (GError) error = NULL;
  GStatBuf st;

  g_assert_cmpint (g_mkdir_with_parents (state_dir, 0755), ==, 0);
  catalog = coffer_catalog_open (state_dir, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (state_dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
}

static void
test_settings_survive_reopening (void)
{
  g_autofree char *state_dir = make_state_dir ();
  g_autoptr (GError) error = NULL;
  g_autofree char *value = NULL;
  g_autofree char *missing = NULL;

  {
    g_autoptr (CofferCatalog) catalog = coffer_catalog_open (state_dir, &error);
    g_assert_no_error (error);
    g_assert_true (coffer_catalog_set_setting (catalog, "throttle", "off", &error));
    g_assert_true (coffer_catalog_set_setting (catalog, "throttle", "on", &error));
    g_assert_true (coffer_catalog_set_setting (catalog, "gone", "x", &error));
    g_assert_true (coffer_catalog_delete_setting (catalog, "gone", &error));
    g_assert_no_error (error);
  }

  {
    g_autoptr (CofferCatalog) catalog = coffer_catalog_open (state_dir, &error);
    g_assert_no_error (error);
    value = coffer_catalog_get_setting (catalog, "throttle", &error);
    g_assert_no_error (error);
    g_assert_cmpstr (value, ==, "on");
    missing = coffer_catalog_get_setting (catalog, "gone", &error);
    g_assert_no_error (error);
    g_assert_null (missing);
  }
}

static void
test_schedule_round_trip (void)
{
  g_autofree char *state_dir = make_state_dir ();
  g_autoptr (GError) error = NULL;
  const char *times[] = { "21:00", "06:30", NULL };
  const char *days[] = { "mon", "sun", NULL };
  CofferSchedule schedule, read;
  gint64 last;

  {
    g_autoptr (CofferCatalog) catalog = coffer_catalog_open (state_dir, &error);
    CofferPolicyEdit edit = { "item", "/srv", TRUE };

    g_assert_no_error (error);
    /* A new catalog: no schedule, daily points kept 30 days once there is one. */
    g_assert_true (coffer_catalog_get_schedule (catalog, &read, &last, &error));
    g_assert_cmpint (read.kind, ==, COFFER_SCHEDULE_NONE);
    g_assert_cmpuint (read.retain_daily, ==, 30);
    g_assert_false (read.paused);
    g_assert_cmpint (last, ==, 0);

    coffer_schedule_init_default (&schedule);
    schedule.kind = COFFER_SCHEDULE_WEEKLY;
    g_assert_true (coffer_schedule_set_times (&schedule, times, &error));
    g_assert_true (coffer_schedule_set_weekdays (&schedule, days, &error));
    schedule.retain_weekly = 5163;
    schedule.retain_yearly = 99;
    schedule.paused = TRUE;
    g_assert_true (coffer_catalog_set_schedule (catalog, &schedule, 1234, &error));
    g_assert_true (coffer_catalog_edit_policy (catalog, &edit, 1, &error));
    g_assert_no_error (error);
  }

  {
    g_autoptr (CofferCatalog) catalog = coffer_catalog_open (state_dir, &error);
    g_autoptr (GPtrArray) items = NULL;

    g_assert_true (coffer_catalog_get_schedule (catalog, &read, &last, &error));
    g_assert_no_error (error);
    g_assert_cmpmem (&read, sizeof read, &schedule, sizeof schedule);
    g_assert_cmpint (last, ==, 1234);
    /* -1 leaves the last run considered as it was. */
    g_assert_true (coffer_catalog_set_schedule (catalog, &schedule, -1, &error));
    g_assert_true (coffer_catalog_get_schedule (catalog, &read, &last, &error));
    g_assert_cmpint (last, ==, 1234);

    /* Stopping the policy removes all of it. */
    g_assert_true (coffer_catalog_clear_policy (catalog, &error));
    g_assert_true (coffer_catalog_get_schedule (catalog, &read, &last, &error));
    g_assert_cmpint (read.kind, ==, COFFER_SCHEDULE_NONE);
    g_assert_false (read.paused);
    items = coffer_catalog_get_policy (catalog, "item", &error);
    g_assert_cmpuint (items->len, ==, 0);
  }
}

static void
test_registration_round_trip (void)
{
  g_autofree char *state_dir = make_state_dir ();
  g_autoptr (CofferCatalog) catalog = NULL;
  g_autoptr (CofferRegistration) read = NULL;
  g_autoptr (GError) error = NULL;
  CofferRegistration registration = {
    .vault_id = "5f1c0e0e-vault",
    .vault_name = "Acme-Vault",
    .machine_id = "m-1",
    .machine_name = "build-07",
    .instance_id = "i-1",
    .storage_location = "/media/backup/acme",
    .registered_at = 1795000000,
  };

  catalog = coffer_catalog_open (state_dir, &error);
  g_assert_no_error (error);

  read = coffer_catalog_get_registration (catalog, &error);
  g_assert_no_error (error);
  g_assert_null (read);

  g_assert_true (coffer_catalog_set_registration (catalog, &registration, &error));
  g_assert_no_error (error);
  read = coffer_catalog_get_registration (catalog, &error);
  g_assert_no_error (error);
  g_assert_nonnull (read);
  g_assert_cmpstr (read->vault_name, ==, "Acme-Vault");
  g_assert_cmpstr (read->machine_name, ==, "build-07");
  g_assert_cmpstr (read->storage_location, ==, "/media/backup/acme");
  g_assert_cmpint (read->registered_at, ==, 1795000000);
  g_clear_pointer (&read, coffer_registration_free);

  g_assert_true (coffer_catalog_clear_registration (catalog, &error));
  read = coffer_catalog_get_registration (catalog, &error);
  g_assert_no_error (error);
  g_assert_null (read);
}

static void
test_refuses_newer_schema (void)
{
  g_autofree char *state_dir = make_state_dir ();
  g_autofree char *path = NULL;
  g_autoptr (CofferCatalog) catalog = NULL;
  g_autoptr (GError) error = NULL;

  {
    g_autoptr (CofferCatalog) first = coffer_catalog_open (state_dir, &error);
    g_assert_no_error (error);
    path = g_strdup (coffer_catalog_get_path (first));
  }
  exec_sql (path, "PRAGMA user_version = 999; INSERT INTO settings VALUES ('kept', 'yes')");

  catalog = coffer_catalog_open (state_dir, &error);
  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_NEWER_FORMAT);
  g_assert_null (catalog);
  g_assert_nonnull (strstr (error->message, "newer version of Coffer"));

  /* Left exactly as it was. */
  g_assert_cmpint (read_user_version (path), ==, 999);
}

static void
test_upgrades_old_schema (void)
{
  g_autofree char *state_dir = make_state_dir ();
  g_autofree char *path = g_build_filename (state_dir, COFFER_CATALOG_FILENAME, NULL);
  g_autoptr (CofferCatalog) catalog = NULL;
  g_autoptr (GError) error = NULL;

  /* A schema-0 file: an empty database an interrupted first start left. */
  g_assert_cmpint (g_mkdir_with_parents (state_dir, 0700), ==, 0);
  exec_sql (path, "PRAGMA user_version = 0");

  catalog = coffer_catalog_open (state_dir, &error);
  g_assert_no_error (error);
  g_assert_cmpint (read_user_version (path), ==, coffer_catalog_latest_schema_version ());
  g_assert_true (coffer_catalog_set_setting (catalog, "k", "v", &error));
  g_assert_no_error (error);
}

static void
test_state_folder_is_a_file (void)
{
  g_autofree char *state_dir = make_state_dir ();
  g_autofree char *parent = g_path_get_dirname (state_dir);
  g_autoptr (CofferCatalog) catalog = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (parent, 0700), ==, 0);
  g_assert_true (g_file_set_contents (state_dir, "not a folder", -1, NULL));

  catalog = coffer_catalog_open (state_dir, &error);
  g_assert_null (catalog);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, state_dir));
}

typedef struct
{
  CofferCatalog *catalog;
  int thread;
} WriterData;

static gpointer
writer_thread (gpointer user_data)
{
  WriterData *data = user_data;

  for (int i = 0; i < 50; i++)
    {
      g_autofree char *key = g_strdup_printf ("t%d-%d", data->thread, i);
      g_autoptr (GError) error = NULL;

      g_assert_true (coffer_catalog_set_setting (data->catalog, key, key, &error));
      g_assert_no_error (error);
    }
  return NULL;
}

static void
test_threads_share_one_catalog (void)
{
  g_autofree char *state_dir = make_state_dir ();
  g_autoptr (CofferCatalog) catalog = NULL;
  g_autoptr (GError) error = NULL;
  GThread *threads[4];
  WriterData data[4];

  catalog = coffer_catalog_open (state_dir, &error);
  g_assert_no_error (error);

  for (int t = 0; t < 4; t++)
    {
      data[t] = (WriterData){ catalog, t };
      threads[t] = g_thread_new ("writer", writer_thread, &data[t]);
    }
  for (int t = 0; t < 4; t++)
    g_thread_join (threads[t]);

  for (int t = 0; t < 4; t++)
    for (int i = 0; i < 50; i++)
      {
        g_autofree char *key = g_strdup_printf ("t%d-%d", t, i);
        g_autofree char *value = coffer_catalog_get_setting (catalog, key, &error);

        g_assert_no_error (error);
        g_assert_cmpstr (value, ==, key);
      }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/libcoffer/catalog/creates-private-state-folder",
                   test_creates_private_state_folder);
  g_test_add_func ("/libcoffer/catalog/tightens-loose-state-folder",
                   test_tightens_loose_state_folder);
  g_test_add_func ("/libcoffer/catalog/settings-survive-reopening",
                   test_settings_survive_reopening);
  g_test_add_func ("/libcoffer/catalog/registration-round-trip", test_registration_round_trip);
  g_test_add_func ("/libcoffer/catalog/schedule-round-trip", test_schedule_round_trip);
  g_test_add_func ("/libcoffer/catalog/refuses-newer-schema", test_refuses_newer_schema);
  g_test_add_func ("/libcoffer/catalog/upgrades-old-schema", test_upgrades_old_schema);
  g_test_add_func ("/libcoffer/catalog/state-folder-is-a-file", test_state_folder_is_a_file);
  g_test_add_func ("/libcoffer/catalog/threads-share-one-catalog", test_threads_share_one_catalog);

  return g_test_run ();
}
