/* coffer-input.c: what the clients and the agent take from a user: the files
 * a user names, and names that are not UTF-8.
 *
 * Files. A passphrase, key, SAS, proxy password or credentials file that a
 * user names might be anything: a fifo no one writes to, /dev/zero, a folder,
 * a file of gigabytes. Each is opened with O_NONBLOCK (opening a fifo then
 * returns at once), fstat()ed, refused unless it is a regular file and no
 * bigger than the cap of its kind, and only then made blocking again and
 * read — at most one byte past the cap, in case it grows meanwhile. The agent
 * does the same checks on a descriptor a client passes it.
 *
 * Symlinks are followed: a user who names ~/passphrase.txt that links to a
 * file on a USB key means that file, and it is the user's own choice of
 * path. What the link leads to is checked as above, so a link to a fifo or
 * a device is refused like the fifo or the device. (Files Coffer opens in a
 * vault are opened with O_NOFOLLOW; those are not named by a user.)
 *
 * Names. File names are bytes; the D-Bus API and the catalog mostly speak
 * UTF-8. coffer_input_escape() shows a name that is not UTF-8 the way a
 * shell's $'…' quoting writes it, so that a user can read it and type it
 * back.
 *
 * Part of libcoffer-dbus: the console uses it too.
 */
#include "config.h"

#include "coffer-input.h"

#include "coffer-error.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* "64 KiB": the caps are round. */
static char *
format_cap (gsize max_size)
{
  if (max_size % (1024 * 1024) == 0)
    return g_strdup_printf ("%" G_GSIZE_FORMAT " MiB", max_size / (1024 * 1024));
  if (max_size % 1024 == 0)
    return g_strdup_printf ("%" G_GSIZE_FORMAT " KiB", max_size / 1024);
  return g_format_size_full (max_size, G_FORMAT_SIZE_IEC_UNITS);
}

/* Refuses what is not a regular file of at most @max_size bytes; @subject
 * names it in the message ("/dev/zero", "The vault credentials file"). */
static gboolean
check_stat (const struct stat *st, const char *subject, gsize max_size, GError **error)
{
  const char *kind = NULL;

  if (S_ISFIFO (st->st_mode))
    kind = _ ("a named pipe (fifo)");
  else if (S_ISCHR (st->st_mode))
    kind = _ ("a character device");
  else if (S_ISBLK (st->st_mode))
    kind = _ ("a block device");
  else if (S_ISDIR (st->st_mode))
    kind = _ ("a folder");
  else if (S_ISSOCK (st->st_mode))
    kind = _ ("a socket");
  if (kind != NULL)
    {
      /* Translators: "/dev/zero is a character device, not a regular file." */
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   _ ("%s is %s, not a regular file."), subject, kind);
      return FALSE;
    }
  if (!S_ISREG (st->st_mode))
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   _ ("%s is not a regular file."), subject);
      return FALSE;
    }
  if ((guint64) st->st_size > max_size)
    {
      g_autofree char *cap = format_cap (max_size);
      g_autofree char *size = g_format_size_full (st->st_size, G_FORMAT_SIZE_IEC_UNITS);

      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   _ ("%s is too large (%s): a file of this kind holds at most %s."), subject, size,
                   cap);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_fd (int fd, const char *subject, gsize max_size, GError **error)
{
  struct stat st;

  if (fstat (fd, &st) != 0)
    {
      int saved_errno = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), _ ("Cannot read %s: %s"),
                   subject, g_strerror (saved_errno));
      return FALSE;
    }
  return check_stat (&st, subject, max_size, error);
}

/* Reads @fd to its end, at most @max_size bytes; the buffer has a NUL
 * after them. A failed read wipes what it had read. */
static char *
read_fd (int fd, const char *subject, gsize max_size, gsize *out_length, GError **error)
{
  char *buffer = g_malloc (max_size + 2);
  gsize length = 0;

  while (length <= max_size)
    {
      ssize_t n = read (fd, buffer + length, max_size + 1 - length);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved_errno = errno;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                       _ ("Cannot read %s: %s"), subject, g_strerror (saved_errno));
          goto failed;
        }
      if (n == 0)
        break;
      length += n;
    }
  if (length > max_size)
    {
      g_autofree char *cap = format_cap (max_size);

      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   _ ("%s is too large: a file of this kind holds at most %s."), subject, cap);
      goto failed;
    }
  buffer[length] = '\0';
  *out_length = length;
  return buffer;

failed:
  explicit_bzero (buffer, max_size + 2);
  g_free (buffer);
  return NULL;
}

/**
 * coffer_input_file_open:
 * @path: a file a user named
 * @max_size: the most it may hold, such as %COFFER_INPUT_SECRET_MAX_SIZE
 * @error: return location for a #GError
 *
 * Opens @path for reading without ever blocking on it: a fifo, a device, a
 * folder or a socket is refused with %COFFER_ERROR_INVALID_ARGUMENT ("PATH is
 * a named pipe (fifo), not a regular file."), and so is a file bigger than
 * @max_size. Symlinks are followed (see the file's comment).
 *
 * Returns: a blocking, close-on-exec descriptor of a regular file, or -1 with
 *   @error set
 */
int
coffer_input_file_open (const char *path, gsize max_size, GError **error)
{
  g_autofree char *display = NULL;
  int fd, flags;

  g_return_val_if_fail (path != NULL, -1);

  display = coffer_input_escape (path, -1);
  fd = open (path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0)
    {
      int saved_errno = errno;
      /* Translators: a file that cannot be opened, and why. */
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), _ ("%s: %s"), display,
                   g_strerror (saved_errno));
      return -1;
    }
  if (!check_fd (fd, display, max_size, error))
    {
      close (fd);
      return -1;
    }
  flags = fcntl (fd, F_GETFL);
  if (flags < 0 || fcntl (fd, F_SETFL, flags & ~O_NONBLOCK) != 0)
    {
      int saved_errno = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), _ ("Cannot read %s: %s"),
                   display, g_strerror (saved_errno));
      close (fd);
      return -1;
    }
  return fd;
}

/**
 * coffer_input_file_read:
 * @path: a file a user named
 * @max_size: the most it may hold
 * @out_length: (out): how many bytes it held
 * @error: return location for a #GError
 *
 * Reads the whole of @path, checked as coffer_input_file_open() does.
 *
 * Returns: (transfer full): the bytes, followed by a NUL (they may hold NUL
 *   bytes of their own); wipe a secret with explicit_bzero() before g_free()
 */
char *
coffer_input_file_read (const char *path, gsize max_size, gsize *out_length, GError **error)
{
  g_autofree char *display = NULL;
  char *contents;
  int fd;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (out_length != NULL, NULL);

  fd = coffer_input_file_open (path, max_size, error);
  if (fd < 0)
    return NULL;
  display = coffer_input_escape (path, -1);
  contents = read_fd (fd, display, max_size, out_length, error);
  close (fd);
  return contents;
}

/**
 * coffer_input_fd_check:
 * @fd: a descriptor a client passed
 * @what: how to name it in a message, such as "The vault credentials file"
 * @max_size: the most it may hold
 * @error: return location for a #GError
 *
 * Refuses a descriptor that is not a regular file of at most @max_size bytes.
 *
 * Returns: whether @fd may be read
 */
gboolean
coffer_input_fd_check (int fd, const char *what, gsize max_size, GError **error)
{
  g_return_val_if_fail (fd >= 0, FALSE);
  g_return_val_if_fail (what != NULL, FALSE);

  return check_fd (fd, what, max_size, error);
}

/**
 * coffer_input_fd_read:
 * @fd: a descriptor a client passed
 * @what: how to name it in a message
 * @max_size: the most it may hold
 * @error: return location for a #GError
 *
 * Checks @fd as coffer_input_fd_check() does and reads it to its end (from
 * where it is), at most @max_size bytes. A descriptor left non-blocking by
 * the client is made blocking first.
 *
 * Returns: (transfer full): its bytes
 */
GBytes *
coffer_input_fd_read (int fd, const char *what, gsize max_size, GError **error)
{
  gsize length = 0;
  char *contents;
  int flags;

  if (!coffer_input_fd_check (fd, what, max_size, error))
    return NULL;
  flags = fcntl (fd, F_GETFL);
  if (flags >= 0 && (flags & O_NONBLOCK) != 0)
    fcntl (fd, F_SETFL, flags & ~O_NONBLOCK);
  contents = read_fd (fd, what, max_size, &length, error);
  if (contents == NULL)
    return NULL;
  return g_bytes_new_take (contents, length);
}

/**
 * coffer_input_escape:
 * @name: a file name or path: bytes, not necessarily UTF-8
 * @length: its length, or -1 when it ends with a NUL
 *
 * A name for messages and listings. UTF-8 is returned as it is; otherwise
 * each byte that is not part of a UTF-8 character is written `\xHH` and each
 * backslash `\\`, as a shell's $'…' quoting writes them, so the name can be
 * read and typed back.
 *
 * Returns: (transfer full): valid UTF-8
 */
char *
coffer_input_escape (const char *name, gssize length)
{
  const char *end;
  const char *p;
  GString *out;

  g_return_val_if_fail (name != NULL, NULL);

  if (length < 0)
    length = strlen (name);
  if (g_utf8_validate_len (name, length, NULL))
    return g_strndup (name, length);

  out = g_string_sized_new (length + 16);
  end = name + length;
  for (p = name; p < end;)
    {
      const char *valid_end = p;

      g_utf8_validate_len (p, end - p, &valid_end);
      for (; p < valid_end; p++)
        if (*p == '\\')
          g_string_append (out, "\\\\");
        else
          g_string_append_c (out, *p);
      if (p < end)
        {
          g_string_append_printf (out, "\\x%02x", (guchar) *p);
          p++;
        }
    }
  return g_string_free (out, FALSE);
}
