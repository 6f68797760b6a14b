/* console-check-dialog.c: Check Backups and Repair Backups — a dialog that
 * says what the job does, starts it (StartCheck, with "read-data" or
 * "repair"), follows its progress and shows its result.
 *
 * A check reads this server's backups in the vault and changes nothing; it
 * ends "completed" (no damage) or "failed" (damage, named in the job's
 * failed items), and then offers Repair…, which asks again before it
 * starts. A repair ends "warnings" (repaired: the failed items are its
 * report) or "failed" (something remains). Whether a failed job found
 * damage or could not run at all is told by its "files-failed" count.
 * Details opens Job Details on the job. A refusal from the agent (another
 * job running, not registered) stays on the first page, in its words.
 *
 * Closing the dialog leaves the job running; Stop cancels it.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "console-check-dialog.h"
#include "console-job-dialog.h"
#include "console-util.h"
#include "coffer-error.h"

enum
{
  RESPONSE_DETAILS = 1,
  RESPONSE_STOP = 2,
  RESPONSE_REPAIR = 3,
  RESPONSE_START = 4,
};

typedef enum
{
  STATE_INTRO,    /* saying what the job does */
  STATE_STARTING, /* StartCheck in flight */
  STATE_RUNNING,
  STATE_ENDED,
} State;

struct _ConsoleCheckDialog
{
  GtkDialog parent_instance;

  GtkStack *stack;
  GtkWidget *intro_page;
  GtkImage *intro_image;
  GtkLabel *heading_label;
  GtkLabel *intro_label;
  GtkWidget *read_data_box;
  GtkToggleButton *read_data_check;
  GtkLabel *start_error_label;
  GtkWidget *progress_page;
  GtkLabel *phase_label;
  GtkProgressBar *progress_bar;
  GtkWidget *data_box;
  GtkLabel *data_label;
  GtkWidget *result_box;
  GtkImage *result_image;
  GtkLabel *result_label;
  GtkLabel *message_label;
  GtkLabel *hint_label;
  GtkWidget *running_note;
  GtkWidget *details_button;
  GtkWidget *stop_button;
  GtkWidget *repair_button;
  GtkWidget *start_button;
  GtkWidget *close_button;

  CofferDBusAgent *agent;
  ConsoleJobMonitor *monitor;
  GCancellable *cancellable; /* cancelled when the dialog goes */
  gboolean repair;           /* Repair Backups, not Check Backups */
  State state;
  guint64 job_id; /* 0 until the agent has started the job */
  gboolean damage_found;
  guint64 bytes_read;    /* the most the job's figures said */
  char *finished_status; /* from the Finished signal, until GetJob answers */
  char *finished_message;
  guint pulse_source;
};

G_DEFINE_FINAL_TYPE (ConsoleCheckDialog, console_check_dialog, GTK_TYPE_DIALOG)

static void
set_message (GtkLabel *label, const char *message)
{
  gtk_label_set_text (label, message != NULL ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (label), message != NULL && *message != '\0');
}

static void
update_buttons (ConsoleCheckDialog *self)
{
  gtk_widget_set_visible (self->start_button, self->state == STATE_INTRO);
  gtk_widget_set_visible (self->stop_button, self->state == STATE_RUNNING);
  gtk_widget_set_sensitive (self->stop_button, TRUE);
  gtk_widget_set_visible (self->details_button, self->job_id != 0);
  gtk_widget_set_visible (self->repair_button,
                          self->state == STATE_ENDED && !self->repair && self->damage_found);
  gtk_widget_set_visible (self->running_note, self->state != STATE_ENDED);
  /* Before the job starts, closing gives it up. */
  gtk_button_set_label (GTK_BUTTON (self->close_button),
                        self->state == STATE_INTRO ? _ ("_Cancel") : _ ("_Close"));
  if (self->state == STATE_INTRO)
    gtk_widget_grab_default (self->start_button);
}

/* Shows @page, the window no taller than it needs: pages differ in height,
 * and a window keeps the size it once grew to. */
static void
show_page (ConsoleCheckDialog *self, GtkWidget *page)
{
  int width = 0;

  gtk_stack_set_visible_child (self->stack, page);
  gtk_window_get_size (GTK_WINDOW (self), &width, NULL);
  gtk_window_resize (GTK_WINDOW (self), MAX (width, 1), 1);
}

/* Check Backups or Repair Backups: the title and the first page's words. */
static void
set_mode (ConsoleCheckDialog *self, gboolean repair)
{
  self->repair = repair;
  if (!repair)
    {
      gtk_window_set_title (GTK_WINDOW (self), _ ("Check Backups"));
      gtk_label_set_text (self->heading_label, _ ("Check this server's backups"));
      gtk_label_set_text (
          self->intro_label,
          _ ("A check reads every recovery point, folder, index file and pack this server has in "
             "the vault, and compares the recovery points with those this computer recorded. It "
             "changes nothing. When it finds damage, it names each damaged object and the files "
             "that need it, and Repair… can mend it."));
      gtk_image_set_from_icon_name (self->intro_image, "system-search-symbolic",
                                    GTK_ICON_SIZE_DIALOG);
      gtk_button_set_label (GTK_BUTTON (self->start_button), _ ("_Start"));
    }
  else
    {
      gtk_window_set_title (GTK_WINDOW (self), _ ("Repair Backups"));
      gtk_label_set_text (self->heading_label, _ ("Repair this server's backups?"));
      gtk_label_set_text (
          self->intro_label,
          _ ("A repair reads every byte of this server's backups, then rebuilds the index from "
             "the packs, moves damaged objects into the vault's damaged/ folder (nothing is "
             "deleted), writes again what this server can regenerate, and rewrites recovery "
             "points without the files whose data is lost. Job Details lists what it did. It can "
             "take a while, and no backup runs until it ends."));
      gtk_image_set_from_icon_name (self->intro_image, "applications-engineering-symbolic",
                                    GTK_ICON_SIZE_DIALOG);
      /* Translators: the button that starts a repair. */
      gtk_button_set_label (GTK_BUTTON (self->start_button), _ ("_Repair"));
    }
  gtk_widget_set_visible (self->read_data_box, !repair);
}

static gboolean
pulse_cb (gpointer user_data)
{
  ConsoleCheckDialog *self = user_data;

  gtk_progress_bar_pulse (self->progress_bar);
  return G_SOURCE_CONTINUE;
}

static void
set_pulsing (ConsoleCheckDialog *self, gboolean pulsing)
{
  if (pulsing && self->pulse_source == 0)
    self->pulse_source = g_timeout_add (150, pulse_cb, self);
  else if (!pulsing && self->pulse_source != 0)
    g_clear_handle_id (&self->pulse_source, g_source_remove);
}

/* The first page again, with @error (the agent's refusal) on it. */
static void
show_intro (ConsoleCheckDialog *self, const char *error)
{
  set_pulsing (self, FALSE);
  self->state = STATE_INTRO;
  self->job_id = 0;
  self->damage_found = FALSE;
  set_message (self->start_error_label, error);
  show_page (self, self->intro_page);
  update_buttons (self);
}

static void
show_progress (ConsoleCheckDialog *self, GVariant *progress)
{
  const char *phase = NULL;
  guint64 scanned = 0;
  int percent = console_job_progress_percent (progress);

  g_variant_lookup (progress, "phase", "&s", &phase);
  g_variant_lookup (progress, "bytes-scanned", "t", &scanned);
  if (phase != NULL && *phase != '\0')
    gtk_label_set_text (self->phase_label, phase);
  /* Only the packs read count, and the job's record may not keep them: the
   * most seen stays, and nothing is said until something is read. */
  if (scanned > self->bytes_read)
    {
      g_autofree char *scanned_text = console_format_bytes (scanned);

      self->bytes_read = scanned;
      gtk_label_set_text (self->data_label, scanned_text);
      gtk_widget_show (self->data_box);
    }

  /* A check has no total so far: the bar pulses until it has one. */
  if (percent >= 0)
    {
      g_autofree char *percent_text = g_strdup_printf ("%d %%", percent);
      set_pulsing (self, FALSE);
      gtk_progress_bar_set_fraction (self->progress_bar, percent / 100.0);
      gtk_progress_bar_set_text (self->progress_bar, percent_text);
      gtk_progress_bar_set_show_text (self->progress_bar, TRUE);
    }
  else
    {
      gtk_progress_bar_set_show_text (self->progress_bar, FALSE);
      set_pulsing (self, TRUE);
    }
}

/* What a job that ended with @status says first, and what to do next. */
static void
result_words (ConsoleCheckDialog *self,
              const char *status,
              guint64 files_failed,
              const char **result,
              const char **hint)
{
  gboolean failed = g_strcmp0 (status, "failed") == 0;

  *hint = NULL;
  self->damage_found = failed && files_failed > 0;
  if (g_strcmp0 (status, "cancelled") == 0)
    *result = self->repair ? _ ("The repair was stopped.") : _ ("The check was stopped.");
  else if (!self->repair && g_strcmp0 (status, "completed") == 0)
    *result = _ ("No damage was found.");
  else if (!self->repair && self->damage_found)
    {
      *result = _ ("The check found damage.");
      *hint = _ ("Details lists each damaged or missing object and the files that need it. "
                 "Repair… sets the damage aside and deletes nothing.");
    }
  else if (self->repair && g_strcmp0 (status, "completed") == 0)
    *result = _ ("Nothing needed repairing: no damage was found.");
  else if (self->repair && g_strcmp0 (status, "warnings") == 0)
    {
      *result = _ ("The backups were repaired.");
      *hint = _ ("Details lists what was moved, rebuilt and rewritten.");
    }
  else if (self->repair && self->damage_found)
    {
      *result = _ ("Some damage could not be repaired.");
      *hint = _ ("Details lists what was done and what remains.");
    }
  else
    *result =
        self->repair ? _ ("The repair could not be done.") : _ ("The check could not be done.");
}

static void
show_result (ConsoleCheckDialog *self,
             const char *status,
             const char *message,
             guint64 files_failed)
{
  const char *result = NULL;
  const char *hint = NULL;

  self->state = STATE_ENDED;
  set_pulsing (self, FALSE);
  result_words (self, status, files_failed, &result, &hint);
  gtk_label_set_text (self->phase_label, console_job_status_label (status));
  gtk_progress_bar_set_fraction (self->progress_bar, 1.0);
  gtk_progress_bar_set_show_text (self->progress_bar, FALSE);
  gtk_image_set_from_icon_name (self->result_image, console_job_status_icon (status),
                                GTK_ICON_SIZE_DND);
  gtk_label_set_text (self->result_label, result);
  set_message (self->message_label, message);
  set_message (self->hint_label, hint);
  gtk_widget_show (self->result_box);
  update_buttons (self);
  if (self->damage_found && !self->repair)
    gtk_widget_grab_focus (self->repair_button);
  else
    gtk_widget_grab_focus (self->close_button);
}

/* The job's record, once it has ended: its status, message and how many
 * failed items it has (damage, or a failure to run at all). */
static void
get_job_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ConsoleCheckDialog *self;
  g_autoptr (GVariant) job = NULL;
  g_autoptr (GError) error = NULL;
  const char *status = NULL;
  const char *message = "";
  guint64 files_failed = 0;
  guint64 id = 0;

  if (!coffer_dbus_agent_call_get_job_finish (COFFER_DBUS_AGENT (source), &job, result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      self = user_data;
      g_debug ("GetJob: %s", error->message);
      /* The signal's words, without knowing whether it found damage. */
      if (self->finished_status != NULL && self->state == STATE_RUNNING)
        show_result (self, self->finished_status, self->finished_message, 0);
      return;
    }
  self = user_data;
  g_variant_lookup (job, "id", "t", &id);
  g_variant_lookup (job, "status", "&s", &status);
  g_variant_lookup (job, "message", "&s", &message);
  g_variant_lookup (job, "files-failed", "t", &files_failed);
  if (status == NULL || g_str_equal (status, "running") || g_str_equal (status, "queued"))
    return;
  /* An answer about the job before a Repair… started another. */
  if (self->state != STATE_RUNNING || id != self->job_id)
    return;
  show_progress (self, job);
  show_result (self, status, message, files_failed);
}

static void
fetch_job (ConsoleCheckDialog *self)
{
  coffer_dbus_agent_call_get_job (self->agent, self->job_id, G_DBUS_CALL_FLAGS_NONE, -1,
                                  self->cancellable, get_job_cb, self);
}

static void
monitor_progress_cb (ConsoleCheckDialog *self, guint64 id, GVariant *progress)
{
  if (id != 0 && id == self->job_id && self->state == STATE_RUNNING)
    show_progress (self, progress);
}

static void
monitor_finished_cb (ConsoleCheckDialog *self, guint64 id, const char *status, const char *message)
{
  if (id == 0 || id != self->job_id || self->state != STATE_RUNNING)
    return;
  g_free (self->finished_status);
  g_free (self->finished_message);
  self->finished_status = g_strdup (status);
  self->finished_message = g_strdup (message);
  fetch_job (self);
}

static void
start_check_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ConsoleCheckDialog *self;
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;
  g_autofree char *title = NULL;
  guint64 id = 0;

  if (!coffer_dbus_agent_call_start_check_finish (COFFER_DBUS_AGENT (source), &path, &id, result,
                                                  &error))
    {
      g_autofree char *message = NULL;
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      self = user_data;
      message = console_error_message (error);
      show_intro (self, message);
      return;
    }

  self = user_data;
  self->job_id = id;
  self->state = STATE_RUNNING;
  /* Translators: %s is a kind of job ("Check"), %llu its number. */
  title = g_strdup_printf (_ ("%s job %llu"), console_job_kind_label ("check"),
                           (unsigned long long) id);
  atk_object_set_description (gtk_widget_get_accessible (self->progress_page), title);
  gtk_label_set_text (self->phase_label, _ ("Initializing"));
  update_buttons (self);
  /* It may have ended before its signals were followed. */
  fetch_job (self);
}

static void
start (ConsoleCheckDialog *self)
{
  GVariantBuilder options;

  self->state = STATE_STARTING;
  self->job_id = 0;
  self->damage_found = FALSE;
  g_clear_pointer (&self->finished_status, g_free);
  g_clear_pointer (&self->finished_message, g_free);
  set_message (self->start_error_label, NULL);
  gtk_widget_hide (self->result_box);
  gtk_label_set_text (self->phase_label,
                      self->repair ? _ ("Starting the repair…") : _ ("Starting the check…"));
  self->bytes_read = 0;
  gtk_widget_hide (self->data_box);
  gtk_progress_bar_set_fraction (self->progress_bar, 0);
  gtk_progress_bar_set_show_text (self->progress_bar, FALSE);
  set_pulsing (self, TRUE);
  show_page (self, self->progress_page);
  update_buttons (self);
  gtk_widget_grab_focus (self->close_button);

  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  if (self->repair)
    g_variant_builder_add (&options, "{sv}", "repair", g_variant_new_boolean (TRUE));
  else
    g_variant_builder_add (
        &options, "{sv}", "read-data",
        g_variant_new_boolean (gtk_toggle_button_get_active (self->read_data_check)));
  coffer_dbus_agent_call_start_check (self->agent, g_variant_builder_end (&options),
                                      G_DBUS_CALL_FLAGS_NONE, -1, self->cancellable, start_check_cb,
                                      self);
}

static void
cancel_job_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ConsoleCheckDialog *self;
  g_autoptr (GError) error = NULL;
  g_autofree char *message = NULL;

  if (coffer_dbus_agent_call_cancel_job_finish (COFFER_DBUS_AGENT (source), result, &error) ||
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = user_data;
  message = console_error_message (error);
  gtk_label_set_text (self->phase_label, message);
  gtk_widget_set_sensitive (self->stop_button, TRUE);
}

static void
stop (ConsoleCheckDialog *self)
{
  if (self->job_id == 0 || self->state != STATE_RUNNING)
    return;
  gtk_widget_set_sensitive (self->stop_button, FALSE);
  gtk_label_set_text (self->phase_label, _ ("Stopping…"));
  coffer_dbus_agent_call_cancel_job (self->agent, self->job_id, G_DBUS_CALL_FLAGS_NONE, -1,
                                     self->cancellable, cancel_job_cb, self);
}

/* Job Details over this dialog, modal like it, so that it can be used. */
static void
show_details (ConsoleCheckDialog *self)
{
  ConsoleJobDialog *details;

  if (self->job_id == 0)
    return;
  details = console_job_dialog_new (GTK_WINDOW (self), self->agent, self->monitor, self->job_id);
  gtk_window_set_modal (GTK_WINDOW (details), TRUE);
  gtk_window_present (GTK_WINDOW (details));
}

static void
response_cb (ConsoleCheckDialog *self, int response)
{
  switch (response)
    {
      case RESPONSE_START:
        start (self);
        break;
      case RESPONSE_STOP:
        stop (self);
        break;
      case RESPONSE_DETAILS:
        show_details (self);
        break;
      case RESPONSE_REPAIR:
        /* Asks first, as Repair Backups does. */
        set_mode (self, TRUE);
        show_intro (self, NULL);
        break;
      default:
        /* Close: the job, if any, goes on. */
        gtk_widget_destroy (GTK_WIDGET (self));
        break;
    }
}

static void
console_check_dialog_dispose (GObject *object)
{
  ConsoleCheckDialog *self = CONSOLE_CHECK_DIALOG (object);

  set_pulsing (self, FALSE);
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->monitor != NULL)
    g_signal_handlers_disconnect_by_data (self->monitor, self);
  g_clear_object (&self->monitor);
  g_clear_object (&self->agent);
  g_clear_pointer (&self->finished_status, g_free);
  g_clear_pointer (&self->finished_message, g_free);

  G_OBJECT_CLASS (console_check_dialog_parent_class)->dispose (object);
}

static void
console_check_dialog_class_init (ConsoleCheckDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = console_check_dialog_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/coffer/Console/console-check-dialog.ui");
#define BIND(name) gtk_widget_class_bind_template_child (widget_class, ConsoleCheckDialog, name)
  BIND (stack);
  BIND (intro_page);
  BIND (intro_image);
  BIND (heading_label);
  BIND (intro_label);
  BIND (read_data_box);
  BIND (read_data_check);
  BIND (start_error_label);
  BIND (progress_page);
  BIND (phase_label);
  BIND (progress_bar);
  BIND (data_box);
  BIND (data_label);
  BIND (result_box);
  BIND (result_image);
  BIND (result_label);
  BIND (message_label);
  BIND (hint_label);
  BIND (running_note);
  BIND (details_button);
  BIND (stop_button);
  BIND (repair_button);
  BIND (start_button);
  BIND (close_button);
#undef BIND
  gtk_widget_class_bind_template_callback (widget_class, response_cb);
}

static void
console_check_dialog_init (ConsoleCheckDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
}

/**
 * console_check_dialog_new:
 * @parent: the console's window
 * @agent: the agent's proxy
 * @monitor: the console's job monitor
 * @repair: %TRUE for Repair Backups, %FALSE for Check Backups
 *
 * Returns: (transfer none): a new Check Backups or Repair Backups dialog,
 *   not shown yet; it destroys itself when closed
 */
ConsoleCheckDialog *
console_check_dialog_new (GtkWindow *parent,
                          CofferDBusAgent *agent,
                          ConsoleJobMonitor *monitor,
                          gboolean repair)
{
  ConsoleCheckDialog *self;

  g_return_val_if_fail (COFFER_DBUS_IS_AGENT (agent), NULL);
  g_return_val_if_fail (CONSOLE_IS_JOB_MONITOR (monitor), NULL);

  self = g_object_new (CONSOLE_TYPE_CHECK_DIALOG, "transient-for", parent, "use-header-bar", FALSE,
                       NULL);
  self->agent = g_object_ref (agent);
  self->monitor = g_object_ref (monitor);
  g_signal_connect_object (monitor, "progress", G_CALLBACK (monitor_progress_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (monitor, "finished", G_CALLBACK (monitor_finished_cb), self,
                           G_CONNECT_SWAPPED);
  set_mode (self, repair);
  show_intro (self, NULL);
  return self;
}
