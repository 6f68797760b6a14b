/* coffer-paths.c: where Coffer keeps its state and cache on this machine.
 *
 * The state folder ($XDG_STATE_HOME/coffer) holds what cannot be rebuilt (the
 * catalog); the cache folder ($XDG_CACHE_HOME/coffer by default) only what can
 * be rebuilt from the vault. Both are private to the user (0700).
 */
#include "config.h"

#include "coffer-paths.h"

#include "coffer-error.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <sys/vfs.h>

/**
 * coffer_paths_state_dir:
 *
 * Returns: (transfer full): the state folder, `$XDG_STATE_HOME/coffer`.
 */
char *
coffer_paths_state_dir (void)
{
  return g_build_filename (g_get_user_state_dir (), "coffer", NULL);
}

/**
 * coffer_paths_default_cache_dir:
 *
 * Returns: (transfer full): the default cache folder, `$XDG_CACHE_HOME/coffer`.
 */
char *
coffer_paths_default_cache_dir (void)
{
  return g_build_filename (g_get_user_cache_dir (), "coffer", NULL);
}

/**
 * coffer_paths_ensure_private_dir:
 * @path: a folder
 * @error: return location for a #GError
 *
 * Creates @path (and its parents) when missing and makes it 0700. A path
 * that exists but is not a folder is an error.
 *
 * Returns: %TRUE on success
 */
gboolean
coffer_paths_ensure_private_dir (const char *path, GError **error)
{
  GStatBuf st;

  g_return_val_if_fail (path != NULL, FALSE);

  if (g_mkdir_with_parents (path, 0700) != 0)
    {
      int saved_errno = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Cannot create the folder %s: %s", path, g_strerror (saved_errno));
      return FALSE;
    }

  if (g_stat (path, &st) != 0 || !S_ISDIR (st.st_mode))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_DIRECTORY, "%s is not a folder", path);
      return FALSE;
    }

  if ((st.st_mode & 0777) != 0700 && g_chmod (path, 0700) != 0)
    {
      int saved_errno = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Cannot make the folder %s private: %s", path, g_strerror (saved_errno));
      return FALSE;
    }

  return TRUE;
}

/**
 * coffer_paths_is_on_network:
 * @path: an existing path
 *
 * Returns: %TRUE when @path is on a network filesystem (NFS, SMB/CIFS, AFS,
 *   Ceph, Coda, NCP): not local to this machine
 */
gboolean
coffer_paths_is_on_network (const char *path)
{
  struct statfs fs;

  if (statfs (path, &fs) != 0)
    return FALSE;
  switch ((unsigned long) fs.f_type)
    {
      case 0x6969:     /* NFS */
      case 0x517B:     /* SMB */
      case 0xFF534D42: /* CIFS */
      case 0xFE534D42: /* SMB2 */
      case 0x5346414F: /* AFS */
      case 0x00C36400: /* Ceph */
      case 0x73757245: /* Coda */
      case 0x564C:     /* NCP */
        return TRUE;
      default:
        return FALSE;
    }
}
