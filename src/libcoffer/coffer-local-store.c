/* coffer-local-store.c: a vault in a local folder (a disk, a drive, a NAS mount).
 *
 * The object NAME is the file ROOT/NAME. The store never creates ROOT: a drive
 * that is not plugged in leaves an empty mount point, which must not become a
 * vault. So every operation first opens ROOT and reports
 * COFFER_ERROR_VAULT_UNREACHABLE when it is not a folder, or not the folder
 * the store's first operation found (pin_root()); puts create the folders
 * below it as needed. ROOT/tmp holds files being written and the
 * lock file; it is never listed, and no object name may start with "tmp/".
 *
 * A put writes ROOT/tmp/RANDOM.tmp, stamps it with the current time (ns) and
 * fsyncs it, then moves it into place:
 * - ALWAYS renames it over NAME.
 * - IF_ABSENT hard-links it to NAME, which fails with EEXIST, atomically, when
 *   NAME exists; then removes the tmp name. Where the filesystem has no hard
 *   links (FAT, some NAS shares: EPERM, ENOTSUP), renameat2() with
 *   RENAME_NOREPLACE does the same; where that is refused too, the check for
 *   NAME and the rename run under the vault lock. Claiming NAME first with an
 *   empty O_EXCL file was rejected: a reader, or a crash, would then find an
 *   empty object under a content name. The store remembers the method that
 *   worked and starts from it next time.
 * - IF_MATCH compares NAME's etag with the expected one and renames, under
 *   the vault lock.
 * Then the folder holding NAME is fsynced: once a put returns, its object
 * survives a crash; a crash before leaves at most a file in ROOT/tmp, which
 * nothing lists (a vault check may remove old ones).
 *
 * The vault lock is an exclusive flock() on ROOT/tmp/.lock, taken together
 * with a process-wide mutex (NFS turns flock() into a per-process lock) by
 * every operation that replaces or removes a name: ALWAYS and IF_MATCH puts,
 * lock-guarded IF_ABSENT puts and deletes. So a condition checked under the
 * lock still holds at the rename. Readers take no lock: rename() and link()
 * switch whole files, and an open file keeps its content when its name is
 * replaced.
 *
 * Etags hash the file's inode number, size, mtime and ctime (ns). A put always
 * writes a new file (a new inode, its own mtime) and no object is modified in
 * place, so the tag changes on every put. On filesystems without stable inode
 * numbers and fine timestamps (FAT), two puts of the same size within the
 * timestamp granularity may share a tag. Linking an object elsewhere (a copy of
 * the vault made with hard links) changes its ctime and so its tag: a
 * conditional put then fails safely ("changed meanwhile").
 *
 * Files are 0600 and folders 0700, or 0640 and 0750 when the root is open to
 * its group (a vault shared through a group); the umask applies on top.
 * Symbolic links below the root are never followed.
 *
 * Reads and writes go in pieces, each paced with coffer_store_pace(), so a
 * throttled store's limit holds for the bytes as they land (coffer-throttled-store.c).
 */
#include "config.h"

#include "coffer-local-store.h"

#include "coffer-error.h"
#include "coffer-local-store-private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

#define TMP_FOLDER "tmp"
#define LOCK_FILE ".lock"
/* Reads and writes go in pieces of this size, checking for cancellation. */
#define IO_CHUNK (1024 * 1024)
/* Puts of at least this size are written directly (direct_write_start()),
 * from buffers aligned to DIRECT_ALIGN. */
#define DIRECT_MIN_SIZE (1024 * 1024)
#define DIRECT_ALIGN 4096

struct _CofferLocalStore
{
  GObject parent_instance;

  char *root;
  /* A CofferLocalStoreCreate: the first method put-if-absent tries. */
  int create_method;
  /* The root folder the first operation found, by device and inode: a
   * later operation that finds another folder there is refused. */
  GMutex pin_lock;
  gboolean pinned;
  dev_t root_dev;
  ino_t root_ino;
  /* Set once the vault's filesystem refused a direct write. */
  gint no_direct_writes;
};

enum
{
  PROP_0,
  PROP_ROOT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* Taken with the vault lock, which threads of one process may not exclude
 * each other with (flock() on NFS is a per-process fcntl() lock). */
static GMutex vault_lock_mutex;

static void coffer_local_store_store_iface_init (CofferStoreInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (CofferLocalStore,
                               coffer_local_store,
                               G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (COFFER_TYPE_STORE,
                                                      coffer_local_store_store_iface_init))

/* A file descriptor closed when it goes out of scope. Closing loses nothing:
 * every file written is fsynced before. */
typedef int AutoFd;

static void
close_fd (int fd)
{
  if (close (fd) != 0)
    g_debug ("Closing a file in a local vault: %s", g_strerror (errno));
}

G_DEFINE_AUTO_CLEANUP_FREE_FUNC (AutoFd, close_fd, -1)

/* The vault for the length of one operation: its root, open. */
typedef struct
{
  const char *root;
  int root_fd;
  mode_t file_mode;
  mode_t folder_mode;
} Vault;

static void
vault_close (Vault *vault)
{
  if (vault->root_fd >= 0)
    close_fd (vault->root_fd);
  vault->root_fd = -1;
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Vault, vault_close)

/* Sets @error for a failed system call, with @saved_errno choosing the code:
 * a full drive, a refusal, or a drive that went away are told apart.
 * Returns %FALSE. */
static gboolean G_GNUC_PRINTF (3, 4)
    set_io_error (GError **error, int saved_errno, const char *format, ...)
{
  g_autofree char *context = NULL;
  va_list args;

  va_start (args, format);
  context = g_strdup_vprintf (format, args);
  va_end (args);

  switch (saved_errno)
    {
      case ENOSPC:
      case EDQUOT:
        g_set_error (error, COFFER_ERROR, COFFER_ERROR_NO_SPACE,
                     "%s: there is not enough free space on the drive. Free some space, "
                     "then try again",
                     context);
        break;
      case EACCES:
      case EPERM:
      case EROFS:
        g_set_error (error, COFFER_ERROR, COFFER_ERROR_PERMISSION_DENIED, "%s: %s", context,
                     g_strerror (saved_errno));
        break;
      case EIO:
      case ENODEV:
      case ENXIO:
      case ENOMEDIUM:
      case ESTALE:
      case ENOTCONN:
      case EHOSTDOWN:
      case EHOSTUNREACH:
      case ENETDOWN:
      case ENETUNREACH:
      case ETIMEDOUT:
        g_set_error (error, COFFER_ERROR, COFFER_ERROR_VAULT_UNREACHABLE, "%s: %s", context,
                     g_strerror (saved_errno));
        break;
      default:
        g_set_error (error, COFFER_ERROR, COFFER_ERROR_FAILED, "%s: %s", context,
                     g_strerror (saved_errno));
        break;
    }
  return FALSE;
}

static gboolean
set_not_found (GError **error, Vault *vault, const char *name)
{
  g_set_error (error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND, "%s does not exist in the vault at %s",
               name, vault->root);
  return FALSE;
}

/* Whether @errno_value, from walking to or opening a name, means that there
 * is no such object: a missing file or folder, a file where a folder would
 * be, or a symbolic link, which is never followed. */
static gboolean
errno_is_missing (int errno_value)
{
  return errno_value == ENOENT || errno_value == ENOTDIR || errno_value == ELOOP;
}

static gboolean
name_is_reserved (const char *name)
{
  return strcmp (name, TMP_FOLDER) == 0 || g_str_has_prefix (name, TMP_FOLDER "/");
}

static gboolean
check_not_reserved (const char *name, GError **error)
{
  if (!name_is_reserved (name))
    return TRUE;

  g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
               "“%s” cannot name an object in a local vault: its tmp folder holds files "
               "being written",
               name);
  return FALSE;
}

/* Whether @st is the root folder this store found first. A drive unplugged
 * or unmounted while a job writes leaves its mount point, an empty folder
 * of the same name: writing on there would fill the machine's own disk with
 * half a vault. So the store pins the folder its first operation opened
 * (the vault.json check, when a vault is opened) and refuses any other;
 * the next job's new store finds the drive again, wherever it came back. */
static gboolean
pin_root (CofferLocalStore *self, const struct stat *st)
{
  gboolean same = TRUE;

  g_mutex_lock (&self->pin_lock);
  if (!self->pinned)
    {
      self->pinned = TRUE;
      self->root_dev = st->st_dev;
      self->root_ino = st->st_ino;
    }
  else
    same = self->root_dev == st->st_dev && self->root_ino == st->st_ino;
  g_mutex_unlock (&self->pin_lock);
  return same;
}

/* Opens the root, which must be a folder already. */
static gboolean
vault_open (Vault *vault, CofferLocalStore *self, GError **error)
{
  struct stat st;
  gboolean shared;

  vault->root = self->root;
  vault->root_fd = open (self->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (vault->root_fd < 0 && (errno == EACCES || errno == EPERM))
    {
      set_io_error (error, errno, "Cannot open the vault at %s", self->root);
      return FALSE;
    }
  if (vault->root_fd < 0 || fstat (vault->root_fd, &st) != 0)
    {
      g_debug ("Opening the vault at %s: %s", self->root, g_strerror (errno));
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_VAULT_UNREACHABLE,
                   "The vault at %s cannot be reached (is the drive connected?)", self->root);
      return FALSE;
    }

  if (!pin_root (self, &st))
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_VAULT_UNREACHABLE,
                   "The vault at %s cannot be reached (is the drive connected?): another folder "
                   "is there now.",
                   self->root);
      return FALSE;
    }

  shared = (st.st_mode & (S_IRGRP | S_IXGRP)) == (S_IRGRP | S_IXGRP);
  vault->file_mode = shared ? 0640 : 0600;
  vault->folder_mode = shared ? 0750 : 0700;
  return TRUE;
}

/* Makes a folder's entries durable. A filesystem that cannot sync folders
 * (EINVAL) orders its metadata itself. */
static gboolean
sync_folder (Vault *vault, int fd, GError **error)
{
  if (fsync (fd) == 0)
    return TRUE;
  if (errno == EINVAL || errno == ENOTSUP)
    {
      g_debug ("The vault at %s cannot sync folders: %s", vault->root, g_strerror (errno));
      return TRUE;
    }

  set_io_error (error, errno, "Cannot save the changes to the vault at %s", vault->root);
  return FALSE;
}

/* Opens the folder @name below @parent_fd, creating it when @create. Returns
 * the folder's descriptor, or -1 with errno set. */
static int
open_folder (Vault *vault, int parent_fd, const char *name, gboolean create)
{
  const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  int fd = openat (parent_fd, name, flags);

  if (fd >= 0 || errno != ENOENT || !create)
    return fd;

  if (mkdirat (parent_fd, name, vault->folder_mode) == 0)
    {
      /* The new entry must outlast a crash with the object put below it. */
      if (fsync (parent_fd) != 0 && errno != EINVAL && errno != ENOTSUP)
        return -1;
    }
  else if (errno != EEXIST)
    return -1;

  return openat (parent_fd, name, flags);
}

/* Opens the folder that holds @name, walking from the root without following
 * symbolic links (and creating missing folders when @create), and points
 * @out_leaf at @name's last component. A @name without '/' lives in the root;
 * a prefix ending in '/' has an empty leaf. Returns the folder's descriptor,
 * or -1 with errno set. */
static int
open_parent (Vault *vault, const char *name, gboolean create, const char **out_leaf)
{
  const char *component = name;
  int fd = fcntl (vault->root_fd, F_DUPFD_CLOEXEC, 0);
  const char *slash;

  while (fd >= 0 && (slash = strchr (component, '/')) != NULL)
    {
      g_autofree char *folder = g_strndup (component, slash - component);
      int child = open_folder (vault, fd, folder, create);
      int saved_errno = errno;

      close_fd (fd);
      fd = child;
      errno = saved_errno;
      component = slash + 1;
    }

  *out_leaf = component;
  return fd;
}

static char *
etag_from_stat (const struct stat *st)
{
  guint64 fields[] = {
    GUINT64_TO_LE ((guint64) st->st_ino),         GUINT64_TO_LE ((guint64) st->st_size),
    GUINT64_TO_LE ((guint64) st->st_mtim.tv_sec), GUINT64_TO_LE ((guint64) st->st_mtim.tv_nsec),
    GUINT64_TO_LE ((guint64) st->st_ctim.tv_sec), GUINT64_TO_LE ((guint64) st->st_ctim.tv_nsec),
  };
  g_autofree char *digest =
      g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) fields, sizeof fields);

  return g_strndup (digest, 16);
}

static CofferStoreEntry *
entry_from_stat (const char *name, const struct stat *st)
{
  CofferStoreEntry *entry = g_new0 (CofferStoreEntry, 1);

  entry->name = g_strdup (name);
  entry->size = (guint64) st->st_size;
  entry->mtime = (gint64) st->st_mtim.tv_sec * G_USEC_PER_SEC + st->st_mtim.tv_nsec / 1000;
  entry->etag = etag_from_stat (st);
  return entry;
}

/* Takes the vault lock; the tmp folder holds its file. Returns the lock
 * file's descriptor, to give to vault_unlock(), or -1. */
static int
vault_lock (Vault *vault, int tmp_fd, GError **error)
{
  int fd;

  g_mutex_lock (&vault_lock_mutex);

  /* Open for writing: an exclusive lock on NFS needs it. */
  fd = openat (tmp_fd, LOCK_FILE, O_RDWR | O_CREAT | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC,
               vault->file_mode);
  if (fd < 0)
    {
      set_io_error (error, errno, "Cannot lock the vault at %s", vault->root);
      g_mutex_unlock (&vault_lock_mutex);
      return -1;
    }

  while (flock (fd, LOCK_EX) != 0)
    {
      if (errno == EINTR)
        continue;
      set_io_error (error, errno, "Cannot lock the vault at %s", vault->root);
      close_fd (fd);
      g_mutex_unlock (&vault_lock_mutex);
      return -1;
    }

  return fd;
}

static void
vault_unlock (int lock_fd)
{
  /* Closing the only descriptor of the lock file releases the flock(). */
  close_fd (lock_fd);
  g_mutex_unlock (&vault_lock_mutex);
}

/* A put in progress: what it asks for, and where its content was written. */
typedef struct
{
  Vault *vault;
  const char *name;
  CofferPutMode mode;
  const char *if_match_etag;
  int tmp_fd;
  char *tmp_name;
  int file_fd;
  int parent_fd;
  const char *leaf;
  CofferLocalStore *store;
} Put;

/* Large puts (packs) are written with O_DIRECT where the vault is on a local
 * disk's filesystem: the bytes go from the caller's buffer to the drive,
 * which the fsync waits for anyway, instead of being copied into the page
 * cache first. That copy was a tenth of an initial backup's CPU time, and
 * the vault's data no longer pushes the user's files out of the cache.
 * Network, FUSE and other filesystems keep buffered writes: there O_DIRECT
 * means something else, or nothing. The buffer must be block-aligned, as
 * pack buffers from a CofferBufferPool are. */
static gboolean
direct_write_start (Put *put, const guint8 *data, gsize size)
{
  struct statfs fs;

  if (size < DIRECT_MIN_SIZE || ((guintptr) data & (DIRECT_ALIGN - 1)) != 0 ||
      g_atomic_int_get (&put->store->no_direct_writes))
    return FALSE;
  if (fstatfs (put->file_fd, &fs) != 0 ||
      (fs.f_type != EXT4_SUPER_MAGIC && fs.f_type != XFS_SUPER_MAGIC &&
       fs.f_type != BTRFS_SUPER_MAGIC))
    return FALSE;
  return fcntl (put->file_fd, F_SETFL, O_DIRECT) == 0;
}

/* Back to buffered writes for the rest of the file. Returns %FALSE. */
static gboolean
direct_write_stop (Put *put)
{
  if (fcntl (put->file_fd, F_SETFL, 0) != 0)
    g_debug ("Cannot turn off direct writes in a local vault: %s", g_strerror (errno));
  return FALSE;
}

/* Creates ROOT/tmp/RANDOM.tmp holding @bytes, stamped with the current time
 * and fsynced; fills in @put's file_fd and tmp_name. */
static gboolean
write_temporary (Put *put, GBytes *bytes, GCancellable *cancellable, GError **error)
{
  const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  gsize size = 0;
  const guint8 *data = g_bytes_get_data (bytes, &size);
  struct timespec now[2];
  gsize done = 0;
  gboolean direct = FALSE;

  do
    {
      g_free (put->tmp_name);
      put->tmp_name = g_strdup_printf ("%08x%08x.tmp", g_random_int (), g_random_int ());
      put->file_fd = openat (put->tmp_fd, put->tmp_name, flags, put->vault->file_mode);
    }
  while (put->file_fd < 0 && errno == EEXIST);
  if (put->file_fd < 0)
    {
      g_clear_pointer (&put->tmp_name, g_free);
      set_io_error (error, errno, "Cannot write %s to the vault at %s", put->name,
                    put->vault->root);
      return FALSE;
    }

  direct = direct_write_start (put, data, size);
  while (done < size)
    {
      gsize piece = MIN (size - done, coffer_store_pace_piece_size (IO_CHUNK));
      ssize_t written;

      /* A direct write takes whole blocks; the tail goes through the cache. */
      if (direct && (piece & ~(gsize) (DIRECT_ALIGN - 1)) == 0)
        direct = direct_write_stop (put);
      else if (direct)
        piece &= ~(gsize) (DIRECT_ALIGN - 1);

      if (g_cancellable_set_error_if_cancelled (cancellable, error) ||
          !coffer_store_pace (piece, cancellable, error))
        return FALSE;
      written = write (put->file_fd, data + done, piece);
      if (written < 0 && errno == EINTR)
        continue;
      if (written < 0 && direct && errno == EINVAL)
        {
          /* The filesystem takes O_DIRECT but not these blocks: a larger
           * sector, or a layer below that wants more. */
          g_atomic_int_set (&put->store->no_direct_writes, TRUE);
          direct = direct_write_stop (put);
          continue;
        }
      if (written < 0)
        {
          set_io_error (error, errno, "Cannot write %s to the vault at %s", put->name,
                        put->vault->root);
          return FALSE;
        }
      done += (gsize) written;
      if (direct && (done & (DIRECT_ALIGN - 1)) != 0)
        direct = direct_write_stop (put);
    }

  /* The kernel stamps files with a coarse clock; a fine one makes two puts of
   * the same size in quick succession differ in mtime, and so in etag, even
   * when the second file gets the first one's inode number. */
  clock_gettime (CLOCK_REALTIME, &now[0]);
  now[1] = now[0];
  if (futimens (put->file_fd, now) != 0 || fsync (put->file_fd) != 0)
    {
      set_io_error (error, errno, "Cannot write %s to the vault at %s", put->name,
                    put->vault->root);
      return FALSE;
    }

  return TRUE;
}

static gboolean
set_put_error (GError **error, Put *put, int saved_errno)
{
  if (saved_errno == EISDIR || saved_errno == ENOTEMPTY || saved_errno == EEXIST)
    g_set_error (error, COFFER_ERROR, COFFER_ERROR_FAILED,
                 "Cannot write %s to the vault at %s: a folder of that name is in the way",
                 put->name, put->vault->root);
  else
    set_io_error (error, saved_errno, "Cannot write %s to the vault at %s", put->name,
                  put->vault->root);
  return FALSE;
}

static gboolean
set_exists (GError **error, Put *put)
{
  g_set_error (error, COFFER_ERROR, COFFER_ERROR_EXISTS, "%s already exists in the vault at %s",
               put->name, put->vault->root);
  return FALSE;
}

/* Moves the written file over the name, under the vault lock. */
static gboolean
put_always (Put *put, GError **error)
{
  int lock_fd = vault_lock (put->vault, put->tmp_fd, error);
  int saved_errno;
  int result;

  if (lock_fd < 0)
    return FALSE;
  result = renameat (put->tmp_fd, put->tmp_name, put->parent_fd, put->leaf);
  saved_errno = errno;
  vault_unlock (lock_fd);

  if (result != 0)
    return set_put_error (error, put, saved_errno);
  g_clear_pointer (&put->tmp_name, g_free);
  return TRUE;
}

/* Moves the written file to the name when the object there has the
 * expected etag, under the vault lock. */
static gboolean
put_if_match (Put *put, GError **error)
{
  int lock_fd = vault_lock (put->vault, put->tmp_fd, error);
  g_autofree char *current = NULL;
  struct stat st;
  int saved_errno;
  int result;

  if (lock_fd < 0)
    return FALSE;

  if (fstatat (put->parent_fd, put->leaf, &st, AT_SYMLINK_NOFOLLOW) != 0)
    {
      saved_errno = errno;
      vault_unlock (lock_fd);
      if (errno_is_missing (saved_errno))
        return set_not_found (error, put->vault, put->name);
      return set_put_error (error, put, saved_errno);
    }
  if (!S_ISREG (st.st_mode))
    {
      vault_unlock (lock_fd);
      return set_not_found (error, put->vault, put->name);
    }

  current = etag_from_stat (&st);
  if (strcmp (current, put->if_match_etag) != 0)
    {
      vault_unlock (lock_fd);
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_EXISTS,
                   "%s changed meanwhile in the vault at %s; read it again, then retry", put->name,
                   put->vault->root);
      return FALSE;
    }

  result = renameat (put->tmp_fd, put->tmp_name, put->parent_fd, put->leaf);
  saved_errno = errno;
  vault_unlock (lock_fd);

  if (result != 0)
    return set_put_error (error, put, saved_errno);
  g_clear_pointer (&put->tmp_name, g_free);
  return TRUE;
}

/* Whether @errno_value, from link(), says that the filesystem has no hard
 * links (vfat answers EPERM), rather than that linking failed. */
static gboolean
link_is_unsupported (int errno_value)
{
  return errno_value == EPERM || errno_value == ENOTSUP || errno_value == EOPNOTSUPP ||
         errno_value == ENOSYS;
}

/* Whether @errno_value, from renameat2(), says that the kernel or the
 * filesystem does not know RENAME_NOREPLACE (NFS and CIFS answer EINVAL). */
static gboolean
rename_noreplace_is_unsupported (int errno_value)
{
  return errno_value == EINVAL || errno_value == ENOTSUP || errno_value == EOPNOTSUPP ||
         errno_value == ENOSYS;
}

/* Creates the name with one @method. Returns 0 when the name was created, or
 * an errno value: EEXIST when it exists, ENOTSUP when @method is missing. */
static int
create_with (Put *put, CofferLocalStoreCreate method, GError **error)
{
  struct stat st;
  int lock_fd;
  int result;

  switch (method)
    {
      case COFFER_LOCAL_STORE_CREATE_LINK:
        if (linkat (put->tmp_fd, put->tmp_name, put->parent_fd, put->leaf, 0) == 0)
          return 0;
        return link_is_unsupported (errno) ? ENOTSUP : errno;

      case COFFER_LOCAL_STORE_CREATE_RENAME_NOREPLACE:
#ifdef SYS_renameat2
        if (syscall (SYS_renameat2, put->tmp_fd, put->tmp_name, put->parent_fd, put->leaf,
                     RENAME_NOREPLACE) == 0)
          {
            g_clear_pointer (&put->tmp_name, g_free);
            return 0;
          }
        return rename_noreplace_is_unsupported (errno) ? ENOTSUP : errno;
#else
        return ENOTSUP;
#endif

      case COFFER_LOCAL_STORE_CREATE_LOCKED:
      default:
        lock_fd = vault_lock (put->vault, put->tmp_fd, error);
        if (lock_fd < 0)
          return -1;
        if (fstatat (put->parent_fd, put->leaf, &st, AT_SYMLINK_NOFOLLOW) == 0)
          result = EEXIST;
        else if (errno != ENOENT)
          result = errno;
        else if (renameat (put->tmp_fd, put->tmp_name, put->parent_fd, put->leaf) != 0)
          result = errno;
        else
          {
            g_clear_pointer (&put->tmp_name, g_free);
            result = 0;
          }
        vault_unlock (lock_fd);
        return result;
    }
}

/* Gives the written file the name unless something has it already, with the
 * best method the filesystem offers, remembering which that is. */
static gboolean
put_if_absent (CofferLocalStore *self, Put *put, GError **error)
{
  CofferLocalStoreCreate method = g_atomic_int_get (&self->create_method);

  for (;;)
    {
      int result = create_with (put, method, error);

      if (result == 0)
        return TRUE;
      if (result == EEXIST)
        return set_exists (error, put);
      if (result < 0)
        return FALSE;
      if (result != ENOTSUP || method == COFFER_LOCAL_STORE_CREATE_LOCKED)
        return set_put_error (error, put, result);

      g_debug ("The vault at %s cannot create %s with method %d, trying the next one",
               put->vault->root, put->name, method);
      method++;
      g_atomic_int_set (&self->create_method, method);
    }
}

/* Opens the tmp folder, creating it when missing. */
static int
open_tmp_folder (Vault *vault, GError **error)
{
  int fd = open_folder (vault, vault->root_fd, TMP_FOLDER, TRUE);

  if (fd < 0)
    set_io_error (error, errno, "Cannot open the folder %s/%s of the vault", vault->root,
                  TMP_FOLDER);
  return fd;
}

static gboolean
commit (CofferLocalStore *self, Put *put, GError **error)
{
  switch (put->mode)
    {
      case COFFER_PUT_ALWAYS:
        return put_always (put, error);
      case COFFER_PUT_IF_ABSENT:
        return put_if_absent (self, put, error);
      case COFFER_PUT_IF_MATCH:
        return put_if_match (put, error);
      default:
        g_assert_not_reached ();
    }
}

static gboolean
coffer_local_store_put (CofferStore *store,
                        const char *name,
                        GBytes *bytes,
                        CofferPutMode mode,
                        const char *if_match_etag,
                        char **out_etag,
                        GCancellable *cancellable,
                        GError **error)
{
  CofferLocalStore *self = COFFER_LOCAL_STORE (store);
  g_auto (Vault) vault = { NULL, -1, 0, 0 };
  g_auto (AutoFd) tmp_fd = -1;
  g_auto (AutoFd) parent_fd = -1;
  g_auto (AutoFd) file_fd = -1;
  Put put = { &vault, name, mode, if_match_etag, -1, NULL, -1, -1, NULL, self };
  gboolean done = FALSE;
  struct stat st;

  if (!check_not_reserved (name, error) || !vault_open (&vault, self, error))
    return FALSE;

  put.tmp_fd = tmp_fd = open_tmp_folder (&vault, error);
  if (tmp_fd < 0)
    return FALSE;
  put.parent_fd = parent_fd = open_parent (&vault, name, TRUE, &put.leaf);
  if (parent_fd < 0)
    {
      if (errno == ENOTDIR || errno == ELOOP || errno == EEXIST)
        g_set_error (error, COFFER_ERROR, COFFER_ERROR_FAILED,
                     "Cannot write %s to the vault at %s: a file or a link is in the way of "
                     "its folder",
                     name, vault.root);
      else
        set_io_error (error, errno, "Cannot write %s to the vault at %s", name, vault.root);
      return FALSE;
    }

  done = write_temporary (&put, bytes, cancellable, error);
  file_fd = put.file_fd;
  /* The last moment to give up: past it, the object is in place. */
  done = done && !g_cancellable_set_error_if_cancelled (cancellable, error);
  done = done && commit (self, &put, error);

  /* A linked file keeps its tmp name until here; a failed put's file goes. */
  if (put.tmp_name != NULL && unlinkat (tmp_fd, put.tmp_name, 0) != 0)
    g_debug ("Removing %s/%s/%s: %s (it is never listed)", vault.root, TMP_FOLDER, put.tmp_name,
             g_strerror (errno));
  g_free (put.tmp_name);

  if (!done || !sync_folder (&vault, parent_fd, error))
    return FALSE;

  /* After the rename or the unlink of the tmp name, which change the ctime. */
  if (out_etag != NULL)
    {
      if (fstat (file_fd, &st) != 0)
        {
          set_io_error (error, errno, "Cannot read back %s from the vault at %s", name, vault.root);
          return FALSE;
        }
      *out_etag = etag_from_stat (&st);
    }
  return TRUE;
}

/* Opens the object @name for reading; fills in @st. Returns -1 with @error
 * set, COFFER_ERROR_NOT_FOUND when there is no such object. */
static int
open_object (Vault *vault, const char *name, struct stat *st, GError **error)
{
  g_auto (AutoFd) parent_fd = -1;
  g_auto (AutoFd) fd = -1;
  const char *leaf;

  /* Without O_NONBLOCK, opening a fifo put at an object's name would wait
   * for a writer forever; the type is checked before a byte is read. */
  parent_fd = open_parent (vault, name, FALSE, &leaf);
  if (parent_fd >= 0)
    fd = openat (parent_fd, leaf, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
  if (fd < 0 && errno_is_missing (errno))
    set_not_found (error, vault, name);
  else if (fd < 0 || fstat (fd, st) != 0)
    set_io_error (error, errno, "Cannot read %s from the vault at %s", name, vault->root);
  else if (S_ISDIR (st->st_mode))
    set_not_found (error, vault, name); /* a folder is a prefix, not an object */
  else if (!S_ISREG (st->st_mode))
    g_set_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT,
                 "%s in the vault at %s is not a regular file (%s), not an object Coffer wrote",
                 name, vault->root,
                 S_ISFIFO (st->st_mode)   ? "a fifo"
                 : S_ISSOCK (st->st_mode) ? "a socket"
                                          : "a device");
  else if (fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) & ~O_NONBLOCK) != 0)
    set_io_error (error, errno, "Cannot read %s from the vault at %s", name, vault->root);
  else
    return g_steal_fd (&fd);

  return -1;
}

static gboolean
read_range (Vault *vault,
            const char *name,
            int fd,
            guint8 *buffer,
            gsize length,
            guint64 offset,
            GCancellable *cancellable,
            GError **error)
{
  gsize done = 0;

  while (done < length)
    {
      gsize piece = MIN (length - done, coffer_store_pace_piece_size (IO_CHUNK));
      ssize_t n;

      if (g_cancellable_set_error_if_cancelled (cancellable, error) ||
          !coffer_store_pace (piece, cancellable, error))
        return FALSE;
      n = pread (fd, buffer + done, piece, (off_t) (offset + done));
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          set_io_error (error, errno, "Cannot read %s from the vault at %s", name, vault->root);
          return FALSE;
        }
      if (n == 0)
        {
          /* The store never writes into an object: someone else did. */
          g_set_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT,
                       "%s in the vault at %s was cut short while it was read", name, vault->root);
          return FALSE;
        }
      done += (gsize) n;
    }

  return TRUE;
}

static GBytes *
coffer_local_store_get (CofferStore *store,
                        const char *name,
                        guint64 offset,
                        gssize length,
                        char **out_etag,
                        GCancellable *cancellable,
                        GError **error)
{
  CofferLocalStore *self = COFFER_LOCAL_STORE (store);
  g_auto (Vault) vault = { NULL, -1, 0, 0 };
  g_auto (AutoFd) fd = -1;
  g_autofree guint8 *buffer = NULL;
  guint64 available;
  guint64 wanted;
  struct stat st;

  if (!check_not_reserved (name, error) || !vault_open (&vault, self, error))
    return NULL;
  fd = open_object (&vault, name, &st, error);
  if (fd < 0)
    return NULL;

  if (offset > (guint64) st.st_size)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "Cannot read %s from byte %" G_GUINT64_FORMAT ": it has %" G_GUINT64_FORMAT
                   " bytes (range not satisfiable)",
                   name, offset, (guint64) st.st_size);
      return NULL;
    }
  available = (guint64) st.st_size - offset;
  wanted = length < 0 ? available : MIN ((guint64) length, available);
  if (wanted > COFFER_STORE_MAX_OBJECT)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT,
                   "%s in the vault at %s is larger than any object Coffer writes", name,
                   vault.root);
      return NULL;
    }

  buffer = g_malloc (wanted);
  if (!read_range (&vault, name, fd, buffer, wanted, offset, cancellable, error))
    return NULL;

  /* The descriptor holds the file the bytes came from, even if it was
   * replaced meanwhile: the tag is that file's. */
  if (out_etag != NULL)
    *out_etag = etag_from_stat (&st);
  return g_bytes_new_take (g_steal_pointer (&buffer), wanted);
}

static CofferStoreEntry *
coffer_local_store_stat (CofferStore *store,
                         const char *name,
                         GCancellable *cancellable,
                         GError **error)
{
  CofferLocalStore *self = COFFER_LOCAL_STORE (store);
  g_auto (Vault) vault = { NULL, -1, 0, 0 };
  g_auto (AutoFd) parent_fd = -1;
  const char *leaf;
  struct stat st;

  if (!check_not_reserved (name, error) || !vault_open (&vault, self, error))
    return NULL;

  parent_fd = open_parent (&vault, name, FALSE, &leaf);
  if (parent_fd < 0 || fstatat (parent_fd, leaf, &st, AT_SYMLINK_NOFOLLOW) != 0)
    {
      if (errno_is_missing (errno))
        set_not_found (error, &vault, name);
      else
        set_io_error (error, errno, "Cannot read %s from the vault at %s", name, vault.root);
      return NULL;
    }
  if (!S_ISREG (st.st_mode))
    {
      set_not_found (error, &vault, name);
      return NULL;
    }

  return entry_from_stat (name, &st);
}

static gboolean
coffer_local_store_delete (CofferStore *store,
                           const char *name,
                           GCancellable *cancellable,
                           GError **error)
{
  CofferLocalStore *self = COFFER_LOCAL_STORE (store);
  g_auto (Vault) vault = { NULL, -1, 0, 0 };
  g_auto (AutoFd) parent_fd = -1;
  g_auto (AutoFd) tmp_fd = -1;
  const char *leaf;
  int lock_fd;
  int result;
  int saved_errno;

  if (!check_not_reserved (name, error) || !vault_open (&vault, self, error))
    return FALSE;

  parent_fd = open_parent (&vault, name, FALSE, &leaf);
  if (parent_fd < 0 && errno_is_missing (errno))
    return TRUE;
  if (parent_fd < 0)
    {
      set_io_error (error, errno, "Cannot delete %s from the vault at %s", name, vault.root);
      return FALSE;
    }

  tmp_fd = open_tmp_folder (&vault, error);
  if (tmp_fd < 0)
    return FALSE;
  lock_fd = vault_lock (&vault, tmp_fd, error);
  if (lock_fd < 0)
    return FALSE;
  result = unlinkat (parent_fd, leaf, 0);
  saved_errno = errno;
  vault_unlock (lock_fd);

  /* Like a blob store, deleting what is not there succeeds; a folder is not
   * an object. */
  if (result != 0 && (saved_errno == ENOENT || saved_errno == EISDIR))
    return TRUE;
  if (result != 0)
    {
      set_io_error (error, saved_errno, "Cannot delete %s from the vault at %s", name, vault.root);
      return FALSE;
    }

  return sync_folder (&vault, parent_fd, error);
}

/* A rename within the vault's folder, so that a fifo or anything else
 * that cannot be read moves too. */
static gboolean
coffer_local_store_move (CofferStore *store,
                         const char *name,
                         const char *new_name,
                         GCancellable *cancellable,
                         GError **error)
{
  CofferLocalStore *self = COFFER_LOCAL_STORE (store);
  g_auto (Vault) vault = { NULL, -1, 0, 0 };
  g_auto (AutoFd) from_fd = -1;
  g_auto (AutoFd) to_fd = -1;
  g_auto (AutoFd) tmp_fd = -1;
  const char *from_leaf, *to_leaf;
  struct stat st;
  int lock_fd;
  int result;
  int saved_errno;

  if (!check_not_reserved (name, error) || !check_not_reserved (new_name, error) ||
      !vault_open (&vault, self, error))
    return FALSE;

  from_fd = open_parent (&vault, name, FALSE, &from_leaf);
  if (from_fd < 0 || fstatat (from_fd, from_leaf, &st, AT_SYMLINK_NOFOLLOW) != 0)
    {
      if (errno_is_missing (errno))
        return set_not_found (error, &vault, name);
      return set_io_error (error, errno, "Cannot move %s in the vault at %s", name, vault.root);
    }
  if (S_ISDIR (st.st_mode))
    return set_not_found (error, &vault, name);
  to_fd = open_parent (&vault, new_name, TRUE, &to_leaf);
  if (to_fd < 0)
    return set_io_error (error, errno, "Cannot move %s to %s in the vault at %s", name, new_name,
                         vault.root);

  tmp_fd = open_tmp_folder (&vault, error);
  if (tmp_fd < 0)
    return FALSE;
  lock_fd = vault_lock (&vault, tmp_fd, error);
  if (lock_fd < 0)
    return FALSE;
  /* No rename over an object: link, then unlink (a fifo links too). */
  result = linkat (from_fd, from_leaf, to_fd, to_leaf, 0);
  saved_errno = errno;
  if (result != 0 && link_is_unsupported (saved_errno))
    {
      result = faccessat (to_fd, to_leaf, F_OK, AT_SYMLINK_NOFOLLOW) == 0 ? -1 : 0;
      saved_errno = EEXIST;
      if (result == 0)
        {
          result = renameat (from_fd, from_leaf, to_fd, to_leaf);
          saved_errno = errno;
        }
    }
  else if (result == 0 && unlinkat (from_fd, from_leaf, 0) != 0)
    {
      result = -1;
      saved_errno = errno;
    }
  vault_unlock (lock_fd);

  if (result != 0 && saved_errno == EEXIST)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_EXISTS, "%s exists already in the vault at %s",
                   new_name, vault.root);
      return FALSE;
    }
  if (result != 0)
    return set_io_error (error, saved_errno, "Cannot move %s to %s in the vault at %s", name,
                         new_name, vault.root);
  return sync_folder (&vault, to_fd, error) && sync_folder (&vault, from_fd, error);
}

static int
compare_entries (gconstpointer a, gconstpointer b)
{
  const CofferStoreEntry *entry_a = *(CofferStoreEntry *const *) a;
  const CofferStoreEntry *entry_b = *(CofferStoreEntry *const *) b;

  return strcmp (entry_a->name, entry_b->name);
}

/* Adds the objects in the folder @fd (which it closes) whose file names start
 * with @leaf_prefix, and everything below its sub-folders of such names, to
 * @entries. @path is the folder's name in the vault, "" or ending in '/'. */
static gboolean
list_folder (Vault *vault,
             int fd,
             const char *path,
             const char *leaf_prefix,
             GPtrArray *entries,
             GCancellable *cancellable,
             GError **error)
{
  /* The top folder's path is "". */
  const char *shown = path[0] != '\0' ? path : "/";
  DIR *dir = NULL;
  gboolean ok = TRUE;

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    {
      close_fd (fd);
      return FALSE;
    }
  dir = fdopendir (fd);
  if (dir == NULL)
    {
      set_io_error (error, errno, "Cannot list %s in the vault at %s", shown, vault->root);
      close_fd (fd);
      return FALSE;
    }

  while (ok)
    {
      g_autofree char *name = NULL;
      struct dirent *dirent;
      struct stat st;

      errno = 0;
      dirent = readdir (dir);
      if (dirent == NULL)
        {
          if (errno != 0)
            ok = set_io_error (error, errno, "Cannot list %s in the vault at %s", shown,
                               vault->root);
          break;
        }
      if (strcmp (dirent->d_name, ".") == 0 || strcmp (dirent->d_name, "..") == 0 ||
          !g_str_has_prefix (dirent->d_name, leaf_prefix))
        continue;
      /* Files being written, and the lock. */
      if (path[0] == '\0' && strcmp (dirent->d_name, TMP_FOLDER) == 0)
        continue;

      if (fstatat (dirfd (dir), dirent->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        {
          /* Deleted since readdir(): not there any more. */
          if (errno != ENOENT)
            ok = set_io_error (error, errno, "Cannot list %s%s in the vault at %s", path,
                               dirent->d_name, vault->root);
          continue;
        }

      name = g_strconcat (path, dirent->d_name, NULL);
      if (!coffer_store_name_is_valid (name))
        {
          /* Not written by a store: a get could not name it. */
          g_debug ("Not listing %s in the vault at %s: not an object name", name, vault->root);
          continue;
        }

      if (S_ISREG (st.st_mode))
        g_ptr_array_add (entries, entry_from_stat (name, &st));
      else if (S_ISDIR (st.st_mode))
        {
          g_autofree char *child_path = g_strconcat (name, "/", NULL);
          int child_fd =
              openat (dirfd (dir), dirent->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

          if (child_fd >= 0)
            ok = list_folder (vault, child_fd, child_path, "", entries, cancellable, error);
          else if (errno != ENOENT)
            ok = set_io_error (error, errno, "Cannot list %s in the vault at %s", child_path,
                               vault->root);
        }
      else if (!S_ISLNK (st.st_mode))
        /* A fifo, socket or device is no object Coffer wrote, but it is
         * listed, so that a check reports it (reading it fails at once)
         * and a repair moves it out of the way. Symbolic links are never
         * followed, and not there as far as the store is concerned. */
        g_ptr_array_add (entries, entry_from_stat (name, &st));
    }

  closedir (dir);
  return ok;
}

static GPtrArray *
coffer_local_store_list (CofferStore *store,
                         const char *prefix,
                         GCancellable *cancellable,
                         GError **error)
{
  CofferLocalStore *self = COFFER_LOCAL_STORE (store);
  g_auto (Vault) vault = { NULL, -1, 0, 0 };
  g_autoptr (GPtrArray) entries =
      g_ptr_array_new_with_free_func ((GDestroyNotify) coffer_store_entry_free);
  g_autofree char *path = NULL;
  const char *leaf;
  int fd;

  if (!vault_open (&vault, self, error))
    return NULL;
  if (g_str_has_prefix (prefix, TMP_FOLDER "/"))
    return g_steal_pointer (&entries);

  fd = open_parent (&vault, prefix, FALSE, &leaf);
  if (fd < 0 && errno_is_missing (errno))
    return g_steal_pointer (&entries);
  if (fd < 0)
    {
      set_io_error (error, errno, "Cannot list %s in the vault at %s", prefix, vault.root);
      return NULL;
    }
  path = g_strndup (prefix, leaf - prefix);

  if (!list_folder (&vault, fd, path, leaf, entries, cancellable, error))
    return NULL;

  g_ptr_array_sort (entries, compare_entries);
  return g_steal_pointer (&entries);
}

static char *
coffer_local_store_describe (CofferStore *store)
{
  return g_strdup (COFFER_LOCAL_STORE (store)->root);
}

static void
coffer_local_store_store_iface_init (CofferStoreInterface *iface)
{
  iface->describe = coffer_local_store_describe;
  iface->put = coffer_local_store_put;
  iface->get = coffer_local_store_get;
  iface->list = coffer_local_store_list;
  iface->stat = coffer_local_store_stat;
  iface->delete = coffer_local_store_delete;
  iface->move = coffer_local_store_move;
}

static void
coffer_local_store_finalize (GObject *object)
{
  CofferLocalStore *self = COFFER_LOCAL_STORE (object);

  g_clear_pointer (&self->root, g_free);
  g_mutex_clear (&self->pin_lock);

  G_OBJECT_CLASS (coffer_local_store_parent_class)->finalize (object);
}

static void
coffer_local_store_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  CofferLocalStore *self = COFFER_LOCAL_STORE (object);

  switch (prop_id)
    {
      case PROP_ROOT:
        g_value_set_string (value, self->root);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
coffer_local_store_set_property (GObject *object,
                                 guint prop_id,
                                 const GValue *value,
                                 GParamSpec *pspec)
{
  CofferLocalStore *self = COFFER_LOCAL_STORE (object);
  const char *root;

  switch (prop_id)
    {
      case PROP_ROOT:
        /* Absolute, so that messages name the folder wherever they are shown;
         * this does not touch the disk. */
        root = g_value_get_string (value);
        g_free (self->root);
        self->root = root != NULL ? g_canonicalize_filename (root, NULL) : NULL;
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
coffer_local_store_class_init (CofferLocalStoreClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = coffer_local_store_finalize;
  object_class->get_property = coffer_local_store_get_property;
  object_class->set_property = coffer_local_store_set_property;

  /**
   * CofferLocalStore:root:
   *
   * The vault's folder. The store never creates it.
   */
  properties[PROP_ROOT] =
      g_param_spec_string ("root", NULL, NULL, NULL,
                           G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
coffer_local_store_init (CofferLocalStore *self)
{
  self->create_method = COFFER_LOCAL_STORE_CREATE_LINK;
  g_mutex_init (&self->pin_lock);
}

/**
 * coffer_local_store_new:
 * @root: the vault's folder
 *
 * Makes a store for the vault in @root. Nothing on disk is touched: the
 * operations report a missing @root as %COFFER_ERROR_VAULT_UNREACHABLE.
 *
 * Returns: (transfer full): a new store
 */
CofferStore *
coffer_local_store_new (const char *root)
{
  g_return_val_if_fail (root != NULL && root[0] != '\0', NULL);

  return g_object_new (COFFER_TYPE_LOCAL_STORE, "root", root, NULL);
}

/**
 * coffer_local_store_get_root:
 * @self: a local store
 *
 * Returns: the vault's folder, as an absolute path
 */
const char *
coffer_local_store_get_root (CofferLocalStore *self)
{
  g_return_val_if_fail (COFFER_IS_LOCAL_STORE (self), NULL);

  return self->root;
}

/* Starts put-if-absent at @method, as on a filesystem without the better
 * ones; for tests. */
void
coffer_local_store_set_create_method (CofferLocalStore *self, CofferLocalStoreCreate method)
{
  g_return_if_fail (COFFER_IS_LOCAL_STORE (self));
  g_return_if_fail (method <= COFFER_LOCAL_STORE_CREATE_LOCKED);

  g_atomic_int_set (&self->create_method, method);
}

CofferLocalStoreCreate
coffer_local_store_get_create_method (CofferLocalStore *self)
{
  g_return_val_if_fail (COFFER_IS_LOCAL_STORE (self), COFFER_LOCAL_STORE_CREATE_LINK);

  return g_atomic_int_get (&self->create_method);
}
