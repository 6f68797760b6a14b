/* coffer-check.c: verifying what a machine has stored in the vault.
 *
 * The structure check reads every recovery point and walks its trees: every
 * tree and chunk they name must be in the index, and every pack the index
 * names must exist. With read_data, every pack is read in full: its header
 * must open, its bytes must give its name (coffer_pack_name_matches()), and
 * every blob in it must decrypt and match its id. A problem names the damaged object and the
 * files that need it; the check goes on to find them all. Packs that no index
 * names are not damage: an interrupted backup leaves them, and prune removes
 * them.
 */
#include "config.h"

#include "coffer-check.h"

#include "coffer-blob.h"
#include "coffer-crypto.h"
#include "coffer-error.h"
#include "coffer-index.h"
#include "coffer-pack.h"
#include "coffer-point-reader.h"
#include "coffer-snapshot.h"
#include "coffer-tree.h"

#include <string.h>

#define MAX_NAMED_FILES 5

typedef struct
{
  CofferVault *vault;
  const char *machine_id;
  const CofferMasterKeys *keys;
  CofferIndex *index;
  GHashTable *users; /* blob id (32 bytes) → GPtrArray of paths needing it */
  GHashTable *trees_seen;
  CofferCheckResult *result;
  GCancellable *cancellable;
  CofferBackupProgress progress;
  CofferBackupProgressFunc progress_func;
  gpointer progress_data;
} Check;

void
coffer_check_result_free (CofferCheckResult *result)
{
  if (result == NULL)
    return;
  g_clear_pointer (&result->problems, g_ptr_array_unref);
  g_clear_pointer (&result->notes, g_ptr_array_unref);
  g_free (result);
}

static void
add_item (GPtrArray *items, const char *path, const char *reason)
{
  CofferFailedItem *item = g_new0 (CofferFailedItem, 1);

  item->path = g_strdup (path);
  item->reason = g_strdup (reason);
  g_ptr_array_add (items, item);
}

/* Remembers that @path needs blob @id (a few paths per blob are enough to
 * tell the user what a damaged blob costs). */
static void
add_user (Check *check, const guint8 *id, const char *path)
{
  GPtrArray *paths = g_hash_table_lookup (check->users, id);

  if (paths == NULL)
    {
      paths = g_ptr_array_new_with_free_func (g_free);
      g_hash_table_insert (check->users, g_memdup2 (id, COFFER_BLOB_ID_SIZE), paths);
    }
  if (paths->len < MAX_NAMED_FILES)
    g_ptr_array_add (paths, g_strdup (path));
}

static char *
users_of (Check *check, const guint8 *id)
{
  GPtrArray *paths = g_hash_table_lookup (check->users, id);
  GString *text = g_string_new (NULL);

  if (paths == NULL || paths->len == 0)
    return g_string_free (text, FALSE);
  g_string_append (text, " Needed by: ");
  for (guint i = 0; i < paths->len; i++)
    g_string_append_printf (text, "%s%s", i > 0 ? ", " : "", (char *) g_ptr_array_index (paths, i));
  if (paths->len == MAX_NAMED_FILES)
    g_string_append (text, ", …");
  return g_string_free (text, FALSE);
}

static GBytes *
read_blob (Check *check, const guint8 *id, CofferBlobType type, GError **error)
{
  return coffer_point_reader_fetch_blob (check->vault, check->machine_id, check->keys, check->index,
                                         id, type, check->cancellable, error);
}

static char *
child_path (const char *parent, const char *name)
{
  return g_str_equal (parent, "/") ? g_strconcat ("/", name, NULL)
                                   : g_strconcat (parent, "/", name, NULL);
}

static gboolean
walk_tree (Check *check, const guint8 *tree_id, const char *path, GError **error)
{
  g_autoptr (GBytes) plain = NULL;
  g_autoptr (GPtrArray) nodes = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autofree char *hex = coffer_blob_id_to_hex (tree_id);

  if (g_cancellable_set_error_if_cancelled (check->cancellable, error))
    return FALSE;
  if (!g_hash_table_add (check->trees_seen, g_memdup2 (tree_id, COFFER_BLOB_ID_SIZE)))
    return TRUE; /* an identical folder, checked already */

  plain = read_blob (check, tree_id, COFFER_BLOB_TREE, &local_error);
  if (plain != NULL)
    nodes = coffer_tree_parse (plain, &local_error);
  if (nodes == NULL)
    {
      g_autofree char *reason =
          g_strdup_printf ("Tree %s of folder %s: %s", hex, path, local_error->message);
      if (g_error_matches (local_error, COFFER_ERROR, COFFER_ERROR_VAULT_UNREACHABLE))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      add_item (check->result->problems, path, reason);
      return TRUE;
    }

  for (guint i = 0; i < nodes->len; i++)
    {
      CofferNode *node = g_ptr_array_index (nodes, i);
      g_autofree char *child = child_path (path, node->name);

      if (node->type == COFFER_NODE_DIR && node->has_subtree)
        {
          if (!walk_tree (check, node->subtree, child, error))
            return FALSE;
          continue;
        }
      for (guint c = 0; node->chunks != NULL && c < node->chunks->len; c++)
        {
          const guint8 *id = &g_array_index (node->chunks, guint8, c * COFFER_BLOB_ID_SIZE);

          add_user (check, id, child);
          if (!coffer_index_contains (check->index, id))
            {
              g_autofree char *chunk = coffer_blob_id_to_hex (id);
              g_autofree char *reason = g_strdup_printf ("Chunk %s of this file is missing: no "
                                                         "index names it.",
                                                         chunk);
              add_item (check->result->problems, child, reason);
            }
        }
    }
  return TRUE;
}

/* Reads one pack in full and checks every blob in it. */
static gboolean
read_pack (Check *check, CofferStoreEntry *entry, GError **error)
{
  CofferStore *store = coffer_vault_get_store (check->vault);
  const char *name = strrchr (entry->name, '/') + 1;
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (GArray) entries = NULL;
  g_autoptr (GError) local_error = NULL;
  gsize size;
  const guint8 *data;

  bytes = coffer_store_get_sync (store, entry->name, 0, -1, NULL, check->cancellable, error);
  if (bytes == NULL)
    return FALSE;
  data = g_bytes_get_data (bytes, &size);

  entries = coffer_pack_read_header (check->keys, name, bytes, size, &local_error);
  if (entries == NULL)
    {
      g_autofree char *reason = g_strdup_printf ("Pack is damaged: %s", local_error->message);
      add_item (check->result->problems, entry->name, reason);
      return TRUE;
    }
  if (!coffer_pack_name_matches (name, bytes, entries))
    add_item (check->result->problems, entry->name,
              "Pack is damaged: its contents do not match its name.");

  for (guint i = 0; i < entries->len; i++)
    {
      const CofferPackEntry *blob = &g_array_index (entries, CofferPackEntry, i);
      g_autoptr (GBytes) plain = NULL;
      g_autoptr (GError) blob_error = NULL;

      plain = coffer_blob_open (check->keys, blob->id, blob->type, data + blob->offset,
                                blob->length, blob->raw_length, &blob_error);
      check->result->blobs_read++;
      if (plain == NULL)
        {
          g_autofree char *users = users_of (check, blob->id);
          g_autofree char *reason =
              g_strdup_printf ("Pack is damaged: %s.%s", blob_error->message, users);
          add_item (check->result->problems, entry->name, reason);
        }
    }
  check->progress.bytes_scanned += size;
  if (check->progress_func != NULL)
    check->progress_func (&check->progress, check->progress_data);
  return TRUE;
}

/**
 * coffer_check_run:
 * @vault: the vault
 * @machine_id: whose backups to check
 * @keys: that machine's keys
 * @read_data: also read and decrypt every blob
 * @progress: (nullable): called now and then
 * @progress_data: data for @progress
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Checks a machine's recovery points, index and packs. Damage is not an
 * error: it is in the result's problems. Errors are what stops the check
 * itself (a vault that cannot be reached, cancellation).
 *
 * Returns: (transfer full): what the check found
 */
CofferCheckResult *
coffer_check_run (CofferVault *vault,
                  const char *machine_id,
                  const CofferMasterKeys *keys,
                  gboolean read_data,
                  CofferBackupProgressFunc progress,
                  gpointer progress_data,
                  GCancellable *cancellable,
                  GError **error)
{
  g_autoptr (CofferIndex) index = coffer_index_new ();
  g_autoptr (GHashTable) users = g_hash_table_new_full (coffer_blob_id_hash, coffer_blob_id_equal,
                                                        g_free, (GDestroyNotify) g_ptr_array_unref);
  g_autoptr (GHashTable) trees_seen =
      g_hash_table_new_full (coffer_blob_id_hash, coffer_blob_id_equal, g_free, NULL);
  g_autoptr (GHashTable) indexed_packs =
      g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GPtrArray) snapshots = NULL;
  g_autoptr (GPtrArray) packs = NULL;
  g_autoptr (GPtrArray) listed = NULL;
  g_autoptr (CofferCheckResult) result = g_new0 (CofferCheckResult, 1);
  g_autofree char *data_prefix = g_strdup_printf ("machines/%s/data/", machine_id);
  CofferStore *store = coffer_vault_get_store (vault);
  Check check = { vault, machine_id, keys, index, users, trees_seen, result, cancellable };
  GHashTable *present;

  check.progress_func = progress;
  check.progress_data = progress_data;
  result->problems = g_ptr_array_new_with_free_func ((GDestroyNotify) coffer_failed_item_free);
  result->notes = g_ptr_array_new_with_free_func ((GDestroyNotify) coffer_failed_item_free);

  check.progress.phase = "Checking the index…";
  if (progress != NULL)
    progress (&check.progress, progress_data);
  if (!coffer_backup_load_index (vault, machine_id, keys, index, cancellable, error))
    return NULL;

  /* Recovery points: a damaged one is a problem, not the end of the check. */
  check.progress.phase = "Checking the recovery points…";
  if (progress != NULL)
    progress (&check.progress, progress_data);
  {
    g_autoptr (GError) local_error = NULL;
    g_autofree char *prefix = g_strdup_printf ("machines/%s/snapshots/", machine_id);
    g_autoptr (GPtrArray) objects = coffer_store_list_sync (store, prefix, cancellable, error);

    if (objects == NULL)
      return NULL;
    snapshots = coffer_snapshot_list (vault, machine_id, keys, cancellable, &local_error);
    if (snapshots == NULL)
      {
        if (!g_error_matches (local_error, COFFER_ERROR, COFFER_ERROR_CORRUPT))
          {
            g_propagate_error (error, g_steal_pointer (&local_error));
            return NULL;
          }
        add_item (result->problems, prefix, local_error->message);
        snapshots = g_ptr_array_new_with_free_func ((GDestroyNotify) coffer_snapshot_free);
      }
  }
  for (guint i = 0; i < snapshots->len; i++)
    {
      CofferSnapshot *snapshot = g_ptr_array_index (snapshots, i);

      if (!walk_tree (&check, snapshot->root, "/", error))
        return NULL;
    }
  result->snapshots = snapshots->len;

  /* Packs: every one the index names must be there. */
  check.progress.phase = "Checking the packs…";
  packs = coffer_index_list_packs (index);
  listed = coffer_store_list_sync (store, data_prefix, cancellable, error);
  if (listed == NULL)
    return NULL;
  present = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < listed->len; i++)
    {
      CofferStoreEntry *entry = g_ptr_array_index (listed, i);
      g_hash_table_add (present, strrchr (entry->name, '/') + 1);
    }
  for (guint i = 0; i < packs->len; i++)
    {
      const char *pack = g_ptr_array_index (packs, i);

      g_hash_table_add (indexed_packs, g_strdup (pack));
      if (!g_hash_table_contains (present, pack))
        {
          g_autofree char *object = coffer_pack_object_name (machine_id, pack);
          add_item (result->problems, object, "Pack is missing, but the index names it.");
        }
    }
  g_hash_table_unref (present);
  result->packs = listed->len;

  for (guint i = 0; i < listed->len; i++)
    {
      CofferStoreEntry *entry = g_ptr_array_index (listed, i);

      if (!g_hash_table_contains (indexed_packs, strrchr (entry->name, '/') + 1))
        add_item (result->notes, entry->name,
                  "Unreferenced: no index names this pack; the next "
                  "prune removes it.");
      else if (read_data && !read_pack (&check, entry, error))
        return NULL;
    }
  return g_steal_pointer (&result);
}
