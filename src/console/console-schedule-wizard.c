/* console-schedule-wizard.c: the Schedule Backup wizard.
 *
 * Without a schedule: Getting Started → Select Items to Back Up (with
 * Exclusion Settings) → Specify Backup Schedule → Select Retention Policy →
 * Confirmation → progress and result. With one, the wizard opens on "Modify
 * or Stop a Scheduled Backup" with the reference's three choices ("Re-enable
 * backup schedule" in place of pausing when it is paused); making changes
 * goes through the same pages, filled from the policy, and stopping with
 * deletion asks for the vault's name first.
 *
 * Pages that a choice skips are hidden, so GtkAssistant's own page order
 * (the next visible page) is the wizard's path. The widgets refuse what the
 * agent would refuse: the spin buttons hold each retention rule's range, a
 * fourth backup time is refused with the reference's message, times are
 * half-hour slots. The agent is only called once the user presses Apply, and
 * asynchronously; what it says — warnings or an error — shows on the last
 * page.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "console-schedule-wizard.h"
#include "console-exclusion-dialog.h"
#include "console-util.h"

#include <string.h>

#define MAX_TIMES 3
#define CALL_TIMEOUT_MS (120 * 1000)

typedef enum
{
  MODE_SAVE,
  MODE_PAUSE,
  MODE_RESUME,
  MODE_DELETE,
} Mode;

struct _ConsoleScheduleWizard
{
  GtkAssistant parent_instance;

  CofferDBusAgent *agent; /* NULL in widget tests */
  GCancellable *cancellable;
  char *vault_name;
  gboolean has_schedule;
  gboolean paused;
  gboolean retention_seen;
  GStrv old_items;
  GStrv old_exclusions;

  GtkWidget *intro_page;
  GtkWidget *modify_page;
  GtkLabel *modify_state_label;
  GtkToggleButton *modify_radio;
  GtkToggleButton *pause_radio;
  GtkToggleButton *resume_radio;
  GtkToggleButton *delete_radio;

  GtkWidget *items_page;
  GtkListStore *items_store;
  GtkTreeSelection *items_selection;
  GtkWidget *remove_items_button;
  GtkListStore *exclusions_store;
  GtkLabel *exclusions_summary_label;

  GtkWidget *schedule_page;
  GtkToggleButton *daily_radio;
  GtkToggleButton *weekly_radio;
  GtkWidget *weekdays_box;
  GtkToggleButton *weekday_checks[7];
  GtkBox *times_box;
  GtkWidget *add_time_button;
  GtkLabel *times_error_label;

  GtkWidget *retention_page;
  GtkToggleButton *daily_check;
  GtkToggleButton *weekly_check;
  GtkToggleButton *monthly_check;
  GtkToggleButton *yearly_check;
  GtkSpinButton *daily_spin;
  GtkSpinButton *weekly_spin;
  GtkSpinButton *monthly_spin;
  GtkSpinButton *yearly_spin;

  GtkWidget *stop_page;
  GtkLabel *stop_label;
  GtkEntry *vault_name_entry;

  GtkWidget *confirm_page;
  GtkLabel *confirm_label;

  GtkWidget *summary_page;
  GtkSpinner *summary_spinner;
  GtkImage *summary_image;
  GtkLabel *summary_label;
};

G_DEFINE_FINAL_TYPE (ConsoleScheduleWizard, console_schedule_wizard, GTK_TYPE_ASSISTANT)

static void update_complete (ConsoleScheduleWizard *self);

static Mode
current_mode (ConsoleScheduleWizard *self)
{
  if (!self->has_schedule && !self->paused)
    return MODE_SAVE;
  if (gtk_toggle_button_get_active (self->pause_radio))
    return MODE_PAUSE;
  if (gtk_toggle_button_get_active (self->resume_radio))
    return MODE_RESUME;
  if (gtk_toggle_button_get_active (self->delete_radio))
    return MODE_DELETE;
  return MODE_SAVE;
}

/* ---- Items ---- */

static GPtrArray *
store_strings (GtkListStore *store, int column)
{
  GPtrArray *strings = g_ptr_array_new_with_free_func (g_free);
  GtkTreeIter iter;
  gboolean valid;

  for (valid = gtk_tree_model_get_iter_first (GTK_TREE_MODEL (store), &iter); valid;
       valid = gtk_tree_model_iter_next (GTK_TREE_MODEL (store), &iter))
    {
      char *text = NULL;

      gtk_tree_model_get (GTK_TREE_MODEL (store), &iter, column, &text, -1);
      g_ptr_array_add (strings, text);
    }
  g_ptr_array_add (strings, NULL);
  return strings;
}

static void
add_item (ConsoleScheduleWizard *self, const char *path)
{
  g_autoptr (GPtrArray) items = store_strings (self->items_store, 0);

  if (g_strv_contains ((const char *const *) items->pdata, path))
    return;
  gtk_list_store_insert_with_values (self->items_store, NULL, -1, 0, path, -1);
}

static void
add_items_response_cb (GtkNativeDialog *chooser, int response, gpointer user_data)
{
  ConsoleScheduleWizard *self = CONSOLE_SCHEDULE_WIZARD (user_data);

  if (response == GTK_RESPONSE_ACCEPT)
    {
      GSList *files = gtk_file_chooser_get_filenames (GTK_FILE_CHOOSER (chooser));

      for (GSList *l = files; l != NULL; l = l->next)
        add_item (self, l->data);
      g_slist_free_full (files, g_free);
      update_complete (self);
    }
  g_object_unref (chooser);
  g_object_unref (self);
}

static void
choose_items (ConsoleScheduleWizard *self, GtkFileChooserAction action, const char *title)
{
  GtkFileChooserNative *chooser;

  chooser =
      gtk_file_chooser_native_new (title, GTK_WINDOW (self), action, _ ("_Add"), _ ("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  gtk_file_chooser_set_select_multiple (GTK_FILE_CHOOSER (chooser), TRUE);
  gtk_file_chooser_set_local_only (GTK_FILE_CHOOSER (chooser), TRUE);
  /* Start at home, not at the recent files. */
  gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (chooser), g_get_home_dir ());
  g_signal_connect (chooser, "response", G_CALLBACK (add_items_response_cb), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
add_folders_cb (ConsoleScheduleWizard *self)
{
  choose_items (self, GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, _ ("Choose Folders to Back Up"));
}

static void
add_files_cb (ConsoleScheduleWizard *self)
{
  choose_items (self, GTK_FILE_CHOOSER_ACTION_OPEN, _ ("Choose Files to Back Up"));
}

static void
remove_items_cb (ConsoleScheduleWizard *self)
{
  GList *rows = gtk_tree_selection_get_selected_rows (self->items_selection, NULL);

  /* Last first, so the earlier paths stay valid. */
  rows = g_list_reverse (rows);
  for (GList *l = rows; l != NULL; l = l->next)
    {
      GtkTreeIter iter;

      if (gtk_tree_model_get_iter (GTK_TREE_MODEL (self->items_store), &iter, l->data))
        gtk_list_store_remove (self->items_store, &iter);
    }
  g_list_free_full (rows, (GDestroyNotify) gtk_tree_path_free);
  update_complete (self);
}

static void
items_selection_changed_cb (ConsoleScheduleWizard *self, GtkTreeSelection *selection)
{
  gtk_widget_set_sensitive (self->remove_items_button,
                            gtk_tree_selection_count_selected_rows (selection) > 0);
}

static void
update_exclusions_summary (ConsoleScheduleWizard *self)
{
  int count = gtk_tree_model_iter_n_children (GTK_TREE_MODEL (self->exclusions_store), NULL);
  g_autofree char *text = NULL;

  if (count == 0)
    text = g_strdup (_ ("Nothing is excluded."));
  else
    text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%d exclusion: see Exclusion Settings.",
                                         "%d exclusions: see Exclusion Settings.", count),
                            count);
  gtk_label_set_text (self->exclusions_summary_label, text);
}

static void
exclusion_settings_cb (ConsoleScheduleWizard *self)
{
  ConsoleExclusionDialog *dialog =
      console_exclusion_dialog_new (GTK_WINDOW (self), self->exclusions_store);

  gtk_window_present (GTK_WINDOW (dialog));
}

/* ---- Schedule ---- */

static guint
count_times (ConsoleScheduleWizard *self)
{
  g_autoptr (GList) rows = gtk_container_get_children (GTK_CONTAINER (self->times_box));

  return g_list_length (rows);
}

static void
renumber_times (ConsoleScheduleWizard *self)
{
  g_autoptr (GList) rows = gtk_container_get_children (GTK_CONTAINER (self->times_box));
  guint n = 1;

  for (GList *l = rows; l != NULL; l = l->next, n++)
    {
      g_autoptr (GList) children = gtk_container_get_children (GTK_CONTAINER (l->data));
      g_autofree char *combo_name = g_strdup_printf (_ ("Backup time %u"), n);
      g_autofree char *remove_name = g_strdup_printf (_ ("Remove backup time %u"), n);

      console_set_accessible_name (children->data, combo_name);
      console_set_accessible_name (children->next->data, remove_name);
      /* The last time cannot go: a schedule needs one. */
      gtk_widget_set_sensitive (children->next->data, rows->next != NULL);
    }
}

static void
show_times_error (ConsoleScheduleWizard *self, const char *message)
{
  gtk_label_set_text (self->times_error_label, message != NULL ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->times_error_label), message != NULL);
}

static void
remove_time_cb (GtkButton *button, ConsoleScheduleWizard *self)
{
  gtk_widget_destroy (gtk_widget_get_parent (GTK_WIDGET (button)));
  renumber_times (self);
  show_times_error (self, NULL);
  update_complete (self);
}

static void
time_changed_cb (GtkComboBox *combo, ConsoleScheduleWizard *self)
{
  update_complete (self);
}

/* Adds a time row showing @time; refuses a fourth, saying so. */
static gboolean
add_time (ConsoleScheduleWizard *self, const char *time)
{
  GtkWidget *row;
  GtkWidget *combo;
  GtkWidget *remove;

  if (count_times (self) >= MAX_TIMES)
    {
      show_times_error (self, _ ("Maximum allowed is three times a day"));
      return FALSE;
    }
  show_times_error (self, NULL);

  row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  combo = gtk_combo_box_text_new ();
  console_fill_time_combo (GTK_COMBO_BOX_TEXT (combo));
  gtk_combo_box_set_active_id (GTK_COMBO_BOX (combo), time);
  g_signal_connect_object (combo, "changed", G_CALLBACK (time_changed_cb), self, 0);
  remove = gtk_button_new_from_icon_name ("list-remove-symbolic", GTK_ICON_SIZE_BUTTON);
  gtk_widget_set_tooltip_text (remove, _ ("Remove this time"));
  g_signal_connect_object (remove, "clicked", G_CALLBACK (remove_time_cb), self, 0);
  gtk_container_add (GTK_CONTAINER (row), combo);
  gtk_container_add (GTK_CONTAINER (row), remove);
  gtk_widget_show_all (row);
  gtk_container_add (GTK_CONTAINER (self->times_box), row);
  renumber_times (self);
  update_complete (self);
  return TRUE;
}

static void
add_time_cb (ConsoleScheduleWizard *self)
{
  g_autoptr (GList) rows = gtk_container_get_children (GTK_CONTAINER (self->times_box));
  char next[6] = "12:00";

  /* Offer a time six hours after the last one. */
  if (rows != NULL)
    {
      g_autoptr (GList) children = gtk_container_get_children (g_list_last (rows)->data);
      const char *last = gtk_combo_box_get_active_id (children->data);
      guint hours = 0, minutes = 0;

      if (last != NULL && sscanf (last, "%u:%u", &hours, &minutes) == 2)
        g_snprintf (next, sizeof next, "%02u:%02u", (hours + 6) % 24, minutes);
    }
  add_time (self, next);
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* The chosen times, sorted, or NULL with @error_out set when two are equal. */
static GStrv
chosen_times (ConsoleScheduleWizard *self, const char **error_out)
{
  g_autoptr (GList) rows = gtk_container_get_children (GTK_CONTAINER (self->times_box));
  g_autoptr (GPtrArray) times = g_ptr_array_new_with_free_func (g_free);

  *error_out = NULL;
  for (GList *l = rows; l != NULL; l = l->next)
    {
      g_autoptr (GList) children = gtk_container_get_children (GTK_CONTAINER (l->data));
      const char *time = gtk_combo_box_get_active_id (children->data);

      if (time == NULL)
        continue;
      for (guint i = 0; i < times->len; i++)
        if (g_str_equal (times->pdata[i], time))
          {
            *error_out = _ ("Choose a different time for each backup of the day.");
            return NULL;
          }
      g_ptr_array_add (times, g_strdup (time));
    }
  g_ptr_array_sort (times, compare_strings);
  g_ptr_array_add (times, NULL);
  return (GStrv) g_ptr_array_free (g_steal_pointer (&times), FALSE);
}

static GStrv
chosen_weekdays (ConsoleScheduleWizard *self)
{
  GPtrArray *days = g_ptr_array_new ();

  if (gtk_toggle_button_get_active (self->weekly_radio))
    for (guint day = 0; day < 7; day++)
      if (gtk_toggle_button_get_active (self->weekday_checks[day]))
        g_ptr_array_add (days, g_strdup (console_weekday_key (day)));
  g_ptr_array_add (days, NULL);
  return (GStrv) g_ptr_array_free (days, FALSE);
}

static void
schedule_kind_toggled_cb (ConsoleScheduleWizard *self)
{
  gtk_widget_set_sensitive (self->weekdays_box, gtk_toggle_button_get_active (self->weekly_radio));
  update_complete (self);
}

static void
make_weekday_checks (ConsoleScheduleWizard *self)
{
  for (guint day = 0; day < 7; day++)
    {
      GtkWidget *check = gtk_check_button_new_with_label (console_weekday_short_name (day));

      console_set_accessible_name (check, console_weekday_name (day));
      g_signal_connect_object (check, "toggled", G_CALLBACK (update_complete), self,
                               G_CONNECT_SWAPPED);
      gtk_widget_show (check);
      gtk_container_add (GTK_CONTAINER (self->weekdays_box), check);
      self->weekday_checks[day] = GTK_TOGGLE_BUTTON (check);
    }
}

/* ---- Retention ---- */

static void
retention_toggled_cb (ConsoleScheduleWizard *self)
{
  gtk_widget_set_sensitive (GTK_WIDGET (self->daily_spin),
                            gtk_toggle_button_get_active (self->daily_check));
  gtk_widget_set_sensitive (GTK_WIDGET (self->weekly_spin),
                            gtk_toggle_button_get_active (self->weekly_check));
  gtk_widget_set_sensitive (GTK_WIDGET (self->monthly_spin),
                            gtk_toggle_button_get_active (self->monthly_check));
  gtk_widget_set_sensitive (GTK_WIDGET (self->yearly_spin),
                            gtk_toggle_button_get_active (self->yearly_check));
  update_complete (self);
}

static guint32
retention_value (GtkToggleButton *check, GtkSpinButton *spin)
{
  if (!gtk_toggle_button_get_active (check))
    return 0;
  gtk_spin_button_update (spin);
  return (guint32) gtk_spin_button_get_value_as_int (spin);
}

static gboolean
any_retention (ConsoleScheduleWizard *self)
{
  return gtk_toggle_button_get_active (self->daily_check) ||
         gtk_toggle_button_get_active (self->weekly_check) ||
         gtk_toggle_button_get_active (self->monthly_check) ||
         gtk_toggle_button_get_active (self->yearly_check);
}

static void
set_retention (GtkToggleButton *check, GtkSpinButton *spin, GVariant *policy, const char *key)
{
  guint32 value = 0;

  if (!g_variant_lookup (policy, key, "u", &value))
    return;
  gtk_toggle_button_set_active (check, value > 0);
  if (value > 0)
    gtk_spin_button_set_value (spin, value);
}

/* ---- Pages ---- */

static void
update_complete (ConsoleScheduleWizard *self)
{
  GtkAssistant *assistant = GTK_ASSISTANT (self);
  Mode mode = current_mode (self);
  gboolean changing = mode == MODE_SAVE;
  const char *times_error = NULL;
  g_auto (GStrv) times = chosen_times (self, &times_error);
  g_auto (GStrv) weekdays = chosen_weekdays (self);
  gboolean schedule_ok;

  gtk_widget_set_visible (self->items_page, changing);
  gtk_widget_set_visible (self->schedule_page, changing);
  gtk_widget_set_visible (self->retention_page, changing);
  gtk_widget_set_visible (self->stop_page, mode == MODE_DELETE);

  gtk_assistant_set_page_complete (
      assistant, self->items_page,
      gtk_tree_model_iter_n_children (GTK_TREE_MODEL (self->items_store), NULL) > 0);

  if (times_error != NULL)
    show_times_error (self, times_error);
  else if (count_times (self) < MAX_TIMES)
    show_times_error (self, NULL);
  schedule_ok = times != NULL && times[0] != NULL &&
                (gtk_toggle_button_get_active (self->daily_radio) || weekdays[0] != NULL);
  gtk_assistant_set_page_complete (assistant, self->schedule_page, schedule_ok);

  /* Only once seen: GtkAssistant offers a "Finish" that skips to the
   * confirmation when every page before it is complete. */
  gtk_assistant_set_page_complete (assistant, self->retention_page,
                                   self->retention_seen && any_retention (self));

  gtk_assistant_set_page_complete (
      assistant, self->stop_page,
      self->vault_name != NULL &&
          g_str_equal (gtk_entry_get_text (self->vault_name_entry), self->vault_name));

  update_exclusions_summary (self);
}

static void
append_list (GString *text, const char *heading, const char *const *list, const char *none)
{
  g_string_append_printf (text, "%s\n", heading);
  if (list == NULL || list[0] == NULL)
    g_string_append_printf (text, "    %s\n", none);
  for (guint i = 0; list != NULL && list[i] != NULL; i++)
    g_string_append_printf (text, "    %s\n", list[i]);
  g_string_append_c (text, '\n');
}

static char *
describe_retention (ConsoleScheduleWizard *self)
{
  g_autoptr (GPtrArray) rules = g_ptr_array_new_with_free_func (g_free);
  guint32 value;

  if ((value = retention_value (self->daily_check, self->daily_spin)) > 0)
    g_ptr_array_add (rules,
                     g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "daily backups for %u day",
                                                   "daily backups for %u days", value),
                                      value));
  if ((value = retention_value (self->weekly_check, self->weekly_spin)) > 0)
    g_ptr_array_add (rules,
                     g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "weekly backups for %u week",
                                                   "weekly backups for %u weeks", value),
                                      value));
  if ((value = retention_value (self->monthly_check, self->monthly_spin)) > 0)
    g_ptr_array_add (rules,
                     g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "monthly backups for %u month",
                                                   "monthly backups for %u months", value),
                                      value));
  if ((value = retention_value (self->yearly_check, self->yearly_spin)) > 0)
    g_ptr_array_add (rules,
                     g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "yearly backups for %u year",
                                                   "yearly backups for %u years", value),
                                      value));
  g_ptr_array_add (rules, NULL);
  return g_strjoinv (", ", (char **) rules->pdata);
}

static void
fill_confirmation (ConsoleScheduleWizard *self)
{
  g_autoptr (GString) text = g_string_new (NULL);
  Mode mode = current_mode (self);

  if (mode == MODE_PAUSE)
    g_string_append (text,
                     _ ("Scheduled backups stop. The stored backups are kept until a schedule "
                        "is activated again, and Back Up Now still works.\n\nPress Apply "
                        "to pause the schedule."));
  else if (mode == MODE_RESUME)
    g_string_append (text, _ ("Scheduled backups start again at the times of the schedule.\n\n"
                              "Press Apply to re-enable the schedule."));
  else if (mode == MODE_DELETE)
    g_string_append_printf (
        text,
        _ ("Scheduled backups stop, and every backup of this server in vault “%s” is deleted. "
           "This cannot be undone.\n\nPress Apply to delete them."),
        self->vault_name);
  else
    {
      g_autoptr (GPtrArray) items = store_strings (self->items_store, 0);
      g_autoptr (GPtrArray) exclusions =
          store_strings (self->exclusions_store, CONSOLE_EXCLUSION_COLUMN_ITEM);
      const char *error = NULL;
      g_auto (GStrv) times = chosen_times (self, &error);
      g_autofree char *joined_times = g_strjoinv (", ", times);
      g_autofree char *retention = describe_retention (self);

      append_list (text, _ ("Back up:"), (const char *const *) items->pdata, "");
      append_list (text, _ ("Leave out:"), (const char *const *) exclusions->pdata, _ ("Nothing"));
      g_string_append_printf (text, "%s\n    ", _ ("When:"));
      if (gtk_toggle_button_get_active (self->daily_radio))
        g_string_append_printf (text, _ ("Every day at %s"), joined_times);
      else
        {
          g_autoptr (GPtrArray) days = g_ptr_array_new ();
          g_autofree char *joined_days = NULL;

          for (guint day = 0; day < 7; day++)
            if (gtk_toggle_button_get_active (self->weekday_checks[day]))
              g_ptr_array_add (days, (gpointer) console_weekday_name (day));
          g_ptr_array_add (days, NULL);
          joined_days = g_strjoinv (", ", (char **) days->pdata);
          g_string_append_printf (text, _ ("Every %s at %s"), joined_days, joined_times);
        }
      g_string_append_printf (text, "\n\n%s\n    %s\n\n", _ ("Keep:"), retention);
      g_string_append (text, _ ("Press Apply to save the schedule."));
    }
  gtk_label_set_text (self->confirm_label, text->str);
}

static void
prepare_cb (ConsoleScheduleWizard *self, GtkWidget *page)
{
  if (page == self->confirm_page)
    {
      fill_confirmation (self);
      gtk_assistant_set_page_complete (GTK_ASSISTANT (self), page, TRUE);
    }
  else if (page == self->stop_page)
    gtk_widget_grab_focus (GTK_WIDGET (self->vault_name_entry));
  else if (page == self->retention_page)
    self->retention_seen = TRUE;
  update_complete (self);
}

/* ---- Applying ---- */

static void
show_result (ConsoleScheduleWizard *self, const char *icon_name, const char *text)
{
  gtk_spinner_stop (self->summary_spinner);
  gtk_widget_hide (GTK_WIDGET (self->summary_spinner));
  gtk_image_set_from_icon_name (self->summary_image, icon_name, GTK_ICON_SIZE_DIALOG);
  gtk_widget_show (GTK_WIDGET (self->summary_image));
  gtk_label_set_text (self->summary_label, text);
  gtk_assistant_set_page_complete (GTK_ASSISTANT (self), self->summary_page, TRUE);
}

static void
show_failure (ConsoleScheduleWizard *self, const char *what, const GError *error)
{
  g_autofree char *message = console_error_message (error);
  g_autofree char *text = g_strdup_printf ("%s\n\n%s", what, message);

  show_result (self, "dialog-error", text);
}

static void
set_policy_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ConsoleScheduleWizard *self = user_data;
  g_auto (GStrv) warnings = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) text = NULL;

  if (!coffer_dbus_agent_call_set_policy_finish (COFFER_DBUS_AGENT (source), &warnings, result,
                                                 &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      show_failure (self, _ ("The backup schedule could not be saved."), error);
      return;
    }

  text = g_string_new (_ ("The backup schedule is saved. Backups run at the times you chose, even "
                          "when this console is closed."));
  for (guint i = 0; warnings != NULL && warnings[i] != NULL; i++)
    g_string_append_printf (text, "\n\n%s", warnings[i]);
  show_result (self,
               warnings != NULL && warnings[0] != NULL ? "dialog-warning" : "emblem-ok-symbolic",
               text->str);
}

static void
simple_call_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ConsoleScheduleWizard *self = user_data;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) error = NULL;
  Mode mode = current_mode (self);

  reply = g_dbus_proxy_call_finish (G_DBUS_PROXY (source), result, &error);
  if (reply == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      show_failure (self,
                    mode == MODE_PAUSE    ? _ ("The backup schedule could not be paused.")
                    : mode == MODE_RESUME ? _ ("The backup schedule could not be re-enabled.")
                                          : _ ("The stored backups could not be deleted."),
                    error);
      return;
    }

  if (mode == MODE_PAUSE)
    show_result (self, "emblem-ok-symbolic",
                 _ ("The backup schedule is paused. The stored backups are kept; choose "
                    "Schedule Backup again to re-enable it."));
  else if (mode == MODE_RESUME)
    show_result (self, "emblem-ok-symbolic", _ ("The backup schedule is enabled again."));
  else
    {
      guint64 id = 0;
      g_autofree char *text = NULL;

      g_variant_get (reply, "(&ot)", NULL, &id);
      text = g_strdup_printf (_ ("The backup schedule is stopped. Job %" G_GUINT64_FORMAT
                                 " is deleting the stored backups; the Jobs page follows it."),
                              id);
      show_result (self, "emblem-ok-symbolic", text);
    }
}

static GVariant *
strv_difference (const char *const *a, const char *const *b)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE_STRING_ARRAY);
  for (guint i = 0; a != NULL && a[i] != NULL; i++)
    if (b == NULL || !g_strv_contains (b, a[i]))
      g_variant_builder_add (&builder, "s", a[i]);
  return g_variant_builder_end (&builder);
}

static GVariant *
policy_changes (ConsoleScheduleWizard *self)
{
  g_autoptr (GPtrArray) items = store_strings (self->items_store, 0);
  g_autoptr (GPtrArray) exclusions =
      store_strings (self->exclusions_store, CONSOLE_EXCLUSION_COLUMN_PATTERN);
  const char *error = NULL;
  g_auto (GStrv) times = chosen_times (self, &error);
  g_auto (GStrv) weekdays = chosen_weekdays (self);
  const char *const *new_items = (const char *const *) items->pdata;
  const char *const *new_exclusions = (const char *const *) exclusions->pdata;
  const char *const *old_items = (const char *const *) self->old_items;
  const char *const *old_exclusions = (const char *const *) self->old_exclusions;
  GVariantDict changes;

  g_variant_dict_init (&changes, NULL);
  g_variant_dict_insert_value (&changes, "add", strv_difference (new_items, old_items));
  g_variant_dict_insert_value (&changes, "remove", strv_difference (old_items, new_items));
  g_variant_dict_insert_value (&changes, "exclude",
                               strv_difference (new_exclusions, old_exclusions));
  g_variant_dict_insert_value (&changes, "unexclude",
                               strv_difference (old_exclusions, new_exclusions));
  g_variant_dict_insert (&changes, "schedule", "s",
                         gtk_toggle_button_get_active (self->daily_radio) ? "daily" : "weekly");
  g_variant_dict_insert_value (&changes, "times",
                               g_variant_new_strv ((const char *const *) times, -1));
  g_variant_dict_insert_value (&changes, "weekdays",
                               g_variant_new_strv ((const char *const *) weekdays, -1));
  g_variant_dict_insert (&changes, "retain-daily", "u",
                         retention_value (self->daily_check, self->daily_spin));
  g_variant_dict_insert (&changes, "retain-weekly", "u",
                         retention_value (self->weekly_check, self->weekly_spin));
  g_variant_dict_insert (&changes, "retain-monthly", "u",
                         retention_value (self->monthly_check, self->monthly_spin));
  g_variant_dict_insert (&changes, "retain-yearly", "u",
                         retention_value (self->yearly_check, self->yearly_spin));
  return g_variant_dict_end (&changes);
}

static void
apply_cb (ConsoleScheduleWizard *self)
{
  Mode mode = current_mode (self);
  GDBusProxy *proxy = G_DBUS_PROXY (self->agent);
  const char *title;

  switch (mode)
    {
      case MODE_PAUSE:
        title = _ ("Pausing the Backup Schedule");
        break;
      case MODE_RESUME:
        title = _ ("Re-enabling the Backup Schedule");
        break;
      case MODE_DELETE:
        title = _ ("Deleting the Stored Backups");
        break;
      default:
        title = self->has_schedule || self->paused ? _ ("Modify Backup Progress")
                                                   : _ ("Schedule Backup Progress");
    }
  gtk_assistant_set_page_title (GTK_ASSISTANT (self), self->summary_page, title);
  gtk_assistant_set_page_complete (GTK_ASSISTANT (self), self->summary_page, FALSE);
  gtk_widget_hide (GTK_WIDGET (self->summary_image));
  gtk_widget_show (GTK_WIDGET (self->summary_spinner));
  gtk_spinner_start (self->summary_spinner);
  gtk_label_set_text (self->summary_label, _ ("Saving…"));

  if (self->agent == NULL)
    return;

  switch (mode)
    {
      case MODE_SAVE:
        coffer_dbus_agent_call_set_policy (self->agent, policy_changes (self),
                                           G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS,
                                           self->cancellable, set_policy_cb, self);
        break;
      case MODE_PAUSE:
        g_dbus_proxy_call (proxy, "PausePolicy", NULL, G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS,
                           self->cancellable, simple_call_cb, self);
        break;
      case MODE_RESUME:
        g_dbus_proxy_call (proxy, "ResumePolicy", NULL, G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS,
                           self->cancellable, simple_call_cb, self);
        break;
      case MODE_DELETE:
        g_dbus_proxy_call (proxy, "StopPolicy", g_variant_new ("(s)", self->vault_name),
                           G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS, self->cancellable,
                           simple_call_cb, self);
        break;
      default:
        g_assert_not_reached ();
    }
}

/* ---- Construction ---- */

static void
load_policy (ConsoleScheduleWizard *self, GVariant *policy)
{
  g_autofree const char **items = NULL;
  g_autofree const char **exclusions = NULL;
  g_autofree const char **times = NULL;
  g_autofree const char **weekdays = NULL;
  const char *schedule = "none";
  const char *state = "active";
  g_autofree char *state_text = NULL;

  if (policy != NULL)
    {
      g_variant_lookup (policy, "items", "^a&s", &items);
      g_variant_lookup (policy, "exclusions", "^a&s", &exclusions);
      g_variant_lookup (policy, "schedule", "&s", &schedule);
      g_variant_lookup (policy, "times", "^a&s", &times);
      g_variant_lookup (policy, "weekdays", "^a&s", &weekdays);
      g_variant_lookup (policy, "state", "&s", &state);
    }

  self->old_items = g_strdupv ((char **) items);
  self->old_exclusions = g_strdupv ((char **) exclusions);
  for (guint i = 0; items != NULL && items[i] != NULL; i++)
    add_item (self, items[i]);
  for (guint i = 0; exclusions != NULL && exclusions[i] != NULL; i++)
    console_exclusion_store_add (self->exclusions_store, exclusions[i]);

  self->paused = g_str_equal (state, "paused");
  self->has_schedule = !g_str_equal (schedule, "none");

  gtk_toggle_button_set_active (
      g_str_equal (schedule, "weekly") ? self->weekly_radio : self->daily_radio, TRUE);
  for (guint day = 0; day < 7; day++)
    gtk_toggle_button_set_active (self->weekday_checks[day],
                                  weekdays != NULL &&
                                      g_strv_contains (weekdays, console_weekday_key (day)));
  for (guint i = 0; times != NULL && times[i] != NULL; i++)
    if (console_is_time_slot (times[i]))
      add_time (self, times[i]);
  if (count_times (self) == 0)
    add_time (self, "21:00");

  if (policy != NULL)
    {
      set_retention (self->daily_check, self->daily_spin, policy, "retain-daily");
      set_retention (self->weekly_check, self->weekly_spin, policy, "retain-weekly");
      set_retention (self->monthly_check, self->monthly_spin, policy, "retain-monthly");
      set_retention (self->yearly_check, self->yearly_spin, policy, "retain-yearly");
    }

  /* A paused policy offers to re-enable it instead of pausing it. */
  gtk_widget_set_visible (GTK_WIDGET (self->pause_radio), !self->paused);
  gtk_widget_set_visible (GTK_WIDGET (self->resume_radio), self->paused);
  if (self->paused)
    gtk_toggle_button_set_active (self->resume_radio, TRUE);
  state_text = self->paused
                   ? g_strdup (_ ("Backups of this server are scheduled, but the schedule is "
                                  "paused. What do you want to do?"))
                   : g_strdup (_ ("Backups of this server are scheduled. What do you want to do?"));
  gtk_label_set_text (self->modify_state_label, state_text);

  gtk_assistant_set_page_title (GTK_ASSISTANT (self), self->summary_page,
                                self->has_schedule || self->paused
                                    ? _ ("Modify Backup Progress")
                                    : _ ("Schedule Backup Progress"));
  gtk_widget_set_visible (self->intro_page, !self->has_schedule && !self->paused);
  gtk_widget_set_visible (self->modify_page, self->has_schedule || self->paused);
}

static void
console_schedule_wizard_dispose (GObject *object)
{
  ConsoleScheduleWizard *self = CONSOLE_SCHEDULE_WIZARD (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->agent);
  G_OBJECT_CLASS (console_schedule_wizard_parent_class)->dispose (object);
}

static void
console_schedule_wizard_finalize (GObject *object)
{
  ConsoleScheduleWizard *self = CONSOLE_SCHEDULE_WIZARD (object);

  g_free (self->vault_name);
  g_strfreev (self->old_items);
  g_strfreev (self->old_exclusions);
  G_OBJECT_CLASS (console_schedule_wizard_parent_class)->finalize (object);
}

static void
console_schedule_wizard_class_init (ConsoleScheduleWizardClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = console_schedule_wizard_dispose;
  object_class->finalize = console_schedule_wizard_finalize;

  gtk_widget_class_set_template_from_resource (
      widget_class, "/io/github/coffer/Console/console-schedule-wizard.ui");
#define BIND(name) gtk_widget_class_bind_template_child (widget_class, ConsoleScheduleWizard, name)
  BIND (intro_page);
  BIND (modify_page);
  BIND (modify_state_label);
  BIND (modify_radio);
  BIND (pause_radio);
  BIND (resume_radio);
  BIND (delete_radio);
  BIND (items_page);
  BIND (items_store);
  BIND (items_selection);
  BIND (remove_items_button);
  BIND (exclusions_store);
  BIND (exclusions_summary_label);
  BIND (schedule_page);
  BIND (daily_radio);
  BIND (weekly_radio);
  BIND (weekdays_box);
  BIND (times_box);
  BIND (add_time_button);
  BIND (times_error_label);
  BIND (retention_page);
  BIND (daily_check);
  BIND (weekly_check);
  BIND (monthly_check);
  BIND (yearly_check);
  BIND (daily_spin);
  BIND (weekly_spin);
  BIND (monthly_spin);
  BIND (yearly_spin);
  BIND (stop_page);
  BIND (stop_label);
  BIND (vault_name_entry);
  BIND (confirm_page);
  BIND (confirm_label);
  BIND (summary_page);
  BIND (summary_spinner);
  BIND (summary_image);
  BIND (summary_label);
#undef BIND
  gtk_widget_class_bind_template_callback (widget_class, prepare_cb);
  gtk_widget_class_bind_template_callback (widget_class, apply_cb);
  gtk_widget_class_bind_template_callback (widget_class, gtk_widget_destroy);
  gtk_widget_class_bind_template_callback (widget_class, update_complete);
  gtk_widget_class_bind_template_callback (widget_class, items_selection_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, add_folders_cb);
  gtk_widget_class_bind_template_callback (widget_class, add_files_cb);
  gtk_widget_class_bind_template_callback (widget_class, remove_items_cb);
  gtk_widget_class_bind_template_callback (widget_class, exclusion_settings_cb);
  gtk_widget_class_bind_template_callback (widget_class, schedule_kind_toggled_cb);
  gtk_widget_class_bind_template_callback (widget_class, add_time_cb);
  gtk_widget_class_bind_template_callback (widget_class, retention_toggled_cb);
}

static void
exclusions_changed_cb (ConsoleScheduleWizard *self)
{
  update_complete (self);
}

/* Long choices wrap instead of widening the wizard. */
static void
wrap_label_of (GtkToggleButton *button)
{
  GtkWidget *label = gtk_bin_get_child (GTK_BIN (button));

  gtk_label_set_line_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 60);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
}

static void
console_schedule_wizard_init (ConsoleScheduleWizard *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  wrap_label_of (self->modify_radio);
  wrap_label_of (self->pause_radio);
  wrap_label_of (self->resume_radio);
  wrap_label_of (self->delete_radio);
  self->cancellable = g_cancellable_new ();
  make_weekday_checks (self);
  g_signal_connect_object (self->exclusions_store, "row-inserted",
                           G_CALLBACK (exclusions_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->exclusions_store, "row-deleted",
                           G_CALLBACK (exclusions_changed_cb), self, G_CONNECT_SWAPPED);
}

/**
 * console_schedule_wizard_new:
 * @parent: the main window
 * @agent: (nullable): the agent; %NULL only in widget tests, where Apply
 *   calls nothing
 * @policy: (nullable): what GetPolicy returned
 * @vault_name: the vault's name, which deleting the backups asks for
 *
 * Returns: (transfer full): the wizard, on its first page.
 */
ConsoleScheduleWizard *
console_schedule_wizard_new (GtkWindow *parent,
                             CofferDBusAgent *agent,
                             GVariant *policy,
                             const char *vault_name)
{
  ConsoleScheduleWizard *self;
  g_autofree char *stop_text = NULL;

  self = g_object_new (CONSOLE_TYPE_SCHEDULE_WIZARD, "transient-for", parent, "use-header-bar",
                       FALSE, NULL);
  self->agent = agent != NULL ? g_object_ref (agent) : NULL;
  self->vault_name = g_strdup (vault_name != NULL ? vault_name : "");
  load_policy (self, policy);

  stop_text = g_strdup_printf (_ ("Every backup of this server in vault “%s” will be deleted, and "
                                  "cannot be recovered afterwards. To confirm, type the vault's "
                                  "name."),
                               self->vault_name);
  gtk_label_set_text (self->stop_label, stop_text);
  update_complete (self);
  return self;
}
