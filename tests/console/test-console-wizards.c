/* test-console-wizards.c: the console's wizards and dialogs checked as
 * widgets, without an agent — what the pages let a user enter and what they
 * refuse: a fourth backup time, retention and bandwidth outside their
 * ranges, a passphrase that breaks the rule; the choices offered when a
 * schedule exists or is paused; and that a recovery folder of 100,000
 * entries fills without stopping the main loop for long.
 *
 * Run under xvfb-run by meson. With COFFER_SCREENSHOT_DIR set, every page
 * visited is saved there as a PNG.
 */
#include "config.h"

#include <gtk/gtk.h>
#include <glib/gstdio.h>
#include <string.h>

#include "console-exclusion-dialog.h"
#include "console-properties-dialog.h"
#include "console-recover-wizard.h"
#include "console-recovery-browser.h"
#include "console-schedule-wizard.h"

/* ---- Helpers ---- */

static void
iterate (void)
{
  while (gtk_events_pending ())
    gtk_main_iteration ();
}

static gboolean
wait_done_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
wait_ms (guint ms)
{
  gboolean done = FALSE;

  g_timeout_add (ms, wait_done_cb, &done);
  while (!done)
    gtk_main_iteration ();
}

static char *
strip_mnemonic (const char *label)
{
  GString *text = g_string_new (NULL);

  for (const char *p = label; p != NULL && *p != '\0'; p++)
    if (*p != '_')
      g_string_append_c (text, *p);
  return g_string_free (text, FALSE);
}

typedef struct
{
  GType type;
  const char *name;
  gboolean showing_only;
  GtkWidget *found;
} Search;

static const char *
widget_name (GtkWidget *widget, char **to_free)
{
  AtkObject *accessible = gtk_widget_get_accessible (widget);
  const char *name = accessible != NULL ? atk_object_get_name (accessible) : NULL;

  *to_free = NULL;
  if (name != NULL && name[0] != '\0')
    return name;
  if (GTK_IS_BUTTON (widget) && gtk_button_get_label (GTK_BUTTON (widget)) != NULL)
    return *to_free = strip_mnemonic (gtk_button_get_label (GTK_BUTTON (widget)));
  if (GTK_IS_LABEL (widget))
    return gtk_label_get_text (GTK_LABEL (widget));
  return NULL;
}

static void
search_cb (GtkWidget *widget, gpointer user_data)
{
  Search *search = user_data;
  g_autofree char *to_free = NULL;
  const char *name;

  if (search->found != NULL)
    return;
  if (search->showing_only && !gtk_widget_is_visible (widget))
    return;
  name = widget_name (widget, &to_free);
  if (G_TYPE_CHECK_INSTANCE_TYPE (widget, search->type) && g_strcmp0 (name, search->name) == 0)
    {
      search->found = widget;
      return;
    }
  if (GTK_IS_CONTAINER (widget))
    gtk_container_forall (GTK_CONTAINER (widget), search_cb, search);
}

/* The widget of @type named @name (accessible name, or label), below @root. */
static GtkWidget *
find (gpointer root, GType type, const char *name)
{
  Search search = { type, name, FALSE, NULL };

  gtk_container_forall (GTK_CONTAINER (root), search_cb, &search);
  if (search.found == NULL)
    g_error ("No %s named “%s”", g_type_name (type), name);
  return search.found;
}

static gboolean
showing (gpointer root, GType type, const char *name)
{
  Search search = { type, name, TRUE, NULL };

  gtk_container_forall (GTK_CONTAINER (root), search_cb, &search);
  return search.found != NULL;
}

static void
screenshot (GtkWidget *window, const char *name)
{
  const char *folder = g_getenv ("COFFER_SCREENSHOT_DIR");
  g_autoptr (GdkPixbuf) pixbuf = NULL;
  g_autofree char *path = NULL;
  g_autoptr (GError) error = NULL;
  GdkWindow *gdk_window;

  if (folder == NULL)
    return;
  wait_ms (150); /* let the page draw */
  iterate ();
  gdk_window = gtk_widget_get_window (window);
  pixbuf = gdk_pixbuf_get_from_window (gdk_window, 0, 0, gdk_window_get_width (gdk_window),
                                       gdk_window_get_height (gdk_window));
  g_mkdir_with_parents (folder, 0755);
  path = g_strdup_printf ("%s/widget-%s.png", folder, name);
  if (pixbuf == NULL || !gdk_pixbuf_save (pixbuf, path, "png", &error, NULL))
    g_test_message ("Could not save %s: %s", path, error != NULL ? error->message : "no pixels");
  else
    g_test_message ("screenshot: %s", path);
}

static void
contains_cb (GtkWidget *widget, gpointer user_data)
{
  const char **text = user_data;

  if (*text == NULL)
    return;
  if (GTK_IS_LABEL (widget) && gtk_widget_is_visible (widget) &&
      strstr (gtk_label_get_text (GTK_LABEL (widget)), *text) != NULL)
    *text = NULL;
  else if (GTK_IS_CONTAINER (widget))
    gtk_container_forall (GTK_CONTAINER (widget), contains_cb, user_data);
}

/* Whether a label showing below @root holds @text. */
static gboolean
label_containing (gpointer root, const char *text)
{
  gtk_container_forall (GTK_CONTAINER (root), contains_cb, &text);
  return text == NULL;
}

static GtkWidget *
current_page (GtkAssistant *assistant)
{
  return gtk_assistant_get_nth_page (assistant, gtk_assistant_get_current_page (assistant));
}

static const char *
current_title (GtkAssistant *assistant)
{
  return gtk_assistant_get_page_title (assistant, current_page (assistant));
}

static void
next_page (GtkAssistant *assistant)
{
  g_assert_true (gtk_assistant_get_page_complete (assistant, current_page (assistant)));
  gtk_assistant_next_page (assistant);
  iterate ();
}

static void
type_into (GtkWidget *entry, const char *text)
{
  gtk_entry_set_text (GTK_ENTRY (entry), text);
  iterate ();
}

/* Types @text into @spin as a user would, then leaves the field. */
static double
type_number (GtkWidget *spin, const char *text)
{
  gtk_entry_set_text (GTK_ENTRY (spin), text);
  gtk_spin_button_update (GTK_SPIN_BUTTON (spin));
  iterate ();
  return gtk_spin_button_get_value (GTK_SPIN_BUTTON (spin));
}

/* Shows the Change Properties tab that holds @widget's page. */
static void
show_tab (GtkWidget *widget, const char *name)
{
  GtkStack *stack = GTK_STACK (gtk_widget_get_ancestor (widget, GTK_TYPE_STACK));

  gtk_stack_set_visible_child_name (stack, name);
  iterate ();
}

static GVariant *
policy_new (const char *schedule, const char *state)
{
  GVariantDict policy;
  const char *items[] = { "/home/user/Documents", NULL };
  const char *exclusions[] = { "/home/user/Documents/cache", ".tmp", NULL };
  const char *times[] = { "09:00", "21:30", NULL };

  g_variant_dict_init (&policy, NULL);
  g_variant_dict_insert_value (&policy, "items", g_variant_new_strv (items, -1));
  g_variant_dict_insert_value (&policy, "exclusions", g_variant_new_strv (exclusions, -1));
  g_variant_dict_insert (&policy, "schedule", "s", schedule);
  g_variant_dict_insert_value (&policy, "times", g_variant_new_strv (times, -1));
  g_variant_dict_insert (&policy, "retain-daily", "u", 60);
  g_variant_dict_insert (&policy, "retain-weekly", "u", 0);
  g_variant_dict_insert (&policy, "state", "s", state);
  return g_variant_ref_sink (g_variant_dict_end (&policy));
}

/* ---- Schedule Backup ---- */

static void
test_schedule_fourth_time_refused (void)
{
  g_autoptr (GVariant) policy = policy_new ("none", "active");
  ConsoleScheduleWizard *wizard = console_schedule_wizard_new (NULL, NULL, policy, "Coffer-Vault");
  GtkAssistant *assistant = GTK_ASSISTANT (wizard);
  GtkWidget *add_time;

  gtk_widget_show (GTK_WIDGET (wizard));
  iterate ();
  g_assert_cmpstr (current_title (assistant), ==, "Getting Started");
  screenshot (GTK_WIDGET (wizard), "schedule-getting-started");
  next_page (assistant);
  g_assert_cmpstr (current_title (assistant), ==, "Select Items to Back Up");
  screenshot (GTK_WIDGET (wizard), "schedule-items");
  next_page (assistant);
  g_assert_cmpstr (current_title (assistant), ==, "Specify Backup Schedule");

  /* The policy's two times are there; a third is accepted, a fourth not. */
  g_assert_true (showing (wizard, GTK_TYPE_COMBO_BOX, "Backup time 2"));
  g_assert_false (showing (wizard, GTK_TYPE_COMBO_BOX, "Backup time 3"));
  add_time = find (wizard, GTK_TYPE_BUTTON, "Add Time");
  gtk_button_clicked (GTK_BUTTON (add_time));
  iterate ();
  g_assert_true (showing (wizard, GTK_TYPE_COMBO_BOX, "Backup time 3"));
  g_assert_false (showing (wizard, GTK_TYPE_LABEL, "Maximum allowed is three times a day"));
  gtk_button_clicked (GTK_BUTTON (add_time));
  iterate ();
  g_assert_true (showing (wizard, GTK_TYPE_LABEL, "Maximum allowed is three times a day"));
  g_assert_false (showing (wizard, GTK_TYPE_COMBO_BOX, "Backup time 4"));
  screenshot (GTK_WIDGET (wizard), "schedule-fourth-time-refused");

  /* Two equal times are refused too, and removing one makes room again. */
  gtk_combo_box_set_active_id (GTK_COMBO_BOX (find (wizard, GTK_TYPE_COMBO_BOX, "Backup time 3")),
                               "09:00");
  iterate ();
  g_assert_false (gtk_assistant_get_page_complete (assistant, current_page (assistant)));
  gtk_button_clicked (GTK_BUTTON (find (wizard, GTK_TYPE_BUTTON, "Remove backup time 3")));
  iterate ();
  g_assert_true (gtk_assistant_get_page_complete (assistant, current_page (assistant)));
  g_assert_false (showing (wizard, GTK_TYPE_LABEL, "Maximum allowed is three times a day"));

  /* Weekly needs a weekday. */
  gtk_toggle_button_set_active (
      GTK_TOGGLE_BUTTON (find (wizard, GTK_TYPE_RADIO_BUTTON, "Every week, on:")), TRUE);
  iterate ();
  g_assert_false (gtk_assistant_get_page_complete (assistant, current_page (assistant)));
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (find (wizard, GTK_TYPE_CHECK_BUTTON, "Friday")),
                                TRUE);
  iterate ();
  g_assert_true (gtk_assistant_get_page_complete (assistant, current_page (assistant)));
  screenshot (GTK_WIDGET (wizard), "schedule-times");

  next_page (assistant);
  g_assert_cmpstr (current_title (assistant), ==, "Select Retention Policy");
  screenshot (GTK_WIDGET (wizard), "schedule-retention");
  next_page (assistant);
  g_assert_cmpstr (current_title (assistant), ==, "Confirmation");
  g_assert_true (label_containing (wizard, "Every Friday at 09:00, 21:30"));
  g_assert_true (label_containing (wizard, "/home/user/Documents/cache"));
  g_assert_true (label_containing (wizard, "daily backups for 60 days"));
  screenshot (GTK_WIDGET (wizard), "schedule-confirmation");
  gtk_widget_destroy (GTK_WIDGET (wizard));
}

static void
test_schedule_retention_ranges (void)
{
  ConsoleScheduleWizard *wizard = console_schedule_wizard_new (NULL, NULL, NULL, "Coffer-Vault");
  const struct
  {
    const char *check;
    const char *spin;
    double lower, upper;
  } rules[] = {
    { "Keep daily backups for", "Days to keep daily backups", 7, 9999 },
    { "Keep weekly backups for", "Weeks to keep weekly backups", 4, 5163 },
    { "Keep monthly backups for", "Months to keep monthly backups", 3, 1188 },
    { "Keep yearly backups for", "Years to keep yearly backups", 1, 99 },
  };

  gtk_widget_show (GTK_WIDGET (wizard));
  iterate ();
  for (guint i = 0; i < G_N_ELEMENTS (rules); i++)
    {
      GtkWidget *check = find (wizard, GTK_TYPE_CHECK_BUTTON, rules[i].check);
      GtkWidget *spin = find (wizard, GTK_TYPE_SPIN_BUTTON, rules[i].spin);
      g_autofree char *below = g_strdup_printf ("%.0f", rules[i].lower - 1);
      g_autofree char *above = g_strdup_printf ("%.0f", rules[i].upper + 1);
      g_autofree char *inside = g_strdup_printf ("%.0f", rules[i].lower + 1);

      gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (check), TRUE);
      iterate ();
      g_assert_true (gtk_widget_is_sensitive (spin));
      g_assert_cmpfloat (type_number (spin, inside), ==, rules[i].lower + 1);
      g_assert_cmpfloat (type_number (spin, below), >=, rules[i].lower);
      g_assert_cmpfloat (type_number (spin, above), <=, rules[i].upper);
      g_assert_cmpfloat (type_number (spin, "-5"), >=, rules[i].lower);
      gtk_spin_button_set_value (GTK_SPIN_BUTTON (spin), rules[i].upper * 10);
      g_assert_cmpfloat (gtk_spin_button_get_value (GTK_SPIN_BUTTON (spin)), ==, rules[i].upper);
    }
  gtk_widget_destroy (GTK_WIDGET (wizard));
}

static void
test_schedule_modify_choices (void)
{
  g_autoptr (GVariant) active = policy_new ("daily", "active");
  g_autoptr (GVariant) paused = policy_new ("daily", "paused");
  ConsoleScheduleWizard *wizard = console_schedule_wizard_new (NULL, NULL, active, "Coffer-Vault");
  GtkAssistant *assistant = GTK_ASSISTANT (wizard);

  gtk_widget_show (GTK_WIDGET (wizard));
  iterate ();
  g_assert_cmpstr (current_title (assistant), ==, "Modify or Stop a Scheduled Backup");
  g_assert_true (showing (wizard, GTK_TYPE_RADIO_BUTTON, "Make changes to backup items or times"));
  g_assert_true (showing (wizard, GTK_TYPE_RADIO_BUTTON,
                          "Stop using this backup schedule, but keep the stored backups until a "
                          "schedule is activated again"));
  g_assert_true (showing (wizard, GTK_TYPE_RADIO_BUTTON,
                          "Stop using this backup schedule and delete all the stored backups"));
  g_assert_false (showing (wizard, GTK_TYPE_RADIO_BUTTON, "Re-enable backup schedule"));
  screenshot (GTK_WIDGET (wizard), "schedule-modify");

  /* Deleting asks for the vault's name, exactly. */
  gtk_toggle_button_set_active (
      GTK_TOGGLE_BUTTON (
          find (wizard, GTK_TYPE_RADIO_BUTTON,
                "Stop using this backup schedule and delete all the stored backups")),
      TRUE);
  next_page (assistant);
  g_assert_cmpstr (current_title (assistant), ==, "Delete All Backups");
  g_assert_false (gtk_assistant_get_page_complete (assistant, current_page (assistant)));
  type_into (find (wizard, GTK_TYPE_ENTRY, "Vault name"), "coffer-vault");
  g_assert_false (gtk_assistant_get_page_complete (assistant, current_page (assistant)));
  type_into (find (wizard, GTK_TYPE_ENTRY, "Vault name"), "Coffer-Vault");
  g_assert_true (gtk_assistant_get_page_complete (assistant, current_page (assistant)));
  screenshot (GTK_WIDGET (wizard), "schedule-delete");
  gtk_widget_destroy (GTK_WIDGET (wizard));

  /* Paused: re-enable instead of pause, and it leads straight to confirming. */
  wizard = console_schedule_wizard_new (NULL, NULL, paused, "Coffer-Vault");
  assistant = GTK_ASSISTANT (wizard);
  gtk_widget_show (GTK_WIDGET (wizard));
  iterate ();
  g_assert_true (showing (wizard, GTK_TYPE_RADIO_BUTTON, "Re-enable backup schedule"));
  g_assert_false (showing (wizard, GTK_TYPE_RADIO_BUTTON,
                           "Stop using this backup schedule, but keep the stored backups until a "
                           "schedule is activated again"));
  g_assert_true (gtk_toggle_button_get_active (
      GTK_TOGGLE_BUTTON (find (wizard, GTK_TYPE_RADIO_BUTTON, "Re-enable backup schedule"))));
  screenshot (GTK_WIDGET (wizard), "schedule-paused");
  next_page (assistant);
  g_assert_cmpstr (current_title (assistant), ==, "Confirmation");
  gtk_widget_destroy (GTK_WIDGET (wizard));
}

/* ---- Change Properties ---- */

static void
test_properties_bandwidth_ranges (void)
{
  ConsolePropertiesDialog *dialog = console_properties_dialog_new (NULL, NULL);
  GtkWidget *spin;
  GtkWidget *unit;
  GtkWidget *ok;

  gtk_widget_show (GTK_WIDGET (dialog));
  iterate ();
  gtk_toggle_button_set_active (
      GTK_TOGGLE_BUTTON (find (dialog, GTK_TYPE_CHECK_BUTTON,
                               "Enable internet bandwidth usage throttling for backup operations")),
      TRUE);
  iterate ();
  screenshot (GTK_WIDGET (dialog), "properties-throttling");

  spin = find (dialog, GTK_TYPE_SPIN_BUTTON, "Work hours bandwidth");
  unit = find (dialog, GTK_TYPE_COMBO_BOX, "Work hours bandwidth unit");
  g_assert_true (gtk_widget_is_sensitive (spin));

  /* In Mbps: 1 to 1023. */
  gtk_combo_box_set_active_id (GTK_COMBO_BOX (unit), "mbps");
  iterate ();
  g_assert_cmpfloat (type_number (spin, "2000"), <=, 1023);
  g_assert_cmpfloat (type_number (spin, "1023"), ==, 1023);
  g_assert_cmpfloat (type_number (spin, "0"), >=, 1);

  /* In Kbps: 512 and more. */
  gtk_combo_box_set_active_id (GTK_COMBO_BOX (unit), "kbps");
  iterate ();
  g_assert_cmpfloat (type_number (spin, "100"), >=, 512);
  g_assert_cmpfloat (type_number (spin, "512"), ==, 512);
  g_assert_cmpfloat (type_number (spin, "5000000"), <=, 1023000);

  /* Switching the unit keeps the rate: 2000 Kbps is 2 Mbps. */
  type_number (spin, "2000");
  gtk_combo_box_set_active_id (GTK_COMBO_BOX (unit), "mbps");
  iterate ();
  g_assert_cmpfloat (gtk_spin_button_get_value (GTK_SPIN_BUTTON (spin)), ==, 2);

  /* Work hours that end before they start cannot be applied. */
  ok = find (dialog, GTK_TYPE_BUTTON, "OK");
  g_assert_true (gtk_widget_is_sensitive (ok));
  gtk_combo_box_set_active_id (GTK_COMBO_BOX (find (dialog, GTK_TYPE_COMBO_BOX, "Work hours end")),
                               "08:00");
  iterate ();
  g_assert_false (gtk_widget_is_sensitive (ok));
  g_assert_true (showing (dialog, GTK_TYPE_LABEL, "Work hours must end after they start."));
  gtk_combo_box_set_active_id (GTK_COMBO_BOX (find (dialog, GTK_TYPE_COMBO_BOX, "Work hours end")),
                               "17:30");
  iterate ();
  g_assert_true (gtk_widget_is_sensitive (ok));
  gtk_widget_destroy (GTK_WIDGET (dialog));
}

static void
test_properties_proxy (void)
{
  ConsolePropertiesDialog *dialog = console_properties_dialog_new (NULL, NULL);
  GtkWidget *ok;

  gtk_widget_show (GTK_WIDGET (dialog));
  iterate ();
  ok = find (dialog, GTK_TYPE_BUTTON, "OK");
  gtk_toggle_button_set_active (
      GTK_TOGGLE_BUTTON (find (dialog, GTK_TYPE_RADIO_BUTTON, "Use a custom proxy server")), TRUE);
  iterate ();
  g_assert_false (gtk_widget_is_sensitive (ok));
  type_into (find (dialog, GTK_TYPE_ENTRY, "Proxy address"), "proxy.example.com");
  g_assert_true (gtk_widget_is_sensitive (ok));
  gtk_toggle_button_set_active (
      GTK_TOGGLE_BUTTON (
          find (dialog, GTK_TYPE_CHECK_BUTTON, "This proxy needs a user name and password")),
      TRUE);
  iterate ();
  g_assert_false (gtk_widget_is_sensitive (ok));
  type_into (find (dialog, GTK_TYPE_ENTRY, "Proxy user name"), "backup");
  g_assert_true (gtk_widget_is_sensitive (ok));
  g_assert_cmpfloat (type_number (find (dialog, GTK_TYPE_SPIN_BUTTON, "Proxy port"), "70000"), <=,
                     65535);
  show_tab (find (dialog, GTK_TYPE_ENTRY, "Proxy address"), "proxy");
  screenshot (GTK_WIDGET (dialog), "properties-proxy");
  gtk_widget_destroy (GTK_WIDGET (dialog));
}

static void
test_properties_passphrase_rule (void)
{
  ConsolePropertiesDialog *dialog = console_properties_dialog_new (NULL, NULL);
  GtkWidget *passphrase, *confirm, *save, *ok;
  g_autofree char *folder = g_dir_make_tmp ("coffer-test-XXXXXX", NULL);

  gtk_widget_show (GTK_WIDGET (dialog));
  iterate ();
  passphrase = find (dialog, GTK_TYPE_ENTRY, "Passphrase");
  confirm = find (dialog, GTK_TYPE_ENTRY, "Confirm passphrase");
  save = find (dialog, GTK_TYPE_ENTRY, "Save the passphrase in");
  ok = find (dialog, GTK_TYPE_BUTTON, "OK");
  show_tab (passphrase, "encryption");

  /* Nothing typed: the passphrase stays, OK applies the rest. */
  g_assert_true (gtk_widget_is_sensitive (ok));

  /* 15 characters: one more needed, and OK cannot be used. */
  type_into (passphrase, "fifteen-chars!!");
  g_assert_false (gtk_widget_is_sensitive (ok));
  type_into (confirm, "fifteen-chars!!");
  type_into (save, folder);
  g_assert_false (gtk_widget_is_sensitive (ok));
  g_assert_true (
      showing (dialog, GTK_TYPE_LABEL, "At least 16 characters: 1 more character needed."));
  screenshot (GTK_WIDGET (dialog), "properties-passphrase-short");

  /* 16: accepted once confirmed and given a folder to be saved in. */
  type_into (passphrase, "sixteen-chars!!!");
  g_assert_false (gtk_widget_is_sensitive (ok));
  type_into (confirm, "sixteen-chars!!!");
  g_assert_true (gtk_widget_is_sensitive (ok));
  type_into (save, "");
  g_assert_false (gtk_widget_is_sensitive (ok));
  type_into (save, folder);

  /* Not ASCII: refused. */
  type_into (passphrase, "sixteen-chars-été");
  type_into (confirm, "sixteen-chars-été");
  g_assert_false (gtk_widget_is_sensitive (ok));

  /* Emptied again: nothing to change. */
  type_into (passphrase, "");
  type_into (confirm, "");
  g_assert_true (gtk_widget_is_sensitive (ok));

  /* Generate Passphrase: 32 characters, confirmed, shown. */
  gtk_button_clicked (GTK_BUTTON (find (dialog, GTK_TYPE_BUTTON, "Generate Passphrase")));
  iterate ();
  g_assert_cmpuint (strlen (gtk_entry_get_text (GTK_ENTRY (passphrase))), ==, 32);
  g_assert_cmpstr (gtk_entry_get_text (GTK_ENTRY (passphrase)), ==,
                   gtk_entry_get_text (GTK_ENTRY (confirm)));
  g_assert_true (gtk_entry_get_visibility (GTK_ENTRY (passphrase)));
  g_assert_true (gtk_widget_is_sensitive (ok));
  screenshot (GTK_WIDGET (dialog), "properties-encryption");

  show_tab (passphrase, "cache");
  screenshot (GTK_WIDGET (dialog), "properties-cache");
  gtk_widget_destroy (GTK_WIDGET (dialog));
  g_rmdir (folder);
}

/* ---- Recover Data ---- */

static GVariant *
folder_entries (guint n, const char *prefix, gboolean folders)
{
  GVariantBuilder builder;
  g_autoptr (GVariant) tree = NULL;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *name = g_strdup_printf ("%s%06u.txt", prefix, i);
      GVariantDict entry;

      g_variant_dict_init (&entry, NULL);
      g_variant_dict_insert_value (&entry, "name", g_variant_new_bytestring (name));
      g_variant_dict_insert (&entry, "type", "s", folders ? "folder" : "file");
      g_variant_dict_insert (&entry, "size", "t", (guint64) i * 100);
      g_variant_dict_insert (&entry, "mtime", "x", G_GINT64_CONSTANT (1700000000000000000));
      g_variant_dict_insert (&entry, "mode", "u", 0644);
      g_variant_builder_add_value (&builder, g_variant_dict_end (&entry));
    }
  tree = g_variant_ref_sink (g_variant_new ("(aa{sv})", &builder));
  /* As a D-Bus reply arrives: serialised, in one buffer. */
  return g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE ("(aa{sv})"),
                                                       g_variant_get_data_as_bytes (tree), TRUE));
}

typedef struct
{
  gint64 last;
  gint64 longest;
} Ticks;

static gboolean
tick_cb (gpointer user_data)
{
  Ticks *ticks = user_data;
  gint64 now = g_get_monotonic_time ();

  ticks->longest = MAX (ticks->longest, now - ticks->last);
  ticks->last = now;
  return G_SOURCE_CONTINUE;
}

static void
test_recover_browse_100000 (void)
{
  GtkWidget *window = gtk_window_new (GTK_WINDOW_TOPLEVEL);
  ConsoleRecoveryBrowser *browser = CONSOLE_RECOVERY_BROWSER (console_recovery_browser_new ());
  GtkTreeView *view = console_recovery_browser_get_view (browser);
  g_autoptr (GVariant) root = folder_entries (3, "big", TRUE);
  g_autoptr (GVariant) big = folder_entries (100000, "file-", FALSE);
  g_autoptr (GtkTreePath) path = NULL;
  GtkTreeModel *model;
  GtkTreeIter iter;
  Ticks ticks;
  gint64 start, elapsed;
  guint tick;

  gtk_window_set_default_size (GTK_WINDOW (window), 700, 500);
  gtk_container_add (GTK_CONTAINER (window), GTK_WIDGET (browser));
  gtk_widget_show_all (window);
  iterate ();

  console_recovery_browser_show_entries (browser, "/", root);
  while (console_recovery_browser_get_busy (browser))
    gtk_main_iteration ();
  model = gtk_tree_view_get_model (view);
  g_assert_cmpint (gtk_tree_model_iter_n_children (model, NULL), ==, 3);

  /* Open the first folder: 100,000 entries. A tick every 10 ms measures
   * how long the main loop is ever kept from running. */
  start = g_get_monotonic_time ();
  ticks.last = start;
  ticks.longest = 0;
  tick = g_timeout_add (10, tick_cb, &ticks);
  console_recovery_browser_show_entries (browser, "/big000000.txt", big);
  while (console_recovery_browser_get_busy (browser))
    gtk_main_iteration ();
  iterate ();
  elapsed = g_get_monotonic_time () - start;
  g_source_remove (tick);

  g_assert_true (gtk_tree_model_get_iter_first (model, &iter));
  g_assert_cmpint (gtk_tree_model_iter_n_children (model, &iter), ==, 100000);
  path = gtk_tree_model_get_path (model, &iter);
  g_assert_true (gtk_tree_view_row_expanded (view, path));
  g_test_message ("100,000 entries shown in %.0f ms; the main loop waited at most %.0f ms",
                  elapsed / 1000.0, ticks.longest / 1000.0);
  /* Responsive: nothing holds the main loop for a quarter of a second. */
  g_assert_cmpint (ticks.longest, <, 250 * 1000);
  g_assert_cmpint (elapsed, <, 15 * G_USEC_PER_SEC);

  /* Scrolling to the end is quick too. */
  start = g_get_monotonic_time ();
  {
    g_autoptr (GtkTreePath) last = gtk_tree_path_new_from_indices (0, 99999, -1);

    gtk_tree_view_scroll_to_cell (view, last, NULL, FALSE, 0, 0);
    iterate ();
  }
  g_test_message ("scrolled to the last entry in %.0f ms",
                  (g_get_monotonic_time () - start) / 1000.0);
  screenshot (window, "recover-browse-100000");
  gtk_widget_destroy (window);
}

static void
test_recover_pages (void)
{
  ConsoleRecoverWizard *wizard = console_recover_wizard_new (NULL, NULL);
  GtkAssistant *assistant = GTK_ASSISTANT (wizard);
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  GVariantBuilder points;
  GtkWidget *target;

  gtk_widget_show (GTK_WIDGET (wizard));
  iterate ();
  g_assert_cmpstr (current_title (assistant), ==, "Getting Started");

  /* Another server needs its name and passphrase. */
  gtk_toggle_button_set_active (
      GTK_TOGGLE_BUTTON (
          find (wizard, GTK_TYPE_RADIO_BUTTON, "Another server registered to the same vault")),
      TRUE);
  iterate ();
  g_assert_false (gtk_assistant_get_page_complete (assistant, current_page (assistant)));
  type_into (find (wizard, GTK_TYPE_ENTRY, "Server name"), "old-laptop");
  type_into (find (wizard, GTK_TYPE_ENTRY, "Passphrase of that server"), "x");
  g_assert_true (gtk_assistant_get_page_complete (assistant, current_page (assistant)));
  screenshot (GTK_WIDGET (wizard), "recover-getting-started");
  gtk_toggle_button_set_active (
      GTK_TOGGLE_BUTTON (find (wizard, GTK_TYPE_RADIO_BUTTON, "This server")), TRUE);
  next_page (assistant);
  g_assert_cmpstr (current_title (assistant), ==, "Select Recovery Point");

  /* Two points today, one three days ago: today is chosen, newest first. */
  g_variant_builder_init (&points, G_VARIANT_TYPE ("aa{sv}"));
  {
    gint64 times[] = { g_date_time_to_unix (now) - 3 * 86400, g_date_time_to_unix (now) - 60,
                       g_date_time_to_unix (now) };
    const char *kinds[] = { "scheduled", "scheduled", "on-demand" };

    for (guint i = 0; i < G_N_ELEMENTS (times); i++)
      {
        g_autofree char *id = g_strdup_printf ("%064u", i);
        GVariantDict point;

        g_variant_dict_init (&point, NULL);
        g_variant_dict_insert (&point, "id", "s", id);
        g_variant_dict_insert (&point, "time", "x", times[i]);
        g_variant_dict_insert (&point, "kind", "s", kinds[i]);
        g_variant_builder_add_value (&points, g_variant_dict_end (&point));
      }
  }
  console_recover_wizard_show_points (wizard, g_variant_builder_end (&points));
  iterate ();
  {
    GtkCalendar *calendar = GTK_CALENDAR (find (wizard, GTK_TYPE_CALENDAR, "Recovery point date"));
    GtkTreeView *times = GTK_TREE_VIEW (find (wizard, GTK_TYPE_TREE_VIEW, "Recovery point time"));
    guint day;

    gtk_calendar_get_date (calendar, NULL, NULL, &day);
    g_assert_cmpuint (day, ==, (guint) g_date_time_get_day_of_month (now));
    g_assert_true (gtk_calendar_get_day_is_marked (calendar, day));
    g_assert_cmpint (gtk_tree_model_iter_n_children (gtk_tree_view_get_model (times), NULL), ==, 2);
  }
  g_assert_true (gtk_assistant_get_page_complete (assistant, current_page (assistant)));
  screenshot (GTK_WIDGET (wizard), "recover-point");
  next_page (assistant);
  g_assert_cmpstr (current_title (assistant), ==, "Select Items to Recover");
  g_assert_false (gtk_assistant_get_page_complete (assistant, current_page (assistant)));

  /* The options page: another location must be a full path. */
  gtk_assistant_set_current_page (assistant, 3);
  iterate ();
  g_assert_cmpstr (current_title (assistant), ==, "Specify Recovery Options");
  gtk_toggle_button_set_active (
      GTK_TOGGLE_BUTTON (find (wizard, GTK_TYPE_RADIO_BUTTON, "Another location:")), TRUE);
  iterate ();
  g_assert_false (gtk_assistant_get_page_complete (assistant, current_page (assistant)));
  target = find (wizard, GTK_TYPE_ENTRY, "Folder to recover to");
  type_into (target, "relative/folder");
  g_assert_false (gtk_assistant_get_page_complete (assistant, current_page (assistant)));
  type_into (target, "/tmp/recovered");
  g_assert_true (gtk_assistant_get_page_complete (assistant, current_page (assistant)));
  screenshot (GTK_WIDGET (wizard), "recover-options");
  gtk_widget_destroy (GTK_WIDGET (wizard));
}

/* ---- Accessible names ---- */

static gboolean
is_control (GtkWidget *widget)
{
  return GTK_IS_BUTTON (widget) || GTK_IS_ENTRY (widget) || GTK_IS_COMBO_BOX (widget) ||
         GTK_IS_TREE_VIEW (widget) || GTK_IS_CALENDAR (widget) ||
         (GTK_IS_RANGE (widget) && !GTK_IS_SCROLLBAR (widget));
}

static void
collect_unnamed (GtkWidget *widget, gpointer user_data)
{
  GPtrArray *unnamed = user_data;
  GtkWidget *parent = gtk_widget_get_parent (widget);

  /* A combo box's own button belongs to it; a hidden control (the info
   * bar's close button) is not offered to anyone. */
  if ((parent != NULL && GTK_IS_COMBO_BOX (parent)) || !gtk_widget_get_visible (widget))
    return;
  if (is_control (widget))
    {
      const char *name = atk_object_get_name (gtk_widget_get_accessible (widget));

      if (name == NULL || name[0] == '\0')
        g_ptr_array_add (
            unnamed, g_strdup_printf ("%s in %s", G_OBJECT_TYPE_NAME (widget),
                                      parent != NULL ? G_OBJECT_TYPE_NAME (parent) : "nothing"));
    }
  if (GTK_IS_CONTAINER (widget))
    gtk_container_forall (GTK_CONTAINER (widget), collect_unnamed, unnamed);
}

static void
assert_all_named (GtkWidget *window)
{
  g_autoptr (GPtrArray) unnamed = g_ptr_array_new_with_free_func (g_free);

  gtk_widget_show (window);
  iterate ();
  gtk_container_forall (GTK_CONTAINER (window), collect_unnamed, unnamed);
  for (guint i = 0; i < unnamed->len; i++)
    g_test_message ("no accessible name: %s", (char *) unnamed->pdata[i]);
  g_assert_cmpuint (unnamed->len, ==, 0);
  gtk_widget_destroy (window);
}

static void
test_accessible_names (void)
{
  g_autoptr (GVariant) policy = policy_new ("weekly", "paused");
  g_autoptr (GtkListStore) exclusions =
      gtk_list_store_new (4, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING);

  assert_all_named (GTK_WIDGET (console_schedule_wizard_new (NULL, NULL, NULL, "Coffer-Vault")));
  assert_all_named (GTK_WIDGET (console_schedule_wizard_new (NULL, NULL, policy, "Coffer-Vault")));
  assert_all_named (GTK_WIDGET (console_exclusion_dialog_new (NULL, exclusions)));
  assert_all_named (GTK_WIDGET (console_recover_wizard_new (NULL, NULL)));
  assert_all_named (GTK_WIDGET (console_properties_dialog_new (NULL, NULL)));
}

int
main (int argc, char **argv)
{
  /* Not G_TEST_OPTION_ISOLATE_DIRS: GTK needs the system's data folders
   * (the theme's icons, the MIME database); the tests write nothing but a
   * temporary folder of their own. */
  g_test_init (&argc, &argv, NULL);
  if (!gtk_init_check (&argc, &argv))
    {
      g_test_skip ("No display");
      return 77;
    }
  g_object_set (gtk_settings_get_default (), "gtk-enable-animations", FALSE, NULL);

  g_test_add_func ("/console/schedule/fourth-time-refused", test_schedule_fourth_time_refused);
  g_test_add_func ("/console/schedule/retention-ranges", test_schedule_retention_ranges);
  g_test_add_func ("/console/schedule/modify-choices", test_schedule_modify_choices);
  g_test_add_func ("/console/properties/bandwidth-ranges", test_properties_bandwidth_ranges);
  g_test_add_func ("/console/properties/proxy", test_properties_proxy);
  g_test_add_func ("/console/properties/passphrase-rule", test_properties_passphrase_rule);
  g_test_add_func ("/console/recover/pages", test_recover_pages);
  g_test_add_func ("/console/recover/browse-100000-responsive", test_recover_browse_100000);
  g_test_add_func ("/console/wizards/accessible-names", test_accessible_names);
  return g_test_run ();
}
