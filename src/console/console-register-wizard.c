/* console-register-wizard.c: the Register Server wizard — Vault
 * Identification, Proxy Configuration, Encryption Setting, Cache Folder,
 * Confirmation, then registering.
 *
 * Nothing is written until the user chooses Register on the Confirmation
 * page; then, in order and each step asynchronously:
 *   1. the passphrase is saved where the user chose (0600), so a generated
 *      one is never lost;
 *   2. the proxy goes to the agent with SetProperties when the user set one;
 *   3. for a new vault: `coffer vault create` and `coffer vault credentials`
 *      run as subprocesses. The console only speaks D-Bus and the agent never
 *      opens a path a client names, so the vault is made the way an
 *      administrator makes one, by the CLI's admin commands, which work on a
 *      local folder directly; the credentials file goes to a private
 *      temporary folder that is removed afterwards;
 *   4. Register, with the credentials file as a descriptor and the
 *      passphrase as bytes.
 * A refusal sends the user back to the page it is about (credentials and
 * the vault to Vault Identification, the passphrase to Encryption Setting)
 * with the agent's message on it, and the saved passphrase is removed. A
 * vault this wizard made stays made: a second try issues new credentials for
 * it instead of creating it again.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <gio/gunixfdlist.h>
#include <string.h>
#include <unistd.h>

#include "console-register-wizard.h"
#include "console-passphrase-page.h"
#include "console-util.h"
#include "coffer-error.h"
#include "coffer-input.h"

#define REGISTER_TIMEOUT_MS (5 * 60 * 1000)

typedef enum
{
  PAGE_VAULT,
  PAGE_PROXY,
  PAGE_PASSPHRASE,
  PAGE_CACHE,
  PAGE_CONFIRM,
  PAGE_PROGRESS,
  PAGE_SUMMARY,
} Page;

typedef enum
{
  PROXY_UNKNOWN,
  PROXY_SUPPORTED,
  PROXY_UNSUPPORTED,
} ProxySupport;

struct _ConsoleRegisterWizard
{
  GtkAssistant parent_instance;

  GtkWidget *vault_page;
  GtkToggleButton *create_radio;
  GtkToggleButton *file_radio;
  GtkWidget *create_grid;
  GtkWidget *file_grid;
  GtkEntry *vault_folder_entry;
  GtkEntry *vault_name_entry;
  GtkEntry *credentials_entry;
  GtkEntry *machine_name_entry;
  GtkLabel *vault_error_label;

  GtkWidget *proxy_page;
  GtkToggleButton *proxy_none_radio;
  GtkToggleButton *proxy_system_radio;
  GtkToggleButton *proxy_custom_radio;
  GtkWidget *proxy_grid;
  GtkEntry *proxy_host_entry;
  GtkSpinButton *proxy_port_spin;
  GtkToggleButton *proxy_auth_check;
  GtkEntry *proxy_user_entry;
  GtkEntry *proxy_password_entry;
  GtkLabel *proxy_note_label;

  ConsolePassphrasePage *passphrase_page;

  GtkWidget *cache_page;
  GtkEntry *cache_entry;
  GtkLabel *cache_error_label;

  GtkWidget *confirm_page;
  GtkGrid *summary_grid;
  GtkLabel *confirm_error_label;

  GtkWidget *progress_page;
  GtkSpinner *progress_spinner;
  GtkLabel *progress_label;

  GtkWidget *summary_page;
  GtkLabel *done_label;
  GtkLabel *done_details_label;
  GtkLabel *done_warning_label;

  CofferDBusAgent *agent;
  GCancellable *cancellable;
  ProxySupport proxy_support;
  gboolean proxy_loaded;
  gboolean cache_seen;
  char *vault_error;      /* what the agent or the CLI said about the vault */
  char *created_vault;    /* a vault this wizard created, kept for a retry */
  char *saved_passphrase; /* the passphrase file written for this attempt */
  char *credentials_dir;  /* the private folder of an issued credentials file */
};

G_DEFINE_FINAL_TYPE (ConsoleRegisterWizard, console_register_wizard, GTK_TYPE_ASSISTANT)

static void
set_message (GtkLabel *label, const char *message)
{
  gtk_label_set_text (label, message != NULL ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (label), message != NULL && *message != '\0');
}

static gboolean
creating_vault (ConsoleRegisterWizard *self)
{
  return gtk_toggle_button_get_active (self->create_radio);
}

static gboolean
vault_name_is_valid (const char *name)
{
  gsize length = strlen (name);

  if (length < 2 || length > 50 || !g_ascii_isalpha (name[0]))
    return FALSE;
  for (const char *p = name; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '-')
      return FALSE;
  return TRUE;
}

/* Why the vault folder cannot hold a new vault, or NULL when it can. */
static char *
vault_folder_problem (ConsoleRegisterWizard *self, const char *folder)
{
  g_autoptr (GDir) dir = NULL;
  g_autofree char *parent = NULL;

  if (!g_path_is_absolute (folder))
    return g_strdup (_ ("Enter the full path of the folder, starting with /."));
  if (g_strcmp0 (folder, self->created_vault) == 0)
    return NULL;
  if (g_file_test (folder, G_FILE_TEST_EXISTS))
    {
      if (!g_file_test (folder, G_FILE_TEST_IS_DIR))
        return g_strdup_printf (_ ("%s is not a folder."), folder);
      dir = g_dir_open (folder, 0, NULL);
      if (dir != NULL && g_dir_read_name (dir) != NULL)
        return g_strdup_printf (_ ("%s is not empty: choose a new or empty folder."), folder);
      return NULL;
    }
  parent = g_path_get_dirname (folder);
  if (!g_file_test (parent, G_FILE_TEST_IS_DIR))
    return g_strdup_printf (_ ("%s does not exist."), parent);
  return NULL;
}

/* Why the Vault Identification page cannot go on, or NULL when it can. */
static char *
vault_page_problem (ConsoleRegisterWizard *self, gboolean *out_quiet)
{
  g_autofree char *machine = g_strstrip (g_strdup (gtk_entry_get_text (self->machine_name_entry)));

  *out_quiet = FALSE;
  if (creating_vault (self))
    {
      const char *folder = gtk_entry_get_text (self->vault_folder_entry);
      const char *name = gtk_entry_get_text (self->vault_name_entry);

      if (*folder == '\0')
        {
          *out_quiet = TRUE;
          return g_strdup ("");
        }
      if (!vault_name_is_valid (name))
        return g_strdup (_ ("A vault name has 2 to 50 letters, digits and hyphens, and starts "
                            "with a letter."));
      {
        char *problem = vault_folder_problem (self, folder);
        if (problem != NULL)
          return problem;
      }
    }
  else
    {
      const char *file = gtk_entry_get_text (self->credentials_entry);

      if (*file == '\0')
        {
          *out_quiet = TRUE;
          return g_strdup ("");
        }
      if (!g_file_test (file, G_FILE_TEST_IS_REGULAR))
        return g_strdup_printf (_ ("%s is not a file."), file);
    }
  if (*machine == '\0')
    {
      *out_quiet = TRUE;
      return g_strdup ("");
    }
  return NULL;
}

static gboolean
proxy_page_is_complete (ConsoleRegisterWizard *self)
{
  if (self->proxy_support != PROXY_SUPPORTED ||
      !gtk_toggle_button_get_active (self->proxy_custom_radio))
    return TRUE;
  if (*gtk_entry_get_text (self->proxy_host_entry) == '\0')
    return FALSE;
  if (gtk_toggle_button_get_active (self->proxy_auth_check) &&
      *gtk_entry_get_text (self->proxy_user_entry) == '\0')
    return FALSE;
  return TRUE;
}

static gboolean
cache_page_is_complete (ConsoleRegisterWizard *self)
{
  const char *folder = gtk_entry_get_text (self->cache_entry);

  if (*folder != '\0' && !g_path_is_absolute (folder))
    {
      set_message (self->cache_error_label,
                   _ ("Enter the full path of the folder, starting with /."));
      return FALSE;
    }
  if (*folder != '\0' && g_file_test (folder, G_FILE_TEST_EXISTS) &&
      !g_file_test (folder, G_FILE_TEST_IS_DIR))
    {
      g_autofree char *message = g_strdup_printf (_ ("%s is not a folder."), folder);
      set_message (self->cache_error_label, message);
      return FALSE;
    }
  set_message (self->cache_error_label, NULL);
  return *folder != '\0';
}

/* Brings every page's completeness and sensitivity up to date. */
static void
changed_cb (ConsoleRegisterWizard *self)
{
  GtkAssistant *assistant = GTK_ASSISTANT (self);
  g_autofree char *problem = NULL;
  gboolean creating = creating_vault (self);
  gboolean custom = gtk_toggle_button_get_active (self->proxy_custom_radio);
  gboolean auth = gtk_toggle_button_get_active (self->proxy_auth_check);
  gboolean quiet;

  gtk_widget_set_sensitive (self->create_grid, creating);
  gtk_widget_set_sensitive (self->file_grid, !creating);
  problem = vault_page_problem (self, &quiet);
  if (self->vault_error != NULL)
    set_message (self->vault_error_label, self->vault_error);
  else
    set_message (self->vault_error_label, quiet ? NULL : problem);
  gtk_assistant_set_page_complete (assistant, self->vault_page, problem == NULL);

  gtk_widget_set_sensitive (self->proxy_grid, self->proxy_support == PROXY_SUPPORTED && custom);
  gtk_widget_set_sensitive (GTK_WIDGET (self->proxy_user_entry), auth);
  gtk_widget_set_sensitive (GTK_WIDGET (self->proxy_password_entry), auth);
  gtk_assistant_set_page_complete (assistant, self->proxy_page, proxy_page_is_complete (self));

  gtk_assistant_set_page_complete (assistant, GTK_WIDGET (self->passphrase_page),
                                   console_passphrase_page_get_complete (self->passphrase_page));
  gtk_assistant_set_page_complete (assistant, self->cache_page,
                                   cache_page_is_complete (self) && self->cache_seen);
}

/* Any edit on the Vault Identification page makes the agent's last word
 * about it stale. */
static void
vault_entry_changed_cb (ConsoleRegisterWizard *self)
{
  g_clear_pointer (&self->vault_error, g_free);
  changed_cb (self);
}

static void
browse_vault_folder_cb (ConsoleRegisterWizard *self)
{
  console_browse (GTK_WIDGET (self), self->vault_folder_entry,
                  GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, _ ("Folder for the New Vault"), NULL);
}

static void
browse_credentials_cb (ConsoleRegisterWizard *self)
{
  GtkFileFilter *filter = gtk_file_filter_new ();

  gtk_file_filter_set_name (filter, _ ("Vault credentials files"));
  gtk_file_filter_add_pattern (filter, "*.VaultCredentials");
  console_browse (GTK_WIDGET (self), self->credentials_entry, GTK_FILE_CHOOSER_ACTION_OPEN,
                  _ ("Vault Credentials File"), filter);
}

static void
browse_cache_cb (ConsoleRegisterWizard *self)
{
  console_browse (GTK_WIDGET (self), self->cache_entry, GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                  _ ("Cache Folder"), NULL);
}

/* Proxy Configuration: what the agent has now, or why it cannot say. */
static void
get_properties_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ConsoleRegisterWizard *self;
  g_autoptr (GVariant) properties = NULL;
  g_autoptr (GError) error = NULL;
  const char *proxy = NULL;
  const char *host = NULL;
  const char *user = NULL;
  guint16 port = 0;

  if (!coffer_dbus_agent_call_get_properties_finish (COFFER_DBUS_AGENT (source), &properties,
                                                     result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      self = user_data;
      self->proxy_support = PROXY_UNSUPPORTED;
      if (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD))
        set_message (self->proxy_note_label,
                     _ ("The Coffer agent of this version cannot use a proxy server yet: it "
                        "reaches the vault directly. A vault in a local folder needs no proxy."));
      else
        {
          g_autoptr (GError) shown = coffer_error_from_dbus (error);
          g_autofree char *message =
              g_strdup_printf (_ ("The proxy settings cannot be read: %s"), shown->message);
          set_message (self->proxy_note_label, message);
        }
      gtk_widget_set_sensitive (GTK_WIDGET (self->proxy_system_radio), FALSE);
      gtk_widget_set_sensitive (GTK_WIDGET (self->proxy_custom_radio), FALSE);
      changed_cb (self);
      return;
    }

  self = user_data;
  self->proxy_support = PROXY_SUPPORTED;
  g_variant_lookup (properties, "proxy", "&s", &proxy);
  if (g_variant_lookup (properties, "proxy-host", "&s", &host))
    gtk_entry_set_text (self->proxy_host_entry, host);
  if (g_variant_lookup (properties, "proxy-port", "q", &port) && port > 0)
    gtk_spin_button_set_value (self->proxy_port_spin, port);
  if (g_variant_lookup (properties, "proxy-user", "&s", &user) && *user != '\0')
    {
      gtk_entry_set_text (self->proxy_user_entry, user);
      gtk_toggle_button_set_active (self->proxy_auth_check, TRUE);
    }
  if (g_strcmp0 (proxy, "system") == 0)
    gtk_toggle_button_set_active (self->proxy_system_radio, TRUE);
  else if (g_strcmp0 (proxy, "custom") == 0)
    gtk_toggle_button_set_active (self->proxy_custom_radio, TRUE);
  set_message (self->proxy_note_label, NULL);
  changed_cb (self);
}

static void
add_summary_row (ConsoleRegisterWizard *self, int row, const char *title, const char *value)
{
  GtkWidget *name = gtk_label_new (title);
  GtkWidget *text = gtk_label_new (value);

  gtk_label_set_xalign (GTK_LABEL (name), 1.0);
  gtk_label_set_yalign (GTK_LABEL (name), 0.0);
  gtk_style_context_add_class (gtk_widget_get_style_context (name), "dim-label");
  gtk_label_set_xalign (GTK_LABEL (text), 0.0);
  gtk_label_set_line_wrap (GTK_LABEL (text), TRUE);
  gtk_label_set_line_wrap_mode (GTK_LABEL (text), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_selectable (GTK_LABEL (text), TRUE);
  gtk_widget_set_can_focus (text, FALSE);
  gtk_widget_set_hexpand (text, TRUE);
  gtk_label_set_mnemonic_widget (GTK_LABEL (name), text);
  gtk_grid_attach (self->summary_grid, name, 0, row, 1, 1);
  gtk_grid_attach (self->summary_grid, text, 1, row, 1, 1);
  gtk_widget_show (name);
  gtk_widget_show (text);
}

static char *
proxy_summary (ConsoleRegisterWizard *self)
{
  if (self->proxy_support != PROXY_SUPPORTED ||
      gtk_toggle_button_get_active (self->proxy_none_radio))
    return g_strdup (_ ("No proxy"));
  if (gtk_toggle_button_get_active (self->proxy_system_radio))
    return g_strdup (_ ("The system proxy settings"));
  return g_strdup_printf ("%s:%d%s", gtk_entry_get_text (self->proxy_host_entry),
                          gtk_spin_button_get_value_as_int (self->proxy_port_spin),
                          gtk_toggle_button_get_active (self->proxy_auth_check)
                              ? _ (", with a user name and password")
                              : "");
}

static void
destroy_widget (GtkWidget *widget, gpointer user_data)
{
  gtk_widget_destroy (widget);
}

static void
fill_summary (ConsoleRegisterWizard *self)
{
  g_autofree char *vault = NULL;
  g_autofree char *proxy = proxy_summary (self);
  const char *save_folder = console_passphrase_page_get_save_folder (self->passphrase_page);
  g_autofree char *passphrase = NULL;
  int row = 0;

  gtk_container_foreach (GTK_CONTAINER (self->summary_grid), destroy_widget, NULL);

  if (creating_vault (self))
    vault =
        g_strdup_printf (_ ("A new vault “%s” in %s"), gtk_entry_get_text (self->vault_name_entry),
                         gtk_entry_get_text (self->vault_folder_entry));
  else
    vault = g_strdup_printf (_ ("The vault of the credentials file %s"),
                             gtk_entry_get_text (self->credentials_entry));
  if (console_folder_is_on_this_machine (save_folder))
    passphrase =
        g_strdup_printf (_ ("Saved in %s (on this computer: keep a copy elsewhere)"), save_folder);
  else
    passphrase = g_strdup_printf (_ ("Saved in %s"), save_folder);

  add_summary_row (self, row++, _ ("Vault:"), vault);
  add_summary_row (self, row++, _ ("Server name:"), gtk_entry_get_text (self->machine_name_entry));
  add_summary_row (self, row++, _ ("Proxy:"), proxy);
  add_summary_row (self, row++, _ ("Passphrase:"), passphrase);
  add_summary_row (self, row++, _ ("Cache folder:"), gtk_entry_get_text (self->cache_entry));
}

static void
prepare_cb (ConsoleRegisterWizard *self, GtkWidget *page)
{
  if (page == self->proxy_page && !self->proxy_loaded && self->agent != NULL)
    {
      self->proxy_loaded = TRUE;
      coffer_dbus_agent_call_get_properties (self->agent, G_DBUS_CALL_FLAGS_NONE, -1,
                                             self->cancellable, get_properties_cb, self);
    }
  else if (page == self->cache_page)
    {
      /* Complete only once seen, so GtkAssistant offers no Finish button
       * that would skip it. */
      self->cache_seen = TRUE;
      changed_cb (self);
    }
  else if (page == self->confirm_page)
    fill_summary (self);
  else if (page == self->progress_page)
    gtk_spinner_start (self->progress_spinner);
}

/* ---- Registering ---- */

static void
remove_credentials_dir (ConsoleRegisterWizard *self)
{
  g_autoptr (GDir) dir = NULL;
  const char *name;

  if (self->credentials_dir == NULL)
    return;
  dir = g_dir_open (self->credentials_dir, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (self->credentials_dir, name, NULL);
      g_unlink (path);
    }
  g_rmdir (self->credentials_dir);
  g_clear_pointer (&self->credentials_dir, g_free);
}

/* Ends an attempt that failed: @message goes on @page. */
static void
fail_on_page (ConsoleRegisterWizard *self, Page page, const char *message)
{
  /* A passphrase that registered nothing is of no use: do not leave it. */
  if (self->saved_passphrase != NULL)
    g_unlink (self->saved_passphrase);
  g_clear_pointer (&self->saved_passphrase, g_free);
  remove_credentials_dir (self);
  gtk_spinner_stop (self->progress_spinner);

  switch (page)
    {
      case PAGE_VAULT:
        g_free (self->vault_error);
        self->vault_error = g_strdup (message);
        break;
      case PAGE_PROXY:
        set_message (self->proxy_note_label, message);
        break;
      case PAGE_PASSPHRASE:
        console_passphrase_page_set_error (self->passphrase_page, message);
        break;
      case PAGE_CACHE:
        set_message (self->cache_error_label, message);
        break;
      default:
        page = PAGE_CONFIRM;
        set_message (self->confirm_error_label, message);
        break;
    }
  changed_cb (self);
  if (page == PAGE_CACHE)
    set_message (self->cache_error_label, message);
  gtk_assistant_set_current_page (GTK_ASSISTANT (self), page);
}

static void
fail_with_error (ConsoleRegisterWizard *self, const GError *error)
{
  g_autoptr (GError) shown = coffer_error_from_dbus (error);
  Page page = PAGE_CONFIRM;

  if (shown->domain == COFFER_ERROR)
    switch (shown->code)
      {
        case COFFER_ERROR_CREDENTIALS_INVALID:
        case COFFER_ERROR_CREDENTIALS_EXPIRED:
        case COFFER_ERROR_CREDENTIALS_OTHER_VAULT:
        case COFFER_ERROR_ALREADY_REGISTERED:
        case COFFER_ERROR_EXISTS:
        case COFFER_ERROR_VAULT_UNREACHABLE:
        case COFFER_ERROR_NEWER_FORMAT:
        case COFFER_ERROR_PERMISSION_DENIED:
        case COFFER_ERROR_NOT_FOUND:
          page = PAGE_VAULT;
          break;
        case COFFER_ERROR_WEAK_PASSPHRASE:
        case COFFER_ERROR_WRONG_PASSPHRASE:
          page = PAGE_PASSPHRASE;
          break;
        case COFFER_ERROR_NO_SPACE:
          page = PAGE_CACHE;
          break;
        case COFFER_ERROR_PROXY_AUTH:
          page = PAGE_PROXY;
          break;
        default:
          break;
      }
  fail_on_page (self, page, shown->message);
}

static void
register_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ConsoleRegisterWizard *self;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree const char **warnings = NULL;
  g_autofree char *done = NULL;
  g_autofree char *details = NULL;
  g_autofree char *warning_text = NULL;
  const char *vault_name = "";
  const char *machine_name = "";
  const char *location = "";
  const char *storage = "";

  if (!coffer_dbus_agent_call_register_finish (COFFER_DBUS_AGENT (source), &reply, NULL, result,
                                               &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      fail_with_error (user_data, error);
      return;
    }

  self = user_data;
  remove_credentials_dir (self);
  g_variant_lookup (reply, "vault-name", "&s", &vault_name);
  g_variant_lookup (reply, "machine-name", "&s", &machine_name);
  g_variant_lookup (reply, "storage-location", "&s", &location);
  g_variant_lookup (reply, "passphrase-storage", "&s", &storage);
  g_variant_lookup (reply, "warnings", "^a&s", &warnings);

  done = g_strdup_printf (_ ("This server is registered to vault “%s” as “%s”. Next, choose "
                             "Schedule Backup to say what to back up and when, or Back Up Now."),
                          vault_name, machine_name);
  if (g_strcmp0 (storage, "Secret Service") == 0)
    storage = _ ("in the keyring (Secret Service)");
  else if (g_strcmp0 (storage, "file") == 0)
    storage = _ ("in a file only you can read, in Coffer's state folder");
  details = g_strdup_printf (_ ("Storage location: %s\nPassphrase saved in: %s\nFor scheduled "
                                "backups, this computer keeps the passphrase %s."),
                             location, self->saved_passphrase, storage);
  gtk_label_set_text (self->done_label, done);
  gtk_label_set_text (self->done_details_label, details);
  if (warnings != NULL && warnings[0] != NULL)
    warning_text = g_strjoinv ("\n", (char **) warnings);
  set_message (self->done_warning_label, warning_text);
  g_clear_pointer (&self->saved_passphrase, g_free);

  gtk_spinner_stop (self->progress_spinner);
  gtk_assistant_set_page_complete (GTK_ASSISTANT (self), self->progress_page, TRUE);
  gtk_assistant_set_current_page (GTK_ASSISTANT (self), PAGE_SUMMARY);
}

static void
send_register (ConsoleRegisterWizard *self, const char *credentials_path)
{
  const char *passphrase = console_passphrase_page_get_passphrase (self->passphrase_page);
  g_autoptr (GUnixFDList) fd_list = NULL;
  g_autofree char *machine = g_strstrip (g_strdup (gtk_entry_get_text (self->machine_name_entry)));
  g_autofree char *cache = g_canonicalize_filename (gtk_entry_get_text (self->cache_entry), NULL);
  g_autoptr (GError) error = NULL;
  GVariantBuilder options;
  int fd;

  /* Never blocks on a fifo, never hands the agent a device. */
  fd = coffer_input_file_open (credentials_path, COFFER_INPUT_CREDENTIALS_MAX_SIZE, &error);
  if (fd < 0)
    {
      g_autofree char *message =
          error->domain == G_IO_ERROR
              ? g_strdup_printf (_ ("Cannot read the vault credentials file: %s. Copy it to a "
                                    "folder you can read, such as your home folder, and try "
                                    "again."),
                                 error->message)
              : g_strdup_printf (_ ("Cannot read the vault credentials file: %s"), error->message);
      fail_on_page (self, PAGE_VAULT, message);
      return;
    }
  fd_list = g_unix_fd_list_new_from_array (&fd, 1);

  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&options, "{sv}", "machine-name", g_variant_new_string (machine));
  g_variant_builder_add (&options, "{sv}", "cache-folder", g_variant_new_string (cache));

  gtk_label_set_text (self->progress_label,
                      _ ("Registering this server to the vault and protecting its keys with the "
                         "passphrase…"));
  coffer_dbus_agent_call_register (
      self->agent, g_variant_new_handle (0),
      g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, passphrase, strlen (passphrase), 1),
      g_variant_builder_end (&options), G_DBUS_CALL_FLAGS_NONE, REGISTER_TIMEOUT_MS, fd_list,
      self->cancellable, register_cb, self);
}

/* Runs the coffer CLI; @callback gets the GSubprocess as its source. */
static void
run_cli (ConsoleRegisterWizard *self,
         const char *const *arguments,
         GAsyncReadyCallback callback,
         GError **error_out)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GSubprocess) process = NULL;

  g_ptr_array_add (argv, (gpointer) console_cli_path ());
  for (guint i = 0; arguments[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) arguments[i]);
  g_ptr_array_add (argv, NULL);

  process = g_subprocess_newv ((const char *const *) argv->pdata,
                               G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                               error_out);
  if (process == NULL)
    return;
  g_subprocess_communicate_utf8_async (process, NULL, self->cancellable, callback, self);
}

/* What a failed CLI run said, without its "coffer: " prefix. */
static char *
cli_failure (GSubprocess *process, const char *err, const GError *error)
{
  g_autofree char *text = NULL;

  if (error != NULL)
    return g_strdup (error->message);
  text = g_strstrip (g_strdup (err != NULL ? err : ""));
  if (g_str_has_prefix (text, "coffer: "))
    memmove (text, text + 8, strlen (text + 8) + 1);
  if (*text == '\0')
    return g_strdup_printf (_ ("The coffer command ended with status %d."),
                            g_subprocess_get_exit_status (process));
  return g_steal_pointer (&text);
}

static void
issue_credentials_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GSubprocess *process = G_SUBPROCESS (source);
  ConsoleRegisterWizard *self;
  g_autoptr (GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  gboolean ok;

  ok = g_subprocess_communicate_utf8_finish (process, result, &out, &err, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = user_data;
  if (!ok || !g_subprocess_get_successful (process))
    {
      g_autofree char *message = cli_failure (process, err, error);
      fail_on_page (self, PAGE_VAULT, message);
      return;
    }
  send_register (self, g_strstrip (out));
}

static void
issue_credentials (ConsoleRegisterWizard *self)
{
  g_autoptr (GError) error = NULL;
  const char *arguments[] = { "vault", "credentials", self->created_vault, "--output", NULL, NULL };

  self->credentials_dir = g_dir_make_tmp ("coffer-credentials-XXXXXX", &error);
  if (self->credentials_dir == NULL)
    {
      fail_on_page (self, PAGE_CONFIRM, error->message);
      return;
    }
  arguments[4] = self->credentials_dir;
  gtk_label_set_text (self->progress_label, _ ("Issuing vault credentials…"));
  run_cli (self, arguments, issue_credentials_cb, &error);
  if (error != NULL)
    fail_on_page (self, PAGE_VAULT, error->message);
}

static void
create_vault_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GSubprocess *process = G_SUBPROCESS (source);
  ConsoleRegisterWizard *self;
  g_autoptr (GError) error = NULL;
  g_autofree char *err = NULL;
  gboolean ok;

  ok = g_subprocess_communicate_utf8_finish (process, result, NULL, &err, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = user_data;
  if (!ok || !g_subprocess_get_successful (process))
    {
      g_autofree char *message = cli_failure (process, err, error);
      g_clear_pointer (&self->created_vault, g_free);
      fail_on_page (self, PAGE_VAULT, message);
      return;
    }
  issue_credentials (self);
}

static void
find_vault (ConsoleRegisterWizard *self)
{
  g_autofree char *folder = NULL;
  g_autoptr (GError) error = NULL;
  const char *arguments[] = { "vault", "create", "--name", NULL, NULL, NULL };

  if (!creating_vault (self))
    {
      send_register (self, gtk_entry_get_text (self->credentials_entry));
      return;
    }

  folder = g_canonicalize_filename (gtk_entry_get_text (self->vault_folder_entry), NULL);
  if (g_strcmp0 (folder, self->created_vault) == 0)
    {
      issue_credentials (self);
      return;
    }

  g_free (self->created_vault);
  self->created_vault = g_steal_pointer (&folder);
  arguments[3] = gtk_entry_get_text (self->vault_name_entry);
  arguments[4] = self->created_vault;
  gtk_label_set_text (self->progress_label, _ ("Creating the vault…"));
  run_cli (self, arguments, create_vault_cb, &error);
  if (error != NULL)
    {
      g_clear_pointer (&self->created_vault, g_free);
      fail_on_page (self, PAGE_VAULT, error->message);
    }
}

static void
set_properties_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;

  if (!coffer_dbus_agent_call_set_properties_finish (COFFER_DBUS_AGENT (source), result, &error))
    {
      g_autoptr (GError) shown = NULL;
      g_autofree char *message = NULL;

      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      shown = coffer_error_from_dbus (error);
      message = g_strdup_printf (_ ("The proxy settings were not accepted: %s"), shown->message);
      fail_on_page (user_data, PAGE_PROXY, message);
      return;
    }
  find_vault (user_data);
}

static void
send_proxy (ConsoleRegisterWizard *self)
{
  GVariantBuilder changes;
  const char *mode = "none";

  if (self->proxy_support != PROXY_SUPPORTED)
    {
      find_vault (self);
      return;
    }

  if (gtk_toggle_button_get_active (self->proxy_system_radio))
    mode = "system";
  else if (gtk_toggle_button_get_active (self->proxy_custom_radio))
    mode = "custom";

  g_variant_builder_init (&changes, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&changes, "{sv}", "proxy", g_variant_new_string (mode));
  if (g_str_equal (mode, "custom"))
    {
      gboolean auth = gtk_toggle_button_get_active (self->proxy_auth_check);
      const char *password = gtk_entry_get_text (self->proxy_password_entry);

      g_variant_builder_add (&changes, "{sv}", "proxy-host",
                             g_variant_new_string (gtk_entry_get_text (self->proxy_host_entry)));
      g_variant_builder_add (
          &changes, "{sv}", "proxy-port",
          g_variant_new_uint16 (gtk_spin_button_get_value_as_int (self->proxy_port_spin)));
      g_variant_builder_add (
          &changes, "{sv}", "proxy-user",
          g_variant_new_string (auth ? gtk_entry_get_text (self->proxy_user_entry) : ""));
      if (auth && *password != '\0')
        g_variant_builder_add (
            &changes, "{sv}", "proxy-password",
            g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, password, strlen (password), 1));
    }

  gtk_label_set_text (self->progress_label, _ ("Setting the proxy…"));
  coffer_dbus_agent_call_set_properties (self->agent, g_variant_builder_end (&changes),
                                         G_DBUS_CALL_FLAGS_NONE, -1, self->cancellable,
                                         set_properties_cb, self);
}

/* Writes @contents to a new file @path, 0600, never replacing one. */
static gboolean
write_new_file (const char *path, const char *contents, GError **error)
{
  gsize length = strlen (contents);
  gsize written = 0;
  int fd = g_open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

  if (fd < 0)
    {
      int saved_errno = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), "%s: %s", path,
                   g_strerror (saved_errno));
      return FALSE;
    }
  while (written < length)
    {
      ssize_t n = write (fd, contents + written, length - written);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      written += n;
    }
  if (written < length || fsync (fd) != 0)
    {
      int saved_errno = errno != 0 ? errno : EIO;
      close (fd);
      g_unlink (path);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), "%s: %s", path,
                   g_strerror (saved_errno));
      return FALSE;
    }
  close (fd);
  return TRUE;
}

/* Saves the passphrase as CofferPassphrase-MACHINE-DAY.txt in the chosen
 * folder; a file of that name (an earlier passphrase, which may still be
 * needed) is never replaced: the new one gets a number. */
static gboolean
save_passphrase (ConsoleRegisterWizard *self)
{
  const char *folder = console_passphrase_page_get_save_folder (self->passphrase_page);
  const char *passphrase = console_passphrase_page_get_passphrase (self->passphrase_page);
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *day = g_date_time_format (now, "%Y-%m-%d");
  g_autofree char *machine = g_strstrip (g_strdup (gtk_entry_get_text (self->machine_name_entry)));
  g_autofree char *contents = g_strconcat (passphrase, "\n", NULL);
  g_autoptr (GError) error = NULL;

  for (guint attempt = 1; attempt <= 100; attempt++)
    {
      g_autofree char *name =
          attempt == 1 ? g_strdup_printf ("CofferPassphrase-%s-%s.txt", machine, day)
                       : g_strdup_printf ("CofferPassphrase-%s-%s-%u.txt", machine, day, attempt);
      g_autofree char *path = g_build_filename (folder, name, NULL);

      g_clear_error (&error);
      if (write_new_file (path, contents, &error))
        {
          explicit_bzero (contents, strlen (contents));
          self->saved_passphrase = g_steal_pointer (&path);
          return TRUE;
        }
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_EXISTS))
        break;
    }

  explicit_bzero (contents, strlen (contents));
  {
    g_autofree char *message =
        g_strdup_printf (_ ("Cannot save the passphrase: %s"), error->message);
    fail_on_page (self, PAGE_PASSPHRASE, message);
  }
  return FALSE;
}

static void
apply_cb (ConsoleRegisterWizard *self)
{
  set_message (self->confirm_error_label, NULL);
  console_passphrase_page_set_error (self->passphrase_page, NULL);
  gtk_assistant_set_page_complete (GTK_ASSISTANT (self), self->progress_page, FALSE);
  if (self->agent == NULL)
    {
      fail_on_page (self, PAGE_CONFIRM, _ ("The Coffer agent cannot be reached."));
      return;
    }
  gtk_label_set_text (self->progress_label, _ ("Saving the passphrase…"));
  if (save_passphrase (self))
    send_proxy (self);
}

static void
cancel_cb (ConsoleRegisterWizard *self)
{
  gtk_widget_destroy (GTK_WIDGET (self));
}

static void
close_cb (ConsoleRegisterWizard *self)
{
  gtk_widget_destroy (GTK_WIDGET (self));
}

/* GtkAssistant's Apply button says "Apply"; here it registers. */
static void
relabel_apply (GtkWidget *widget, gpointer user_data)
{
  if (GTK_IS_BUTTON (widget) &&
      g_strcmp0 (gtk_button_get_label (GTK_BUTTON (widget)), g_dgettext ("gtk30", "_Apply")) == 0)
    gtk_button_set_label (GTK_BUTTON (widget), _ ("_Register"));
  else if (GTK_IS_CONTAINER (widget))
    gtk_container_forall (GTK_CONTAINER (widget), relabel_apply, user_data);
}

static void
console_register_wizard_dispose (GObject *object)
{
  ConsoleRegisterWizard *self = CONSOLE_REGISTER_WIZARD (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->agent);
  remove_credentials_dir (self);

  G_OBJECT_CLASS (console_register_wizard_parent_class)->dispose (object);
}

static void
console_register_wizard_finalize (GObject *object)
{
  ConsoleRegisterWizard *self = CONSOLE_REGISTER_WIZARD (object);

  g_free (self->vault_error);
  g_free (self->created_vault);
  g_free (self->saved_passphrase);

  G_OBJECT_CLASS (console_register_wizard_parent_class)->finalize (object);
}

static void
console_register_wizard_class_init (ConsoleRegisterWizardClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = console_register_wizard_dispose;
  object_class->finalize = console_register_wizard_finalize;

  g_type_ensure (CONSOLE_TYPE_PASSPHRASE_PAGE);

  gtk_widget_class_set_template_from_resource (
      widget_class, "/io/github/coffer/Console/console-register-wizard.ui");
#define BIND(name) gtk_widget_class_bind_template_child (widget_class, ConsoleRegisterWizard, name)
  BIND (vault_page);
  BIND (create_radio);
  BIND (file_radio);
  BIND (create_grid);
  BIND (file_grid);
  BIND (vault_folder_entry);
  BIND (vault_name_entry);
  BIND (credentials_entry);
  BIND (machine_name_entry);
  BIND (vault_error_label);
  BIND (proxy_page);
  BIND (proxy_none_radio);
  BIND (proxy_system_radio);
  BIND (proxy_custom_radio);
  BIND (proxy_grid);
  BIND (proxy_host_entry);
  BIND (proxy_port_spin);
  BIND (proxy_auth_check);
  BIND (proxy_user_entry);
  BIND (proxy_password_entry);
  BIND (proxy_note_label);
  BIND (passphrase_page);
  BIND (cache_page);
  BIND (cache_entry);
  BIND (cache_error_label);
  BIND (confirm_page);
  BIND (summary_grid);
  BIND (confirm_error_label);
  BIND (progress_page);
  BIND (progress_spinner);
  BIND (progress_label);
  BIND (summary_page);
  BIND (done_label);
  BIND (done_details_label);
  BIND (done_warning_label);
#undef BIND
  gtk_widget_class_bind_template_callback (widget_class, changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, browse_vault_folder_cb);
  gtk_widget_class_bind_template_callback (widget_class, browse_credentials_cb);
  gtk_widget_class_bind_template_callback (widget_class, browse_cache_cb);
  gtk_widget_class_bind_template_callback (widget_class, prepare_cb);
  gtk_widget_class_bind_template_callback (widget_class, apply_cb);
  gtk_widget_class_bind_template_callback (widget_class, cancel_cb);
  gtk_widget_class_bind_template_callback (widget_class, close_cb);
}

static void
console_register_wizard_init (ConsoleRegisterWizard *self)
{
  g_autofree char *cache = g_build_filename (g_get_user_cache_dir (), "coffer", NULL);

  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();

  /* Every edit of the vault's identity makes the last refusal stale. */
  g_signal_connect_swapped (self->vault_folder_entry, "changed",
                            G_CALLBACK (vault_entry_changed_cb), self);
  g_signal_connect_swapped (self->vault_name_entry, "changed", G_CALLBACK (vault_entry_changed_cb),
                            self);
  g_signal_connect_swapped (self->credentials_entry, "changed", G_CALLBACK (vault_entry_changed_cb),
                            self);
  g_signal_connect_swapped (self->machine_name_entry, "changed",
                            G_CALLBACK (vault_entry_changed_cb), self);
  g_signal_connect_swapped (self->create_radio, "toggled", G_CALLBACK (vault_entry_changed_cb),
                            self);

  gtk_entry_set_text (self->machine_name_entry, g_get_host_name ());
  gtk_entry_set_text (self->cache_entry, cache);
  gtk_container_forall (GTK_CONTAINER (self), relabel_apply, NULL);
  changed_cb (self);
}

/**
 * console_register_wizard_new:
 * @parent: the console's window
 * @agent: (nullable): the agent's proxy
 *
 * Returns: (transfer none): a new Register Server wizard, not shown yet; it
 *   destroys itself when closed
 */
ConsoleRegisterWizard *
console_register_wizard_new (GtkWindow *parent, CofferDBusAgent *agent)
{
  ConsoleRegisterWizard *self =
      g_object_new (CONSOLE_TYPE_REGISTER_WIZARD, "transient-for", parent, NULL);

  g_set_object (&self->agent, agent);
  return self;
}
