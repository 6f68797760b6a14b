/* coffer-point-reader.c: browsing a recovery point, folder by folder.
 *
 * A reader loads a machine's index once; then every folder of every point is
 * one tree blob away. Trees are read when first asked for and kept in a
 * bounded cache (least recently used first out), so opening a folder of
 * 100,000 entries is one blob read, and opening it again is none. A cached
 * tree is shared, never copied: callers get a reference to its array and
 * must not change it.
 */
#include "config.h"

#include "coffer-point-reader.h"

#include "coffer-backup.h"
#include "coffer-error.h"
#include "coffer-pack.h"

#include <fnmatch.h>
#include <string.h>

#define CACHED_TREES 256

typedef struct
{
  guint8 id[COFFER_BLOB_ID_SIZE];
  GPtrArray *nodes;
  GList *link; /* in lru */
} CachedTree;

struct _CofferPointReader
{
  CofferVault *vault;
  char *machine_id;
  CofferMasterKeys *keys;
  CofferIndex *index;

  GMutex lock;       /* guards what follows */
  GHashTable *trees; /* id → CachedTree */
  GQueue lru;        /* CachedTree, most recently used first */
};

static void
cached_tree_free (CachedTree *tree)
{
  g_ptr_array_unref (tree->nodes);
  g_free (tree);
}

/**
 * coffer_point_reader_fetch_blob:
 * @vault: the vault
 * @machine_id: whose blob
 * @keys: that machine's keys
 * @index: where the machine's blobs are
 * @id: the blob's id
 * @type: what it holds
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Reads one blob from its pack, decrypts it and checks it against its id.
 * A blob no index names is %COFFER_ERROR_NOT_FOUND.
 *
 * Returns: (transfer full): its plaintext, or %NULL with @error set
 */
GBytes *
coffer_point_reader_fetch_blob (CofferVault *vault,
                                const char *machine_id,
                                const CofferMasterKeys *keys,
                                CofferIndex *index,
                                const guint8 id[32],
                                CofferBlobType type,
                                GCancellable *cancellable,
                                GError **error)
{
  CofferBlobLocation where;
  g_autofree char *pack = NULL;
  g_autofree char *object = NULL;
  g_autoptr (GBytes) sealed = NULL;

  if (!coffer_index_lookup (index, id, &where))
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND, "no index names it");
      return NULL;
    }
  pack = coffer_blob_id_to_hex (where.pack);
  object = coffer_pack_object_name (machine_id, pack);
  sealed = coffer_store_get_sync (coffer_vault_get_store (vault), object, where.offset,
                                  where.length, NULL, cancellable, error);
  if (sealed == NULL)
    return NULL;
  return coffer_blob_open (keys, id, type, g_bytes_get_data (sealed, NULL),
                           g_bytes_get_size (sealed), where.raw_length, error);
}

/**
 * coffer_point_reader_new:
 * @vault: the vault
 * @machine_id: whose recovery points
 * @keys: that machine's keys
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Reads the machine's index. Blocks.
 *
 * Returns: (transfer full): a reader, or %NULL with @error set
 */
CofferPointReader *
coffer_point_reader_new (CofferVault *vault,
                         const char *machine_id,
                         const CofferMasterKeys *keys,
                         GCancellable *cancellable,
                         GError **error)
{
  g_autoptr (CofferIndex) index = coffer_index_new ();
  CofferPointReader *self;

  g_return_val_if_fail (COFFER_IS_VAULT (vault), NULL);
  g_return_val_if_fail (machine_id != NULL, NULL);
  g_return_val_if_fail (keys != NULL, NULL);

  if (!coffer_backup_load_index (vault, machine_id, keys, index, cancellable, error))
    {
      g_prefix_error (error, "Reading the vault's index: ");
      return NULL;
    }
  self = g_new0 (CofferPointReader, 1);
  self->vault = g_object_ref (vault);
  self->machine_id = g_strdup (machine_id);
  self->keys = g_memdup2 (keys, sizeof *keys);
  self->index = g_steal_pointer (&index);
  g_mutex_init (&self->lock);
  self->trees = g_hash_table_new_full (coffer_blob_id_hash, coffer_blob_id_equal, NULL,
                                       (GDestroyNotify) cached_tree_free);
  g_queue_init (&self->lru);
  return self;
}

/**
 * coffer_point_reader_free:
 * @self: (nullable): a reader
 */
void
coffer_point_reader_free (CofferPointReader *self)
{
  if (self == NULL)
    return;
  g_queue_clear (&self->lru);
  g_hash_table_unref (self->trees);
  g_mutex_clear (&self->lock);
  g_object_unref (self->index);
  coffer_master_keys_free (self->keys);
  g_free (self->machine_id);
  g_object_unref (self->vault);
  g_free (self);
}

/**
 * coffer_point_reader_read_blob:
 * @self: a reader
 * @id: the blob's id
 * @type: what it holds
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the blob's plaintext, or %NULL with @error set
 */
GBytes *
coffer_point_reader_read_blob (CofferPointReader *self,
                               const guint8 id[32],
                               CofferBlobType type,
                               GCancellable *cancellable,
                               GError **error)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (id != NULL, NULL);

  return coffer_point_reader_fetch_blob (self->vault, self->machine_id, self->keys, self->index, id,
                                         type, cancellable, error);
}

/**
 * coffer_point_reader_read_tree:
 * @self: a reader
 * @id: a tree blob's id
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * The entries of one folder, sorted by name, from the cache or the vault.
 *
 * Returns: (transfer full) (element-type CofferNode): a reference to the
 *   shared array (do not change it), or %NULL with @error set
 */
GPtrArray *
coffer_point_reader_read_tree (CofferPointReader *self,
                               const guint8 id[32],
                               GCancellable *cancellable,
                               GError **error)
{
  g_autoptr (GBytes) plain = NULL;
  g_autoptr (GPtrArray) nodes = NULL;
  CachedTree *cached;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (id != NULL, NULL);

  g_mutex_lock (&self->lock);
  cached = g_hash_table_lookup (self->trees, id);
  if (cached != NULL)
    {
      g_queue_unlink (&self->lru, cached->link);
      g_queue_push_head_link (&self->lru, cached->link);
      nodes = g_ptr_array_ref (cached->nodes);
    }
  g_mutex_unlock (&self->lock);
  if (nodes != NULL)
    return g_steal_pointer (&nodes);

  /* Two threads may read the same tree at once; the second one's copy is
   * simply dropped. */
  plain = coffer_point_reader_read_blob (self, id, COFFER_BLOB_TREE, cancellable, error);
  if (plain != NULL)
    nodes = coffer_tree_parse (plain, error);
  if (nodes == NULL)
    {
      g_autofree char *hex = coffer_blob_id_to_hex (id);
      g_prefix_error (error, "Reading tree %s: ", hex);
      return NULL;
    }

  g_mutex_lock (&self->lock);
  if (!g_hash_table_contains (self->trees, id))
    {
      cached = g_new0 (CachedTree, 1);
      memcpy (cached->id, id, sizeof cached->id);
      cached->nodes = g_ptr_array_ref (nodes);
      g_queue_push_head (&self->lru, cached);
      cached->link = self->lru.head;
      g_hash_table_insert (self->trees, cached->id, cached);
      while (self->lru.length > CACHED_TREES)
        {
          CachedTree *oldest = g_queue_pop_tail (&self->lru);
          g_hash_table_remove (self->trees, oldest->id);
        }
    }
  g_mutex_unlock (&self->lock);
  return g_steal_pointer (&nodes);
}

static CofferNode *
find_entry (GPtrArray *nodes, const char *name)
{
  guint low = 0, high = nodes->len;

  /* Trees are sorted by strcmp() of the names. */
  while (low < high)
    {
      guint middle = low + (high - low) / 2;
      CofferNode *node = g_ptr_array_index (nodes, middle);
      int order = strcmp (node->name, name);

      if (order == 0)
        return node;
      if (order < 0)
        low = middle + 1;
      else
        high = middle;
    }
  return NULL;
}

static gboolean
path_is_valid (const char *path)
{
  g_auto (GStrv) parts = NULL;

  if (path == NULL || path[0] != '/')
    return FALSE;
  parts = g_strsplit (path + 1, "/", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    if (g_str_equal (parts[i], ".") || g_str_equal (parts[i], ".."))
      return FALSE;
  return TRUE;
}

static void
not_found (GError **error, const char *path, const char *what)
{
  g_set_error (error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND, "%s: no such %s in this recovery point",
               path, what);
}

/**
 * coffer_point_reader_lookup:
 * @self: a reader
 * @root: the point's root tree id
 * @path: an absolute path inside the point, not "/"
 * @out_tree: (out) (transfer full): the folder the node belongs to, which
 *   keeps the node alive
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Finds one entry of a point. An entry that is not there is
 * %COFFER_ERROR_NOT_FOUND.
 *
 * Returns: (transfer none): the node, owned by @out_tree; or %NULL with
 *   @error set
 */
CofferNode *
coffer_point_reader_lookup (CofferPointReader *self,
                            const guint8 root[32],
                            const char *path,
                            GPtrArray **out_tree,
                            GCancellable *cancellable,
                            GError **error)
{
  g_auto (GStrv) parts = NULL;
  g_autoptr (GPtrArray) tree = NULL;
  CofferNode *node = NULL;
  guint8 id[COFFER_BLOB_ID_SIZE];

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (out_tree != NULL, NULL);

  *out_tree = NULL;
  if (!path_is_valid (path))
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "%s: not an absolute path inside the recovery point", path);
      return NULL;
    }
  memcpy (id, root, sizeof id);
  parts = g_strsplit (path + 1, "/", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      if (parts[i][0] == '\0')
        continue; /* "//" or a trailing "/" */
      if (node != NULL)
        {
          if (node->type != COFFER_NODE_DIR || !node->has_subtree)
            {
              not_found (error, path, "file or folder");
              return NULL;
            }
          memcpy (id, node->subtree, sizeof id);
        }
      g_clear_pointer (&tree, g_ptr_array_unref);
      tree = coffer_point_reader_read_tree (self, id, cancellable, error);
      if (tree == NULL)
        return NULL;
      node = find_entry (tree, parts[i]);
      if (node == NULL)
        {
          not_found (error, path, "file or folder");
          return NULL;
        }
    }
  if (node == NULL)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "%s: the root has no entry of its own", path);
      return NULL;
    }
  *out_tree = g_steal_pointer (&tree);
  return node;
}

/**
 * coffer_point_reader_list:
 * @self: a reader
 * @root: the point's root tree id
 * @path: an absolute path of a folder inside the point ("/" for the root)
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * The entries of one folder of a point, sorted by name. A folder that is
 * not there is %COFFER_ERROR_NOT_FOUND.
 *
 * Returns: (transfer full) (element-type CofferNode): the entries, owned by
 *   the array (shared with the cache: do not change them); or %NULL with
 *   @error set
 */
GPtrArray *
coffer_point_reader_list (CofferPointReader *self,
                          const guint8 root[32],
                          const char *path,
                          GCancellable *cancellable,
                          GError **error)
{
  g_autoptr (GPtrArray) parent = NULL;
  g_autoptr (GError) local_error = NULL;
  CofferNode *node;
  gboolean is_root = TRUE;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (root != NULL, NULL);

  if (!path_is_valid (path))
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "%s: not an absolute path inside the recovery point", path);
      return NULL;
    }
  for (const char *p = path; *p != '\0'; p++)
    if (*p != '/')
      is_root = FALSE;
  if (is_root)
    return coffer_point_reader_read_tree (self, root, cancellable, error);

  node = coffer_point_reader_lookup (self, root, path, &parent, cancellable, &local_error);
  if (node == NULL && g_error_matches (local_error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND))
    {
      not_found (error, path, "folder");
      return NULL;
    }
  if (node == NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  if (node->type != COFFER_NODE_DIR)
    {
      not_found (error, path, "folder");
      return NULL;
    }
  if (!node->has_subtree) /* a folder on another filesystem, not followed */
    return g_ptr_array_new_with_free_func ((GDestroyNotify) coffer_node_free);
  return coffer_point_reader_read_tree (self, node->subtree, cancellable, error);
}

typedef struct
{
  CofferPointReader *self;
  const char *pattern;
  guint limit;
  GPtrArray *found;
  GCancellable *cancellable;
} Find;

static gboolean
find_in (Find *find, const guint8 *id, const char *path, GError **error)
{
  g_autoptr (GPtrArray) nodes = NULL;

  if (g_cancellable_set_error_if_cancelled (find->cancellable, error))
    return FALSE;
  nodes = coffer_point_reader_read_tree (find->self, id, find->cancellable, error);
  if (nodes == NULL)
    return FALSE;
  for (guint i = 0; i < nodes->len && find->found->len < find->limit; i++)
    {
      CofferNode *node = g_ptr_array_index (nodes, i);
      g_autofree char *child =
          g_strconcat (path, g_str_has_suffix (path, "/") ? "" : "/", node->name, NULL);

      if (fnmatch (find->pattern, node->name, FNM_CASEFOLD) == 0)
        g_ptr_array_add (find->found, g_strdup (child));
      if (node->type == COFFER_NODE_DIR && node->has_subtree && find->found->len < find->limit &&
          !find_in (find, node->subtree, child, error))
        return FALSE;
    }
  return TRUE;
}

/**
 * coffer_point_reader_find:
 * @self: a reader
 * @root: the point's root tree id
 * @pattern: a glob (fnmatch(3)), matched case-insensitively against the
 *   last component of every path
 * @limit: the most paths to return
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Searches a whole point, folder by folder in name order.
 *
 * Returns: (transfer full) (element-type utf8): absolute paths, at most
 *   @limit; or %NULL with @error set
 */
GPtrArray *
coffer_point_reader_find (CofferPointReader *self,
                          const guint8 root[32],
                          const char *pattern,
                          guint limit,
                          GCancellable *cancellable,
                          GError **error)
{
  g_autoptr (GPtrArray) found = g_ptr_array_new_with_free_func (g_free);
  Find find = { self, pattern, limit, found, cancellable };

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (root != NULL, NULL);
  g_return_val_if_fail (pattern != NULL, NULL);

  if (limit > 0 && !find_in (&find, root, "/", error))
    return NULL;
  return g_steal_pointer (&found);
}
