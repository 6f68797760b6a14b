/* coffer-cache-folder.c: moving the cache folder.
 *
 * A move checks the new folder (absolute, on a local disk, new or empty, not
 * inside the old one, with room for the cache), copies the old folder's tree
 * into it (files fsynced, folders 0700), and only then may the caller switch
 * the catalog's setting and remove the old folder. A copy that fails or is
 * cancelled removes what it wrote and leaves the old folder as it was, so
 * nothing is lost at any step. The cache holds only what can be rebuilt from
 * the vault, and no job runs during a move (one job at a time), so its files
 * are not being written while they are copied.
 */
#include "config.h"

#include "coffer-cache-folder.h"

#include "coffer-error.h"
#include "coffer-paths.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define COPY_CHUNK (1024 * 1024)

/* The nearest existing folder at or above @path. */
static char *
existing_ancestor (const char *path)
{
  g_autofree char *current = g_strdup (path);

  while (!g_file_test (current, G_FILE_TEST_IS_DIR))
    {
      char *parent = g_path_get_dirname (current);

      if (g_str_equal (parent, current))
        {
          g_free (parent);
          break;
        }
      g_free (current);
      current = parent;
    }
  return g_steal_pointer (&current);
}

static gboolean
is_within (const char *path, const char *folder)
{
  gsize len = strlen (folder);

  return strncmp (path, folder, len) == 0 && (path[len] == '/' || path[len] == '\0');
}

static gboolean
folder_is_empty (const char *path, GError **error)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, error);

  if (dir == NULL)
    return FALSE;
  if (g_dir_read_name (dir) != NULL)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "The folder %s is not empty; choose an empty or a new folder for the cache.",
                   path);
      return FALSE;
    }
  return TRUE;
}

/**
 * coffer_cache_folder_size:
 * @path: a folder
 *
 * Returns: the bytes of every regular file below @path (0 when it is missing)
 */
guint64
coffer_cache_folder_size (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;
  guint64 total = 0;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      GStatBuf st;

      if (g_lstat (child, &st) != 0)
        continue;
      if (S_ISDIR (st.st_mode))
        total += coffer_cache_folder_size (child);
      else if (S_ISREG (st.st_mode))
        total += st.st_size;
    }
  return total;
}

/**
 * coffer_cache_folder_check_new:
 * @new_path: where the cache is to go
 * @old_path: where it is now
 * @data_bytes: how much data the backups hold (for the 5 % rule)
 * @error: return location for a #GError
 *
 * Checks that @new_path can take the cache: an absolute path, not the old
 * folder nor inside it (nor holding it), new or an empty folder, on a local
 * filesystem, with free space for the cache's current size and for 5 % of
 * @data_bytes. Writes nothing.
 */
gboolean
coffer_cache_folder_check_new (const char *new_path,
                               const char *old_path,
                               guint64 data_bytes,
                               GError **error)
{
  g_autofree char *ancestor = NULL;
  g_autofree char *free_text = NULL;
  g_autofree char *needed_text = NULL;
  guint64 needed, available;
  struct statvfs fs;

  if (new_path == NULL || !g_path_is_absolute (new_path))
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "The cache folder must be an absolute path.");
      return FALSE;
    }
  if (is_within (new_path, old_path) || is_within (old_path, new_path))
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   g_str_equal (new_path, old_path)
                       ? "The cache folder is already %s."
                       : "The new cache folder %s cannot be inside the old one, nor hold it.",
                   new_path);
      return FALSE;
    }
  if (g_file_test (new_path, G_FILE_TEST_EXISTS))
    {
      if (!g_file_test (new_path, G_FILE_TEST_IS_DIR) ||
          g_file_test (new_path, G_FILE_TEST_IS_SYMLINK))
        {
          g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                       "%s is not a folder; choose an empty or a new folder for the cache.",
                       new_path);
          return FALSE;
        }
      if (!folder_is_empty (new_path, error))
        return FALSE;
    }

  ancestor = existing_ancestor (new_path);
  if (coffer_paths_is_on_network (ancestor))
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "The cache folder %s is on a network filesystem; choose a folder on a local "
                   "disk.",
                   new_path);
      return FALSE;
    }
  if (statvfs (ancestor, &fs) != 0)
    {
      int saved_errno = errno;
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_PERMISSION_DENIED,
                   "Cannot tell how much space %s has: %s", ancestor, g_strerror (saved_errno));
      return FALSE;
    }
  available = (guint64) fs.f_bavail * fs.f_frsize;
  needed = MAX (coffer_cache_folder_size (old_path), data_bytes / 100 * COFFER_CACHE_SPACE_PERCENT);
  if (available < needed)
    {
      free_text = g_format_size (available);
      needed_text = g_format_size (needed);
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "There is too little space for the cache at %s: %s free, and it needs %s (its "
                   "present size, and at least 5 %% of the data backed up).",
                   new_path, free_text, needed_text);
      return FALSE;
    }
  return TRUE;
}

typedef struct
{
  CofferCacheMoveProgress progress;
  gpointer progress_data;
  guint64 bytes;
  guint64 files;
  GCancellable *cancellable;
} Copy;

static gboolean
set_errno_error (GError **error, int saved_errno, const char *what, const char *path)
{
  g_set_error (error, COFFER_ERROR,
               saved_errno == ENOSPC ? COFFER_ERROR_FAILED : COFFER_ERROR_PERMISSION_DENIED,
               "Cannot %s %s: %s", what, path, g_strerror (saved_errno));
  return FALSE;
}

static gboolean
copy_file (Copy *copy, const char *from, const char *to, mode_t mode, GError **error)
{
  g_autofree char *buffer = g_malloc (COPY_CHUNK);
  int in, out;
  gboolean ok = TRUE;

  in = g_open (from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
  if (in < 0)
    return set_errno_error (error, errno, "read", from);
  out = g_open (to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 0700);
  if (out < 0)
    {
      int saved_errno = errno;
      close (in);
      return set_errno_error (error, saved_errno, "write", to);
    }

  for (;;)
    {
      ssize_t n = read (in, buffer, COPY_CHUNK);
      ssize_t done = 0;

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          ok = set_errno_error (error, errno, "read", from);
          break;
        }
      if (n == 0)
        break;
      if (g_cancellable_set_error_if_cancelled (copy->cancellable, error))
        {
          ok = FALSE;
          break;
        }
      while (ok && done < n)
        {
          ssize_t w = write (out, buffer + done, n - done);

          if (w < 0 && errno == EINTR)
            continue;
          if (w < 0)
            ok = set_errno_error (error, errno, "write", to);
          else
            done += w;
        }
      if (!ok)
        break;
      copy->bytes += n;
      if (copy->progress != NULL)
        copy->progress (copy->bytes, copy->files, copy->progress_data);
    }
  if (ok && fsync (out) != 0)
    ok = set_errno_error (error, errno, "write", to);
  close (in);
  if (close (out) != 0 && ok)
    ok = set_errno_error (error, errno, "write", to);
  if (ok)
    copy->files++;
  return ok;
}

static gboolean
copy_tree (Copy *copy, const char *from, const char *to, GError **error)
{
  g_autoptr (GDir) dir = g_dir_open (from, 0, error);
  const char *name;

  if (dir == NULL)
    return FALSE;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *source = g_build_filename (from, name, NULL);
      g_autofree char *target = g_build_filename (to, name, NULL);
      GStatBuf st;

      if (g_lstat (source, &st) != 0)
        return set_errno_error (error, errno, "read", source);
      if (S_ISDIR (st.st_mode))
        {
          if (g_mkdir (target, 0700) != 0)
            return set_errno_error (error, errno, "create", target);
          if (!copy_tree (copy, source, target, error))
            return FALSE;
        }
      else if (S_ISREG (st.st_mode))
        {
          if (!copy_file (copy, source, target, st.st_mode, error))
            return FALSE;
        }
      else if (S_ISLNK (st.st_mode))
        {
          g_autofree char *link = g_file_read_link (source, error);

          if (link == NULL)
            return FALSE;
          if (symlink (link, target) != 0)
            return set_errno_error (error, errno, "create", target);
        }
      /* Nothing else belongs in a cache; sockets and fifos are not copied. */
    }
  return TRUE;
}

static gboolean
sync_folder (const char *path)
{
  int fd = g_open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  gboolean ok;

  if (fd < 0)
    return FALSE;
  ok = fsync (fd) == 0;
  close (fd);
  return ok;
}

/* Removes everything below @path, and @path itself unless @keep_top. */
static gboolean
remove_tree (const char *path, gboolean keep_top, GError **error)
{
  g_autoptr (GDir) dir = NULL;
  const char *name;
  GStatBuf st;

  if (g_lstat (path, &st) != 0)
    return errno == ENOENT ? TRUE : set_errno_error (error, errno, "remove", path);
  if (!S_ISDIR (st.st_mode))
    return g_unlink (path) == 0 ? TRUE : set_errno_error (error, errno, "remove", path);

  dir = g_dir_open (path, 0, error);
  if (dir == NULL)
    return FALSE;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (!remove_tree (child, FALSE, error))
        return FALSE;
    }
  if (!keep_top && g_rmdir (path) != 0)
    return set_errno_error (error, errno, "remove", path);
  return TRUE;
}

/**
 * coffer_cache_folder_copy:
 * @old_path: the cache folder now
 * @new_path: a checked new folder (coffer_cache_folder_check_new())
 * @progress: (nullable): called as bytes are copied
 * @progress_data: data for @progress
 * @out_bytes: (out) (optional): how many bytes were copied
 * @out_files: (out) (optional): how many files were copied
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Copies the cache's tree into @new_path, creating it (0700) if needed. On
 * failure or cancellation, removes what it wrote (and @new_path, if it made
 * it); the old folder is never changed.
 */
gboolean
coffer_cache_folder_copy (const char *old_path,
                          const char *new_path,
                          CofferCacheMoveProgress progress,
                          gpointer progress_data,
                          guint64 *out_bytes,
                          guint64 *out_files,
                          GCancellable *cancellable,
                          GError **error)
{
  Copy copy = { progress, progress_data, 0, 0, cancellable };
  gboolean created = !g_file_test (new_path, G_FILE_TEST_EXISTS);
  g_autofree char *parent = g_path_get_dirname (new_path);

  if (created && g_mkdir_with_parents (new_path, 0700) != 0)
    return set_errno_error (error, errno, "create", new_path);
  if ((!g_file_test (old_path, G_FILE_TEST_IS_DIR) ||
       copy_tree (&copy, old_path, new_path, error)) &&
      sync_folder (new_path) && sync_folder (parent))
    {
      if (out_bytes != NULL)
        *out_bytes = copy.bytes;
      if (out_files != NULL)
        *out_files = copy.files;
      return TRUE;
    }

  if (error != NULL && *error == NULL)
    g_set_error (error, COFFER_ERROR, COFFER_ERROR_FAILED, "Cannot write the cache to %s.",
                 new_path);
  {
    g_autoptr (GError) cleanup_error = NULL;

    if (!remove_tree (new_path, !created, &cleanup_error))
      g_warning ("What was copied to %s could not all be removed: %s", new_path,
                 cleanup_error->message);
  }
  return FALSE;
}

/**
 * coffer_cache_folder_remove:
 * @path: the old cache folder, no longer in use
 * @error: return location for a #GError
 *
 * Removes the old cache folder and everything in it. Refuses the home
 * folder and the root, whatever the catalog said.
 */
gboolean
coffer_cache_folder_remove (const char *path, GError **error)
{
  g_autofree char *state = coffer_paths_state_dir ();

  if (!g_path_is_absolute (path) || g_str_equal (path, "/") ||
      g_str_equal (path, g_get_home_dir ()) || is_within (state, path))
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "The old cache folder %s was left in place: it is not a folder Coffer removes.",
                   path);
      return FALSE;
    }
  return remove_tree (path, FALSE, error);
}
