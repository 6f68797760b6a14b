/* coffer-prune.c: removing the recovery points the policy no longer keeps, and their data.
 *
 * Under an exclusive lock (no backup, check or recovery of this machine runs
 * meanwhile), in this order, so that a crash at any point leaves a vault
 * that checks clean:
 *
 *   1. delete the recovery points retention does not keep;
 *   2. walk the trees of the points left and collect every blob they need;
 *   3. the packs holding none of those blobs are unused: when the index
 *      names any, write new index files without them, then delete the old
 *      index files (a crash between the two leaves both: they only overlap);
 *   4. delete the unused packs, and the packs no index named at all (an
 *      interrupted backup's);
 *   5. drop the files-cache rows that name chunks no longer indexed.
 *
 * A pack leaves the index before its object is deleted, never the other
 * way round. A pack still holding one needed blob stays whole: repacking
 * partly used packs is not done here. Anything that cannot be read (a
 * damaged point or tree) stops the prune before it deletes data.
 */
#include "config.h"

#include "coffer-prune.h"

#include "coffer-blob.h"
#include "coffer-error.h"
#include "coffer-files-cache.h"
#include "coffer-index-loader.h"
#include "coffer-index.h"
#include "coffer-lock.h"
#include "coffer-pack.h"
#include "coffer-point-reader.h"
#include "coffer-retention.h"
#include "coffer-snapshot.h"
#include "coffer-store.h"
#include "coffer-tree.h"

#include <string.h>

typedef struct
{
  const CofferPruneOptions *options;
  CofferIndex *index;
  GHashTable *needed; /* blob id → itself */
  GCancellable *cancellable;
  CofferBackupProgress progress;
} Prune;

static void
report (Prune *prune, const char *phase)
{
  prune->progress.phase = phase;
  if (prune->options->progress != NULL)
    prune->options->progress (&prune->progress, prune->options->progress_data);
}

static gboolean
need (Prune *prune, const guint8 *id)
{
  if (g_hash_table_contains (prune->needed, id))
    return FALSE;
  g_hash_table_add (prune->needed, g_memdup2 (id, COFFER_BLOB_ID_SIZE));
  return TRUE;
}

/* Collects the blobs a tree needs, itself included. */
static gboolean
walk_tree (Prune *prune, const guint8 *tree_id, GError **error)
{
  g_autoptr (GBytes) plain = NULL;
  g_autoptr (GPtrArray) nodes = NULL;

  if (g_cancellable_set_error_if_cancelled (prune->cancellable, error))
    return FALSE;
  if (!need (prune, tree_id))
    return TRUE; /* an identical folder, walked already */

  plain = coffer_point_reader_fetch_blob (prune->options->vault, prune->options->machine_id,
                                          prune->options->keys, prune->index, tree_id,
                                          COFFER_BLOB_TREE, prune->cancellable, error);
  if (plain == NULL || (nodes = coffer_tree_parse (plain, error)) == NULL)
    {
      g_autofree char *hex = coffer_blob_id_to_hex (tree_id);
      g_prefix_error (error, "Nothing was deleted from the packs: tree %s cannot be read: ", hex);
      return FALSE;
    }
  for (guint i = 0; i < nodes->len; i++)
    {
      CofferNode *node = g_ptr_array_index (nodes, i);

      if (node->type == COFFER_NODE_DIR && node->has_subtree &&
          !walk_tree (prune, node->subtree, error))
        return FALSE;
      for (guint c = 0; node->chunks != NULL && c < node->chunks->len; c++)
        need (prune, &g_array_index (node->chunks, guint8, c * COFFER_BLOB_ID_SIZE));
    }
  return TRUE;
}

static gboolean
delete_points (
    Prune *prune, GPtrArray *snapshots, GPtrArray *kept, CofferPruneResult *result, GError **error)
{
  const CofferPruneOptions *options = prune->options;
  CofferStore *store = coffer_vault_get_store (options->vault);
  g_autoptr (GHashTable) keep = NULL;

  if (options->schedule != NULL)
    keep = coffer_retention_select (snapshots, options->schedule, options->tz, options->now);
  for (guint i = 0; i < snapshots->len; i++)
    {
      CofferSnapshot *snapshot = g_ptr_array_index (snapshots, i);
      g_autofree char *name = NULL;

      if (keep != NULL && g_hash_table_contains (keep, snapshot->id))
        {
          g_ptr_array_add (kept, snapshot);
          continue;
        }
      name = g_strdup_printf ("machines/%s/snapshots/%s", options->machine_id, snapshot->id);
      /* The catalog hears first: a point it still thought stored would be
       * reported missing by the next check. */
      if (options->catalog != NULL &&
          !coffer_catalog_set_point_state (options->catalog, snapshot->id, "deleted", NULL, error))
        return FALSE;
      if (!coffer_store_delete_sync (store, name, prune->cancellable, error) &&
          !g_error_matches (*error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND))
        return FALSE;
      g_clear_error (error);
      result->points_deleted++;
    }
  result->points_kept = kept->len;
  return TRUE;
}

/* Writes the index anew without @unused, then deletes the old files. */
static gboolean
rewrite_index (Prune *prune,
               GPtrArray *old_files,
               GHashTable *unused,
               CofferPruneResult *result,
               GError **error)
{
  const CofferPruneOptions *options = prune->options;
  CofferStore *store = coffer_vault_get_store (options->vault);
  g_autoptr (GHashTable) written = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GPtrArray) files = NULL;

  coffer_index_remove_packs (prune->index, unused);
  coffer_index_mark_all_pending (prune->index);
  files = coffer_index_take_pending (prune->index, options->keys);
  for (guint i = 0; i < files->len; i++)
    {
      GBytes *file = g_ptr_array_index (files, i);
      g_autofree char *name = coffer_index_file_name (file);
      g_autofree char *object = coffer_index_object_name (options->machine_id, name);

      if (!coffer_store_put_sync (store, object, file, COFFER_PUT_IF_ABSENT, NULL, NULL,
                                  prune->cancellable, error) &&
          !g_error_matches (*error, COFFER_ERROR, COFFER_ERROR_EXISTS))
        return FALSE;
      g_clear_error (error);
      g_hash_table_add (written, g_steal_pointer (&object));
      result->index_files_written++;
    }
  for (guint i = 0; i < old_files->len; i++)
    {
      CofferStoreEntry *entry = g_ptr_array_index (old_files, i);

      if (g_hash_table_contains (written, entry->name))
        continue;
      if (!coffer_store_delete_sync (store, entry->name, prune->cancellable, error) &&
          !g_error_matches (*error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND))
        return FALSE;
      g_clear_error (error);
    }
  return TRUE;
}

static gboolean
index_has_chunk (const guint8 *id, gpointer user_data)
{
  return coffer_index_contains (user_data, id);
}

static gboolean
prune_locked (Prune *prune, CofferPruneResult *result, GError **error)
{
  const CofferPruneOptions *options = prune->options;
  CofferStore *store = coffer_vault_get_store (options->vault);
  g_autofree char *index_prefix = g_strdup_printf ("machines/%s/index/", options->machine_id);
  g_autofree char *data_prefix = g_strdup_printf ("machines/%s/data/", options->machine_id);
  g_autoptr (GPtrArray) snapshots = NULL;
  g_autoptr (GPtrArray) kept = g_ptr_array_new ();
  g_autoptr (GPtrArray) index_files = NULL;
  g_autoptr (GPtrArray) packs = NULL;
  g_autoptr (GPtrArray) indexed = NULL;
  g_autoptr (CofferIndexReport) damage = NULL;
  g_autoptr (GHashTable) used = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GHashTable) unused_indexed =
      g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GHashTableIter iter;
  gpointer id;

  report (prune, "Removing expired recovery points…");
  snapshots = coffer_snapshot_list (options->vault, options->machine_id, options->keys, NULL,
                                    prune->cancellable, error);
  if (snapshots == NULL)
    return FALSE;
  if (!delete_points (prune, snapshots, kept, result, error))
    return FALSE;
  if (result->points_deleted == 0 && options->only_when_expired)
    return TRUE;

  /* The index as it is now, and what the points left need. */
  report (prune, "Finding the data the recovery points still need…");
  index_files = coffer_store_list_sync (store, index_prefix, prune->cancellable, error);
  if (index_files == NULL)
    return FALSE;
  /* Read as every reader reads it, so that a pack the vault lost never
   * stands for a blob another pack holds; but damage to the index, or a
   * pack it names that is gone or cut short, stops the prune before it
   * deletes anything: a repair comes first. (A pack no index names whose
   * header cannot be read holds nothing a point can reach: prune removes
   * it like an interrupted backup's pack, unless a point needs a blob no
   * index knows, which stops it below.) */
  if (!coffer_index_load_from_vault (options->vault, options->machine_id, options->keys,
                                     prune->index, &damage, prune->cancellable, error))
    return FALSE;
  if (damage->bad_index_files->len > 0 || damage->missing_packs->len > 0 ||
      damage->short_packs->len > 0)
    {
      CofferFailedItem *first = g_ptr_array_index (damage->problems, 0);

      g_set_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT,
                   "Nothing was deleted: the vault is damaged (%s: %s). Run “coffer check "
                   "--repair” first.",
                   first->path, first->reason);
      return FALSE;
    }
  for (guint i = 0; i < kept->len; i++)
    if (!walk_tree (prune, ((CofferSnapshot *) g_ptr_array_index (kept, i))->root, error))
      return FALSE;
  g_hash_table_iter_init (&iter, prune->needed);
  while (g_hash_table_iter_next (&iter, &id, NULL))
    {
      CofferBlobLocation location;

      if (!coffer_index_lookup (prune->index, id, &location))
        {
          g_autofree char *hex = coffer_blob_id_to_hex (id);
          g_set_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT,
                       "Nothing was deleted from the packs: blob %s, which a recovery point "
                       "needs, is in no index. Run a check.",
                       hex);
          return FALSE;
        }
      g_hash_table_add (used, coffer_blob_id_to_hex (location.pack));
    }

  /* Unused packs leave the index first. */
  indexed = coffer_index_list_packs (prune->index);
  for (guint i = 0; i < indexed->len; i++)
    if (!g_hash_table_contains (used, g_ptr_array_index (indexed, i)))
      g_hash_table_add (unused_indexed, g_strdup (g_ptr_array_index (indexed, i)));
  /* Packs no index file named (an interrupted backup's) are written into
   * the index when a point needs them. */
  if (g_hash_table_size (unused_indexed) > 0 || damage->scanned_packs->len > 0)
    {
      report (prune, "Writing the index…");
      if (!rewrite_index (prune, index_files, unused_indexed, result, error))
        return FALSE;
    }

  /* Then their objects go, with any pack no index named. */
  report (prune, "Deleting unused packs…");
  packs = coffer_store_list_sync (store, data_prefix, prune->cancellable, error);
  if (packs == NULL)
    return FALSE;
  for (guint i = 0; i < packs->len; i++)
    {
      CofferStoreEntry *entry = g_ptr_array_index (packs, i);
      const char *name = strrchr (entry->name, '/') + 1;

      if (g_hash_table_contains (used, name))
        continue;
      if (!coffer_store_delete_sync (store, entry->name, prune->cancellable, error) &&
          !g_error_matches (*error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND))
        return FALSE;
      g_clear_error (error);
      result->packs_deleted++;
      result->bytes_deleted += entry->size;
    }

  if (options->cache_dir != NULL && result->packs_deleted > 0)
    {
      g_autoptr (CofferFilesCache) cache = NULL;
      g_autoptr (GError) cache_error = NULL;

      cache = coffer_files_cache_open (options->cache_dir, options->machine_id, &cache_error);
      /* The cache is rebuildable, and a backup checks every cached chunk
       * against the index anyway: a failure here costs a re-read only. */
      if (cache == NULL ||
          !coffer_files_cache_forget_missing (cache, index_has_chunk, prune->index,
                                              &result->cache_rows_dropped, &cache_error))
        g_warning ("The files cache keeps rows of deleted data: %s", cache_error->message);
    }
  return TRUE;
}

/**
 * coffer_prune_run:
 * @options: what to prune
 * @out_result: (out caller-allocates): what was removed
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Deletes the recovery points the retention rules do not keep (every point
 * when @options has no schedule) and the packs nothing references any
 * more, under an exclusive lock on the machine.
 *
 * Returns: %TRUE when done; %COFFER_ERROR_BUSY when another job holds a lock
 */
gboolean
coffer_prune_run (const CofferPruneOptions *options,
                  CofferPruneResult *out_result,
                  GCancellable *cancellable,
                  GError **error)
{
  g_autoptr (CofferLock) lock = NULL;
  g_autoptr (CofferIndex) index = coffer_index_new ();
  g_autoptr (GHashTable) needed =
      g_hash_table_new_full (coffer_blob_id_hash, coffer_blob_id_equal, g_free, NULL);
  Prune prune = { options, index, needed, cancellable };

  g_return_val_if_fail (options != NULL && out_result != NULL, FALSE);
  g_return_val_if_fail (options->schedule == NULL || options->tz != NULL, FALSE);

  memset (out_result, 0, sizeof *out_result);
  lock = coffer_lock_take (options->vault, options->machine_id, options->instance_id, TRUE,
                           cancellable, error);
  if (lock == NULL)
    return FALSE;
  return prune_locked (&prune, out_result, error);
}
