/* console-job-dialog.c: Job Details — a job's status, times, phase, data,
 * files and recovery point, and the items that failed with their reasons.
 *
 * The details come from GetJob; the figures and the failed items are named
 * in the words of the job's kind (files backed up or recovered; damaged or
 * missing objects for a check). A running job's progress bar follows its
 * Progress signals, and Finished fetches the details again. The failed
 * items (up to 10,000 a job) come from GetFailedItems a page at a time, as
 * the list is scrolled. Copy and Save As first fetch the pages not loaded
 * yet, then put the whole report on the clipboard or in a file the console
 * writes itself.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "console-job-dialog.h"
#include "console-jobs-page.h"
#include "console-util.h"
#include "coffer-error.h"

#define FAILED_PAGE_SIZE 500

enum
{
  RESPONSE_COPY = 1,
  RESPONSE_SAVE = 2,
};

typedef enum
{
  PENDING_NONE,
  PENDING_COPY,
  PENDING_SAVE,
} Pending;

struct _ConsoleJobDialog
{
  GtkDialog parent_instance;

  GtkImage *status_image;
  GtkLabel *title_label;
  GtkLabel *status_label;
  GtkLabel *message_label;
  GtkProgressBar *progress_bar;
  GtkLabel *started_label;
  GtkLabel *ended_label;
  GtkLabel *duration_label;
  GtkLabel *phase_label;
  GtkLabel *scanned_label;
  GtkLabel *sent_label;
  GtkLabel *files_scanned_label;
  GtkLabel *files_done_title;
  GtkLabel *files_done_label;
  GtkLabel *files_failed_title;
  GtkLabel *files_failed_label;
  GtkLabel *point_label;
  GtkLabel *failed_heading;
  GtkScrolledWindow *failed_scrolled;
  GtkListStore *failed_store;
  GtkWidget *copy_button;
  GtkWidget *save_button;

  CofferDBusAgent *agent;
  ConsoleJobMonitor *monitor;
  GCancellable *cancellable;
  guint64 id;
  GVariant *job;
  guint failed_loaded;
  guint failed_total;
  gboolean failed_known;
  gboolean failed_loading;
  Pending pending;
  GFile *save_file;
};

G_DEFINE_FINAL_TYPE (ConsoleJobDialog, console_job_dialog, GTK_TYPE_DIALOG)

static void load_failed_page (ConsoleJobDialog *self);
static void run_pending (ConsoleJobDialog *self);

static void
set_text (GtkLabel *label, const char *text)
{
  gtk_label_set_text (label, text != NULL && *text != '\0' ? text : "—");
}

static void
set_bytes (GtkLabel *label, guint64 bytes)
{
  g_autofree char *text = console_format_bytes (bytes);
  g_autofree char *exact = g_strdup_printf (_ ("%s (%" G_GUINT64_FORMAT " bytes)"), text, bytes);

  gtk_label_set_text (label, bytes >= 1000 ? exact : text);
}

static void
set_count (GtkLabel *label, guint64 count)
{
  g_autofree char *text = g_strdup_printf ("%" G_GUINT64_FORMAT, count);

  gtk_label_set_text (label, text);
}

/* "Files recovered:" → "Files recovered": a row's name, for screen readers
 * and the copied report. */
static char *
row_name (GtkLabel *title)
{
  g_autofree char *text = g_strdup (gtk_label_get_text (title));
  gsize length = strlen (text);

  if (length > 0 && text[length - 1] == ':')
    text[length - 1] = '\0';
  return g_strdup (g_strchomp (text));
}

/* The figures' titles for a job of @kind. */
static void
show_titles (ConsoleJobDialog *self, const char *kind)
{
  const char *done = console_job_files_done_label (kind);
  g_autofree char *done_name = NULL;
  g_autofree char *failed_name = NULL;

  gtk_widget_set_visible (GTK_WIDGET (self->files_done_title), done != NULL);
  gtk_widget_set_visible (GTK_WIDGET (self->files_done_label), done != NULL);
  if (done != NULL)
    gtk_label_set_text (self->files_done_title, done);
  gtk_label_set_text (self->files_failed_title, console_job_files_failed_label (kind));
  done_name = row_name (self->files_done_title);
  failed_name = row_name (self->files_failed_title);
  console_set_accessible_name (GTK_WIDGET (self->files_done_label), done_name);
  console_set_accessible_name (GTK_WIDGET (self->files_failed_label), failed_name);
}

static void update_failed_heading (ConsoleJobDialog *self);

static void
show_job (ConsoleJobDialog *self, GVariant *job)
{
  const char *kind = "", *status = "", *phase = "", *message = "", *point = "";
  guint64 scanned = 0, sent = 0, files = 0, done = 0, failed = 0;
  gint64 started = 0, ended = 0;
  g_autofree char *title = NULL;
  g_autofree char *started_text = NULL;
  g_autofree char *ended_text = NULL;
  g_autofree char *duration = NULL;
  gboolean running;

  g_clear_pointer (&self->job, g_variant_unref);
  self->job = g_variant_ref (job);
  g_variant_lookup (job, "kind", "&s", &kind);
  g_variant_lookup (job, "status", "&s", &status);
  g_variant_lookup (job, "phase", "&s", &phase);
  g_variant_lookup (job, "message", "&s", &message);
  g_variant_lookup (job, "recovery-point", "&s", &point);
  g_variant_lookup (job, "started-at", "x", &started);
  g_variant_lookup (job, "ended-at", "x", &ended);
  g_variant_lookup (job, "bytes-scanned", "t", &scanned);
  g_variant_lookup (job, "bytes-sent", "t", &sent);
  g_variant_lookup (job, "files-scanned", "t", &files);
  g_variant_lookup (job, "files-backed-up", "t", &done);
  g_variant_lookup (job, "files-failed", "t", &failed);
  running = g_str_equal (status, "running") || g_str_equal (status, "queued");

  /* Translators: Job Details' heading: the job's kind and number. */
  title =
      g_strdup_printf (_ ("%s job %" G_GUINT64_FORMAT), console_job_kind_label (kind), self->id);
  gtk_label_set_text (self->title_label, title);
  gtk_label_set_text (self->status_label, console_job_status_label (status));
  set_text (self->message_label, message);
  gtk_widget_set_visible (GTK_WIDGET (self->message_label), *message != '\0');
  gtk_image_set_from_icon_name (self->status_image, console_job_status_icon (status),
                                GTK_ICON_SIZE_DIALOG);
  gtk_widget_set_visible (GTK_WIDGET (self->progress_bar), running);

  started_text = console_format_time (started);
  ended_text = console_format_time (ended);
  duration = console_format_duration (started > 0 && ended >= started ? ended - started : -1);
  gtk_label_set_text (self->started_label, started_text);
  gtk_label_set_text (self->ended_label, ended_text);
  gtk_label_set_text (self->duration_label, duration);
  set_text (self->phase_label, phase);
  set_bytes (self->scanned_label, scanned);
  set_bytes (self->sent_label, sent);
  set_count (self->files_scanned_label, files);
  set_count (self->files_done_label, done);
  set_count (self->files_failed_label, failed);
  set_text (self->point_label, point);
  show_titles (self, kind);
  update_failed_heading (self);
}

static void
update_failed_heading (ConsoleJobDialog *self)
{
  g_autofree char *text = NULL;
  const char *kind = NULL;

  if (self->job != NULL)
    g_variant_lookup (self->job, "kind", "&s", &kind);
  if (!self->failed_known)
    text = g_strdup (_ ("Failed items"));
  else if (self->failed_total == 0)
    text = g_strdup (_ ("No item failed."));
  else
    text = console_job_failed_heading (kind, self->failed_total);
  gtk_label_set_text (self->failed_heading, text);
  gtk_widget_set_visible (GTK_WIDGET (self->failed_scrolled), self->failed_total > 0);
}

static void
get_failed_items_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ConsoleJobDialog *self;
  g_autoptr (GVariant) items = NULL;
  g_autoptr (GError) error = NULL;
  GVariantIter iter;
  const char *path, *reason;
  guint total = 0;
  guint n = 0;

  if (!coffer_dbus_agent_call_get_failed_items_finish (COFFER_DBUS_AGENT (source), &items, &total,
                                                       result, &error))
    {
      g_autoptr (GError) shown = NULL;
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      self = user_data;
      self->failed_loading = FALSE;
      shown = coffer_error_from_dbus (error);
      gtk_label_set_text (self->failed_heading, shown->message);
      self->pending = PENDING_NONE;
      return;
    }

  self = user_data;
  self->failed_loading = FALSE;
  self->failed_known = TRUE;
  self->failed_total = total;
  g_variant_iter_init (&iter, items);
  while (g_variant_iter_next (&iter, "(&s&s)", &path, &reason))
    {
      gtk_list_store_insert_with_values (self->failed_store, NULL, -1, 0, path, 1, reason, -1);
      n++;
    }
  self->failed_loaded += n;
  if (n == 0)
    self->failed_total = self->failed_loaded; /* fewer kept than counted */
  update_failed_heading (self);

  if (self->pending != PENDING_NONE)
    {
      if (self->failed_loaded < self->failed_total)
        load_failed_page (self);
      else
        run_pending (self);
    }
}

static void
load_failed_page (ConsoleJobDialog *self)
{
  if (self->failed_loading)
    return;
  self->failed_loading = TRUE;
  coffer_dbus_agent_call_get_failed_items (self->agent, self->id, self->failed_loaded,
                                           FAILED_PAGE_SIZE, G_DBUS_CALL_FLAGS_NONE, -1,
                                           self->cancellable, get_failed_items_cb, self);
}

static void
failed_scrolled_cb (ConsoleJobDialog *self)
{
  GtkAdjustment *adjustment = gtk_scrolled_window_get_vadjustment (self->failed_scrolled);

  if (self->failed_known && self->failed_loaded < self->failed_total &&
      gtk_adjustment_get_value (adjustment) + 2 * gtk_adjustment_get_page_size (adjustment) >=
          gtk_adjustment_get_upper (adjustment))
    load_failed_page (self);
}

static void
get_job_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ConsoleJobDialog *self;
  g_autoptr (GVariant) job = NULL;
  g_autoptr (GError) error = NULL;

  if (!coffer_dbus_agent_call_get_job_finish (COFFER_DBUS_AGENT (source), &job, result, &error))
    {
      g_autoptr (GError) shown = NULL;
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      self = user_data;
      shown = coffer_error_from_dbus (error);
      gtk_label_set_text (self->status_label, shown->message);
      return;
    }
  self = user_data;
  show_job (self, job);
}

static void
fetch (ConsoleJobDialog *self)
{
  coffer_dbus_agent_call_get_job (self->agent, self->id, G_DBUS_CALL_FLAGS_NONE, -1,
                                  self->cancellable, get_job_cb, self);
}

static void
monitor_progress_cb (ConsoleJobDialog *self, guint64 id, GVariant *progress)
{
  g_autofree char *text = NULL;
  const char *phase = NULL;
  guint64 count;
  gint64 started = 0;
  int percent;

  if (id != self->id)
    return;
  console_job_row_texts (progress, &percent, &text);
  gtk_widget_show (GTK_WIDGET (self->progress_bar));
  if (percent >= 0)
    gtk_progress_bar_set_fraction (self->progress_bar, percent / 100.0);
  else
    gtk_progress_bar_pulse (self->progress_bar);
  gtk_progress_bar_set_text (self->progress_bar, text);
  if (g_variant_lookup (progress, "phase", "&s", &phase))
    set_text (self->phase_label, phase);
  /* The figures as they grow: the job's record has them only at the end. */
  if (g_variant_lookup (progress, "bytes-scanned", "t", &count))
    set_bytes (self->scanned_label, count);
  if (g_variant_lookup (progress, "bytes-sent", "t", &count))
    set_bytes (self->sent_label, count);
  if (g_variant_lookup (progress, "files-scanned", "t", &count))
    set_count (self->files_scanned_label, count);
  if (g_variant_lookup (progress, "files-backed-up", "t", &count))
    set_count (self->files_done_label, count);
  if (g_variant_lookup (progress, "files-failed", "t", &count))
    set_count (self->files_failed_label, count);
  /* How long it has run so far. */
  if (self->job != NULL && g_variant_lookup (self->job, "started-at", "x", &started) && started > 0)
    {
      g_autofree char *duration =
          console_format_duration (MAX (0, g_get_real_time () / G_USEC_PER_SEC - started));
      gtk_label_set_text (self->duration_label, duration);
    }
}

static void
monitor_finished_cb (ConsoleJobDialog *self, guint64 id, const char *status, const char *message)
{
  if (id != self->id)
    return;
  fetch (self);
  /* New failed items may have been recorded at the end. */
  gtk_list_store_clear (self->failed_store);
  self->failed_loaded = 0;
  self->failed_known = FALSE;
  load_failed_page (self);
}

/* The whole report, as Copy and Save As give it. */
static char *
report (ConsoleJobDialog *self)
{
  GString *text = g_string_new (NULL);
  GtkTreeModel *model = GTK_TREE_MODEL (self->failed_store);
  GtkTreeIter iter;
  g_autofree char *done_name = row_name (self->files_done_title);
  g_autofree char *failed_name = row_name (self->files_failed_title);
  const struct
  {
    const char *title; /* NULL: the title is the label's own */
    GtkLabel *label;
  } rows[] = {
    { N_ ("Status"), self->status_label },
    { N_ ("Message"), self->message_label },
    { N_ ("Started"), self->started_label },
    { N_ ("Ended"), self->ended_label },
    { N_ ("Duration"), self->duration_label },
    { N_ ("Phase"), self->phase_label },
    { N_ ("Data scanned"), self->scanned_label },
    { N_ ("Data sent"), self->sent_label },
    { N_ ("Files scanned"), self->files_scanned_label },
    { NULL, self->files_done_label },
    { NULL, self->files_failed_label },
    { N_ ("Recovery point"), self->point_label },
  };

  g_string_append_printf (text, "%s\n", gtk_label_get_text (self->title_label));
  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      const char *title = rows[i].title != NULL                     ? _ (rows[i].title)
                          : rows[i].label == self->files_done_label ? done_name
                                                                    : failed_name;

      /* A kind without a count of files done has no such row. */
      if (rows[i].label != self->files_done_label ||
          gtk_widget_get_visible (GTK_WIDGET (rows[i].label)))
        g_string_append_printf (text, "%s: %s\n", title, gtk_label_get_text (rows[i].label));
    }
  if (self->failed_total > 0)
    {
      g_string_append_printf (text, "\n%s\n", gtk_label_get_text (self->failed_heading));
      if (gtk_tree_model_get_iter_first (model, &iter))
        do
          {
            g_autofree char *path = NULL;
            g_autofree char *reason = NULL;
            gtk_tree_model_get (model, &iter, 0, &path, 1, &reason, -1);
            g_string_append_printf (text, "%s\t%s\n", path, reason);
          }
        while (gtk_tree_model_iter_next (model, &iter));
    }
  return g_string_free (text, FALSE);
}

static void
save_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;

  if (!g_file_replace_contents_finish (G_FILE (source), result, NULL, &error))
    {
      ConsoleJobDialog *self;
      GtkWidget *dialog;

      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      self = user_data;
      dialog = gtk_message_dialog_new (
          GTK_WINDOW (self), GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT, GTK_MESSAGE_ERROR,
          GTK_BUTTONS_CLOSE, "%s", _ ("The job details could not be saved"));
      gtk_message_dialog_format_secondary_text (GTK_MESSAGE_DIALOG (dialog), "%s", error->message);
      g_signal_connect (dialog, "response", G_CALLBACK (gtk_widget_destroy), NULL);
      gtk_window_present (GTK_WINDOW (dialog));
    }
}

static void
run_pending (ConsoleJobDialog *self)
{
  g_autofree char *text = report (self);
  Pending pending = self->pending;

  self->pending = PENDING_NONE;
  gtk_widget_set_sensitive (self->copy_button, TRUE);
  gtk_widget_set_sensitive (self->save_button, TRUE);
  if (pending == PENDING_COPY)
    gtk_clipboard_set_text (gtk_widget_get_clipboard (GTK_WIDGET (self), GDK_SELECTION_CLIPBOARD),
                            text, -1);
  else if (pending == PENDING_SAVE && self->save_file != NULL)
    {
      gsize length = strlen (text);
      GBytes *bytes = g_bytes_new_take (g_steal_pointer (&text), length);
      g_file_replace_contents_bytes_async (self->save_file, bytes, NULL, FALSE,
                                           G_FILE_CREATE_REPLACE_DESTINATION, self->cancellable,
                                           save_done_cb, self);
      g_bytes_unref (bytes);
    }
}

/* Runs @pending once every failed item is loaded. */
static void
start_pending (ConsoleJobDialog *self, Pending pending)
{
  self->pending = pending;
  gtk_widget_set_sensitive (self->copy_button, FALSE);
  gtk_widget_set_sensitive (self->save_button, FALSE);
  if (self->failed_known && self->failed_loaded >= self->failed_total)
    run_pending (self);
  else if (!self->failed_loading)
    load_failed_page (self);
}

static void
save_response_cb (GtkNativeDialog *chooser, int response, gpointer user_data)
{
  ConsoleJobDialog *self = user_data;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_clear_object (&self->save_file);
      self->save_file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      start_pending (self, PENDING_SAVE);
    }
  g_object_unref (chooser);
  g_object_unref (self);
}

static void
response_cb (ConsoleJobDialog *self, int response)
{
  if (response == RESPONSE_COPY)
    start_pending (self, PENDING_COPY);
  else if (response == RESPONSE_SAVE)
    {
      GtkFileChooserNative *chooser =
          gtk_file_chooser_native_new (_ ("Save Job Details"), GTK_WINDOW (self),
                                       GTK_FILE_CHOOSER_ACTION_SAVE, _ ("_Save"), _ ("_Cancel"));
      g_autofree char *name = g_strdup_printf ("coffer-job-%" G_GUINT64_FORMAT ".txt", self->id);

      gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
      gtk_file_chooser_set_do_overwrite_confirmation (GTK_FILE_CHOOSER (chooser), TRUE);
      gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), name);
      g_signal_connect (chooser, "response", G_CALLBACK (save_response_cb), g_object_ref (self));
      gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
    }
  else
    gtk_widget_destroy (GTK_WIDGET (self));
}

static void
console_job_dialog_dispose (GObject *object)
{
  ConsoleJobDialog *self = CONSOLE_JOB_DIALOG (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->monitor != NULL)
    g_signal_handlers_disconnect_by_data (self->monitor, self);
  g_clear_object (&self->monitor);
  g_clear_object (&self->agent);
  g_clear_object (&self->save_file);
  g_clear_pointer (&self->job, g_variant_unref);

  G_OBJECT_CLASS (console_job_dialog_parent_class)->dispose (object);
}

static void
console_job_dialog_class_init (ConsoleJobDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = console_job_dialog_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/coffer/Console/console-job-dialog.ui");
#define BIND(name) gtk_widget_class_bind_template_child (widget_class, ConsoleJobDialog, name)
  BIND (status_image);
  BIND (title_label);
  BIND (status_label);
  BIND (message_label);
  BIND (progress_bar);
  BIND (started_label);
  BIND (ended_label);
  BIND (duration_label);
  BIND (phase_label);
  BIND (scanned_label);
  BIND (sent_label);
  BIND (files_scanned_label);
  BIND (files_done_title);
  BIND (files_done_label);
  BIND (files_failed_title);
  BIND (files_failed_label);
  BIND (point_label);
  BIND (failed_heading);
  BIND (failed_scrolled);
  BIND (failed_store);
  BIND (copy_button);
  BIND (save_button);
#undef BIND
  gtk_widget_class_bind_template_callback (widget_class, response_cb);
}

static void
console_job_dialog_init (ConsoleJobDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
  g_signal_connect_object (gtk_scrolled_window_get_vadjustment (self->failed_scrolled),
                           "value-changed", G_CALLBACK (failed_scrolled_cb), self,
                           G_CONNECT_SWAPPED);
  update_failed_heading (self);
}

/**
 * console_job_dialog_new:
 * @parent: the console's window
 * @agent: the agent's proxy
 * @monitor: the console's job monitor
 * @id: the job's number
 *
 * Returns: (transfer none): Job Details for job @id, not shown yet; it
 *   destroys itself when closed
 */
ConsoleJobDialog *
console_job_dialog_new (GtkWindow *parent,
                        CofferDBusAgent *agent,
                        ConsoleJobMonitor *monitor,
                        guint64 id)
{
  ConsoleJobDialog *self = g_object_new (CONSOLE_TYPE_JOB_DIALOG, "transient-for", parent, NULL);
  g_autofree char *title = g_strdup_printf (_ ("Job %" G_GUINT64_FORMAT), id);

  self->agent = g_object_ref (agent);
  self->monitor = g_object_ref (monitor);
  self->id = id;
  gtk_label_set_text (self->title_label, title);
  g_signal_connect_object (monitor, "progress", G_CALLBACK (monitor_progress_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (monitor, "finished", G_CALLBACK (monitor_finished_cb), self,
                           G_CONNECT_SWAPPED);
  fetch (self);
  load_failed_page (self);
  return self;
}

/**
 * console_job_dialog_get_id:
 * @self: a #ConsoleJobDialog
 *
 * Returns: the job's number
 */
guint64
console_job_dialog_get_id (ConsoleJobDialog *self)
{
  g_return_val_if_fail (CONSOLE_IS_JOB_DIALOG (self), 0);

  return self->id;
}
