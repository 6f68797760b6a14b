/* coffer-vault.c: a vault — vault.json, its redundancy and its machines.
 *
 * vault.json is the vault's identity, in plain text: a store whose vault.json
 * is missing, or names another vault, is not this vault, and nothing is ever
 * written to it (an unplugged drive's empty mount point must not become a
 * vault). Each machine has machines/ID/machine.json; a machine exists once that
 * object exists. Formats: FORMAT.md.
 */
#include "config.h"

#include "coffer-vault.h"

#include "coffer-error.h"
#include "coffer-index-loader.h"
#include "coffer-json-util.h"

#include <string.h>

#define VAULT_JSON "vault.json"

struct _CofferVault
{
  GObject parent_instance;

  CofferStore *store;
  char *id;
  char *name;
  char *region;
  char *redundancy;
  gint64 created;
  char *etag;
};

G_DEFINE_FINAL_TYPE (CofferVault, coffer_vault, G_TYPE_OBJECT)

void
coffer_machine_info_free (CofferMachineInfo *info)
{
  if (info == NULL)
    return;

  g_free (info->id);
  g_free (info->name);
  g_free (info->host);
  g_free (info->os);
  g_free (info->agent_version);
  g_free (info->instance_id);
  g_free (info->etag);
  g_free (info);
}

static void
coffer_vault_finalize (GObject *object)
{
  CofferVault *self = COFFER_VAULT (object);

  g_clear_object (&self->store);
  g_free (self->id);
  g_free (self->name);
  g_free (self->region);
  g_free (self->redundancy);
  g_free (self->etag);

  G_OBJECT_CLASS (coffer_vault_parent_class)->finalize (object);
}

static void
coffer_vault_class_init (CofferVaultClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = coffer_vault_finalize;
}

static void
coffer_vault_init (CofferVault *self)
{
}

/**
 * coffer_vault_name_check:
 * @name: a proposed vault name
 * @error: return location for a #GError
 *
 * A vault name has 2–50 characters, starts with a letter, and holds only
 * letters, digits and hyphens (ASCII), as the reference's vault names do.
 */
gboolean
coffer_vault_name_check (const char *name, GError **error)
{
  gsize length = name != NULL ? strlen (name) : 0;

  if (length < 2 || length > 50)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "A vault name must be 2 to 50 characters long.");
      return FALSE;
    }
  if (!g_ascii_isalpha (name[0]))
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "A vault name must start with a letter.");
      return FALSE;
    }
  for (gsize i = 0; i < length; i++)
    if (!g_ascii_isalnum (name[i]) && name[i] != '-')
      {
        g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                     "A vault name may contain only letters, digits and hyphens.");
        return FALSE;
      }
  return TRUE;
}

/**
 * coffer_machine_name_check:
 * @name: a proposed machine name
 * @error: return location for a #GError
 *
 * A machine name is 1–63 characters of letters, digits, hyphens, dots and
 * underscores, starting with a letter or digit: any host name fits.
 */
gboolean
coffer_machine_name_check (const char *name, GError **error)
{
  gsize length = name != NULL ? strlen (name) : 0;

  if (length < 1 || length > 63 || !g_ascii_isalnum (name[0]))
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "A server name must be 1 to 63 characters long and start with a letter or "
                   "digit.");
      return FALSE;
    }
  for (gsize i = 0; i < length; i++)
    if (!g_ascii_isalnum (name[i]) && strchr ("-._", name[i]) == NULL)
      {
        g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                     "A server name may contain only letters, digits, hyphens, dots and "
                     "underscores.");
        return FALSE;
      }
  return TRUE;
}

static gboolean
redundancy_check (const char *redundancy, GError **error)
{
  if (g_strcmp0 (redundancy, "geo") != 0 && g_strcmp0 (redundancy, "local") != 0)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "The storage redundancy must be “geo” or “local”.");
      return FALSE;
    }
  return TRUE;
}

static GBytes *
vault_json (CofferVault *self)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autofree char *created = coffer_json_format_time (self->created);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "format");
  json_builder_add_int_value (builder, COFFER_VAULT_FORMAT);
  json_builder_set_member_name (builder, "min_reader_version");
  json_builder_add_int_value (builder, COFFER_VAULT_FORMAT);
  json_builder_set_member_name (builder, "vault_id");
  json_builder_add_string_value (builder, self->id);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, self->name);
  json_builder_set_member_name (builder, "region");
  json_builder_add_string_value (builder, self->region);
  json_builder_set_member_name (builder, "redundancy");
  json_builder_add_string_value (builder, self->redundancy);
  json_builder_set_member_name (builder, "created");
  json_builder_add_string_value (builder, created);
  json_builder_end_object (builder);
  return coffer_json_to_bytes (builder);
}

/**
 * coffer_vault_create:
 * @store: an empty store
 * @name: the vault's name (coffer_vault_name_check())
 * @region: (nullable): where the vault is, free text; %NULL for "local"
 * @redundancy: (nullable): "geo" (the default) or "local"
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Writes a new vault.json. A store that already holds a vault is refused.
 *
 * Returns: (transfer full): the new vault
 */
CofferVault *
coffer_vault_create (CofferStore *store,
                     const char *name,
                     const char *region,
                     const char *redundancy,
                     GCancellable *cancellable,
                     GError **error)
{
  g_autoptr (CofferVault) self = NULL;
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (GError) local_error = NULL;

  g_return_val_if_fail (COFFER_IS_STORE (store), NULL);

  if (redundancy == NULL)
    redundancy = "geo";
  if (!coffer_vault_name_check (name, error) || !redundancy_check (redundancy, error))
    return NULL;

  self = g_object_new (COFFER_TYPE_VAULT, NULL);
  self->store = g_object_ref (store);
  self->id = g_uuid_string_random ();
  self->name = g_strdup (name);
  self->region = g_strdup (region != NULL && *region != '\0' ? region : "local");
  self->redundancy = g_strdup (redundancy);
  self->created = g_get_real_time () / G_USEC_PER_SEC;

  bytes = vault_json (self);
  if (!coffer_store_put_sync (store, VAULT_JSON, bytes, COFFER_PUT_IF_ABSENT, NULL, &self->etag,
                              cancellable, &local_error))
    {
      g_autofree char *where = coffer_store_describe (store);

      if (g_error_matches (local_error, COFFER_ERROR, COFFER_ERROR_EXISTS))
        g_set_error (error, COFFER_ERROR, COFFER_ERROR_EXISTS, "A vault already exists at %s.",
                     where);
      else
        g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                    "Cannot create the vault at %s: ", where);
      return NULL;
    }
  return g_steal_pointer (&self);
}

/**
 * coffer_vault_open:
 * @store: the store the vault is in
 * @expected_id: (nullable): the vault id the caller expects there
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Reads vault.json. A store without one, or holding another vault than
 * @expected_id, is %COFFER_ERROR_VAULT_UNREACHABLE: the vault is not there
 * (a drive not connected, another drive mounted in its place).
 *
 * Returns: (transfer full): the vault
 */
static CofferMachineInfo *parse_machine (GBytes *bytes, const char *etag, GError **error);

/* Parses vault.json's @bytes (from @where) into a vault on @store. */
static CofferVault *
parse_vault (
    CofferStore *store, GBytes *bytes, const char *where, const char *expected_id, GError **error)
{
  g_autoptr (CofferVault) self = NULL;
  g_autoptr (JsonObject) object = NULL;
  gint64 min_reader = 0;
  const char *id, *name, *region, *redundancy;

  object = coffer_json_parse_object (bytes, "vault.json", error);
  if (object == NULL ||
      !coffer_json_get_int (object, "min_reader_version", "vault.json", &min_reader, error))
    return NULL;
  if (min_reader > COFFER_VAULT_FORMAT)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_NEWER_FORMAT,
                   "This vault was made by a newer version of Coffer (format %" G_GINT64_FORMAT
                   "). Update Coffer to use it.",
                   min_reader);
      return NULL;
    }

  if ((id = coffer_json_get_string (object, "vault_id", "vault.json", error)) == NULL ||
      (name = coffer_json_get_string (object, "name", "vault.json", error)) == NULL ||
      (region = coffer_json_get_string (object, "region", "vault.json", error)) == NULL ||
      (redundancy = coffer_json_get_string (object, "redundancy", "vault.json", error)) == NULL)
    return NULL;

  if (expected_id != NULL && g_strcmp0 (id, expected_id) != 0)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_VAULT_UNREACHABLE,
                   "The vault cannot be reached: %s holds another vault (“%s”, id %s), not the "
                   "one with id %s.",
                   where, name, id, expected_id);
      return NULL;
    }

  self = g_object_new (COFFER_TYPE_VAULT, NULL);
  self->store = g_object_ref (store);
  self->id = g_strdup (id);
  self->name = g_strdup (name);
  self->region = g_strdup (region);
  self->redundancy = g_strdup (redundancy);
  if (!coffer_json_get_time (object, "created", "vault.json", &self->created, error))
    return NULL;
  return g_steal_pointer (&self);
}

CofferVault *
coffer_vault_open (CofferStore *store,
                   const char *expected_id,
                   GCancellable *cancellable,
                   GError **error)
{
  g_autoptr (CofferVault) self = NULL;
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autofree char *where = NULL;
  g_autofree char *etag = NULL;

  g_return_val_if_fail (COFFER_IS_STORE (store), NULL);

  where = coffer_store_describe (store);
  bytes = coffer_store_get_sync (store, VAULT_JSON, 0, -1, &etag, cancellable, &local_error);
  if (bytes == NULL)
    {
      if (g_error_matches (local_error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND))
        g_set_error (error, COFFER_ERROR, COFFER_ERROR_VAULT_UNREACHABLE,
                     "The vault at %s cannot be reached (is the drive connected?): it holds no "
                     "vault.json.",
                     where);
      else
        g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }

  self = parse_vault (store, bytes, where, expected_id, &local_error);
  if (self == NULL)
    {
      if (g_error_matches (local_error, COFFER_ERROR, COFFER_ERROR_CORRUPT))
        g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                    "vault.json at %s is damaged (coffer check --repair rewrites "
                                    "it): ",
                                    where);
      else
        g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  self->etag = g_steal_pointer (&etag);
  return g_steal_pointer (&self);
}

/**
 * coffer_vault_open_from_copy:
 * @store: the store the vault is in
 * @copy: a copy of the vault's vault.json, from coffer_vault_get_document()
 * @expected_id: the vault id the copy must have
 * @error: return location for a #GError
 *
 * A vault whose own vault.json is damaged, opened from a copy kept
 * elsewhere, so that a repair can write it again
 * (coffer_vault_put_document()). Reads nothing from @store.
 *
 * Returns: (transfer full): the vault
 */
CofferVault *
coffer_vault_open_from_copy (CofferStore *store,
                             GBytes *copy,
                             const char *expected_id,
                             GError **error)
{
  g_autofree char *where = NULL;

  g_return_val_if_fail (COFFER_IS_STORE (store), NULL);
  g_return_val_if_fail (copy != NULL && expected_id != NULL, NULL);

  where = coffer_store_describe (store);
  return parse_vault (store, copy, where, expected_id, error);
}

/**
 * coffer_vault_get_document:
 * @self: a #CofferVault
 *
 * Returns: (transfer full): what the vault's vault.json holds, as written
 *   anew: a copy to keep for coffer_vault_open_from_copy()
 */
GBytes *
coffer_vault_get_document (CofferVault *self)
{
  g_return_val_if_fail (COFFER_IS_VAULT (self), NULL);
  return vault_json (self);
}

/**
 * coffer_vault_put_document:
 * @self: a #CofferVault
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Writes vault.json from what @self knows, replacing whatever is there:
 * the repair of a damaged vault.json.
 */
gboolean
coffer_vault_put_document (CofferVault *self, GCancellable *cancellable, GError **error)
{
  g_autoptr (GBytes) bytes = NULL;
  g_autofree char *etag = NULL;

  g_return_val_if_fail (COFFER_IS_VAULT (self), FALSE);

  bytes = vault_json (self);
  if (!coffer_store_put_sync (self->store, VAULT_JSON, bytes, COFFER_PUT_ALWAYS, NULL, &etag,
                              cancellable, error))
    return FALSE;
  g_free (self->etag);
  self->etag = g_steal_pointer (&etag);
  return TRUE;
}

/**
 * coffer_vault_read_machine:
 * @self: a #CofferVault
 * @machine_id: a machine's id
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Reads one machine's machine.json.
 *
 * Returns: (transfer full): the machine, or %NULL with @error set
 *   (%COFFER_ERROR_NOT_FOUND, %COFFER_ERROR_CORRUPT naming it, …)
 */
CofferMachineInfo *
coffer_vault_read_machine (CofferVault *self,
                           const char *machine_id,
                           GCancellable *cancellable,
                           GError **error)
{
  g_autofree char *name = g_strdup_printf ("machines/%s/machine.json", machine_id);
  g_autoptr (GBytes) bytes = NULL;
  g_autofree char *etag = NULL;
  CofferMachineInfo *info;

  g_return_val_if_fail (COFFER_IS_VAULT (self), NULL);

  bytes = coffer_store_get_sync (self->store, name, 0, -1, &etag, cancellable, error);
  if (bytes == NULL)
    return NULL;
  info = parse_machine (bytes, etag, error);
  if (info == NULL)
    {
      g_prefix_error (error, "%s: ", name);
      if (error != NULL && (*error)->domain != COFFER_ERROR)
        {
          g_autoptr (GError) other = g_steal_pointer (error);
          g_set_error_literal (error, COFFER_ERROR, COFFER_ERROR_CORRUPT, other->message);
        }
      return NULL;
    }
  if (!g_str_equal (info->id, machine_id))
    {
      coffer_machine_info_free (info);
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT,
                   "%s is damaged: it names another machine", name);
      return NULL;
    }
  return info;
}

CofferStore *
coffer_vault_get_store (CofferVault *self)
{
  g_return_val_if_fail (COFFER_IS_VAULT (self), NULL);
  return self->store;
}

const char *
coffer_vault_get_id (CofferVault *self)
{
  g_return_val_if_fail (COFFER_IS_VAULT (self), NULL);
  return self->id;
}

const char *
coffer_vault_get_name (CofferVault *self)
{
  g_return_val_if_fail (COFFER_IS_VAULT (self), NULL);
  return self->name;
}

const char *
coffer_vault_get_region (CofferVault *self)
{
  g_return_val_if_fail (COFFER_IS_VAULT (self), NULL);
  return self->region;
}

const char *
coffer_vault_get_redundancy (CofferVault *self)
{
  g_return_val_if_fail (COFFER_IS_VAULT (self), NULL);
  return self->redundancy;
}

/**
 * coffer_vault_set_redundancy:
 * @self: a #CofferVault
 * @redundancy: "geo" or "local"
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Changes the storage redundancy, which is locked once any machine has
 * registered to the vault.
 */
gboolean
coffer_vault_set_redundancy (CofferVault *self,
                             const char *redundancy,
                             GCancellable *cancellable,
                             GError **error)
{
  g_autoptr (GPtrArray) machines = NULL;
  g_autoptr (GBytes) bytes = NULL;
  g_autofree char *old = NULL;
  g_autofree char *etag = NULL;

  g_return_val_if_fail (COFFER_IS_VAULT (self), FALSE);

  if (!redundancy_check (redundancy, error))
    return FALSE;

  machines = coffer_vault_list_machines (self, cancellable, error);
  if (machines == NULL)
    return FALSE;
  if (machines->len > 0)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "The storage redundancy option is locked because a server is registered to "
                   "this vault.");
      return FALSE;
    }

  old = g_steal_pointer (&self->redundancy);
  self->redundancy = g_strdup (redundancy);
  bytes = vault_json (self);
  if (!coffer_store_put_sync (self->store, VAULT_JSON, bytes, COFFER_PUT_IF_MATCH, self->etag,
                              &etag, cancellable, error))
    {
      g_free (self->redundancy);
      self->redundancy = g_steal_pointer (&old);
      g_prefix_error (error, "Cannot change the storage redundancy: ");
      return FALSE;
    }
  g_free (self->etag);
  self->etag = g_steal_pointer (&etag);
  return TRUE;
}

static CofferMachineInfo *
parse_machine (GBytes *bytes, const char *etag, GError **error)
{
  g_autoptr (JsonObject) object = coffer_json_parse_object (bytes, "machine.json", error);
  g_autoptr (CofferMachineInfo) info = NULL;
  const char *id, *name, *host, *os, *version, *instance;

  if (object == NULL)
    return NULL;
  if ((id = coffer_json_get_string (object, "machine_id", "machine.json", error)) == NULL ||
      (name = coffer_json_get_string (object, "name", "machine.json", error)) == NULL ||
      (host = coffer_json_get_string (object, "host", "machine.json", error)) == NULL ||
      (os = coffer_json_get_string (object, "os", "machine.json", error)) == NULL ||
      (version = coffer_json_get_string (object, "agent_version", "machine.json", error)) == NULL ||
      (instance = coffer_json_get_string (object, "instance_id", "machine.json", error)) == NULL)
    return NULL;

  info = g_new0 (CofferMachineInfo, 1);
  info->id = g_strdup (id);
  info->name = g_strdup (name);
  info->host = g_strdup (host);
  info->os = g_strdup (os);
  info->agent_version = g_strdup (version);
  info->instance_id = g_strdup (instance);
  info->etag = g_strdup (etag);
  if (!coffer_json_get_time (object, "registered_at", "machine.json", &info->registered_at, error))
    return NULL;
  return g_steal_pointer (&info);
}

/**
 * coffer_vault_list_machines:
 * @self: a #CofferVault
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Returns: (transfer container) (element-type CofferMachineInfo): the
 *   machines registered to the vault, by name
 */
GPtrArray *
coffer_vault_list_machines (CofferVault *self, GCancellable *cancellable, GError **error)
{
  g_autoptr (GPtrArray) entries = NULL;
  g_autoptr (GPtrArray) machines = NULL;

  g_return_val_if_fail (COFFER_IS_VAULT (self), NULL);

  entries = coffer_store_list_sync (self->store, "machines/", cancellable, error);
  if (entries == NULL)
    return NULL;

  machines = g_ptr_array_new_with_free_func ((GDestroyNotify) coffer_machine_info_free);
  for (guint i = 0; i < entries->len; i++)
    {
      CofferStoreEntry *entry = g_ptr_array_index (entries, i);
      g_auto (GStrv) parts = g_strsplit (entry->name, "/", -1);
      g_autoptr (GError) local_error = NULL;
      CofferMachineInfo *info;

      if (g_strv_length (parts) != 3 || !g_str_equal (parts[2], "machine.json"))
        continue;

      /* One machine's damaged machine.json does not hide the others. */
      info = coffer_vault_read_machine (self, parts[1], cancellable, &local_error);
      if (info == NULL)
        {
          if (coffer_error_stops_reading (local_error))
            {
              g_propagate_error (error, g_steal_pointer (&local_error));
              return NULL;
            }
          g_message ("Skipping %s: %s", entry->name, local_error->message);
          g_clear_error (&local_error);
          continue;
        }
      g_ptr_array_add (machines, info);
    }
  return g_steal_pointer (&machines);
}

/**
 * coffer_vault_find_machine:
 * @self: a #CofferVault
 * @name: a machine name
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the machine called @name; %NULL
 *   without @error set when there is none
 */
CofferMachineInfo *
coffer_vault_find_machine (CofferVault *self,
                           const char *name,
                           GCancellable *cancellable,
                           GError **error)
{
  g_autoptr (GPtrArray) machines = coffer_vault_list_machines (self, cancellable, error);

  if (machines == NULL)
    return NULL;
  for (guint i = 0; i < machines->len; i++)
    {
      CofferMachineInfo *info = g_ptr_array_index (machines, i);

      if (g_ascii_strcasecmp (info->name, name) == 0)
        return g_ptr_array_steal_index (machines, i);
    }
  return NULL;
}

/**
 * coffer_vault_put_machine:
 * @self: a #CofferVault
 * @info: the machine; its etag is updated
 * @create: %TRUE for a new machine (the object must not exist), %FALSE to
 *   replace the version @info was read from
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Writes machines/ID/machine.json.
 */
gboolean
coffer_vault_put_machine (CofferVault *self,
                          CofferMachineInfo *info,
                          gboolean create,
                          GCancellable *cancellable,
                          GError **error)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (GBytes) bytes = NULL;
  g_autofree char *name = g_strdup_printf ("machines/%s/machine.json", info->id);
  g_autofree char *registered = coffer_json_format_time (info->registered_at);
  g_autofree char *etag = NULL;

  g_return_val_if_fail (COFFER_IS_VAULT (self), FALSE);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "format");
  json_builder_add_int_value (builder, COFFER_VAULT_FORMAT);
  json_builder_set_member_name (builder, "machine_id");
  json_builder_add_string_value (builder, info->id);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, info->name);
  json_builder_set_member_name (builder, "host");
  json_builder_add_string_value (builder, info->host);
  json_builder_set_member_name (builder, "os");
  json_builder_add_string_value (builder, info->os);
  json_builder_set_member_name (builder, "agent_version");
  json_builder_add_string_value (builder, info->agent_version);
  json_builder_set_member_name (builder, "instance_id");
  json_builder_add_string_value (builder, info->instance_id);
  json_builder_set_member_name (builder, "registered_at");
  json_builder_add_string_value (builder, registered);
  json_builder_end_object (builder);
  bytes = coffer_json_to_bytes (builder);

  if (!coffer_store_put_sync (self->store, name, bytes,
                              create ? COFFER_PUT_IF_ABSENT : COFFER_PUT_IF_MATCH, info->etag,
                              &etag, cancellable, error))
    return FALSE;
  g_free (info->etag);
  info->etag = g_steal_pointer (&etag);
  return TRUE;
}
