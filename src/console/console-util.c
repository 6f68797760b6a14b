/* console-util.c: small helpers the console's pages and wizards share —
 * formatting sizes, rates and times, browsing for a folder or file, the
 * passphrase rule, where the coffer command is, the agent's errors as the
 * user reads them, half-hour time slots and weekdays.
 *
 * The passphrase rule is the agent's (16 to 1,024 printable ASCII
 * characters, coffer-keys.h); the console checks it as the user types so the
 * page can say what is missing or too much before anything is sent. The
 * agent checks it again.
 */
#include "config.h"

#include <glib/gi18n.h>
#include <gio/gunixmounts.h>
#include <string.h>
#include <sys/random.h>

#include "console-util.h"
#include "coffer-error.h"

/**
 * console_format_bytes:
 * @bytes: a size
 *
 * Returns: (transfer full): @bytes for a person, as "1.2 GB"
 */
char *
console_format_bytes (guint64 bytes)
{
  return g_format_size (bytes);
}

/**
 * console_format_rate:
 * @bytes_per_second: a rate
 *
 * Returns: (transfer full): the rate, as "12.5 MB/s"
 */
char *
console_format_rate (double bytes_per_second)
{
  g_autofree char *size = g_format_size ((guint64) MAX (bytes_per_second, 0));

  /* Translators: a transfer rate, as in "12.5 MB/s". */
  return g_strdup_printf (_ ("%s/s"), size);
}

/**
 * console_format_duration:
 * @seconds: a duration, or a negative number when it is not known
 *
 * Returns: (transfer full): the duration, as "1 h 05 min", "3 min 20 s",
 *   or "—" when not known
 */
char *
console_format_duration (gint64 seconds)
{
  if (seconds < 0)
    return g_strdup ("—");
  if (seconds >= 3600)
    /* Translators: hours and minutes, as in "1 h 05 min". */
    return g_strdup_printf (_ ("%" G_GINT64_FORMAT " h %02" G_GINT64_FORMAT " min"), seconds / 3600,
                            (seconds % 3600) / 60);
  if (seconds >= 60)
    /* Translators: minutes and seconds, as in "3 min 20 s". */
    return g_strdup_printf (_ ("%" G_GINT64_FORMAT " min %02" G_GINT64_FORMAT " s"), seconds / 60,
                            seconds % 60);
  /* Translators: seconds, as in "20 s". */
  return g_strdup_printf (_ ("%" G_GINT64_FORMAT " s"), seconds);
}

/**
 * console_format_time:
 * @unix_seconds: a time, or 0 for none
 *
 * Returns: (transfer full): the local date and time, as "2026-11-21 09:30",
 *   or "—" for 0
 */
char *
console_format_time (gint64 unix_seconds)
{
  g_autoptr (GDateTime) when = NULL;

  if (unix_seconds <= 0)
    return g_strdup ("—");
  when = g_date_time_new_from_unix_local (unix_seconds);
  if (when == NULL)
    return g_strdup ("—");
  /* Translators: a date and time in job lists; see strftime(3). */
  return g_date_time_format (when, _ ("%Y-%m-%d %H:%M"));
}

/**
 * console_job_kind_label:
 * @kind: a job kind as the agent names it ("backup", "recovery", …)
 *
 * Returns: the kind for a person
 */
const char *
console_job_kind_label (const char *kind)
{
  if (g_strcmp0 (kind, "backup") == 0)
    /* Translators: a kind of job. */
    return _ ("Backup");
  if (g_strcmp0 (kind, "recovery") == 0)
    return _ ("Recovery");
  if (g_strcmp0 (kind, "prune") == 0)
    /* Translators: a kind of job: removing recovery points past their retention. */
    return _ ("Prune");
  if (g_strcmp0 (kind, "check") == 0)
    /* Translators: a kind of job: verifying the backups. */
    return _ ("Check");
  if (g_strcmp0 (kind, "cache-move") == 0)
    return _ ("Cache move");
  return kind != NULL ? kind : "";
}

/**
 * console_job_files_done_label:
 * @kind: a job kind as the agent names it
 *
 * Returns: (nullable): what Job Details calls a job's "files-backed-up"
 *   ("Files backed up:", "Files recovered:"), or %NULL when the kind has no
 *   such count
 */
const char *
console_job_files_done_label (const char *kind)
{
  if (g_strcmp0 (kind, "backup") == 0)
    return _ ("Files backed up:");
  if (g_strcmp0 (kind, "recovery") == 0)
    return _ ("Files recovered:");
  return NULL;
}

/**
 * console_job_files_failed_label:
 * @kind: a job kind as the agent names it
 *
 * Returns: what Job Details calls a job's "files-failed"
 */
const char *
console_job_files_failed_label (const char *kind)
{
  if (g_strcmp0 (kind, "check") == 0)
    /* Translators: the count of damaged or missing objects a Check found. */
    return _ ("Damaged or missing:");
  return _ ("Files failed:");
}

/**
 * console_job_failed_heading:
 * @kind: a job kind as the agent names it
 * @total: how many failed items the job recorded (more than 0)
 *
 * Returns: (transfer full): the heading of a job's failed items, in the
 *   words of its kind: what was not backed up, not recovered, damaged
 */
char *
console_job_failed_heading (const char *kind, guint total)
{
  if (g_strcmp0 (kind, "backup") == 0)
    return g_strdup_printf (
        g_dngettext (GETTEXT_PACKAGE, "%u item not backed up:", "%u items not backed up:", total),
        total);
  if (g_strcmp0 (kind, "recovery") == 0)
    return g_strdup_printf (
        g_dngettext (GETTEXT_PACKAGE, "%u item not recovered:", "%u items not recovered:", total),
        total);
  if (g_strcmp0 (kind, "check") == 0)
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u damaged or missing object:",
                                         "%u damaged or missing objects:", total),
                            total);
  return g_strdup_printf (
      g_dngettext (GETTEXT_PACKAGE, "%u item failed:", "%u items failed:", total), total);
}

/**
 * console_job_status_label:
 * @status: a job status as the agent names it ("completed", "warnings", …)
 *
 * Returns: the status for a person, in the reference's words
 */
const char *
console_job_status_label (const char *status)
{
  if (g_strcmp0 (status, "queued") == 0)
    return _ ("Queued");
  if (g_strcmp0 (status, "running") == 0)
    return _ ("In progress");
  if (g_strcmp0 (status, "completed") == 0)
    return _ ("Completed");
  if (g_strcmp0 (status, "warnings") == 0)
    return _ ("Completed with warnings");
  if (g_strcmp0 (status, "failed") == 0)
    return _ ("Failed");
  if (g_strcmp0 (status, "cancelled") == 0)
    return _ ("Cancelled");
  return status != NULL ? status : "";
}

/**
 * console_job_status_icon:
 * @status: a job status as the agent names it
 *
 * Returns: a symbolic icon name for @status
 */
const char *
console_job_status_icon (const char *status)
{
  if (g_strcmp0 (status, "completed") == 0)
    return "emblem-ok-symbolic";
  if (g_strcmp0 (status, "warnings") == 0)
    return "dialog-warning-symbolic";
  if (g_strcmp0 (status, "failed") == 0)
    return "dialog-error-symbolic";
  if (g_strcmp0 (status, "cancelled") == 0)
    return "process-stop-symbolic";
  return "content-loading-symbolic";
}

/**
 * console_passphrase_is_ascii:
 * @passphrase: a passphrase
 *
 * Returns: whether every character of @passphrase is printable ASCII
 */
gboolean
console_passphrase_is_ascii (const char *passphrase)
{
  for (const char *p = passphrase; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || (guchar) *p > 0x7e)
      return FALSE;
  return TRUE;
}

/**
 * console_passphrase_missing:
 * @passphrase: a passphrase
 *
 * Returns: how many more characters @passphrase needs to meet the
 *   minimum length, 0 when it is long enough
 */
guint
console_passphrase_missing (const char *passphrase)
{
  glong length = g_utf8_strlen (passphrase, -1);

  return length >= CONSOLE_PASSPHRASE_MIN_LENGTH ? 0 : CONSOLE_PASSPHRASE_MIN_LENGTH - length;
}

/**
 * console_passphrase_excess:
 * @passphrase: a passphrase
 *
 * Returns: how many characters @passphrase has beyond the maximum length,
 *   0 when it is short enough
 */
guint
console_passphrase_excess (const char *passphrase)
{
  glong length = g_utf8_strlen (passphrase, -1);

  return length <= CONSOLE_PASSPHRASE_MAX_LENGTH ? 0 : length - CONSOLE_PASSPHRASE_MAX_LENGTH;
}

/**
 * console_passphrase_strength:
 * @passphrase: a passphrase
 *
 * A rough estimate for the strength bar: length times the variety of
 * character classes, not an entropy measure.
 *
 * Returns: 0 (weak) to 4 (strong)
 */
guint
console_passphrase_strength (const char *passphrase)
{
  gboolean lower = FALSE, upper = FALSE, digit = FALSE, other = FALSE;
  gsize length = strlen (passphrase);
  guint classes;
  gsize score;

  for (const char *p = passphrase; *p != '\0'; p++)
    {
      if (g_ascii_islower (*p))
        lower = TRUE;
      else if (g_ascii_isupper (*p))
        upper = TRUE;
      else if (g_ascii_isdigit (*p))
        digit = TRUE;
      else
        other = TRUE;
    }
  classes = lower + upper + digit + other;
  if (length < CONSOLE_PASSPHRASE_MIN_LENGTH)
    return length == 0 ? 0 : 1;
  score = length * classes;
  if (score >= 80)
    return 4;
  if (score >= 48)
    return 3;
  return 2;
}

static const char passphrase_alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ"
                                          "abcdefghijkmnpqrstuvwxyz"
                                          "23456789"
                                          "-_+=@%";

/**
 * console_passphrase_generate:
 *
 * Makes a passphrase of %CONSOLE_PASSPHRASE_GENERATED_LENGTH characters
 * drawn uniformly from the alphabet `coffer register --generate-passphrase`
 * uses, with the kernel's random numbers.
 *
 * Returns: (transfer full): the passphrase; clear it with
 *   console_passphrase_clear()
 */
char *
console_passphrase_generate (void)
{
  const guint alphabet_size = sizeof passphrase_alphabet - 1;
  const guint limit = 256 - 256 % alphabet_size;
  char *passphrase = g_malloc0 (CONSOLE_PASSPHRASE_GENERATED_LENGTH + 1);
  guint8 pool[64];
  gsize used = sizeof pool;
  gsize length = 0;

  while (length < CONSOLE_PASSPHRASE_GENERATED_LENGTH)
    {
      if (used == sizeof pool)
        {
          gsize got = 0;
          while (got < sizeof pool)
            {
              ssize_t n = getrandom (pool + got, sizeof pool - got, 0);
              if (n > 0)
                got += n;
            }
          used = 0;
        }
      /* Bytes at or above the largest multiple of the alphabet's size are
       * drawn again, so every character is equally likely. */
      if (pool[used] < limit)
        passphrase[length++] = passphrase_alphabet[pool[used] % alphabet_size];
      used++;
    }
  explicit_bzero (pool, sizeof pool);
  return passphrase;
}

/**
 * console_passphrase_clear:
 * @passphrase: (nullable): a passphrase
 *
 * Wipes and frees @passphrase.
 */
void
console_passphrase_clear (char *passphrase)
{
  if (passphrase == NULL)
    return;
  explicit_bzero (passphrase, strlen (passphrase));
  g_free (passphrase);
}

/**
 * console_folder_is_on_this_machine:
 * @folder: a folder
 *
 * Whether losing this machine loses @folder too: everything but network
 * filesystems, removable drives and what is mounted where drives are
 * (/media, /run/media, /mnt). The same rule as the CLI's warning.
 *
 * Returns: %TRUE when @folder is on this machine
 */
gboolean
console_folder_is_on_this_machine (const char *folder)
{
  static const char *const external[] = { "/media/", "/run/media/", "/mnt/" };
  static const char *const network[] = { "nfs",   "nfs4",       "cifs",  "smb3",        "smbfs",
                                         "sshfs", "fuse.sshfs", "davfs", "fuse.rclone", "9p" };
  g_autofree char *canonical = g_canonicalize_filename (folder, NULL);
  g_autoptr (GUnixMountEntry) mount = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (external); i++)
    if (g_str_has_prefix (canonical, external[i]))
      return FALSE;

  mount = g_unix_mount_for (canonical, NULL);
  if (mount != NULL)
    {
      const char *type = g_unix_mount_get_fs_type (mount);
      for (gsize i = 0; i < G_N_ELEMENTS (network); i++)
        if (g_strcmp0 (type, network[i]) == 0)
          return FALSE;
    }
  return TRUE;
}

/**
 * console_cli_path:
 *
 * Where the coffer command is: $COFFER_CLI when set (the tests run the one
 * just built), else the installed one.
 *
 * Returns: the path
 */
const char *
console_cli_path (void)
{
  const char *path = g_getenv ("COFFER_CLI");

  return path != NULL && *path != '\0' ? path : COFFER_CLI_INSTALLED;
}

static void
browse_response_cb (GtkNativeDialog *dialog, int response, gpointer user_data)
{
  GtkEntry *entry = user_data;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autofree char *path = gtk_file_chooser_get_filename (GTK_FILE_CHOOSER (dialog));
      if (path != NULL)
        gtk_entry_set_text (entry, path);
    }
  gtk_widget_grab_focus (GTK_WIDGET (entry));
  g_object_unref (entry);
  g_object_unref (dialog);
}

/**
 * console_browse:
 * @parent: a widget in the window the chooser belongs to
 * @entry: the entry the chosen path goes to (and starts from)
 * @action: open a file or select a folder
 * @title: the chooser's title
 * @filter: (nullable) (transfer none): a file filter
 *
 * Opens a file chooser; the path chosen replaces @entry's text.
 */
void
console_browse (GtkWidget *parent,
                GtkEntry *entry,
                GtkFileChooserAction action,
                const char *title,
                GtkFileFilter *filter)
{
  GtkWidget *toplevel = gtk_widget_get_toplevel (parent);
  GtkFileChooserNative *dialog;
  const char *current = gtk_entry_get_text (entry);

  dialog =
      gtk_file_chooser_native_new (title, GTK_IS_WINDOW (toplevel) ? GTK_WINDOW (toplevel) : NULL,
                                   action, _ ("_Select"), _ ("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  if (filter != NULL)
    gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), filter);
  if (*current != '\0' && g_path_is_absolute (current))
    {
      if (g_file_test (current, G_FILE_TEST_IS_DIR) &&
          action == GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER)
        gtk_file_chooser_set_filename (GTK_FILE_CHOOSER (dialog), current);
      else
        {
          g_autofree char *dir = g_path_get_dirname (current);
          gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (dialog), dir);
        }
    }
  g_signal_connect (dialog, "response", G_CALLBACK (browse_response_cb), g_object_ref (entry));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

/**
 * console_set_accessible_name:
 * @widget: a widget
 * @name: its accessible name
 *
 * Names @widget for screen readers and the AT-SPI tests.
 */
void
console_set_accessible_name (GtkWidget *widget, const char *name)
{
  atk_object_set_name (gtk_widget_get_accessible (widget), name);
}

/**
 * console_error_message:
 * @error: an error from a call to the agent
 *
 * Returns: (transfer full): the agent's message, as the CLI prints it; a
 * method the running agent does not have yet is said so plainly.
 */
char *
console_error_message (const GError *error)
{
  g_autoptr (GError) shown = coffer_error_from_dbus (error);

  if (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD))
    return g_strdup_printf (_ ("The Coffer agent running on this computer cannot do this yet (%s). "
                               "Update Coffer, then try again."),
                            shown->message);
  return g_strdup (shown->message);
}

/* Fills @combo with the 48 half-hour slots of a day, ids and texts "HH:MM". */
void
console_fill_time_combo (GtkComboBoxText *combo)
{
  for (guint slot = 0; slot < 48; slot++)
    {
      g_autofree char *text = g_strdup_printf ("%02u:%02u", slot / 2, slot % 2 * 30);

      gtk_combo_box_text_append (combo, text, text);
    }
}

/* Whether @text is "HH:MM" on a half-hour boundary. */
gboolean
console_is_time_slot (const char *text)
{
  guint hours, minutes;
  char end;

  if (text == NULL || strlen (text) != 5 || sscanf (text, "%2u:%2u%c", &hours, &minutes, &end) != 2)
    return FALSE;
  return hours < 24 && (minutes == 0 || minutes == 30);
}

static const struct
{
  const char *key;
  const char *short_name;
  const char *name;
} weekdays[] = {
  { "mon", N_ ("Mon"), N_ ("Monday") },    { "tue", N_ ("Tue"), N_ ("Tuesday") },
  { "wed", N_ ("Wed"), N_ ("Wednesday") }, { "thu", N_ ("Thu"), N_ ("Thursday") },
  { "fri", N_ ("Fri"), N_ ("Friday") },    { "sat", N_ ("Sat"), N_ ("Saturday") },
  { "sun", N_ ("Sun"), N_ ("Sunday") },
};

/* The agent's key for weekday @day (0 = Monday … 6 = Sunday). */
const char *
console_weekday_key (guint day)
{
  g_return_val_if_fail (day < 7, NULL);
  return weekdays[day].key;
}

const char *
console_weekday_short_name (guint day)
{
  g_return_val_if_fail (day < 7, NULL);
  return _ (weekdays[day].short_name);
}

const char *
console_weekday_name (guint day)
{
  g_return_val_if_fail (day < 7, NULL);
  return _ (weekdays[day].name);
}

static void
relabel_apply (GtkWidget *widget, gpointer user_data)
{
  const char *label = user_data;

  if (GTK_IS_BUTTON (widget) &&
      g_strcmp0 (gtk_button_get_label (GTK_BUTTON (widget)), g_dgettext ("gtk30", "_Apply")) == 0)
    gtk_button_set_label (GTK_BUTTON (widget), label);
  else if (GTK_IS_CONTAINER (widget))
    gtk_container_forall (GTK_CONTAINER (widget), relabel_apply, user_data);
}

/* Gives the Apply button of @assistant's confirmation page another label,
 * such as the reference's "Recover". GtkAssistant does not let one name it,
 * so this looks for it among the assistant's own children. */
void
console_assistant_set_apply_label (GtkAssistant *assistant, const char *label)
{
  gtk_container_forall (GTK_CONTAINER (assistant), relabel_apply, (gpointer) label);
}

/**
 * console_job_progress_percent:
 * @progress: a job's Progress dictionary
 *
 * How far a running job is: what is done (for a backup, scanned and in the
 * vault) out of what is expected, or from the rate and the time left when
 * the agent gives no total.
 *
 * Returns: 0–100, or -1 when not known
 */
int
console_job_progress_percent (GVariant *progress)
{
  guint64 done = 0, expected = 0;
  double rate = 0;
  gint64 eta = -1;

  if (!g_variant_lookup (progress, "bytes-done", "t", &done))
    g_variant_lookup (progress, "bytes-scanned", "t", &done);
  g_variant_lookup (progress, "bytes-expected", "t", &expected);
  g_variant_lookup (progress, "rate", "d", &rate);
  g_variant_lookup (progress, "eta", "x", &eta);
  if (expected > 0)
    return (int) (100.0 * MIN (done, expected) / expected);
  if (eta >= 0 && rate > 0)
    return (int) (100.0 * done / MAX (done + eta * rate, 1.0));
  return -1;
}
