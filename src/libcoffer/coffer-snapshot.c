/* coffer-snapshot.c: recovery points (machines/ID/snapshots/ID).
 *
 * A recovery point is the last object a backup writes (packs, then index,
 * then the point), so a point that exists names only data that exists. Its
 * JSON is sealed like the machine's config, with its own key and additional
 * data; its name is the SHA-256 of the sealed bytes.
 */
#include "config.h"

#include "coffer-snapshot.h"

#include "coffer-blob.h"
#include "coffer-crypto.h"
#include "coffer-error.h"
#include "coffer-index-loader.h"
#include "coffer-json-util.h"
#include "coffer-backup.h"

#include <string.h>

#define SNAPSHOT_AAD "coffer-snapshot-v1"

void
coffer_snapshot_free (CofferSnapshot *snapshot)
{
  if (snapshot == NULL)
    return;

  g_free (snapshot->id);
  g_clear_pointer (&snapshot->items, g_ptr_array_unref);
  g_free (snapshot->host);
  g_free (snapshot);
}

static void
snapshot_key (const CofferMasterKeys *keys, guint8 key[32])
{
  coffer_hmac_sha256 (keys->encryption, COFFER_KEY_SIZE, "snapshot", strlen ("snapshot"), key);
}

static char *
prefix_for (const char *machine_id)
{
  return g_strdup_printf ("machines/%s/snapshots/", machine_id);
}

/**
 * coffer_snapshot_put:
 * @vault: the vault
 * @machine_id: whose point it is
 * @keys: that machine's keys
 * @snapshot: the point; its id is set
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Writes the recovery point. Call it only once everything it names is in
 * the vault and in an index file.
 */
gboolean
coffer_snapshot_put (CofferVault *vault,
                     const char *machine_id,
                     const CofferMasterKeys *keys,
                     CofferSnapshot *snapshot,
                     GCancellable *cancellable,
                     GError **error)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (GBytes) plain = NULL;
  g_autoptr (GBytes) sealed = NULL;
  g_autofree char *time = coffer_json_format_time (snapshot->time);
  g_autofree char *root = coffer_blob_id_to_hex (snapshot->root);
  g_autofree char *prefix = prefix_for (machine_id);
  g_autofree char *name = NULL;
  guint8 key[32];

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "format");
  json_builder_add_int_value (builder, COFFER_SNAPSHOT_FORMAT);
  json_builder_set_member_name (builder, "time");
  json_builder_add_string_value (builder, time);
  json_builder_set_member_name (builder, "kind");
  json_builder_add_string_value (builder, snapshot->on_demand ? "on-demand" : "scheduled");
  json_builder_set_member_name (builder, "retain_until");
  json_builder_add_int_value (builder, snapshot->retain_until);
  json_builder_set_member_name (builder, "root");
  json_builder_add_string_value (builder, root);
  json_builder_set_member_name (builder, "host");
  json_builder_add_string_value (builder, snapshot->host);
  json_builder_set_member_name (builder, "files");
  json_builder_add_int_value (builder, snapshot->files);
  json_builder_set_member_name (builder, "bytes");
  json_builder_add_int_value (builder, snapshot->bytes);
  json_builder_set_member_name (builder, "items");
  json_builder_begin_array (builder);
  for (guint i = 0; i < snapshot->items->len; i++)
    json_builder_add_string_value (builder, g_ptr_array_index (snapshot->items, i));
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  plain = coffer_json_to_bytes (builder);

  snapshot_key (keys, key);
  sealed = coffer_gcm_seal (key, plain, SNAPSHOT_AAD, strlen (SNAPSHOT_AAD));
  memset (key, 0, sizeof key);

  g_free (snapshot->id);
  snapshot->id = coffer_sha256_hex_bytes (sealed);
  name = g_strconcat (prefix, snapshot->id, NULL);
  return coffer_store_put_sync (coffer_vault_get_store (vault), name, sealed, COFFER_PUT_IF_ABSENT,
                                NULL, NULL, cancellable, error);
}

static CofferSnapshot *
parse_snapshot (const char *id, GBytes *plain, GError **error)
{
  g_autoptr (JsonObject) object = coffer_json_parse_object (plain, "recovery point", error);
  g_autoptr (CofferSnapshot) snapshot = NULL;
  const char *kind, *root, *host;
  gint64 format, files, bytes;
  JsonNode *items;

  if (object == NULL || !coffer_json_get_int (object, "format", "recovery point", &format, error))
    return NULL;
  if (format > COFFER_SNAPSHOT_FORMAT)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_NEWER_FORMAT,
                   "Recovery point %s was made by a newer version of Coffer.", id);
      return NULL;
    }

  snapshot = g_new0 (CofferSnapshot, 1);
  snapshot->id = g_strdup (id);
  snapshot->items = g_ptr_array_new_with_free_func (g_free);
  if (!coffer_json_get_time (object, "time", "recovery point", &snapshot->time, error) ||
      (kind = coffer_json_get_string (object, "kind", "recovery point", error)) == NULL ||
      !coffer_json_get_int (object, "retain_until", "recovery point", &snapshot->retain_until,
                            error) ||
      (root = coffer_json_get_string (object, "root", "recovery point", error)) == NULL ||
      (host = coffer_json_get_string (object, "host", "recovery point", error)) == NULL ||
      !coffer_json_get_int (object, "files", "recovery point", &files, error) ||
      !coffer_json_get_int (object, "bytes", "recovery point", &bytes, error))
    return NULL;

  items = json_object_get_member (object, "items");
  if (!coffer_blob_id_from_hex (root, snapshot->root) || items == NULL ||
      !JSON_NODE_HOLDS_ARRAY (items) || files < 0 || bytes < 0)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT, "recovery point %s is damaged", id);
      return NULL;
    }
  for (guint i = 0; i < json_array_get_length (json_node_get_array (items)); i++)
    {
      JsonNode *item = json_array_get_element (json_node_get_array (items), i);

      if (!JSON_NODE_HOLDS_VALUE (item) || json_node_get_value_type (item) != G_TYPE_STRING)
        {
          g_set_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT,
                       "recovery point %s is damaged: an item is not a path", id);
          return NULL;
        }
      g_ptr_array_add (snapshot->items, g_strdup (json_node_get_string (item)));
    }
  snapshot->on_demand = g_str_equal (kind, "on-demand");
  snapshot->host = g_strdup (host);
  snapshot->files = files;
  snapshot->bytes = bytes;
  return g_steal_pointer (&snapshot);
}

/* Reads, checks and parses the point @object, named @id. */
static CofferSnapshot *
read_snapshot (CofferVault *vault,
               const char *object,
               const char *id,
               const guint8 key[32],
               GCancellable *cancellable,
               GError **error)
{
  g_autoptr (GBytes) sealed = NULL;
  g_autoptr (GBytes) plain = NULL;
  g_autofree char *digest = NULL;

  if (strlen (id) != 64)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT,
                   "its name is not a recovery point's name");
      return NULL;
    }
  sealed = coffer_store_get_sync (coffer_vault_get_store (vault), object, 0, -1, NULL, cancellable,
                                  error);
  if (sealed == NULL)
    return NULL;
  digest = coffer_sha256_hex_bytes (sealed);
  if (!g_str_equal (digest, id))
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT,
                   "its name is not the hash of its contents");
      return NULL;
    }
  plain = coffer_gcm_open (key, sealed, SNAPSHOT_AAD, strlen (SNAPSHOT_AAD), error);
  if (plain == NULL)
    return NULL;
  return parse_snapshot (id, plain, error);
}

static int
compare_time (gconstpointer a, gconstpointer b)
{
  const CofferSnapshot *x = *(CofferSnapshot *const *) a;
  const CofferSnapshot *y = *(CofferSnapshot *const *) b;

  return x->time < y->time ? -1 : x->time > y->time ? 1 : g_strcmp0 (x->id, y->id);
}

/**
 * coffer_snapshot_list:
 * @vault: the vault
 * @machine_id: whose points
 * @keys: that machine's keys
 * @damaged: (nullable) (element-type CofferFailedItem): where to add each
 *   point that cannot be read, or %NULL
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Reads every recovery point of a machine. Each point is read on its own:
 * with @damaged, a damaged or foreign one (or one that is not a file) is
 * added there, naming it, and the others are returned; without, it is an
 * error naming it (prune wants to know before it deletes anything). An
 * error that is about more than one object (the vault gone, a newer
 * format, a cancellation) is always an error.
 *
 * Returns: (transfer container) (element-type CofferSnapshot): the points,
 *   oldest first
 */
GPtrArray *
coffer_snapshot_list (CofferVault *vault,
                      const char *machine_id,
                      const CofferMasterKeys *keys,
                      GPtrArray *damaged,
                      GCancellable *cancellable,
                      GError **error)
{
  g_autofree char *prefix = prefix_for (machine_id);
  g_autoptr (GPtrArray) entries = NULL;
  g_autoptr (GPtrArray) snapshots = NULL;
  guint8 key[32];

  entries = coffer_store_list_sync (coffer_vault_get_store (vault), prefix, cancellable, error);
  if (entries == NULL)
    return NULL;

  snapshot_key (keys, key);
  snapshots = g_ptr_array_new_with_free_func ((GDestroyNotify) coffer_snapshot_free);
  for (guint i = 0; i < entries->len; i++)
    {
      CofferStoreEntry *entry = g_ptr_array_index (entries, i);
      g_autoptr (GError) local_error = NULL;
      CofferSnapshot *snapshot;

      snapshot = read_snapshot (vault, entry->name, entry->name + strlen (prefix), key, cancellable,
                                &local_error);
      if (snapshot != NULL)
        {
          g_ptr_array_add (snapshots, snapshot);
          continue;
        }
      if (g_error_matches (local_error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND))
        continue; /* deleted since the listing: a prune */
      if (damaged != NULL && !coffer_error_stops_reading (local_error))
        {
          CofferFailedItem *item = g_new0 (CofferFailedItem, 1);

          item->path = g_strdup (entry->name);
          item->reason =
              g_strdup_printf ("Recovery point is damaged or foreign: %s", local_error->message);
          g_ptr_array_add (damaged, item);
          continue;
        }
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                  "Recovery point %s: ", entry->name);
      memset (key, 0, sizeof key);
      return NULL;
    }
  memset (key, 0, sizeof key);
  g_ptr_array_sort (snapshots, compare_time);
  return g_steal_pointer (&snapshots);
}
