/* coffer-restore.c: recovering files and folders of a recovery point.
 *
 *   walker (the caller's thread)   reads trees, creates folders, symlinks,
 *        |                         fifos and devices, decides each item's
 *        |  files                  name (conflicts), queues regular files
 *        v
 *   workers (`workers` threads)    fetch each chunk, write it to a temporary
 *                                  name, rename into place, then xattrs,
 *                                  owner, mode and times
 *
 * Everything is done relative to directory descriptors with the openat
 * family and O_NOFOLLOW, from the target folder down, so paths longer than
 * PATH_MAX work and nothing is ever written outside the target: every folder
 * below it is opened with O_NOFOLLOW | O_DIRECTORY, so a symlink inside the
 * target is never followed out of it.
 *
 * Each folder is a Dir counting what still needs it (its queued files, its
 * subfolders, the walker while it fills it). Whoever brings the count to
 * zero sets the folder's xattrs, owner, mode and times and closes it: after
 * its children, so a read-only folder does not block its own restore.
 *
 * A hardlink group's content is stored with one of its names; the first
 * restored name that has it gets the content, the others are linked to it.
 * Names whose content name is not part of the restore get it from the point
 * at the end. Memory stays bounded: the walker waits when the queue of files
 * is full, and each worker holds one chunk at a time.
 */
#include "config.h"

#include "coffer-restore.h"

#include "coffer-error.h"
#include "coffer-ticker.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define MAX_QUEUED_FILES_PER_WORKER 4
#define MAX_COPIES 1000
#define TEMP_PREFIX ".coffer-"

typedef struct _Restore Restore;
typedef struct _Dir Dir;

struct _Dir
{
  Dir *parent;
  int fd;
  char *path;       /* where it is, for the user */
  char *rel;        /* where it is below the target, "" for the target */
  CofferNode *node; /* its entry in the point; NULL to leave it as it is */
  GPtrArray *tree;  /* keeps node alive */
  gint pending;
};

/* One non-folder item to put in place. */
typedef struct
{
  Restore *restore;
  Dir *dir;         /* holds a count of dir */
  char *name;       /* its final name in dir */
  char *path;       /* for the user */
  gboolean replace; /* an item of that name may be replaced */
  CofferNode *node; /* its entry; owned by tree */
  GPtrArray *tree;
  guint64 group; /* hardlink group being led, or 0 */
} Item;

typedef struct
{
  gboolean has_leader; /* a name with the content is being restored */
  gboolean done;       /* it is in place, at rel */
  char *rel;
  char *failure;      /* or it failed, and why */
  GPtrArray *waiting; /* Item: names to link to it */
} Group;

struct _Restore
{
  const CofferRestoreOptions *options;
  GCancellable *cancellable;
  GThreadPool *workers;
  int target_fd;
  gboolean as_root;
  mode_t umask;

  GMutex lock; /* guards what follows */
  GCond cond;
  guint queued;
  GError *error; /* the first error that stops the restore */
  GPtrArray *failed;
  GPtrArray *warnings;
  GHashTable *groups; /* guint64* → Group */

  CofferBackupProgress totals; /* atomically updated counters */
  guint64 skipped;
  gint64 last_report;
  GThread *totaller;               /* total_run(), for the progress's total */
  GCancellable *total_cancellable; /* stops it when the recovery ends */
};

static void item_free (Item *item);

void
coffer_restore_result_free (CofferRestoreResult *result)
{
  if (result == NULL)
    return;
  g_clear_pointer (&result->failed, g_ptr_array_unref);
  g_clear_pointer (&result->warnings, g_ptr_array_unref);
  g_free (result);
}

static void
group_free (Group *group)
{
  g_free (group->rel);
  g_free (group->failure);
  g_clear_pointer (&group->waiting, g_ptr_array_unref);
  g_free (group);
}

static void
add_counter (guint64 *counter, guint64 amount)
{
  __atomic_fetch_add (counter, amount, __ATOMIC_RELAXED);
}

static void
maybe_report (Restore *restore)
{
  gint64 now = g_get_monotonic_time ();
  gint64 last = __atomic_load_n (&restore->last_report, __ATOMIC_RELAXED);

  if (restore->options->progress == NULL || now - last < G_USEC_PER_SEC / 4 ||
      !__atomic_compare_exchange_n (&restore->last_report, &last, now, FALSE, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED))
    return;
  restore->options->progress (&restore->totals, restore->options->progress_data);
}

/* Makes up for the reports maybe_report() skipped when the work stalls: a
 * pack slow to arrive keeps nothing that was restored out of sight. */
static void
report_tick (gpointer data)
{
  Restore *restore = data;

  __atomic_store_n (&restore->last_report, g_get_monotonic_time (), __ATOMIC_RELAXED);
  restore->options->progress (&restore->totals, restore->options->progress_data);
}

static void
fail (Restore *restore, GError *error)
{
  g_mutex_lock (&restore->lock);
  if (restore->error == NULL)
    restore->error = error;
  else
    g_error_free (error);
  g_cond_broadcast (&restore->cond);
  g_mutex_unlock (&restore->lock);
}

static gboolean
stopped (Restore *restore)
{
  gboolean result;

  if (g_cancellable_is_cancelled (restore->cancellable))
    {
      GError *error = NULL;
      g_cancellable_set_error_if_cancelled (restore->cancellable, &error);
      fail (restore, error);
    }
  g_mutex_lock (&restore->lock);
  result = restore->error != NULL;
  g_mutex_unlock (&restore->lock);
  return result;
}

static void
add_item (Restore *restore, GPtrArray *items, const char *path, const char *reason)
{
  CofferFailedItem *item = g_new0 (CofferFailedItem, 1);

  item->path = g_strdup (path);
  item->reason = g_strdup (reason);
  g_mutex_lock (&restore->lock);
  g_ptr_array_add (items, item);
  g_mutex_unlock (&restore->lock);
}

static void
add_failed (Restore *restore, const char *path, const char *reason)
{
  add_item (restore, restore->failed, path, reason);
  add_counter (&restore->totals.files_failed, 1);
  maybe_report (restore);
}

static void
add_failed_errno (Restore *restore, const char *path, const char *what, int saved_errno)
{
  g_autofree char *reason = g_strdup_printf ("%s: %s", what, g_strerror (saved_errno));
  add_failed (restore, path, reason);
}

static void
count_restored (Restore *restore)
{
  add_counter (&restore->totals.files_scanned, 1);
  add_counter (&restore->totals.files_read, 1);
  maybe_report (restore);
}

/* Errors that stop the whole restore rather than one file. */
static gboolean
is_fatal (const GError *error)
{
  return g_error_matches (error, COFFER_ERROR, COFFER_ERROR_VAULT_UNREACHABLE) ||
         g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
         g_error_matches (error, COFFER_ERROR, COFFER_ERROR_CANCELLED);
}

static char *
join (const char *parent, const char *name, gboolean display)
{
  if (parent[0] == '\0')
    return display ? g_strconcat ("/", name, NULL) : g_strdup (name);
  return g_strconcat (parent, "/", name, NULL);
}

/* ---- Names ---------------------------------------------------------------- */

/**
 * coffer_restore_copy_name:
 * @name: an item's name
 * @point_time: the recovery point's time, Unix seconds
 * @n: 1 for the first copy, 2 for the second…
 *
 * Returns: (transfer full): "YYYY-MM-DD HH-MM Copy of NAME", or
 *   "YYYY-MM-DD HH-MM Copy (N) of NAME" from the second, in local time
 */
char *
coffer_restore_copy_name (const char *name, gint64 point_time, guint n)
{
  g_autoptr (GDateTime) time = g_date_time_new_from_unix_local (point_time);
  g_autofree char *stamp = g_date_time_format (time, "%Y-%m-%d %H-%M");

  if (n <= 1)
    return g_strdup_printf ("%s Copy of %s", stamp, name);
  return g_strdup_printf ("%s Copy (%u) of %s", stamp, n, name);
}

static char *
free_copy_name (Restore *restore, int dirfd, const char *name)
{
  for (guint n = 1; n <= MAX_COPIES; n++)
    {
      g_autofree char *candidate = coffer_restore_copy_name (name, restore->options->point_time, n);
      struct stat st;

      if (fstatat (dirfd, candidate, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
        return g_steal_pointer (&candidate);
    }
  return NULL;
}

/* A new, unused temporary name in @dirfd: ".coffer-XXXXXX". @make creates
 * the entry and returns FALSE with errno set when it could not. */
typedef gboolean (*MakeFunc) (int dirfd, const char *name, gpointer data);

static char *
make_temp (int dirfd, MakeFunc make, gpointer data)
{
  static const char letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

  for (guint attempt = 0; attempt < 100; attempt++)
    {
      char name[sizeof TEMP_PREFIX + 6];

      memcpy (name, TEMP_PREFIX, sizeof TEMP_PREFIX - 1);
      for (guint i = 0; i < 6; i++)
        name[sizeof TEMP_PREFIX - 1 + i] = letters[g_random_int_range (0, sizeof letters - 1)];
      name[sizeof name - 1] = '\0';
      if (make (dirfd, name, data))
        return g_strdup (name);
      if (errno != EEXIST)
        return NULL;
    }
  errno = EEXIST;
  return NULL;
}

/* Moves @temp to @name in @dirfd: over what is there only with @replace. */
static gboolean
rename_into_place (int dirfd, const char *temp, const char *name, gboolean replace)
{
  if (replace)
    return renameat (dirfd, temp, dirfd, name) == 0;
  if (renameat2 (dirfd, temp, dirfd, name, RENAME_NOREPLACE) == 0)
    return TRUE;
  if (errno != EINVAL && errno != ENOSYS)
    return FALSE;
  /* The filesystem cannot rename without replacing: link, which never
   * replaces, then drop the temporary name. */
  if (linkat (dirfd, temp, dirfd, name, 0) < 0)
    return FALSE;
  unlinkat (dirfd, temp, 0);
  return TRUE;
}

/* ---- Metadata ------------------------------------------------------------- */

static gboolean
xattr_failure_is_warning (Restore *restore, const char *name, int saved_errno)
{
  if (saved_errno == ENOTSUP || saved_errno == EOPNOTSUPP)
    return TRUE; /* the filesystem cannot hold it */
  if (!restore->as_root && (saved_errno == EPERM || saved_errno == EACCES) &&
      (g_str_has_prefix (name, "security.") || g_str_has_prefix (name, "trusted.")))
    return TRUE;
  return FALSE;
}

/* Sets @node's xattrs on @fd, or, when @via_proc, on what the O_PATH
 * descriptor @fd names (symlinks, fifos, devices). */
static char *
set_xattrs (Restore *restore, int fd, gboolean via_proc, CofferNode *node, const char *path)
{
  char proc_path[64];

  g_snprintf (proc_path, sizeof proc_path, "/proc/self/fd/%d", fd);
  for (guint i = 0; node->xattr_names != NULL && i < node->xattr_names->len; i++)
    {
      const char *name = g_ptr_array_index (node->xattr_names, i);
      GBytes *value = g_ptr_array_index (node->xattr_values, i);
      gsize size;
      const void *data = g_bytes_get_data (value, &size);
      int result = via_proc ? setxattr (proc_path, name, data, size, 0)
                            : fsetxattr (fd, name, data, size, 0);

      if (result < 0)
        {
          int saved_errno = errno;
          g_autofree char *reason = g_strdup_printf (
              "Its extended attribute %s was not restored: %s", name, g_strerror (saved_errno));

          if (!xattr_failure_is_warning (restore, name, saved_errno) &&
              !(via_proc && node->type == COFFER_NODE_SYMLINK && saved_errno == EPERM))
            return g_steal_pointer (&reason);
          add_item (restore, restore->warnings, path, reason);
        }
    }
  return NULL;
}

/* xattrs, owner, mode and times of what @fd is open on: for reading
 * (files, folders), or O_PATH for symlinks, fifos and devices, which are
 * also named as @name in @dirfd. Returns why it failed, or NULL. */
static char *
apply_metadata (
    Restore *restore, int fd, int dirfd, const char *name, CofferNode *node, const char *path)
{
  gboolean via_proc = node->type != COFFER_NODE_FILE && node->type != COFFER_NODE_DIR;
  gboolean permissions = restore->options->restore_permissions;
  struct timespec times[2] = { { 0, UTIME_OMIT }, { 0, 0 } };
  char *reason;
  int result;

  reason = set_xattrs (restore, fd, via_proc, node, path);
  if (reason != NULL)
    return reason;
  if (permissions && restore->as_root)
    {
      result = via_proc ? fchownat (dirfd, name, node->uid, node->gid, AT_SYMLINK_NOFOLLOW)
                        : fchown (fd, node->uid, node->gid);
      if (result < 0)
        return g_strdup_printf ("Its owner was not restored: %s", g_strerror (errno));
    }
  /* After the owner: chown clears setuid and setgid. Symlinks have no mode. */
  if (permissions && node->type != COFFER_NODE_SYMLINK)
    {
      result = via_proc ? fchmodat (dirfd, name, node->mode & 07777, 0)
                        : fchmod (fd, node->mode & 07777);
      if (result < 0)
        return g_strdup_printf ("Its permissions were not restored: %s", g_strerror (errno));
    }
  times[1].tv_sec = node->mtime_ns / 1000000000;
  times[1].tv_nsec = node->mtime_ns % 1000000000;
  if (times[1].tv_nsec < 0)
    {
      times[1].tv_sec--;
      times[1].tv_nsec += 1000000000;
    }
  result = via_proc ? utimensat (dirfd, name, times, AT_SYMLINK_NOFOLLOW) : futimens (fd, times);
  if (result < 0)
    return g_strdup_printf ("Its modification time was not restored: %s", g_strerror (errno));
  return NULL;
}

/* ---- Folders -------------------------------------------------------------- */

static Dir *
dir_new (Dir *parent, int fd, const char *path, const char *rel, CofferNode *node, GPtrArray *tree)
{
  Dir *dir = g_new0 (Dir, 1);

  dir->parent = parent;
  dir->fd = fd;
  dir->path = g_strdup (path);
  dir->rel = g_strdup (rel);
  dir->node = node;
  dir->tree = node != NULL ? g_ptr_array_ref (tree) : NULL;
  dir->pending = 1;
  if (parent != NULL)
    g_atomic_int_inc (&parent->pending);
  return dir;
}

static void
dir_release (Restore *restore, Dir *dir)
{
  while (dir != NULL && g_atomic_int_dec_and_test (&dir->pending))
    {
      Dir *parent = dir->parent;

      if (dir->node != NULL)
        {
          g_autofree char *reason =
              apply_metadata (restore, dir->fd, -1, NULL, dir->node, dir->path);
          if (reason != NULL)
            add_failed (restore, dir->path, reason);
        }
      if (parent != NULL)
        close (dir->fd);
      g_clear_pointer (&dir->tree, g_ptr_array_unref);
      g_free (dir->path);
      g_free (dir->rel);
      g_free (dir);
      dir = parent;
    }
}

/* Opens the folder @rel below the target, and gives its last component. */
static int
open_parent_of (Restore *restore, const char *rel, const char **out_name)
{
  g_auto (GStrv) parts = g_strsplit (rel, "/", -1);
  guint n = g_strv_length (parts);
  int fd = dup (restore->target_fd);

  for (guint i = 0; fd >= 0 && i + 1 < n; i++)
    {
      int next = openat (fd, parts[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      int saved_errno = errno;

      close (fd);
      fd = next;
      errno = saved_errno;
    }
  *out_name = strrchr (rel, '/') != NULL ? strrchr (rel, '/') + 1 : rel;
  return fd;
}

/* ---- Files ---------------------------------------------------------------- */

static gboolean
write_all (int fd, const guint8 *data, gsize size, guint64 offset)
{
  while (size > 0)
    {
      ssize_t n = pwrite (fd, data, size, offset);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return FALSE;
      data += n;
      size -= n;
      offset += n;
    }
  return TRUE;
}

static gboolean
make_file (int dirfd, const char *name, gpointer data)
{
  int *fd = data;

  fd[1] = openat (dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, fd[0]);
  return fd[1] >= 0;
}

/* Writes the content @content describes (the chunks, spread over its
 * extents) to @fd. Returns why not, or NULL. */
static char *
write_content (Restore *restore, int fd, CofferNode *content, gboolean *fatal)
{
  GArray *extents = content->extents;
  guint extent = 0;
  guint64 in_extent = 0;
  guint64 written = 0;
  guint64 expected = 0;

  if (extents != NULL)
    {
      for (guint e = 0; e < extents->len; e++)
        expected += g_array_index (extents, CofferExtent, e).length;
      if (content->size > 0 && ftruncate (fd, content->size) < 0)
        return g_strdup_printf ("Cannot write it: %s", g_strerror (errno));
    }
  else
    expected = content->size;

  for (guint c = 0; content->chunks != NULL && c < content->chunks->len; c++)
    {
      const guint8 *id = &g_array_index (content->chunks, guint8, c * COFFER_BLOB_ID_SIZE);
      g_autoptr (GError) error = NULL;
      g_autoptr (GBytes) chunk = NULL;
      const guint8 *data;
      gsize left;

      if (stopped (restore))
        {
          *fatal = TRUE;
          return g_strdup ("The recovery was cancelled.");
        }
      chunk = coffer_point_reader_read_blob (restore->options->reader, id, COFFER_BLOB_DATA,
                                             restore->cancellable, &error);
      if (chunk == NULL)
        {
          g_autofree char *hex = coffer_blob_id_to_hex (id);
          if (is_fatal (error))
            {
              *fatal = TRUE;
              fail (restore, g_steal_pointer (&error));
              return g_strdup ("The recovery stopped.");
            }
          return g_strdup_printf ("Chunk %s of this file cannot be read: %s", hex, error->message);
        }
      data = g_bytes_get_data (chunk, &left);
      if (written + left > expected)
        return g_strdup ("The recovery point is damaged: the file holds more data than its size.");
      while (left > 0)
        {
          guint64 offset = written;
          gsize n = left;

          if (extents != NULL)
            {
              const CofferExtent *e = &g_array_index (extents, CofferExtent, extent);
              offset = e->offset + in_extent;
              n = MIN (left, e->length - in_extent);
            }
          if (!write_all (fd, data, n, offset))
            return g_strdup_printf ("Cannot write it: %s", g_strerror (errno));
          data += n;
          left -= n;
          written += n;
          add_counter (&restore->totals.bytes_scanned, n);
          if (extents != NULL)
            {
              in_extent += n;
              if (in_extent == g_array_index (extents, CofferExtent, extent).length)
                {
                  extent++;
                  in_extent = 0;
                }
            }
        }
      maybe_report (restore);
    }
  if (written != expected)
    return g_strdup ("The recovery point is damaged: the file holds less data than its size.");
  if (extents == NULL && ftruncate (fd, content->size) < 0)
    return g_strdup_printf ("Cannot write it: %s", g_strerror (errno));
  return NULL;
}

/* Restores one regular file with the content @content holds (itself, or
 * its hardlink group's other name). */
static gboolean
write_file (Restore *restore, Item *item, CofferNode *content)
{
  int fds[2] = { restore->options->restore_permissions ? 0600 : 0666, -1 };
  g_autofree char *temp = NULL;
  g_autofree char *reason = NULL;
  gboolean fatal = FALSE;

  temp = make_temp (item->dir->fd, make_file, fds);
  if (temp == NULL)
    {
      add_failed_errno (restore, item->path, "Cannot create it", errno);
      return FALSE;
    }
  reason = write_content (restore, fds[1], content, &fatal);
  if (reason == NULL && !rename_into_place (item->dir->fd, temp, item->name, item->replace))
    reason = g_strdup_printf ("Cannot put it in place: %s", g_strerror (errno));
  if (reason != NULL)
    {
      unlinkat (item->dir->fd, temp, 0);
      close (fds[1]);
      if (!fatal)
        add_failed (restore, item->path, reason);
      return FALSE;
    }
  /* In place: what follows cannot make it go away again. */
  reason = apply_metadata (restore, fds[1], -1, NULL, item->node, item->path);
  close (fds[1]);
  if (reason != NULL)
    {
      add_failed (restore, item->path, reason);
      return FALSE;
    }
  count_restored (restore);
  return TRUE;
}

static gboolean
make_link (int dirfd, const char *name, gpointer data)
{
  const char *const *source = data; /* { GINT_TO_POINTER (fd), name } */

  return linkat (GPOINTER_TO_INT (source[0]), source[1], dirfd, name, 0) == 0;
}

/* Gives @item another name of its group's restored file. */
static void
link_item (Restore *restore, Item *item, const char *rel)
{
  const char *leader_name;
  const char *source[2];
  g_autofree char *temp = NULL;
  int fd = open_parent_of (restore, rel, &leader_name);

  if (fd < 0)
    {
      add_failed_errno (restore, item->path, "Cannot reach its other name", errno);
      return;
    }
  source[0] = GINT_TO_POINTER (fd);
  source[1] = leader_name;
  temp = make_temp (item->dir->fd, make_link, source);
  close (fd);
  if (temp == NULL)
    {
      add_failed_errno (restore, item->path, "Cannot link it", errno);
      return;
    }
  if (!rename_into_place (item->dir->fd, temp, item->name, item->replace))
    {
      add_failed_errno (restore, item->path, "Cannot put it in place", errno);
      unlinkat (item->dir->fd, temp, 0);
      return;
    }
  count_restored (restore);
}

/* After a group's first name: link the names that waited for it. */
static void
finish_group (Restore *restore, Item *leader, gboolean ok)
{
  g_autoptr (GPtrArray) waiting = NULL;
  g_autofree char *rel = NULL;
  Group *group;

  g_mutex_lock (&restore->lock);
  group = g_hash_table_lookup (restore->groups, &leader->group);
  if (ok)
    {
      group->done = TRUE;
      group->rel = join (leader->dir->rel, leader->name, FALSE);
      rel = g_strdup (group->rel);
    }
  else
    group->failure = g_strdup ("Another name of this hardlink could not be restored.");
  waiting = g_steal_pointer (&group->waiting);
  group->waiting = g_ptr_array_new_with_free_func ((GDestroyNotify) item_free);
  g_mutex_unlock (&restore->lock);

  for (guint i = 0; i < waiting->len; i++)
    {
      Item *item = g_ptr_array_index (waiting, i);
      if (ok)
        link_item (restore, item, rel);
      else
        add_failed (restore, item->path, "Another name of this hardlink could not be restored.");
    }
}

static void
item_free (Item *item)
{
  dir_release (item->restore, item->dir);
  g_ptr_array_unref (item->tree);
  g_free (item->name);
  g_free (item->path);
  g_free (item);
}

static void
file_run (gpointer data, gpointer user_data)
{
  Item *item = data;
  Restore *restore = item->restore;
  gboolean ok = FALSE;

  if (!stopped (restore))
    ok = write_file (restore, item, item->node);
  if (item->group != 0)
    finish_group (restore, item, ok);

  g_mutex_lock (&restore->lock);
  restore->queued--;
  g_cond_broadcast (&restore->cond);
  g_mutex_unlock (&restore->lock);
  item_free (item);
}

/* ---- Walking -------------------------------------------------------------- */

static Item *
item_new (Restore *restore,
          Dir *dir,
          const char *name,
          gboolean replace,
          CofferNode *node,
          GPtrArray *tree)
{
  Item *item = g_new0 (Item, 1);

  item->restore = restore;
  item->dir = dir;
  g_atomic_int_inc (&dir->pending);
  item->name = g_strdup (name);
  item->path = join (dir->path, name, TRUE);
  item->replace = replace;
  item->node = node;
  item->tree = g_ptr_array_ref (tree);
  return item;
}

static void
queue_file (Restore *restore, Item *item)
{
  g_mutex_lock (&restore->lock);
  while (restore->queued >= MAX_QUEUED_FILES_PER_WORKER * restore->options->workers &&
         restore->error == NULL)
    g_cond_wait (&restore->cond, &restore->lock);
  restore->queued++;
  g_mutex_unlock (&restore->lock);
  g_thread_pool_push (restore->workers, item, NULL);
}

/* A regular file: queued, or (another name of a hardlink) linked or left
 * waiting for the name that has the content. */
static void
restore_file (Restore *restore, Item *item)
{
  CofferNode *node = item->node;
  gboolean has_content = node->size == 0 || (node->chunks != NULL && node->chunks->len > 0);
  Group *group;
  g_autofree char *rel = NULL;
  g_autofree char *failure = NULL;

  if (node->hardlink_group == 0)
    {
      queue_file (restore, item);
      return;
    }
  g_mutex_lock (&restore->lock);
  group = g_hash_table_lookup (restore->groups, &node->hardlink_group);
  if (group == NULL)
    {
      group = g_new0 (Group, 1);
      group->waiting = g_ptr_array_new_with_free_func ((GDestroyNotify) item_free);
      g_hash_table_insert (restore->groups, g_memdup2 (&node->hardlink_group, sizeof (guint64)),
                           group);
    }
  if (!group->has_leader && has_content)
    {
      group->has_leader = TRUE;
      item->group = node->hardlink_group;
      g_mutex_unlock (&restore->lock);
      queue_file (restore, item);
      return;
    }
  if (group->done)
    rel = g_strdup (group->rel);
  else if (group->failure != NULL)
    failure = g_strdup (group->failure);
  else
    {
      g_ptr_array_add (group->waiting, item);
      item = NULL;
    }
  g_mutex_unlock (&restore->lock);

  if (rel != NULL)
    link_item (restore, item, rel);
  else if (failure != NULL)
    add_failed (restore, item->path, failure);
  if (item != NULL)
    item_free (item);
}

static gboolean
make_special (int dirfd, const char *name, gpointer data)
{
  CofferNode *node = data;

  switch (node->type)
    {
      case COFFER_NODE_SYMLINK:
        return symlinkat (node->link_target, dirfd, name) == 0;
      case COFFER_NODE_FIFO:
        return mkfifoat (dirfd, name, 0600) == 0;
      case COFFER_NODE_CHARDEV:
        return mknodat (dirfd, name, S_IFCHR | 0600, node->rdev) == 0;
      case COFFER_NODE_BLOCKDEV:
        return mknodat (dirfd, name, S_IFBLK | 0600, node->rdev) == 0;
      default:
        g_assert_not_reached ();
    }
}

/* Symlinks, fifos and devices: made under a temporary name, given their
 * metadata, then renamed into place. */
static void
restore_special (Restore *restore, Item *item)
{
  g_autofree char *temp = NULL;
  g_autofree char *reason = NULL;
  int fd;

  if ((item->node->type == COFFER_NODE_CHARDEV || item->node->type == COFFER_NODE_BLOCKDEV) &&
      !restore->as_root)
    {
      add_item (restore, restore->warnings, item->path,
                "Device nodes are recreated only by the administrator (root).");
      return;
    }
  if (item->node->type == COFFER_NODE_SYMLINK && item->node->link_target == NULL)
    {
      add_failed (restore, item->path, "The recovery point is damaged: a symlink has no target.");
      return;
    }
  temp = make_temp (item->dir->fd, make_special, item->node);
  if (temp == NULL)
    {
      add_failed_errno (restore, item->path, "Cannot create it", errno);
      return;
    }
  fd = openat (item->dir->fd, temp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    reason = g_strdup_printf ("Cannot open it: %s", g_strerror (errno));
  else
    {
      /* Without permissions a fifo gets the default mode. */
      if (!restore->options->restore_permissions && item->node->type == COFFER_NODE_FIFO)
        fchmodat (item->dir->fd, temp, 0666 & ~restore->umask, 0);
      reason = apply_metadata (restore, fd, item->dir->fd, temp, item->node, item->path);
      close (fd);
    }
  if (reason == NULL && !rename_into_place (item->dir->fd, temp, item->name, item->replace))
    reason = g_strdup_printf ("Cannot put it in place: %s", g_strerror (errno));
  if (reason != NULL)
    {
      unlinkat (item->dir->fd, temp, 0);
      add_failed (restore, item->path, reason);
      return;
    }
  count_restored (restore);
}

static void restore_entry (Restore *restore, Dir *dir, CofferNode *node, GPtrArray *tree);

/* Fills the folder @dir holds from the tree @id. */
static void
fill_dir (Restore *restore, Dir *dir, const guint8 *id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) nodes =
      coffer_point_reader_read_tree (restore->options->reader, id, restore->cancellable, &error);

  if (nodes == NULL)
    {
      if (is_fatal (error))
        fail (restore, g_steal_pointer (&error));
      else
        {
          g_autofree char *reason =
              g_strdup_printf ("The contents of this folder cannot be read: %s", error->message);
          add_failed (restore, dir->path, reason);
        }
      return;
    }
  for (guint i = 0; i < nodes->len && !stopped (restore); i++)
    restore_entry (restore, dir, g_ptr_array_index (nodes, i), nodes);
}

/* Creates or opens the folder @name in @parent; NULL (with the item failed)
 * when it cannot. @merge_metadata: set its metadata even when it existed. */
static Dir *
enter_dir (Restore *restore,
           Dir *parent,
           const char *name,
           const char *path,
           gboolean existed,
           gboolean merge_metadata,
           CofferNode *node,
           GPtrArray *tree)
{
  g_autofree char *rel = join (parent->rel, name, FALSE);
  int fd;

  if (!existed &&
      mkdirat (parent->fd, name, restore->options->restore_permissions ? 0700 : 0777) < 0 &&
      errno != EEXIST)
    {
      add_failed_errno (restore, path, "Cannot create the folder", errno);
      return NULL;
    }
  fd = openat (parent->fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    {
      add_failed_errno (restore, path, "Cannot open the folder", errno);
      return NULL;
    }
  return dir_new (parent, fd, path, rel, existed && !merge_metadata ? NULL : node, tree);
}

/* Restores one entry of a point into @dir, following the conflict rule. */
static void
restore_entry (Restore *restore, Dir *dir, CofferNode *node, GPtrArray *tree)
{
  CofferConflict conflict = restore->options->conflict;
  g_autofree char *path = NULL;
  g_autofree char *copy = NULL;
  const char *name = node->name;
  gboolean exists;
  gboolean replace = FALSE;
  struct stat st;

  /* coffer_tree_parse() refuses these already; nothing below trusts it. */
  if (name == NULL || !coffer_tree_name_is_valid (name, strlen (name)))
    {
      add_failed (restore, dir->path,
                  "The recovery point is damaged: an entry of this folder has an invalid name.");
      return;
    }
  path = join (dir->path, name, TRUE);
  exists = fstatat (dir->fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
  if (!exists && errno != ENOENT)
    {
      add_failed_errno (restore, path, "Cannot look at what is there", errno);
      return;
    }

  if (node->type == COFFER_NODE_DIR)
    {
      Dir *child;

      if (exists && !S_ISDIR (st.st_mode))
        {
          /* Something else (a file, a symlink) is in the way of a folder. */
          if (conflict == COFFER_CONFLICT_SKIP)
            {
              add_counter (&restore->skipped, 1);
              return;
            }
          if (conflict == COFFER_CONFLICT_OVERWRITE)
            {
              if (unlinkat (dir->fd, name, 0) < 0)
                {
                  add_failed_errno (restore, path, "Cannot replace it", errno);
                  return;
                }
            }
          else
            {
              copy = free_copy_name (restore, dir->fd, name);
              if (copy == NULL)
                {
                  add_failed (restore, path, "There are too many copies of it already.");
                  return;
                }
              name = copy;
              g_free (path);
              path = join (dir->path, name, TRUE);
            }
          exists = FALSE;
        }
      child = enter_dir (restore, dir, name, path, exists, conflict == COFFER_CONFLICT_OVERWRITE,
                         node, tree);
      if (child == NULL)
        return;
      if (node->has_subtree)
        fill_dir (restore, child, node->subtree);
      dir_release (restore, child);
      return;
    }

  if (exists)
    {
      switch (conflict)
        {
          case COFFER_CONFLICT_SKIP:
            add_counter (&restore->skipped, 1);
            return;
          case COFFER_CONFLICT_OVERWRITE:
            replace = TRUE;
            break;
          case COFFER_CONFLICT_COPY:
            copy = free_copy_name (restore, dir->fd, name);
            if (copy == NULL)
              {
                add_failed (restore, path, "There are too many copies of it already.");
                return;
              }
            name = copy;
            break;
        }
    }

  {
    Item *item = item_new (restore, dir, name, replace, node, tree);

    if (node->type == COFFER_NODE_FILE)
      restore_file (restore, item);
    else
      {
        restore_special (restore, item);
        item_free (item);
      }
  }
}

/* ---- Hardlinks whose content name was not restored ------------------------ */

typedef struct
{
  GHashTable *wanted; /* guint64* → Group, groups without a leader */
  GHashTable *found;  /* guint64* → Item: the node with the content */
} Orphans;

static gboolean
find_leaders (Restore *restore, Orphans *orphans, const guint8 *id, GError **error)
{
  g_autoptr (GPtrArray) nodes =
      coffer_point_reader_read_tree (restore->options->reader, id, restore->cancellable, error);

  if (nodes == NULL)
    return FALSE;
  for (guint i = 0; i < nodes->len; i++)
    {
      CofferNode *node = g_ptr_array_index (nodes, i);

      if (g_hash_table_size (orphans->found) == g_hash_table_size (orphans->wanted))
        return TRUE;
      if (node->type == COFFER_NODE_DIR && node->has_subtree &&
          !find_leaders (restore, orphans, node->subtree, error))
        return FALSE;
      if (node->type == COFFER_NODE_FILE && node->hardlink_group != 0 && node->chunks != NULL &&
          node->chunks->len > 0 && g_hash_table_contains (orphans->wanted, &node->hardlink_group) &&
          !g_hash_table_contains (orphans->found, &node->hardlink_group))
        g_hash_table_insert (orphans->found, &node->hardlink_group, g_ptr_array_ref (nodes));
    }
  return TRUE;
}

static CofferNode *
leader_in (GPtrArray *nodes, guint64 group)
{
  for (guint i = 0; i < nodes->len; i++)
    {
      CofferNode *node = g_ptr_array_index (nodes, i);
      if (node->type == COFFER_NODE_FILE && node->hardlink_group == group && node->chunks != NULL &&
          node->chunks->len > 0)
        return node;
    }
  return NULL;
}

/* Names of a hardlink whose content is stored with a name outside the
 * restore: the first gets the content from the point, the others a link. */
static void
restore_orphans (Restore *restore)
{
  g_autoptr (GHashTable) wanted = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_autoptr (GHashTable) found =
      g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, (GDestroyNotify) g_ptr_array_unref);
  g_autoptr (GError) error = NULL;
  Orphans orphans = { wanted, found };
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, restore->groups);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (((Group *) value)->waiting->len > 0)
      g_hash_table_insert (wanted, key, value);
  if (g_hash_table_size (wanted) == 0 || stopped (restore))
    return;
  if (!find_leaders (restore, &orphans, restore->options->root, &error))
    {
      if (is_fatal (error))
        {
          fail (restore, g_steal_pointer (&error));
          return;
        }
    }

  g_hash_table_iter_init (&iter, wanted);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      Group *group = value;
      GPtrArray *nodes = g_hash_table_lookup (found, key);
      Item *first = g_ptr_array_index (group->waiting, 0);

      if (nodes == NULL)
        {
          for (guint i = 0; i < group->waiting->len; i++)
            add_failed (restore, ((Item *) g_ptr_array_index (group->waiting, i))->path,
                        error != NULL ? error->message
                                      : "The recovery point is damaged: the content of this "
                                        "hardlink is not in it.");
          g_ptr_array_set_size (group->waiting, 0);
          continue;
        }
      g_ptr_array_steal_index (group->waiting, 0);
      first->group = *(guint64 *) key;
      /* The content's name has the same metadata (one inode). */
      if (write_file (restore, first, leader_in (nodes, first->group)))
        {
          finish_group (restore, first, TRUE);
        }
      else
        finish_group (restore, first, FALSE);
      item_free (first);
    }
}

/* ---- The whole restore ---------------------------------------------------- */

static mode_t
read_umask (void)
{
  g_autofree char *status = NULL;
  const char *line;

  /* umask() cannot be read without setting it, which races with other
   * threads creating files. */
  if (g_file_get_contents ("/proc/self/status", &status, NULL, NULL) &&
      (line = strstr (status, "\nUmask:")) != NULL)
    return strtoul (line + strlen ("\nUmask:"), NULL, 8) & 0777;
  return 022;
}

static gboolean
is_root_path (const char *path)
{
  for (const char *p = path; *p != '\0'; p++)
    if (*p != '/')
      return FALSE;
  return TRUE;
}

/* ---- Total ---------------------------------------------------------------- */

/* The bytes recovering @node writes: a file's data, its holes left out;
 * nothing for a hardlink name whose content comes with another name. */
static guint64
node_data_size (const CofferNode *node)
{
  guint64 total = 0;

  if (node->type != COFFER_NODE_FILE || node->chunks == NULL || node->chunks->len == 0)
    return 0;
  if (node->extents == NULL)
    return node->size;
  for (guint i = 0; i < node->extents->len; i++)
    total += g_array_index (node->extents, CofferExtent, i).length;
  return total;
}

static gboolean total_node (Restore *restore, const CofferNode *node, guint64 *total);

static gboolean
total_tree (Restore *restore, const guint8 id[COFFER_TREE_ID_SIZE], guint64 *total)
{
  g_autoptr (GPtrArray) nodes = coffer_point_reader_read_tree (restore->options->reader, id,
                                                               restore->total_cancellable, NULL);

  if (nodes == NULL)
    return FALSE;
  for (guint i = 0; i < nodes->len; i++)
    if (!total_node (restore, g_ptr_array_index (nodes, i), total))
      return FALSE;
  return TRUE;
}

static gboolean
total_node (Restore *restore, const CofferNode *node, guint64 *total)
{
  *total += node_data_size (node);
  return !node->has_subtree || total_tree (restore, node->subtree, total);
}

/* Sums what the recovery will write, in a thread of its own while it runs,
 * from the point's trees: the progress gets a total and a time left. Each
 * tree is read a second time (the reader's cache holds only the latest
 * few), about 3 % of a large recovery's CPU. Gives up, leaving no total, on
 * any error. */
static gpointer
total_run (gpointer data)
{
  Restore *restore = data;
  guint64 total = 0;

  for (guint i = 0; restore->options->paths[i] != NULL; i++)
    {
      const char *path = restore->options->paths[i];
      g_autoptr (GPtrArray) tree = NULL;
      CofferNode *node;

      if (is_root_path (path))
        {
          if (!total_tree (restore, restore->options->root, &total))
            return NULL;
          continue;
        }
      node = coffer_point_reader_lookup (restore->options->reader, restore->options->root, path,
                                         &tree, restore->total_cancellable, NULL);
      if (node == NULL || !total_node (restore, node, &total))
        return NULL;
    }
  __atomic_store_n (&restore->totals.bytes_expected, total, __ATOMIC_RELAXED);
  return NULL;
}

/* Restores one selected path of the point. */
static void
restore_path (Restore *restore, Dir *top, const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) tree = NULL;
  g_auto (GStrv) parts = NULL;
  CofferPointReader *reader = restore->options->reader;
  CofferNode *node;
  Dir *dir = top;
  gboolean complete = TRUE;
  guint n;

  if (is_root_path (path))
    {
      fill_dir (restore, top, restore->options->root);
      return;
    }
  node = coffer_point_reader_lookup (reader, restore->options->root, path, &tree,
                                     restore->cancellable, &error);
  if (node == NULL)
    {
      if (is_fatal (error))
        fail (restore, g_steal_pointer (&error));
      else
        add_failed (restore, path, error->message);
      return;
    }
  if (restore->options->target != NULL)
    {
      restore_entry (restore, top, node, tree);
      return;
    }

  /* To the original location: the folders on the way are merged into, or
   * made as they were in the point. */
  parts = g_strsplit (path + 1, "/", -1);
  n = g_strv_length (parts);
  for (guint i = 0; i + 1 < n && dir != NULL; i++)
    {
      g_autoptr (GPtrArray) folder_tree = NULL;
      g_autofree char *shown = NULL;
      CofferNode *folder;
      struct stat st;
      gboolean exists;
      Dir *next;

      if (parts[i][0] == '\0')
        continue;
      shown = join (dir->path, parts[i], TRUE);
      folder = coffer_point_reader_lookup (reader, restore->options->root, shown, &folder_tree,
                                           restore->cancellable, &error);
      if (folder == NULL)
        {
          add_failed (restore, path, error->message);
          complete = FALSE;
          break;
        }
      exists = fstatat (dir->fd, parts[i], &st, AT_SYMLINK_NOFOLLOW) == 0;
      if (exists && !S_ISDIR (st.st_mode))
        {
          g_autofree char *reason = g_strdup_printf (
              "Cannot recover it to its original location: %s is not a folder.", shown);
          add_failed (restore, path, reason);
          complete = FALSE;
          break;
        }
      next = enter_dir (restore, dir, parts[i], shown, exists, FALSE, folder, folder_tree);
      if (dir != top)
        dir_release (restore, dir);
      dir = next;
    }
  if (dir != NULL && complete && !stopped (restore))
    restore_entry (restore, dir, node, tree);
  if (dir != NULL && dir != top)
    dir_release (restore, dir);
}

/**
 * coffer_restore_run:
 * @options: what to recover, and where
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Recovers items of a recovery point. Items that cannot be recovered (a
 * damaged or missing blob, a name in the way) do not fail the restore: they
 * are in the result's failed items. Cancelling keeps what was restored and
 * removes temporary files. Blocks: call from a worker thread.
 *
 * Returns: (transfer full): the result, or %NULL with @error set (the
 *   target cannot be opened, a path is not in the point, the vault cannot
 *   be reached, cancelled)
 */
CofferRestoreResult *
coffer_restore_run (const CofferRestoreOptions *options, GCancellable *cancellable, GError **error)
{
  CofferRestoreOptions defaults;
  g_autoptr (CofferRestoreResult) result = NULL;
  Restore restore = { 0 };
  CofferTicker *ticker = NULL;
  const char *shown_target;
  Dir *top;

  g_return_val_if_fail (options != NULL && options->reader != NULL && options->root != NULL, NULL);
  g_return_val_if_fail (options->paths != NULL, NULL);

  defaults = *options;
  if (defaults.workers == 0)
    defaults.workers = MAX (1, g_get_num_processors ());

  /* Every path must be in the point before anything is written. */
  for (guint i = 0; options->paths[i] != NULL; i++)
    {
      g_autoptr (GPtrArray) tree = NULL;

      if (options->paths[i][0] != '/')
        {
          g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                       "%s: not an absolute path inside the recovery point", options->paths[i]);
          return NULL;
        }
      if (!is_root_path (options->paths[i]) &&
          coffer_point_reader_lookup (options->reader, options->root, options->paths[i], &tree,
                                      cancellable, error) == NULL)
        return NULL;
    }

  restore.target_fd =
      open (options->target != NULL ? options->target : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (restore.target_fd < 0)
    {
      int saved_errno = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Cannot open the folder %s: %s", options->target != NULL ? options->target : "/",
                   g_strerror (saved_errno));
      return NULL;
    }

  restore.options = &defaults;
  restore.cancellable = cancellable;
  restore.as_root = geteuid () == 0;
  restore.umask = read_umask ();
  g_mutex_init (&restore.lock);
  g_cond_init (&restore.cond);
  restore.failed = g_ptr_array_new_with_free_func ((GDestroyNotify) coffer_failed_item_free);
  restore.warnings = g_ptr_array_new_with_free_func ((GDestroyNotify) coffer_failed_item_free);
  restore.groups =
      g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, (GDestroyNotify) group_free);
  restore.totals.phase = "Data transfer is in progress…";
  if (options->progress != NULL)
    options->progress (&restore.totals, options->progress_data);

  if (options->progress != NULL)
    {
      restore.total_cancellable = g_cancellable_new ();
      restore.totaller = g_thread_new ("coffer-total", total_run, &restore);
      ticker = coffer_ticker_start ("coffer-progress", 250, report_tick, &restore);
    }
  restore.workers = g_thread_pool_new (file_run, &restore, defaults.workers, TRUE, NULL);
  shown_target = options->target != NULL ? options->target : "";
  {
    g_autofree char *display = g_strdup (shown_target);
    gsize length = strlen (display);

    while (length > 0 && display[length - 1] == '/')
      display[--length] = '\0';
    top = dir_new (NULL, restore.target_fd, display, "", NULL, NULL);
  }

  for (guint i = 0; options->paths[i] != NULL && !stopped (&restore); i++)
    restore_path (&restore, top, options->paths[i]);

  g_thread_pool_free (g_steal_pointer (&restore.workers), FALSE, TRUE);
  restore_orphans (&restore);
  coffer_ticker_stop (g_steal_pointer (&ticker));
  if (restore.totaller != NULL)
    {
      g_cancellable_cancel (restore.total_cancellable);
      g_thread_join (g_steal_pointer (&restore.totaller));
      g_clear_object (&restore.total_cancellable);
    }
  /* Names still waiting (cancelled, or failed above) release their folders. */
  g_hash_table_remove_all (restore.groups);
  dir_release (&restore, top);
  close (restore.target_fd);

  if (options->progress != NULL)
    options->progress (&restore.totals, options->progress_data);

  if (restore.error == NULL)
    {
      result = g_new0 (CofferRestoreResult, 1);
      result->totals = restore.totals;
      result->failed = g_steal_pointer (&restore.failed);
      result->warnings = g_steal_pointer (&restore.warnings);
      result->skipped = restore.skipped;
    }
  else
    g_propagate_error (error, g_steal_pointer (&restore.error));

  g_clear_pointer (&restore.failed, g_ptr_array_unref);
  g_clear_pointer (&restore.warnings, g_ptr_array_unref);
  g_hash_table_unref (restore.groups);
  g_mutex_clear (&restore.lock);
  g_cond_clear (&restore.cond);
  return g_steal_pointer (&result);
}
