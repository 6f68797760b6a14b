/* coffer-index-loader.c: a machine's index, read from the vault so that one
 * bad object costs only what it holds.
 *
 * The index is a cache of what the packs' own headers say (FORMAT.md). So:
 *
 *   1. every index file is read on its own; one that is damaged, foreign,
 *      cut short or not a file at all is reported and skipped;
 *   2. the packs in the vault are listed; a pack an index file names but the
 *      vault does not hold, or holds smaller than its blobs reach (cut short,
 *      or not a file at all), is reported and forgotten: a backup then
 *      stores its chunks again instead of pointing at nothing;
 *   3. every pack no index file names is read from its own header and joins
 *      the index as pending, so a lost index file costs a scan of those
 *      headers, never data — and the next backup writes them into an index
 *      file again. A pack whose header cannot be read is reported.
 *
 * Only what stops reading altogether (the vault gone, a cancellation, a
 * newer format) is an error.
 */
#include "config.h"

#include "coffer-index-loader.h"

#include "coffer-backup.h"
#include "coffer-error.h"
#include "coffer-pack.h"
#include "coffer-store.h"

#include <string.h>

void
coffer_index_report_free (CofferIndexReport *report)
{
  if (report == NULL)
    return;
  g_clear_pointer (&report->problems, g_ptr_array_unref);
  g_clear_pointer (&report->bad_index_files, g_ptr_array_unref);
  g_clear_pointer (&report->bad_packs, g_ptr_array_unref);
  g_clear_pointer (&report->missing_packs, g_ptr_array_unref);
  g_clear_pointer (&report->short_packs, g_ptr_array_unref);
  g_clear_pointer (&report->scanned_packs, g_ptr_array_unref);
  g_clear_pointer (&report->packs, g_ptr_array_unref);
  g_free (report);
}

/**
 * coffer_error_stops_reading:
 * @error: an error from reading one object of a vault
 *
 * Whether @error is about more than that one object: the vault cannot be
 * reached, the work was cancelled, or the object is of a newer format (to
 * be read by a newer Coffer, never taken for damage).
 *
 * Returns: %TRUE when the caller must stop instead of going on
 */
gboolean
coffer_error_stops_reading (const GError *error)
{
  return g_error_matches (error, COFFER_ERROR, COFFER_ERROR_VAULT_UNREACHABLE) ||
         g_error_matches (error, COFFER_ERROR, COFFER_ERROR_NEWER_FORMAT) ||
         g_error_matches (error, COFFER_ERROR, COFFER_ERROR_CANCELLED) ||
         g_error_matches (error, COFFER_ERROR, COFFER_ERROR_AUTH_REJECTED) ||
         g_error_matches (error, COFFER_ERROR, COFFER_ERROR_PROXY_AUTH) ||
         g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void add_problem (CofferIndexReport *report, const char *object, const char *format, ...)
    G_GNUC_PRINTF (3, 4);

static void
add_problem (CofferIndexReport *report, const char *object, const char *format, ...)
{
  CofferFailedItem *item = g_new0 (CofferFailedItem, 1);
  va_list args;

  va_start (args, format);
  item->path = g_strdup (object);
  item->reason = g_strdup_vprintf (format, args);
  va_end (args);
  g_ptr_array_add (report->problems, item);
}

/**
 * coffer_index_read_pack_header:
 * @vault: the vault
 * @keys: the pack's machine's keys
 * @object: the pack's object name (machines/ID/data/xx/NAME)
 * @size: its size, from a listing
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Reads a pack's header from its last bytes: two ranged reads.
 *
 * Returns: (transfer full) (element-type CofferPackEntry): the blobs it
 *   holds, or %NULL with @error set (%COFFER_ERROR_CORRUPT for a pack whose
 *   header cannot be read)
 */
GArray *
coffer_index_read_pack_header (CofferVault *vault,
                               const CofferMasterKeys *keys,
                               const char *object,
                               guint64 size,
                               GCancellable *cancellable,
                               GError **error)
{
  CofferStore *store = coffer_vault_get_store (vault);
  const char *name = strrchr (object, '/') != NULL ? strrchr (object, '/') + 1 : object;
  g_autoptr (GBytes) last4 = NULL;
  g_autoptr (GBytes) tail = NULL;
  g_autoptr (GError) local_error = NULL;
  guint32 length;

  if (size < 4)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT,
                   "pack %s is damaged: it is too short to hold a header", name);
      return NULL;
    }
  last4 = coffer_store_get_sync (store, object, size - 4, 4, NULL, cancellable, error);
  if (last4 == NULL)
    return NULL;
  if (g_bytes_get_size (last4) != 4)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT,
                   "pack %s is damaged: it was cut short", name);
      return NULL;
    }
  length = coffer_pack_header_length (last4, &local_error);
  if (local_error != NULL || (guint64) length + 4 > size)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT,
                   "pack %s is damaged: its header's length is impossible", name);
      return NULL;
    }
  tail = coffer_store_get_sync (store, object, size - 4 - length, length + 4, NULL, cancellable,
                                error);
  if (tail == NULL)
    return NULL;
  return coffer_pack_read_header (keys, name, tail, size, error);
}

/* A pack's object name is machines/ID/data/xx/NAME, xx its first two digits. */
static const char *
pack_name_of (const char *object, const char *data_prefix)
{
  const char *rest = object + strlen (data_prefix);

  if (strlen (rest) != 3 + COFFER_PACK_NAME_LENGTH || rest[2] != '/' ||
      strncmp (rest, rest + 3, 2) != 0)
    return NULL;
  for (const char *c = rest + 3; *c != '\0'; c++)
    if (!g_ascii_isxdigit (*c) || g_ascii_isupper (*c))
      return NULL;
  return rest + 3;
}

/**
 * coffer_index_load_from_vault:
 * @vault: the vault
 * @machine_id: whose index
 * @keys: that machine's keys
 * @index: the index to fill
 * @out_report: (out) (optional) (transfer full): what was found on the way
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Reads a machine's index as the header comment says: damaged index files
 * and packs are reported in @out_report, not errors.
 *
 * Returns: %FALSE with @error set only when reading cannot go on
 */
gboolean
coffer_index_load_from_vault (CofferVault *vault,
                              const char *machine_id,
                              const CofferMasterKeys *keys,
                              CofferIndex *index,
                              CofferIndexReport **out_report,
                              GCancellable *cancellable,
                              GError **error)
{
  g_autofree char *index_prefix = g_strdup_printf ("machines/%s/index/", machine_id);
  g_autofree char *data_prefix = g_strdup_printf ("machines/%s/data/", machine_id);
  g_autoptr (CofferIndexReport) report = g_new0 (CofferIndexReport, 1);
  g_autoptr (GPtrArray) files = NULL;
  g_autoptr (GHashTable) listed = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GHashTable) missing = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GHashTable) ends = NULL;
  CofferStore *store = coffer_vault_get_store (vault);
  GHashTableIter iter;
  gpointer key, value;

  g_return_val_if_fail (COFFER_IS_VAULT (vault), FALSE);
  g_return_val_if_fail (COFFER_IS_INDEX (index), FALSE);

  report->problems = g_ptr_array_new_with_free_func ((GDestroyNotify) coffer_failed_item_free);
  report->bad_index_files = g_ptr_array_new_with_free_func (g_free);
  report->bad_packs = g_ptr_array_new_with_free_func (g_free);
  report->missing_packs = g_ptr_array_new_with_free_func (g_free);
  report->short_packs = g_ptr_array_new_with_free_func (g_free);
  report->scanned_packs = g_ptr_array_new_with_free_func (g_free);

  /* 1. Index files, each on its own. */
  files = coffer_store_list_sync (store, index_prefix, cancellable, error);
  if (files == NULL)
    return FALSE;
  for (guint i = 0; i < files->len; i++)
    {
      CofferStoreEntry *entry = g_ptr_array_index (files, i);
      g_autoptr (GError) local_error = NULL;
      g_autoptr (GBytes) file = NULL;

      file = coffer_store_get_sync (store, entry->name, 0, -1, NULL, cancellable, &local_error);
      if (file != NULL)
        coffer_index_load_file (index, keys, entry->name + strlen (index_prefix), file,
                                &local_error);
      if (local_error == NULL)
        {
          report->index_files++;
          continue;
        }
      if (coffer_error_stops_reading (local_error))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      if (g_error_matches (local_error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND))
        continue; /* removed since the listing: a prune replaced it */
      g_ptr_array_add (report->bad_index_files, g_strdup (entry->name));
      add_problem (report, entry->name, "Index file is damaged or foreign: %s",
                   local_error->message);
    }

  /* 2. The packs in the vault against what the index files say. */
  report->packs = coffer_store_list_sync (store, data_prefix, cancellable, error);
  if (report->packs == NULL)
    return FALSE;
  for (guint i = 0; i < report->packs->len; i++)
    {
      CofferStoreEntry *entry = g_ptr_array_index (report->packs, i);
      const char *name = pack_name_of (entry->name, data_prefix);

      if (name != NULL)
        g_hash_table_insert (listed, (gpointer) name, entry);
      else
        {
          g_ptr_array_add (report->bad_packs, g_strdup (entry->name));
          add_problem (report, entry->name, "Foreign object: its name is not a pack's name.");
        }
    }
  ends = coffer_index_get_pack_ends (index);
  g_hash_table_iter_init (&iter, ends);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      CofferStoreEntry *entry = g_hash_table_lookup (listed, key);

      if (entry == NULL)
        {
          g_autofree char *object = coffer_pack_object_name (machine_id, key);

          g_hash_table_add (missing, key);
          g_ptr_array_add (report->missing_packs, g_strdup (key));
          add_problem (report, object, "Pack is missing, but the index names it.");
        }
      else if (entry->size < *(guint64 *) value)
        {
          /* Forgotten too: a backup must store its chunks again rather
           * than point into what was cut off. */
          g_hash_table_add (missing, key);
          g_ptr_array_add (report->short_packs, g_strdup (key));
          add_problem (report, entry->name,
                       "Pack is damaged: it has %" G_GUINT64_FORMAT
                       " bytes, but the index has blobs up to byte %" G_GUINT64_FORMAT ".",
                       entry->size, *(guint64 *) value);
        }
    }
  if (g_hash_table_size (missing) > 0)
    coffer_index_remove_packs (index, missing);

  /* 3. Packs no index file names, from their own headers. */
  g_hash_table_iter_init (&iter, listed);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      CofferStoreEntry *entry = value;
      g_autoptr (GArray) entries = NULL;
      g_autoptr (GError) local_error = NULL;
      guint8 pack_id[COFFER_BLOB_ID_SIZE];

      if (g_hash_table_contains (ends, key))
        continue;
      entries = coffer_index_read_pack_header (vault, keys, entry->name, entry->size, cancellable,
                                               &local_error);
      if (entries == NULL)
        {
          if (coffer_error_stops_reading (local_error))
            {
              g_propagate_error (error, g_steal_pointer (&local_error));
              return FALSE;
            }
          if (g_error_matches (local_error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND))
            continue; /* removed since the listing */
          g_ptr_array_add (report->bad_packs, g_strdup (entry->name));
          add_problem (report, entry->name, "Pack is in no index and its header cannot be read: %s",
                       local_error->message);
          continue;
        }
      coffer_blob_id_from_hex (key, pack_id);
      coffer_index_add_pack (index, pack_id, entries);
      g_ptr_array_add (report->scanned_packs, g_strdup (key));
    }

  if (out_report != NULL)
    *out_report = g_steal_pointer (&report);
  return TRUE;
}
