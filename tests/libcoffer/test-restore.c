/* test-restore.c: a recovered tree is the tree that was backed up, and a
 * recovery never writes outside its target. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "coffer-test-util.h"
#include "coffer.h"

#define MACHINE "0123456789abcdef0123456789abcdef"

/* The sanitizer build (HACKING.md, "Fuzzing and sanitizers") checks every
 * access and allocation: a time limit is ten times as long there. */
#if defined(__SANITIZE_ADDRESS__)
#define TIME_FACTOR 10
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TIME_FACTOR 10
#endif
#endif
#ifndef TIME_FACTOR
#define TIME_FACTOR 1
#endif

typedef CofferTestVault Fixture;

static CofferSnapshot *
back_up (Fixture *fixture)
{
  g_autoptr (CofferPolicy) policy = coffer_policy_load (fixture->catalog, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (CofferBackupResult) result = NULL;
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

static CofferPointReader *
reader_new (Fixture *fixture)
{
  g_autoptr (GError) error = NULL;
  CofferPointReader *reader =
      coffer_point_reader_new (fixture->vault, MACHINE, fixture->keys, NULL, &error);

  g_assert_no_error (error);
  return reader;
}

/* Recovers @path of the point into @target (NULL: the fixture's target). */
static CofferRestoreResult *
restore_full (Fixture *fixture,
              CofferSnapshot *snapshot,
              const char *path,
              const char *target,
              CofferConflict conflict,
              gboolean permissions,
              GCancellable *cancellable,
              CofferBackupProgressFunc progress,
              GError **error)
{
  g_autoptr (CofferPointReader) reader = reader_new (fixture);
  const char *paths[] = { path, NULL };
  CofferRestoreOptions options = {
    .reader = reader,
    .root = snapshot->root,
    .point_time = snapshot->time,
    .paths = paths,
    .target = target != NULL ? target : fixture->target,
    .conflict = conflict,
    .restore_permissions = permissions,
    .workers = 2,
    .progress = progress,
    .progress_data = cancellable,
  };

  return coffer_restore_run (&options, cancellable, error);
}

static CofferRestoreResult *
restore (Fixture *fixture, CofferSnapshot *snapshot, const char *path, CofferConflict conflict)
{
  g_autoptr (GError) error = NULL;
  CofferRestoreResult *result =
      restore_full (fixture, snapshot, path, NULL, conflict, TRUE, NULL, NULL, &error);

  g_assert_no_error (error);
  for (guint i = 0; i < result->failed->len; i++)
    {
      CofferFailedItem *item = g_ptr_array_index (result->failed, i);
      g_test_message ("failed: %s: %s", item->path, item->reason);
    }
  return result;
}

static void
write_at (int dirfd, const char *name, const char *content, mode_t mode)
{
  int fd = openat (dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, content, strlen (content)), ==, (ssize_t) strlen (content));
  g_assert_cmpint (fchmod (fd, mode), ==, 0);
  close (fd);
}

static void
set_time (int dirfd, const char *name, gint64 seconds, long nanoseconds)
{
  struct timespec times[2] = { { seconds, nanoseconds }, { seconds, nanoseconds } };

  g_assert_cmpint (utimensat (dirfd, name, times, AT_SYMLINK_NOFOLLOW), ==, 0);
}

static char *
file_contents (const char *dir, const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  char *contents = NULL;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return NULL;
  return contents;
}

/* ---- Fidelity ------------------------------------------------------------- */

#define DEEP_NAME_LENGTH 200
#define DEEP_LEVELS 25 /* 25 × 201 bytes: beyond PATH_MAX */

static gboolean
try_xattr (int dirfd, const char *name, const char *value)
{
  g_autofree char *proc = NULL;
  int fd = openat (dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  int result;

  g_assert_cmpint (fd, >=, 0);
  proc = g_strdup_printf ("/proc/self/fd/%d", fd);
  result = setxattr (proc, "user.coffer-test", value, strlen (value), 0);
  close (fd);
  return result == 0;
}

/* Builds every kind of entry a restore must get right. Returns whether
 * xattrs could be set on files. */
static gboolean
make_corpus (const char *root)
{
  int fd = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int deep;
  char long_name[256];
  char deep_name[DEEP_NAME_LENGTH + 1];
  gboolean xattrs;

  g_assert_cmpint (fd, >=, 0);
  write_at (fd, "caf\xc3\xa9 nfc", "NFC\n", 0644);
  write_at (fd, "cafe\xcc\x81 nfd", "NFD\n", 0644);
  memset (long_name, 'L', 255);
  long_name[255] = '\0';
  write_at (fd, long_name, "255 bytes of name\n", 0644);
  write_at (fd, "name with spaces", "spaces\n", 0644);
  write_at (fd, "new\nline", "newline\n", 0644);
  write_at (fd, "-leading-dash", "dash\n", 0644);
  write_at (fd, "empty", "", 0644);
  g_assert_cmpint (mkdirat (fd, "empty-folder", 0755), ==, 0);
  write_at (fd, "mode-0751", "#!/bin/sh\n", 0751);
  write_at (fd, "mode-0600", "secret\n", 0600);

  /* 2 GiB, two small data regions. */
  {
    int sparse = openat (fd, "sparse", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    g_assert_cmpint (ftruncate (sparse, 2ll * 1024 * 1024 * 1024), ==, 0);
    g_assert_cmpint (pwrite (sparse, "start", 5, 4096), ==, 5);
    g_assert_cmpint (pwrite (sparse, "middle", 6, 1024ll * 1024 * 1024), ==, 6);
    close (sparse);
  }

  /* Hardlinks, one name in another folder. */
  g_assert_cmpint (mkdirat (fd, "sub", 0755), ==, 0);
  write_at (fd, "sub/linked", "one inode, three names\n", 0640);
  g_assert_cmpint (linkat (fd, "sub/linked", fd, "a-link", 0), ==, 0);
  g_assert_cmpint (linkat (fd, "sub/linked", fd, "z-link", 0), ==, 0);

  g_assert_cmpint (symlinkat ("/etc/hostname", fd, "absolute-link"), ==, 0);
  g_assert_cmpint (symlinkat ("sub/linked", fd, "relative-link"), ==, 0);
  g_assert_cmpint (symlinkat ("nowhere/at/all", fd, "dangling-link"), ==, 0);
  g_assert_cmpint (mkfifoat (fd, "fifo", 0640), ==, 0);

  /* A read-only folder with content, a setgid folder. */
  g_assert_cmpint (mkdirat (fd, "read-only", 0755), ==, 0);
  write_at (fd, "read-only/inside", "inside\n", 0644);
  g_assert_cmpint (mkdirat (fd, "setgid", 0755), ==, 0);
  write_at (fd, "setgid/file", "setgid\n", 0644);
  g_assert_cmpint (fchmodat (fd, "setgid", 02755, 0), ==, 0);

  xattrs = try_xattr (fd, "mode-0600", "on a file");
  if (xattrs)
    {
      g_assert_true (try_xattr (fd, "sub", "on a folder"));
      try_xattr (fd, "relative-link", "on a symlink"); /* Linux refuses user.* there */
    }

  /* Deeper than PATH_MAX. */
  memset (deep_name, 'd', DEEP_NAME_LENGTH);
  deep_name[DEEP_NAME_LENGTH] = '\0';
  g_assert_cmpint (mkdirat (fd, "deep", 0755), ==, 0);
  deep = openat (fd, "deep", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  for (guint i = 0; i < DEEP_LEVELS; i++)
    {
      int next;

      g_assert_cmpint (mkdirat (deep, deep_name, 0750), ==, 0);
      next = openat (deep, deep_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      g_assert_cmpint (next, >=, 0);
      if (i == DEEP_LEVELS / 2)
        write_at (next, "halfway", "halfway down\n", 0604);
      close (deep);
      deep = next;
    }
  write_at (deep, "bottom", "at the bottom\n", 0640);
  set_time (deep, "bottom", 1500000000, 987654321);
  close (deep);

  /* Times last, with nanoseconds, folders included. */
  set_time (fd, "mode-0751", 1234567890, 123456789);
  set_time (fd, "sparse", 1600000000, 1);
  set_time (fd, "absolute-link", 1111111111, 999999999);
  set_time (fd, "sub", 1300000000, 500000000);
  set_time (fd, "empty-folder", 1400000000, 42);
  g_assert_cmpint (fchmodat (fd, "read-only", 0555, 0), ==, 0);
  set_time (fd, "read-only", 1200000000, 7);
  close (fd);
  return xattrs;
}

static void
hash_file (int dirfd, const char *name, char **out)
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  int fd = openat (dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  guint8 buffer[65536];
  ssize_t n;

  g_assert_cmpint (fd, >=, 0);
  while ((n = read (fd, buffer, sizeof buffer)) > 0)
    g_checksum_update (sum, buffer, n);
  close (fd);
  *out = g_strdup (g_checksum_get_string (sum));
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static GPtrArray *
sorted_names (int fd)
{
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  DIR *stream = fdopendir (dup (fd));
  struct dirent *entry;

  g_assert_nonnull (stream);
  while ((entry = readdir (stream)) != NULL)
    if (!g_str_equal (entry->d_name, ".") && !g_str_equal (entry->d_name, ".."))
      g_ptr_array_add (names, g_strdup (entry->d_name));
  closedir (stream);
  g_ptr_array_sort (names, compare_names);
  return names;
}

/* Compares two trees through directory descriptors (rsync cannot reach
 * paths beyond PATH_MAX): names, types, sizes, contents, modes, mtimes.
 * Returns how many entries were compared. */
static guint
compare_trees (int a, int b)
{
  g_autoptr (GPtrArray) names_a = sorted_names (a);
  g_autoptr (GPtrArray) names_b = sorted_names (b);
  guint compared = 0;

  g_assert_cmpuint (names_a->len, ==, names_b->len);
  for (guint i = 0; i < names_a->len; i++)
    {
      const char *name = g_ptr_array_index (names_a, i);
      struct stat sa, sb;

      g_assert_cmpstr (name, ==, g_ptr_array_index (names_b, i));
      g_assert_cmpint (fstatat (a, name, &sa, AT_SYMLINK_NOFOLLOW), ==, 0);
      g_assert_cmpint (fstatat (b, name, &sb, AT_SYMLINK_NOFOLLOW), ==, 0);
      g_assert_cmpint (sa.st_mode, ==, sb.st_mode);
      g_assert_cmpint (sa.st_mtim.tv_sec, ==, sb.st_mtim.tv_sec);
      g_assert_cmpint (sa.st_mtim.tv_nsec, ==, sb.st_mtim.tv_nsec);
      compared++;
      if (S_ISREG (sa.st_mode))
        {
          g_autofree char *ha = NULL;
          g_autofree char *hb = NULL;

          g_assert_cmpint (sa.st_size, ==, sb.st_size);
          hash_file (a, name, &ha);
          hash_file (b, name, &hb);
          g_assert_cmpstr (ha, ==, hb);
        }
      else if (S_ISDIR (sa.st_mode))
        {
          int ca = openat (a, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          int cb = openat (b, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

          g_assert_cmpint (ca, >=, 0);
          g_assert_cmpint (cb, >=, 0);
          compared += compare_trees (ca, cb);
          close (ca);
          close (cb);
        }
    }
  return compared;
}

static char *
rsync_differences (const char *source, const char *copy)
{
  g_autofree char *from = g_strconcat (source, "/", NULL);
  g_autofree char *to = g_strconcat (copy, "/", NULL);
  const char *argv[] = {
    "rsync", "-naHAX", "--checksum", "--itemize-changes", "--no-implied-dirs", "--exclude=/deep/",
    from,    to,       NULL
  };
  g_autoptr (GError) error = NULL;
  char *out = NULL;
  g_autofree char *err = NULL;
  int status;

  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out,
                               &err, &status, &error));
  g_assert_no_error (error);
  if (err != NULL && err[0] != '\0')
    g_test_message ("rsync: %s", err);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  return out;
}

static void
test_fidelity (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CofferSnapshot) snapshot = NULL;
  g_autoptr (CofferRestoreResult) result = NULL;
  g_autofree char *copy = g_build_filename (fixture->target, "source", NULL);
  g_autofree char *differences = NULL;
  g_autofree char *sparse = g_build_filename (copy, "sparse", NULL);
  g_autofree char *linked = g_build_filename (copy, "sub", "linked", NULL);
  gboolean xattrs;
  struct stat st;

  xattrs = make_corpus (fixture->source);
  snapshot = back_up (fixture);
  result = restore (fixture, snapshot, fixture->source, COFFER_CONFLICT_COPY);
  g_assert_cmpuint (result->failed->len, ==, 0);
  g_assert_cmpuint (result->totals.files_failed, ==, 0);
  g_assert_cmpuint (result->totals.files_read, >=, 20);

  /* Everything rsync can reach is the same, xattrs and hardlinks included. */
  differences = rsync_differences (fixture->source, copy);
  g_assert_cmpstr (differences, ==, "");

  /* The part beyond PATH_MAX, through descriptors. */
  {
    int a = open (fixture->source, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int b = open (copy, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int deep_a = openat (a, "deep", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int deep_b = openat (b, "deep", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    g_assert_cmpint (deep_b, >=, 0);
    g_assert_cmpuint (compare_trees (deep_a, deep_b), ==, DEEP_LEVELS + 2);
    close (deep_a);
    close (deep_b);
    close (a);
    close (b);
  }

  /* Holes stay holes. */
  g_assert_cmpint (lstat (sparse, &st), ==, 0);
  g_assert_cmpint (st.st_size, ==, 2ll * 1024 * 1024 * 1024);
  g_assert_cmpint (st.st_blocks * 512, <, 1024 * 1024);
  g_assert_cmpint (lstat (linked, &st), ==, 0);
  g_assert_cmpint (st.st_nlink, ==, 3);

  if (!xattrs)
    g_test_skip ("This filesystem holds no user xattrs: they were not compared.");
}

/* Each name of a hardlink recovered alone gets the content, wherever the
 * point stores it. */
static void
test_hardlink_name_alone (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CofferSnapshot) snapshot = NULL;
  const char *names[] = { "a", "m", "z" };
  g_autofree char *first = g_build_filename (fixture->source, "m", NULL);

  g_assert_true (g_file_set_contents (first, "shared content\n", -1, NULL));
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *other = g_build_filename (fixture->source, names[i], NULL);
      if (!g_str_equal (names[i], "m"))
        g_assert_cmpint (link (first, other), ==, 0);
    }
  snapshot = back_up (fixture);

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *path = g_build_filename (fixture->source, names[i], NULL);
      g_autoptr (CofferRestoreResult) result =
          restore (fixture, snapshot, path, COFFER_CONFLICT_OVERWRITE);
      g_autofree char *contents = file_contents (fixture->target, names[i]);

      g_assert_cmpuint (result->failed->len, ==, 0);
      g_assert_cmpstr (contents, ==, "shared content\n");
    }
}

/* Without a target, items go back where they were: missing folders on the
 * way are made again. */
static void
test_original_location (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CofferSnapshot) snapshot = NULL;
  g_autoptr (CofferPointReader) reader = NULL;
  g_autoptr (CofferRestoreResult) result = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *folder = g_build_filename (fixture->source, "sub", NULL);
  g_autofree char *path = g_build_filename (folder, "x", NULL);
  g_autofree char *contents = NULL;
  const char *paths[] = { path, NULL };
  CofferRestoreOptions options = { 0 };

  g_assert_cmpint (g_mkdir (folder, 0750), ==, 0);
  g_assert_true (g_file_set_contents (path, "back home\n", -1, NULL));
  snapshot = back_up (fixture);
  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_cmpint (g_rmdir (folder), ==, 0);

  reader = reader_new (fixture);
  options.reader = reader;
  options.root = snapshot->root;
  options.point_time = snapshot->time;
  options.paths = paths;
  options.restore_permissions = TRUE;
  result = coffer_restore_run (&options, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (result->failed->len, ==, 0);
  contents = file_contents (folder, "x");
  g_assert_cmpstr (contents, ==, "back home\n");
}

/* ---- Conflicts ------------------------------------------------------------ */

static void
test_conflicts (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CofferSnapshot) snapshot = NULL;
  g_autofree char *path = g_build_filename (fixture->source, "a.txt", NULL);
  g_autofree char *mine = g_build_filename (fixture->target, "a.txt", NULL);
  g_autofree char *copy1 = NULL;
  g_autofree char *copy2 = NULL;
  g_autofree char *contents = NULL;

  g_assert_true (g_file_set_contents (path, "from the point\n", -1, NULL));
  snapshot = back_up (fixture);
  copy1 = coffer_restore_copy_name ("a.txt", snapshot->time, 1);
  copy2 = coffer_restore_copy_name ("a.txt", snapshot->time, 2);
  g_assert_true (g_str_has_suffix (copy1, " Copy of a.txt"));
  g_assert_true (g_str_has_suffix (copy2, " Copy (2) of a.txt"));
  g_assert_cmpuint (strlen (copy1), ==, strlen ("YYYY-MM-DD HH-MM Copy of a.txt"));
  g_assert_true (g_file_set_contents (mine, "mine\n", -1, NULL));

  /* Copy: the file there is kept, the recovered one gets a new name. */
  {
    g_autoptr (CofferRestoreResult) a = restore (fixture, snapshot, path, COFFER_CONFLICT_COPY);
    g_autoptr (CofferRestoreResult) b = restore (fixture, snapshot, path, COFFER_CONFLICT_COPY);
    g_autofree char *first = file_contents (fixture->target, copy1);
    g_autofree char *second = file_contents (fixture->target, copy2);
    g_autofree char *kept = file_contents (fixture->target, "a.txt");

    g_assert_cmpuint (a->failed->len + b->failed->len, ==, 0);
    g_assert_cmpstr (first, ==, "from the point\n");
    g_assert_cmpstr (second, ==, "from the point\n");
    g_assert_cmpstr (kept, ==, "mine\n");
  }

  /* Skip: left as it is, and counted. */
  {
    g_autoptr (CofferRestoreResult) result =
        restore (fixture, snapshot, path, COFFER_CONFLICT_SKIP);
    g_autofree char *kept = file_contents (fixture->target, "a.txt");

    g_assert_cmpuint (result->failed->len, ==, 0);
    g_assert_cmpuint (result->skipped, ==, 1);
    g_assert_cmpstr (kept, ==, "mine\n");
  }

  /* Overwrite: replaced. */
  {
    g_autoptr (CofferRestoreResult) result =
        restore (fixture, snapshot, path, COFFER_CONFLICT_OVERWRITE);

    g_assert_cmpuint (result->failed->len, ==, 0);
    contents = file_contents (fixture->target, "a.txt");
    g_assert_cmpstr (contents, ==, "from the point\n");
  }
}

/* ---- Permissions ---------------------------------------------------------- */

static void
test_no_permissions (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CofferSnapshot) snapshot = NULL;
  g_autoptr (CofferRestoreResult) result = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *folder = g_build_filename (fixture->source, "folder", NULL);
  g_autofree char *file = g_build_filename (folder, "tool", NULL);
  g_autofree char *copy = g_build_filename (fixture->target, "folder", NULL);
  g_autofree char *copy_file = g_build_filename (copy, "tool", NULL);
  struct stat st;

  g_assert_cmpint (g_mkdir (folder, 0700), ==, 0);
  g_assert_true (g_file_set_contents (file, "tool\n", -1, NULL));
  g_assert_cmpint (g_chmod (file, 0751), ==, 0);
  snapshot = back_up (fixture);

  result = restore_full (fixture, snapshot, folder, NULL, COFFER_CONFLICT_COPY, FALSE, NULL, NULL,
                         &error);
  g_assert_no_error (error);
  g_assert_cmpuint (result->failed->len, ==, 0);
  g_assert_cmpint (stat (copy_file, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0644); /* the umask (022) default */
  g_assert_cmpint (stat (copy, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0755);
}

/* ---- Safety --------------------------------------------------------------- */

static void
test_symlink_in_target_is_not_followed (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CofferSnapshot) snapshot = NULL;
  g_autofree char *evil = g_build_filename (fixture->source, "evil", NULL);
  g_autofree char *evil_file = g_build_filename (evil, "file", NULL);
  g_autofree char *elsewhere = g_build_filename (g_get_user_data_dir (), "elsewhere", NULL);
  g_autofree char *trap = g_build_filename (fixture->target, "evil", NULL);
  CofferConflict modes[] = { COFFER_CONFLICT_COPY, COFFER_CONFLICT_SKIP,
                             COFFER_CONFLICT_OVERWRITE };

  g_assert_cmpint (g_mkdir (evil, 0700), ==, 0);
  g_assert_true (g_file_set_contents (evil_file, "payload\n", -1, NULL));
  snapshot = back_up (fixture);
  g_assert_cmpint (g_mkdir (elsewhere, 0700), ==, 0);
  g_assert_cmpint (symlink (elsewhere, trap), ==, 0);

  for (guint i = 0; i < G_N_ELEMENTS (modes); i++)
    {
      g_autoptr (CofferRestoreResult) result = restore (fixture, snapshot, evil, modes[i]);
      g_autoptr (GDir) dir = g_dir_open (elsewhere, 0, NULL);

      g_assert_null (g_dir_read_name (dir));
    }
  /* Overwrite replaced the symlink itself by the folder. */
  {
    g_autofree char *contents = file_contents (trap, "file");
    g_assert_true (g_file_test (trap, G_FILE_TEST_IS_DIR) &&
                   !g_file_test (trap, G_FILE_TEST_IS_SYMLINK));
    g_assert_cmpstr (contents, ==, "payload\n");
  }
}

/* ---- Damage --------------------------------------------------------------- */

static GBytes *
random_bytes (gsize size, guint32 seed)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
  guint8 *data = g_malloc (size);

  for (gsize i = 0; i < size; i++)
    data[i] = g_rand_int (rand);
  return g_bytes_new_take (data, size);
}

static void
test_damaged_pack_fails_only_its_files (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CofferSnapshot) snapshot = NULL;
  g_autoptr (CofferRestoreResult) result = NULL;
  g_autoptr (CofferPointReader) reader = NULL;
  g_autoptr (CofferIndex) index = coffer_index_new ();
  g_autoptr (GPtrArray) nodes = NULL;
  g_autoptr (GBytes) good = random_bytes (100000, 1);
  g_autoptr (GBytes) bad = random_bytes (100000, 2);
  g_autofree char *good_path = g_build_filename (fixture->source, "good.bin", NULL);
  g_autofree char *bad_path = g_build_filename (fixture->source, "bad.bin", NULL);
  g_autofree char *copy = g_build_filename (fixture->target, "source", NULL);
  g_autofree char *restored = NULL;
  gsize length;
  CofferNode *bad_node = NULL;

  g_assert_true (g_file_set_contents (good_path, g_bytes_get_data (good, NULL), 100000, NULL));
  g_assert_true (g_file_set_contents (bad_path, g_bytes_get_data (bad, NULL), 100000, NULL));
  snapshot = back_up (fixture);

  /* Flip one byte of bad.bin's chunk where its pack holds it. */
  reader = reader_new (fixture);
  nodes = coffer_point_reader_list (reader, snapshot->root, fixture->source, NULL, NULL);
  for (guint i = 0; i < nodes->len; i++)
    if (g_str_equal (((CofferNode *) g_ptr_array_index (nodes, i))->name, "bad.bin"))
      bad_node = g_ptr_array_index (nodes, i);
  g_assert_nonnull (bad_node);
  g_assert_true (
      coffer_backup_load_index (fixture->vault, MACHINE, fixture->keys, index, NULL, NULL));
  {
    CofferBlobLocation where;
    g_autofree char *pack = NULL;
    g_autofree char *object = NULL;
    g_autofree char *file = NULL;
    g_autofree char *contents = NULL;

    g_assert_true (coffer_index_lookup (index, (const guint8 *) bad_node->chunks->data, &where));
    pack = coffer_blob_id_to_hex (where.pack);
    object = coffer_pack_object_name (MACHINE, pack);
    file = g_build_filename (fixture->vault_dir, object, NULL);
    g_assert_true (g_file_get_contents (file, &contents, &length, NULL));
    contents[where.offset + where.length / 2] ^= 0x10;
    g_assert_true (g_file_set_contents (file, contents, length, NULL));
  }

  result = restore (fixture, snapshot, fixture->source, COFFER_CONFLICT_COPY);
  g_assert_cmpuint (result->failed->len, ==, 1);
  g_assert_true (
      g_str_has_suffix (((CofferFailedItem *) g_ptr_array_index (result->failed, 0))->path,
                        "/target/source/bad.bin"));
  g_assert_cmpuint (result->totals.files_failed, ==, 1);
  restored = file_contents (copy, "good.bin");
  g_assert_nonnull (restored);
  g_assert_cmpmem (restored, 100000, g_bytes_get_data (good, NULL), 100000);
  g_free (restored);
  /* Nothing half-written is left under either name. */
  restored = file_contents (copy, "bad.bin");
  g_assert_null (restored);
  {
    g_autoptr (GDir) dir = g_dir_open (copy, 0, NULL);
    const char *name;
    while ((name = g_dir_read_name (dir)) != NULL)
      g_assert_false (g_str_has_prefix (name, ".coffer-"));
  }
}

/* ---- Cancelling ----------------------------------------------------------- */

#define CANCEL_FILES 60

static void
cancel_on_first_bytes (const CofferBackupProgress *progress, gpointer data)
{
  if (progress->bytes_scanned > 0)
    g_cancellable_cancel (data);
}

static void
test_cancel_keeps_what_was_restored (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CofferSnapshot) snapshot = NULL;
  g_autoptr (CofferRestoreResult) result = NULL;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *copy = g_build_filename (fixture->target, "source", NULL);
  g_autoptr (GDir) dir = NULL;
  const char *name;
  guint restored = 0;

  for (guint i = 0; i < CANCEL_FILES; i++)
    {
      g_autofree char *name = g_strdup_printf ("file-%02u", i);
      g_autofree char *path = g_build_filename (fixture->source, name, NULL);
      g_autoptr (GBytes) bytes = random_bytes (300000, i);

      g_assert_true (g_file_set_contents (path, g_bytes_get_data (bytes, NULL), 300000, NULL));
    }
  snapshot = back_up (fixture);

  result = restore_full (fixture, snapshot, fixture->source, NULL, COFFER_CONFLICT_COPY, TRUE,
                         cancellable, cancel_on_first_bytes, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (result);

  dir = g_dir_open (copy, 0, NULL);
  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autoptr (GBytes) expected = NULL;
      g_autofree char *contents = file_contents (copy, name);
      guint n;

      g_assert_false (g_str_has_prefix (name, ".coffer-"));
      g_assert_true (g_str_has_prefix (name, "file-"));
      n = atoi (name + 5);
      expected = random_bytes (300000, n);
      g_assert_cmpmem (contents, 300000, g_bytes_get_data (expected, NULL), 300000);
      restored++;
    }
  g_test_message ("%u of %u files restored before the cancel", restored, CANCEL_FILES);
  g_assert_cmpuint (restored, <, CANCEL_FILES);
}

/* ---- Reader --------------------------------------------------------------- */

#define BIG_FOLDER 100000

static void
test_reader_lists_and_finds (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CofferSnapshot) snapshot = NULL;
  g_autoptr (CofferPointReader) reader = NULL;
  g_autoptr (GPtrArray) entries = NULL;
  g_autoptr (GPtrArray) found = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *big = g_build_filename (fixture->source, "big", NULL);
  g_autofree char *nested = g_build_filename (fixture->source, "a", "b", "c", NULL);
  g_autofree char *needle = g_build_filename (nested, "Needle.TXT", NULL);
  g_autofree char *missing = g_build_filename (fixture->source, "no-such", NULL);
  int fd;
  gint64 start;

  g_assert_cmpint (g_mkdir (big, 0700), ==, 0);
  fd = open (big, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  for (guint i = 0; i < BIG_FOLDER; i++)
    {
      char name[32];
      int file;

      g_snprintf (name, sizeof name, "entry-%06u", i);
      file = openat (fd, name, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
      g_assert_cmpint (file, >=, 0);
      close (file);
    }
  close (fd);
  g_assert_cmpint (g_mkdir_with_parents (nested, 0700), ==, 0);
  g_assert_true (g_file_set_contents (needle, "found\n", -1, NULL));
  snapshot = back_up (fixture);

  reader = reader_new (fixture);
  start = g_get_monotonic_time ();
  entries = coffer_point_reader_list (reader, snapshot->root, big, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_get_monotonic_time () - start, <, TIME_FACTOR * G_USEC_PER_SEC);
  g_assert_cmpuint (entries->len, ==, BIG_FOLDER);
  g_assert_cmpstr (((CofferNode *) g_ptr_array_index (entries, 42))->name, ==, "entry-000042");

  found = coffer_point_reader_find (reader, snapshot->root, "needle.t?t", 10, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (found->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (found, 0), ==, needle);
  g_clear_pointer (&found, g_ptr_array_unref);
  found = coffer_point_reader_find (reader, snapshot->root, "entry-*", 5, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (found->len, ==, 5);

  g_clear_pointer (&entries, g_ptr_array_unref);
  entries = coffer_point_reader_list (reader, snapshot->root, missing, NULL, &error);
  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "no such folder in this recovery point"));
  g_assert_null (entries);
}

/* ---- Progress ------------------------------------------------------------- */

typedef struct
{
  GMutex lock;
  guint64 expected_early; /* the total, as first reported before the end */
} TotalLog;

static void
log_total_cb (const CofferBackupProgress *progress, gpointer user_data)
{
  TotalLog *log = user_data;

  g_mutex_lock (&log->lock);
  if (log->expected_early == 0 && progress->bytes_expected > 0 &&
      progress->bytes_scanned < progress->bytes_expected)
    log->expected_early = progress->bytes_expected;
  g_mutex_unlock (&log->lock);
}

/* A recovery knows early how much it will write, so it can show a bar and a
 * time left: from a slow vault, the total comes while files are still being
 * written, and it is what they come to (a hardlink's content once, a
 * sparse file's holes left out). */
static void
test_recovery_reports_its_total (Fixture *fixture, gconstpointer data)
{
  g_autofree char *sub = g_build_filename (fixture->source, "sub", NULL);
  g_autofree char *big = g_build_filename (fixture->source, "big.bin", NULL);
  g_autofree char *other = g_build_filename (sub, "other.bin", NULL);
  g_autofree char *second_name = g_build_filename (sub, "link.bin", NULL);
  g_autofree char *sparse = g_build_filename (fixture->source, "sparse.img", NULL);
  g_autoptr (GBytes) big_bytes = random_bytes (1024 * 1024, 21);
  g_autoptr (GBytes) other_bytes = random_bytes (512 * 1024, 22);
  g_autoptr (CofferSnapshot) snapshot = NULL;
  g_autoptr (CofferVault) vault = NULL;
  g_autoptr (CofferPointReader) reader = NULL;
  g_autoptr (CofferRestoreResult) result = NULL;
  g_autoptr (GError) error = NULL;
  const char *paths[] = { fixture->source, NULL };
  TotalLog log = { 0 };
  CofferRestoreOptions options = {
    .paths = paths,
    .target = fixture->target,
    .conflict = COFFER_CONFLICT_COPY,
    .restore_permissions = TRUE,
    .workers = 2,
    .progress = log_total_cb,
    .progress_data = &log,
  };
  int fd;

  g_assert_cmpint (g_mkdir_with_parents (sub, 0700), ==, 0);
  g_assert_true (g_file_set_contents (big, g_bytes_get_data (big_bytes, NULL), 1024 * 1024, NULL));
  g_assert_true (
      g_file_set_contents (other, g_bytes_get_data (other_bytes, NULL), 512 * 1024, NULL));
  g_assert_cmpint (link (other, second_name), ==, 0);
  /* 8 MiB long, 4 KiB of data at 4 MiB. */
  fd = open (sparse, O_WRONLY | O_CREAT, 0600);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (pwrite (fd, g_bytes_get_data (big_bytes, NULL), 4096, 4 * 1024 * 1024), ==,
                   4096);
  g_assert_cmpint (ftruncate (fd, 8 * 1024 * 1024), ==, 0);
  close (fd);
  snapshot = back_up (fixture);

  /* 4 Mbit/s: the data takes about three seconds to come back. */
  vault = coffer_test_vault_open_slow (fixture, 4 * 1000 * 1000);
  reader = coffer_point_reader_new (vault, MACHINE, fixture->keys, NULL, &error);
  g_assert_no_error (error);
  options.reader = reader;
  options.root = snapshot->root;
  options.point_time = snapshot->time;
  g_mutex_init (&log.lock);

  result = coffer_restore_run (&options, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (result->failed->len, ==, 0);
  g_assert_cmpuint (result->totals.bytes_scanned, ==, 1024 * 1024 + 512 * 1024 + 4096);
  g_assert_cmpuint (log.expected_early, ==, result->totals.bytes_scanned);
  g_mutex_clear (&log.lock);
}

int
main (int argc, char **argv)
{
  umask (022);
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func)                                                                            \
  g_test_add ("/libcoffer/restore/" path, Fixture, NULL, coffer_test_vault_set_up, func,           \
              coffer_test_vault_tear_down)
  ADD ("fidelity", test_fidelity);
  ADD ("hardlink-name-alone", test_hardlink_name_alone);
  ADD ("original-location", test_original_location);
  ADD ("conflicts", test_conflicts);
  ADD ("no-permissions", test_no_permissions);
  ADD ("symlink-in-target-is-not-followed", test_symlink_in_target_is_not_followed);
  ADD ("damaged-pack-fails-only-its-files", test_damaged_pack_fails_only_its_files);
  ADD ("cancel-keeps-what-was-restored", test_cancel_keeps_what_was_restored);
  ADD ("reader-lists-and-finds", test_reader_lists_and_finds);
  ADD ("recovery-reports-its-total", test_recovery_reports_its_total);
#undef ADD

  return g_test_run ();
}
