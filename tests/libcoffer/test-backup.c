/* test-backup.c: backups store what the files hold, once, and nothing new
 * when nothing changed. */
#include "config.h"

#include <fcntl.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/xattr.h>
#include <time.h>
#include <string.h>
#include <unistd.h>

#include "coffer-test-util.h"
#include "coffer.h"

typedef CofferTestVault Fixture;

/* Backs the fixture's policy up to @vault, reporting to @progress. */
static CofferBackupResult *
back_up_to (Fixture *fixture,
            CofferVault *vault,
            CofferBackupProgressFunc progress,
            gpointer progress_data)
{
  g_autoptr (CofferPolicy) policy = coffer_policy_load (fixture->catalog, NULL);
  g_autoptr (GError) error = NULL;
  const char *skip[] = { fixture->vault_dir, fixture->cache_dir, NULL };
  CofferBackupOptions options = {
    .vault = vault,
    .machine_id = "0123456789abcdef0123456789abcdef",
    .keys = fixture->keys,
    .policy = policy,
    .cache_dir = fixture->cache_dir,
    .skip_paths = skip,
    .on_demand = TRUE,
    .workers = 2,
    .progress = progress,
    .progress_data = progress_data,
  };
  CofferBackupResult *result = coffer_backup_run (&options, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (result);
  return result;
}

static CofferBackupResult *
back_up (Fixture *fixture)
{
  return back_up_to (fixture, fixture->vault, NULL, NULL);
}

static guint
count_objects (Fixture *fixture, const char *prefix)
{
  g_autofree char *full = g_strdup_printf ("machines/0123456789abcdef0123456789abcdef/%s", prefix);
  g_autoptr (GPtrArray) entries = coffer_store_list_sync (fixture->store, full, NULL, NULL);

  return entries->len;
}

/* Reads a file of a recovery point back: tree by tree, chunk by chunk. */
static GBytes *
read_back (Fixture *fixture, CofferSnapshot *snapshot, const char *path)
{
  g_autoptr (CofferIndex) index = coffer_index_new ();
  g_auto (GStrv) parts = g_strsplit (path + 1, "/", -1);
  g_autoptr (GByteArray) content = g_byte_array_new ();
  guint8 tree_id[32];
  g_autoptr (GError) error = NULL;

  g_assert_true (coffer_backup_load_index (fixture->vault, "0123456789abcdef0123456789abcdef",
                                           fixture->keys, index, NULL, &error));
  g_assert_no_error (error);
  memcpy (tree_id, snapshot->root, 32);

  for (guint p = 0; parts[p] != NULL; p++)
    {
      CofferBlobLocation where;
      g_autofree char *pack_hex = NULL;
      g_autofree char *object = NULL;
      g_autoptr (GBytes) sealed = NULL;
      g_autoptr (GBytes) plain = NULL;
      g_autoptr (GPtrArray) nodes = NULL;
      CofferNode *found = NULL;

      g_assert_true (coffer_index_lookup (index, tree_id, &where));
      pack_hex = coffer_blob_id_to_hex (where.pack);
      object = coffer_pack_object_name ("0123456789abcdef0123456789abcdef", pack_hex);
      sealed = coffer_store_get_sync (fixture->store, object, where.offset, where.length, NULL,
                                      NULL, &error);
      g_assert_no_error (error);
      plain = coffer_blob_open (fixture->keys, tree_id, COFFER_BLOB_TREE,
                                g_bytes_get_data (sealed, NULL), g_bytes_get_size (sealed),
                                where.raw_length, &error);
      g_assert_no_error (error);
      nodes = coffer_tree_parse (plain, &error);
      g_assert_no_error (error);
      for (guint i = 0; i < nodes->len; i++)
        if (g_str_equal (((CofferNode *) g_ptr_array_index (nodes, i))->name, parts[p]))
          found = g_ptr_array_index (nodes, i);
      g_assert_nonnull (found);

      if (parts[p + 1] != NULL)
        {
          g_assert_true (found->has_subtree);
          memcpy (tree_id, found->subtree, 32);
          continue;
        }
      for (guint c = 0; found->chunks != NULL && c < found->chunks->len; c++)
        {
          const guint8 *id = &g_array_index (found->chunks, guint8, c * 32);
          g_autoptr (GBytes) chunk_sealed = NULL;
          g_autoptr (GBytes) chunk = NULL;
          g_autofree char *chunk_pack = NULL;
          g_autofree char *chunk_object = NULL;

          g_assert_true (coffer_index_lookup (index, id, &where));
          chunk_pack = coffer_blob_id_to_hex (where.pack);
          chunk_object = coffer_pack_object_name ("0123456789abcdef0123456789abcdef", chunk_pack);
          chunk_sealed = coffer_store_get_sync (fixture->store, chunk_object, where.offset,
                                                where.length, NULL, NULL, &error);
          g_assert_no_error (error);
          chunk = coffer_blob_open (fixture->keys, id, COFFER_BLOB_DATA,
                                    g_bytes_get_data (chunk_sealed, NULL),
                                    g_bytes_get_size (chunk_sealed), where.raw_length, &error);
          g_assert_no_error (error);
          g_byte_array_append (content, g_bytes_get_data (chunk, NULL), g_bytes_get_size (chunk));
        }
    }
  return g_byte_array_free_to_bytes (g_steal_pointer (&content));
}

/* The entries of a folder of a recovery point. */
static GPtrArray *
read_folder (Fixture *fixture, CofferSnapshot *snapshot, const char *path)
{
  g_autoptr (CofferIndex) index = coffer_index_new ();
  g_auto (GStrv) parts = g_strsplit (path + 1, "/", -1);
  guint8 tree_id[32];
  g_autoptr (GError) error = NULL;

  g_assert_true (coffer_backup_load_index (fixture->vault, "0123456789abcdef0123456789abcdef",
                                           fixture->keys, index, NULL, &error));
  memcpy (tree_id, snapshot->root, 32);
  for (guint p = 0;; p++)
    {
      CofferBlobLocation where;
      g_autofree char *pack_hex = NULL;
      g_autofree char *object = NULL;
      g_autoptr (GBytes) sealed = NULL;
      g_autoptr (GBytes) plain = NULL;
      GPtrArray *nodes;

      g_assert_true (coffer_index_lookup (index, tree_id, &where));
      pack_hex = coffer_blob_id_to_hex (where.pack);
      object = coffer_pack_object_name ("0123456789abcdef0123456789abcdef", pack_hex);
      sealed = coffer_store_get_sync (fixture->store, object, where.offset, where.length, NULL,
                                      NULL, &error);
      g_assert_no_error (error);
      plain = coffer_blob_open (fixture->keys, tree_id, COFFER_BLOB_TREE,
                                g_bytes_get_data (sealed, NULL), g_bytes_get_size (sealed),
                                where.raw_length, &error);
      g_assert_no_error (error);
      nodes = coffer_tree_parse (plain, &error);
      g_assert_no_error (error);
      if (parts[p] == NULL)
        return nodes;
      for (guint i = 0; i < nodes->len; i++)
        {
          CofferNode *node = g_ptr_array_index (nodes, i);
          if (g_str_equal (node->name, parts[p]))
            memcpy (tree_id, node->subtree, 32);
        }
      g_ptr_array_unref (nodes);
    }
}

static CofferNode *
find_node (GPtrArray *nodes, const char *name)
{
  for (guint i = 0; i < nodes->len; i++)
    if (g_str_equal (((CofferNode *) g_ptr_array_index (nodes, i))->name, name))
      return g_ptr_array_index (nodes, i);
  return NULL;
}

static GBytes *
random_bytes (gsize size, guint32 seed)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
  guint8 *data = g_malloc (size);

  for (gsize i = 0; i < size; i++)
    data[i] = g_rand_int (rand) & 0xff;
  return g_bytes_new_take (data, size);
}

static void
write_file (const char *dir, const char *name, GBytes *bytes)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree char *parent = g_path_get_dirname (path);

  g_assert_cmpint (g_mkdir_with_parents (parent, 0700), ==, 0);
  g_assert_true (
      g_file_set_contents (path, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), NULL));
}

/* write_file() for bytes made for it alone. */
static void
take_file (const char *dir, const char *name, GBytes *bytes)
{
  write_file (dir, name, bytes);
  g_bytes_unref (bytes);
}

static int
make_folder (const char *dir, const char *name, int mode)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);

  return g_mkdir (path, mode);
}

static void
test_round_trip_and_dedup (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GBytes) big = random_bytes (6 * 1024 * 1024, 1);
  g_autoptr (GBytes) small = g_bytes_new_static ("hello, vault\n", 13);
  g_autoptr (CofferBackupResult) first = NULL;
  g_autoptr (CofferBackupResult) second = NULL;
  g_autofree char *big_path = g_build_filename (fixture->source, "a", "big.bin", NULL);
  g_autofree char *copy_path = g_build_filename (fixture->source, "b", "copy.bin", NULL);
  g_autofree char *small_path = g_build_filename (fixture->source, "small.txt", NULL);
  g_autoptr (GBytes) back = NULL;
  guint packs;

  write_file (fixture->source, "a/big.bin", big);
  write_file (fixture->source, "b/copy.bin", big); /* identical: stored once */
  write_file (fixture->source, "small.txt", small);
  g_assert_cmpint (make_folder (fixture->source, "empty", 0700), ==, 0);
  /* Files changed within a second of being read are not cached (they may
   * still be changing): let their change times age. */
  g_usleep (2100 * G_TIME_SPAN_MILLISECOND);

  first = back_up (fixture);
  g_assert_cmpuint (first->failed->len, ==, 0);
  g_assert_cmpuint (first->totals.files_scanned, ==, 3);
  /* Two copies of 6 MiB of random data, stored once. */
  g_assert_cmpuint (first->totals.bytes_sent, <, 7 * 1024 * 1024);
  g_assert_cmpuint (first->totals.bytes_sent, >, 6 * 1024 * 1024);

  back = read_back (fixture, first->snapshot, big_path);
  g_assert_true (g_bytes_equal (back, big));
  g_clear_pointer (&back, g_bytes_unref);
  back = read_back (fixture, first->snapshot, copy_path);
  g_assert_true (g_bytes_equal (back, big));
  g_clear_pointer (&back, g_bytes_unref);
  back = read_back (fixture, first->snapshot, small_path);
  g_assert_true (g_bytes_equal (back, small));

  /* Nothing changed: no file is read, no data is stored again (only the
   * trees of the folders above, whose times change, and the point). */
  packs = count_objects (fixture, "data/");
  second = back_up (fixture);
  g_assert_cmpuint (second->totals.files_read, ==, 0);
  g_assert_cmpuint (second->totals.bytes_scanned, ==, 2 * g_bytes_get_size (big) + 13);
  g_assert_cmpuint (second->totals.bytes_sent, <, 64 * 1024);
  g_assert_cmpuint (count_objects (fixture, "data/"), <=, packs + 1);
  g_assert_cmpuint (count_objects (fixture, "snapshots/"), ==, 2);
}

static void
test_one_changed_byte_sends_about_one_chunk (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GBytes) big = random_bytes (24 * 1024 * 1024, 2);
  g_autoptr (CofferBackupResult) first = NULL;
  g_autoptr (CofferBackupResult) second = NULL;
  g_autofree char *path = g_build_filename (fixture->source, "big.bin", NULL);
  g_autoptr (GBytes) back = NULL;
  GByteArray *changed;

  write_file (fixture->source, "big.bin", big);
  first = back_up (fixture);

  changed = g_bytes_unref_to_array (g_bytes_ref (big));
  changed->data[12 * 1024 * 1024] ^= 0xff;
  g_assert_true (g_file_set_contents (path, (char *) changed->data, changed->len, NULL));
  second = back_up (fixture);

  /* One chunk (at most 4 MiB, about 1 MiB) and its tree, not 24 MiB. */
  g_assert_cmpuint (second->totals.bytes_read, ==, 24 * 1024 * 1024);
  g_assert_cmpuint (second->totals.bytes_sent, <, 2 * COFFER_CHUNK_MAX);

  back = read_back (fixture, second->snapshot, path);
  g_assert_cmpmem (g_bytes_get_data (back, NULL), g_bytes_get_size (back), changed->data,
                   changed->len);
  g_byte_array_unref (changed);
}

static void
test_unreadable_file_is_a_warning (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CofferBackupResult) result = NULL;
  g_autofree char *secret = g_build_filename (fixture->source, "secret.txt", NULL);
  CofferFailedItem *item;

  if (geteuid () == 0)
    {
      g_test_skip ("root can read every file");
      return;
    }
  take_file (fixture->source, "ok.txt", g_bytes_new_static ("ok", 2));
  take_file (fixture->source, "secret.txt", g_bytes_new_static ("no", 2));
  g_assert_cmpint (g_chmod (secret, 0), ==, 0);

  result = back_up (fixture);
  g_assert_cmpuint (result->failed->len, ==, 1);
  item = g_ptr_array_index (result->failed, 0);
  g_assert_cmpstr (item->path, ==, secret);
  g_assert_nonnull (item->reason);
}

/* Moves a file's modification time every half millisecond until told to
 * stop: every read of the file sees it change. */
typedef struct
{
  const char *path;
  gint stop;
} Toucher;

static gpointer
touch_run (gpointer data)
{
  Toucher *toucher = data;
  struct timespec times[2] = { { 0, UTIME_OMIT }, { 1000000000, 0 } };

  while (!g_atomic_int_get (&toucher->stop))
    {
      times[1].tv_nsec = (times[1].tv_nsec + 1) % 1000000000;
      g_assert_cmpint (utimensat (AT_FDCWD, toucher->path, times, 0), ==, 0);
      g_usleep (500);
    }
  return NULL;
}

/* A hardlink's content is stored with one of its names. When that name
 * cannot be backed up (here: it never stops changing), the other names,
 * which refer to the content, are reported too, naming it; and neither is
 * counted among the point's files. */
static void
test_lost_hardlink_names_are_warnings (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CofferBackupResult) result = NULL;
  g_autofree char *first = g_build_filename (fixture->source, "a", "busy.bin", NULL);
  g_autofree char *other = g_build_filename (fixture->source, "b", "busy-too.bin", NULL);
  g_autofree char *other_folder = g_path_get_dirname (other);
  Toucher toucher = { first, FALSE };
  GThread *thread;
  CofferFailedItem *changed = NULL;
  CofferFailedItem *named = NULL;

  take_file (fixture->source, "ok.txt", g_bytes_new_static ("ok", 2));
  take_file (fixture->source, "a/busy.bin", random_bytes (32 * 1024 * 1024, 5));
  g_assert_cmpint (g_mkdir (other_folder, 0700), ==, 0);
  g_assert_cmpint (link (first, other), ==, 0);

  thread = g_thread_new ("toucher", touch_run, &toucher);
  result = back_up (fixture);
  g_atomic_int_set (&toucher.stop, TRUE);
  g_thread_join (thread);

  g_assert_cmpuint (result->failed->len, ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      CofferFailedItem *item = g_ptr_array_index (result->failed, i);

      g_assert_true (g_str_equal (item->path, first) || g_str_equal (item->path, other));
      if (strstr (item->reason, "another name of") != NULL)
        named = item;
      else
        changed = item;
    }
  g_assert_nonnull (changed);
  g_assert_nonnull (named);
  g_assert_cmpstr (changed->reason, ==, "It changed while it was read.");
  g_assert_cmpstr (named->path, !=, changed->path);
  g_assert_nonnull (strstr (named->reason, changed->path));
  g_assert_cmpuint (result->snapshot->files, ==, 1);
}

static CofferCheckResult *
check (Fixture *fixture, gboolean read_data)
{
  g_autoptr (GError) error = NULL;
  CofferCheckResult *result = coffer_check_run (fixture->vault, "0123456789abcdef0123456789abcdef",
                                                fixture->keys, read_data, NULL, NULL, NULL, &error);

  g_assert_no_error (error);
  return result;
}

static void
test_check_finds_every_damaged_pack (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CofferBackupResult) backup = NULL;
  g_autoptr (CofferCheckResult) clean = NULL;
  g_autoptr (CofferCheckResult) damaged = NULL;
  g_autoptr (CofferCheckResult) structure = NULL;
  g_autoptr (GPtrArray) packs = NULL;
  g_autoptr (GBytes) big = random_bytes (20 * 1024 * 1024, 3);
  g_autofree char *big_path = g_build_filename (fixture->source, "big.bin", NULL);
  gboolean named_file = FALSE;

  write_file (fixture->source, "big.bin", big);
  take_file (fixture->source, "notes.txt", g_bytes_new_static ("notes\n", 6));
  backup = back_up (fixture);

  clean = check (fixture, TRUE);
  g_assert_cmpuint (clean->problems->len, ==, 0);
  g_assert_cmpuint (clean->snapshots, ==, 1);
  g_assert_cmpuint (clean->blobs_read, >, 5);

  /* Flip one byte in the middle of every data pack (the big ones: the trees'
   * pack is tiny, and a damaged tree would hide the files below it). */
  packs = coffer_store_list_sync (fixture->store, "machines/0123456789abcdef0123456789abcdef/data/",
                                  NULL, NULL);
  g_assert_cmpuint (packs->len, >=, 2);
  for (guint i = 0; i < packs->len; i++)
    {
      CofferStoreEntry *entry = g_ptr_array_index (packs, i);
      g_autofree char *path = g_build_filename (fixture->vault_dir, entry->name, NULL);
      g_autofree char *contents = NULL;
      gsize length;

      if (entry->size < 1024 * 1024)
        {
          g_ptr_array_remove_index (packs, i--);
          continue;
        }
      g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
      contents[length / 2] ^= 0x01;
      g_assert_true (g_file_set_contents (path, contents, length, NULL));
    }

  damaged = check (fixture, TRUE);
  for (guint i = 0; i < packs->len; i++)
    {
      CofferStoreEntry *entry = g_ptr_array_index (packs, i);
      gboolean found = FALSE;

      for (guint p = 0; p < damaged->problems->len; p++)
        {
          CofferFailedItem *item = g_ptr_array_index (damaged->problems, p);
          if (g_str_equal (item->path, entry->name))
            found = TRUE;
          if (strstr (item->reason, big_path) != NULL)
            named_file = TRUE;
        }
      if (!found)
        g_error ("check --read-data did not name the damaged pack %s", entry->name);
    }
  /* The file that needs a damaged chunk is named. */
  g_assert_true (named_file);

  /* A missing pack is found without reading data. */
  {
    CofferStoreEntry *entry = g_ptr_array_index (packs, 0);
    g_assert_true (coffer_store_delete_sync (fixture->store, entry->name, NULL, NULL));
    structure = check (fixture, FALSE);
    g_assert_cmpuint (structure->problems->len, >=, 1);
    g_assert_cmpstr (((CofferFailedItem *) g_ptr_array_index (structure->problems, 0))->reason, ==,
                     "Pack is missing, but the index names it.");
  }
}

typedef struct
{
  GCancellable *cancellable;
  guint64 cancel_after;
} CancelAfter;

static void
cancel_after_cb (const CofferBackupProgress *progress, gpointer user_data)
{
  CancelAfter *cancel = user_data;

  if (progress->bytes_sent >= cancel->cancel_after)
    g_cancellable_cancel (cancel->cancellable);
}

/* A backup stopped half-way leaves its packs named in the index: the next
 * one does not upload them again. */
static void
test_interrupted_backup_resumes (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GBytes) big = random_bytes (64 * 1024 * 1024, 4);
  g_autoptr (CofferPolicy) policy = NULL;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (CofferBackupResult) next = NULL;
  const char *skip[] = { fixture->vault_dir, fixture->cache_dir, NULL };
  CancelAfter cancel = { cancellable, 32 * 1024 * 1024 };
  CofferBackupOptions options = { 0 };
  CofferBackupResult *stopped;

  write_file (fixture->source, "big.bin", big);
  policy = coffer_policy_load (fixture->catalog, NULL);
  options.vault = fixture->vault;
  options.machine_id = "0123456789abcdef0123456789abcdef";
  options.keys = fixture->keys;
  options.policy = policy;
  options.cache_dir = fixture->cache_dir;
  options.skip_paths = skip;
  options.workers = 2;
  options.progress = cancel_after_cb;
  options.progress_data = &cancel;

  stopped = coffer_backup_run (&options, cancellable, &error);
  g_assert_null (stopped);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (count_objects (fixture, "snapshots/"), ==, 0);
  g_assert_cmpuint (count_objects (fixture, "index/"), >=, 1);

  next = back_up (fixture);
  /* At least the 32 MiB sent before the cancel is not sent again. */
  g_assert_cmpuint (next->totals.bytes_sent, <, 64 * 1024 * 1024 - 24 * 1024 * 1024);
  g_assert_cmpuint (count_objects (fixture, "snapshots/"), ==, 1);
}

/* Every kind of metadata the walker meets ends up in the tree. */
static void
test_every_kind_of_entry_is_captured (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CofferBackupResult) result = NULL;
  g_autoptr (GPtrArray) nodes = NULL;
  g_autofree char *file = g_build_filename (fixture->source, "file.txt", NULL);
  g_autofree char *hardlink = g_build_filename (fixture->source, "hardlink.txt", NULL);
  g_autofree char *symlink_path = g_build_filename (fixture->source, "symlink", NULL);
  g_autofree char *fifo = g_build_filename (fixture->source, "fifo", NULL);
  g_autofree char *sparse = g_build_filename (fixture->source, "sparse.img", NULL);
  g_autofree char *socket_path = g_build_filename (fixture->source, "socket", NULL);
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GSocketAddress) address = NULL;
  CofferNode *node, *other;
  int fd;

  take_file (fixture->source, "file.txt", g_bytes_new_static ("content\n", 8));
  g_assert_cmpint (link (file, hardlink), ==, 0);
  g_assert_cmpint (symlink ("file.txt", symlink_path), ==, 0);
  g_assert_cmpint (mkfifo (fifo, 0640), ==, 0);
  take_file (fixture->source, "empty", g_bytes_new_static ("", 0));
  g_assert_cmpint (make_folder (fixture->source, "empty-dir", 0750), ==, 0);
  g_assert_cmpint (g_chmod (file, 0741), ==, 0);
  if (setxattr (file, "user.coffer.test", "yes", 3, 0) != 0)
    g_test_message ("user xattrs are not supported here");
  fd = open (sparse, O_WRONLY | O_CREAT, 0600);
  g_assert_cmpint (pwrite (fd, "head", 4, 0), ==, 4);
  g_assert_cmpint (pwrite (fd, "tail", 4, 512 * 1024 * 1024), ==, 4);
  close (fd);
  socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, 0, NULL);
  address = g_unix_socket_address_new (socket_path);
  g_assert_true (g_socket_bind (socket, address, FALSE, NULL));
  /* Older than a second, so that the files cache keeps them: the second
   * backup below then takes them from it, unopened. */
  g_usleep (2100 * G_TIME_SPAN_MILLISECOND);

  result = back_up (fixture);
  g_assert_cmpuint (result->failed->len, ==, 0);
  nodes = read_folder (fixture, result->snapshot, fixture->source);

  node = find_node (nodes, "file.txt");
  g_assert_nonnull (node);
  g_assert_cmpint (node->type, ==, COFFER_NODE_FILE);
  g_assert_cmpuint (node->mode, ==, 0741);
  g_assert_cmpuint (node->size, ==, 8);
  g_assert_cmpuint (node->uid, ==, getuid ());
  if (node->xattr_names != NULL)
    g_assert_cmpstr (g_ptr_array_index (node->xattr_names, 0), ==, "user.coffer.test");
  other = find_node (nodes, "hardlink.txt");
  g_assert_nonnull (other);
  g_assert_cmpuint (node->hardlink_group, !=, 0);
  g_assert_cmpuint (node->hardlink_group, ==, other->hardlink_group);
  /* Stored once: one of the two names carries the content. */
  g_assert_cmpuint (node->chunks->len + other->chunks->len, ==, 1);

  node = find_node (nodes, "symlink");
  g_assert_cmpint (node->type, ==, COFFER_NODE_SYMLINK);
  g_assert_cmpstr (node->link_target, ==, "file.txt");
  node = find_node (nodes, "fifo");
  g_assert_cmpint (node->type, ==, COFFER_NODE_FIFO);
  g_assert_cmpuint (node->mode, ==, 0640);
  node = find_node (nodes, "empty");
  g_assert_cmpint (node->type, ==, COFFER_NODE_FILE);
  g_assert_cmpuint (node->chunks->len, ==, 0);
  node = find_node (nodes, "empty-dir");
  g_assert_cmpint (node->type, ==, COFFER_NODE_DIR);
  g_assert_cmpuint (node->mode, ==, 0750);
  /* The hole of 512 MiB is not stored: two small extents. */
  node = find_node (nodes, "sparse.img");
  g_assert_cmpuint (node->size, ==, 512 * 1024 * 1024 + 4);
  g_assert_nonnull (node->extents);
  g_assert_cmpuint (node->extents->len, ==, 2);
  g_assert_cmpuint (result->totals.bytes_sent, <, 1024 * 1024);
  /* Sockets are skipped, silently. */
  g_assert_null (find_node (nodes, "socket"));

  /* Backed up again unchanged, from the files cache: only the sparse file
   * is read again (the cache keeps no holes), and the attributes, hardlinks,
   * content and holes are all still there. */
  g_clear_pointer (&nodes, g_ptr_array_unref);
  g_clear_pointer (&result, coffer_backup_result_free);
  result = back_up (fixture);
  g_assert_cmpuint (result->failed->len, ==, 0);
  g_assert_cmpuint (result->totals.files_read, ==, 1);
  nodes = read_folder (fixture, result->snapshot, fixture->source);
  node = find_node (nodes, "file.txt");
  g_assert_cmpuint (node->mode, ==, 0741);
  g_assert_cmpuint (node->size, ==, 8);
  if (setxattr (file, "user.coffer.test", "yes", 3, XATTR_REPLACE) == 0)
    {
      g_assert_nonnull (node->xattr_names);
      g_assert_cmpstr (g_ptr_array_index (node->xattr_names, 0), ==, "user.coffer.test");
    }
  other = find_node (nodes, "hardlink.txt");
  g_assert_cmpuint (node->hardlink_group, !=, 0);
  g_assert_cmpuint (node->hardlink_group, ==, other->hardlink_group);
  g_assert_cmpuint (node->chunks->len + other->chunks->len, ==, 1);
  node = find_node (nodes, "empty");
  g_assert_cmpuint (node->chunks->len, ==, 0);
  node = find_node (nodes, "sparse.img");
  g_assert_cmpuint (node->size, ==, 512 * 1024 * 1024 + 4);
  g_assert_nonnull (node->extents);
  g_assert_cmpuint (node->extents->len, ==, 2);
}

static void
edit_policy (Fixture *fixture, const char *kind, const char *value)
{
  g_autoptr (GError) error = NULL;
  CofferPolicyEdit edit = { .kind = kind, .value = value, .add = TRUE };

  g_assert_true (coffer_catalog_edit_policy (fixture->catalog, &edit, 1, &error));
  g_assert_no_error (error);
}

/* What the walker leaves out: exclusions by type, name and path (unless an
 * inclusion takes a file back), the contents of a folder tagged with a real
 * CACHEDIR.TAG (the tag is kept); a folder whose tag lacks the signature
 * is backed up whole. */
static void
test_exclusions_and_cache_folders (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CofferBackupResult) result = NULL;
  g_autoptr (GPtrArray) top = NULL;
  g_autoptr (GPtrArray) cache = NULL;
  g_autoptr (GPtrArray) not_cache = NULL;
  g_autoptr (GPtrArray) build = NULL;
  g_autofree char *build_dir = g_build_filename (fixture->source, "build", NULL);
  g_autofree char *build_children = g_build_filename (build_dir, "*", NULL);
  g_autofree char *logs = g_build_filename (fixture->source, "logs", NULL);
  g_autofree char *wanted = g_build_filename (fixture->source, "wanted.tmp", NULL);
  g_autofree char *thumbnails = g_build_filename (fixture->source, "thumbnails", NULL);
  g_autofree char *fake = g_build_filename (fixture->source, "fake", NULL);
  static const char tag[] = "Signature: 8a477f597d28d172789f06886806bc55\n# a cache\n";
  g_autofree char *keep = g_build_filename (fixture->source, "keep.txt", NULL);
  g_autofree char *keep_link = g_build_filename (fixture->source, "keep-link.txt", NULL);
  const char *skip[] = { fixture->vault_dir, fixture->cache_dir, NULL };
  g_autoptr (CofferPolicy) policy = NULL;
  guint64 total;

  take_file (fixture->source, "keep.txt", g_bytes_new_static ("keep", 4));
  take_file (fixture->source, "scratch.TMP", g_bytes_new_static ("tmp", 3));
  take_file (fixture->source, "wanted.tmp", g_bytes_new_static ("wanted", 6));
  take_file (fixture->source, "notes.txt~", g_bytes_new_static ("old", 3));
  take_file (fixture->source, "build/out.o", g_bytes_new_static ("obj", 3));
  take_file (fixture->source, "build/sub/deep.o", g_bytes_new_static ("obj", 3));
  take_file (fixture->source, "logs/today.log", g_bytes_new_static ("log", 3));
  take_file (fixture->source, "thumbnails/CACHEDIR.TAG", g_bytes_new_static (tag, strlen (tag)));
  take_file (fixture->source, "thumbnails/a.png", g_bytes_new_static ("png", 3));
  take_file (fixture->source, "thumbnails/big/b.png", g_bytes_new_static ("png", 3));
  take_file (fixture->source, "fake/CACHEDIR.TAG", g_bytes_new_static ("not a tag", 9));
  take_file (fixture->source, "fake/c.txt", g_bytes_new_static ("c", 1));
  edit_policy (fixture, "exclude", ".tmp");
  edit_policy (fixture, "exclude", "*~");
  edit_policy (fixture, "exclude", logs);
  edit_policy (fixture, "exclude", build_children);
  edit_policy (fixture, "include", wanted);
  g_assert_cmpint (link (keep, keep_link), ==, 0);

  /* What a first backup expects to scan follows the walk's rules: the kept
   * files, each hardlink once, a cache folder's tag alone. */
  total = 4 + 6 + 3 + strlen (tag) + 9 + 1;
  policy = coffer_policy_load (fixture->catalog, NULL);
  g_assert_cmpuint (coffer_backup_estimate (policy, skip, NULL), ==, total);

  result = back_up (fixture);
  g_assert_cmpuint (result->failed->len, ==, 0);
  g_assert_cmpuint (result->totals.bytes_scanned, ==, total);
  g_assert_cmpuint (result->totals.bytes_expected, ==, total);

  top = read_folder (fixture, result->snapshot, fixture->source);
  g_assert_nonnull (find_node (top, "keep.txt"));
  g_assert_nonnull (find_node (top, "wanted.tmp"));
  g_assert_null (find_node (top, "scratch.TMP"));
  g_assert_null (find_node (top, "notes.txt~"));
  g_assert_null (find_node (top, "logs"));
  g_assert_nonnull (find_node (top, "build"));

  /* "build/\*": the files directly in it, not its subfolders. */
  build = read_folder (fixture, result->snapshot, build_dir);
  g_assert_null (find_node (build, "out.o"));
  g_assert_nonnull (find_node (build, "sub"));

  cache = read_folder (fixture, result->snapshot, thumbnails);
  g_assert_cmpuint (cache->len, ==, 1);
  g_assert_nonnull (find_node (cache, "CACHEDIR.TAG"));

  not_cache = read_folder (fixture, result->snapshot, fake);
  g_assert_cmpuint (not_cache->len, ==, 2);
  g_assert_nonnull (find_node (not_cache, "c.txt"));
}

/* The chunk ids of the hardlink whose names are the common.txt of folders
 * d00…d39, as @snapshot holds them: with exactly one of its names. */
static GArray *
hardlink_content (Fixture *fixture, CofferSnapshot *snapshot)
{
  GArray *content = NULL;

  for (guint d = 0; d < 40; d++)
    {
      g_autofree char *dir = g_strdup_printf ("%s/d%02u", fixture->source, d);
      g_autoptr (GPtrArray) nodes = read_folder (fixture, snapshot, dir);
      CofferNode *node = find_node (nodes, "common.txt");

      g_assert_nonnull (node);
      if (node->chunks != NULL && node->chunks->len > 0)
        {
          g_assert_null (content);
          content = g_array_ref (node->chunks);
        }
    }
  g_assert_nonnull (content);
  return content;
}

/* Folders are walked by several walkers at once: every file is still
 * there, once; the names of a hardlink spread over many folders share one
 * group and one copy of its content, whichever walker met it first; and a
 * second backup takes every file from the files cache, the hardlink too
 * when another of its names is met first, and stores the same content. */
static void
test_parallel_walk (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CofferBackupResult) first = NULL;
  g_autoptr (CofferBackupResult) second = NULL;
  g_autoptr (GArray) first_content = NULL;
  g_autoptr (GArray) second_content = NULL;
  g_autofree char *common = NULL;
  guint64 group = 0;
  guint with_content = 0;

  for (guint d = 0; d < 40; d++)
    for (guint f = 0; f < 30; f++)
      {
        g_autofree char *name = g_strdup_printf ("d%02u/sub/f%02u.bin", d, f);
        g_autoptr (GBytes) bytes = random_bytes (2048, d * 100 + f);
        write_file (fixture->source, name, bytes);
      }
  take_file (fixture->source, "d00/common.txt", g_bytes_new_static ("shared", 6));
  common = g_build_filename (fixture->source, "d00", "common.txt", NULL);
  for (guint d = 1; d < 40; d++)
    {
      g_autofree char *name = g_strdup_printf ("d%02u/common.txt", d);
      g_autofree char *path = g_build_filename (fixture->source, name, NULL);
      g_assert_cmpint (link (common, path), ==, 0);
    }
  /* Changed more than a second ago: the files cache keeps them. */
  g_usleep (2100 * G_TIME_SPAN_MILLISECOND);

  first = back_up (fixture);
  g_assert_cmpuint (first->failed->len, ==, 0);
  g_assert_cmpuint (first->totals.files_scanned, ==, 40 * 30 + 40);
  g_assert_cmpuint (first->totals.files_read, ==, 40 * 30 + 1);
  for (guint d = 0; d < 40; d++)
    {
      g_autofree char *dir = g_strdup_printf ("%s/d%02u", fixture->source, d);
      g_autofree char *sub = g_strdup_printf ("%s/d%02u/sub", fixture->source, d);
      g_autoptr (GPtrArray) nodes = read_folder (fixture, first->snapshot, dir);
      g_autoptr (GPtrArray) files = read_folder (fixture, first->snapshot, sub);
      CofferNode *link_node = find_node (nodes, "common.txt");

      g_assert_cmpuint (files->len, ==, 30);
      g_assert_nonnull (link_node);
      g_assert_cmpuint (link_node->hardlink_group, !=, 0);
      if (group == 0)
        group = link_node->hardlink_group;
      g_assert_cmpuint (link_node->hardlink_group, ==, group);
      if (link_node->chunks != NULL && link_node->chunks->len > 0)
        with_content++;
    }
  g_assert_cmpuint (with_content, ==, 1);

  second = back_up (fixture);
  g_assert_cmpuint (second->failed->len, ==, 0);
  g_assert_cmpuint (second->totals.files_scanned, ==, 40 * 30 + 40);
  g_assert_cmpuint (second->totals.files_read, ==, 0);
  /* The same files, chunk for chunk: each folder of them has the same
   * tree. (Not the whole point: the folders above the source change under
   * other programs, and which name of the hardlink holds its content is
   * the one a walker met first.) */
  for (guint d = 0; d < 40; d++)
    {
      g_autofree char *dir = g_strdup_printf ("%s/d%02u", fixture->source, d);
      g_autoptr (GPtrArray) before = read_folder (fixture, first->snapshot, dir);
      g_autoptr (GPtrArray) after = read_folder (fixture, second->snapshot, dir);
      CofferNode *sub_before = find_node (before, "sub");
      CofferNode *sub_after = find_node (after, "sub");

      g_assert_nonnull (sub_before);
      g_assert_nonnull (sub_after);
      g_assert_cmpmem (sub_after->subtree, 32, sub_before->subtree, 32);
    }
  first_content = hardlink_content (fixture, first->snapshot);
  second_content = hardlink_content (fixture, second->snapshot);
  g_assert_cmpuint (second_content->len, ==, first_content->len);
  g_assert_cmpmem (second_content->data, second_content->len * 32, first_content->data,
                   first_content->len * 32);
}

/* A file with several names is found in the files cache under whichever
 * name the walk meets first: here the last backup read it as a/data.bin,
 * and this one meets only b/data.bin, then both. Neither backup reads it
 * again, and the point holds its content. */
static void
test_hardlink_found_in_cache_under_any_name (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GBytes) content = random_bytes (300 * 1024, 21);
  g_autofree char *a = g_build_filename (fixture->source, "a", NULL);
  g_autofree char *b = g_build_filename (fixture->source, "b", NULL);
  g_autofree char *a_file = g_build_filename (a, "data.bin", NULL);
  g_autofree char *b_file = g_build_filename (b, "data.bin", NULL);
  CofferPolicyEdit swap[] = {
    { "exclude", b, FALSE },
    { "exclude", a, TRUE },
  };
  CofferPolicyEdit both[] = {
    { "exclude", a, FALSE },
  };
  g_autoptr (GError) error = NULL;

  write_file (fixture->source, "a/data.bin", content);
  g_assert_cmpint (g_mkdir (b, 0700), ==, 0);
  g_assert_cmpint (link (a_file, b_file), ==, 0);
  /* Changed more than a second ago: the files cache keeps it. */
  g_usleep (2100 * G_TIME_SPAN_MILLISECOND);

  edit_policy (fixture, "exclude", b);
  {
    g_autoptr (CofferBackupResult) result = back_up (fixture);
    g_autoptr (GBytes) stored = read_back (fixture, result->snapshot, a_file);

    g_assert_cmpuint (result->failed->len, ==, 0);
    g_assert_cmpuint (result->totals.files_read, ==, 1);
    g_assert_true (g_bytes_equal (stored, content));
  }

  g_assert_true (coffer_catalog_edit_policy (fixture->catalog, swap, G_N_ELEMENTS (swap), &error));
  g_assert_no_error (error);
  {
    g_autoptr (CofferBackupResult) result = back_up (fixture);
    g_autoptr (GBytes) stored = read_back (fixture, result->snapshot, b_file);

    g_assert_cmpuint (result->failed->len, ==, 0);
    g_assert_cmpuint (result->totals.files_scanned, ==, 1);
    g_assert_cmpuint (result->totals.files_read, ==, 0);
    g_assert_true (g_bytes_equal (stored, content));
  }

  g_assert_true (coffer_catalog_edit_policy (fixture->catalog, both, G_N_ELEMENTS (both), &error));
  g_assert_no_error (error);
  {
    g_autoptr (CofferBackupResult) result = back_up (fixture);

    g_assert_cmpuint (result->failed->len, ==, 0);
    g_assert_cmpuint (result->totals.files_scanned, ==, 2);
    g_assert_cmpuint (result->totals.files_read, ==, 0);
  }
}

/* However few descriptors the process may open, no file is left out for
 * lack of one: the walker waits for the workers to close files. */
static void
test_few_descriptors_leave_nothing_out (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CofferBackupResult) result = NULL;
  struct rlimit saved, low;

  for (guint i = 0; i < 1500; i++)
    {
      g_autofree char *name = g_strdup_printf ("many/f%04u.bin", i);
      g_autoptr (GBytes) bytes = random_bytes (16 * 1024, i);
      write_file (fixture->source, name, bytes);
    }
  g_assert_cmpint (getrlimit (RLIMIT_NOFILE, &saved), ==, 0);
  low = saved;
  low.rlim_cur = 64;
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &low), ==, 0);
  result = back_up (fixture);
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &saved), ==, 0);

  g_assert_cmpuint (result->failed->len, ==, 0);
  g_assert_cmpuint (result->totals.files_read, ==, 1500);
}

/* What progress a slow vault lets a backup report. */
typedef struct
{
  GMutex lock;
  guint reports;
  guint64 scanned_before_sent; /* the most reported as scanned before the file was sent */
  guint64 pending_before_sent; /* the most reported as on its way meanwhile */
} ProgressLog;

static void
log_progress_cb (const CofferBackupProgress *progress, gpointer user_data)
{
  ProgressLog *log = user_data;

  g_mutex_lock (&log->lock);
  log->reports++;
  if (progress->bytes_sent < 1024 * 1024)
    {
      log->scanned_before_sent = MAX (log->scanned_before_sent, progress->bytes_scanned);
      log->pending_before_sent = MAX (log->pending_before_sent, progress->bytes_pending);
    }
  g_mutex_unlock (&log->lock);
}

/* A pack that takes seconds to reach the vault does not hide what was read
 * meanwhile: a person watching sees the file scanned before it is sent, and
 * the backup does not claim to be done while it is on its way. */
static void
test_figures_shown_while_a_pack_uploads (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GBytes) file = random_bytes (1024 * 1024, 11);
  g_autoptr (CofferVault) vault = NULL;
  g_autoptr (CofferBackupResult) result = NULL;
  g_autoptr (GError) error = NULL;
  ProgressLog log = { 0 };

  write_file (fixture->source, "film.bin", file);
  /* 4 Mbit/s: the one data pack takes about two seconds. */
  vault = coffer_test_vault_open_slow (fixture, 4 * 1000 * 1000);
  g_mutex_init (&log.lock);

  result = back_up_to (fixture, vault, log_progress_cb, &log);
  g_assert_cmpuint (result->totals.bytes_scanned, ==, 1024 * 1024);
  g_assert_cmpuint (result->totals.bytes_sent, >, 1024 * 1024);
  /* Reported while the pack was on its way, not only when it got there, and
   * reported as on its way: read, but not yet in the vault. */
  g_assert_cmpuint (log.scanned_before_sent, ==, 1024 * 1024);
  g_assert_cmpuint (log.pending_before_sent, ==, 1024 * 1024);
  g_assert_cmpuint (result->totals.bytes_pending, ==, 0);
  g_assert_cmpuint (log.reports, >=, 4);
  g_mutex_clear (&log.lock);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func)                                                                            \
  g_test_add ("/libcoffer/backup/" path, Fixture, NULL, coffer_test_vault_set_up, func,            \
              coffer_test_vault_tear_down)
  ADD ("round-trip-and-dedup", test_round_trip_and_dedup);
  ADD ("one-changed-byte-sends-about-one-chunk", test_one_changed_byte_sends_about_one_chunk);
  ADD ("unreadable-file-is-a-warning", test_unreadable_file_is_a_warning);
  ADD ("lost-hardlink-names-are-warnings", test_lost_hardlink_names_are_warnings);
  ADD ("check-finds-every-damaged-pack", test_check_finds_every_damaged_pack);
  ADD ("interrupted-backup-resumes", test_interrupted_backup_resumes);
  ADD ("every-kind-of-entry-is-captured", test_every_kind_of_entry_is_captured);
  ADD ("few-descriptors-leave-nothing-out", test_few_descriptors_leave_nothing_out);
  ADD ("exclusions-and-cache-folders", test_exclusions_and_cache_folders);
  ADD ("parallel-walk", test_parallel_walk);
  ADD ("hardlink-found-in-cache-under-any-name", test_hardlink_found_in_cache_under_any_name);
  ADD ("figures-shown-while-a-pack-uploads", test_figures_shown_while_a_pack_uploads);
#undef ADD

  return g_test_run ();
}
