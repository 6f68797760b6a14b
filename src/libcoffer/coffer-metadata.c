/* coffer-metadata.c: one entry of a folder as the filesystem describes it.
 *
 * Everything works relative to a folder's descriptor (openat and friends),
 * because the paths a backup meets may be longer than PATH_MAX.
 *
 * Extended attributes are read through an O_PATH descriptor of the entry
 * itself, named as /proc/self/fd/N: that reaches symlinks (which cannot be
 * opened any other way), fifos and devices (which must not be opened for
 * reading: a fifo blocks, a tape rewinds), and paths of any length, and it
 * cannot be redirected by a rename between the caller's fstatat and the read.
 * Without /proc, files and folders are opened read-only instead and the
 * others are stored without extended attributes.
 *
 * Sparse files are mapped with lseek's SEEK_DATA and SEEK_HOLE, which never
 * read the holes.
 */
#include "config.h"

#include "coffer-metadata.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

/* The cache forgets everything past this many ids (a directory service
 * could otherwise grow it without bound). */
#define ID_CACHE_LIMIT 4096
/* Where a name lookup stops growing its buffer. */
#define PASSWD_BUFFER_LIMIT (1024 * 1024)
/* Linux's limits: XATTR_NAME_MAX, XATTR_SIZE_MAX, XATTR_LIST_MAX. */
#define XATTR_NAME_LIMIT 255
#define XATTR_VALUE_LIMIT 65536
#define XATTR_LIST_LIMIT 65536
#define LINK_TARGET_LIMIT G_MAXUINT16

struct _CofferIdCache
{
  GMutex lock;
  GHashTable *users;  /* uid → name, or NULL for "no such user" */
  GHashTable *groups; /* gid → name, or NULL */
};

/**
 * coffer_id_cache_new:
 *
 * Makes an empty cache of user and group names, which any number of threads
 * may use at once.
 *
 * Returns: (transfer full): the cache
 */
CofferIdCache *
coffer_id_cache_new (void)
{
  CofferIdCache *cache = g_new0 (CofferIdCache, 1);

  g_mutex_init (&cache->lock);
  cache->users = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  cache->groups = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  return cache;
}

/**
 * coffer_id_cache_free:
 * @cache: (nullable): a cache
 */
void
coffer_id_cache_free (CofferIdCache *cache)
{
  if (cache == NULL)
    return;
  g_hash_table_unref (cache->users);
  g_hash_table_unref (cache->groups);
  g_mutex_clear (&cache->lock);
  g_free (cache);
}

static gsize
passwd_buffer_size (int name)
{
  long size = sysconf (name);

  return size > 0 ? (gsize) size : 1024;
}

/* Sets *definitive when the answer may be cached: found, or known not to
 * exist. A failing directory service is asked again next time. */
static char *
lookup_user (guint32 uid, gboolean *definitive)
{
  gsize size = passwd_buffer_size (_SC_GETPW_R_SIZE_MAX);

  for (;;)
    {
      g_autofree char *buffer = g_malloc (size);
      struct passwd entry, *result = NULL;
      int status = getpwuid_r (uid, &entry, buffer, size, &result);

      if (status == ERANGE && size < PASSWD_BUFFER_LIMIT)
        {
          size *= 2;
          continue;
        }
      *definitive = status == 0;
      if (status != 0)
        g_debug ("Looking up user %u: %s", uid, g_strerror (status));
      if (status != 0 || result == NULL || entry.pw_name[0] == '\0')
        return NULL;
      return g_strdup (entry.pw_name);
    }
}

static char *
lookup_group (guint32 gid, gboolean *definitive)
{
  gsize size = passwd_buffer_size (_SC_GETGR_R_SIZE_MAX);

  for (;;)
    {
      g_autofree char *buffer = g_malloc (size);
      struct group entry, *result = NULL;
      int status = getgrgid_r (gid, &entry, buffer, size, &result);

      if (status == ERANGE && size < PASSWD_BUFFER_LIMIT)
        {
          size *= 2;
          continue;
        }
      *definitive = status == 0;
      if (status != 0)
        g_debug ("Looking up group %u: %s", gid, g_strerror (status));
      if (status != 0 || result == NULL || entry.gr_name[0] == '\0')
        return NULL;
      return g_strdup (entry.gr_name);
    }
}

static char *
cached_lookup (CofferIdCache *cache,
               GHashTable *table,
               guint32 id,
               char *(*lookup) (guint32 id, gboolean *definitive))
{
  gpointer key = GUINT_TO_POINTER (id);
  gpointer value;
  gboolean definitive = FALSE;
  char *name;

  g_mutex_lock (&cache->lock);
  if (g_hash_table_lookup_extended (table, key, NULL, &value))
    {
      name = g_strdup (value);
      g_mutex_unlock (&cache->lock);
      return name;
    }
  g_mutex_unlock (&cache->lock);

  /* Looked up unlocked: a directory service may be slow, and two threads
   * asking for the same id at once merely both ask. */
  name = lookup (id, &definitive);
  if (definitive)
    {
      g_mutex_lock (&cache->lock);
      if (g_hash_table_size (table) >= ID_CACHE_LIMIT)
        g_hash_table_remove_all (table);
      g_hash_table_replace (table, key, g_strdup (name));
      g_mutex_unlock (&cache->lock);
    }
  return name;
}

/**
 * coffer_id_cache_user_name:
 * @cache: a cache
 * @uid: a user id
 *
 * Returns: (transfer full) (nullable): the user's name, or %NULL when this
 *   machine does not know it
 */
char *
coffer_id_cache_user_name (CofferIdCache *cache, guint32 uid)
{
  g_return_val_if_fail (cache != NULL, NULL);

  return cached_lookup (cache, cache->users, uid, lookup_user);
}

/**
 * coffer_id_cache_group_name:
 * @cache: a cache
 * @gid: a group id
 *
 * Returns: (transfer full) (nullable): the group's name, or %NULL when this
 *   machine does not know it
 */
char *
coffer_id_cache_group_name (CofferIdCache *cache, guint32 gid)
{
  g_return_val_if_fail (cache != NULL, NULL);

  return cached_lookup (cache, cache->groups, gid, lookup_group);
}

/* Capturing. */

static void
close_fd (int *fd)
{
  if (*fd >= 0)
    close (*fd);
  *fd = -1;
}

static gboolean
errno_error (GError **error, int saved_errno, const char *display_path, const char *format, ...)
    G_GNUC_PRINTF (4, 5);

static gboolean
errno_error (GError **error, int saved_errno, const char *display_path, const char *format, ...)
{
  g_autofree char *shown = g_utf8_make_valid (display_path, -1);
  g_autofree char *what = NULL;
  va_list args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  /* "Cannot read the target of “/srv/link”: Permission denied" */
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), "%s “%s”: %s", what, shown,
               g_strerror (saved_errno));
  return FALSE;
}

static gboolean
type_from_mode (mode_t mode, CofferNodeType *type)
{
  switch (mode & S_IFMT)
    {
      case S_IFREG:
        *type = COFFER_NODE_FILE;
        return TRUE;
      case S_IFDIR:
        *type = COFFER_NODE_DIR;
        return TRUE;
      case S_IFLNK:
        *type = COFFER_NODE_SYMLINK;
        return TRUE;
      case S_IFIFO:
        *type = COFFER_NODE_FIFO;
        return TRUE;
      case S_IFCHR:
        *type = COFFER_NODE_CHARDEV;
        return TRUE;
      case S_IFBLK:
        *type = COFFER_NODE_BLOCKDEV;
        return TRUE;
      default:
        return FALSE;
    }
}

/* Where extended attributes are read from: a path that names the entry
 * itself (/proc/self/fd/N), or a descriptor opened for reading. */
typedef struct
{
  const char *path;
  int fd;
} XattrSource;

static ssize_t
source_list (const XattrSource *source, char *buffer, size_t size)
{
  if (source->path != NULL)
    return listxattr (source->path, buffer, size);
  return flistxattr (source->fd, buffer, size);
}

static ssize_t
source_get (const XattrSource *source, const char *name, void *buffer, size_t size)
{
  if (source->path != NULL)
    return getxattr (source->path, name, buffer, size);
  return fgetxattr (source->fd, name, buffer, size);
}

static gboolean
errno_means_unsupported (int saved_errno)
{
  return saved_errno == ENOTSUP || saved_errno == EOPNOTSUPP;
}

/* The list of names, NUL-separated, in *names and *size (0 when none). */
static gboolean
list_xattrs (const XattrSource *source, char **names, gsize *size, int *saved_errno)
{
  for (;;)
    {
      g_autofree char *buffer = NULL;
      ssize_t wanted = source_list (source, NULL, 0);
      ssize_t got;

      if (wanted < 0 && errno_means_unsupported (errno))
        wanted = 0;
      if (wanted <= 0)
        {
          *saved_errno = errno;
          *names = NULL;
          *size = 0;
          return wanted == 0;
        }
      buffer = g_malloc (wanted);
      got = source_list (source, buffer, wanted);
      if (got < 0 && errno == ERANGE)
        continue; /* it grew meanwhile */
      if (got < 0)
        {
          *saved_errno = errno;
          return FALSE;
        }
      *names = g_steal_pointer (&buffer);
      *size = got;
      return TRUE;
    }
}

/* One value; NULL with *saved_errno 0 when it is to be left out. */
static GBytes *
get_xattr (const XattrSource *source, const char *name, int *saved_errno)
{
  *saved_errno = 0;
  for (;;)
    {
      g_autofree char *buffer = NULL;
      ssize_t wanted = source_get (source, name, NULL, 0);
      ssize_t got;

      if (wanted >= 0)
        {
          buffer = g_malloc (MAX (wanted, 1));
          got = source_get (source, name, buffer, wanted);
          if (got >= 0)
            return g_bytes_new_take (g_steal_pointer (&buffer), got);
        }
      if (errno == ERANGE)
        continue; /* it grew meanwhile */
      if (errno == ENODATA)
        return NULL; /* removed meanwhile */
      if (errno == EPERM || errno == EACCES || errno_means_unsupported (errno))
        {
          /* Some namespaces can be listed but not read without privileges:
           * back up what can be read. */
          g_debug ("Leaving out the extended attribute %s: %s", name, g_strerror (errno));
          return NULL;
        }
      *saved_errno = errno;
      return NULL;
    }
}

static gboolean
read_xattrs_from (const XattrSource *source,
                  CofferNode *node,
                  const char *display_path,
                  GError **error)
{
  g_autofree char *names = NULL;
  gsize size;
  int saved_errno = 0;

  if (!list_xattrs (source, &names, &size, &saved_errno))
    return errno_error (error, saved_errno, display_path, "Cannot list the extended attributes of");
  if (size == 0)
    return TRUE;
  for (const char *name = names; name < names + size; name += strlen (name) + 1)
    {
      g_autoptr (GBytes) value = NULL;
      int get_errno;

      if (name[0] == '\0' || strlen (name) > XATTR_NAME_LIMIT)
        continue; /* not something Linux hands out */
      value = get_xattr (source, name, &get_errno);
      if (value == NULL && get_errno != 0)
        {
          g_autofree char *shown = g_utf8_make_valid (name, -1);

          return errno_error (error, get_errno, display_path,
                              "Cannot read the extended attribute %s of", shown);
        }
      if (value != NULL && g_bytes_get_size (value) <= XATTR_VALUE_LIMIT)
        coffer_node_add_xattr (node, name, value);
    }
  return TRUE;
}

static gboolean
same_inode (const struct stat *a, const struct stat *b)
{
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
         (a->st_mode & S_IFMT) == (b->st_mode & S_IFMT);
}

static gboolean
changed_error (GError **error, const char *display_path)
{
  g_autofree char *shown = g_utf8_make_valid (display_path, -1);

  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
               "“%s” was replaced while it was being backed up; it is backed up next time", shown);
  return FALSE;
}

/* Without /proc: files and folders are opened for reading; nothing else may
 * be (a fifo would block, a device act). */
static gboolean
read_xattrs_without_proc (int dirfd,
                          const char *name,
                          const struct stat *st,
                          CofferNode *node,
                          const char *display_path,
                          GError **error)
{
  __attribute__ ((cleanup (close_fd))) int fd = -1;
  XattrSource source = { NULL, -1 };
  struct stat now;

  if (node->type != COFFER_NODE_FILE && node->type != COFFER_NODE_DIR)
    {
      g_debug ("No /proc: leaving out the extended attributes of a special file");
      return TRUE;
    }
  fd = openat (dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0)
    return errno_error (error, errno, display_path, "Cannot open");
  if (fstat (fd, &now) < 0)
    return errno_error (error, errno, display_path, "Cannot read the attributes of");
  if (!same_inode (st, &now))
    return changed_error (error, display_path);
  source.fd = fd;
  return read_xattrs_from (&source, node, display_path, error);
}

static gboolean
read_xattrs (int dirfd,
             const char *name,
             int path_fd,
             const struct stat *st,
             CofferNode *node,
             const char *display_path,
             GError **error)
{
  char proc_path[64];
  XattrSource source = { proc_path, -1 };
  g_autoptr (GError) local_error = NULL;

  g_snprintf (proc_path, sizeof proc_path, "/proc/self/fd/%d", path_fd);
  if (read_xattrs_from (&source, node, display_path, &local_error))
    return TRUE;
  /* The descriptor is open, so its path is missing only when /proc is. */
  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND) &&
      access ("/proc/self/fd", F_OK) < 0)
    {
      g_clear_pointer (&node->xattr_names, g_ptr_array_unref);
      g_clear_pointer (&node->xattr_values, g_ptr_array_unref);
      return read_xattrs_without_proc (dirfd, name, st, node, display_path, error);
    }
  g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
}

static char *
read_link (int path_fd, const struct stat *st, const char *display_path, GError **error)
{
  gsize size = MAX ((gsize) st->st_size + 1, 256);

  for (;;)
    {
      g_autofree char *buffer = g_malloc (size);
      /* An O_PATH | O_NOFOLLOW descriptor and "" name the link itself. */
      ssize_t got = readlinkat (path_fd, "", buffer, size);

      if (got < 0)
        {
          errno_error (error, errno, display_path, "Cannot read the target of");
          return NULL;
        }
      if ((gsize) got < size)
        {
          if (got == 0)
            {
              errno_error (error, ENOENT, display_path, "Cannot read the target of");
              return NULL;
            }
          buffer[got] = '\0';
          return g_steal_pointer (&buffer);
        }
      if (size > LINK_TARGET_LIMIT)
        {
          errno_error (error, ENAMETOOLONG, display_path, "Cannot read the target of");
          return NULL;
        }
      size *= 2;
    }
}

static gint64
timespec_ns (const struct timespec *time)
{
  return (gint64) time->tv_sec * G_GINT64_CONSTANT (1000000000) + time->tv_nsec;
}

/* A node with what @st says of the entry: all but its xattrs, symlink
 * target, content, subtree and hardlink group. */
static CofferNode *
node_from_stat (const char *name, CofferNodeType type, const struct stat *st, CofferIdCache *ids)
{
  CofferNode *node = coffer_node_new ();

  node->name = g_strdup (name);
  node->type = type;
  node->mode = st->st_mode & 07777;
  node->uid = st->st_uid;
  node->gid = st->st_gid;
  if (ids != NULL)
    {
      node->user = coffer_id_cache_user_name (ids, st->st_uid);
      node->group = coffer_id_cache_group_name (ids, st->st_gid);
    }
  node->mtime_ns = timespec_ns (&st->st_mtim);
  node->ctime_ns = timespec_ns (&st->st_ctim);
  if (type == COFFER_NODE_FILE || type == COFFER_NODE_SYMLINK)
    node->size = st->st_size;
  if (type == COFFER_NODE_CHARDEV || type == COFFER_NODE_BLOCKDEV)
    node->rdev = st->st_rdev;
  return node;
}

/**
 * coffer_metadata_capture:
 * @dirfd: the folder holding the entry
 * @name: the entry's name in it
 * @st: what the caller's `fstatat (dirfd, name, st, AT_SYMLINK_NOFOLLOW)` said
 * @ids: (nullable): the cache to find user and group names in; %NULL
 *   leaves them unknown
 * @display_path: the entry's path, for messages
 * @skip: (out): set when the entry is not backed up at all (a socket)
 * @error: return location for a #GError
 *
 * Describes one entry as a tree node: everything but its content (chunks),
 * its subtree, its hardlink group (the walker assigns those) and its sparse
 * extents (see coffer_metadata_sparse_extents()). Extended attributes of
 * every namespace this process may read are included (`user.*`; as root
 * also `trusted.*`; `security.*` and ACLs as `system.posix_acl_*`); one that
 * may be listed but not read is left out.
 *
 * Folders, fifos and devices get size 0; device numbers are set for devices
 * only. If the entry at @name is no longer the one @st describes, that is an
 * error too.
 *
 * Returns: (transfer full) (nullable): the node; or %NULL with @skip set and
 *   no error; or %NULL with a #G_IO_ERROR naming @display_path, which the
 *   caller reports as a warning for that entry
 */
CofferNode *
coffer_metadata_capture (int dirfd,
                         const char *name,
                         const struct stat *st,
                         CofferIdCache *ids,
                         const char *display_path,
                         gboolean *skip,
                         GError **error)
{
  __attribute__ ((cleanup (close_fd))) int path_fd = -1;
  g_autoptr (CofferNode) node = NULL;
  CofferNodeType type;
  struct stat now;

  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (st != NULL, NULL);
  g_return_val_if_fail (display_path != NULL, NULL);
  g_return_val_if_fail (skip != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  *skip = FALSE;
  if (S_ISSOCK (st->st_mode))
    {
      *skip = TRUE;
      return NULL;
    }
  if (!coffer_tree_name_is_valid (name, strlen (name)))
    {
      /* Of the names a folder lists, only an overlong one can break the
       * tree's rules (a few filesystems allow more than 255 bytes). */
      errno_error (error, ENAMETOOLONG, display_path, "Cannot back up");
      return NULL;
    }
  if (!type_from_mode (st->st_mode, &type))
    {
      errno_error (error, EOPNOTSUPP, display_path, "Cannot back up the unknown kind of file");
      return NULL;
    }

  path_fd = openat (dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (path_fd < 0)
    {
      errno_error (error, errno, display_path, "Cannot open");
      return NULL;
    }
  if (fstat (path_fd, &now) < 0)
    {
      errno_error (error, errno, display_path, "Cannot read the attributes of");
      return NULL;
    }
  if (!same_inode (st, &now))
    {
      changed_error (error, display_path);
      return NULL;
    }

  node = node_from_stat (name, type, st, ids);
  if (!read_xattrs (dirfd, name, path_fd, st, node, display_path, error))
    return NULL;
  if (type == COFFER_NODE_SYMLINK)
    {
      node->link_target = read_link (path_fd, st, display_path, error);
      if (node->link_target == NULL)
        return NULL;
    }
  return g_steal_pointer (&node);
}

/**
 * coffer_metadata_capture_open_file:
 * @fd: a regular file, open for reading
 * @name: its name in its folder
 * @st: what `fstat (fd)` said
 * @ids: (nullable): the cache to find user and group names in
 * @display_path: the file's path, for messages
 * @error: return location for a #GError
 *
 * Like coffer_metadata_capture(), for a regular file the caller has opened
 * to read anyway: its extended attributes are read through @fd, which costs
 * neither a second open nor a path lookup in /proc.
 *
 * Returns: (transfer full) (nullable): the node, or %NULL with a #G_IO_ERROR
 *   naming @display_path
 */
CofferNode *
coffer_metadata_capture_open_file (int fd,
                                   const char *name,
                                   const struct stat *st,
                                   CofferIdCache *ids,
                                   const char *display_path,
                                   GError **error)
{
  g_autoptr (CofferNode) node = NULL;
  XattrSource source = { NULL, fd };

  g_return_val_if_fail (fd >= 0, NULL);
  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (st != NULL && S_ISREG (st->st_mode), NULL);
  g_return_val_if_fail (display_path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!coffer_tree_name_is_valid (name, strlen (name)))
    {
      errno_error (error, ENAMETOOLONG, display_path, "Cannot back up");
      return NULL;
    }
  node = node_from_stat (name, COFFER_NODE_FILE, st, ids);
  if (!read_xattrs_from (&source, node, display_path, error))
    return NULL;
  return g_steal_pointer (&node);
}

/**
 * coffer_metadata_sparse_extents:
 * @fd: a regular file open for reading
 * @size: its size, as the caller's stat said
 * @error: return location for a #GError
 *
 * Finds where a file holds data, without reading it. The file offset is
 * left where it was.
 *
 * Returns: (transfer full) (nullable): the data extents within @size
 *   (#CofferExtent, sorted; empty when the file is one hole), or %NULL when
 *   the file has no holes, is empty or its filesystem cannot tell (%NULL
 *   without @error set); or %NULL with @error set
 */
GArray *
coffer_metadata_sparse_extents (int fd, guint64 size, GError **error)
{
  g_autoptr (GArray) extents = NULL;
  off_t position;
  off_t offset = 0;

  g_return_val_if_fail (fd >= 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (size == 0 || size > G_MAXINT64)
    return NULL;
  position = lseek (fd, 0, SEEK_CUR);
  extents = g_array_new (FALSE, FALSE, sizeof (CofferExtent));
  while ((guint64) offset < size)
    {
      off_t data = lseek (fd, offset, SEEK_DATA);
      off_t hole = data < 0 ? -1 : lseek (fd, data, SEEK_HOLE);
      CofferExtent extent;

      if (data < 0 && errno == ENXIO)
        break; /* nothing but a hole up to the end */
      if (data < 0 && (errno == EINVAL || errno_means_unsupported (errno)))
        {
          g_clear_pointer (&extents, g_array_unref);
          break; /* the filesystem cannot tell: read it all */
        }
      if (hole < 0)
        {
          int saved_errno = errno;

          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                       "Cannot find the data regions of the file: %s", g_strerror (saved_errno));
          lseek (fd, position, SEEK_SET);
          return NULL;
        }
      if ((guint64) data >= size)
        break; /* grown since the caller's stat */
      extent.offset = data;
      extent.length = MIN ((guint64) hole, size) - (guint64) data;
      if (extent.length > 0)
        g_array_append_val (extents, extent);
      offset = hole;
    }
  if (position >= 0)
    lseek (fd, position, SEEK_SET);

  /* One extent covering the whole file: no holes. */
  if (extents != NULL && extents->len == 1 &&
      g_array_index (extents, CofferExtent, 0).offset == 0 &&
      g_array_index (extents, CofferExtent, 0).length == size)
    g_clear_pointer (&extents, g_array_unref);
  return g_steal_pointer (&extents);
}
