/* coffer-registration.c: registering this machine to a vault, and undoing it.
 *
 * Registration checks everything before it writes anything: the credentials
 * file (parse, MAC, then against the vault's record), the passphrase, the
 * machine name, the vault itself and the cache folder. Only then does it
 * store the passphrase (Secret Service or the fallback file), write the
 * machine's objects to the vault — keys, config, and machine.json last, since a
 * machine exists once its machine.json does — and record the registration in
 * the catalog, the registration row last. These run in worker threads: they
 * read and write the vault and run scrypt.
 */
#include "config.h"

#include "coffer-registration.h"

#include "coffer-credentials.h"
#include "coffer-crypto.h"
#include "coffer-error.h"
#include "coffer-index-loader.h"
#include "coffer-json-util.h"
#include "coffer-paths.h"
#include "coffer-proxy.h"
#include "coffer-settings.h"
#include "coffer-throttled-store.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <glib/gstdio.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#define CONFIG_AAD "coffer-config-v1"

static const char cachedir_tag[] =
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file marks the Coffer cache folder: everything here can be rebuilt\n"
    "# from the vault, and backup tools need not copy it.\n";

/**
 * coffer_cache_folder_check:
 * @path: the proposed cache folder
 * @error: return location for a #GError
 *
 * Makes sure @path can be the cache folder: absolute, creatable (0700),
 * writable, and on a local filesystem. Marks it with CACHEDIR.TAG.
 */
gboolean
coffer_cache_folder_check (const char *path, GError **error)
{
  g_autofree char *probe = NULL;
  g_autofree char *tag = NULL;
  int fd;

  if (path == NULL || !g_path_is_absolute (path))
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "The cache folder must be an absolute path.");
      return FALSE;
    }
  if (g_mkdir_with_parents (path, 0700) != 0)
    {
      int saved_errno = errno;
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_PERMISSION_DENIED,
                   "Cannot create the cache folder %s: %s", path, g_strerror (saved_errno));
      return FALSE;
    }
  if (coffer_paths_is_on_network (path))
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "The cache folder %s is on a network filesystem; choose a folder on a local "
                   "disk.",
                   path);
      return FALSE;
    }

  probe = g_build_filename (path, ".coffer-write-test", NULL);
  fd = g_open (probe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      int saved_errno = errno;
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_PERMISSION_DENIED,
                   "The cache folder %s is not writable: %s", path, g_strerror (saved_errno));
      return FALSE;
    }
  close (fd);
  g_unlink (probe);

  tag = g_build_filename (path, "CACHEDIR.TAG", NULL);
  if (!g_file_test (tag, G_FILE_TEST_EXISTS) &&
      !g_file_set_contents_full (tag, cachedir_tag, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644,
                                 error))
    return FALSE;
  return TRUE;
}

static char *
keys_prefix (const char *machine_id)
{
  return g_strdup_printf ("machines/%s/keys/", machine_id);
}

/**
 * coffer_machine_unlock_keys:
 * @vault: the vault
 * @machine_id: the machine whose keys to open
 * @passphrase: that machine's passphrase
 * @out_key_name: (out) (optional): the store name of the key object that opened
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the machine's master keys;
 *   %COFFER_ERROR_WRONG_PASSPHRASE when the passphrase opens none
 */
CofferMasterKeys *
coffer_machine_unlock_keys (CofferVault *vault,
                            const char *machine_id,
                            const char *passphrase,
                            char **out_key_name,
                            GCancellable *cancellable,
                            GError **error)
{
  g_autofree char *prefix = keys_prefix (machine_id);
  g_autoptr (GPtrArray) entries = NULL;
  g_autoptr (GError) last_error = NULL;
  g_autoptr (GError) damage = NULL;

  entries = coffer_store_list_sync (coffer_vault_get_store (vault), prefix, cancellable, error);
  if (entries == NULL)
    return NULL;

  for (guint i = 0; i < entries->len; i++)
    {
      CofferStoreEntry *entry = g_ptr_array_index (entries, i);
      g_autoptr (GBytes) wrapped = NULL;
      CofferMasterKeys *keys;

      g_clear_error (&last_error);
      wrapped = coffer_store_get_sync (coffer_vault_get_store (vault), entry->name, 0, -1, NULL,
                                       cancellable, &last_error);
      if (wrapped != NULL)
        keys = coffer_master_keys_unwrap (wrapped, passphrase, &last_error);
      else
        keys = NULL;
      if (keys != NULL)
        {
          if (out_key_name != NULL)
            *out_key_name = g_strdup (entry->name);
          return keys;
        }
      if (coffer_error_stops_reading (last_error))
        {
          g_propagate_error (error, g_steal_pointer (&last_error));
          return NULL;
        }
      /* A damaged key object costs only itself: another may open. */
      if (!g_error_matches (last_error, COFFER_ERROR, COFFER_ERROR_WRONG_PASSPHRASE))
        {
          g_prefix_error (&last_error, "%s: ", entry->name);
          g_clear_error (&damage);
          damage = g_steal_pointer (&last_error);
        }
    }

  if (damage != NULL)
    g_propagate_error (error, g_steal_pointer (&damage));
  else if (entries->len == 0)
    g_set_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT,
                 "The vault holds no keys for this server (%s is empty).", prefix);
  else
    g_propagate_error (error, g_steal_pointer (&last_error));
  return NULL;
}

/**
 * coffer_machine_put_keys:
 * @vault: the vault
 * @machine_id: whose keys
 * @keys: the master keys
 * @passphrase: the passphrase to wrap them with
 * @out_name: (out) (optional): the new key object's name
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Writes a new key object, machines/ID/keys/KEY-ID: the keys wrapped by
 * the passphrase (scrypt, about half a second).
 */
gboolean
coffer_machine_put_keys (CofferVault *vault,
                         const char *machine_id,
                         const CofferMasterKeys *keys,
                         const char *passphrase,
                         char **out_name,
                         GCancellable *cancellable,
                         GError **error)
{
  g_autofree char *key_id = coffer_random_hex (16);
  g_autofree char *prefix = keys_prefix (machine_id);
  g_autofree char *name = g_strconcat (prefix, key_id, NULL);
  g_autoptr (GBytes) wrapped = coffer_master_keys_wrap (keys, passphrase, 0, error);

  if (wrapped == NULL ||
      !coffer_store_put_sync (coffer_vault_get_store (vault), name, wrapped, COFFER_PUT_IF_ABSENT,
                              NULL, NULL, cancellable, error))
    return FALSE;
  if (out_name != NULL)
    *out_name = g_steal_pointer (&name);
  return TRUE;
}

static void
config_key (const CofferMasterKeys *keys, guint8 key[32])
{
  coffer_hmac_sha256 (keys->encryption, COFFER_KEY_SIZE, "config", strlen ("config"), key);
}

/**
 * coffer_machine_config_read:
 * @vault: the vault
 * @machine_id: whose config
 * @keys: that machine's keys
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Reads and checks machines/ID/config: it must open with the machine's
 * keys and name the chunker and compression this version writes with.
 *
 * Returns: %FALSE with @error set (%COFFER_ERROR_CORRUPT naming it when
 *   damaged, %COFFER_ERROR_NEWER_FORMAT, %COFFER_ERROR_NOT_FOUND, …)
 */
gboolean
coffer_machine_config_read (CofferVault *vault,
                            const char *machine_id,
                            const CofferMasterKeys *keys,
                            GCancellable *cancellable,
                            GError **error)
{
  g_autofree char *name = g_strdup_printf ("machines/%s/config", machine_id);
  g_autoptr (GBytes) sealed = NULL;
  g_autoptr (GBytes) plain = NULL;
  g_autoptr (JsonObject) object = NULL;
  JsonObject *chunker;
  gint64 format = 0;
  gint64 min = 0, avg = 0, max = 0;
  guint8 key[32];

  sealed =
      coffer_store_get_sync (coffer_vault_get_store (vault), name, 0, -1, NULL, cancellable, error);
  if (sealed == NULL)
    return FALSE;
  config_key (keys, key);
  plain = coffer_gcm_open (key, sealed, CONFIG_AAD, strlen (CONFIG_AAD), error);
  memset (key, 0, sizeof key);
  if (plain == NULL || (object = coffer_json_parse_object (plain, name, error)) == NULL ||
      !coffer_json_get_int (object, "format", name, &format, error))
    {
      g_prefix_error (error, "%s: ", name);
      return FALSE;
    }
  if (format > 1)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_NEWER_FORMAT,
                   "%s was made by a newer version of Coffer.", name);
      return FALSE;
    }
  chunker = json_object_get_member (object, "chunker") != NULL &&
                    JSON_NODE_HOLDS_OBJECT (json_object_get_member (object, "chunker"))
                ? json_object_get_object_member (object, "chunker")
                : NULL;
  /* A member missing or of another type is a parameter Coffer does not use. */
  if (chunker == NULL ||
      g_strcmp0 (coffer_json_get_string (chunker, "algorithm", name, NULL), "fastcdc-2020") != 0 ||
      !coffer_json_get_int (chunker, "min", name, &min, NULL) || min != 256 * 1024 ||
      !coffer_json_get_int (chunker, "avg", name, &avg, NULL) || avg != 1024 * 1024 ||
      !coffer_json_get_int (chunker, "max", name, &max, NULL) || max != 4 * 1024 * 1024)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT,
                   "%s is damaged: its chunker parameters are not the ones Coffer uses", name);
      return FALSE;
    }
  return TRUE;
}

/**
 * coffer_machine_config_put:
 * @vault: the vault
 * @machine_id: whose config
 * @keys: that machine's keys
 * @replace: replace what is there (a repair); otherwise the object must not
 *   exist
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Writes machines/ID/config: the parameters the backup engine needs,
 * encrypted.
 */
gboolean
coffer_machine_config_put (CofferVault *vault,
                           const char *machine_id,
                           const CofferMasterKeys *keys,
                           gboolean replace,
                           GCancellable *cancellable,
                           GError **error)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (GBytes) plain = NULL;
  g_autoptr (GBytes) sealed = NULL;
  g_autofree char *name = g_strdup_printf ("machines/%s/config", machine_id);
  guint8 key[32];

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "format");
  json_builder_add_int_value (builder, 1);
  json_builder_set_member_name (builder, "chunker");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "algorithm");
  json_builder_add_string_value (builder, "fastcdc-2020");
  json_builder_set_member_name (builder, "min");
  json_builder_add_int_value (builder, 256 * 1024);
  json_builder_set_member_name (builder, "avg");
  json_builder_add_int_value (builder, 1024 * 1024);
  json_builder_set_member_name (builder, "max");
  json_builder_add_int_value (builder, 4 * 1024 * 1024);
  json_builder_end_object (builder);
  json_builder_set_member_name (builder, "compression");
  json_builder_add_string_value (builder, "zstd-3");
  json_builder_end_object (builder);
  plain = coffer_json_to_bytes (builder);

  config_key (keys, key);
  sealed = coffer_gcm_seal (key, plain, CONFIG_AAD, strlen (CONFIG_AAD));
  memset (key, 0, sizeof key);
  return coffer_store_put_sync (coffer_vault_get_store (vault), name, sealed,
                                replace ? COFFER_PUT_ALWAYS : COFFER_PUT_IF_ABSENT, NULL, NULL,
                                cancellable, error);
}

static CofferMachineInfo *
new_machine_info (const char *id, const char *name, gint64 now)
{
  CofferMachineInfo *info = g_new0 (CofferMachineInfo, 1);
  g_autofree char *os = g_get_os_info (G_OS_INFO_KEY_PRETTY_NAME);

  info->id = g_strdup (id);
  info->name = g_strdup (name);
  info->host = g_strdup (g_get_host_name ());
  info->os = g_strdup (os != NULL ? os : "Linux");
  info->agent_version = g_strdup (PACKAGE_VERSION);
  info->instance_id = g_uuid_string_random ();
  info->registered_at = now;
  return info;
}

/* Refuses what must be refused before anything is written. */
static CofferMachineInfo *
choose_machine (CofferVault *vault,
                const CofferRegisterRequest *request,
                gint64 now,
                CofferMasterKeys **out_keys,
                GCancellable *cancellable,
                GError **error)
{
  g_autoptr (GPtrArray) machines = NULL;
  CofferMachineInfo *found = NULL;

  machines = coffer_vault_list_machines (vault, cancellable, error);
  if (machines == NULL)
    return NULL;
  for (guint i = 0; i < machines->len && found == NULL; i++)
    {
      CofferMachineInfo *info = g_ptr_array_index (machines, i);
      if (g_ascii_strcasecmp (info->name, request->machine_name) == 0)
        found = g_ptr_array_steal_index (machines, i);
    }

  if (request->existing)
    {
      g_autoptr (CofferMachineInfo) machine = found;
      g_autoptr (GError) local_error = NULL;

      if (machine == NULL)
        {
          g_set_error (error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND,
                       "No server named “%s” is registered to vault “%s”, so there is none to "
                       "register as. Leave out --existing to register a new server.",
                       request->machine_name, coffer_vault_get_name (vault));
          return NULL;
        }
      *out_keys = coffer_machine_unlock_keys (vault, machine->id, request->passphrase, NULL,
                                              cancellable, &local_error);
      if (*out_keys == NULL)
        {
          if (g_error_matches (local_error, COFFER_ERROR, COFFER_ERROR_WRONG_PASSPHRASE))
            g_set_error (error, COFFER_ERROR, COFFER_ERROR_WRONG_PASSPHRASE,
                         "The passphrase is incorrect: it does not open the keys of server “%s”.",
                         machine->name);
          else
            g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }
      return g_steal_pointer (&machine);
    }

  if (found != NULL)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_EXISTS,
                   "A server named “%s” is already registered to vault “%s”. Two servers cannot "
                   "have the same name in a vault: choose another name with --machine-name. If "
                   "this is that server after a reinstall, register with --existing and that "
                   "server's passphrase: it keeps its recovery points.",
                   found->name, coffer_vault_get_name (vault));
      coffer_machine_info_free (found);
      return NULL;
    }
  if (machines->len >= COFFER_VAULT_MAX_MACHINES)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "Vault “%s” already holds %d servers, the most a vault can hold.",
                   coffer_vault_get_name (vault), COFFER_VAULT_MAX_MACHINES);
      return NULL;
    }

  {
    g_autofree char *id = coffer_random_hex (16);
    *out_keys = coffer_master_keys_generate ();
    return new_machine_info (id, request->machine_name, now);
  }
}

static void
enable_systemd_unit (GPtrArray *warnings)
{
  g_autofree char *systemctl = g_find_program_in_path ("systemctl");
  const char *argv[] = { NULL, "--user", "enable", "coffer-agent.service", NULL };
  g_autofree char *err = NULL;
  int status = 0;

  if (systemctl == NULL || !g_file_test ("/run/systemd/system", G_FILE_TEST_IS_DIR))
    return;
  argv[0] = systemctl;
  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, &err,
                     &status, NULL) ||
      !g_spawn_check_wait_status (status, NULL))
    g_ptr_array_add (warnings,
                     g_strdup ("The agent's systemd user unit could not be enabled; scheduled "
                               "backups run only while the agent is started by a client."));
}

/* The catalog holds a network vault's storage key or SAS token in its store
 * descriptor, so it and SQLite's side files must stay 0600 (the state folder
 * is 0700 too). Makes them so; fails when that cannot be done. */
static gboolean
ensure_catalog_private (CofferCatalog *catalog, GError **error)
{
  const char *path = coffer_catalog_get_path (catalog);
  const char *suffixes[] = { "", "-wal", "-shm" };

  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *file = g_strconcat (path, suffixes[i], NULL);
      struct stat st;

      if (g_stat (file, &st) != 0)
        continue;
      if ((st.st_mode & 0077) == 0)
        continue;
      g_warning ("%s could be read by other users; it holds the vault's storage key, so its mode "
                 "is now 0600",
                 file);
      if (g_chmod (file, 0600) != 0)
        {
          int saved_errno = errno;
          g_set_error (error, COFFER_ERROR, COFFER_ERROR_PERMISSION_DENIED,
                       "%s can be read by other users and cannot be made private: %s", file,
                       g_strerror (saved_errno));
          return FALSE;
        }
    }
  return TRUE;
}

/* A store for @descriptor; a network vault is reached through this machine's
 * proxy, with its concurrency setting. */
static CofferStore *
open_store (CofferCatalog *catalog,
            const char *state_dir,
            JsonObject *descriptor,
            const char *path_override,
            GCancellable *cancellable,
            GError **error)
{
  g_autoptr (CofferProxyConfig) proxy = NULL;
  guint concurrency = 0;

  if (!g_str_equal (json_object_get_string_member_with_default (descriptor, "type", ""), "local"))
    {
      proxy = coffer_proxy_config_load (catalog, state_dir, cancellable, error);
      if (proxy == NULL)
        return NULL;
      concurrency = coffer_settings_get_concurrency (catalog);
    }
  return coffer_store_new_for_descriptor_full (descriptor, path_override, proxy, concurrency,
                                               error);
}

static gboolean
record_registration (CofferCatalog *catalog,
                     JsonObject *descriptor,
                     const char *cache_folder,
                     CofferSecretBackend backend,
                     const CofferRegistration *registration,
                     GError **error)
{
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autofree char *descriptor_text = NULL;

  if (coffer_store_descriptor_has_secret (descriptor) && !ensure_catalog_private (catalog, error))
    return FALSE;
  json_node_set_object (node, descriptor);
  descriptor_text = json_to_string (node, FALSE);
  return coffer_catalog_set_setting (catalog, COFFER_SETTING_STORE, descriptor_text, error) &&
         coffer_catalog_set_setting (catalog, COFFER_SETTING_CACHE_FOLDER, cache_folder, error) &&
         coffer_catalog_set_setting (catalog, COFFER_SETTING_SECRET_BACKEND,
                                     coffer_secret_backend_to_string (backend), error) &&
         coffer_catalog_set_registration (catalog, registration, error);
}

/**
 * coffer_register_sync:
 * @catalog: the agent's catalog
 * @state_dir: the state folder (for the passphrase fallback file)
 * @request: what to register
 * @now: the time, Unix seconds (expiry is judged by it)
 * @warnings: (element-type utf8): where to add what the user should know
 * @out_keys: (out) (optional) (transfer full): the machine's master keys,
 *   so that the first backup need not unwrap them again
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Registers this machine. Blocks: call from a worker thread. On failure,
 * neither the vault nor the catalog has changed.
 *
 * Returns: (transfer full): the new registration
 */
CofferRegistration *
coffer_register_sync (CofferCatalog *catalog,
                      const char *state_dir,
                      const CofferRegisterRequest *request,
                      gint64 now,
                      GPtrArray *warnings,
                      CofferMasterKeys **out_keys,
                      GCancellable *cancellable,
                      GError **error)
{
  g_autoptr (CofferCredentials) credentials = NULL;
  g_autoptr (CofferRegistration) existing = NULL;
  g_autoptr (CofferRegistration) registration = NULL;
  g_autoptr (CofferStore) store = NULL;
  g_autoptr (CofferVault) vault = NULL;
  g_autoptr (CofferMachineInfo) machine = NULL;
  g_autoptr (CofferMasterKeys) keys = NULL;
  g_autoptr (JsonObject) descriptor = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autofree char *cache_folder = NULL;
  CofferSecretBackend backend = COFFER_SECRET_BACKEND_NONE;

  g_return_val_if_fail (COFFER_IS_CATALOG (catalog), NULL);
  g_return_val_if_fail (request != NULL && request->credentials != NULL, NULL);

  credentials = coffer_credentials_parse (request->credentials, error);
  if (credentials == NULL)
    return NULL;

  existing = coffer_catalog_get_registration (catalog, &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  if (existing != NULL)
    {
      if (!g_str_equal (existing->vault_id, credentials->vault_id))
        g_set_error (error, COFFER_ERROR, COFFER_ERROR_CREDENTIALS_OTHER_VAULT,
                     "The specified vault credential file cannot be used as it is not downloaded "
                     "from the vault associated with this server.\nThis server is registered to "
                     "vault “%s”; the file is for vault “%s”.",
                     existing->vault_name, credentials->vault_name);
      else
        g_set_error (error, COFFER_ERROR, COFFER_ERROR_ALREADY_REGISTERED,
                     "This server is already registered to vault “%s” as “%s”.",
                     existing->vault_name, existing->machine_name);
      return NULL;
    }

  if (!coffer_passphrase_check (request->passphrase, error) ||
      !coffer_machine_name_check (request->machine_name, error))
    return NULL;

  store =
      open_store (catalog, state_dir, credentials->store, request->vault_path, cancellable, error);
  if (store == NULL)
    return NULL;
  vault = coffer_vault_open (store, credentials->vault_id, cancellable, error);
  if (vault == NULL || !coffer_credentials_verify (credentials, vault, now, cancellable, error))
    return NULL;

  machine = choose_machine (vault, request, now, &keys, cancellable, error);
  if (machine == NULL)
    return NULL;

  cache_folder = request->cache_folder != NULL ? g_strdup (request->cache_folder)
                                               : coffer_paths_default_cache_dir ();
  if (!coffer_cache_folder_check (cache_folder, error))
    return NULL;

  /* Writes start here. The passphrase first: a locked keyring refuses
   * before the vault has changed. */
  if (!coffer_secret_store (state_dir, COFFER_SECRET_PASSPHRASE, machine->id, request->passphrase,
                            &backend, cancellable, error))
    return NULL;

  if (request->existing)
    {
      g_free (machine->instance_id);
      machine->instance_id = g_uuid_string_random ();
      g_free (machine->host);
      machine->host = g_strdup (g_get_host_name ());
      g_free (machine->agent_version);
      machine->agent_version = g_strdup (PACKAGE_VERSION);
      machine->registered_at = now;
    }
  if ((!request->existing &&
       (!coffer_machine_put_keys (vault, machine->id, keys, request->passphrase, NULL, cancellable,
                                  error) ||
        !coffer_machine_config_put (vault, machine->id, keys, FALSE, cancellable, error))) ||
      !coffer_vault_put_machine (vault, machine, !request->existing, cancellable, error))
    {
      coffer_secret_clear (state_dir, COFFER_SECRET_PASSPHRASE, machine->id, NULL, NULL);
      g_prefix_error (error, "Cannot register this server in the vault: ");
      return NULL;
    }

  descriptor = json_object_ref (credentials->store);
  if (request->vault_path != NULL)
    {
      json_object_unref (descriptor);
      descriptor = coffer_store_descriptor_new_local (request->vault_path);
    }

  registration = g_new0 (CofferRegistration, 1);
  registration->vault_id = g_strdup (coffer_vault_get_id (vault));
  registration->vault_name = g_strdup (coffer_vault_get_name (vault));
  registration->machine_id = g_strdup (machine->id);
  registration->machine_name = g_strdup (machine->name);
  registration->instance_id = g_strdup (machine->instance_id);
  registration->storage_location = coffer_store_descriptor_to_location (descriptor);
  registration->registered_at = now;

  if (!record_registration (catalog, descriptor, cache_folder, backend, registration, error))
    return NULL;

  if (request->credentials_world_readable)
    g_ptr_array_add (warnings, g_strdup ("The vault credentials file can be read by other users. "
                                         "Keep such files private (chmod 600) and delete them "
                                         "once the server is registered."));
  enable_systemd_unit (warnings);
  if (out_keys != NULL)
    *out_keys = g_steal_pointer (&keys);
  return g_steal_pointer (&registration);
}

/**
 * coffer_open_registered_vault:
 * @catalog: the agent's catalog
 * @out_registration: (out) (optional): the registration
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the vault this machine is registered to;
 *   %COFFER_ERROR_NOT_REGISTERED when it is not registered
 */
CofferVault *
coffer_open_registered_vault (CofferCatalog *catalog,
                              CofferRegistration **out_registration,
                              GCancellable *cancellable,
                              GError **error)
{
  return coffer_open_registered_vault_throttled (catalog, NULL, out_registration, cancellable,
                                                 error);
}

/**
 * coffer_open_registered_vault_throttled:
 * @catalog: the agent's catalog
 * @throttle: (nullable): the throttle every byte to or from the vault passes
 *   through; %NULL for none
 * @out_registration: (out) (optional): the registration
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * As coffer_open_registered_vault(), with the vault's store wrapped in a
 * #CofferThrottledStore.
 *
 * Returns: (transfer full): the vault this machine is registered to
 */
CofferVault *
coffer_open_registered_vault_throttled (CofferCatalog *catalog,
                                        CofferThrottle *throttle,
                                        CofferRegistration **out_registration,
                                        GCancellable *cancellable,
                                        GError **error)
{
  return coffer_open_registered_vault_full (catalog, throttle, FALSE, NULL, out_registration,
                                            cancellable, error);
}

/* Whether a vault that answered "unreachable" only lost its vault.json:
 * none is there, but this machine's key objects are. An empty mount point
 * holds neither, and another vault's vault.json is not missing. */
static gboolean
vault_json_lost (CofferStore *store,
                 const char *machine_id,
                 const GError *error,
                 GCancellable *cancellable)
{
  g_autoptr (CofferStoreEntry) entry = NULL;
  g_autoptr (GPtrArray) keys = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autofree char *prefix = keys_prefix (machine_id);

  if (!g_error_matches (error, COFFER_ERROR, COFFER_ERROR_VAULT_UNREACHABLE))
    return FALSE;
  entry = coffer_store_stat_sync (store, "vault.json", cancellable, &local_error);
  if (entry != NULL || !g_error_matches (local_error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND))
    return FALSE;
  keys = coffer_store_list_sync (store, prefix, cancellable, NULL);
  return keys != NULL && keys->len > 0;
}

/**
 * coffer_open_registered_vault_full:
 * @catalog: the agent's catalog
 * @throttle: (nullable): the throttle every byte to or from the vault passes
 *   through; %NULL for none
 * @for_repair: open a vault whose vault.json is damaged (or missing, while
 *   this machine's key objects are there) from the copy the catalog keeps
 *   (%COFFER_SETTING_VAULT_DOCUMENT), for a repair to write it again
 * @out_damage: (out) (optional): with @for_repair, why vault.json could not
 *   be read, or %NULL when it could
 * @out_registration: (out) (optional): the registration
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * As coffer_open_registered_vault_throttled().
 *
 * Returns: (transfer full): the vault this machine is registered to
 */
CofferVault *
coffer_open_registered_vault_full (CofferCatalog *catalog,
                                   CofferThrottle *throttle,
                                   gboolean for_repair,
                                   char **out_damage,
                                   CofferRegistration **out_registration,
                                   GCancellable *cancellable,
                                   GError **error)
{
  g_autoptr (CofferRegistration) registration = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GBytes) descriptor_bytes = NULL;
  g_autoptr (JsonObject) descriptor = NULL;
  g_autoptr (CofferStore) store = NULL;
  g_autofree char *descriptor_text = NULL;
  g_autofree char *state_dir = NULL;
  CofferVault *vault;

  registration = coffer_catalog_get_registration (catalog, &local_error);
  if (registration == NULL)
    {
      if (local_error != NULL)
        g_propagate_error (error, g_steal_pointer (&local_error));
      else
        g_set_error (error, COFFER_ERROR, COFFER_ERROR_NOT_REGISTERED,
                     "This server is not registered to a vault.");
      return NULL;
    }

  descriptor_text = coffer_catalog_get_setting (catalog, COFFER_SETTING_STORE, error);
  if (descriptor_text == NULL)
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT,
                     "The catalog does not say where the vault is; register this server again.");
      return NULL;
    }
  descriptor_bytes = g_bytes_new_static (descriptor_text, strlen (descriptor_text));
  descriptor = coffer_json_parse_object (descriptor_bytes, "The catalog's vault location", error);
  if (descriptor == NULL)
    return NULL;
  if (coffer_store_descriptor_has_secret (descriptor) && !ensure_catalog_private (catalog, error))
    return NULL;
  state_dir = g_path_get_dirname (coffer_catalog_get_path (catalog));
  store = open_store (catalog, state_dir, descriptor, NULL, cancellable, error);
  if (store == NULL)
    return NULL;
  if (throttle != NULL)
    {
      CofferStore *inner = g_steal_pointer (&store);

      store = coffer_throttled_store_new (inner, throttle);
      g_object_unref (inner);
    }
  vault = coffer_vault_open (store, registration->vault_id, cancellable, &local_error);
  if (vault == NULL && for_repair &&
      (g_error_matches (local_error, COFFER_ERROR, COFFER_ERROR_CORRUPT) ||
       vault_json_lost (store, registration->machine_id, local_error, cancellable)))
    {
      g_autofree char *copy =
          coffer_catalog_get_setting (catalog, COFFER_SETTING_VAULT_DOCUMENT, NULL);

      if (copy != NULL)
        {
          g_autoptr (GBytes) bytes = g_bytes_new (copy, strlen (copy));

          vault = coffer_vault_open_from_copy (store, bytes, registration->vault_id, NULL);
          if (vault != NULL && out_damage != NULL)
            *out_damage = g_strdup (local_error->message);
        }
    }
  if (vault == NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  if (out_registration != NULL)
    *out_registration = g_steal_pointer (&registration);
  return vault;
}

/**
 * coffer_unregister_sync:
 * @catalog: the agent's catalog
 * @state_dir: the state folder
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Forgets this machine's registration and its stored passphrase. The vault
 * keeps the machine and its data: registering again with --existing and
 * the same passphrase brings them back.
 */
gboolean
coffer_unregister_sync (CofferCatalog *catalog,
                        const char *state_dir,
                        GCancellable *cancellable,
                        GError **error)
{
  g_autoptr (CofferRegistration) registration = NULL;
  g_autoptr (GError) local_error = NULL;

  registration = coffer_catalog_get_registration (catalog, &local_error);
  if (registration == NULL)
    {
      if (local_error != NULL)
        g_propagate_error (error, g_steal_pointer (&local_error));
      else
        g_set_error (error, COFFER_ERROR, COFFER_ERROR_NOT_REGISTERED,
                     "This server is not registered to a vault.");
      return FALSE;
    }

  if (!coffer_catalog_clear_registration (catalog, error))
    return FALSE;
  coffer_catalog_delete_setting (catalog, COFFER_SETTING_STORE, NULL);
  coffer_catalog_delete_setting (catalog, COFFER_SETTING_CACHE_FOLDER, NULL);
  coffer_catalog_delete_setting (catalog, COFFER_SETTING_SECRET_BACKEND, NULL);
  if (!coffer_secret_clear (state_dir, COFFER_SECRET_PASSPHRASE, registration->machine_id,
                            cancellable, &local_error))
    g_warning ("The stored passphrase could not be removed: %s", local_error->message);
  return TRUE;
}

/**
 * coffer_change_passphrase_sync:
 * @catalog: the agent's catalog
 * @state_dir: the state folder
 * @new_passphrase: the new passphrase
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Rewraps the machine's master keys with @new_passphrase; no data is
 * re-encrypted. The new key object is written before the old one is
 * deleted, so a failure half-way leaves a passphrase that works.
 */
gboolean
coffer_change_passphrase_sync (CofferCatalog *catalog,
                               const char *state_dir,
                               const char *new_passphrase,
                               GCancellable *cancellable,
                               GError **error)
{
  g_autoptr (CofferRegistration) registration = NULL;
  g_autoptr (CofferVault) vault = NULL;
  g_autoptr (CofferMasterKeys) keys = NULL;
  g_autoptr (GPtrArray) old_keys = NULL;
  g_autofree char *old_passphrase = NULL;
  g_autofree char *new_name = NULL;
  g_autofree char *prefix = NULL;
  CofferSecretBackend backend;

  if (!coffer_passphrase_check (new_passphrase, error))
    return FALSE;
  vault = coffer_open_registered_vault (catalog, &registration, cancellable, error);
  if (vault == NULL)
    return FALSE;

  old_passphrase = coffer_secret_lookup (state_dir, COFFER_SECRET_PASSPHRASE,
                                         registration->machine_id, &backend, cancellable, error);
  if (old_passphrase == NULL)
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND,
                     "The current passphrase is not stored on this server; register again with "
                     "--existing to store it.");
      return FALSE;
    }
  keys = coffer_machine_unlock_keys (vault, registration->machine_id, old_passphrase, NULL,
                                     cancellable, error);
  coffer_passphrase_free (g_steal_pointer (&old_passphrase));
  if (keys == NULL)
    return FALSE;

  prefix = keys_prefix (registration->machine_id);
  old_keys = coffer_store_list_sync (coffer_vault_get_store (vault), prefix, cancellable, error);
  if (old_keys == NULL || !coffer_machine_put_keys (vault, registration->machine_id, keys,
                                                    new_passphrase, &new_name, cancellable, error))
    return FALSE;

  if (!coffer_secret_store (state_dir, COFFER_SECRET_PASSPHRASE, registration->machine_id,
                            new_passphrase, &backend, cancellable, error))
    {
      coffer_store_delete_sync (coffer_vault_get_store (vault), new_name, NULL, NULL);
      return FALSE;
    }
  coffer_catalog_set_setting (catalog, COFFER_SETTING_SECRET_BACKEND,
                              coffer_secret_backend_to_string (backend), NULL);

  for (guint i = 0; i < old_keys->len; i++)
    {
      CofferStoreEntry *entry = g_ptr_array_index (old_keys, i);

      if (!coffer_store_delete_sync (coffer_vault_get_store (vault), entry->name, cancellable,
                                     error))
        {
          g_prefix_error (error, "The new passphrase is in place, but the key object wrapped by "
                                 "the old one could not be removed: ");
          return FALSE;
        }
    }
  return TRUE;
}
