/* test-local-store.c: a vault in a folder keeps whole objects, never a part,
 * and never creates itself where a drive is missing. */
#include "config.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "coffer-local-store-private.h"
#include "coffer.h"

static const CofferLocalStoreCreate create_methods[] = {
  COFFER_LOCAL_STORE_CREATE_LINK,
  COFFER_LOCAL_STORE_CREATE_RENAME_NOREPLACE,
  COFFER_LOCAL_STORE_CREATE_LOCKED,
};

/* A vault folder of its own: G_TEST_OPTION_ISOLATE_DIRS gives each test a
 * fresh data folder and removes it afterwards. */
static char *
make_root (void)
{
  char *root = g_build_filename (g_get_user_data_dir (), "vault", NULL);

  g_assert_cmpint (g_mkdir_with_parents (root, 0700), ==, 0);
  g_assert_cmpint (g_chmod (root, 0700), ==, 0);
  return root;
}

static GBytes *
filled (guint8 byte, gsize size)
{
  guint8 *data = g_malloc (size);

  memset (data, byte, size);
  return g_bytes_new_take (data, size);
}

static GBytes *
text (const char *string)
{
  return g_bytes_new (string, strlen (string));
}

static char *
put_ok (CofferStore *store, const char *name, GBytes *bytes)
{
  g_autoptr (GError) error = NULL;
  char *etag = NULL;

  g_assert_true (
      coffer_store_put_sync (store, name, bytes, COFFER_PUT_ALWAYS, NULL, &etag, NULL, &error));
  g_assert_no_error (error);
  g_assert_nonnull (etag);
  return etag;
}

static void
assert_content (CofferStore *store, const char *name, GBytes *expected)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = coffer_store_get_sync (store, name, 0, -1, NULL, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (bytes);
  g_assert_true (g_bytes_equal (bytes, expected));
}

static gboolean
bytes_are_uniform (GBytes *bytes)
{
  gsize size = 0;
  const guint8 *data = g_bytes_get_data (bytes, &size);

  for (gsize i = 1; i < size; i++)
    if (data[i] != data[0])
      return FALSE;
  return TRUE;
}

/* The names of the files in ROOT/tmp that are not the lock. */
static guint
count_tmp_files (const char *root)
{
  g_autofree char *tmp = g_build_filename (root, "tmp", NULL);
  g_autoptr (GDir) dir = g_dir_open (tmp, 0, NULL);
  const char *name;
  guint count = 0;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    if (strcmp (name, ".lock") != 0)
      count++;
  return count;
}

static void
test_round_trip (void)
{
  g_autofree char *root = make_root ();
  g_autoptr (CofferStore) store = coffer_local_store_new (root);
  g_autoptr (GBytes) content = text ("chunker parameters, format version");
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) read = NULL;
  g_autoptr (CofferStoreEntry) entry = NULL;
  g_autofree char *put_etag = NULL;
  g_autofree char *get_etag = NULL;
  g_autofree char *described = coffer_store_describe (store);
  g_autofree char *path = g_build_filename (root, "machines", "m1", "config", NULL);
  g_autofree char *on_disk = NULL;
  gsize on_disk_size = 0;

  g_assert_cmpstr (described, ==, root);
  g_assert_cmpstr (coffer_local_store_get_root (COFFER_LOCAL_STORE (store)), ==, root);

  put_etag = put_ok (store, "machines/m1/config", content);

  read = coffer_store_get_sync (store, "machines/m1/config", 0, -1, &get_etag, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (read, content));
  g_assert_cmpstr (get_etag, ==, put_etag);

  /* The object is the file of that name, with those bytes. */
  g_assert_true (g_file_get_contents (path, &on_disk, &on_disk_size, NULL));
  g_assert_cmpmem (on_disk, on_disk_size, g_bytes_get_data (content, NULL),
                   g_bytes_get_size (content));

  entry = coffer_store_stat_sync (store, "machines/m1/config", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (entry->name, ==, "machines/m1/config");
  g_assert_cmpuint (entry->size, ==, g_bytes_get_size (content));
  g_assert_cmpstr (entry->etag, ==, put_etag);
  g_assert_cmpint (ABS (entry->mtime - g_get_real_time ()), <, 60 * G_USEC_PER_SEC);
}

static void
test_ranged_get (void)
{
  g_autofree char *root = make_root ();
  g_autoptr (CofferStore) store = coffer_local_store_new (root);
  guint8 data[256];
  g_autoptr (GBytes) content = NULL;
  g_autofree char *etag = NULL;
  struct
  {
    guint64 offset;
    gssize length;
    gsize expected_start;
    gsize expected_size;
  } ranges[] = {
    { 0, -1, 0, 256 },    { 10, 20, 10, 20 },  { 250, -1, 250, 6 },
    { 250, 100, 250, 6 }, { 256, -1, 256, 0 }, { 7, 0, 7, 0 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (data); i++)
    data[i] = (guint8) i;
  content = g_bytes_new (data, sizeof data);
  etag = put_ok (store, "packs/one", content);

  for (guint i = 0; i < G_N_ELEMENTS (ranges); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *get_etag = NULL;
      g_autoptr (GBytes) part = coffer_store_get_sync (store, "packs/one", ranges[i].offset,
                                                       ranges[i].length, &get_etag, NULL, &error);

      g_test_message ("range %u: offset %" G_GUINT64_FORMAT ", length %" G_GSSIZE_FORMAT, i,
                      ranges[i].offset, ranges[i].length);
      g_assert_no_error (error);
      g_assert_cmpmem (g_bytes_get_data (part, NULL), g_bytes_get_size (part),
                       data + ranges[i].expected_start, ranges[i].expected_size);
      g_assert_cmpstr (get_etag, ==, etag);
    }

  {
    g_autoptr (GError) error = NULL;
    g_autoptr (GBytes) past =
        coffer_store_get_sync (store, "packs/one", 257, -1, NULL, NULL, &error);

    g_assert_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT);
    g_assert_nonnull (strstr (error->message, "range not satisfiable"));
    g_assert_null (past);
  }
}

static void
test_get_missing_is_not_found (void)
{
  g_autofree char *root = make_root ();
  g_autoptr (CofferStore) store = coffer_local_store_new (root);
  g_autoptr (GBytes) content = text ("x");
  const char *missing[] = { "nothing", "machines/none/config", "a/b/c", "a" };
  g_autofree char *etag = put_ok (store, "a/b", content);

  for (guint i = 0; i < G_N_ELEMENTS (missing); i++)
    {
      g_autoptr (GError) get_error = NULL;
      g_autoptr (GError) stat_error = NULL;
      g_autoptr (GBytes) bytes = NULL;
      g_autoptr (CofferStoreEntry) entry = NULL;

      /* "a" is a folder here, not an object. */
      bytes = coffer_store_get_sync (store, missing[i], 0, -1, NULL, NULL, &get_error);
      g_assert_error (get_error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND);
      g_assert_null (bytes);
      entry = coffer_store_stat_sync (store, missing[i], NULL, &stat_error);
      g_assert_error (stat_error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND);
      g_assert_null (entry);
    }
}

static void
test_put_if_absent_refuses_existing (void)
{
  for (guint m = 0; m < G_N_ELEMENTS (create_methods); m++)
    {
      g_autofree char *root = make_root ();
      g_autoptr (CofferStore) store = coffer_local_store_new (root);
      g_autoptr (GBytes) first = text ("the first pack");
      g_autoptr (GBytes) second = text ("another pack, same name");
      g_autoptr (GError) error = NULL;
      g_autofree char *etag = NULL;
      g_autofree char *name = g_strdup_printf ("machines/m/data/3f/3fa1-%u", m);
      g_autoptr (CofferStoreEntry) entry = NULL;

      g_test_message ("create method %d", create_methods[m]);
      coffer_local_store_set_create_method (COFFER_LOCAL_STORE (store), create_methods[m]);

      g_assert_true (coffer_store_put_sync (store, name, first, COFFER_PUT_IF_ABSENT, NULL, &etag,
                                            NULL, &error));
      g_assert_no_error (error);
      entry = coffer_store_stat_sync (store, name, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (entry->etag, ==, etag);

      g_assert_false (coffer_store_put_sync (store, name, second, COFFER_PUT_IF_ABSENT, NULL, NULL,
                                             NULL, &error));
      g_assert_error (error, COFFER_ERROR, COFFER_ERROR_EXISTS);
      assert_content (store, name, first);
      g_assert_cmpuint (count_tmp_files (root), ==, 0);
      /* This filesystem has everything: the store did not need to fall back. */
      g_assert_cmpint (coffer_local_store_get_create_method (COFFER_LOCAL_STORE (store)), ==,
                       create_methods[m]);
    }
}

static void
test_put_if_match_replaces (void)
{
  g_autofree char *root = make_root ();
  g_autoptr (CofferStore) store = coffer_local_store_new (root);
  g_autoptr (GBytes) v1 = text ("serial 1");
  g_autoptr (GBytes) v2 = text ("serial 2");
  g_autoptr (GError) error = NULL;
  g_autofree char *e1 = put_ok (store, "credentials/current", v1);
  g_autofree char *e2 = NULL;
  g_autofree char *read_etag = NULL;
  g_autoptr (GBytes) read = NULL;

  g_assert_true (coffer_store_put_sync (store, "credentials/current", v2, COFFER_PUT_IF_MATCH, e1,
                                        &e2, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (e2, !=, e1);

  read = coffer_store_get_sync (store, "credentials/current", 0, -1, &read_etag, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (read, v2));
  g_assert_cmpstr (read_etag, ==, e2);
}

static void
test_put_if_match_refuses_stale_etag (void)
{
  g_autofree char *root = make_root ();
  g_autoptr (CofferStore) store = coffer_local_store_new (root);
  g_autoptr (GBytes) v1 = text ("serial 1");
  g_autoptr (GBytes) v2 = text ("serial 2, by another issuer");
  g_autoptr (GBytes) v3 = text ("serial 2, late");
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) missing_error = NULL;
  g_autofree char *e1 = put_ok (store, "credentials/current", v1);
  g_autofree char *e2 = put_ok (store, "credentials/current", v2);
  g_autoptr (CofferStoreEntry) entry = NULL;

  g_assert_cmpstr (e1, !=, e2);
  g_assert_false (coffer_store_put_sync (store, "credentials/current", v3, COFFER_PUT_IF_MATCH, e1,
                                         NULL, NULL, &error));
  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_EXISTS);
  g_assert_nonnull (strstr (error->message, "changed meanwhile"));
  assert_content (store, "credentials/current", v2);

  /* No object: nothing to match, and nothing is created. */
  g_assert_false (coffer_store_put_sync (store, "credentials/next", v3, COFFER_PUT_IF_MATCH, e2,
                                         NULL, NULL, &missing_error));
  g_assert_error (missing_error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND);
  g_clear_error (&error);
  entry = coffer_store_stat_sync (store, "credentials/next", NULL, &error);
  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND);
  g_assert_cmpuint (count_tmp_files (root), ==, 0);
}

static void
test_etag_changes_on_every_put (void)
{
  g_autofree char *root = make_root ();
  g_autoptr (CofferStore) store = coffer_local_store_new (root);
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GBytes) content = text ("same bytes, same size, every time");

  /* In quick succession, so that freed inode numbers come back and the
   * kernel's coarse clock gives several files the same time. */
  for (guint i = 0; i < 200; i++)
    {
      char *etag = put_ok (store, "locks/l", content);

      g_assert_false (g_hash_table_contains (seen, etag));
      g_hash_table_add (seen, etag);
    }
}

static void
assert_unreachable (GError *error, const char *root)
{
  g_autofree char *expected =
      g_strdup_printf ("The vault at %s cannot be reached (is the drive connected?)", root);

  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_VAULT_UNREACHABLE);
  g_assert_cmpstr (error->message, ==, expected);
}

static void
check_unreachable_root (const char *root)
{
  g_autoptr (CofferStore) store = coffer_local_store_new (root);
  g_autoptr (GBytes) content = text ("{}");
  g_autoptr (GError) put_error = NULL;
  g_autoptr (GError) absent_error = NULL;
  g_autoptr (GError) get_error = NULL;
  g_autoptr (GError) list_error = NULL;
  g_autoptr (GError) stat_error = NULL;
  g_autoptr (GError) delete_error = NULL;
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (GPtrArray) entries = NULL;
  g_autoptr (CofferStoreEntry) entry = NULL;

  g_assert_false (coffer_store_put_sync (store, "vault.json", content, COFFER_PUT_ALWAYS, NULL,
                                         NULL, NULL, &put_error));
  assert_unreachable (put_error, root);
  g_assert_false (coffer_store_put_sync (store, "machines/m/data/00/00aa", content,
                                         COFFER_PUT_IF_ABSENT, NULL, NULL, NULL, &absent_error));
  assert_unreachable (absent_error, root);
  bytes = coffer_store_get_sync (store, "vault.json", 0, -1, NULL, NULL, &get_error);
  assert_unreachable (get_error, root);
  entries = coffer_store_list_sync (store, "", NULL, &list_error);
  assert_unreachable (list_error, root);
  entry = coffer_store_stat_sync (store, "vault.json", NULL, &stat_error);
  assert_unreachable (stat_error, root);
  g_assert_false (coffer_store_delete_sync (store, "vault.json", NULL, &delete_error));
  assert_unreachable (delete_error, root);
}

static void
test_root_missing_is_unreachable (void)
{
  g_autofree char *mount_point = make_root ();
  g_autofree char *root = g_build_filename (mount_point, "CofferVault", NULL);
  g_autofree char *file_root = g_build_filename (mount_point, "not-a-folder", NULL);
  g_autoptr (GDir) dir = NULL;

  /* The drive is not plugged in: its mount point is an empty folder. */
  check_unreachable_root (root);
  g_assert_false (g_file_test (root, G_FILE_TEST_EXISTS));
  dir = g_dir_open (mount_point, 0, NULL);
  g_assert_null (g_dir_read_name (dir));

  g_assert_true (g_file_set_contents (file_root, "", 0, NULL));
  check_unreachable_root (file_root);
  g_assert_true (g_file_test (file_root, G_FILE_TEST_IS_REGULAR));
}

/* A drive unplugged while a job writes leaves its empty mount point: the
 * store never writes on there, and finds the vault again when it returns. */
static void
test_replaced_root_is_unreachable (void)
{
  g_autofree char *mount_point = make_root ();
  g_autofree char *root = g_build_filename (mount_point, "CofferVault", NULL);
  g_autofree char *away = g_build_filename (mount_point, "away", NULL);
  g_autoptr (CofferStore) store = NULL;
  g_autoptr (GBytes) content = text ("{}");
  g_autoptr (GError) error = NULL;
  g_autoptr (GDir) dir = NULL;
  g_autofree char *etag = NULL;

  g_assert_cmpint (g_mkdir (root, 0700), ==, 0);
  store = coffer_local_store_new (root);
  etag = put_ok (store, "vault.json", content);

  /* Unplugged: the folder goes, an empty one takes its place. */
  g_assert_cmpint (g_rename (root, away), ==, 0);
  g_assert_cmpint (g_mkdir (root, 0700), ==, 0);
  g_assert_false (coffer_store_put_sync (store, "machines/m/data/00/00aa", content,
                                         COFFER_PUT_IF_ABSENT, NULL, NULL, NULL, &error));
  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_VAULT_UNREACHABLE);
  g_assert_nonnull (strstr (error->message, "cannot be reached (is the drive connected?)"));
  dir = g_dir_open (root, 0, NULL);
  g_assert_null (g_dir_read_name (dir));

  /* Plugged in again: the same folder is the vault. */
  g_assert_cmpint (g_rmdir (root), ==, 0);
  g_assert_cmpint (g_rename (away, root), ==, 0);
  g_free (put_ok (store, "machines/m/data/00/00aa", content));
}

static const char *const listed_names[] = {
  "machines/a/data/00/00ff",
  "machines/a/data/3f/3fa1",
  "machines/a/machine.json",
  "machines/ab/machine.json",
  "machines/b/snapshots/s1",
  "tmpfile",
  "vault.json",
};

static void
assert_listing (CofferStore *store, const char *prefix, const char *const *expected)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) entries = coffer_store_list_sync (store, prefix, NULL, &error);
  guint n_expected = g_strv_length ((char **) expected);

  g_test_message ("listing “%s”", prefix);
  g_assert_no_error (error);
  for (guint i = 0; i < entries->len && i < n_expected; i++)
    {
      CofferStoreEntry *entry = g_ptr_array_index (entries, i);
      g_autoptr (CofferStoreEntry) stat = coffer_store_stat_sync (store, entry->name, NULL, &error);

      g_assert_cmpstr (entry->name, ==, expected[i]);
      g_assert_no_error (error);
      g_assert_cmpuint (entry->size, ==, strlen (entry->name));
      g_assert_cmpstr (entry->etag, ==, stat->etag);
      g_assert_cmpint (entry->mtime, ==, stat->mtime);
    }
  g_assert_cmpuint (entries->len, ==, n_expected);
}

static void
test_list_by_prefix_sorted (void)
{
  g_autofree char *root = make_root ();
  g_autoptr (CofferStore) store = coffer_local_store_new (root);
  const char *all[G_N_ELEMENTS (listed_names) + 1] = { NULL };
  const char *under_a[] = { "machines/a/data/00/00ff", "machines/a/data/3f/3fa1",
                            "machines/a/machine.json", NULL };
  const char *a_or_ab[] = { "machines/a/data/00/00ff", "machines/a/data/3f/3fa1",
                            "machines/a/machine.json", "machines/ab/machine.json", NULL };
  const char *data_3[] = { "machines/a/data/3f/3fa1", NULL };
  const char *tmp_prefix[] = { "tmpfile", NULL };
  const char *none[] = { NULL };

  /* Put in reverse order: the listing sorts. */
  for (guint i = G_N_ELEMENTS (listed_names); i > 0; i--)
    {
      g_autoptr (GBytes) content = text (listed_names[i - 1]);
      g_autofree char *etag = put_ok (store, listed_names[i - 1], content);

      all[i - 1] = listed_names[i - 1];
    }

  assert_listing (store, "", all);
  assert_listing (store, "machines/a/", under_a);
  assert_listing (store, "machines/a", a_or_ab);
  assert_listing (store, "machines/a/data/3", data_3);
  assert_listing (store, "tmp", tmp_prefix);
  assert_listing (store, "tmp/", none);
  assert_listing (store, "machines/c", none);
  assert_listing (store, "nothing/here/", none);
  assert_listing (store, "vault.json/", none);
}

static void
test_leftover_tmp_invisible (void)
{
  g_autofree char *root = make_root ();
  g_autoptr (CofferStore) store = coffer_local_store_new (root);
  g_autofree char *tmp = g_build_filename (root, "tmp", NULL);
  g_autofree char *leftover = g_build_filename (tmp, "0123456789abcdef.tmp", NULL);
  g_autoptr (GBytes) content = text ("whole");
  g_autoptr (GBytes) half = text ("half of a pa");
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) entries = NULL;
  g_autoptr (GBytes) bytes = NULL;
  g_autofree char *etag = NULL;

  /* A put that crashed before its rename. */
  g_assert_cmpint (g_mkdir (tmp, 0700), ==, 0);
  g_assert_true (g_file_set_contents (leftover, "half of a pack", -1, NULL));
  etag = put_ok (store, "vault.json", content);

  entries = coffer_store_list_sync (store, "", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (entries->len, ==, 1);
  g_assert_cmpstr (((CofferStoreEntry *) g_ptr_array_index (entries, 0))->name, ==, "vault.json");

  /* Nor can it be reached or overwritten by name. */
  bytes = coffer_store_get_sync (store, "tmp/0123456789abcdef.tmp", 0, -1, NULL, NULL, &error);
  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (coffer_store_put_sync (store, "tmp/0123456789abcdef.tmp", half, COFFER_PUT_ALWAYS,
                                         NULL, NULL, NULL, &error));
  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (coffer_store_delete_sync (store, "tmp/0123456789abcdef.tmp", NULL, &error));
  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT);
  g_assert_true (g_file_test (leftover, G_FILE_TEST_IS_REGULAR));
}

static void
test_delete (void)
{
  g_autofree char *root = make_root ();
  g_autoptr (CofferStore) store = coffer_local_store_new (root);
  g_autoptr (GBytes) content = text ("a snapshot");
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) entries = NULL;
  g_autoptr (CofferStoreEntry) entry = NULL;
  g_autofree char *etag = put_ok (store, "machines/m/snapshots/s1", content);
  g_autofree char *kept_etag = put_ok (store, "machines/m/snapshots/s2", content);

  g_assert_true (coffer_store_delete_sync (store, "machines/m/snapshots/s1", NULL, &error));
  g_assert_no_error (error);
  entry = coffer_store_stat_sync (store, "machines/m/snapshots/s1", NULL, &error);
  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND);
  g_clear_error (&error);
  entries = coffer_store_list_sync (store, "machines/", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (entries->len, ==, 1);
  g_assert_cmpstr (((CofferStoreEntry *) g_ptr_array_index (entries, 0))->name, ==,
                   "machines/m/snapshots/s2");

  /* Gone already, never there, or a folder rather than an object. */
  g_assert_true (coffer_store_delete_sync (store, "machines/m/snapshots/s1", NULL, &error));
  g_assert_no_error (error);
  g_assert_true (coffer_store_delete_sync (store, "never/was/here", NULL, &error));
  g_assert_no_error (error);
  g_assert_true (coffer_store_delete_sync (store, "machines/m", NULL, &error));
  g_assert_no_error (error);
  assert_content (store, "machines/m/snapshots/s2", content);
}

static const struct
{
  const char *name;
  gboolean valid;
} name_rules[] = {
  { "vault.json", TRUE }, { "machines/m1/data/3f/3fa1", TRUE },
  { ".hidden", TRUE },    { "a/..b/c.", TRUE },
  { "", FALSE },          { ".", FALSE },
  { "..", FALSE },        { "../x", FALSE },
  { "a/../x", FALSE },    { "a/./b", FALSE },
  { "a/..", FALSE },      { "/abs", FALSE },
  { "a//b", FALSE },      { "a/", FALSE },
  { "a\\b", FALSE },      { "\xff\xfe", FALSE },
};

static void
test_name_rules (void)
{
  g_autofree char *longest = g_strnfill (COFFER_STORE_MAX_NAME, 'n');
  g_autofree char *too_long = g_strnfill (COFFER_STORE_MAX_NAME + 1, 'n');
  const char *valid_prefixes[] = { "", "machines/", "machines/ab", "a/.", "a/..", "tmp" };
  const char *invalid_prefixes[] = { "/", "/a", "a//", "../", "./a", "a\\" };

  for (guint i = 0; i < G_N_ELEMENTS (name_rules); i++)
    {
      g_autofree char *shown = g_strescape (name_rules[i].name, NULL);

      g_test_message ("name “%s”", shown);
      g_assert_cmpint (coffer_store_name_is_valid (name_rules[i].name), ==, name_rules[i].valid);
    }
  g_assert_false (coffer_store_name_is_valid (NULL));
  g_assert_true (coffer_store_name_is_valid (longest));
  g_assert_false (coffer_store_name_is_valid (too_long));

  for (guint i = 0; i < G_N_ELEMENTS (valid_prefixes); i++)
    g_assert_true (coffer_store_prefix_is_valid (valid_prefixes[i]));
  for (guint i = 0; i < G_N_ELEMENTS (invalid_prefixes); i++)
    g_assert_false (coffer_store_prefix_is_valid (invalid_prefixes[i]));
}

static void
test_invalid_names_refused (void)
{
  g_autofree char *parent = make_root ();
  g_autofree char *root = g_build_filename (parent, "vault", NULL);
  g_autoptr (CofferStore) store = NULL;
  g_autoptr (GBytes) content = text ("escape");
  g_autoptr (GError) list_error = NULL;
  g_autoptr (GPtrArray) entries = NULL;
  g_autoptr (GDir) dir = NULL;
  const char *name;

  g_assert_cmpint (g_mkdir (root, 0700), ==, 0);
  store = coffer_local_store_new (root);

  for (guint i = 0; i < G_N_ELEMENTS (name_rules); i++)
    {
      g_autoptr (GError) put_error = NULL;
      g_autoptr (GError) get_error = NULL;
      g_autoptr (GError) stat_error = NULL;
      g_autoptr (GError) delete_error = NULL;
      g_autoptr (GBytes) bytes = NULL;
      g_autoptr (CofferStoreEntry) entry = NULL;
      g_autofree char *shown = NULL;

      if (name_rules[i].valid)
        continue;
      shown = g_strescape (name_rules[i].name, NULL);
      g_test_message ("name “%s”", shown);
      g_assert_false (coffer_store_put_sync (store, name_rules[i].name, content, COFFER_PUT_ALWAYS,
                                             NULL, NULL, NULL, &put_error));
      g_assert_error (put_error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT);
      g_assert_true (g_utf8_validate (put_error->message, -1, NULL));
      bytes = coffer_store_get_sync (store, name_rules[i].name, 0, -1, NULL, NULL, &get_error);
      g_assert_error (get_error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT);
      entry = coffer_store_stat_sync (store, name_rules[i].name, NULL, &stat_error);
      g_assert_error (stat_error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT);
      g_assert_false (coffer_store_delete_sync (store, name_rules[i].name, NULL, &delete_error));
      g_assert_error (delete_error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT);
    }

  entries = coffer_store_list_sync (store, "../", NULL, &list_error);
  g_assert_error (list_error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT);

  /* Nothing was written, in the vault or beside it. */
  dir = g_dir_open (parent, 0, NULL);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_assert_cmpstr (name, ==, "vault");
  g_assert_cmpuint (count_tmp_files (root), ==, 0);
}

static void
test_too_large_refused (void)
{
  g_autofree char *root = make_root ();
  g_autoptr (CofferStore) store = coffer_local_store_new (root);
  g_autoptr (GBytes) largest = filled (0x5a, COFFER_STORE_MAX_OBJECT);
  g_autoptr (GBytes) too_large = filled (0x5a, COFFER_STORE_MAX_OBJECT + 1);
  g_autoptr (GError) error = NULL;
  g_autoptr (CofferStoreEntry) entry = NULL;
  g_autofree char *etag = NULL;

  g_assert_false (coffer_store_put_sync (store, "packs/big", too_large, COFFER_PUT_ALWAYS, NULL,
                                         NULL, NULL, &error));
  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  entry = coffer_store_stat_sync (store, "packs/big", NULL, &error);
  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND);
  g_clear_error (&error);

  etag = put_ok (store, "packs/largest", largest);
  g_clear_pointer (&entry, coffer_store_entry_free);
  entry = coffer_store_stat_sync (store, "packs/largest", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (entry->size, ==, COFFER_STORE_MAX_OBJECT);
}

static void
test_symlinks_not_followed (void)
{
  g_autofree char *base = make_root ();
  g_autofree char *root = g_build_filename (base, "vault", NULL);
  g_autofree char *outside = g_build_filename (base, "outside", NULL);
  g_autofree char *secret = g_build_filename (outside, "secret", NULL);
  g_autofree char *folder_link = g_build_filename (root, "machines", NULL);
  g_autofree char *file_link = g_build_filename (root, "vault.json", NULL);
  g_autoptr (CofferStore) store = NULL;
  g_autoptr (GBytes) content = text ("written through a link");
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (GPtrArray) entries = NULL;
  g_autoptr (GDir) dir = NULL;
  const char *name;

  g_assert_cmpint (g_mkdir (root, 0700), ==, 0);
  g_assert_cmpint (g_mkdir (outside, 0700), ==, 0);
  g_assert_true (g_file_set_contents (secret, "outside the vault", -1, NULL));
  g_assert_cmpint (symlink (outside, folder_link), ==, 0);
  g_assert_cmpint (symlink (secret, file_link), ==, 0);
  store = coffer_local_store_new (root);

  bytes = coffer_store_get_sync (store, "machines/secret", 0, -1, NULL, NULL, &error);
  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND);
  g_clear_error (&error);
  bytes = coffer_store_get_sync (store, "vault.json", 0, -1, NULL, NULL, &error);
  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND);
  g_clear_error (&error);

  entries = coffer_store_list_sync (store, "", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (entries->len, ==, 0);

  g_assert_false (coffer_store_put_sync (store, "machines/new", content, COFFER_PUT_ALWAYS, NULL,
                                         NULL, NULL, &error));
  g_assert_nonnull (error);
  dir = g_dir_open (outside, 0, NULL);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_assert_cmpstr (name, ==, "secret");
}

/* Each writer puts the same names, in the same order, with its own fill
 * byte; for each name, exactly one may win. */
#define RACED_NAMES 24

typedef struct
{
  const char *root;
  CofferLocalStoreCreate method;
  guint8 fill;
  gsize size;
  GMutex *mutex;
  GCond *cond;
  gboolean *go;
  gboolean won[RACED_NAMES];
  GError *error;
} Writer;

static char *
raced_name (guint n)
{
  return g_strdup_printf ("machines/m/data/%02x/%02x00", n, n);
}

static gpointer
if_absent_writer (gpointer data)
{
  Writer *writer = data;
  /* A store of its own, as another process would have. */
  g_autoptr (CofferStore) store = coffer_local_store_new (writer->root);
  g_autoptr (GBytes) content = filled (writer->fill, writer->size);

  coffer_local_store_set_create_method (COFFER_LOCAL_STORE (store), writer->method);
  g_mutex_lock (writer->mutex);
  while (!*writer->go)
    g_cond_wait (writer->cond, writer->mutex);
  g_mutex_unlock (writer->mutex);

  for (guint n = 0; n < RACED_NAMES && writer->error == NULL; n++)
    {
      g_autofree char *name = raced_name (n);
      g_autoptr (GError) error = NULL;

      writer->won[n] = coffer_store_put_sync (store, name, content, COFFER_PUT_IF_ABSENT, NULL,
                                              NULL, NULL, &error);
      if (!writer->won[n] && !g_error_matches (error, COFFER_ERROR, COFFER_ERROR_EXISTS))
        writer->error = g_steal_pointer (&error);
    }
  return NULL;
}

static void
check_one_winner (const char *root, Writer *writers, guint n_writers, guint n)
{
  g_autoptr (CofferStore) store = coffer_local_store_new (root);
  g_autofree char *name = raced_name (n);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = NULL;
  int winner = -1;
  const guint8 *data;

  for (guint i = 0; i < n_writers; i++)
    if (writers[i].won[n])
      {
        g_assert_cmpint (winner, ==, -1);
        winner = (int) i;
      }
  g_assert_cmpint (winner, >=, 0);

  bytes = coffer_store_get_sync (store, name, 0, -1, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (bytes), ==, writers[winner].size);
  data = g_bytes_get_data (bytes, NULL);
  g_assert_cmpuint (data[0], ==, writers[winner].fill);
  g_assert_true (bytes_are_uniform (bytes));
}

static void
test_concurrent_if_absent_one_winner (void)
{
  for (guint m = 0; m < G_N_ELEMENTS (create_methods); m++)
    {
      g_autofree char *base = make_root ();
      g_autofree char *root = g_strdup_printf ("%s/vault-%u", base, m);
      Writer writers[8];
      GThread *threads[G_N_ELEMENTS (writers)];
      GMutex mutex;
      GCond cond;
      gboolean go = FALSE;

      g_test_message ("create method %d", create_methods[m]);
      g_assert_cmpint (g_mkdir (root, 0700), ==, 0);
      g_mutex_init (&mutex);
      g_cond_init (&cond);
      for (guint i = 0; i < G_N_ELEMENTS (writers); i++)
        {
          writers[i] =
              (Writer){ root, create_methods[m], (guint8) (i + 1), 64 * 1024, &mutex, &cond, &go };
          threads[i] = g_thread_new ("writer", if_absent_writer, &writers[i]);
        }
      g_mutex_lock (&mutex);
      go = TRUE;
      g_cond_broadcast (&cond);
      g_mutex_unlock (&mutex);

      for (guint i = 0; i < G_N_ELEMENTS (writers); i++)
        {
          g_thread_join (threads[i]);
          g_assert_no_error (writers[i].error);
        }
      for (guint n = 0; n < RACED_NAMES; n++)
        check_one_winner (root, writers, G_N_ELEMENTS (writers), n);
      g_assert_cmpuint (count_tmp_files (root), ==, 0);
      g_mutex_clear (&mutex);
      g_cond_clear (&cond);
    }
}

typedef struct
{
  CofferStore *store;
  guint versions;
  gsize size;
  gint done;
} Replacer;

static gpointer
replacing_writer (gpointer data)
{
  Replacer *replacer = data;

  for (guint v = 1; v <= replacer->versions; v++)
    {
      g_autoptr (GBytes) content = filled ((guint8) v, replacer->size);
      g_autofree char *etag = put_ok (replacer->store, "machines/m/index/i1", content);
    }
  g_atomic_int_set (&replacer->done, TRUE);
  return NULL;
}

static void
test_concurrent_reader_sees_whole_objects (void)
{
  g_autofree char *root = make_root ();
  g_autoptr (CofferStore) store = coffer_local_store_new (root);
  g_autoptr (CofferStore) reader_store = coffer_local_store_new (root);
  g_autoptr (GBytes) first = filled (0, 256 * 1024);
  g_autofree char *etag = put_ok (store, "machines/m/index/i1", first);
  Replacer replacer = { store, 150, 256 * 1024, FALSE };
  GThread *thread = g_thread_new ("replacer", replacing_writer, &replacer);
  guint reads = 0;
  guint8 last = 0;

  while (!g_atomic_int_get (&replacer.done) || reads == 0)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GBytes) bytes =
          coffer_store_get_sync (reader_store, "machines/m/index/i1", 0, -1, NULL, NULL, &error);
      const guint8 *data;

      g_assert_no_error (error);
      g_assert_cmpuint (g_bytes_get_size (bytes), ==, replacer.size);
      g_assert_true (bytes_are_uniform (bytes));
      /* Versions only move forward. */
      data = g_bytes_get_data (bytes, NULL);
      g_assert_cmpuint (data[0], >=, last);
      last = data[0];
      reads++;
    }
  g_thread_join (thread);
  g_test_message ("%u reads, last version %u", reads, last);
  g_assert_cmpuint (count_tmp_files (root), ==, 0);
}

typedef struct
{
  const char *root;
  guint increments;
  guint conflicts;
  GError *error;
} Incrementer;

/* Adds one to the counter object, reading it and writing it back only if
 * nobody changed it meanwhile; retries when someone did. */
static gpointer
incrementer (gpointer data)
{
  Incrementer *inc = data;
  g_autoptr (CofferStore) store = coffer_local_store_new (inc->root);

  for (guint i = 0; i < inc->increments && inc->error == NULL;)
    {
      g_autofree char *etag = NULL;
      g_autoptr (GBytes) bytes = NULL;
      g_autoptr (GBytes) next = NULL;
      g_autofree char *value = NULL;
      char *incremented;

      bytes = coffer_store_get_sync (store, "counter", 0, -1, &etag, NULL, &inc->error);
      if (bytes == NULL)
        break;
      value = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
      incremented = g_strdup_printf ("%" G_GUINT64_FORMAT, g_ascii_strtoull (value, NULL, 10) + 1);
      next = g_bytes_new_take (incremented, strlen (incremented));
      if (coffer_store_put_sync (store, "counter", next, COFFER_PUT_IF_MATCH, etag, NULL, NULL,
                                 &inc->error))
        i++;
      else if (g_error_matches (inc->error, COFFER_ERROR, COFFER_ERROR_EXISTS))
        {
          g_clear_error (&inc->error);
          inc->conflicts++;
        }
    }
  return NULL;
}

static void
test_concurrent_if_match_loses_no_update (void)
{
  g_autofree char *root = make_root ();
  g_autoptr (CofferStore) store = coffer_local_store_new (root);
  g_autoptr (GBytes) zero = text ("0");
  g_autoptr (GBytes) expected = NULL;
  g_autofree char *etag = put_ok (store, "counter", zero);
  Incrementer incs[6];
  GThread *threads[G_N_ELEMENTS (incs)];
  guint conflicts = 0;

  for (guint i = 0; i < G_N_ELEMENTS (incs); i++)
    {
      incs[i] = (Incrementer){ root, 30, 0, NULL };
      threads[i] = g_thread_new ("incrementer", incrementer, &incs[i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (incs); i++)
    {
      g_thread_join (threads[i]);
      g_assert_no_error (incs[i].error);
      conflicts += incs[i].conflicts;
    }

  g_test_message ("%u conflicts", conflicts);
  expected = text ("180");
  assert_content (store, "counter", expected);
}

/* This program, run again as an incrementer in another process. */
static char *test_program;

static int
run_incrementer_process (const char *root, guint increments)
{
  Incrementer inc = { root, increments, 0, NULL };

  incrementer (&inc);
  if (inc.error != NULL)
    {
      g_printerr ("%s\n", inc.error->message);
      g_error_free (inc.error);
      return 1;
    }
  return 0;
}

static void
test_concurrent_processes_if_match_loses_no_update (void)
{
  g_autofree char *root = make_root ();
  g_autoptr (CofferStore) store = coffer_local_store_new (root);
  g_autoptr (GBytes) zero = text ("0");
  g_autoptr (GBytes) expected = NULL;
  g_autofree char *etag = put_ok (store, "counter", zero);
  GSubprocess *processes[3];
  Incrementer inc = { root, 25, 0, NULL };

  /* The vault lock must hold between processes, not only between threads. */
  for (guint i = 0; i < G_N_ELEMENTS (processes); i++)
    {
      g_autoptr (GError) error = NULL;

      processes[i] = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, &error, test_program,
                                       "--incrementer", root, "25", NULL);
      g_assert_no_error (error);
    }
  incrementer (&inc);
  g_assert_no_error (inc.error);
  for (guint i = 0; i < G_N_ELEMENTS (processes); i++)
    {
      g_autoptr (GError) error = NULL;

      g_assert_true (g_subprocess_wait_check (processes[i], NULL, &error));
      g_assert_no_error (error);
      g_object_unref (processes[i]);
    }

  expected = text ("100");
  assert_content (store, "counter", expected);
}

typedef struct
{
  GMainLoop *loop;
  GAsyncResult *result;
} Waiter;

static void
async_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Waiter *waiter = user_data;

  /* Results come back in the caller's thread. */
  g_assert_true (g_main_context_is_owner (g_main_context_default ()));
  waiter->result = g_object_ref (result);
  g_main_loop_quit (waiter->loop);
}

static GAsyncResult *
wait_for (Waiter *waiter)
{
  g_main_loop_run (waiter->loop);
  return waiter->result;
}

static void
test_async (void)
{
  g_autofree char *root = make_root ();
  g_autoptr (CofferStore) store = coffer_local_store_new (root);
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr (GBytes) content = text ("recovery point");
  g_autoptr (GBytes) read = NULL;
  g_autoptr (GPtrArray) entries = NULL;
  g_autoptr (CofferStoreEntry) entry = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  g_autofree char *put_etag = NULL;
  g_autofree char *get_etag = NULL;
  Waiter waiter = { loop, NULL };

  coffer_store_put_async (store, "machines/m/snapshots/s1", content, COFFER_PUT_IF_ABSENT, NULL,
                          NULL, async_done_cb, &waiter);
  result = wait_for (&waiter);
  g_assert_true (coffer_store_put_finish (store, result, &put_etag, &error));
  g_assert_no_error (error);
  g_assert_nonnull (put_etag);
  g_clear_object (&result);

  coffer_store_get_async (store, "machines/m/snapshots/s1", 9, -1, NULL, async_done_cb, &waiter);
  result = wait_for (&waiter);
  read = coffer_store_get_finish (store, result, &get_etag, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (read, NULL), g_bytes_get_size (read), "point", 5);
  g_assert_cmpstr (get_etag, ==, put_etag);
  g_clear_object (&result);

  coffer_store_list_async (store, "machines/m/", NULL, async_done_cb, &waiter);
  result = wait_for (&waiter);
  entries = coffer_store_list_finish (store, result, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (entries->len, ==, 1);
  g_clear_object (&result);

  coffer_store_stat_async (store, "machines/m/snapshots/s1", NULL, async_done_cb, &waiter);
  result = wait_for (&waiter);
  entry = coffer_store_stat_finish (store, result, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (entry->etag, ==, put_etag);
  g_clear_object (&result);

  coffer_store_delete_async (store, "machines/m/snapshots/s1", NULL, async_done_cb, &waiter);
  result = wait_for (&waiter);
  g_assert_true (coffer_store_delete_finish (store, result, &error));
  g_assert_no_error (error);
  g_clear_object (&result);

  /* Errors travel too. */
  coffer_store_get_async (store, "machines/m/snapshots/s1", 0, -1, NULL, async_done_cb, &waiter);
  result = wait_for (&waiter);
  g_clear_pointer (&get_etag, g_free);
  g_assert_null (coffer_store_get_finish (store, result, &get_etag, &error));
  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND);
  g_assert_null (get_etag);
}

static void
test_cancelled_before_start (void)
{
  g_autofree char *root = make_root ();
  g_autoptr (CofferStore) store = coffer_local_store_new (root);
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GBytes) content = text ("never written");
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (GPtrArray) entries = NULL;
  g_autofree char *etag = NULL;
  Waiter waiter = { loop, NULL };

  g_cancellable_cancel (cancellable);

  coffer_store_put_async (store, "vault.json", content, COFFER_PUT_ALWAYS, NULL, cancellable,
                          async_done_cb, &waiter);
  result = wait_for (&waiter);
  g_assert_false (coffer_store_put_finish (store, result, &etag, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (etag);
  g_clear_error (&error);
  g_clear_object (&result);

  coffer_store_list_async (store, "", cancellable, async_done_cb, &waiter);
  result = wait_for (&waiter);
  g_assert_null (coffer_store_list_finish (store, result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  bytes = coffer_store_get_sync (store, "vault.json", 0, -1, NULL, cancellable, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  /* Nothing was written, not even a tmp file. */
  entries = coffer_store_list_sync (store, "", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (entries->len, ==, 0);
  g_assert_cmpuint (count_tmp_files (root), ==, 0);
}

static void
assert_mode (const char *root, const char *relative, guint expected)
{
  g_autofree char *path = g_build_filename (root, relative, NULL);
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpuint (st.st_mode & 0777, ==, expected);
}

static void
test_file_modes (void)
{
  g_autofree char *root = make_root ();
  g_autoptr (CofferStore) store = coffer_local_store_new (root);
  g_autoptr (GBytes) content = text ("wrapped master key");
  g_autofree char *e1 = NULL;
  g_autofree char *e2 = NULL;
  g_autofree char *e3 = NULL;
  mode_t old_umask = umask (022);

  e1 = put_ok (store, "machines/m/keys/k1", content);
  assert_mode (root, "machines/m/keys/k1", 0600);
  assert_mode (root, "machines/m/keys", 0700);
  assert_mode (root, "machines", 0700);
  g_assert_cmpuint (count_tmp_files (root), ==, 0);

  /* A vault shared with a group: the group may read, never the world. */
  g_assert_cmpint (g_chmod (root, 0750), ==, 0);
  e2 = put_ok (store, "machines/n/keys/k1", content);
  assert_mode (root, "machines/n/keys/k1", 0640);
  assert_mode (root, "machines/n", 0750);
  e3 = put_ok (store, "machines/m/keys/k1", content);
  assert_mode (root, "machines/m/keys/k1", 0640);
  g_assert_cmpuint (count_tmp_files (root), ==, 0);

  umask (old_umask);
}

static void
test_read_only_vault_is_permission_denied (void)
{
  g_autofree char *root = make_root ();
  g_autoptr (CofferStore) store = coffer_local_store_new (root);
  g_autoptr (GBytes) content = text ("{}");
  g_autoptr (GError) error = NULL;

  if (geteuid () == 0)
    {
      g_test_skip ("root may write anywhere");
      return;
    }

  g_assert_cmpint (g_chmod (root, 0500), ==, 0);
  g_assert_false (coffer_store_put_sync (store, "vault.json", content, COFFER_PUT_ALWAYS, NULL,
                                         NULL, NULL, &error));
  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_PERMISSION_DENIED);
  g_assert_nonnull (strstr (error->message, root));
  g_assert_cmpint (g_chmod (root, 0700), ==, 0);
}

/* The pages of @path's file that are in the page cache. */
static gsize
resident_pages (const char *path, gsize *out_pages)
{
  long page = sysconf (_SC_PAGESIZE);
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  gsize pages;
  g_autofree guint8 *vector = NULL;
  void *map;
  gsize resident = 0;

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (fstat (fd, &st), ==, 0);
  pages = ((gsize) st.st_size + page - 1) / page;
  map = mmap (NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
  g_assert_true (map != MAP_FAILED);
  vector = g_malloc (pages);
  g_assert_cmpint (mincore (map, st.st_size, vector), ==, 0);
  for (gsize i = 0; i < pages; i++)
    resident += vector[i] & 1;
  munmap (map, st.st_size);
  close (fd);
  *out_pages = pages;
  return resident;
}

/* A pack-sized put from a block-aligned buffer goes straight to the drive:
 * the object is whole, and the page cache holds at most its tail, where a
 * buffered write would leave all of it. From an unaligned buffer the same
 * bytes are written through the cache. */
static void
test_large_put_bypasses_cache (void)
{
  g_autofree char *root = make_root ();
  g_autoptr (CofferStore) store = coffer_local_store_new (root);
  g_autofree char *aligned_path = g_build_filename (root, "data", "aligned", NULL);
  g_autofree char *unaligned_path = g_build_filename (root, "data", "unaligned", NULL);
  const gsize size = 3 * 1024 * 1024 + 1234; /* a tail that is not a whole block */
  g_autoptr (GBytes) aligned = NULL;
  g_autoptr (GBytes) unaligned = NULL;
  g_autofree guint8 *copy = NULL;
  g_autofree char *e1 = NULL;
  g_autofree char *e2 = NULL;
  struct statfs fs;
  guint8 *data = NULL;
  gsize pages = 0;
  gsize resident;

  g_assert_cmpint (statfs (root, &fs), ==, 0);
  if (fs.f_type != EXT4_SUPER_MAGIC && fs.f_type != XFS_SUPER_MAGIC &&
      fs.f_type != BTRFS_SUPER_MAGIC)
    {
      g_test_skip ("direct writes are used on ext4, XFS and Btrfs only");
      return;
    }

  g_assert_cmpint (posix_memalign ((void **) &data, 4096, size), ==, 0);
  for (gsize i = 0; i < size; i++)
    data[i] = (guint8) (i * 2654435761u >> 13);
  aligned = g_bytes_new_with_free_func (data, size, free, data);
  copy = g_malloc (size + 1);
  memcpy (copy + 1, data, size);
  unaligned = g_bytes_new_static (copy + 1, size);

  /* Looked at before reading the object back, which fills the cache. */
  e1 = put_ok (store, "data/aligned", aligned);
  g_assert_cmpuint (resident_pages (aligned_path, &pages), <=, 1);
  g_assert_cmpuint (pages, ==, size / 4096 + 1);
  assert_content (store, "data/aligned", aligned);
  assert_mode (root, "data/aligned", 0600);

  e2 = put_ok (store, "data/unaligned", unaligned);
  resident = resident_pages (unaligned_path, &pages);
  g_assert_cmpuint (resident, ==, pages);
  assert_content (store, "data/unaligned", aligned);
  g_assert_cmpuint (count_tmp_files (root), ==, 0);
}

int
main (int argc, char **argv)
{
  int status;

  if (argc == 4 && strcmp (argv[1], "--incrementer") == 0)
    return run_incrementer_process (argv[2], (guint) g_ascii_strtoull (argv[3], NULL, 10));

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  test_program = g_file_read_link ("/proc/self/exe", NULL);
  g_assert_nonnull (test_program);

  g_test_add_func ("/libcoffer/store/name-rules", test_name_rules);
  g_test_add_func ("/libcoffer/local-store/round-trip", test_round_trip);
  g_test_add_func ("/libcoffer/local-store/large-put-bypasses-cache",
                   test_large_put_bypasses_cache);
  g_test_add_func ("/libcoffer/local-store/ranged-get", test_ranged_get);
  g_test_add_func ("/libcoffer/local-store/get-missing-is-not-found",
                   test_get_missing_is_not_found);
  g_test_add_func ("/libcoffer/local-store/put-if-absent-refuses-existing",
                   test_put_if_absent_refuses_existing);
  g_test_add_func ("/libcoffer/local-store/put-if-match-replaces", test_put_if_match_replaces);
  g_test_add_func ("/libcoffer/local-store/put-if-match-refuses-stale-etag",
                   test_put_if_match_refuses_stale_etag);
  g_test_add_func ("/libcoffer/local-store/etag-changes-on-every-put",
                   test_etag_changes_on_every_put);
  g_test_add_func ("/libcoffer/local-store/root-missing-is-unreachable",
                   test_root_missing_is_unreachable);
  g_test_add_func ("/libcoffer/local-store/replaced-root-is-unreachable",
                   test_replaced_root_is_unreachable);
  g_test_add_func ("/libcoffer/local-store/list-by-prefix-sorted", test_list_by_prefix_sorted);
  g_test_add_func ("/libcoffer/local-store/leftover-tmp-invisible", test_leftover_tmp_invisible);
  g_test_add_func ("/libcoffer/local-store/delete-missing-succeeds", test_delete);
  g_test_add_func ("/libcoffer/local-store/invalid-names-refused", test_invalid_names_refused);
  g_test_add_func ("/libcoffer/local-store/too-large-refused", test_too_large_refused);
  g_test_add_func ("/libcoffer/local-store/symlinks-not-followed", test_symlinks_not_followed);
  g_test_add_func ("/libcoffer/local-store/concurrent-if-absent-one-winner",
                   test_concurrent_if_absent_one_winner);
  g_test_add_func ("/libcoffer/local-store/concurrent-reader-sees-whole-objects",
                   test_concurrent_reader_sees_whole_objects);
  g_test_add_func ("/libcoffer/local-store/concurrent-if-match-loses-no-update",
                   test_concurrent_if_match_loses_no_update);
  g_test_add_func ("/libcoffer/local-store/concurrent-processes-if-match-loses-no-update",
                   test_concurrent_processes_if_match_loses_no_update);
  g_test_add_func ("/libcoffer/local-store/async", test_async);
  g_test_add_func ("/libcoffer/local-store/cancelled-before-start", test_cancelled_before_start);
  g_test_add_func ("/libcoffer/local-store/file-modes", test_file_modes);
  g_test_add_func ("/libcoffer/local-store/read-only-vault-is-permission-denied",
                   test_read_only_vault_is_permission_denied);

  status = g_test_run ();
  g_free (test_program);
  return status;
}
