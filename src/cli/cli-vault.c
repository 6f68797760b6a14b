/* cli-vault.c: `coffer vault create|credentials|set-redundancy`, the portal side.
 *
 * These work on a vault directly, not through the agent: creating a vault and
 * issuing its credentials is what an administrator does, from any machine
 * that can reach the vault's storage.
 */
#include "config.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "cli-commands.h"

#include <string.h>
#include <sys/stat.h>

static char *
absolute_path (const char *location)
{
  return g_canonicalize_filename (location, NULL);
}

/* A local vault's folder is written into its credentials files, which are
 * UTF-8 JSON: one whose path is not UTF-8 could never be registered to. */
static gboolean
check_location (const char *path, GError **error)
{
  g_autofree char *shown = NULL;

  if (g_utf8_validate (path, -1, NULL))
    return TRUE;
  shown = coffer_input_escape (path, -1);
  g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
               _ ("“%s” is not valid UTF-8; Coffer cannot take it as a vault folder yet."), shown);
  return FALSE;
}

static gboolean
folder_is_empty (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);

  return dir != NULL && g_dir_read_name (dir) == NULL;
}

/**
 * cli_vault_create_local:
 * @location: a folder that does not exist yet, or is empty
 * @name: the vault's name
 * @region: (nullable): the region
 * @redundancy: (nullable): "geo" or "local"
 * @error: return location for a #GError
 *
 * Creates the folder (0700) and a vault in it.
 *
 * Returns: (transfer full): the vault
 */
CofferVault *
cli_vault_create_local (const char *location,
                        const char *name,
                        const char *region,
                        const char *redundancy,
                        GError **error)
{
  g_autofree char *path = absolute_path (location);
  g_autofree char *vault_json = g_build_filename (path, "vault.json", NULL);
  g_autoptr (CofferStore) store = NULL;
  gboolean created = FALSE;
  CofferVault *vault;

  if (!coffer_vault_name_check (name, error) || !check_location (path, error))
    return NULL;

  if (g_file_test (vault_json, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_EXISTS, _ ("A vault already exists at %s."),
                   path);
      return NULL;
    }
  if (g_file_test (path, G_FILE_TEST_EXISTS))
    {
      if (!g_file_test (path, G_FILE_TEST_IS_DIR) || !folder_is_empty (path))
        {
          g_set_error (error, COFFER_ERROR, COFFER_ERROR_EXISTS,
                       _ ("%s is not an empty folder; choose a new or empty folder for the "
                          "vault."),
                       path);
          return NULL;
        }
    }
  else if (g_mkdir_with_parents (path, 0700) != 0)
    {
      int saved_errno = errno;
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_PERMISSION_DENIED,
                   _ ("Cannot create the folder %s: %s"), path, g_strerror (saved_errno));
      return NULL;
    }
  else
    created = TRUE;

  store = coffer_local_store_new (path);
  vault = coffer_vault_create (store, name, region, redundancy, NULL, error);
  if (vault == NULL && created)
    g_rmdir (path);
  return vault;
}

/* How an Azure vault is reached, from the command line's options. */
typedef struct
{
  char *endpoint;
  char *account_key_file;
  char *sas_file;
  char *proxy;
  char *proxy_user;
  char *proxy_password_file;
} AzureOptions;

static void
azure_options_clear (AzureOptions *options)
{
  g_free (options->endpoint);
  g_free (options->account_key_file);
  g_free (options->sas_file);
  g_free (options->proxy);
  g_free (options->proxy_user);
  g_free (options->proxy_password_file);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (AzureOptions, azure_options_clear)

static void
add_azure_entries (GOptionContext *context, AzureOptions *options)
{
  const GOptionEntry entries[] = {
    { "endpoint", 0, 0, G_OPTION_ARG_STRING, &options->endpoint,
      N_ ("For azure://: the storage account's URL (default "
          "https://ACCOUNT.blob.core.windows.net)"),
      "URL" },
    { "account-key-file", 0, 0, G_OPTION_ARG_FILENAME, &options->account_key_file,
      N_ ("For azure://: a file holding the storage account key"), "FILE" },
    { "sas-file", 0, 0, G_OPTION_ARG_FILENAME, &options->sas_file,
      N_ ("For azure://: a file holding a shared access signature for the container"), "FILE" },
    { "proxy", 0, 0, G_OPTION_ARG_STRING, &options->proxy,
      N_ ("For azure://: reach the account directly (none), through the system's proxy "
          "(system, the default) or through this one"),
      "none|system|http://HOST:PORT" },
    { "proxy-user", 0, 0, G_OPTION_ARG_STRING, &options->proxy_user,
      N_ ("For azure://: the proxy's user name"), "USER" },
    { "proxy-password-file", 0, 0, G_OPTION_ARG_FILENAME, &options->proxy_password_file,
      N_ ("For azure://: a file whose first line is the proxy's password"), "FILE" },
    { NULL }
  };

  /* In the main group, so that --help (and the man page) shows them. */
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
}

/* The first line of @path, which holds a key or token: never on the command
 * line, where other users could read it. Read as coffer_input_file_read()
 * does: a fifo or a device is refused, never waited on. */
static char *
read_secret_file (const char *path, GError **error)
{
  g_autofree char *shown = coffer_input_escape (path, -1);
  g_autofree char *secret = NULL;
  char *contents;
  gsize length = 0;
  struct stat st;
  char *newline;

  contents = coffer_input_file_read (path, COFFER_INPUT_SECRET_MAX_SIZE, &length, error);
  if (contents == NULL)
    return NULL;
  if (g_stat (path, &st) == 0 && (st.st_mode & 0077) != 0)
    g_printerr (_ ("Warning: %s can be read by other users; keep it private (chmod 600).\n"),
                shown);
  newline = memchr (contents, '\n', length);
  if (newline != NULL)
    *newline = '\0';
  if (strlen (contents) != (newline != NULL ? (gsize) (newline - contents) : length))
    {
      explicit_bzero (contents, length);
      g_free (contents);
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   _ ("%s holds a NUL byte in its first line; it should hold a key or a token."),
                   shown);
      return NULL;
    }
  secret = g_strdup (g_strstrip (contents));
  /* Every byte read, the lines after the first too. */
  explicit_bzero (contents, length);
  g_free (contents);
  if (*secret == '\0')
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT, _ ("%s is empty."), shown);
      return NULL;
    }
  return g_steal_pointer (&secret);
}

/* The proxy the options name: the system's unless --proxy says otherwise.
 * The password is read from its file, never taken from the command line. */
static CofferProxyConfig *
azure_proxy (const AzureOptions *options, GError **error)
{
  g_autoptr (CofferProxyConfig) proxy = NULL;

  proxy = coffer_proxy_config_parse (options->proxy != NULL ? options->proxy : "system", error);
  if (proxy == NULL)
    return NULL;
  if ((options->proxy_user != NULL || options->proxy_password_file != NULL) &&
      proxy->mode != COFFER_PROXY_CUSTOM)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   _ ("--proxy-user and --proxy-password-file go with --proxy http://HOST:PORT."));
      return NULL;
    }
  proxy->username = g_strdup (options->proxy_user);
  if (options->proxy_password_file != NULL)
    {
      proxy->password = read_secret_file (options->proxy_password_file, error);
      if (proxy->password == NULL)
        {
          g_prefix_error (error, _ ("Cannot read the proxy password file: "));
          return NULL;
        }
    }
  return g_steal_pointer (&proxy);
}

/* A store for the Azure vault @descriptor names, through the options' proxy. */
static CofferStore *
azure_store (JsonObject *descriptor, const AzureOptions *options, GError **error)
{
  g_autoptr (CofferProxyConfig) proxy = azure_proxy (options, error);

  if (proxy == NULL)
    return NULL;
  return coffer_store_new_for_descriptor_full (descriptor, NULL, proxy, 0, error);
}

/* The store descriptor for an azure:// location and the options. */
static JsonObject *
azure_descriptor (const char *location, const AzureOptions *options, GError **error)
{
  g_autofree char *account = NULL;
  g_autofree char *container = NULL;
  g_autofree char *endpoint = NULL;
  g_autofree char *secret = NULL;
  JsonObject *descriptor;

  if (!coffer_azure_parse_location (location, &account, &container, error))
    return NULL;
  if ((options->account_key_file == NULL) == (options->sas_file == NULL))
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   _ ("An Azure vault needs either --account-key-file FILE or --sas-file FILE."));
      return NULL;
    }
  secret = read_secret_file (
      options->account_key_file != NULL ? options->account_key_file : options->sas_file, error);
  if (secret == NULL)
    return NULL;
  endpoint = options->endpoint != NULL ? g_strdup (options->endpoint)
                                       : coffer_azure_default_endpoint (account);
  descriptor = coffer_store_descriptor_new_azure (
      endpoint, account, container,
      options->sas_file != NULL ? COFFER_AZURE_AUTH_SAS : COFFER_AZURE_AUTH_SHARED_KEY, secret);
  explicit_bzero (secret, strlen (secret));
  return descriptor;
}

static gboolean
is_azure (const char *location)
{
  return g_str_has_prefix (location, "azure://");
}

static CofferVault *
create_azure (const char *location,
              const AzureOptions *options,
              const char *name,
              const char *region,
              const char *redundancy,
              GError **error)
{
  g_autoptr (JsonObject) descriptor = NULL;
  g_autoptr (CofferStore) store = NULL;

  if (!coffer_vault_name_check (name, error))
    return NULL;
  descriptor = azure_descriptor (location, options, error);
  if (descriptor == NULL)
    return NULL;
  store = azure_store (descriptor, options, error);
  if (store == NULL ||
      !coffer_azure_store_create_container (COFFER_AZURE_STORE (store), NULL, error))
    return NULL;
  return coffer_vault_create (store, name, region, redundancy, NULL, error);
}

int
cli_vault_create (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (CofferVault) vault = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *name = NULL;
  g_autofree char *region = NULL;
  g_autofree char *redundancy = NULL;
  g_autofree char *path = NULL;
  g_auto (AzureOptions) azure = { NULL };
  const GOptionEntry entries[] = {
    { "name", 0, 0, G_OPTION_ARG_STRING, &name,
      N_ ("The vault's name: 2–50 letters, digits and hyphens, starting with a letter"), "NAME" },
    { "region", 0, 0, G_OPTION_ARG_STRING, &region, N_ ("Where the vault is (free text)"),
      "REGION" },
    { "redundancy", 0, 0, G_OPTION_ARG_STRING, &redundancy,
      N_ ("Storage redundancy: geo (the default) or local"), "geo|local" },
    { NULL }
  };

  context = g_option_context_new (_ ("LOCATION"));
  g_option_context_set_summary (context, _ ("Create a vault in LOCATION: a new or empty folder "
                                            "(a local disk, an external drive or a NAS mount), "
                                            "or azure://ACCOUNT/CONTAINER, an Azure Blob Storage "
                                            "container (created when missing)."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  add_azure_entries (context, &azure);
  if (!cli_parse_options (context, &argc, &argv))
    return CLI_EXIT_USAGE;
  if (name == NULL || argc != 2)
    {
      g_printerr (_ ("coffer: vault create needs --name NAME and a LOCATION.\n"));
      return CLI_EXIT_USAGE;
    }

  if (is_azure (argv[1]))
    vault = create_azure (argv[1], &azure, name, region, redundancy, &error);
  else
    vault = cli_vault_create_local (argv[1], name, region, redundancy, &error);
  if (vault == NULL)
    return cli_report_error (error);

  path = is_azure (argv[1]) ? g_strdup (argv[1]) : absolute_path (argv[1]);
  g_print (_ ("Created vault “%s” at %s\n"), coffer_vault_get_name (vault), path);
  g_print (_ ("Vault id:    %s\n"), coffer_vault_get_id (vault));
  g_print (_ ("Region:      %s\n"), coffer_vault_get_region (vault));
  g_print (_ ("Redundancy:  %s\n"), coffer_vault_get_redundancy (vault));
  g_print (_ ("Next, issue a credentials file to register a server: coffer vault credentials "
              "%s%s\n"),
           path, is_azure (argv[1]) ? _ (" with the same --endpoint and key or SAS options") : "");
  return CLI_EXIT_OK;
}

static CofferVault *
open_vault (const char *location, GError **error)
{
  g_autofree char *path = absolute_path (location);
  g_autoptr (CofferStore) store = NULL;

  if (!check_location (path, error))
    return NULL;
  store = coffer_local_store_new (path);
  return coffer_vault_open (store, NULL, NULL, error);
}

/**
 * cli_vault_issue_local:
 * @vault: a vault in a local folder
 * @out_issued: (out): the issue time
 * @error: return location for a #GError
 *
 * Returns: (transfer full): a new credentials file for @vault
 */
GBytes *
cli_vault_issue_local (CofferVault *vault, gint64 *out_issued, GError **error)
{
  g_autoptr (JsonObject) descriptor = NULL;
  CofferLocalStore *store = COFFER_LOCAL_STORE (coffer_vault_get_store (vault));

  *out_issued = g_get_real_time () / G_USEC_PER_SEC;
  descriptor = coffer_store_descriptor_new_local (coffer_local_store_get_root (store));
  return coffer_vault_issue_credentials (vault, descriptor, *out_issued, NULL, error);
}

int
cli_vault_credentials (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (CofferVault) vault = NULL;
  g_autoptr (GBytes) file = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GDateTime) expires = NULL;
  g_autofree char *output = NULL;
  g_autofree char *folder = NULL;
  g_autofree char *file_name = NULL;
  g_autofree char *path = NULL;
  g_autofree char *expires_text = NULL;
  g_auto (AzureOptions) azure = { NULL };
  gint64 issued;
  const GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
      N_ ("Folder to write the file to (default: the current folder)"), "DIR" },
    { NULL }
  };

  context = g_option_context_new (_ ("LOCATION"));
  g_option_context_set_summary (
      context, _ ("Issue a vault credentials file for the vault in LOCATION. It is valid for 48 "
                  "hours, and issuing it makes every earlier file invalid. For an Azure vault "
                  "(azure://ACCOUNT/CONTAINER) the file carries the key or SAS given, so that "
                  "servers can reach the container."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  add_azure_entries (context, &azure);
  if (!cli_parse_options (context, &argc, &argv))
    return CLI_EXIT_USAGE;
  if (argc != 2)
    {
      g_printerr (_ ("coffer: vault credentials needs the vault's LOCATION.\n"));
      return CLI_EXIT_USAGE;
    }

  folder = g_canonicalize_filename (output != NULL ? output : ".", NULL);
  if (!g_file_test (folder, G_FILE_TEST_IS_DIR))
    {
      g_printerr (_ ("coffer: %s is not a folder.\n"), folder);
      return CLI_EXIT_FAILED;
    }

  if (is_azure (argv[1]))
    {
      g_autoptr (JsonObject) descriptor = azure_descriptor (argv[1], &azure, &error);
      g_autoptr (CofferStore) store = NULL;

      if (descriptor == NULL || (store = azure_store (descriptor, &azure, &error)) == NULL ||
          (vault = coffer_vault_open (store, NULL, NULL, &error)) == NULL)
        return cli_report_error (error);
      issued = g_get_real_time () / G_USEC_PER_SEC;
      file = coffer_vault_issue_credentials (vault, descriptor, issued, NULL, &error);
    }
  else
    {
      vault = open_vault (argv[1], &error);
      if (vault == NULL)
        return cli_report_error (error);
      file = cli_vault_issue_local (vault, &issued, &error);
    }
  if (file == NULL)
    return cli_report_error (error);

  file_name = coffer_credentials_file_name (coffer_vault_get_name (vault), issued);
  path = g_build_filename (folder, file_name, NULL);
  if (!g_file_set_contents_full (path, g_bytes_get_data (file, NULL), g_bytes_get_size (file),
                                 G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error))
    {
      g_prefix_error (&error, _ ("The credentials were issued but could not be saved: "));
      return cli_report_error (error);
    }

  expires = g_date_time_new_from_unix_local (issued + COFFER_CREDENTIALS_VALIDITY);
  expires_text = g_date_time_format (expires, "%Y-%m-%d %H:%M %Z");
  g_print ("%s\n", path);
  g_printerr (_ ("Valid until %s. Earlier credentials files for vault “%s” are no longer "
                 "valid.\n"),
              expires_text, coffer_vault_get_name (vault));
  return CLI_EXIT_OK;
}

int
cli_vault_set_redundancy (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (CofferVault) vault = NULL;
  g_autoptr (GError) error = NULL;

  context = g_option_context_new (_ ("LOCATION geo|local"));
  g_option_context_set_summary (context, _ ("Choose the storage redundancy of the vault in "
                                            "LOCATION. It is locked once a server is "
                                            "registered."));
  if (!cli_parse_options (context, &argc, &argv))
    return CLI_EXIT_USAGE;
  if (argc != 3)
    {
      g_printerr (_ ("coffer: vault set-redundancy needs LOCATION and geo or local.\n"));
      return CLI_EXIT_USAGE;
    }

  vault = open_vault (argv[1], &error);
  if (vault == NULL || !coffer_vault_set_redundancy (vault, argv[2], NULL, &error))
    return cli_report_error (error);
  g_print (_ ("The storage redundancy of vault “%s” is now %s.\n"), coffer_vault_get_name (vault),
           coffer_vault_get_redundancy (vault));
  return CLI_EXIT_OK;
}
