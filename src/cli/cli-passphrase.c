/* cli-passphrase.c: reading, generating and saving the encryption passphrase.
 *
 * The passphrase never appears in argv: it comes from a file (its first line,
 * without the newline) or is generated here. A saved passphrase file is 0600
 * from the moment it exists.
 */
#include "config.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <openssl/crypto.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "cli-commands.h"

/**
 * cli_read_passphrase_file:
 * @path: a file whose first line is the passphrase
 * @error: return location for a #GError
 *
 * Reads @path as coffer_input_file_read() does (a regular file of at most
 * %COFFER_INPUT_SECRET_MAX_SIZE bytes: a fifo or a device is refused, never
 * waited on). A NUL byte in the first line is refused, not taken as its end.
 *
 * Returns: (transfer full): the passphrase; free with coffer_passphrase_free()
 */
char *
cli_read_passphrase_file (const char *path, GError **error)
{
  g_autofree char *shown = coffer_input_escape (path, -1);
  char *contents;
  char *passphrase = NULL;
  gsize length = 0;
  gsize line = 0;

  contents = coffer_input_file_read (path, COFFER_INPUT_SECRET_MAX_SIZE, &length, error);
  if (contents == NULL)
    {
      g_prefix_error (error, _ ("Cannot read the passphrase file: "));
      return NULL;
    }
  while (line < length && contents[line] != '\n' && contents[line] != '\r')
    line++;
  if (memchr (contents, '\0', line) != NULL)
    g_set_error (error, COFFER_ERROR, COFFER_ERROR_WEAK_PASSPHRASE,
                 _ ("The passphrase file %s holds a NUL byte in its first line: a passphrase has "
                    "16–1,024 printable ASCII characters."),
                 shown);
  else
    passphrase = g_strndup (contents, line);
  OPENSSL_cleanse (contents, length);
  g_free (contents);
  return passphrase;
}

/* Whether the block device @dev, or the disk it is a partition of, says it
 * is removable. */
static gboolean
is_removable_device (dev_t dev)
{
  g_autofree char *device = g_strdup_printf ("/sys/dev/block/%u:%u", major (dev), minor (dev));
  g_autofree char *own = g_build_filename (device, "removable", NULL);
  g_autofree char *parent = g_build_filename (device, "..", "removable", NULL);
  g_autofree char *contents = NULL;

  return (g_file_get_contents (own, &contents, NULL, NULL) ||
          g_file_get_contents (parent, &contents, NULL, NULL)) &&
         contents[0] == '1';
}

/* Whether @dir is on this machine, so that losing the machine loses it too:
 * everything but network filesystems, removable drives and what is mounted
 * where drives are (/media, /run/media, /mnt). */
static gboolean
is_on_this_machine (const char *dir)
{
  g_autofree char *canonical = g_canonicalize_filename (dir, NULL);
  const char *external[] = { "/media/", "/run/media/", "/mnt/" };
  GStatBuf st;

  for (gsize i = 0; i < G_N_ELEMENTS (external); i++)
    if (g_str_has_prefix (canonical, external[i]))
      return FALSE;
  if (coffer_paths_is_on_network (canonical))
    return FALSE;
  return !(g_stat (canonical, &st) == 0 && is_removable_device (st.st_dev));
}

/**
 * cli_save_passphrase:
 * @dir: the folder to save to
 * @machine_name: the machine's name, for the file name
 * @passphrase: the passphrase
 * @error: return location for a #GError
 *
 * Writes `DIR/CofferPassphrase-MACHINE-YYYY-MM-DD.txt` (0600) and warns when
 * DIR is on this machine.
 *
 * Returns: (transfer full): the file's path
 */
char *
cli_save_passphrase (const char *dir,
                     const char *machine_name,
                     const char *passphrase,
                     GError **error)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *day = g_date_time_format (now, "%Y-%m-%d");
  g_autofree char *name = g_strdup_printf ("CofferPassphrase-%s-%s.txt", machine_name, day);
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree char *contents = g_strconcat (passphrase, "\n", NULL);
  gboolean ok;

  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND,
                   _ ("Cannot save the passphrase: %s is not a folder."), dir);
      return NULL;
    }
  ok = g_file_set_contents_full (path, contents, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
  OPENSSL_cleanse (contents, strlen (contents));
  if (!ok)
    {
      g_prefix_error (error, _ ("Cannot save the passphrase: "));
      return NULL;
    }

  if (is_on_this_machine (dir))
    g_printerr (_ ("Warning: the passphrase was saved on this machine (%s). If this machine's "
                   "disk is lost, the passphrase is lost with it, and the backups cannot be "
                   "recovered without it. Keep a copy somewhere else, such as a USB drive.\n"),
                path);
  return g_steal_pointer (&path);
}

/**
 * cli_get_passphrase:
 * @passphrase_file: (nullable): --passphrase-file
 * @generate: --generate-passphrase
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the passphrase the options name, checked against
 *   the passphrase rules
 */
char *
cli_get_passphrase (const char *passphrase_file, gboolean generate, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  char *passphrase;

  if ((passphrase_file != NULL) == generate)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   _ ("Give either --passphrase-file FILE or --generate-passphrase."));
      return NULL;
    }
  passphrase =
      generate ? coffer_passphrase_generate () : cli_read_passphrase_file (passphrase_file, error);
  if (passphrase != NULL && !coffer_passphrase_check (passphrase, &local_error))
    {
      coffer_passphrase_free (passphrase);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  return passphrase;
}

GVariant *
cli_passphrase_variant (const char *passphrase)
{
  return g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, passphrase, strlen (passphrase), 1);
}

void
cli_show_generated_passphrase (const char *passphrase)
{
  g_print (_ ("Your passphrase (keep it safe: without it the backups cannot be recovered, and "
              "nobody can recover it for you):\n  %s\n"),
           passphrase);
}
