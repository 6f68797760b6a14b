/* console-recover-wizard.c: the Recover Data wizard.
 *
 * Getting Started (this server, or another server of the vault with its
 * passphrase) → Select Recovery Point (a calendar whose bold days have
 * points, and the times of the chosen day) → Select Items to Recover (browse
 * the point's lazy tree, or search it by name) → Specify Recovery Options
 * (original or another location; create copies, overwrite or skip what
 * exists; restore permissions) → Confirmation → Recovery Progress.
 *
 * Every agent call is asynchronous: ListPoints when the point page opens
 * (again only when the server chosen changed), ListFolder as folders are
 * opened (ConsoleRecoveryBrowser), FindInPoint, StartRecovery. The progress
 * page follows the job's io.github.coffer.Job1 signals; closing the wizard
 * does not stop the recovery.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "console-recover-wizard.h"
#include "console-recovery-browser.h"
#include "console-util.h"

#include <string.h>

#define SEARCH_LIMIT 10000
#define CALL_TIMEOUT_MS (120 * 1000)

enum
{
  TIMES_COLUMN_ID,
  TIMES_COLUMN_TEXT,
};

enum
{
  RESULTS_COLUMN_CHECKED,
  RESULTS_COLUMN_TEXT,
  RESULTS_COLUMN_PATH,
};

typedef struct
{
  char *id;
  gint64 time;
  char *kind;
} Point;

struct _ConsoleRecoverWizard
{
  GtkAssistant parent_instance;

  CofferDBusAgent *agent; /* NULL in widget tests */
  GCancellable *cancellable;
  GCancellable *points_cancellable;
  GPtrArray *points; /* Point, oldest first */
  char *points_for;  /* the source the points were read for */
  char *browsing;    /* "source point" the browser shows */
  guint results_checked;
  gboolean options_seen;
  CofferDBusJob *job;
  guint64 job_id;

  GtkWidget *source_page;
  GtkToggleButton *this_radio;
  GtkToggleButton *another_radio;
  GtkWidget *another_grid;
  GtkEntry *machine_entry;
  GtkEntry *passphrase_entry;

  GtkWidget *point_page;
  GtkCalendar *calendar;
  GtkListStore *times_store;
  GtkTreeSelection *times_selection;
  GtkSpinner *points_spinner;
  GtkLabel *points_label;

  GtkWidget *items_page;
  GtkStack *items_stack;
  ConsoleRecoveryBrowser *browser;
  GtkSearchEntry *search_entry;
  GtkWidget *search_button;
  GtkTreeView *results_view;
  GtkListStore *results_store;
  GtkSpinner *items_spinner;
  GtkLabel *items_label;

  GtkWidget *options_page;
  GtkToggleButton *original_radio;
  GtkToggleButton *other_radio;
  GtkWidget *other_box;
  GtkEntry *target_entry;
  GtkToggleButton *copy_radio;
  GtkToggleButton *overwrite_radio;
  GtkToggleButton *skip_radio;
  GtkToggleButton *permissions_check;
  GtkLabel *options_error_label;

  GtkWidget *confirm_page;
  GtkLabel *confirm_label;

  GtkWidget *progress_page;
  GtkLabel *progress_title_label;
  GtkProgressBar *progress_bar;
  GtkLabel *progress_label;
};

G_DEFINE_FINAL_TYPE (ConsoleRecoverWizard, console_recover_wizard, GTK_TYPE_ASSISTANT)

static void update_complete (ConsoleRecoverWizard *self);

static void
point_free (Point *point)
{
  g_free (point->id);
  g_free (point->kind);
  g_free (point);
}

/* ---- Source ---- */

static gboolean
another_server (ConsoleRecoverWizard *self)
{
  return gtk_toggle_button_get_active (self->another_radio);
}

/* ListPoints' options: the other server's name and passphrase, or none. */
static GVariant *
source_options (ConsoleRecoverWizard *self)
{
  GVariantDict options;

  g_variant_dict_init (&options, NULL);
  if (another_server (self))
    {
      const char *passphrase = gtk_entry_get_text (self->passphrase_entry);

      g_variant_dict_insert (&options, "machine", "s", gtk_entry_get_text (self->machine_entry));
      g_variant_dict_insert_value (
          &options, "passphrase",
          g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, passphrase, strlen (passphrase), 1));
    }
  return g_variant_dict_end (&options);
}

/* Says which source the points are for, to notice when it changes; the
 * passphrase is part of it (a wrong one is corrected and tried again) but
 * only as a hash. */
static char *
source_key (ConsoleRecoverWizard *self)
{
  g_autofree char *hash = NULL;

  if (!another_server (self))
    return g_strdup ("this");
  hash = g_compute_checksum_for_string (G_CHECKSUM_SHA256,
                                        gtk_entry_get_text (self->passphrase_entry), -1);
  return g_strdup_printf ("%s\n%s", gtk_entry_get_text (self->machine_entry), hash);
}

/* ---- Recovery points ---- */

static Point *
selected_point (ConsoleRecoverWizard *self)
{
  g_autofree char *id = NULL;
  GtkTreeModel *model;
  GtkTreeIter iter;

  if (self->points == NULL ||
      !gtk_tree_selection_get_selected (self->times_selection, &model, &iter))
    return NULL;
  gtk_tree_model_get (model, &iter, TIMES_COLUMN_ID, &id, -1);
  for (guint i = 0; i < self->points->len; i++)
    {
      Point *point = self->points->pdata[i];

      if (g_str_equal (point->id, id))
        return point;
    }
  return NULL;
}

static void
mark_days (ConsoleRecoverWizard *self)
{
  guint year, month;

  gtk_calendar_get_date (self->calendar, &year, &month, NULL);
  gtk_calendar_clear_marks (self->calendar);
  for (guint i = 0; self->points != NULL && i < self->points->len; i++)
    {
      Point *point = self->points->pdata[i];
      g_autoptr (GDateTime) time = g_date_time_new_from_unix_local (point->time);

      if (time != NULL && (guint) g_date_time_get_year (time) == year &&
          (guint) g_date_time_get_month (time) == month + 1)
        gtk_calendar_mark_day (self->calendar, g_date_time_get_day_of_month (time));
    }
}

static void
fill_times (ConsoleRecoverWizard *self)
{
  guint year, month, day;
  GtkTreeIter iter;
  gboolean any = FALSE;

  gtk_calendar_get_date (self->calendar, &year, &month, &day);
  gtk_list_store_clear (self->times_store);
  for (guint i = 0; self->points != NULL && i < self->points->len; i++)
    {
      Point *point = self->points->pdata[i];
      g_autoptr (GDateTime) time = g_date_time_new_from_unix_local (point->time);
      g_autofree char *clock = NULL;
      g_autofree char *text = NULL;

      if (time == NULL || (guint) g_date_time_get_year (time) != year ||
          (guint) g_date_time_get_month (time) != month + 1 ||
          (guint) g_date_time_get_day_of_month (time) != day)
        continue;
      clock = g_date_time_format (time, "%X");
      text = g_str_equal (point->kind, "on-demand")
                 /* Translators: a recovery point's time, made by Back Up Now. */
                 ? g_strdup_printf (_ ("%s (Back Up Now)"), clock)
                 : g_strdup (clock);
      gtk_list_store_insert_with_values (self->times_store, &iter, -1, TIMES_COLUMN_ID, point->id,
                                         TIMES_COLUMN_TEXT, text, -1);
      any = TRUE;
    }
  /* The newest of the day. */
  if (any)
    gtk_tree_selection_select_iter (self->times_selection, &iter);
  update_complete (self);
}

static void
day_selected_cb (ConsoleRecoverWizard *self)
{
  fill_times (self);
}

static void
month_changed_cb (ConsoleRecoverWizard *self)
{
  mark_days (self);
}

static void
show_points_status (ConsoleRecoverWizard *self, gboolean busy, const char *text)
{
  gtk_widget_set_visible (GTK_WIDGET (self->points_spinner), busy);
  if (busy)
    gtk_spinner_start (self->points_spinner);
  else
    gtk_spinner_stop (self->points_spinner);
  gtk_label_set_text (self->points_label, text);
}

static void
show_points (ConsoleRecoverWizard *self, GVariant *list)
{
  GVariantIter iter;
  GVariant *dict;
  Point *newest;
  g_autoptr (GDateTime) time = NULL;
  g_autofree char *text = NULL;

  g_clear_pointer (&self->points, g_ptr_array_unref);
  self->points = g_ptr_array_new_with_free_func ((GDestroyNotify) point_free);
  g_variant_iter_init (&iter, list);
  while ((dict = g_variant_iter_next_value (&iter)) != NULL)
    {
      Point *point = g_new0 (Point, 1);

      g_variant_lookup (dict, "id", "s", &point->id);
      g_variant_lookup (dict, "time", "x", &point->time);
      if (!g_variant_lookup (dict, "kind", "s", &point->kind))
        point->kind = g_strdup ("scheduled");
      if (point->id != NULL)
        g_ptr_array_add (self->points, point);
      else
        point_free (point);
      g_variant_unref (dict);
    }

  if (self->points->len == 0)
    {
      show_points_status (self, FALSE, _ ("There are no recovery points yet: back up first."));
      mark_days (self);
      fill_times (self);
      return;
    }

  newest = self->points->pdata[self->points->len - 1];
  time = g_date_time_new_from_unix_local (newest->time);
  text =
      g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u recovery point.",
                                    "%u recovery points; the newest is chosen.", self->points->len),
                       self->points->len);
  show_points_status (self, FALSE, text);
  /* Select the newest point's day; month-changed and day-selected follow. */
  gtk_calendar_select_day (self->calendar, 1);
  gtk_calendar_select_month (self->calendar, g_date_time_get_month (time) - 1,
                             g_date_time_get_year (time));
  gtk_calendar_select_day (self->calendar, g_date_time_get_day_of_month (time));
  mark_days (self);
  fill_times (self);
}

static void
list_points_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ConsoleRecoverWizard *self = user_data;
  g_autoptr (GVariant) points = NULL;
  g_autoptr (GError) error = NULL;

  if (!coffer_dbus_agent_call_list_points_finish (COFFER_DBUS_AGENT (source), &points, result,
                                                  &error))
    {
      g_autofree char *message = NULL;

      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      message = console_error_message (error);
      g_clear_pointer (&self->points_for, g_free); /* try again next time */
      show_points_status (self, FALSE, message);
      return;
    }
  show_points (self, points);
}

static void
load_points (ConsoleRecoverWizard *self)
{
  g_autofree char *key = source_key (self);

  if (g_strcmp0 (key, self->points_for) == 0 || self->agent == NULL)
    return;
  g_free (self->points_for);
  self->points_for = g_steal_pointer (&key);
  g_clear_pointer (&self->points, g_ptr_array_unref);
  gtk_list_store_clear (self->times_store);
  gtk_calendar_clear_marks (self->calendar);
  show_points_status (self, TRUE, _ ("Reading the recovery points…"));

  g_cancellable_cancel (self->points_cancellable);
  g_clear_object (&self->points_cancellable);
  self->points_cancellable = g_cancellable_new ();
  coffer_dbus_agent_call_list_points (self->agent, source_options (self), G_DBUS_CALL_FLAGS_NONE,
                                      CALL_TIMEOUT_MS, self->points_cancellable, list_points_cb,
                                      self);
}

/**
 * console_recover_wizard_show_points:
 * @self: the wizard
 * @points: ListPoints' points, "aa{sv}"
 *
 * Shows @points on the calendar, as when ListPoints answers; for the widget
 * tests.
 */
void
console_recover_wizard_show_points (ConsoleRecoverWizard *self, GVariant *points)
{
  g_return_if_fail (CONSOLE_IS_RECOVER_WIZARD (self));
  g_free (self->points_for);
  self->points_for = source_key (self);
  show_points (self, points);
}

/* ---- Items ---- */

static void
browser_busy_cb (ConsoleRecoverWizard *self)
{
  gboolean busy = console_recovery_browser_get_busy (self->browser);

  gtk_widget_set_visible (GTK_WIDGET (self->items_spinner), busy);
  if (busy)
    gtk_spinner_start (self->items_spinner);
  else
    gtk_spinner_stop (self->items_spinner);
  gtk_label_set_text (self->items_label, busy ? _ ("Reading the folder…") : "");
}

static void
browser_failed_cb (ConsoleRecoverWizard *self, const GError *error)
{
  g_autofree char *message = console_error_message (error);

  gtk_label_set_text (self->items_label, message);
}

static void
result_toggled_cb (ConsoleRecoverWizard *self, const char *path_text)
{
  GtkTreeIter iter;
  gboolean checked;

  if (!gtk_tree_model_get_iter_from_string (GTK_TREE_MODEL (self->results_store), &iter, path_text))
    return;
  gtk_tree_model_get (GTK_TREE_MODEL (self->results_store), &iter, RESULTS_COLUMN_CHECKED, &checked,
                      -1);
  gtk_list_store_set (self->results_store, &iter, RESULTS_COLUMN_CHECKED, !checked, -1);
  self->results_checked = checked ? self->results_checked - 1 : self->results_checked + 1;
  update_complete (self);
}

/* Enter (or a double-click) checks or unchecks a result, as its box does. */
static void
result_activated_cb (ConsoleRecoverWizard *self, GtkTreePath *path, GtkTreeViewColumn *column)
{
  g_autofree char *text = gtk_tree_path_to_string (path);

  result_toggled_cb (self, text);
}

static void
find_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ConsoleRecoverWizard *self = user_data;
  g_auto (GStrv) paths = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;
  guint n;

  if (!coffer_dbus_agent_call_find_in_point_finish (COFFER_DBUS_AGENT (source), &paths, result,
                                                    &error))
    {
      g_autofree char *message = NULL;

      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      message = console_error_message (error);
      gtk_spinner_stop (self->items_spinner);
      gtk_label_set_text (self->items_label, message);
      gtk_widget_set_sensitive (self->search_button, TRUE);
      return;
    }

  /* Filled while the view does not show it, so rows are not drawn one by one. */
  gtk_tree_view_set_model (self->results_view, NULL);
  gtk_list_store_clear (self->results_store);
  n = g_strv_length (paths);
  for (guint i = n; i > 0; i--)
    {
      g_autofree char *display = g_filename_display_name (paths[i - 1]);

      gtk_list_store_insert_with_values (self->results_store, NULL, 0, RESULTS_COLUMN_TEXT, display,
                                         RESULTS_COLUMN_PATH, paths[i - 1], -1);
    }
  gtk_tree_view_set_model (self->results_view, GTK_TREE_MODEL (self->results_store));
  self->results_checked = 0;

  if (n == 0)
    text = g_strdup (_ ("Nothing matches."));
  else if (n >= SEARCH_LIMIT)
    text = g_strdup_printf (_ ("The first %u matches; narrow the search to see the rest."), n);
  else
    text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u match.", "%u matches.", n), n);
  gtk_spinner_stop (self->items_spinner);
  gtk_widget_hide (GTK_WIDGET (self->items_spinner));
  gtk_label_set_text (self->items_label, text);
  gtk_widget_set_sensitive (self->search_button, TRUE);
  update_complete (self);
}

static void
search_cb (ConsoleRecoverWizard *self)
{
  const char *text = gtk_entry_get_text (GTK_ENTRY (self->search_entry));
  g_autofree char *pattern = NULL;
  Point *point = selected_point (self);

  if (text[0] == '\0' || point == NULL || self->agent == NULL)
    return;
  /* A word alone finds names that hold it. */
  pattern = strpbrk (text, "*?[") != NULL ? g_strdup (text) : g_strdup_printf ("*%s*", text);
  gtk_widget_set_sensitive (self->search_button, FALSE);
  gtk_widget_show (GTK_WIDGET (self->items_spinner));
  gtk_spinner_start (self->items_spinner);
  gtk_label_set_text (self->items_label, _ ("Searching…"));
  coffer_dbus_agent_call_find_in_point (self->agent, point->id, pattern, SEARCH_LIMIT,
                                        source_options (self), G_DBUS_CALL_FLAGS_NONE,
                                        CALL_TIMEOUT_MS, self->cancellable, find_cb, self);
}

/* What to recover: the checked rows of the tree and of the search. */
static GPtrArray *
chosen_paths (ConsoleRecoverWizard *self)
{
  GPtrArray *paths = console_recovery_browser_get_checked (self->browser);
  GtkTreeIter iter;
  gboolean valid;

  for (valid = gtk_tree_model_get_iter_first (GTK_TREE_MODEL (self->results_store), &iter); valid;
       valid = gtk_tree_model_iter_next (GTK_TREE_MODEL (self->results_store), &iter))
    {
      gboolean checked = FALSE;
      char *path = NULL;

      gtk_tree_model_get (GTK_TREE_MODEL (self->results_store), &iter, RESULTS_COLUMN_CHECKED,
                          &checked, RESULTS_COLUMN_PATH, &path, -1);
      if (checked && !g_ptr_array_find_with_equal_func (paths, path, g_str_equal, NULL))
        g_ptr_array_add (paths, path);
      else
        g_free (path);
    }
  return paths;
}

static void
load_items (ConsoleRecoverWizard *self)
{
  Point *point = selected_point (self);
  g_autofree char *key = NULL;

  if (point == NULL)
    return;
  key = g_strdup_printf ("%s\n%s", self->points_for, point->id);
  if (g_strcmp0 (key, self->browsing) == 0)
    return;
  g_free (self->browsing);
  self->browsing = g_steal_pointer (&key);
  gtk_list_store_clear (self->results_store);
  self->results_checked = 0;
  gtk_label_set_text (self->items_label, "");
  console_recovery_browser_set_point (self->browser, self->agent, point->id, source_options (self));
}

/* ---- Options ---- */

static const char *
target_problem (ConsoleRecoverWizard *self)
{
  const char *target = gtk_entry_get_text (self->target_entry);

  if (!gtk_toggle_button_get_active (self->other_radio))
    return NULL;
  if (!g_path_is_absolute (target))
    return _ ("Enter the full path of an existing folder, starting with “/”.");
  return NULL;
}

static void
browse_target_response_cb (GtkNativeDialog *chooser, int response, gpointer user_data)
{
  ConsoleRecoverWizard *self = user_data;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autofree char *folder = gtk_file_chooser_get_filename (GTK_FILE_CHOOSER (chooser));

      if (folder != NULL)
        gtk_entry_set_text (self->target_entry, folder);
    }
  g_object_unref (chooser);
  g_object_unref (self);
}

static void
browse_target_cb (ConsoleRecoverWizard *self)
{
  GtkFileChooserNative *chooser;

  chooser = gtk_file_chooser_native_new (_ ("Choose Where to Recover"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, _ ("_Select"),
                                         _ ("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  gtk_file_chooser_set_local_only (GTK_FILE_CHOOSER (chooser), TRUE);
  g_signal_connect (chooser, "response", G_CALLBACK (browse_target_response_cb),
                    g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static const char *
conflict_choice (ConsoleRecoverWizard *self)
{
  if (gtk_toggle_button_get_active (self->overwrite_radio))
    return "overwrite";
  if (gtk_toggle_button_get_active (self->skip_radio))
    return "skip";
  return "copy";
}

/* ---- Pages ---- */

static void
update_complete (ConsoleRecoverWizard *self)
{
  GtkAssistant *assistant = GTK_ASSISTANT (self);
  gboolean another = another_server (self);
  const char *target = target_problem (self);
  const char *target_text = gtk_entry_get_text (self->target_entry);

  gtk_widget_set_sensitive (self->another_grid, another);
  gtk_assistant_set_page_complete (assistant, self->source_page,
                                   !another ||
                                       (gtk_entry_get_text (self->machine_entry)[0] != '\0' &&
                                        gtk_entry_get_text (self->passphrase_entry)[0] != '\0'));
  gtk_assistant_set_page_complete (assistant, self->point_page, selected_point (self) != NULL);
  gtk_assistant_set_page_complete (
      assistant, self->items_page,
      console_recovery_browser_get_checked_count (self->browser) + self->results_checked > 0);

  gtk_widget_set_sensitive (self->other_box, gtk_toggle_button_get_active (self->other_radio));
  gtk_label_set_text (self->options_error_label, target != NULL ? target : "");
  gtk_widget_set_visible (GTK_WIDGET (self->options_error_label),
                          target != NULL && target_text[0] != '\0');
  /* Only once seen: GtkAssistant offers a "Finish" that skips to the
   * confirmation when every page before it is complete. */
  gtk_assistant_set_page_complete (assistant, self->options_page,
                                   self->options_seen && target == NULL);
}

static void
fill_confirmation (ConsoleRecoverWizard *self)
{
  g_autoptr (GString) text = g_string_new (NULL);
  g_autoptr (GPtrArray) paths = chosen_paths (self);
  Point *point = selected_point (self);
  g_autoptr (GDateTime) time = point != NULL ? g_date_time_new_from_unix_local (point->time) : NULL;
  g_autofree char *when = time != NULL ? g_date_time_format (time, "%c") : g_strdup ("");
  const char *conflict = conflict_choice (self);

  g_string_append_printf (text, "%s\n    %s\n\n", _ ("From:"),
                          another_server (self) ? gtk_entry_get_text (self->machine_entry)
                                                : _ ("This server"));
  g_string_append_printf (text, "%s\n    %s\n\n", _ ("Recovery point:"), when);
  g_string_append_printf (text, "%s\n", _ ("Items:"));
  for (guint i = 0; i < paths->len && i < 10; i++)
    {
      g_autofree char *display = g_filename_display_name (paths->pdata[i]);

      g_string_append_printf (text, "    %s\n", display);
    }
  if (paths->len > 10)
    {
      g_string_append (text, "    ");
      g_string_append_printf (text, _ ("and %u more"), paths->len - 10);
      g_string_append_c (text, '\n');
    }
  g_string_append_printf (text, "\n%s\n    %s\n\n", _ ("Recover to:"),
                          gtk_toggle_button_get_active (self->other_radio)
                              ? gtk_entry_get_text (self->target_entry)
                              : _ ("The original location"));
  g_string_append_printf (text, "%s\n    %s\n\n", _ ("When an item exists:"),
                          g_str_equal (conflict, "overwrite") ? _ ("Overwrite it")
                          : g_str_equal (conflict, "skip")    ? _ ("Do not recover it")
                                                              : _ ("Create a copy"));
  g_string_append_printf (
      text, "%s\n    %s\n\n", _ ("Permissions:"),
      gtk_toggle_button_get_active (self->permissions_check) ? _ ("Restored") : _ ("Not restored"));
  g_string_append (text, _ ("Press Recover to start."));
  gtk_label_set_text (self->confirm_label, text->str);
}

static void
prepare_cb (ConsoleRecoverWizard *self, GtkWidget *page)
{
  if (page == self->point_page)
    load_points (self);
  else if (page == self->items_page)
    load_items (self);
  else if (page == self->options_page)
    self->options_seen = TRUE;
  else if (page == self->confirm_page)
    {
      fill_confirmation (self);
      gtk_assistant_set_page_complete (GTK_ASSISTANT (self), page, TRUE);
    }
  update_complete (self);
}

/* ---- Recovering ---- */

static void
show_finished (ConsoleRecoverWizard *self, const char *status, const char *message)
{
  const char *title =
      g_str_equal (status, "completed") ? _ ("The recovery is complete.")
      : g_str_equal (status, "warnings")
          ? _ ("The recovery completed with warnings; the Jobs page lists what was not recovered.")
      : g_str_equal (status, "cancelled")
          ? _ ("The recovery was cancelled; what it recovered stays.")
          : _ ("The recovery failed.");

  gtk_progress_bar_set_fraction (self->progress_bar, g_str_equal (status, "failed") ? 0.0 : 1.0);
  gtk_progress_bar_set_text (self->progress_bar, NULL);
  gtk_label_set_text (self->progress_title_label, title);
  gtk_label_set_text (self->progress_label, message);
  gtk_widget_set_visible (GTK_WIDGET (self->progress_bar), !g_str_equal (status, "failed"));
}

static void
job_progress_cb (ConsoleRecoverWizard *self, GVariant *progress)
{
  const char *phase = "";
  guint64 bytes = 0, files = 0, failed = 0;
  double rate = 0;
  gint64 eta = -1;
  g_autofree char *size = NULL;
  g_autofree char *text = NULL;
  int percent = console_job_progress_percent (progress);

  g_variant_lookup (progress, "phase", "&s", &phase);
  g_variant_lookup (progress, "bytes-scanned", "t", &bytes);
  g_variant_lookup (progress, "files-backed-up", "t", &files);
  g_variant_lookup (progress, "files-failed", "t", &failed);
  g_variant_lookup (progress, "rate", "d", &rate);
  g_variant_lookup (progress, "eta", "x", &eta);

  size = g_format_size (bytes);
  text = g_strdup_printf (_ ("%s — %" G_GUINT64_FORMAT " files, %s recovered"), phase, files, size);
  gtk_label_set_text (self->progress_label, text);
  if (percent >= 0 && eta >= 0 && rate > 0)
    {
      g_autofree char *rate_text = console_format_rate (rate);
      g_autofree char *eta_text = console_format_duration (eta);
      /* Translators: a recovery's bar: percent done, rate, time left. */
      g_autofree char *bar =
          g_strdup_printf (_ ("%d %% · %s · %s left"), percent, rate_text, eta_text);

      gtk_progress_bar_set_fraction (self->progress_bar, percent / 100.0);
      gtk_progress_bar_set_text (self->progress_bar, bar);
    }
  else if (percent >= 0)
    {
      g_autofree char *bar = g_strdup_printf ("%d %%", percent);

      gtk_progress_bar_set_fraction (self->progress_bar, percent / 100.0);
      gtk_progress_bar_set_text (self->progress_bar, bar);
    }
  else
    gtk_progress_bar_pulse (self->progress_bar);
}

static void
job_finished_cb (ConsoleRecoverWizard *self, const char *status, const char *message)
{
  show_finished (self, status, message);
}

static void
get_job_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ConsoleRecoverWizard *self = user_data;
  g_autoptr (GVariant) job = NULL;
  g_autoptr (GError) error = NULL;
  const char *status = "running";
  const char *message = "";

  if (!coffer_dbus_agent_call_get_job_finish (COFFER_DBUS_AGENT (source), &job, result, &error))
    return; /* the signals still tell; nothing more to say here */
  g_variant_lookup (job, "status", "&s", &status);
  g_variant_lookup (job, "message", "&s", &message);
  if (!g_str_equal (status, "running") && !g_str_equal (status, "queued"))
    show_finished (self, status, message);
}

static void
job_proxy_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ConsoleRecoverWizard *self = user_data;
  g_autoptr (GError) error = NULL;
  CofferDBusJob *job = coffer_dbus_job_proxy_new_finish (result, &error);

  if (job == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("Cannot follow the recovery job: %s", error->message);
      return;
    }
  self->job = job;
  g_signal_connect_object (job, "progress", G_CALLBACK (job_progress_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (job, "finished", G_CALLBACK (job_finished_cb), self, G_CONNECT_SWAPPED);
  /* It may have ended before the signals were connected: ask. */
  coffer_dbus_agent_call_get_job (self->agent, self->job_id, G_DBUS_CALL_FLAGS_NONE, -1,
                                  self->cancellable, get_job_cb, self);
}

static void
start_recovery_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ConsoleRecoverWizard *self = user_data;
  g_autofree char *job_path = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *title = NULL;

  if (!coffer_dbus_agent_call_start_recovery_finish (COFFER_DBUS_AGENT (source), &job_path,
                                                     &self->job_id, result, &error))
    {
      g_autofree char *message = NULL;

      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      message = console_error_message (error);
      gtk_label_set_text (self->progress_title_label, _ ("The recovery could not start."));
      gtk_label_set_text (self->progress_label, message);
      gtk_widget_hide (GTK_WIDGET (self->progress_bar));
      gtk_assistant_set_page_complete (GTK_ASSISTANT (self), self->progress_page, TRUE);
      return;
    }

  title = g_strdup_printf (_ ("Recovering (job %" G_GUINT64_FORMAT ")…"), self->job_id);
  gtk_label_set_text (self->progress_title_label, title);
  gtk_assistant_set_page_complete (GTK_ASSISTANT (self), self->progress_page, TRUE);
  coffer_dbus_job_proxy_new (g_dbus_proxy_get_connection (G_DBUS_PROXY (self->agent)),
                             G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
                             g_dbus_proxy_get_name (G_DBUS_PROXY (self->agent)), job_path,
                             self->cancellable, job_proxy_cb, self);
}

static void
apply_cb (ConsoleRecoverWizard *self)
{
  g_autoptr (GPtrArray) paths = chosen_paths (self);
  Point *point = selected_point (self);
  g_autoptr (GVariant) source = source_options (self);
  GVariantDict options;

  gtk_assistant_set_page_complete (GTK_ASSISTANT (self), self->progress_page, FALSE);
  gtk_label_set_text (self->progress_title_label, _ ("Starting the recovery…"));
  gtk_label_set_text (self->progress_label, "");
  gtk_widget_show (GTK_WIDGET (self->progress_bar));
  gtk_progress_bar_set_fraction (self->progress_bar, 0);
  if (self->agent == NULL || point == NULL)
    return;

  g_variant_dict_init (&options, g_variant_ref_sink (source));
  if (gtk_toggle_button_get_active (self->other_radio))
    g_variant_dict_insert_value (
        &options, "to", g_variant_new_bytestring (gtk_entry_get_text (self->target_entry)));
  g_variant_dict_insert (&options, "conflict", "s", conflict_choice (self));
  g_variant_dict_insert (&options, "permissions", "b",
                         gtk_toggle_button_get_active (self->permissions_check));
  g_ptr_array_add (paths, NULL);
  coffer_dbus_agent_call_start_recovery (
      self->agent, point->id, (const char *const *) paths->pdata, g_variant_dict_end (&options),
      G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS, self->cancellable, start_recovery_cb, self);
}

/* ---- Construction ---- */

static void
console_recover_wizard_dispose (GObject *object)
{
  ConsoleRecoverWizard *self = CONSOLE_RECOVER_WIZARD (object);

  g_cancellable_cancel (self->cancellable);
  g_cancellable_cancel (self->points_cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->points_cancellable);
  if (self->job != NULL)
    g_signal_handlers_disconnect_by_data (self->job, self);
  g_clear_object (&self->job);
  g_clear_object (&self->agent);
  G_OBJECT_CLASS (console_recover_wizard_parent_class)->dispose (object);
}

static void
console_recover_wizard_finalize (GObject *object)
{
  ConsoleRecoverWizard *self = CONSOLE_RECOVER_WIZARD (object);

  g_clear_pointer (&self->points, g_ptr_array_unref);
  g_free (self->points_for);
  g_free (self->browsing);
  G_OBJECT_CLASS (console_recover_wizard_parent_class)->finalize (object);
}

static void
console_recover_wizard_class_init (ConsoleRecoverWizardClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = console_recover_wizard_dispose;
  object_class->finalize = console_recover_wizard_finalize;

  g_type_ensure (CONSOLE_TYPE_RECOVERY_BROWSER);

  gtk_widget_class_set_template_from_resource (
      widget_class, "/io/github/coffer/Console/console-recover-wizard.ui");
#define BIND(name) gtk_widget_class_bind_template_child (widget_class, ConsoleRecoverWizard, name)
  BIND (source_page);
  BIND (this_radio);
  BIND (another_radio);
  BIND (another_grid);
  BIND (machine_entry);
  BIND (passphrase_entry);
  BIND (point_page);
  BIND (calendar);
  BIND (times_store);
  BIND (times_selection);
  BIND (points_spinner);
  BIND (points_label);
  BIND (items_page);
  BIND (items_stack);
  BIND (browser);
  BIND (search_entry);
  BIND (search_button);
  BIND (results_view);
  BIND (results_store);
  BIND (items_spinner);
  BIND (items_label);
  BIND (options_page);
  BIND (original_radio);
  BIND (other_radio);
  BIND (other_box);
  BIND (target_entry);
  BIND (copy_radio);
  BIND (overwrite_radio);
  BIND (skip_radio);
  BIND (permissions_check);
  BIND (options_error_label);
  BIND (confirm_page);
  BIND (confirm_label);
  BIND (progress_page);
  BIND (progress_title_label);
  BIND (progress_bar);
  BIND (progress_label);
#undef BIND
  gtk_widget_class_bind_template_callback (widget_class, prepare_cb);
  gtk_widget_class_bind_template_callback (widget_class, apply_cb);
  gtk_widget_class_bind_template_callback (widget_class, gtk_widget_destroy);
  gtk_widget_class_bind_template_callback (widget_class, update_complete);
  gtk_widget_class_bind_template_callback (widget_class, day_selected_cb);
  gtk_widget_class_bind_template_callback (widget_class, month_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, browser_busy_cb);
  gtk_widget_class_bind_template_callback (widget_class, browser_failed_cb);
  gtk_widget_class_bind_template_callback (widget_class, result_toggled_cb);
  gtk_widget_class_bind_template_callback (widget_class, result_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, search_cb);
  gtk_widget_class_bind_template_callback (widget_class, browse_target_cb);
}

static void
console_recover_wizard_init (ConsoleRecoverWizard *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
  /* The confirmation page's button starts the recovery: say so. */
  console_assistant_set_apply_label (GTK_ASSISTANT (self), _ ("_Recover"));
  update_complete (self);
}

/**
 * console_recover_wizard_new:
 * @parent: the main window
 * @agent: (nullable): the agent; %NULL only in widget tests
 *
 * Returns: (transfer full): the wizard, on Getting Started.
 */
ConsoleRecoverWizard *
console_recover_wizard_new (GtkWindow *parent, CofferDBusAgent *agent)
{
  ConsoleRecoverWizard *self;

  self = g_object_new (CONSOLE_TYPE_RECOVER_WIZARD, "transient-for", parent, "use-header-bar",
                       FALSE, NULL);
  self->agent = agent != NULL ? g_object_ref (agent) : NULL;
  return self;
}
