/* cli-register.c: `coffer register`, `coffer unregister`, `coffer passphrase change`.
 *
 * The credentials file travels to the agent as an open file descriptor and
 * the passphrase as bytes: the agent never opens a path the CLI names.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gunixfdlist.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cli-commands.h"

/* Registration runs scrypt and reads the vault: give it time. */
#define LONG_CALL_TIMEOUT_MS (300 * 1000)

/* A file descriptor holding @bytes, for credentials that exist only in memory. */
static int
memory_fd (GBytes *bytes, GError **error)
{
  gsize size;
  const char *data = g_bytes_get_data (bytes, &size);
  int fd = memfd_create ("coffer-credentials", MFD_CLOEXEC);

  if (fd < 0 || write (fd, data, size) != (ssize_t) size || lseek (fd, 0, SEEK_SET) != 0)
    {
      int saved_errno = errno;
      if (fd >= 0)
        close (fd);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Cannot pass the credentials to the agent: %s", g_strerror (saved_errno));
      return -1;
    }
  return fd;
}

static int
credentials_fd (const char *credentials_path,
                const char *create_vault,
                const char *vault_name,
                GError **error)
{
  int fd;

  if (create_vault != NULL)
    {
      g_autoptr (CofferVault) vault = NULL;
      g_autoptr (GBytes) file = NULL;
      gint64 issued;

      vault = cli_vault_create_local (create_vault, vault_name, NULL, NULL, error);
      if (vault == NULL)
        return -1;
      g_print (_ ("Created vault “%s” at %s\n"), coffer_vault_get_name (vault),
               coffer_local_store_get_root (COFFER_LOCAL_STORE (coffer_vault_get_store (vault))));
      file = cli_vault_issue_local (vault, &issued, error);
      return file != NULL ? memory_fd (file, error) : -1;
    }

  /* Opened here, read by the agent: a fifo or a device is refused now,
   * never waited on. */
  fd = coffer_input_file_open (credentials_path, COFFER_INPUT_CREDENTIALS_MAX_SIZE, error);
  if (fd < 0)
    {
      if (error != NULL && (*error)->domain == G_IO_ERROR)
        {
          g_autofree char *message = g_strdup_printf (
              _ ("Cannot read the vault credentials file: %s. Copy it to a folder you can read, "
                 "such as your home folder, and try again."),
              (*error)->message);

          g_free ((*error)->message);
          (*error)->message = g_steal_pointer (&message);
        }
      else
        g_prefix_error (error, _ ("Cannot read the vault credentials file: "));
    }
  return fd;
}

/* With --create-local-vault, a registered server is refused before the
 * vault is made: the agent would refuse it only once it exists. */
static gboolean
check_not_registered (CofferDBusAgent *agent, GError **error)
{
  g_autoptr (GVariant) status = NULL;
  gboolean registered = FALSE;
  const char *vault_name = "", *machine_name = "";

  if (!coffer_dbus_agent_call_get_status_sync (agent, G_DBUS_CALL_FLAGS_NONE, -1, &status, NULL,
                                               error))
    return FALSE;
  g_variant_lookup (status, "registered", "b", &registered);
  if (!registered)
    return TRUE;
  g_variant_lookup (status, "vault-name", "&s", &vault_name);
  g_variant_lookup (status, "machine-name", "&s", &machine_name);
  g_set_error (error, COFFER_ERROR, COFFER_ERROR_ALREADY_REGISTERED,
               _ ("This server is already registered to vault “%s” as “%s”; no vault was "
                  "created. Run “coffer unregister” first to register it to another vault."),
               vault_name, machine_name);
  return FALSE;
}

static void
print_registered (GVariant *result)
{
  const char *text = NULL;
  g_autofree const char **warnings = NULL;

  if (g_variant_lookup (result, "vault-name", "&s", &text))
    g_print (_ ("This server is registered to vault “%s”"), text);
  if (g_variant_lookup (result, "machine-name", "&s", &text))
    g_print (_ (" as “%s”"), text);
  g_print (".\n");
  if (g_variant_lookup (result, "storage-location", "&s", &text))
    g_print (_ ("Storage location:  %s\n"), text);
  if (g_variant_lookup (result, "passphrase-storage", "&s", &text))
    g_print (_ ("Passphrase kept:   %s\n"), text);
  if (g_variant_lookup (result, "warnings", "^a&s", &warnings))
    for (guint i = 0; warnings[i] != NULL; i++)
      g_printerr (_ ("Warning: %s\n"), warnings[i]);
}

int
cli_register (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (CofferDBusAgent) agent = NULL;
  g_autoptr (GUnixFDList) fd_list = NULL;
  g_autoptr (GVariant) result = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (char) passphrase = NULL;
  g_autofree char *credentials = NULL;
  g_autofree char *passphrase_file = NULL;
  g_autofree char *save_to = NULL;
  g_autofree char *cache_folder = NULL;
  g_autofree char *machine_name = NULL;
  g_autofree char *vault_path = NULL;
  g_autofree char *create_vault = NULL;
  g_autofree char *vault_name = NULL;
  g_autofree char *saved_path = NULL;
  gboolean generate = FALSE;
  gboolean existing = FALSE;
  GVariantBuilder options;
  int fd;
  const GOptionEntry entries[] = {
    { "vault-credentials", 0, 0, G_OPTION_ARG_FILENAME, &credentials,
      N_ ("The vault credentials file (.VaultCredentials)"), "FILE" },
    { "passphrase-file", 0, 0, G_OPTION_ARG_FILENAME, &passphrase_file,
      N_ ("Read the passphrase from the first line of FILE"), "FILE" },
    { "generate-passphrase", 0, 0, G_OPTION_ARG_NONE, &generate,
      N_ ("Generate a 32-character passphrase"), NULL },
    { "save-passphrase-to", 0, 0, G_OPTION_ARG_FILENAME, &save_to,
      N_ ("Save the passphrase in a file in DIR (best not on this machine)"), "DIR" },
    { "cache-folder", 0, 0, G_OPTION_ARG_FILENAME, &cache_folder,
      N_ ("The cache folder, on a local disk (default: ~/.cache/coffer)"), "DIR" },
    { "machine-name", 0, 0, G_OPTION_ARG_STRING, &machine_name,
      N_ ("This server's name in the vault (default: the host name)"), "NAME" },
    { "existing", 0, 0, G_OPTION_ARG_NONE, &existing,
      N_ ("Register as the server of that name already in the vault (after a reinstall), with "
          "its passphrase; it keeps its recovery points"),
      NULL },
    { "vault-path", 0, 0, G_OPTION_ARG_FILENAME, &vault_path,
      N_ ("Where the vault's folder is mounted now, when it moved"), "DIR" },
    { "create-local-vault", 0, 0, G_OPTION_ARG_FILENAME, &create_vault,
      N_ ("Create a vault in the new or empty folder DIR and register to it"), "DIR" },
    { "vault-name", 0, 0, G_OPTION_ARG_STRING, &vault_name,
      N_ ("The name of the vault --create-local-vault makes (default: Coffer-Vault)"), "NAME" },
    { NULL }
  };

  context = g_option_context_new (NULL);
  g_option_context_set_summary (
      context, _ ("Register this server to a vault, with a vault credentials file or by creating a "
                  "vault in a local folder, and an encryption passphrase of 16 to 1,024 "
                  "printable ASCII characters."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!cli_parse_options (context, &argc, &argv))
    return CLI_EXIT_USAGE;
  if ((credentials != NULL) == (create_vault != NULL))
    {
      g_printerr (_ ("coffer: Give either --vault-credentials FILE or --create-local-vault "
                     "DIR.\n"));
      return CLI_EXIT_USAGE;
    }
  if (existing && generate)
    {
      g_printerr (_ ("coffer: --existing needs that server's passphrase (--passphrase-file), "
                     "not a new one.\n"));
      return CLI_EXIT_USAGE;
    }
  /* Folders travel to the agent as D-Bus strings, which are UTF-8. */
  if ((create_vault != NULL && !cli_check_utf8 (create_vault, _ ("a vault folder"))) ||
      (cache_folder != NULL && !cli_check_utf8 (cache_folder, _ ("a cache folder"))) ||
      (vault_path != NULL && !cli_check_utf8 (vault_path, _ ("a vault folder"))))
    return CLI_EXIT_USAGE;
  if (machine_name == NULL)
    machine_name = g_strdup (g_get_host_name ());
  if (vault_path != NULL)
    {
      char *absolute = g_canonicalize_filename (vault_path, NULL);
      g_free (vault_path);
      vault_path = absolute;
    }
  if (cache_folder != NULL)
    {
      char *absolute = g_canonicalize_filename (cache_folder, NULL);
      g_free (cache_folder);
      cache_folder = absolute;
    }

  passphrase = cli_get_passphrase (passphrase_file, generate, &error);
  if (passphrase == NULL)
    return cli_report_error (error);

  agent = cli_agent_connect (&error);
  if (agent == NULL || (create_vault != NULL && !check_not_registered (agent, &error)))
    return cli_report_error (error);

  /* Saved before registering, so a generated passphrase is never lost. */
  if (save_to != NULL)
    {
      saved_path = cli_save_passphrase (save_to, machine_name, passphrase, &error);
      if (saved_path == NULL)
        return cli_report_error (error);
    }

  fd = credentials_fd (credentials, create_vault, vault_name != NULL ? vault_name : "Coffer-Vault",
                       &error);
  if (fd < 0)
    goto failed;
  fd_list = g_unix_fd_list_new_from_array (&fd, 1);

  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&options, "{sv}", "machine-name", g_variant_new_string (machine_name));
  if (cache_folder != NULL)
    g_variant_builder_add (&options, "{sv}", "cache-folder", g_variant_new_string (cache_folder));
  if (vault_path != NULL)
    g_variant_builder_add (&options, "{sv}", "vault-path", g_variant_new_string (vault_path));
  g_variant_builder_add (&options, "{sv}", "existing", g_variant_new_boolean (existing));

  if (!coffer_dbus_agent_call_register_sync (
          agent, g_variant_new_handle (0), cli_passphrase_variant (passphrase),
          g_variant_builder_end (&options), G_DBUS_CALL_FLAGS_NONE, LONG_CALL_TIMEOUT_MS, fd_list,
          &result, NULL, NULL, &error))
    goto failed;

  print_registered (result);
  if (saved_path != NULL)
    g_print (_ ("Passphrase saved:  %s\n"), saved_path);
  else if (generate)
    cli_show_generated_passphrase (passphrase);
  return CLI_EXIT_OK;

failed:
  /* A passphrase that registered nothing is of no use: do not leave it. */
  if (saved_path != NULL)
    g_unlink (saved_path);
  return cli_report_error (error);
}

int
cli_unregister (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (CofferDBusAgent) agent = NULL;
  g_autoptr (GError) error = NULL;

  context = g_option_context_new (NULL);
  g_option_context_set_summary (context, _ ("Remove this server's registration. The vault keeps "
                                            "its recovery points."));
  if (!cli_parse_options (context, &argc, &argv))
    return CLI_EXIT_USAGE;

  agent = cli_agent_connect (&error);
  if (agent == NULL || !coffer_dbus_agent_call_unregister_sync (agent, G_DBUS_CALL_FLAGS_NONE,
                                                                LONG_CALL_TIMEOUT_MS, NULL, &error))
    return cli_report_error (error);

  g_print (_ ("This server is no longer registered to a vault. The vault keeps its recovery "
              "points: register again with --existing and the same passphrase to use them.\n"));
  return CLI_EXIT_OK;
}

int
cli_passphrase_change (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (CofferDBusAgent) agent = NULL;
  g_autoptr (GVariant) status = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (char) passphrase = NULL;
  g_autofree char *passphrase_file = NULL;
  g_autofree char *save_to = NULL;
  g_autofree char *saved_path = NULL;
  const char *machine_name = "server";
  gboolean generate = FALSE;
  const GOptionEntry entries[] = {
    { "passphrase-file", 0, 0, G_OPTION_ARG_FILENAME, &passphrase_file,
      N_ ("Read the new passphrase from the first line of FILE"), "FILE" },
    { "generate-passphrase", 0, 0, G_OPTION_ARG_NONE, &generate,
      N_ ("Generate a 32-character passphrase"), NULL },
    { "save-passphrase-to", 0, 0, G_OPTION_ARG_FILENAME, &save_to,
      N_ ("Save the new passphrase in a file in DIR (best not on this machine)"), "DIR" },
    { NULL }
  };

  context = g_option_context_new (NULL);
  g_option_context_set_summary (context, _ ("Change the encryption passphrase. The keys are "
                                            "wrapped again; no data is re-encrypted, and the old "
                                            "passphrase stops working."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!cli_parse_options (context, &argc, &argv))
    return CLI_EXIT_USAGE;

  passphrase = cli_get_passphrase (passphrase_file, generate, &error);
  if (passphrase == NULL)
    return cli_report_error (error);
  agent = cli_agent_connect (&error);
  if (agent == NULL || !coffer_dbus_agent_call_get_status_sync (agent, G_DBUS_CALL_FLAGS_NONE, -1,
                                                                &status, NULL, &error))
    return cli_report_error (error);
  g_variant_lookup (status, "machine-name", "&s", &machine_name);

  if (save_to != NULL)
    {
      saved_path = cli_save_passphrase (save_to, machine_name, passphrase, &error);
      if (saved_path == NULL)
        return cli_report_error (error);
    }

  if (!coffer_dbus_agent_call_change_passphrase_sync (agent, cli_passphrase_variant (passphrase),
                                                      G_DBUS_CALL_FLAGS_NONE, LONG_CALL_TIMEOUT_MS,
                                                      NULL, &error))
    {
      if (saved_path != NULL)
        g_unlink (saved_path);
      return cli_report_error (error);
    }

  g_print (_ ("The passphrase was changed. The old passphrase no longer opens this server's "
              "backups.\n"));
  if (saved_path != NULL)
    g_print (_ ("Passphrase saved:  %s\n"), saved_path);
  else if (generate)
    cli_show_generated_passphrase (passphrase);
  return CLI_EXIT_OK;
}
