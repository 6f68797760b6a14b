/* console-overview-page.c: the Overview page — this server's registration,
 * or why the agent cannot tell; once registered, the last and next backup,
 * alerts, the jobs of the past 7 days and a chart of the data they moved.
 *
 * The registration comes from the agent's GetStatus dictionary, which the
 * window hands the page. The activity the page asks for itself, both calls
 * async: GetPolicy (the next run, a paused schedule) and ListJobs (the
 * newest 1,000 jobs, of which those of the past 7 days are shown). A running
 * job's row follows its Progress signals; when a job ends the activity is
 * asked for again. Alerts: the last backup failed, a backup completed with
 * warnings, a scheduled run that is overdue, a locked keyring.
 *
 * Its "Register Server" link activates win.register-server, so it follows
 * that action's state; its Retry button emits ::retry for the window to
 * reconnect; double-clicking a job emits ::job-activated.
 */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "console-overview-page.h"
#include "console-jobs-page.h"
#include "console-status-page.h"
#include "console-util.h"
#include "coffer-error.h"

#define CHART_DAYS 7
#define RECENT_LIMIT 1000
#define OVERDUE_SECONDS (15 * 60)

enum
{
  RECENT_ID,
  RECENT_KIND,
  RECENT_STATUS_TEXT,
  RECENT_STATUS_ICON,
  RECENT_START,
  RECENT_END,
  RECENT_DATA,
  RECENT_PROGRESS,
  RECENT_PROGRESS_TEXT,
  RECENT_RUNNING,
  RECENT_NOT_RUNNING,
};

struct _ConsoleOverviewPage
{
  GtkBin parent_instance;

  GtkStack *state_stack;
  ConsoleStatusPage *error_page;
  GtkLabel *vault_label;
  GtkLabel *machine_label;
  GtkLabel *location_label;
  GtkLabel *registered_at_label;
  GtkLabel *last_backup_label;
  GtkLabel *next_backup_label;
  GtkBox *alerts_box;
  GtkWidget *chart;
  GtkStack *recent_stack;
  GtkListStore *recent_store;

  CofferDBusAgent *agent;
  ConsoleJobMonitor *monitor;
  GCancellable *cancellable;
  GVariant *status;
  GVariant *policy;
  GVariant *jobs;
  guint64 day_bytes[CHART_DAYS]; /* oldest day first; the last is today */
  gboolean policy_known;
  gboolean jobs_known;
};

G_DEFINE_FINAL_TYPE (ConsoleOverviewPage, console_overview_page, GTK_TYPE_BIN)

enum
{
  SIGNAL_RETRY,
  SIGNAL_JOB_ACTIVATED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static gboolean
register_link_activate_link_cb (ConsoleOverviewPage *self, GtkLinkButton *button)
{
  /* The link's action (win.register-server) does the work; there is no URI
   * to open. */
  return TRUE;
}

static void
retry_button_clicked_cb (ConsoleOverviewPage *self, GtkButton *button)
{
  g_signal_emit (self, signals[SIGNAL_RETRY], 0);
}

/* ---- Activity: last and next backup, alerts, the past 7 days ---- */

static void
add_alert (ConsoleOverviewPage *self, const char *icon_name, const char *text)
{
  GtkWidget *row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  GtkWidget *image = gtk_image_new_from_icon_name (icon_name, GTK_ICON_SIZE_BUTTON);
  GtkWidget *label = gtk_label_new (text);

  gtk_widget_set_valign (image, GTK_ALIGN_START);
  gtk_label_set_xalign (GTK_LABEL (label), 0.0);
  gtk_label_set_line_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_line_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
  gtk_widget_set_hexpand (label, TRUE);
  gtk_container_add (GTK_CONTAINER (row), image);
  gtk_container_add (GTK_CONTAINER (row), label);
  gtk_widget_show_all (row);
  gtk_container_add (GTK_CONTAINER (self->alerts_box), row);
}

static void
destroy_child (GtkWidget *widget, gpointer user_data)
{
  gtk_widget_destroy (widget);
}

static gboolean
is_running (const char *status)
{
  return g_strcmp0 (status, "running") == 0 || g_strcmp0 (status, "queued") == 0;
}

/* Bytes a job moved: sent for a backup, read back for a recovery. */
static guint64
job_data (GVariant *job)
{
  const char *kind = "";
  guint64 bytes = 0;

  g_variant_lookup (job, "kind", "&s", &kind);
  if (g_str_equal (kind, "backup"))
    g_variant_lookup (job, "bytes-sent", "t", &bytes);
  else if (g_str_equal (kind, "recovery"))
    g_variant_lookup (job, "bytes-scanned", "t", &bytes);
  return bytes;
}

static char *
day_and_time (gint64 when)
{
  g_autoptr (GDateTime) time = g_date_time_new_from_unix_local (when);
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();

  if (time == NULL)
    return g_strdup ("—");
  if (g_date_time_get_year (time) == g_date_time_get_year (now) &&
      g_date_time_get_day_of_year (time) == g_date_time_get_day_of_year (now))
    /* Translators: a time today, as in "today 09:30". */
    return g_date_time_format (time, _ ("today %H:%M"));
  /* Translators: a day and time, as in "Mon 23 Nov 09:30"; see strftime(3). */
  return g_date_time_format (time, _ ("%a %-d %b %H:%M"));
}

static void
show_recent (ConsoleOverviewPage *self, GVariant *job)
{
  const char *kind = "", *status = "", *phase = "";
  gint64 started = 0, ended = 0;
  g_autofree char *start = NULL;
  g_autofree char *end = NULL;
  g_autofree char *data = NULL;
  guint64 id = 0;
  gboolean running;

  g_variant_lookup (job, "id", "t", &id);
  g_variant_lookup (job, "kind", "&s", &kind);
  g_variant_lookup (job, "status", "&s", &status);
  g_variant_lookup (job, "phase", "&s", &phase);
  g_variant_lookup (job, "started-at", "x", &started);
  g_variant_lookup (job, "ended-at", "x", &ended);
  running = is_running (status);
  start = day_and_time (started);
  end = ended > 0 ? day_and_time (ended) : g_strdup ("—");
  data = console_format_bytes (job_data (job));
  gtk_list_store_insert_with_values (
      self->recent_store, NULL, -1, RECENT_ID, id, RECENT_KIND, console_job_kind_label (kind),
      RECENT_STATUS_TEXT, console_job_status_label (status), RECENT_STATUS_ICON,
      console_job_status_icon (status), RECENT_START, start, RECENT_END, end, RECENT_DATA, data,
      RECENT_PROGRESS, 0, RECENT_PROGRESS_TEXT, phase, RECENT_RUNNING, running, RECENT_NOT_RUNNING,
      !running, -1);
}

static void
update_next_backup (ConsoleOverviewPage *self, gint64 now)
{
  const char *schedule = "none", *state = "active";
  gint64 next = 0;
  g_autofree char *text = NULL;

  if (self->policy == NULL)
    {
      gtk_label_set_text (self->next_backup_label, self->policy_known ? _ ("Not scheduled") : "…");
      return;
    }
  g_variant_lookup (self->policy, "schedule", "&s", &schedule);
  g_variant_lookup (self->policy, "state", "&s", &state);
  g_variant_lookup (self->policy, "next-run", "x", &next);
  if (g_str_equal (state, "paused"))
    text = g_strdup (_ ("Paused: scheduled backups do not run until the schedule is re-enabled"));
  else if (g_str_equal (schedule, "none") || next <= 0)
    text = g_strdup (_ ("Not scheduled: choose Schedule Backup to back up automatically"));
  else
    {
      g_autofree char *when = day_and_time (next);
      if (next < now - OVERDUE_SECONDS)
        /* Translators: %s is when the run was due. */
        text = g_strdup_printf (_ ("%s — overdue"), when);
      else
        text = g_steal_pointer (&when);
    }
  gtk_label_set_text (self->next_backup_label, text);
}

static void
update_activity (ConsoleOverviewPage *self)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autoptr (GDateTime) today =
      g_date_time_new_local (g_date_time_get_year (now), g_date_time_get_month (now),
                             g_date_time_get_day_of_month (now), 0, 0, 0);
  gint64 day_start = g_date_time_to_unix (today) - (CHART_DAYS - 1) * 24 * 3600;
  gint64 now_unix = g_date_time_to_unix (now);
  GVariant *last_backup = NULL;
  GVariant *warned = NULL;
  const char *storage = NULL;
  gboolean needs_login = FALSE;
  guint shown = 0;
  gsize n;

  gtk_list_store_clear (self->recent_store);
  memset (self->day_bytes, 0, sizeof self->day_bytes);
  gtk_container_foreach (GTK_CONTAINER (self->alerts_box), destroy_child, NULL);

  n = self->jobs != NULL ? g_variant_n_children (self->jobs) : 0;
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr (GVariant) job = g_variant_get_child_value (self->jobs, i);
      const char *kind = "", *status = "";
      gint64 started = 0;

      g_variant_lookup (job, "kind", "&s", &kind);
      g_variant_lookup (job, "status", "&s", &status);
      g_variant_lookup (job, "started-at", "x", &started);

      if (last_backup == NULL && g_str_equal (kind, "backup") && !is_running (status))
        last_backup = g_variant_ref (job);
      if (warned == NULL && g_str_equal (status, "warnings") && started >= day_start)
        warned = g_variant_ref (job);
      if (started >= day_start)
        {
          /* Days since the first of the chart's days, in local time. */
          g_autoptr (GDateTime) when = g_date_time_new_from_unix_local (started);
          g_autoptr (GDateTime) midnight =
              g_date_time_new_local (g_date_time_get_year (when), g_date_time_get_month (when),
                                     g_date_time_get_day_of_month (when), 0, 0, 0);
          gint64 day = (g_date_time_to_unix (midnight) - day_start + 12 * 3600) / (24 * 3600);

          if (day >= 0 && day < CHART_DAYS)
            self->day_bytes[day] += job_data (job);
          show_recent (self, job);
          shown++;
        }
    }
  gtk_stack_set_visible_child_name (self->recent_stack, shown > 0 ? "list" : "empty");
  gtk_widget_queue_draw (self->chart);

  /* Last backup. */
  if (last_backup != NULL)
    {
      const char *status = "";
      gint64 started = 0;
      g_autofree char *when = NULL;
      g_autofree char *data = NULL;
      g_autofree char *text = NULL;

      g_variant_lookup (last_backup, "status", "&s", &status);
      g_variant_lookup (last_backup, "started-at", "x", &started);
      when = day_and_time (started);
      data = console_format_bytes (job_data (last_backup));
      /* Translators: the last backup: when, its status, how much it sent. */
      text =
          g_strdup_printf (_ ("%s · %s · %s sent"), when, console_job_status_label (status), data);
      gtk_label_set_text (self->last_backup_label, text);

      if (g_str_equal (status, "failed"))
        {
          const char *message = "";
          g_autofree char *alert = NULL;
          g_variant_lookup (last_backup, "message", "&s", &message);
          alert = g_strdup_printf (_ ("The last backup (%s) failed: %s"), when, message);
          add_alert (self, "dialog-error-symbolic", alert);
        }
    }
  else
    gtk_label_set_text (self->last_backup_label,
                        self->jobs_known ? _ ("None yet: choose Back Up Now to make the first")
                                         : "…");

  if (warned != NULL)
    {
      guint64 failed = 0;
      gint64 started = 0;
      g_autofree char *when = NULL;
      g_autofree char *alert = NULL;

      g_variant_lookup (warned, "files-failed", "t", &failed);
      g_variant_lookup (warned, "started-at", "x", &started);
      when = day_and_time (started);
      alert = g_strdup_printf (
          g_dngettext (GETTEXT_PACKAGE,
                       "%" G_GUINT64_FORMAT " item was not backed up by the backup of %s. "
                       "Double-click that job below to see which, and why.",
                       "%" G_GUINT64_FORMAT " items were not backed up by the backup of %s. "
                       "Double-click that job below to see which, and why.",
                       failed),
          failed, when);
      add_alert (self, "dialog-warning-symbolic", alert);
    }

  update_next_backup (self, now_unix);
  if (self->policy != NULL)
    {
      const char *state = "active", *schedule = "none";
      gint64 next = 0;
      g_variant_lookup (self->policy, "state", "&s", &state);
      g_variant_lookup (self->policy, "schedule", "&s", &schedule);
      g_variant_lookup (self->policy, "next-run", "x", &next);
      if (g_str_equal (state, "active") && !g_str_equal (schedule, "none") && next > 0 &&
          next < now_unix - OVERDUE_SECONDS)
        {
          g_autofree char *when = day_and_time (next);
          g_autofree char *alert = g_strdup_printf (
              _ ("The backup scheduled for %s has not run. Scheduled backups run while the Coffer "
                 "agent runs: log in, or let your user linger."),
              when);
          add_alert (self, "dialog-warning-symbolic", alert);
        }
    }

  if (self->status != NULL)
    {
      g_variant_lookup (self->status, "passphrase-storage", "&s", &storage);
      g_variant_lookup (self->status, "needs-login", "b", &needs_login);
      if (g_strcmp0 (storage, "keyring locked") == 0)
        add_alert (self, "dialog-warning-symbolic",
                   _ ("The keyring is locked; unlock it or log in to run scheduled backups."));
      else if (g_strcmp0 (storage, "missing") == 0)
        add_alert (self, "dialog-error-symbolic",
                   _ ("The passphrase is missing from this computer: backups cannot run. Register "
                      "again with the same server name and passphrase."));
      if (needs_login)
        add_alert (self, "dialog-information-symbolic",
                   _ ("Scheduled backups run only while you are logged in: your user has no "
                      "lingering session (loginctl enable-linger)."));
    }

  {
    GList *alerts = gtk_container_get_children (GTK_CONTAINER (self->alerts_box));
    if (alerts == NULL)
      add_alert (self, "emblem-ok-symbolic", _ ("No alerts."));
    g_list_free (alerts);
  }

  {
    /* The chart, in words, for screen readers. */
    GString *description = g_string_new (NULL);
    for (int day = 0; day < CHART_DAYS; day++)
      {
        g_autoptr (GDateTime) date = g_date_time_add_days (today, day - (CHART_DAYS - 1));
        g_autofree char *name = g_date_time_format (date, "%a");
        g_autofree char *bytes = console_format_bytes (self->day_bytes[day]);
        g_string_append_printf (description, "%s%s: %s", day > 0 ? ", " : "", name, bytes);
      }
    atk_object_set_description (gtk_widget_get_accessible (self->chart), description->str);
    g_string_free (description, TRUE);
  }

  g_clear_pointer (&last_backup, g_variant_unref);
  g_clear_pointer (&warned, g_variant_unref);
}

static gboolean
chart_draw_cb (ConsoleOverviewPage *self, cairo_t *cr, GtkWidget *widget)
{
  GtkStyleContext *context = gtk_widget_get_style_context (widget);
  int width = gtk_widget_get_allocated_width (widget);
  int height = gtk_widget_get_allocated_height (widget);
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autoptr (PangoLayout) layout = gtk_widget_create_pango_layout (widget, NULL);
  GdkRGBA fg, accent;
  guint64 max = 0;
  int label_height, text_width;
  double slot, bar_width, plot_height;

  gtk_style_context_get_color (context, gtk_style_context_get_state (context), &fg);
  if (!gtk_style_context_lookup_color (context, "theme_selected_bg_color", &accent))
    accent = (GdkRGBA){ 0.21, 0.52, 0.89, 1.0 };

  for (int day = 0; day < CHART_DAYS; day++)
    max = MAX (max, self->day_bytes[day]);

  pango_layout_set_text (layout, "Mg", -1);
  pango_layout_get_pixel_size (layout, NULL, &label_height);
  /* Room for a day's name below and its amount above each bar. */
  plot_height = height - 2 * label_height - 8;
  slot = (double) width / CHART_DAYS;
  bar_width = MIN (slot * 0.6, 48);

  for (int day = 0; day < CHART_DAYS; day++)
    {
      g_autoptr (GDateTime) date = g_date_time_add_days (now, day - (CHART_DAYS - 1));
      g_autofree char *name = g_date_time_format (date, "%a");
      g_autofree char *amount = NULL;
      double x = slot * day + (slot - bar_width) / 2;
      double bar = max > 0 ? plot_height * self->day_bytes[day] / (double) max : 0;

      /* The axis, and the bar (at least a hairline, so an empty day shows). */
      cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.25);
      cairo_rectangle (cr, slot * day + 2, label_height + 4 + plot_height, slot - 4, 1);
      cairo_fill (cr);
      gdk_cairo_set_source_rgba (cr, &accent);
      cairo_rectangle (cr, x, label_height + 4 + plot_height - bar, bar_width, bar);
      cairo_fill (cr);

      cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.7);
      pango_layout_set_text (layout, name, -1);
      pango_layout_get_pixel_size (layout, &text_width, NULL);
      cairo_move_to (cr, slot * day + (slot - text_width) / 2, height - label_height);
      pango_cairo_show_layout (cr, layout);

      if (self->day_bytes[day] > 0)
        {
          amount = console_format_bytes (self->day_bytes[day]);
          pango_layout_set_text (layout, amount, -1);
          pango_layout_get_pixel_size (layout, &text_width, NULL);
          cairo_move_to (cr, slot * day + (slot - text_width) / 2, plot_height - bar + 2);
          pango_cairo_show_layout (cr, layout);
        }
    }

  if (gtk_widget_has_visible_focus (widget))
    gtk_render_focus (context, cr, 0, 0, width, height);
  return FALSE;
}

static void
recent_row_activated_cb (ConsoleOverviewPage *self, GtkTreePath *path, GtkTreeViewColumn *column)
{
  GtkTreeIter iter;
  guint64 id;

  if (!gtk_tree_model_get_iter (GTK_TREE_MODEL (self->recent_store), &iter, path))
    return;
  gtk_tree_model_get (GTK_TREE_MODEL (self->recent_store), &iter, RECENT_ID, &id, -1);
  g_signal_emit (self, signals[SIGNAL_JOB_ACTIVATED], 0, id);
}

static void
get_policy_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ConsoleOverviewPage *self;
  g_autoptr (GVariant) policy = NULL;
  g_autoptr (GError) error = NULL;

  if (!coffer_dbus_agent_call_get_policy_finish (COFFER_DBUS_AGENT (source), &policy, result,
                                                 &error) &&
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = user_data;
  if (error != NULL)
    g_debug ("GetPolicy: %s", error->message); /* shown as "not scheduled" */
  g_clear_pointer (&self->policy, g_variant_unref);
  self->policy = g_steal_pointer (&policy);
  self->policy_known = TRUE;
  update_activity (self);
}

static void
list_jobs_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ConsoleOverviewPage *self;
  g_autoptr (GVariant) jobs = NULL;
  g_autoptr (GError) error = NULL;

  if (!coffer_dbus_agent_call_list_jobs_finish (COFFER_DBUS_AGENT (source), &jobs, result,
                                                &error) &&
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = user_data;
  if (error != NULL)
    {
      g_autoptr (GError) shown = coffer_error_from_dbus (error);
      g_autofree char *text =
          g_strdup_printf (_ ("The job history cannot be read: %s"), shown->message);
      gtk_label_set_text (self->last_backup_label, text);
      return;
    }
  g_clear_pointer (&self->jobs, g_variant_unref);
  self->jobs = g_steal_pointer (&jobs);
  self->jobs_known = TRUE;
  update_activity (self);
}

/**
 * console_overview_page_refresh_activity:
 * @self: a #ConsoleOverviewPage
 *
 * Asks the agent again for the policy and the recent jobs.
 */
void
console_overview_page_refresh_activity (ConsoleOverviewPage *self)
{
  g_return_if_fail (CONSOLE_IS_OVERVIEW_PAGE (self));

  if (self->agent == NULL)
    return;
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  coffer_dbus_agent_call_get_policy (self->agent, G_DBUS_CALL_FLAGS_NONE, -1, self->cancellable,
                                     get_policy_cb, self);
  coffer_dbus_agent_call_list_jobs (self->agent, 0, RECENT_LIMIT, "", G_DBUS_CALL_FLAGS_NONE, -1,
                                    self->cancellable, list_jobs_cb, self);
}

static void
monitor_progress_cb (ConsoleOverviewPage *self, guint64 id, GVariant *progress)
{
  GtkTreeModel *model = GTK_TREE_MODEL (self->recent_store);
  GtkTreeIter iter;

  if (!gtk_tree_model_get_iter_first (model, &iter))
    {
      console_overview_page_refresh_activity (self);
      return;
    }
  do
    {
      guint64 row_id;
      gtk_tree_model_get (model, &iter, RECENT_ID, &row_id, -1);
      if (row_id == id)
        {
          g_autofree char *text = NULL;
          int percent;
          console_job_row_texts (progress, &percent, &text);
          gtk_list_store_set (self->recent_store, &iter, RECENT_RUNNING, TRUE, RECENT_NOT_RUNNING,
                              FALSE, RECENT_PROGRESS, MAX (percent, 0), RECENT_PROGRESS_TEXT, text,
                              -1);
          return;
        }
      /* Newest first: a newer job than the first row is not listed yet. */
      if (row_id < id)
        break;
    }
  while (gtk_tree_model_iter_next (model, &iter));
  console_overview_page_refresh_activity (self);
}

static void
monitor_finished_cb (ConsoleOverviewPage *self, guint64 id, const char *status, const char *message)
{
  console_overview_page_refresh_activity (self);
}

/**
 * console_overview_page_set_agent:
 * @self: a #ConsoleOverviewPage
 * @agent: the agent's proxy
 * @monitor: the console's job monitor
 *
 * Lets the page ask for the activity, and follow running jobs.
 */
void
console_overview_page_set_agent (ConsoleOverviewPage *self,
                                 CofferDBusAgent *agent,
                                 ConsoleJobMonitor *monitor)
{
  g_return_if_fail (CONSOLE_IS_OVERVIEW_PAGE (self));

  if (self->monitor != NULL)
    g_signal_handlers_disconnect_by_data (self->monitor, self);
  g_set_object (&self->agent, agent);
  g_set_object (&self->monitor, monitor);
  g_signal_connect_object (monitor, "progress", G_CALLBACK (monitor_progress_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (monitor, "finished", G_CALLBACK (monitor_finished_cb), self,
                           G_CONNECT_SWAPPED);
}

static void
console_overview_page_dispose (GObject *object)
{
  ConsoleOverviewPage *self = CONSOLE_OVERVIEW_PAGE (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->monitor != NULL)
    g_signal_handlers_disconnect_by_data (self->monitor, self);
  g_clear_object (&self->monitor);
  g_clear_object (&self->agent);
  g_clear_pointer (&self->status, g_variant_unref);
  g_clear_pointer (&self->policy, g_variant_unref);
  g_clear_pointer (&self->jobs, g_variant_unref);

  G_OBJECT_CLASS (console_overview_page_parent_class)->dispose (object);
}

static void
console_overview_page_class_init (ConsoleOverviewPageClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = console_overview_page_dispose;

  /**
   * ConsoleOverviewPage::job-activated:
   * @id: the job's number
   *
   * The user asked for a recent job's details.
   */
  signals[SIGNAL_JOB_ACTIVATED] =
      g_signal_new ("job-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                    NULL, G_TYPE_NONE, 1, G_TYPE_UINT64);

  /**
   * ConsoleOverviewPage::retry:
   *
   * The user asked to try reaching the agent again.
   */
  signals[SIGNAL_RETRY] = g_signal_new ("retry", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                        NULL, NULL, NULL, G_TYPE_NONE, 0);

  g_type_ensure (CONSOLE_TYPE_STATUS_PAGE);

  gtk_widget_class_set_template_from_resource (
      widget_class, "/io/github/coffer/Console/console-overview-page.ui");
  gtk_widget_class_bind_template_child (widget_class, ConsoleOverviewPage, state_stack);
  gtk_widget_class_bind_template_child (widget_class, ConsoleOverviewPage, error_page);
  gtk_widget_class_bind_template_child (widget_class, ConsoleOverviewPage, vault_label);
  gtk_widget_class_bind_template_child (widget_class, ConsoleOverviewPage, machine_label);
  gtk_widget_class_bind_template_child (widget_class, ConsoleOverviewPage, location_label);
  gtk_widget_class_bind_template_child (widget_class, ConsoleOverviewPage, registered_at_label);
  gtk_widget_class_bind_template_child (widget_class, ConsoleOverviewPage, last_backup_label);
  gtk_widget_class_bind_template_child (widget_class, ConsoleOverviewPage, next_backup_label);
  gtk_widget_class_bind_template_child (widget_class, ConsoleOverviewPage, alerts_box);
  gtk_widget_class_bind_template_child (widget_class, ConsoleOverviewPage, chart);
  gtk_widget_class_bind_template_child (widget_class, ConsoleOverviewPage, recent_stack);
  gtk_widget_class_bind_template_child (widget_class, ConsoleOverviewPage, recent_store);
  gtk_widget_class_bind_template_callback (widget_class, chart_draw_cb);
  gtk_widget_class_bind_template_callback (widget_class, recent_row_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, register_link_activate_link_cb);
  gtk_widget_class_bind_template_callback (widget_class, retry_button_clicked_cb);
}

static void
console_overview_page_init (ConsoleOverviewPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
console_overview_page_new (void)
{
  return g_object_new (CONSOLE_TYPE_OVERVIEW_PAGE, NULL);
}

/**
 * console_overview_page_show_connecting:
 * @self: a #ConsoleOverviewPage
 *
 * Shows that the agent is being reached (and started if need be).
 */
void
console_overview_page_show_connecting (ConsoleOverviewPage *self)
{
  g_return_if_fail (CONSOLE_IS_OVERVIEW_PAGE (self));

  gtk_stack_set_visible_child_name (self->state_stack, "connecting");
}

static void
set_value (GtkLabel *label, GVariant *status, const char *key)
{
  const char *value = NULL;

  if (!g_variant_lookup (status, key, "&s", &value) || *value == '\0')
    /* Translators: shown for a detail of the registration the agent did not give. */
    value = _ ("Unknown");
  gtk_label_set_text (label, value);
}

static char *
format_registered_at (GVariant *status)
{
  g_autoptr (GDateTime) when = NULL;
  gint64 seconds;

  if (!g_variant_lookup (status, "registered-at", "x", &seconds))
    return g_strdup (_ ("Unknown"));

  when = g_date_time_new_from_unix_local (seconds);
  if (when == NULL)
    return g_strdup (_ ("Unknown"));

  /* Translators: the date this server was registered, as in "21 November 2026".
   * See the strftime(3) manual page for the codes. */
  return g_date_time_format (when, _ ("%-d %B %Y"));
}

/**
 * console_overview_page_show_status:
 * @self: a #ConsoleOverviewPage
 * @status: the a{sv} dictionary returned by the agent's GetStatus
 *
 * Shows the registration @status describes: the vault and this server when
 * registered, an invitation to register when not.
 */
void
console_overview_page_show_status (ConsoleOverviewPage *self, GVariant *status)
{
  g_autofree char *registered_at = NULL;
  gboolean registered = FALSE;

  g_return_if_fail (CONSOLE_IS_OVERVIEW_PAGE (self));
  g_return_if_fail (g_variant_is_of_type (status, G_VARIANT_TYPE_VARDICT));

  g_variant_lookup (status, "registered", "b", &registered);
  if (!registered)
    {
      gtk_stack_set_visible_child_name (self->state_stack, "unregistered");
      return;
    }

  set_value (self->vault_label, status, "vault-name");
  set_value (self->machine_label, status, "machine-name");
  set_value (self->location_label, status, "storage-location");
  registered_at = format_registered_at (status);
  gtk_label_set_text (self->registered_at_label, registered_at);
  g_clear_pointer (&self->status, g_variant_unref);
  self->status = g_variant_ref (status);
  if (!g_str_equal (gtk_stack_get_visible_child_name (self->state_stack), "registered"))
    {
      gtk_stack_set_visible_child_name (self->state_stack, "registered");
      update_activity (self);
    }
  console_overview_page_refresh_activity (self);
}

/**
 * console_overview_page_show_error:
 * @self: a #ConsoleOverviewPage
 * @error: why the agent could not say, as coffer_error_from_dbus() made it
 *
 * Shows @error with a Retry button. An error of the #COFFER_ERROR domain
 * came from the agent itself; any other means the agent was not reached.
 */
void
console_overview_page_show_error (ConsoleOverviewPage *self, const GError *error)
{
  g_return_if_fail (CONSOLE_IS_OVERVIEW_PAGE (self));
  g_return_if_fail (error != NULL);

  if (error->domain == COFFER_ERROR)
    console_status_page_set_title (self->error_page, _ ("The Coffer agent reported a problem"));
  else
    console_status_page_set_title (self->error_page, _ ("Cannot reach the Coffer agent"));
  console_status_page_set_description (self->error_page, error->message);
  gtk_stack_set_visible_child_name (self->state_stack, "error");
}
