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

static char *
absolute_path (const char *location)
{
  return g_canonicalize_filename (location, NULL);
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

  if (!coffer_vault_name_check (name, error))
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
  g_option_context_set_summary (context, _ ("Create a vault in LOCATION, a new or empty folder "
                                            "(a local disk, an external drive or a NAS mount)."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!cli_parse_options (context, &argc, &argv))
    return CLI_EXIT_USAGE;
  if (name == NULL || argc != 2)
    {
      g_printerr (_ ("coffer: vault create needs --name NAME and a LOCATION.\n"));
      return CLI_EXIT_USAGE;
    }

  vault = cli_vault_create_local (argv[1], name, region, redundancy, &error);
  if (vault == NULL)
    return cli_report_error (error);

  path = absolute_path (argv[1]);
  g_print (_ ("Created vault “%s” at %s\n"), coffer_vault_get_name (vault), path);
  g_print (_ ("Vault id:    %s\n"), coffer_vault_get_id (vault));
  g_print (_ ("Region:      %s\n"), coffer_vault_get_region (vault));
  g_print (_ ("Redundancy:  %s\n"), coffer_vault_get_redundancy (vault));
  g_print (_ ("Next, issue a credentials file to register a server: coffer vault credentials "
              "%s\n"),
           path);
  return CLI_EXIT_OK;
}

static CofferVault *
open_vault (const char *location, GError **error)
{
  g_autofree char *path = absolute_path (location);
  g_autoptr (CofferStore) store = coffer_local_store_new (path);

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
  gint64 issued;
  const GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
      N_ ("Folder to write the file to (default: the current folder)"), "DIR" },
    { NULL }
  };

  context = g_option_context_new (_ ("LOCATION"));
  g_option_context_set_summary (
      context, _ ("Issue a vault credentials file for the vault in LOCATION. It is valid for 48 "
                  "hours, and issuing it makes every earlier file invalid."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
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

  vault = open_vault (argv[1], &error);
  if (vault == NULL)
    return cli_report_error (error);
  file = cli_vault_issue_local (vault, &issued, &error);
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
