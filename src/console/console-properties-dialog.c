/* console-properties-dialog.c: Change Properties — Throttling, Proxy
 * Configuration, Encryption and Cache.
 *
 * The dialog reads the machine's properties with GetProperties when it
 * opens, and OK applies what the user changed, in this order: SetProperties
 * (throttling and proxy, all at once), then a new passphrase (the Register
 * Server wizard's ConsolePassphrasePage: saved, 0600, as a new file in the
 * folder the user chose before the agent rewraps the keys with it, so it is
 * never lost between the two, and removed again if the agent refuses it),
 * then StartCacheMove. Each step is an
 * asynchronous call; an error stops there, shows the agent's message above
 * the tabs and opens the tab it concerns, and the dialog stays open.
 *
 * Invalid values cannot be entered: bandwidth spin buttons hold 512 Kbps to
 * 1023 Mbps in the unit chosen, times are half-hour slots, and OK stays
 * insensitive — with the reason under the field — while a value breaks a
 * rule (the work day ends before it starts, a custom proxy without an
 * address, a passphrase shorter than 16 characters or not confirmed).
 *
 * Bandwidths are in bits a second with decimal units (1 Kbps = 1,000 bits a
 * second), as GetProperties gives them.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "console-properties-dialog.h"
#include "console-passphrase-page.h"
#include "console-util.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KBPS G_GUINT64_CONSTANT (1000)
#define MBPS G_GUINT64_CONSTANT (1000000)
#define MIN_BANDWIDTH (512 * KBPS)
#define MAX_BANDWIDTH (1023 * MBPS)
#define CALL_TIMEOUT_MS (120 * 1000)

/* The tabs, as the stack names its pages. A GtkStack with a switcher, not
 * a GtkNotebook: GTK 3's notebook tabs, once a screen reader has looked at
 * them, raise criticals when their dialog is destroyed. */
#define TAB_THROTTLING "throttling"
#define TAB_PROXY "proxy"
#define TAB_ENCRYPTION "encryption"
#define TAB_CACHE "cache"

struct _ConsolePropertiesDialog
{
  GtkDialog parent_instance;

  CofferDBusAgent *agent; /* NULL in widget tests */
  GCancellable *cancellable;
  gboolean loaded;       /* GetProperties answered */
  gboolean password_set; /* the proxy has a stored password */
  char *cache_folder;
  char *passphrase; /* being applied */

  GtkStack *stack;
  GtkWidget *error_bar;
  GtkLabel *error_label;
  GtkWidget *status_box;
  GtkSpinner *spinner;
  GtkLabel *status_label;
  GtkWidget *ok_button;

  GtkToggleButton *throttle_check;
  GtkWidget *throttle_grid;
  GtkSpinButton *work_bw_spin;
  GtkSpinButton *non_work_bw_spin;
  GtkAdjustment *work_bw_adjustment;
  GtkAdjustment *non_work_bw_adjustment;
  GtkComboBox *work_unit_combo;
  GtkComboBox *non_work_unit_combo;
  GtkComboBoxText *work_start_combo;
  GtkComboBoxText *work_end_combo;
  GtkWidget *work_days_box;
  GtkToggleButton *work_day_checks[7];
  GtkLabel *throttle_error_label;

  GtkToggleButton *proxy_none_radio;
  GtkToggleButton *proxy_system_radio;
  GtkToggleButton *proxy_custom_radio;
  GtkWidget *proxy_grid;
  GtkEntry *proxy_host_entry;
  GtkSpinButton *proxy_port_spin;
  GtkToggleButton *proxy_auth_check;
  GtkEntry *proxy_user_entry;
  GtkEntry *proxy_password_entry;
  GtkLabel *proxy_error_label;

  ConsolePassphrasePage *passphrase_page;
  char *passphrase_file; /* the new passphrase's file, while it is applied */

  GtkLabel *cache_current_label;
  GtkEntry *cache_entry;
  GtkLabel *cache_error_label;
};

G_DEFINE_FINAL_TYPE (ConsolePropertiesDialog, console_properties_dialog, GTK_TYPE_DIALOG)

static void update_ok (ConsolePropertiesDialog *self);
static void apply_passphrase (ConsolePropertiesDialog *self);
static void apply_cache (ConsolePropertiesDialog *self);
static void clear_passphrase_fields (ConsolePropertiesDialog *self);

/* ---- Bandwidth ---- */

static guint64
unit_of (GtkComboBox *combo)
{
  return g_strcmp0 (gtk_combo_box_get_active_id (combo), "kbps") == 0 ? KBPS : MBPS;
}

/* Sets the spin button's range for the unit, keeping the rate it shows as
 * close as the unit allows. */
static void
set_unit_range (GtkAdjustment *adjustment, guint64 unit, guint64 bits)
{
  double lower = MAX (1, MIN_BANDWIDTH / unit);
  double upper = MAX_BANDWIDTH / unit;
  double value = CLAMP ((double) ((bits + unit / 2) / unit), lower, upper);

  gtk_adjustment_configure (adjustment, value, lower, upper, 1, unit == KBPS ? 100 : 10, 0);
}

static guint64
bandwidth_of (GtkSpinButton *spin, GtkComboBox *combo)
{
  gtk_spin_button_update (spin);
  return CLAMP ((guint64) gtk_spin_button_get_value_as_int (spin) * unit_of (combo), MIN_BANDWIDTH,
                MAX_BANDWIDTH);
}

static void
unit_changed (GtkSpinButton *spin,
              GtkAdjustment *adjustment,
              GtkComboBox *combo,
              guint64 *last_unit)
{
  guint64 unit = unit_of (combo);
  guint64 bits = (guint64) gtk_adjustment_get_value (adjustment) * *last_unit;

  if (unit == *last_unit)
    return;
  set_unit_range (adjustment, unit, bits);
  *last_unit = unit;
}

static void
work_unit_changed_cb (ConsolePropertiesDialog *self)
{
  guint64 *last = g_object_get_data (G_OBJECT (self->work_unit_combo), "last-unit");

  unit_changed (self->work_bw_spin, self->work_bw_adjustment, self->work_unit_combo, last);
  update_ok (self);
}

static void
non_work_unit_changed_cb (ConsolePropertiesDialog *self)
{
  guint64 *last = g_object_get_data (G_OBJECT (self->non_work_unit_combo), "last-unit");

  unit_changed (self->non_work_bw_spin, self->non_work_bw_adjustment, self->non_work_unit_combo,
                last);
  update_ok (self);
}

static void
show_bandwidth (GtkAdjustment *adjustment, GtkComboBox *combo, guint64 bits)
{
  guint64 unit = bits >= MBPS && bits % MBPS == 0 ? MBPS : KBPS;
  guint64 *last = g_object_get_data (G_OBJECT (combo), "last-unit");

  bits = CLAMP (bits, MIN_BANDWIDTH, MAX_BANDWIDTH);
  *last = unit;
  gtk_combo_box_set_active_id (combo, unit == KBPS ? "kbps" : "mbps");
  set_unit_range (adjustment, unit, bits);
}

/* ---- Validation ---- */

static void
show_field_error (GtkLabel *label, const char *message)
{
  gtk_label_set_text (label, message != NULL ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (label), message != NULL);
}

static const char *
throttle_problem (ConsolePropertiesDialog *self)
{
  const char *start = gtk_combo_box_get_active_id (GTK_COMBO_BOX (self->work_start_combo));
  const char *end = gtk_combo_box_get_active_id (GTK_COMBO_BOX (self->work_end_combo));

  if (!gtk_toggle_button_get_active (self->throttle_check))
    return NULL;
  if (start == NULL || end == NULL || strcmp (end, start) <= 0)
    return _ ("Work hours must end after they start.");
  return NULL;
}

static const char *
proxy_problem (ConsolePropertiesDialog *self)
{
  const char *host = gtk_entry_get_text (self->proxy_host_entry);

  if (!gtk_toggle_button_get_active (self->proxy_custom_radio))
    return NULL;
  if (host[0] == '\0')
    return _ ("Enter the proxy server's address.");
  if (strpbrk (host, " /@") != NULL)
    return _ ("Enter only the proxy server's host name or address, such as proxy.example.com.");
  if (gtk_toggle_button_get_active (self->proxy_auth_check) &&
      gtk_entry_get_text (self->proxy_user_entry)[0] == '\0')
    return _ ("Enter the proxy's user name.");
  return NULL;
}

/* Whether the Encryption tab stops OK: something typed that the passphrase
 * page does not accept yet (the page says what is missing). Empty fields
 * keep the current passphrase. */
static gboolean
passphrase_problem (ConsolePropertiesDialog *self)
{
  const char *passphrase = console_passphrase_page_get_passphrase (self->passphrase_page);

  return passphrase[0] != '\0' && !console_passphrase_page_get_complete (self->passphrase_page);
}

static const char *
cache_problem (ConsolePropertiesDialog *self)
{
  const char *folder = gtk_entry_get_text (self->cache_entry);

  if (folder[0] == '\0')
    return NULL;
  if (!g_path_is_absolute (folder))
    return _ ("Enter the full path of a folder, starting with “/”.");
  if (self->cache_folder != NULL && g_str_equal (folder, self->cache_folder))
    return _ ("That is the current cache folder.");
  return NULL;
}

static void
update_ok (ConsolePropertiesDialog *self)
{
  const char *throttle = throttle_problem (self);
  const char *proxy = proxy_problem (self);
  gboolean passphrase = passphrase_problem (self);
  const char *cache = cache_problem (self);
  gboolean custom = gtk_toggle_button_get_active (self->proxy_custom_radio);
  gboolean auth = gtk_toggle_button_get_active (self->proxy_auth_check);

  gtk_widget_set_sensitive (self->throttle_grid,
                            gtk_toggle_button_get_active (self->throttle_check));
  gtk_widget_set_sensitive (self->proxy_grid, custom);
  gtk_widget_set_sensitive (GTK_WIDGET (self->proxy_user_entry), auth);
  gtk_widget_set_sensitive (GTK_WIDGET (self->proxy_password_entry), auth);

  show_field_error (self->throttle_error_label, throttle);
  show_field_error (self->proxy_error_label, proxy);
  show_field_error (self->cache_error_label, cache);

  gtk_widget_set_sensitive (self->ok_button, throttle == NULL && proxy == NULL && !passphrase &&
                                                 cache == NULL &&
                                                 !gtk_widget_get_visible (self->status_box));
}

/* ---- Loading ---- */

static void
show_error (ConsolePropertiesDialog *self, const char *what, const GError *error, const char *tab)
{
  g_autofree char *message = console_error_message (error);
  g_autofree char *text = g_strdup_printf ("%s %s", what, message);

  gtk_label_set_text (self->error_label, text);
  gtk_widget_show (self->error_bar);
  if (tab != NULL)
    gtk_stack_set_visible_child_name (self->stack, tab);
}

static void
set_busy (ConsolePropertiesDialog *self, const char *text)
{
  gtk_widget_set_visible (self->status_box, text != NULL);
  gtk_label_set_text (self->status_label, text != NULL ? text : "");
  if (text != NULL)
    gtk_spinner_start (self->spinner);
  else
    gtk_spinner_stop (self->spinner);
  gtk_widget_set_sensitive (GTK_WIDGET (self->stack), text == NULL);
  update_ok (self);
}

static void
load_properties (ConsolePropertiesDialog *self, GVariant *properties)
{
  gboolean throttle = FALSE;
  g_autofree const char **days = NULL;
  const char *start = "09:00";
  const char *end = "18:00";
  guint64 work = 10 * MBPS, non_work = 100 * MBPS;
  const char *proxy = "none";
  const char *host = "";
  guint16 port = 0;
  const char *user = "";

  g_variant_lookup (properties, "throttle", "b", &throttle);
  g_variant_lookup (properties, "work-days", "^a&s", &days);
  g_variant_lookup (properties, "work-start", "&s", &start);
  g_variant_lookup (properties, "work-end", "&s", &end);
  g_variant_lookup (properties, "work-bandwidth", "t", &work);
  g_variant_lookup (properties, "non-work-bandwidth", "t", &non_work);
  g_variant_lookup (properties, "proxy", "&s", &proxy);
  g_variant_lookup (properties, "proxy-host", "&s", &host);
  g_variant_lookup (properties, "proxy-port", "q", &port);
  g_variant_lookup (properties, "proxy-user", "&s", &user);
  g_variant_lookup (properties, "proxy-password-set", "b", &self->password_set);
  g_clear_pointer (&self->cache_folder, g_free);
  g_variant_lookup (properties, "cache-folder", "s", &self->cache_folder);

  gtk_toggle_button_set_active (self->throttle_check, throttle);
  show_bandwidth (self->work_bw_adjustment, self->work_unit_combo, work);
  show_bandwidth (self->non_work_bw_adjustment, self->non_work_unit_combo, non_work);
  gtk_combo_box_set_active_id (GTK_COMBO_BOX (self->work_start_combo), start);
  gtk_combo_box_set_active_id (GTK_COMBO_BOX (self->work_end_combo), end);
  if (days != NULL)
    for (guint day = 0; day < 7; day++)
      gtk_toggle_button_set_active (self->work_day_checks[day],
                                    g_strv_contains (days, console_weekday_key (day)));

  gtk_toggle_button_set_active (g_str_equal (proxy, "custom")   ? self->proxy_custom_radio
                                : g_str_equal (proxy, "system") ? self->proxy_system_radio
                                                                : self->proxy_none_radio,
                                TRUE);
  gtk_entry_set_text (self->proxy_host_entry, host);
  if (port != 0)
    gtk_spin_button_set_value (self->proxy_port_spin, port);
  gtk_entry_set_text (self->proxy_user_entry, user);
  gtk_toggle_button_set_active (self->proxy_auth_check, user[0] != '\0');
  gtk_entry_set_placeholder_text (self->proxy_password_entry,
                                  self->password_set ? _ ("Unchanged") : NULL);

  gtk_label_set_text (self->cache_current_label,
                      self->cache_folder != NULL ? self->cache_folder : _ ("Not set"));
  self->loaded = TRUE;
  update_ok (self);
}

static void
get_properties_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ConsolePropertiesDialog *self = user_data;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) error = NULL;

  reply = g_dbus_proxy_call_finish (G_DBUS_PROXY (source), result, &error);
  if (reply == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      set_busy (self, NULL);
      /* Without the current values, only the passphrase can change. */
      gtk_widget_set_sensitive (gtk_stack_get_child_by_name (self->stack, TAB_THROTTLING), FALSE);
      gtk_widget_set_sensitive (gtk_stack_get_child_by_name (self->stack, TAB_PROXY), FALSE);
      gtk_widget_set_sensitive (gtk_stack_get_child_by_name (self->stack, TAB_CACHE), FALSE);
      show_error (self, _ ("The properties could not be read."), error, TAB_ENCRYPTION);
      return;
    }

  set_busy (self, NULL);
  {
    g_autoptr (GVariant) properties = g_variant_get_child_value (reply, 0);
    load_properties (self, properties);
  }
}

/* ---- Applying ---- */

static GVariant *
property_changes (ConsolePropertiesDialog *self)
{
  GVariantBuilder days;
  GVariantDict changes;
  const char *proxy = gtk_toggle_button_get_active (self->proxy_custom_radio)   ? "custom"
                      : gtk_toggle_button_get_active (self->proxy_system_radio) ? "system"
                                                                                : "none";
  gboolean auth = gtk_toggle_button_get_active (self->proxy_auth_check);
  const char *password = gtk_entry_get_text (self->proxy_password_entry);

  g_variant_builder_init (&days, G_VARIANT_TYPE_STRING_ARRAY);
  for (guint day = 0; day < 7; day++)
    if (gtk_toggle_button_get_active (self->work_day_checks[day]))
      g_variant_builder_add (&days, "s", console_weekday_key (day));

  g_variant_dict_init (&changes, NULL);
  g_variant_dict_insert (&changes, "throttle", "b",
                         gtk_toggle_button_get_active (self->throttle_check));
  g_variant_dict_insert_value (&changes, "work-days", g_variant_builder_end (&days));
  g_variant_dict_insert (&changes, "work-start", "s",
                         gtk_combo_box_get_active_id (GTK_COMBO_BOX (self->work_start_combo)));
  g_variant_dict_insert (&changes, "work-end", "s",
                         gtk_combo_box_get_active_id (GTK_COMBO_BOX (self->work_end_combo)));
  g_variant_dict_insert (&changes, "work-bandwidth", "t",
                         bandwidth_of (self->work_bw_spin, self->work_unit_combo));
  g_variant_dict_insert (&changes, "non-work-bandwidth", "t",
                         bandwidth_of (self->non_work_bw_spin, self->non_work_unit_combo));
  g_variant_dict_insert (&changes, "proxy", "s", proxy);
  if (g_str_equal (proxy, "custom"))
    {
      gtk_spin_button_update (self->proxy_port_spin);
      g_variant_dict_insert (&changes, "proxy-host", "s",
                             gtk_entry_get_text (self->proxy_host_entry));
      g_variant_dict_insert (&changes, "proxy-port", "q",
                             (guint16) gtk_spin_button_get_value_as_int (self->proxy_port_spin));
      g_variant_dict_insert (&changes, "proxy-user", "s",
                             auth ? gtk_entry_get_text (self->proxy_user_entry) : "");
      /* An empty field keeps the stored password; no authentication drops it. */
      if (!auth || password[0] != '\0')
        g_variant_dict_insert_value (&changes, "proxy-password",
                                     g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE,
                                                                auth ? password : "",
                                                                auth ? strlen (password) : 0, 1));
    }
  return g_variant_dict_end (&changes);
}

static void
finish (ConsolePropertiesDialog *self)
{
  set_busy (self, NULL);
  gtk_widget_destroy (GTK_WIDGET (self));
}

static void
cache_move_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ConsolePropertiesDialog *self = user_data;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) error = NULL;

  reply = g_dbus_proxy_call_finish (G_DBUS_PROXY (source), result, &error);
  if (reply == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      set_busy (self, NULL);
      show_error (self, _ ("The cache folder could not be moved."), error, TAB_CACHE);
      return;
    }
  /* The Cache move job goes on; the Jobs page follows it. */
  finish (self);
}

static void
apply_cache (ConsolePropertiesDialog *self)
{
  const char *folder = gtk_entry_get_text (self->cache_entry);

  if (folder[0] == '\0' || self->agent == NULL)
    {
      finish (self);
      return;
    }
  set_busy (self, _ ("Starting to move the cache folder…"));
  g_dbus_proxy_call (G_DBUS_PROXY (self->agent), "StartCacheMove",
                     g_variant_new ("(@ay)", g_variant_new_bytestring (folder)),
                     G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS, self->cancellable, cache_move_cb,
                     self);
}

static void
change_passphrase_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ConsolePropertiesDialog *self = user_data;
  g_autoptr (GError) error = NULL;

  if (!coffer_dbus_agent_call_change_passphrase_finish (COFFER_DBUS_AGENT (source), result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      /* The file would hold a passphrase that opens nothing. */
      if (self->passphrase_file != NULL && g_unlink (self->passphrase_file) != 0)
        g_debug ("Cannot remove %s: %s", self->passphrase_file, g_strerror (errno));
      g_clear_pointer (&self->passphrase_file, g_free);
      set_busy (self, NULL);
      show_error (self, _ ("The passphrase was not changed; the old one still opens the backups."),
                  error, TAB_ENCRYPTION);
      return;
    }
  g_clear_pointer (&self->passphrase_file, g_free);
  clear_passphrase_fields (self);
  apply_cache (self);
}

/* Writes the passphrase file, 0600, in a worker thread. */
static void
save_passphrase_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  const char *path = g_object_get_data (G_OBJECT (task), "path");
  const char *passphrase = task_data;
  g_autofree char *contents = g_strconcat (passphrase, "\n", NULL);
  gsize length = strlen (contents);
  gsize written = 0;
  int fd;

  /* A new file: an older passphrase file is never overwritten. */
  fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 || fchmod (fd, 0600) != 0)
    goto failed;
  while (written < length)
    {
      ssize_t n = write (fd, contents + written, length - written);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        goto failed;
      written += (gsize) n;
    }
  if (fsync (fd) != 0 || close (fd) != 0)
    {
      fd = -1;
      goto failed;
    }
  explicit_bzero (contents, length);
  g_task_return_boolean (task, TRUE);
  return;

failed:
  {
    int saved = errno;

    if (fd >= 0)
      close (fd);
    explicit_bzero (contents, length);
    g_task_return_new_error (task, G_IO_ERROR, g_io_error_from_errno (saved),
                             _ ("The passphrase could not be saved to %s: %s"), path,
                             g_strerror (saved));
  }
}

static void
save_passphrase_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ConsolePropertiesDialog *self = CONSOLE_PROPERTIES_DIALOG (source);
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) passphrase = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      g_clear_pointer (&self->passphrase_file, g_free);
      set_busy (self, NULL);
      show_error (self, _ ("The passphrase was not changed."), error, TAB_ENCRYPTION);
      return;
    }

  set_busy (self, _ ("Changing the passphrase…"));
  passphrase = g_variant_ref_sink (g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, self->passphrase,
                                                              strlen (self->passphrase), 1));
  coffer_dbus_agent_call_change_passphrase (self->agent, passphrase, G_DBUS_CALL_FLAGS_NONE,
                                            CALL_TIMEOUT_MS, self->cancellable,
                                            change_passphrase_cb, self);
}

static void
clear_passphrase_fields (ConsolePropertiesDialog *self)
{
  const char *names[] = { "passphrase_entry", "confirm_entry" };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    gtk_entry_set_text (
        GTK_ENTRY (gtk_widget_get_template_child (GTK_WIDGET (self->passphrase_page),
                                                  CONSOLE_TYPE_PASSPHRASE_PAGE, names[i])),
        "");
}

static void
clear_passphrase (ConsolePropertiesDialog *self)
{
  if (self->passphrase != NULL)
    explicit_bzero (self->passphrase, strlen (self->passphrase));
  g_clear_pointer (&self->passphrase, g_free);
}

static void
apply_passphrase (ConsolePropertiesDialog *self)
{
  const char *passphrase = console_passphrase_page_get_passphrase (self->passphrase_page);
  const char *folder = console_passphrase_page_get_save_folder (self->passphrase_page);
  const char *machine = self->agent != NULL ? coffer_dbus_agent_get_machine_name (self->agent) : "";
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format (now, "%Y-%m-%d-%H%M%S");
  g_autofree char *name = NULL;
  g_autoptr (GTask) task = NULL;

  if (passphrase[0] == '\0')
    {
      apply_cache (self);
      return;
    }

  set_busy (self, _ ("Saving the new passphrase…"));
  clear_passphrase (self);
  self->passphrase = g_strdup (passphrase);
  name = g_strdup_printf ("CofferPassphrase-%s-%s.txt",
                          machine != NULL && machine[0] != '\0' ? machine : "server", stamp);
  g_free (self->passphrase_file);
  self->passphrase_file = g_build_filename (folder, name, NULL);
  task = g_task_new (self, self->cancellable, save_passphrase_cb, NULL);
  g_object_set_data_full (G_OBJECT (task), "path", g_strdup (self->passphrase_file), g_free);
  g_task_set_task_data (task, g_strdup (passphrase), (GDestroyNotify) console_passphrase_clear);
  g_task_run_in_thread (task, save_passphrase_thread);
}

static void
set_properties_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ConsolePropertiesDialog *self = user_data;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) error = NULL;

  reply = g_dbus_proxy_call_finish (G_DBUS_PROXY (source), result, &error);
  if (reply == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      set_busy (self, NULL);
      show_error (self, _ ("The properties could not be saved."), error, NULL);
      return;
    }
  apply_passphrase (self);
}

static void
response_cb (ConsolePropertiesDialog *self, int response)
{
  if (response != GTK_RESPONSE_OK)
    {
      gtk_widget_destroy (GTK_WIDGET (self));
      return;
    }

  g_signal_stop_emission_by_name (self, "response");
  gtk_widget_hide (self->error_bar);
  if (self->agent == NULL)
    return;
  if (!self->loaded)
    {
      apply_passphrase (self);
      return;
    }
  set_busy (self, _ ("Saving the properties…"));
  g_dbus_proxy_call (G_DBUS_PROXY (self->agent), "SetProperties",
                     g_variant_new ("(@a{sv})", property_changes (self)), G_DBUS_CALL_FLAGS_NONE,
                     CALL_TIMEOUT_MS, self->cancellable, set_properties_cb, self);
}

/* ---- Encryption and cache helpers ---- */

static void
browse_cache_cb (ConsolePropertiesDialog *self)
{
  console_browse (GTK_WIDGET (self), self->cache_entry, GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                  _ ("Choose the New Cache Folder"), NULL);
}

/* ---- Construction ---- */

static void
console_properties_dialog_dispose (GObject *object)
{
  ConsolePropertiesDialog *self = CONSOLE_PROPERTIES_DIALOG (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->agent);
  G_OBJECT_CLASS (console_properties_dialog_parent_class)->dispose (object);
}

static void
console_properties_dialog_finalize (GObject *object)
{
  ConsolePropertiesDialog *self = CONSOLE_PROPERTIES_DIALOG (object);

  clear_passphrase (self);
  g_free (self->passphrase_file);
  g_free (self->cache_folder);
  G_OBJECT_CLASS (console_properties_dialog_parent_class)->finalize (object);
}

static void
console_properties_dialog_class_init (ConsolePropertiesDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = console_properties_dialog_dispose;
  object_class->finalize = console_properties_dialog_finalize;

  g_type_ensure (CONSOLE_TYPE_PASSPHRASE_PAGE);
  gtk_widget_class_set_template_from_resource (
      widget_class, "/io/github/coffer/Console/console-properties-dialog.ui");
#define BIND(name)                                                                                 \
  gtk_widget_class_bind_template_child (widget_class, ConsolePropertiesDialog, name)
  BIND (stack);
  BIND (error_bar);
  BIND (error_label);
  BIND (status_box);
  BIND (spinner);
  BIND (status_label);
  BIND (ok_button);
  BIND (throttle_check);
  BIND (throttle_grid);
  BIND (work_bw_spin);
  BIND (non_work_bw_spin);
  BIND (work_bw_adjustment);
  BIND (non_work_bw_adjustment);
  BIND (work_unit_combo);
  BIND (non_work_unit_combo);
  BIND (work_start_combo);
  BIND (work_end_combo);
  BIND (work_days_box);
  BIND (throttle_error_label);
  BIND (proxy_none_radio);
  BIND (proxy_system_radio);
  BIND (proxy_custom_radio);
  BIND (proxy_grid);
  BIND (proxy_host_entry);
  BIND (proxy_port_spin);
  BIND (proxy_auth_check);
  BIND (proxy_user_entry);
  BIND (proxy_password_entry);
  BIND (proxy_error_label);
  BIND (passphrase_page);
  BIND (cache_current_label);
  BIND (cache_entry);
  BIND (cache_error_label);
#undef BIND
  gtk_widget_class_bind_template_callback (widget_class, update_ok);
  gtk_widget_class_bind_template_callback (widget_class, response_cb);
  gtk_widget_class_bind_template_callback (widget_class, work_unit_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, non_work_unit_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, browse_cache_cb);
}

static void
console_properties_dialog_init (ConsolePropertiesDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();

  g_object_set_data_full (G_OBJECT (self->work_unit_combo), "last-unit", g_new0 (guint64, 1),
                          g_free);
  g_object_set_data_full (G_OBJECT (self->non_work_unit_combo), "last-unit", g_new0 (guint64, 1),
                          g_free);
  /* OK follows what is typed, not only whether the page is complete. */
  for (guint i = 0; i < 2; i++)
    g_signal_connect_object (gtk_widget_get_template_child (
                                 GTK_WIDGET (self->passphrase_page), CONSOLE_TYPE_PASSPHRASE_PAGE,
                                 i == 0 ? "passphrase_entry" : "confirm_entry"),
                             "changed", G_CALLBACK (update_ok), self, G_CONNECT_SWAPPED);
  console_fill_time_combo (self->work_start_combo);
  console_fill_time_combo (self->work_end_combo);
  /* Work can end at midnight. */
  gtk_combo_box_text_append (self->work_end_combo, "24:00", "24:00");
  for (guint day = 0; day < 7; day++)
    {
      GtkWidget *check = gtk_check_button_new_with_label (console_weekday_short_name (day));

      console_set_accessible_name (check, console_weekday_name (day));
      /* Monday to Friday, until the agent says otherwise. */
      gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (check), day < 5);
      g_signal_connect_object (check, "toggled", G_CALLBACK (update_ok), self, G_CONNECT_SWAPPED);
      gtk_widget_show (check);
      gtk_container_add (GTK_CONTAINER (self->work_days_box), check);
      self->work_day_checks[day] = GTK_TOGGLE_BUTTON (check);
    }
  show_bandwidth (self->work_bw_adjustment, self->work_unit_combo, 10 * MBPS);
  show_bandwidth (self->non_work_bw_adjustment, self->non_work_unit_combo, 100 * MBPS);
  gtk_combo_box_set_active_id (GTK_COMBO_BOX (self->work_start_combo), "09:00");
  gtk_combo_box_set_active_id (GTK_COMBO_BOX (self->work_end_combo), "18:00");
  gtk_dialog_set_default_response (GTK_DIALOG (self), GTK_RESPONSE_OK);
  update_ok (self);
}

/**
 * console_properties_dialog_new:
 * @parent: the main window
 * @agent: (nullable): the agent; %NULL only in widget tests
 *
 * Returns: (transfer full): the dialog, reading the properties.
 */
ConsolePropertiesDialog *
console_properties_dialog_new (GtkWindow *parent, CofferDBusAgent *agent)
{
  ConsolePropertiesDialog *self;

  self = g_object_new (CONSOLE_TYPE_PROPERTIES_DIALOG, "transient-for", parent, "use-header-bar",
                       FALSE, NULL);
  if (agent != NULL)
    {
      self->agent = g_object_ref (agent);
      set_busy (self, _ ("Reading the properties…"));
      g_dbus_proxy_call (G_DBUS_PROXY (agent), "GetProperties", NULL, G_DBUS_CALL_FLAGS_NONE, -1,
                         self->cancellable, get_properties_cb, self);
    }
  return self;
}
