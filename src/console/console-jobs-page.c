/* console-jobs-page.c: the Jobs page — the job history, newest first, with a
 * status filter; double-clicking a job (or Enter) asks for its details.
 *
 * The history may hold 100,000 jobs, so the list is loaded a page at a time
 * (ListJobs with an offset): the first page when the agent is known, the
 * next whenever the list is scrolled near its end. Rows are appended to a
 * GtkListStore and never rebuilt: an id → row table lets a Progress signal
 * change the one row of a running job (a progress bar with rate and time
 * left), a Finished signal refetch that row, and a job the list does not
 * have yet (started by the CLI or the scheduler) be added at the top. The
 * view uses fixed-height mode, so its cost does not grow with the rows.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "console-jobs-page.h"
#include "console-status-page.h"
#include "console-util.h"
#include "coffer-error.h"

#define PAGE_SIZE 200
#define NEWEST_SIZE 50

enum
{
  COLUMN_ID,
  COLUMN_KIND,
  COLUMN_STATUS,
  COLUMN_STATUS_TEXT,
  COLUMN_STATUS_ICON,
  COLUMN_STARTED,
  COLUMN_ENDED,
  COLUMN_DATA,
  COLUMN_FILES,
  COLUMN_PROGRESS,
  COLUMN_RUNNING,
  COLUMN_PROGRESS_TEXT,
  COLUMN_NOT_RUNNING,
};

struct _ConsoleJobsPage
{
  GtkBox parent_instance;

  GtkListStore *store;
  GtkComboBoxText *filter_combo;
  GtkSpinner *spinner;
  GtkLabel *count_label;
  GtkStack *stack;
  GtkScrolledWindow *scrolled;
  GtkTreeView *view;
  ConsoleStatusPage *empty_page;

  CofferDBusAgent *agent;
  ConsoleJobMonitor *monitor;
  GCancellable *cancellable;      /* this page's calls; cancelled in dispose */
  GCancellable *load_cancellable; /* the pages of the current filter */
  GHashTable *rows;               /* job id → GtkTreeIter */
  guint64 newest_id;
  gboolean loading;
  gboolean at_end;
  gboolean refreshing;
  gboolean refresh_again;
};

G_DEFINE_FINAL_TYPE (ConsoleJobsPage, console_jobs_page, GTK_TYPE_BOX)

enum
{
  SIGNAL_JOB_ACTIVATED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void load_page (ConsoleJobsPage *self);

static const char *
current_filter (ConsoleJobsPage *self)
{
  const char *id = gtk_combo_box_get_active_id (GTK_COMBO_BOX (self->filter_combo));

  return id != NULL ? id : "";
}

/**
 * console_job_row_texts:
 * @progress: a job's Progress dictionary
 * @out_percent: (out): how far it is, 0–100, or -1 when not known
 * @out_text: (out) (transfer full): "68 % · 12.5 MB/s · 1 min 20 s left"
 *
 * What a running job's progress bar shows.
 */
void
console_job_row_texts (GVariant *progress, int *out_percent, char **out_text)
{
  double rate = 0;
  gint64 eta = -1;
  const char *phase = "";
  g_autofree char *rate_text = NULL;
  g_autofree char *eta_text = NULL;

  g_variant_lookup (progress, "rate", "d", &rate);
  g_variant_lookup (progress, "eta", "x", &eta);
  g_variant_lookup (progress, "phase", "&s", &phase);
  rate_text = console_format_rate (rate);
  *out_percent = console_job_progress_percent (progress);

  if (*out_percent >= 0 && eta >= 0 && rate > 0)
    {
      eta_text = console_format_duration (eta);
      /* Translators: a running job: percent done, rate, time left. */
      *out_text = g_strdup_printf (_ ("%d %% · %s · %s left"), *out_percent, rate_text, eta_text);
    }
  else if (*out_percent >= 0)
    /* Translators: a running job whose rate is not known yet, or is nil
     * while it waits for the vault: percent done and phase. */
    *out_text = g_strdup_printf (_ ("%d %% · %s"), *out_percent, phase);
  else
    *out_text = rate > 0 ? g_strdup_printf ("%s · %s", phase, rate_text) : g_strdup (phase);
}

/* Sets every column of @iter from a job dictionary (GetJob / ListJobs). */
static void
set_row (ConsoleJobsPage *self, GtkTreeIter *iter, GVariant *job)
{
  guint64 id = 0, sent = 0, scanned = 0, files = 0, backed_up = 0, failed = 0;
  gint64 started = 0, ended = 0;
  const char *kind = "", *status = "", *phase = "";
  g_autofree char *started_text = NULL;
  g_autofree char *ended_text = NULL;
  g_autofree char *data = NULL;
  g_autofree char *files_text = NULL;
  gboolean running;

  g_variant_lookup (job, "id", "t", &id);
  g_variant_lookup (job, "kind", "&s", &kind);
  g_variant_lookup (job, "status", "&s", &status);
  g_variant_lookup (job, "phase", "&s", &phase);
  g_variant_lookup (job, "started-at", "x", &started);
  g_variant_lookup (job, "ended-at", "x", &ended);
  g_variant_lookup (job, "bytes-sent", "t", &sent);
  g_variant_lookup (job, "bytes-scanned", "t", &scanned);
  g_variant_lookup (job, "files-scanned", "t", &files);
  g_variant_lookup (job, "files-backed-up", "t", &backed_up);
  g_variant_lookup (job, "files-failed", "t", &failed);

  running = g_str_equal (status, "running") || g_str_equal (status, "queued");
  started_text = console_format_time (started);
  ended_text = console_format_time (ended);
  data = console_format_bytes (g_str_equal (kind, "backup") ? sent : scanned);
  if (failed > 0)
    /* Translators: files of a job: done, and how many failed. */
    files_text = g_strdup_printf (_ ("%" G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT " failed)"),
                                  g_str_equal (kind, "backup") ? backed_up : files, failed);
  else
    files_text =
        g_strdup_printf ("%" G_GUINT64_FORMAT, g_str_equal (kind, "backup") ? backed_up : files);

  gtk_list_store_set (self->store, iter, COLUMN_ID, id, COLUMN_KIND, console_job_kind_label (kind),
                      COLUMN_STATUS, status, COLUMN_STATUS_TEXT, console_job_status_label (status),
                      COLUMN_STATUS_ICON, console_job_status_icon (status), COLUMN_STARTED,
                      started_text, COLUMN_ENDED, ended_text, COLUMN_DATA, data, COLUMN_FILES,
                      files_text, COLUMN_RUNNING, running, COLUMN_NOT_RUNNING, !running, -1);
  if (running)
    gtk_list_store_set (self->store, iter, COLUMN_PROGRESS_TEXT,
                        *phase != '\0' ? phase : console_job_status_label (status), -1);
}

static void
remember_row (ConsoleJobsPage *self, guint64 id, GtkTreeIter *iter)
{
  guint64 *key = g_new (guint64, 1);

  *key = id;
  g_hash_table_replace (self->rows, key, g_memdup2 (iter, sizeof *iter));
  self->newest_id = MAX (self->newest_id, id);
}

static void
update_count (ConsoleJobsPage *self)
{
  guint n = g_hash_table_size (self->rows);
  g_autofree char *text = NULL;

  if (self->at_end)
    text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u job", "%u jobs", n), n);
  else
    /* Translators: the list holds more jobs than it has loaded so far. */
    text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u job loaded; scroll for more",
                                         "%u jobs loaded; scroll for more", n),
                            n);
  gtk_label_set_text (self->count_label, text);
  gtk_stack_set_visible_child_name (self->stack, n == 0 && self->at_end ? "empty" : "list");
}

static void
show_error (ConsoleJobsPage *self, const GError *error)
{
  g_autoptr (GError) shown = coffer_error_from_dbus (error);

  console_status_page_set_title (self->empty_page, _ ("The job history cannot be read"));
  console_status_page_set_description (self->empty_page, shown->message);
  gtk_stack_set_visible_child_name (self->stack, "empty");
}

/* Loads the next page when the list is scrolled near its end, or does not
 * fill the view yet. */
static void
maybe_load_more (ConsoleJobsPage *self)
{
  GtkAdjustment *adjustment = gtk_scrolled_window_get_vadjustment (self->scrolled);
  double value = gtk_adjustment_get_value (adjustment);
  double page = gtk_adjustment_get_page_size (adjustment);
  double upper = gtk_adjustment_get_upper (adjustment);

  /* Not laid out (a hidden page): its size says nothing yet, and the
   * adjustment changes once it is. */
  if (self->agent == NULL || self->loading || self->at_end || page <= 0)
    return;
  if (value + page >= upper - 2 * page)
    load_page (self);
}

static gboolean
maybe_load_more_idle_cb (gpointer user_data)
{
  maybe_load_more (user_data);
  return G_SOURCE_REMOVE;
}

static void
list_jobs_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ConsoleJobsPage *self;
  g_autoptr (GVariant) jobs = NULL;
  g_autoptr (GError) error = NULL;
  GVariantIter iter;
  GVariant *job;
  guint n = 0;

  if (!coffer_dbus_agent_call_list_jobs_finish (COFFER_DBUS_AGENT (source), &jobs, result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      self = user_data;
      self->loading = FALSE;
      gtk_spinner_stop (self->spinner);
      show_error (self, error);
      return;
    }

  self = user_data;
  self->loading = FALSE;
  gtk_spinner_stop (self->spinner);
  g_variant_iter_init (&iter, jobs);
  while ((job = g_variant_iter_next_value (&iter)) != NULL)
    {
      GtkTreeIter row;
      guint64 id = 0;

      g_variant_lookup (job, "id", "t", &id);
      n++;
      if (g_hash_table_contains (self->rows, &id))
        {
          /* Added at the top since this page was asked for. */
          g_variant_unref (job);
          continue;
        }
      gtk_list_store_insert_with_values (self->store, &row, -1, -1);
      set_row (self, &row, job);
      remember_row (self, id, &row);
      g_variant_unref (job);
    }
  if (n < PAGE_SIZE)
    self->at_end = TRUE;
  update_count (self);
  /* The adjustment learns the new height once the view has been laid out. */
  g_idle_add_full (G_PRIORITY_LOW, maybe_load_more_idle_cb, self, NULL);
}

static void
load_page (ConsoleJobsPage *self)
{
  self->loading = TRUE;
  gtk_spinner_start (self->spinner);
  coffer_dbus_agent_call_list_jobs (self->agent, g_hash_table_size (self->rows), PAGE_SIZE,
                                    current_filter (self), G_DBUS_CALL_FLAGS_NONE, -1,
                                    self->load_cancellable, list_jobs_cb, self);
}

static void
reload (ConsoleJobsPage *self)
{
  g_cancellable_cancel (self->load_cancellable);
  g_clear_object (&self->load_cancellable);
  self->load_cancellable = g_cancellable_new ();
  self->loading = FALSE;
  self->at_end = FALSE;
  self->refreshing = FALSE;
  self->newest_id = 0;
  g_hash_table_remove_all (self->rows);
  gtk_list_store_clear (self->store);
  console_status_page_set_title (self->empty_page, _ ("No jobs yet."));
  console_status_page_set_description (
      self->empty_page, *current_filter (self) == '\0'
                            ? _ ("Backups and recoveries will be listed here, with their status "
                                 "and the files that failed.")
                            : _ ("No job has this status."));
  if (self->agent != NULL)
    load_page (self);
}

static void
filter_changed_cb (ConsoleJobsPage *self)
{
  reload (self);
}

static void
list_newest_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ConsoleJobsPage *self;
  g_autoptr (GVariant) jobs = NULL;
  g_autoptr (GError) error = NULL;
  gsize n;

  if (!coffer_dbus_agent_call_list_jobs_finish (COFFER_DBUS_AGENT (source), &jobs, result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      self = user_data;
      self->refreshing = FALSE;
      g_debug ("Refreshing the newest jobs: %s", error->message); /* the next signal retries */
      return;
    }

  self = user_data;
  self->refreshing = FALSE;
  n = g_variant_n_children (jobs);
  /* Oldest first, so each new job goes on top of the one before it. */
  for (gsize i = n; i > 0; i--)
    {
      g_autoptr (GVariant) job = g_variant_get_child_value (jobs, i - 1);
      GtkTreeIter *known;
      GtkTreeIter row;
      guint64 id = 0;

      g_variant_lookup (job, "id", "t", &id);
      known = g_hash_table_lookup (self->rows, &id);
      if (known != NULL)
        set_row (self, known, job);
      else if (id > self->newest_id)
        {
          gtk_list_store_insert_with_values (self->store, &row, 0, -1);
          set_row (self, &row, job);
          remember_row (self, id, &row);
        }
    }
  update_count (self);
  if (self->refresh_again)
    {
      self->refresh_again = FALSE;
      console_jobs_page_refresh (self);
    }
}

/**
 * console_jobs_page_refresh:
 * @self: a #ConsoleJobsPage
 *
 * Brings the newest jobs up to date and adds new ones at the top, without
 * reloading the list.
 */
void
console_jobs_page_refresh (ConsoleJobsPage *self)
{
  g_return_if_fail (CONSOLE_IS_JOBS_PAGE (self));

  if (self->agent == NULL)
    return;
  if (g_hash_table_size (self->rows) == 0 && !self->loading)
    {
      reload (self);
      return;
    }
  if (self->refreshing)
    {
      self->refresh_again = TRUE;
      return;
    }
  self->refreshing = TRUE;
  coffer_dbus_agent_call_list_jobs (self->agent, 0, NEWEST_SIZE, current_filter (self),
                                    G_DBUS_CALL_FLAGS_NONE, -1, self->load_cancellable,
                                    list_newest_cb, self);
}

static void
monitor_progress_cb (ConsoleJobsPage *self, guint64 id, GVariant *progress)
{
  GtkTreeIter *row = g_hash_table_lookup (self->rows, &id);
  g_autofree char *text = NULL;
  g_autofree char *data = NULL;
  guint64 sent = 0;
  int percent;

  if (row == NULL)
    {
      /* A job this list has not seen: started elsewhere. */
      if (id > self->newest_id)
        console_jobs_page_refresh (self);
      return;
    }

  console_job_row_texts (progress, &percent, &text);
  g_variant_lookup (progress, "bytes-sent", "t", &sent);
  data = console_format_bytes (sent);
  gtk_list_store_set (self->store, row, COLUMN_RUNNING, TRUE, COLUMN_NOT_RUNNING, FALSE,
                      COLUMN_PROGRESS, MAX (percent, 0), COLUMN_PROGRESS_TEXT, text, COLUMN_DATA,
                      data, -1);
}

static void
monitor_finished_cb (ConsoleJobsPage *self, guint64 id, const char *status, const char *message)
{
  console_jobs_page_refresh (self);
}

static void
row_activated_cb (ConsoleJobsPage *self, GtkTreePath *path, GtkTreeViewColumn *column)
{
  GtkTreeIter iter;
  guint64 id;

  if (!gtk_tree_model_get_iter (GTK_TREE_MODEL (self->store), &iter, path))
    return;
  gtk_tree_model_get (GTK_TREE_MODEL (self->store), &iter, COLUMN_ID, &id, -1);
  g_signal_emit (self, signals[SIGNAL_JOB_ACTIVATED], 0, id);
}

static void
adjustment_changed_cb (ConsoleJobsPage *self)
{
  maybe_load_more (self);
}

static void
console_jobs_page_dispose (GObject *object)
{
  ConsoleJobsPage *self = CONSOLE_JOBS_PAGE (object);

  g_cancellable_cancel (self->cancellable);
  g_cancellable_cancel (self->load_cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->load_cancellable);
  if (self->monitor != NULL)
    g_signal_handlers_disconnect_by_data (self->monitor, self);
  g_clear_object (&self->monitor);
  g_clear_object (&self->agent);
  g_clear_pointer (&self->rows, g_hash_table_unref);
  g_idle_remove_by_data (self);

  G_OBJECT_CLASS (console_jobs_page_parent_class)->dispose (object);
}

static void
console_jobs_page_class_init (ConsoleJobsPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = console_jobs_page_dispose;

  /**
   * ConsoleJobsPage::job-activated:
   * @id: the job's number
   *
   * The user asked for a job's details.
   */
  signals[SIGNAL_JOB_ACTIVATED] =
      g_signal_new ("job-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                    NULL, G_TYPE_NONE, 1, G_TYPE_UINT64);

  g_type_ensure (CONSOLE_TYPE_STATUS_PAGE);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/coffer/Console/console-jobs-page.ui");
  gtk_widget_class_bind_template_child (widget_class, ConsoleJobsPage, store);
  gtk_widget_class_bind_template_child (widget_class, ConsoleJobsPage, filter_combo);
  gtk_widget_class_bind_template_child (widget_class, ConsoleJobsPage, spinner);
  gtk_widget_class_bind_template_child (widget_class, ConsoleJobsPage, count_label);
  gtk_widget_class_bind_template_child (widget_class, ConsoleJobsPage, stack);
  gtk_widget_class_bind_template_child (widget_class, ConsoleJobsPage, scrolled);
  gtk_widget_class_bind_template_child (widget_class, ConsoleJobsPage, view);
  gtk_widget_class_bind_template_child (widget_class, ConsoleJobsPage, empty_page);
  gtk_widget_class_bind_template_callback (widget_class, filter_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, row_activated_cb);
}

static void
console_jobs_page_init (ConsoleJobsPage *self)
{
  GtkAdjustment *adjustment;

  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
  self->load_cancellable = g_cancellable_new ();
  self->rows = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  gtk_combo_box_set_active (GTK_COMBO_BOX (self->filter_combo), 0);

  adjustment = gtk_scrolled_window_get_vadjustment (self->scrolled);
  g_signal_connect_object (adjustment, "value-changed", G_CALLBACK (adjustment_changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (adjustment, "changed", G_CALLBACK (adjustment_changed_cb), self,
                           G_CONNECT_SWAPPED);
}

/**
 * console_jobs_page_set_agent:
 * @self: a #ConsoleJobsPage
 * @agent: the agent's proxy
 * @monitor: the console's job monitor
 *
 * Starts loading the history and following the jobs.
 */
void
console_jobs_page_set_agent (ConsoleJobsPage *self,
                             CofferDBusAgent *agent,
                             ConsoleJobMonitor *monitor)
{
  g_return_if_fail (CONSOLE_IS_JOBS_PAGE (self));

  if (self->monitor != NULL)
    g_signal_handlers_disconnect_by_data (self->monitor, self);
  g_set_object (&self->agent, agent);
  g_set_object (&self->monitor, monitor);
  g_signal_connect_object (monitor, "progress", G_CALLBACK (monitor_progress_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (monitor, "finished", G_CALLBACK (monitor_finished_cb), self,
                           G_CONNECT_SWAPPED);
  reload (self);
}
