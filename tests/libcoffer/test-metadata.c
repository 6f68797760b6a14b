/* test-metadata.c: what a backup records about a file, folder, link, fifo or
 * device is what the filesystem holds, read relative to a folder descriptor. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "coffer.h"

typedef struct
{
  char *path;
  int dirfd;
  CofferIdCache *ids;
} Fixture;

static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  /* Inside the folder G_TEST_OPTION_ISOLATE_DIRS made for this test. */
  fixture->path = g_build_filename (g_get_user_cache_dir (), "tree", NULL);
  g_assert_cmpint (g_mkdir_with_parents (fixture->path, 0700), ==, 0);
  fixture->dirfd = open (fixture->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  g_assert_cmpint (fixture->dirfd, >=, 0);
  fixture->ids = coffer_id_cache_new ();
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  coffer_id_cache_free (fixture->ids);
  close (fixture->dirfd);
  g_free (fixture->path);
}

static void
write_file (Fixture *fixture, const char *name, const char *contents, mode_t mode)
{
  int fd = openat (fixture->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, contents, strlen (contents)), ==, (ssize_t) strlen (contents));
  g_assert_cmpint (fchmod (fd, mode), ==, 0);
  close (fd);
}

static CofferNode *
capture_at (int dirfd, const char *name, CofferIdCache *ids, struct stat *st_out)
{
  g_autoptr (GError) error = NULL;
  struct stat st;
  gboolean skip = TRUE;
  CofferNode *node;

  g_assert_cmpint (fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW), ==, 0);
  node = coffer_metadata_capture (dirfd, name, &st, ids, name, &skip, &error);
  g_assert_no_error (error);
  g_assert_false (skip);
  g_assert_nonnull (node);
  g_assert_cmpstr (node->name, ==, name);
  if (st_out != NULL)
    *st_out = st;
  return node;
}

static CofferNode *
capture (Fixture *fixture, const char *name)
{
  return capture_at (fixture->dirfd, name, fixture->ids, NULL);
}

static GBytes *
xattr_value (const CofferNode *node, const char *name)
{
  for (guint i = 0; node->xattr_names != NULL && i < node->xattr_names->len; i++)
    if (strcmp (g_ptr_array_index (node->xattr_names, i), name) == 0)
      return g_ptr_array_index (node->xattr_values, i);
  return NULL;
}

static void
assert_xattr (const CofferNode *node, const char *name, const void *value, gsize size)
{
  GBytes *found = xattr_value (node, name);

  if (found == NULL)
    g_error ("%s has no extended attribute %s", node->name, name);
  g_assert_cmpmem (g_bytes_get_data (found, NULL), g_bytes_get_size (found), value, size);
}

/* The node is one a tree can hold, and reads back the same. */
static void
assert_serializes (CofferNode *node)
{
  g_autoptr (GPtrArray) nodes = g_ptr_array_new ();
  g_autoptr (GBytes) tree = NULL;
  g_autoptr (GPtrArray) parsed = NULL;
  g_autoptr (GError) error = NULL;
  const CofferNode *back;

  g_ptr_array_add (nodes, node);
  tree = coffer_tree_serialize (nodes);
  parsed = coffer_tree_parse (tree, &error);
  g_assert_no_error (error);
  back = g_ptr_array_index (parsed, 0);
  g_assert_cmpstr (back->name, ==, node->name);
  g_assert_cmpuint (back->mode, ==, node->mode);
  g_assert_cmpint (back->mtime_ns, ==, node->mtime_ns);
  g_assert_cmpstr (back->link_target, ==, node->link_target);
}

static gboolean
user_xattrs_supported (Fixture *fixture)
{
  g_autofree char *path = g_build_filename (fixture->path, "probe", NULL);
  int saved_errno;

  write_file (fixture, "probe", "", 0600);
  if (lsetxattr (path, "user.probe", "1", 1, 0) == 0)
    return TRUE;
  saved_errno = errno;
  g_assert_true (saved_errno == ENOTSUP || saved_errno == EOPNOTSUPP);
  return FALSE;
}

static void
test_regular_file (Fixture *fixture, gconstpointer data)
{
  struct timespec times[2] = { { 1000000000, 1 }, { 1234567890, 123456789 } };
  g_autoptr (CofferNode) node = NULL;
  struct passwd *entry = getpwuid (getuid ());
  struct stat st;

  write_file (fixture, "setuid file", "hello", 04751);
  g_assert_cmpint (utimensat (fixture->dirfd, "setuid file", times, AT_SYMLINK_NOFOLLOW), ==, 0);

  node = capture_at (fixture->dirfd, "setuid file", fixture->ids, &st);
  g_assert_cmpint (node->type, ==, COFFER_NODE_FILE);
  /* The owner may set setuid on their own file; root keeps it too. */
  g_assert_cmpuint (node->mode, ==, 04751);
  g_assert_cmpuint (node->size, ==, 5);
  g_assert_cmpint (node->mtime_ns, ==, G_GINT64_CONSTANT (1234567890123456789));
  g_assert_cmpint (node->ctime_ns, ==,
                   (gint64) st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec);
  g_assert_cmpint (node->ctime_ns, >, node->mtime_ns);
  g_assert_cmpuint (node->uid, ==, getuid ());
  g_assert_cmpuint (node->gid, ==, getgid ());
  g_assert_nonnull (entry);
  g_assert_cmpstr (node->user, ==, entry->pw_name);
  g_assert_nonnull (node->group);
  g_assert_cmpuint (node->rdev, ==, 0);
  g_assert_null (node->link_target);
  g_assert_null (node->chunks);
  g_assert_false (node->has_subtree);
  g_assert_cmpuint (node->hardlink_group, ==, 0);
  assert_serializes (node);
}

static void
test_user_xattrs (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CofferNode) node = NULL;
  g_autofree char *path = g_build_filename (fixture->path, "tagged", NULL);
  char big[4000];

  if (!user_xattrs_supported (fixture))
    {
      g_test_skip ("this filesystem refuses user extended attributes");
      return;
    }
  memset (big, 'x', sizeof big);
  write_file (fixture, "tagged", "data", 0644);
  g_assert_cmpint (setxattr (path, "user.comment", "a note", 6, 0), ==, 0);
  g_assert_cmpint (setxattr (path, "user.binary", "\0\1\377", 3, 0), ==, 0);
  g_assert_cmpint (setxattr (path, "user.empty", "", 0, 0), ==, 0);
  g_assert_cmpint (setxattr (path, "user.big", big, sizeof big, 0), ==, 0);
  if (getuid () == 0)
    g_assert_cmpint (setxattr (path, "trusted.root-only", "t", 1, 0), ==, 0);

  node = capture (fixture, "tagged");
  assert_xattr (node, "user.comment", "a note", 6);
  assert_xattr (node, "user.binary", "\0\1\377", 3);
  assert_xattr (node, "user.empty", "", 0);
  assert_xattr (node, "user.big", big, sizeof big);
  if (getuid () == 0)
    assert_xattr (node, "trusted.root-only", "t", 1);
  assert_serializes (node);
}

static void
test_symlinks (Fixture *fixture, gconstpointer data)
{
  g_autofree char *absolute = g_build_filename (fixture->path, "target", NULL);
  gboolean xattrs = user_xattrs_supported (fixture);
  gboolean root = getuid () == 0;
  const struct
  {
    const char *name;
    const char *target;
  } links[] = {
    { "absolute", absolute },
    { "relative", "./target" },
    { "up and over", "../tree/target" },
    { "dangling", "does/not/exist" },
    { "odd", "\xff\nodd target" },
  };

  write_file (fixture, "target", "the target", 0640);
  if (xattrs)
    g_assert_cmpint (setxattr (absolute, "user.on-target", "1", 1, 0), ==, 0);

  for (guint i = 0; i < G_N_ELEMENTS (links); i++)
    {
      g_autoptr (CofferNode) node = NULL;
      g_autofree char *link_path = g_build_filename (fixture->path, links[i].name, NULL);

      g_assert_cmpint (symlinkat (links[i].target, fixture->dirfd, links[i].name), ==, 0);
      /* Only root may put attributes on a link itself (trusted.*). */
      if (root)
        g_assert_cmpint (lsetxattr (link_path, "trusted.on-link", "L", 1, 0), ==, 0);

      node = capture (fixture, links[i].name);
      g_assert_cmpint (node->type, ==, COFFER_NODE_SYMLINK);
      g_assert_cmpstr (node->link_target, ==, links[i].target);
      g_assert_cmpuint (node->size, ==, strlen (links[i].target));
      /* The link's own attributes, never its target's. */
      g_assert_null (xattr_value (node, "user.on-target"));
      if (root)
        assert_xattr (node, "trusted.on-link", "L", 1);
      assert_serializes (node);
    }

  {
    g_autoptr (CofferNode) target = capture (fixture, "target");

    g_assert_null (xattr_value (target, "trusted.on-link"));
    if (xattrs)
      assert_xattr (target, "user.on-target", "1", 1);
  }
}

static void
test_fifo (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CofferNode) node = NULL;

  g_assert_cmpint (mkfifoat (fixture->dirfd, "pipe", 0600), ==, 0);
  g_assert_cmpint (fchmodat (fixture->dirfd, "pipe", 0620, 0), ==, 0);
  /* Nobody writes to it: capturing must not open it for reading. */
  node = capture (fixture, "pipe");
  g_assert_cmpint (node->type, ==, COFFER_NODE_FIFO);
  g_assert_cmpuint (node->mode, ==, 0620);
  g_assert_cmpuint (node->size, ==, 0);
  g_assert_cmpuint (node->rdev, ==, 0);
  assert_serializes (node);
}

static void
test_device (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CofferNode) node = NULL;

  if (mknodat (fixture->dirfd, "null", S_IFCHR | 0666, makedev (1, 3)) < 0)
    {
      g_test_skip ("making device nodes needs privileges this test lacks");
      return;
    }
  node = capture (fixture, "null");
  g_assert_cmpint (node->type, ==, COFFER_NODE_CHARDEV);
  g_assert_cmpuint (node->rdev, ==, makedev (1, 3));
  g_assert_cmpuint (node->size, ==, 0);
  assert_serializes (node);
}

static void
test_empty_file_and_folder (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CofferNode) file = NULL;
  g_autoptr (CofferNode) folder = NULL;

  write_file (fixture, "empty", "", 0600);
  g_assert_cmpint (mkdirat (fixture->dirfd, "empty folder", 0755), ==, 0);
  file = capture (fixture, "empty");
  folder = capture (fixture, "empty folder");

  g_assert_cmpint (file->type, ==, COFFER_NODE_FILE);
  g_assert_cmpuint (file->size, ==, 0);
  g_assert_cmpuint (file->mode, ==, 0600);
  g_assert_cmpint (folder->type, ==, COFFER_NODE_DIR);
  g_assert_cmpuint (folder->mode, ==, 0755);
  /* A folder's st_size is the filesystem's business, not the backup's. */
  g_assert_cmpuint (folder->size, ==, 0);
  assert_serializes (file);
  assert_serializes (folder);
}

static void
test_socket_skipped (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CofferNode) node = NULL;
  gboolean skip = FALSE;
  struct stat st;

  g_assert_cmpint (mknodat (fixture->dirfd, "socket", S_IFSOCK | 0600, 0), ==, 0);
  g_assert_cmpint (fstatat (fixture->dirfd, "socket", &st, AT_SYMLINK_NOFOLLOW), ==, 0);
  g_assert_true (S_ISSOCK (st.st_mode));
  node = coffer_metadata_capture (fixture->dirfd, "socket", &st, fixture->ids, "socket", &skip,
                                  &error);
  g_assert_no_error (error);
  g_assert_null (node);
  g_assert_true (skip);
}

static void
test_errors_name_the_path (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CofferNode) node = NULL;
  gboolean skip = TRUE;
  struct stat st;

  write_file (fixture, "gone", "", 0600);
  g_assert_cmpint (fstatat (fixture->dirfd, "gone", &st, AT_SYMLINK_NOFOLLOW), ==, 0);
  g_assert_cmpint (unlinkat (fixture->dirfd, "gone", 0), ==, 0);
  node = coffer_metadata_capture (fixture->dirfd, "gone", &st, fixture->ids, "/home/me/gone", &skip,
                                  &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_null (node);
  g_assert_false (skip);
  g_assert_nonnull (strstr (error->message, "/home/me/gone"));
  g_clear_error (&error);

  /* Replaced between the walker's fstatat and the capture: the attributes
   * found would be another file's. */
  write_file (fixture, "old", "", 0600);
  write_file (fixture, "new", "", 0600);
  g_assert_cmpint (fstatat (fixture->dirfd, "old", &st, AT_SYMLINK_NOFOLLOW), ==, 0);
  g_assert_cmpint (renameat (fixture->dirfd, "new", fixture->dirfd, "old"), ==, 0);
  node = coffer_metadata_capture (fixture->dirfd, "old", &st, fixture->ids, "/home/me/old", &skip,
                                  &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
  g_assert_null (node);
  g_assert_nonnull (strstr (error->message, "/home/me/old"));
}

#define GiB (G_GUINT64_CONSTANT (1) << 30)
#define MiB (G_GUINT64_CONSTANT (1) << 20)

static void
assert_extent_covers (GArray *extents, guint index, guint64 offset, guint64 length)
{
  const CofferExtent *extent = &g_array_index (extents, CofferExtent, index);

  g_assert_cmpuint (extent->offset, <=, offset);
  g_assert_cmpuint (extent->offset + extent->length, >=, offset + length);
  /* Block granularity at most, not the file. */
  g_assert_cmpuint (extent->length, <=, MiB);
}

static void
test_sparse (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) extents = NULL;
  g_autoptr (GArray) holes_only = NULL;
  g_autoptr (GArray) dense = NULL;
  g_autoptr (GArray) empty = NULL;
  g_autoptr (CofferNode) node = NULL;
  guint8 block[4096];
  int fd;

  memset (block, 'd', sizeof block);
  fd = openat (fixture->dirfd, "sparse", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (ftruncate (fd, 2 * GiB), ==, 0);
  if (lseek (fd, 0, SEEK_HOLE) != 0)
    {
      close (fd);
      g_test_skip ("this filesystem does not report holes");
      return;
    }
  g_assert_cmpint (pwrite (fd, block, sizeof block, MiB), ==, sizeof block);
  g_assert_cmpint (pwrite (fd, block, sizeof block, GiB + GiB / 2), ==, sizeof block);
  g_assert_cmpint (fsync (fd), ==, 0);
  g_assert_cmpint (lseek (fd, 123, SEEK_SET), ==, 123);

  extents = coffer_metadata_sparse_extents (fd, 2 * GiB, &error);
  g_assert_no_error (error);
  g_assert_nonnull (extents);
  g_assert_cmpuint (extents->len, ==, 2);
  assert_extent_covers (extents, 0, MiB, sizeof block);
  assert_extent_covers (extents, 1, GiB + GiB / 2, sizeof block);
  /* The caller's offset is where it was. */
  g_assert_cmpint (lseek (fd, 0, SEEK_CUR), ==, 123);

  /* The file as a node, with its extents, fits in a tree. */
  node = capture (fixture, "sparse");
  g_assert_cmpuint (node->size, ==, 2 * GiB);
  node->extents = g_array_ref (extents);
  assert_serializes (node);
  close (fd);

  /* All hole: no extents at all, which is not "dense". */
  fd = openat (fixture->dirfd, "hole", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  g_assert_cmpint (ftruncate (fd, GiB), ==, 0);
  holes_only = coffer_metadata_sparse_extents (fd, GiB, &error);
  g_assert_no_error (error);
  g_assert_nonnull (holes_only);
  g_assert_cmpuint (holes_only->len, ==, 0);
  close (fd);

  /* No holes, or nothing at all: dense (NULL). */
  write_file (fixture, "dense", "no holes here", 0600);
  fd = openat (fixture->dirfd, "dense", O_RDONLY | O_CLOEXEC);
  dense = coffer_metadata_sparse_extents (fd, 13, &error);
  g_assert_no_error (error);
  g_assert_null (dense);
  empty = coffer_metadata_sparse_extents (fd, 0, &error);
  g_assert_no_error (error);
  g_assert_null (empty);
  close (fd);
}

/* Grown since the stat: only what lay within the size the caller saw. */
static void
test_sparse_grown (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) extents = NULL;
  guint8 block[4096];
  int fd;

  memset (block, 'd', sizeof block);
  fd = openat (fixture->dirfd, "growing", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  g_assert_cmpint (ftruncate (fd, 64 * MiB), ==, 0);
  if (lseek (fd, 0, SEEK_HOLE) != 0)
    {
      close (fd);
      g_test_skip ("this filesystem does not report holes");
      return;
    }
  g_assert_cmpint (pwrite (fd, block, sizeof block, 8 * MiB), ==, sizeof block);
  g_assert_cmpint (pwrite (fd, block, sizeof block, 40 * MiB), ==, sizeof block);
  extents = coffer_metadata_sparse_extents (fd, 8 * MiB + 100, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (extents->len, ==, 1);
  g_assert_cmpuint (g_array_index (extents, CofferExtent, 0).offset, ==, 8 * MiB);
  g_assert_cmpuint (g_array_index (extents, CofferExtent, 0).length, ==, 100);
  close (fd);
}

#define DEEP_LEVELS 30
#define DEEP_NAME_LENGTH 200

static void
test_deeper_than_path_max (Fixture *fixture, gconstpointer data)
{
  int fds[DEEP_LEVELS + 1];
  char name[DEEP_NAME_LENGTH + 1];
  g_autoptr (CofferNode) node = NULL;
  g_autoptr (CofferNode) folder = NULL;
  int fd;

  G_STATIC_ASSERT (DEEP_LEVELS * (DEEP_NAME_LENGTH + 1) > PATH_MAX);
  memset (name, 'd', DEEP_NAME_LENGTH);
  name[DEEP_NAME_LENGTH] = '\0';

  fds[0] = fixture->dirfd;
  for (guint i = 1; i <= DEEP_LEVELS; i++)
    {
      g_assert_cmpint (mkdirat (fds[i - 1], name, 0750), ==, 0);
      fds[i] = openat (fds[i - 1], name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      g_assert_cmpint (fds[i], >=, 0);
    }

  fd = openat (fds[DEEP_LEVELS], "deep file", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, "deep", 4), ==, 4);
  if (fsetxattr (fd, "user.depth", "30", 2, 0) < 0)
    g_assert_true (errno == ENOTSUP || errno == EOPNOTSUPP);
  close (fd);
  g_assert_cmpint (symlinkat ("deep file", fds[DEEP_LEVELS], "deep link"), ==, 0);

  node = capture_at (fds[DEEP_LEVELS], "deep file", fixture->ids, NULL);
  g_assert_cmpint (node->type, ==, COFFER_NODE_FILE);
  g_assert_cmpuint (node->size, ==, 4);
  g_assert_cmpuint (node->mode, ==, 0640);
  if (user_xattrs_supported (fixture))
    assert_xattr (node, "user.depth", "30", 2);
  g_clear_pointer (&node, coffer_node_free);
  node = capture_at (fds[DEEP_LEVELS], "deep link", fixture->ids, NULL);
  g_assert_cmpstr (node->link_target, ==, "deep file");
  folder = capture_at (fds[DEEP_LEVELS - 1], name, fixture->ids, NULL);
  g_assert_cmpint (folder->type, ==, COFFER_NODE_DIR);
  g_assert_cmpuint (folder->mode, ==, 0750);

  /* Clean up by descriptor: the test folder's removal works by path. */
  g_assert_cmpint (unlinkat (fds[DEEP_LEVELS], "deep file", 0), ==, 0);
  g_assert_cmpint (unlinkat (fds[DEEP_LEVELS], "deep link", 0), ==, 0);
  for (guint i = DEEP_LEVELS; i >= 1; i--)
    {
      close (fds[i]);
      g_assert_cmpint (unlinkat (fds[i - 1], name, AT_REMOVEDIR), ==, 0);
    }
}

static gpointer
look_up_many (gpointer data)
{
  CofferIdCache *ids = data;

  for (guint i = 0; i < 2000; i++)
    {
      g_autofree char *root = coffer_id_cache_user_name (ids, 0);
      g_autofree char *root_group = coffer_id_cache_group_name (ids, 0);
      g_autofree char *nobody = coffer_id_cache_user_name (ids, 4000000000u - (i % 3));

      g_assert_cmpstr (root, ==, "root");
      g_assert_cmpstr (root_group, ==, "root");
      g_assert_null (nobody);
    }
  return NULL;
}

static void
test_id_cache (void)
{
  g_autoptr (CofferIdCache) ids = coffer_id_cache_new ();
  GThread *threads[8];

  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("lookups", look_up_many, ids);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    g_thread_join (threads[i]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, function)                                                                        \
  g_test_add ("/libcoffer/metadata/" path, Fixture, NULL, fixture_set_up, function,                \
              fixture_tear_down)
  ADD ("regular-file-mode-owner-and-ns-times", test_regular_file);
  ADD ("user-xattrs", test_user_xattrs);
  ADD ("symlinks-absolute-relative-dangling", test_symlinks);
  ADD ("fifo-not-opened", test_fifo);
  ADD ("device-node", test_device);
  ADD ("empty-file-and-folder", test_empty_file_and_folder);
  ADD ("socket-skipped-silently", test_socket_skipped);
  ADD ("errors-name-the-path", test_errors_name_the_path);
  ADD ("sparse-2gib-file-extents", test_sparse);
  ADD ("sparse-file-grown-since-stat", test_sparse_grown);
  ADD ("deeper-than-path-max", test_deeper_than_path_max);
#undef ADD
  g_test_add_func ("/libcoffer/metadata/id-cache-shared-by-threads", test_id_cache);

  return g_test_run ();
}
