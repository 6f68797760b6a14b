/* console-backup-wizard.c: the Back Up Now wizard — Retain Backup Till (a
 * calendar, 30 days ahead by default), Confirmation, then Back Up and the
 * job's live progress: phase, data scanned and sent, files, rate and time
 * left, from the job's Progress signals.
 *
 * The progress page is the wizard's last: Close is there from the start
 * and closing leaves the job running (the Jobs page follows it too); Stop
 * Backup asks the agent to cancel it. A job the agent refuses to start
 * ("Another job is in progress.") sends the user back to Confirmation with
 * the agent's message.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "console-backup-wizard.h"
#include "console-util.h"
#include "coffer-error.h"

#define DEFAULT_RETAIN_DAYS 30

struct _ConsoleBackupWizard
{
  GtkAssistant parent_instance;

  GtkWidget *retain_page;
  GtkLabel *items_label;
  GtkCalendar *calendar;
  GtkLabel *retain_label;
  GtkWidget *confirm_page;
  GtkLabel *confirm_label;
  GtkLabel *start_error_label;
  GtkWidget *progress_page;
  GtkLabel *phase_label;
  GtkProgressBar *progress_bar;
  GtkLabel *scanned_label;
  GtkLabel *sent_label;
  GtkLabel *files_label;
  GtkLabel *rate_label;
  GtkLabel *eta_label;
  GtkLabel *result_label;
  GtkWidget *stop_button;

  CofferDBusAgent *agent;
  ConsoleJobMonitor *monitor;
  GCancellable *cancellable;
  guint n_items;
  gboolean policy_known;
  guint64 job_id;
  gboolean ended;
  guint pulse_source;
};

G_DEFINE_FINAL_TYPE (ConsoleBackupWizard, console_backup_wizard, GTK_TYPE_ASSISTANT)

static void fetch_job (ConsoleBackupWizard *self);

static void
set_message (GtkLabel *label, const char *message)
{
  gtk_label_set_text (label, message != NULL ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (label), message != NULL && *message != '\0');
}

/* The chosen day, at its last second, local time. */
static GDateTime *
retain_until (ConsoleBackupWizard *self)
{
  guint year, month, day;

  gtk_calendar_get_date (self->calendar, &year, &month, &day);
  return g_date_time_new_local (year, month + 1, day, 23, 59, 59);
}

static int
days_from_today (GDateTime *when)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autoptr (GDateTime) today =
      g_date_time_new_local (g_date_time_get_year (now), g_date_time_get_month (now),
                             g_date_time_get_day_of_month (now), 23, 59, 59);

  return (int) (g_date_time_difference (when, today) / G_TIME_SPAN_DAY);
}

static void
update_retain_page (ConsoleBackupWizard *self)
{
  g_autoptr (GDateTime) until = retain_until (self);
  g_autofree char *date = g_date_time_format (until, _ ("%A %-d %B %Y"));
  g_autofree char *text = NULL;
  int days = days_from_today (until);
  gboolean ok = days >= 1;

  if (!ok)
    text = g_strdup (_ ("Choose a day after today."));
  else
    text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                         "This backup is kept until the end of %s, %d day from "
                                         "today.",
                                         "This backup is kept until the end of %s, %d days from "
                                         "today.",
                                         days),
                            date, days);
  gtk_label_set_text (self->retain_label, text);
  gtk_assistant_set_page_complete (GTK_ASSISTANT (self), self->retain_page,
                                   ok && self->policy_known && self->n_items > 0);
}

static void
calendar_changed_cb (ConsoleBackupWizard *self)
{
  update_retain_page (self);
}

static void
get_policy_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ConsoleBackupWizard *self;
  g_autoptr (GVariant) policy = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree const char **items = NULL;
  g_autofree char *text = NULL;

  if (!coffer_dbus_agent_call_get_policy_finish (COFFER_DBUS_AGENT (source), &policy, result,
                                                 &error))
    {
      g_autoptr (GError) shown = NULL;
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      self = user_data;
      shown = coffer_error_from_dbus (error);
      text = g_strdup_printf (_ ("The backup policy cannot be read: %s"), shown->message);
      gtk_label_set_text (self->items_label, text);
      return;
    }

  self = user_data;
  self->policy_known = TRUE;
  if (!g_variant_lookup (policy, "items", "^a&s", &items) || items[0] == NULL)
    {
      self->n_items = 0;
      gtk_label_set_text (self->items_label,
                          _ ("Nothing is chosen to back up yet: choose the files and folders "
                             "with Schedule Backup first."));
    }
  else
    {
      g_autofree char *first = NULL;
      self->n_items = g_strv_length ((char **) items);
      first = g_strjoinv (", ", (char **) items);
      text = g_strdup_printf (
          g_dngettext (GETTEXT_PACKAGE, "Backs up: %s", "Backs up: %s", self->n_items), first);
      gtk_label_set_text (self->items_label, text);
    }
  update_retain_page (self);
}

static void
prepare_cb (ConsoleBackupWizard *self, GtkWidget *page)
{
  if (page == self->confirm_page)
    {
      g_autoptr (GDateTime) until = retain_until (self);
      g_autofree char *date = g_date_time_format (until, _ ("%A %-d %B %Y"));
      g_autofree char *text = g_strdup_printf (
          g_dngettext (GETTEXT_PACKAGE,
                       "Coffer will back up the %u item of the backup policy now, and keep this "
                       "recovery point until the end of %s.",
                       "Coffer will back up the %u items of the backup policy now, and keep this "
                       "recovery point until the end of %s.",
                       self->n_items),
          self->n_items, date);
      gtk_label_set_text (self->confirm_label, text);
    }
}

static gboolean
pulse_cb (gpointer user_data)
{
  ConsoleBackupWizard *self = user_data;

  gtk_progress_bar_pulse (self->progress_bar);
  return G_SOURCE_CONTINUE;
}

static void
set_pulsing (ConsoleBackupWizard *self, gboolean pulsing)
{
  if (pulsing && self->pulse_source == 0)
    self->pulse_source = g_timeout_add (150, pulse_cb, self);
  else if (!pulsing && self->pulse_source != 0)
    g_clear_handle_id (&self->pulse_source, g_source_remove);
}

static void
show_progress (ConsoleBackupWizard *self, GVariant *progress)
{
  const char *phase = NULL;
  guint64 scanned = 0, sent = 0, files = 0, backed_up = 0, failed = 0;
  double rate = 0;
  gint64 eta = -1;
  g_autofree char *scanned_text = NULL;
  g_autofree char *sent_text = NULL;
  g_autofree char *files_text = NULL;
  g_autofree char *rate_text = NULL;
  g_autofree char *eta_text = NULL;
  int percent = console_job_progress_percent (progress);

  g_variant_lookup (progress, "phase", "&s", &phase);
  g_variant_lookup (progress, "bytes-scanned", "t", &scanned);
  g_variant_lookup (progress, "bytes-sent", "t", &sent);
  g_variant_lookup (progress, "files-scanned", "t", &files);
  g_variant_lookup (progress, "files-backed-up", "t", &backed_up);
  g_variant_lookup (progress, "files-failed", "t", &failed);
  g_variant_lookup (progress, "rate", "d", &rate);
  g_variant_lookup (progress, "eta", "x", &eta);

  if (phase != NULL && *phase != '\0')
    gtk_label_set_text (self->phase_label, phase);
  scanned_text = console_format_bytes (scanned);
  sent_text = console_format_bytes (sent);
  files_text = g_strdup_printf (_ ("%" G_GUINT64_FORMAT " scanned, %" G_GUINT64_FORMAT
                                   " backed up, %" G_GUINT64_FORMAT " failed"),
                                files, backed_up, failed);
  rate_text = console_format_rate (rate);
  eta_text = console_format_duration (eta);
  gtk_label_set_text (self->scanned_label, scanned_text);
  gtk_label_set_text (self->sent_label, sent_text);
  gtk_label_set_text (self->files_label, files_text);
  gtk_label_set_text (self->rate_label, rate_text);
  gtk_label_set_text (self->eta_label, eta_text);

  if (percent >= 0)
    {
      g_autofree char *percent_text = g_strdup_printf ("%d %%", percent);
      set_pulsing (self, FALSE);
      gtk_progress_bar_set_fraction (self->progress_bar, percent / 100.0);
      gtk_progress_bar_set_text (self->progress_bar, percent_text);
    }
  else
    {
      gtk_progress_bar_set_text (self->progress_bar, "");
      set_pulsing (self, TRUE);
    }
}

static void
show_finished (ConsoleBackupWizard *self, const char *status, const char *message)
{
  self->ended = TRUE;
  set_pulsing (self, FALSE);
  gtk_label_set_text (self->phase_label, console_job_status_label (status));
  gtk_progress_bar_set_fraction (self->progress_bar, 1.0);
  gtk_progress_bar_set_text (self->progress_bar, "100 %");
  gtk_label_set_text (self->eta_label, "—");
  set_message (self->result_label, message);
  gtk_widget_hide (self->stop_button);
}

static void
monitor_progress_cb (ConsoleBackupWizard *self, guint64 id, GVariant *progress)
{
  if (id == self->job_id && !self->ended)
    show_progress (self, progress);
}

static void
monitor_finished_cb (ConsoleBackupWizard *self, guint64 id, const char *status, const char *message)
{
  if (id == self->job_id && !self->ended)
    {
      show_finished (self, status, message);
      fetch_job (self);
    }
}

/* The job's record: its numbers once it has ended (the last Progress may
 * come before the final count), and its end if it ended before its
 * signals were followed. */
static void
get_job_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ConsoleBackupWizard *self;
  g_autoptr (GVariant) job = NULL;
  g_autoptr (GError) error = NULL;
  const char *status = NULL;
  const char *message = "";

  if (!coffer_dbus_agent_call_get_job_finish (COFFER_DBUS_AGENT (source), &job, result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("GetJob %s", error->message); /* the signals still tell */
      return;
    }
  self = user_data;
  g_variant_lookup (job, "status", "&s", &status);
  g_variant_lookup (job, "message", "&s", &message);
  if (status == NULL || g_str_equal (status, "running") || g_str_equal (status, "queued"))
    return;
  show_progress (self, job);
  self->ended = FALSE;
  show_finished (self, status, message);
}

static void
fetch_job (ConsoleBackupWizard *self)
{
  coffer_dbus_agent_call_get_job (self->agent, self->job_id, G_DBUS_CALL_FLAGS_NONE, -1,
                                  self->cancellable, get_job_cb, self);
}

static void
start_backup_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ConsoleBackupWizard *self;
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;
  g_autofree char *title = NULL;
  guint64 id = 0;

  if (!coffer_dbus_agent_call_start_backup_finish (COFFER_DBUS_AGENT (source), &path, &id, result,
                                                   &error))
    {
      g_autoptr (GError) shown = NULL;
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      self = user_data;
      shown = coffer_error_from_dbus (error);
      set_pulsing (self, FALSE);
      set_message (self->start_error_label, shown->message);
      gtk_assistant_set_current_page (GTK_ASSISTANT (self), 1);
      return;
    }

  self = user_data;
  self->job_id = id;
  /* Translators: the progress page's heading; %llu is the job's number. */
  title = g_strdup_printf (_ ("Backup job %llu"), (unsigned long long) id);
  gtk_label_set_text (self->phase_label, _ ("Initializing"));
  atk_object_set_description (gtk_widget_get_accessible (self->progress_page), title);
  gtk_widget_set_sensitive (self->stop_button, TRUE);
  fetch_job (self);
}

static void
apply_cb (ConsoleBackupWizard *self)
{
  g_autoptr (GDateTime) until = retain_until (self);
  GVariantBuilder options;

  set_message (self->start_error_label, NULL);
  set_message (self->result_label, NULL);
  self->ended = FALSE;
  self->job_id = 0;
  gtk_widget_show (self->stop_button);
  gtk_widget_set_sensitive (self->stop_button, FALSE);
  gtk_label_set_text (self->phase_label, _ ("Starting the backup…"));
  set_pulsing (self, TRUE);

  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&options, "{sv}", "retain-until",
                         g_variant_new_int64 (g_date_time_to_unix (until)));
  coffer_dbus_agent_call_start_backup (self->agent, g_variant_builder_end (&options),
                                       G_DBUS_CALL_FLAGS_NONE, -1, self->cancellable,
                                       start_backup_cb, self);
}

static void
cancel_job_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;

  if (!coffer_dbus_agent_call_cancel_job_finish (COFFER_DBUS_AGENT (source), result, &error) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      ConsoleBackupWizard *self = user_data;
      g_autoptr (GError) shown = coffer_error_from_dbus (error);
      set_message (self->result_label, shown->message);
      gtk_widget_set_sensitive (self->stop_button, TRUE);
    }
}

static void
stop_clicked_cb (ConsoleBackupWizard *self)
{
  if (self->job_id == 0)
    return;
  gtk_widget_set_sensitive (self->stop_button, FALSE);
  gtk_label_set_text (self->phase_label, _ ("Stopping…"));
  coffer_dbus_agent_call_cancel_job (self->agent, self->job_id, G_DBUS_CALL_FLAGS_NONE, -1,
                                     self->cancellable, cancel_job_cb, self);
}

static void
close_cb (ConsoleBackupWizard *self)
{
  /* The job, if any, goes on: only this window's calls stop. */
  gtk_widget_destroy (GTK_WIDGET (self));
}

static void
relabel_apply (GtkWidget *widget, gpointer user_data)
{
  if (GTK_IS_BUTTON (widget) &&
      g_strcmp0 (gtk_button_get_label (GTK_BUTTON (widget)), g_dgettext ("gtk30", "_Apply")) == 0)
    gtk_button_set_label (GTK_BUTTON (widget), _ ("_Back Up"));
  else if (GTK_IS_CONTAINER (widget))
    gtk_container_forall (GTK_CONTAINER (widget), relabel_apply, user_data);
}

static void
console_backup_wizard_dispose (GObject *object)
{
  ConsoleBackupWizard *self = CONSOLE_BACKUP_WIZARD (object);

  set_pulsing (self, FALSE);
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->monitor != NULL)
    g_signal_handlers_disconnect_by_data (self->monitor, self);
  g_clear_object (&self->monitor);
  g_clear_object (&self->agent);

  G_OBJECT_CLASS (console_backup_wizard_parent_class)->dispose (object);
}

static void
console_backup_wizard_class_init (ConsoleBackupWizardClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = console_backup_wizard_dispose;

  gtk_widget_class_set_template_from_resource (
      widget_class, "/io/github/coffer/Console/console-backup-wizard.ui");
#define BIND(name) gtk_widget_class_bind_template_child (widget_class, ConsoleBackupWizard, name)
  BIND (retain_page);
  BIND (items_label);
  BIND (calendar);
  BIND (retain_label);
  BIND (confirm_page);
  BIND (confirm_label);
  BIND (start_error_label);
  BIND (progress_page);
  BIND (phase_label);
  BIND (progress_bar);
  BIND (scanned_label);
  BIND (sent_label);
  BIND (files_label);
  BIND (rate_label);
  BIND (eta_label);
  BIND (result_label);
  BIND (stop_button);
#undef BIND
  gtk_widget_class_bind_template_callback (widget_class, calendar_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, prepare_cb);
  gtk_widget_class_bind_template_callback (widget_class, apply_cb);
  gtk_widget_class_bind_template_callback (widget_class, close_cb);
  gtk_widget_class_bind_template_callback (widget_class, stop_clicked_cb);
}

static void
console_backup_wizard_init (ConsoleBackupWizard *self)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autoptr (GDateTime) until = g_date_time_add_days (now, DEFAULT_RETAIN_DAYS);

  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();

  gtk_calendar_select_month (self->calendar, g_date_time_get_month (until) - 1,
                             g_date_time_get_year (until));
  gtk_calendar_select_day (self->calendar, g_date_time_get_day_of_month (until));
  gtk_label_set_text (self->items_label, _ ("Reading the backup policy…"));
  gtk_container_forall (GTK_CONTAINER (self), relabel_apply, NULL);
  update_retain_page (self);
}

/**
 * console_backup_wizard_new:
 * @parent: the console's window
 * @agent: the agent's proxy
 * @monitor: the console's job monitor
 *
 * Returns: (transfer none): a new Back Up Now wizard, not shown yet; it
 *   destroys itself when closed
 */
ConsoleBackupWizard *
console_backup_wizard_new (GtkWindow *parent, CofferDBusAgent *agent, ConsoleJobMonitor *monitor)
{
  ConsoleBackupWizard *self =
      g_object_new (CONSOLE_TYPE_BACKUP_WIZARD, "transient-for", parent, NULL);

  self->agent = g_object_ref (agent);
  self->monitor = g_object_ref (monitor);
  g_signal_connect_object (monitor, "progress", G_CALLBACK (monitor_progress_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (monitor, "finished", G_CALLBACK (monitor_finished_cb), self,
                           G_CONNECT_SWAPPED);
  coffer_dbus_agent_call_get_policy (agent, G_DBUS_CALL_FLAGS_NONE, -1, self->cancellable,
                                     get_policy_cb, self);
  return self;
}
