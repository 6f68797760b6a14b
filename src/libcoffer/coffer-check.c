/* coffer-check.c: verifying what a machine has stored in the vault, and
 * repairing it.
 *
 * A vault is a bag of independent, self-verifying objects, so the check
 * reads each on its own and goes on after every problem:
 *
 *   documents   vault.json, credentials/current, the machine's machine.json,
 *               config and key objects (each key object must open with the
 *               machine's passphrase when it is given);
 *   index       every index file, the packs they name against the packs in
 *               the vault, and the headers of packs no index file names
 *               (coffer-index-loader.c);
 *   points      every recovery point, and the points the catalog recorded:
 *               one the catalog knows and the vault lacks is damage;
 *   trees       every folder of every point: each tree and chunk must be in
 *               the index; a problem names the files that need the object;
 *   data        with read_data, every pack in full: its bytes must give its
 *               name, and every blob must decrypt and match its id.
 *
 * A repair then never deletes what it cannot use: it moves it into the
 * vault's damaged/ area (the same store calls, so it works on Azure too),
 * in this order, each step leaving a vault the next backup can use:
 *
 *   1. documents: vault.json, machine.json and config are written again
 *      from what this machine knows, a key object from the keys it holds;
 *      a damaged credentials record is moved away (an administrator issues
 *      a new credentials file);
 *   2. damaged or foreign points are moved away;
 *   3. damaged packs: the blobs that still open are salvaged into a new
 *      pack, then the pack is moved away;
 *   4. the index is rebuilt from the headers of every pack, written, and
 *      only then are the old index files removed (damaged ones moved away);
 *   5. points that need data no pack holds any more are written again
 *      without the files whose data is gone (named in the report), their
 *      trees into a new pack indexed before the point is written;
 *   6. points the catalog knew but the vault lost are reported, for the
 *      caller to forget.
 *
 * Then the check runs again, and what it still finds is what the repair
 * could not mend. A second repair finds nothing.
 */
#include "config.h"

#include "coffer-check.h"

#include "coffer-blob.h"
#include "coffer-credentials.h"
#include "coffer-crypto.h"
#include "coffer-error.h"
#include "coffer-index-loader.h"
#include "coffer-index.h"
#include "coffer-pack.h"
#include "coffer-point-reader.h"
#include "coffer-registration.h"
#include "coffer-snapshot.h"
#include "coffer-tree.h"

#include <string.h>

#define MAX_NAMED_FILES 5
#define MAX_LOST_NAMED 200

typedef struct
{
  const CofferCheckOptions *options;
  CofferStore *store;
  CofferIndex *index;
  CofferIndexReport *index_report;
  GHashTable *users;            /* blob id (32 bytes) → GPtrArray of paths needing it */
  GHashTable *trees_seen;       /* tree ids walked */
  GPtrArray *points;            /* CofferSnapshot, intact */
  GHashTable *bad_points;       /* object names of damaged points */
  GHashTable *bad_packs;        /* object names of packs with damage found by reading them */
  GHashTable *bad_keys;         /* object names of key objects that do not open */
  GPtrArray *damaged_known;     /* ids of damaged points the catalog recorded */
  GHashTable *scanned;          /* packs no index file names (64 hex digits) */
  GHashTable *unindexed_needed; /* of those, the ones a point needs */
  gboolean good_key;            /* one key object opens with the passphrase */
  gboolean bad_machine;         /* machine.json damaged or missing */
  gboolean bad_config;          /* config damaged or missing */
  gboolean bad_credentials;
  CofferCheckResult *result;
  GCancellable *cancellable;
  CofferBackupProgress progress;
} Check;

void
coffer_check_result_free (CofferCheckResult *result)
{
  if (result == NULL)
    return;
  g_clear_pointer (&result->problems, g_ptr_array_unref);
  g_clear_pointer (&result->notes, g_ptr_array_unref);
  g_clear_pointer (&result->repairs, g_ptr_array_unref);
  g_clear_pointer (&result->points, g_ptr_array_unref);
  g_clear_pointer (&result->points_lost, g_ptr_array_unref);
  g_clear_pointer (&result->points_replaced, g_ptr_array_unref);
  g_free (result);
}

static CofferCheckResult *
result_new (void)
{
  CofferCheckResult *result = g_new0 (CofferCheckResult, 1);

  result->problems = g_ptr_array_new_with_free_func ((GDestroyNotify) coffer_failed_item_free);
  result->notes = g_ptr_array_new_with_free_func ((GDestroyNotify) coffer_failed_item_free);
  result->repairs = g_ptr_array_new_with_free_func ((GDestroyNotify) coffer_failed_item_free);
  result->points = g_ptr_array_new_with_free_func ((GDestroyNotify) coffer_snapshot_free);
  result->points_lost = g_ptr_array_new_with_free_func (g_free);
  result->points_replaced = g_ptr_array_new_with_free_func (g_free);
  return result;
}

static void
add_item (GPtrArray *items, const char *path, const char *reason)
{
  CofferFailedItem *item = g_new0 (CofferFailedItem, 1);

  item->path = g_strdup (path);
  item->reason = g_strdup (reason);
  g_ptr_array_add (items, item);
}

static void add_itemf (GPtrArray *items, const char *path, const char *format, ...)
    G_GNUC_PRINTF (3, 4);

static void
add_itemf (GPtrArray *items, const char *path, const char *format, ...)
{
  g_autofree char *reason = NULL;
  va_list args;

  va_start (args, format);
  reason = g_strdup_vprintf (format, args);
  va_end (args);
  add_item (items, path, reason);
}

static void
report (Check *check, const char *phase)
{
  check->progress.phase = phase;
  if (check->options->progress != NULL)
    check->options->progress (&check->progress, check->options->progress_data);
}

static char *
machine_object (Check *check, const char *leaf)
{
  return g_strdup_printf ("machines/%s/%s", check->options->machine_id, leaf);
}

static char *
format_point_time (gint64 time)
{
  g_autoptr (GDateTime) local = g_date_time_new_from_unix_local (time);

  return local != NULL ? g_date_time_format (local, "%Y-%m-%d %H:%M:%S") : g_strdup ("?");
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

static char *
child_path (const char *parent, const char *name)
{
  g_autofree char *shown = g_utf8_make_valid (name, -1);

  return g_str_equal (parent, "/") ? g_strconcat ("/", shown, NULL)
                                   : g_strconcat (parent, "/", shown, NULL);
}

/* ---- Documents ------------------------------------------------------------ */

/* Reads one small object's outcome into a problem; FALSE only when reading
 * cannot go on. */
static gboolean
document_problem (
    Check *check, const char *object, GError *local_error, gboolean *bad, GError **error)
{
  if (coffer_error_stops_reading (local_error))
    {
      g_propagate_error (error, g_error_copy (local_error));
      return FALSE;
    }
  *bad = TRUE;
  if (g_error_matches (local_error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND))
    add_item (check->result->problems, object, "It is missing.");
  else
    add_itemf (check->result->problems, object, "It is damaged: %s", local_error->message);
  return TRUE;
}

static gboolean
check_documents (Check *check, GError **error)
{
  const CofferCheckOptions *options = check->options;
  g_autofree char *machine_json = machine_object (check, "machine.json");
  g_autofree char *config = machine_object (check, "config");
  g_autofree char *keys_prefix = machine_object (check, "keys/");
  g_autoptr (GPtrArray) keys = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autoptr (CofferMachineInfo) machine = NULL;
  gboolean found = FALSE;

  report (check, "Checking the vault's documents…");
  if (options->vault_damage != NULL)
    add_itemf (check->result->problems, "vault.json", "It is damaged: %s", options->vault_damage);

  /* The credentials record and the machine's own documents are checked
   * when the caller says what they must hold (the agent does; a bare data
   * check does not). */
  if (options->machine == NULL)
    return TRUE;

  if (!coffer_vault_read_credentials_record (options->vault, &found, check->cancellable,
                                             &local_error))
    {
      if (!document_problem (check, "credentials/current", local_error, &check->bad_credentials,
                             error))
        return FALSE;
      g_clear_error (&local_error);
    }
  else if (!found)
    add_item (check->result->notes, "credentials/current",
              "The vault has no record of a credentials file: issue one (coffer vault "
              "credentials) before registering another server.");

  machine = coffer_vault_read_machine (options->vault, options->machine_id, check->cancellable,
                                       &local_error);
  if (machine == NULL)
    {
      if (!document_problem (check, machine_json, local_error, &check->bad_machine, error))
        return FALSE;
      g_clear_error (&local_error);
    }
  else if (g_strcmp0 (machine->instance_id, options->machine->instance_id) != 0)
    add_itemf (check->result->problems, machine_json,
               "It names another installation (instance %s) than this server's (%s): a copy of "
               "this server may be backing up into its place.",
               machine->instance_id, options->machine->instance_id);

  if (!coffer_machine_config_read (options->vault, options->machine_id, options->keys,
                                   check->cancellable, &local_error))
    {
      if (!document_problem (check, config, local_error, &check->bad_config, error))
        return FALSE;
      g_clear_error (&local_error);
    }

  keys = coffer_store_list_sync (check->store, keys_prefix, check->cancellable, error);
  if (keys == NULL)
    return FALSE;
  for (guint i = 0; i < keys->len; i++)
    {
      CofferStoreEntry *entry = g_ptr_array_index (keys, i);
      g_autoptr (GBytes) wrapped = NULL;
      g_autoptr (CofferMasterKeys) opened = NULL;

      wrapped = coffer_store_get_sync (check->store, entry->name, 0, -1, NULL, check->cancellable,
                                       &local_error);
      if (wrapped != NULL && options->passphrase == NULL)
        continue; /* cannot be opened without the passphrase */
      if (wrapped != NULL)
        opened = coffer_master_keys_unwrap (wrapped, options->passphrase, &local_error);
      if (opened != NULL && memcmp (opened, options->keys, sizeof *opened) == 0)
        {
          check->good_key = TRUE;
          continue;
        }
      if (local_error != NULL && coffer_error_stops_reading (local_error))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      g_hash_table_add (check->bad_keys, g_strdup (entry->name));
      if (opened != NULL)
        add_item (check->result->problems, entry->name,
                  "It holds other keys than this server's: it is foreign.");
      else if (g_error_matches (local_error, COFFER_ERROR, COFFER_ERROR_WRONG_PASSPHRASE))
        add_item (check->result->problems, entry->name,
                  "It does not open with this server's passphrase: it is damaged or foreign.");
      else
        add_itemf (check->result->problems, entry->name, "It is damaged: %s", local_error->message);
      g_clear_error (&local_error);
    }
  if (options->passphrase != NULL && !check->good_key && options->key_name != NULL &&
      g_str_has_prefix (options->key_name, keys_prefix) &&
      !g_hash_table_contains (check->bad_keys, options->key_name))
    add_item (check->result->problems, options->key_name,
              "It is missing: this server's keys were last opened from it.");
  else if (options->passphrase != NULL && !check->good_key)
    add_item (check->result->problems, keys_prefix,
              "No key object opens with this server's passphrase: another server or a "
              "reinstall could not recover this server's backups.");
  return TRUE;
}

/* ---- Points and trees ----------------------------------------------------- */

static GBytes *
read_blob (Check *check, const guint8 *id, CofferBlobType type, GError **error)
{
  return coffer_point_reader_fetch_blob (check->options->vault, check->options->machine_id,
                                         check->options->keys, check->index, id, type,
                                         check->cancellable, error);
}

/* A point needs blob @id: when only a pack's own header names it (no index
 * file does), the index is damaged, though nothing is lost. */
static void
note_unindexed (Check *check, const guint8 *id)
{
  CofferBlobLocation where;
  g_autofree char *pack = NULL;
  g_autofree char *object = NULL;
  gpointer name;

  if (g_hash_table_size (check->scanned) == 0 || !coffer_index_lookup (check->index, id, &where))
    return;
  pack = coffer_blob_id_to_hex (where.pack);
  if (!g_hash_table_lookup_extended (check->scanned, pack, &name, NULL) ||
      !g_hash_table_add (check->unindexed_needed, name))
    return;
  object = coffer_pack_object_name (check->options->machine_id, pack);
  add_item (check->result->problems, object,
            "No index file names this pack, which recovery points need: an index file is "
            "missing or damaged. The data is intact; a repair writes the index again.");
}

/* Walks a tree; returns FALSE with @error set only when reading cannot go
 * on. *damaged is set when something the tree needs is not there. */
static gboolean
walk_tree (Check *check, const guint8 *tree_id, const char *path, gboolean *damaged, GError **error)
{
  g_autoptr (GBytes) plain = NULL;
  g_autoptr (GPtrArray) nodes = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autofree char *hex = coffer_blob_id_to_hex (tree_id);

  if (g_cancellable_set_error_if_cancelled (check->cancellable, error))
    return FALSE;
  if (!g_hash_table_add (check->trees_seen, g_memdup2 (tree_id, COFFER_BLOB_ID_SIZE)))
    return TRUE; /* an identical folder, checked already (and reported once) */

  add_user (check, tree_id, path);
  note_unindexed (check, tree_id);
  plain = read_blob (check, tree_id, COFFER_BLOB_TREE, &local_error);
  if (plain != NULL)
    nodes = coffer_tree_parse (plain, &local_error);
  if (nodes == NULL)
    {
      if (coffer_error_stops_reading (local_error))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      *damaged = TRUE;
      add_itemf (check->result->problems, path, "Tree %s of this folder cannot be read: %s", hex,
                 local_error->message);
      return TRUE;
    }

  for (guint i = 0; i < nodes->len; i++)
    {
      CofferNode *node = g_ptr_array_index (nodes, i);
      g_autofree char *child = child_path (path, node->name);

      if (node->type == COFFER_NODE_DIR && node->has_subtree)
        {
          if (!walk_tree (check, node->subtree, child, damaged, error))
            return FALSE;
          continue;
        }
      for (guint c = 0; node->chunks != NULL && c < node->chunks->len; c++)
        {
          const guint8 *id = &g_array_index (node->chunks, guint8, c * COFFER_BLOB_ID_SIZE);

          add_user (check, id, child);
          note_unindexed (check, id);
          if (!coffer_index_contains (check->index, id))
            {
              g_autofree char *chunk = coffer_blob_id_to_hex (id);

              *damaged = TRUE;
              add_itemf (check->result->problems, child,
                         "Chunk %s of this file is missing: no pack in the vault holds it.", chunk);
              break; /* one line a file is enough */
            }
        }
    }
  return TRUE;
}

static gboolean
check_points (Check *check, GError **error)
{
  const CofferCheckOptions *options = check->options;
  g_autoptr (GPtrArray) damaged =
      g_ptr_array_new_with_free_func ((GDestroyNotify) coffer_failed_item_free);
  g_autoptr (GHashTable) present = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree char *prefix = machine_object (check, "snapshots/");
  GPtrArray *points;

  report (check, "Checking the recovery points…");
  points = coffer_snapshot_list (options->vault, options->machine_id, options->keys, damaged,
                                 check->cancellable, error);
  if (points == NULL)
    return FALSE;
  check->points = points;
  for (guint i = 0; i < damaged->len; i++)
    {
      CofferFailedItem *item = g_ptr_array_index (damaged, i);

      g_hash_table_add (check->bad_points, g_strdup (item->path));
      g_hash_table_add (present, item->path + strlen (prefix));
      add_item (check->result->problems, item->path, item->reason);
    }
  for (guint i = 0; i < points->len; i++)
    g_hash_table_add (present, ((CofferSnapshot *) g_ptr_array_index (points, i))->id);

  /* The catalog is the second witness. */
  for (guint i = 0; options->catalog_points != NULL && i < options->catalog_points->len; i++)
    {
      CofferCatalogPoint *known = g_ptr_array_index (options->catalog_points, i);
      g_autofree char *object = NULL;
      g_autofree char *when = NULL;

      if (!g_str_equal (known->state, "stored"))
        continue;
      if (g_hash_table_contains (present, known->id))
        {
          /* Damaged: a repair moves it away, and the catalog gives it up. */
          object = g_strconcat (prefix, known->id, NULL);
          if (g_hash_table_contains (check->bad_points, object))
            g_ptr_array_add (check->damaged_known, g_strdup (known->id));
          continue;
        }
      object = g_strconcat (prefix, known->id, NULL);
      when = format_point_time (known->time);
      add_itemf (check->result->problems, object,
                 "The recovery point of %s is missing from the vault, although this server "
                 "stored it.",
                 when);
      g_ptr_array_add (check->result->points_lost, g_strdup (known->id));
    }

  report (check, "Checking every folder of every recovery point…");
  for (guint i = 0; i < points->len; i++)
    {
      CofferSnapshot *snapshot = g_ptr_array_index (points, i);
      gboolean point_damaged = FALSE;

      if (!walk_tree (check, snapshot->root, "/", &point_damaged, error))
        return FALSE;
    }
  check->result->snapshots = points->len;
  return TRUE;
}

/* ---- Packs ---------------------------------------------------------------- */

/* Reads one pack in full and checks every blob in it. */
static gboolean
read_pack (Check *check, CofferStoreEntry *entry, GError **error)
{
  const char *name = strrchr (entry->name, '/') + 1;
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (GArray) entries = NULL;
  g_autoptr (GError) local_error = NULL;
  gsize size;
  const guint8 *data;

  bytes = coffer_store_get_sync (check->store, entry->name, 0, -1, NULL, check->cancellable,
                                 &local_error);
  if (bytes == NULL)
    {
      if (coffer_error_stops_reading (local_error))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      if (!g_error_matches (local_error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND))
        {
          g_hash_table_add (check->bad_packs, g_strdup (entry->name));
          add_itemf (check->result->problems, entry->name, "Pack cannot be read: %s",
                     local_error->message);
        }
      return TRUE;
    }
  data = g_bytes_get_data (bytes, &size);

  entries = coffer_pack_read_header (check->options->keys, name, bytes, size, &local_error);
  if (entries == NULL)
    {
      g_hash_table_add (check->bad_packs, g_strdup (entry->name));
      add_itemf (check->result->problems, entry->name, "Pack is damaged: %s", local_error->message);
      return TRUE;
    }
  if (!coffer_pack_name_matches (name, bytes, entries))
    {
      g_hash_table_add (check->bad_packs, g_strdup (entry->name));
      add_item (check->result->problems, entry->name,
                "Pack is damaged: its contents do not match its name.");
    }

  for (guint i = 0; i < entries->len; i++)
    {
      const CofferPackEntry *blob = &g_array_index (entries, CofferPackEntry, i);
      g_autoptr (GBytes) plain = NULL;
      g_autoptr (GError) blob_error = NULL;

      plain = coffer_blob_open (check->options->keys, blob->id, blob->type, data + blob->offset,
                                blob->length, blob->raw_length, &blob_error);
      check->result->blobs_read++;
      if (plain == NULL)
        {
          g_autofree char *users = users_of (check, blob->id);

          g_hash_table_add (check->bad_packs, g_strdup (entry->name));
          add_itemf (check->result->problems, entry->name, "Pack is damaged: %s.%s",
                     blob_error->message, users);
        }
    }
  check->progress.bytes_scanned += size;
  report (check, "Reading every pack…");
  return TRUE;
}

static gboolean
check_packs (Check *check, gboolean read_data, GError **error)
{
  CofferIndexReport *index_report = check->index_report;
  g_autoptr (GHashTable) unreadable = g_hash_table_new (g_str_hash, g_str_equal);

  check->result->packs = index_report->packs->len;
  for (guint i = 0; i < index_report->scanned_packs->len; i++)
    {
      g_autofree char *object = NULL;

      if (g_hash_table_contains (check->unindexed_needed,
                                 g_ptr_array_index (index_report->scanned_packs, i)))
        continue;
      object = coffer_pack_object_name (check->options->machine_id,
                                        g_ptr_array_index (index_report->scanned_packs, i));
      add_item (check->result->notes, object,
                "No index file names this pack; its own header was read. The next backup "
                "indexes it, or the next prune removes it if no point needs it.");
    }
  if (!read_data)
    return TRUE;

  for (guint i = 0; i < index_report->bad_packs->len; i++)
    g_hash_table_add (unreadable, g_ptr_array_index (index_report->bad_packs, i));
  check->progress.phase = "Reading every pack…";
  for (guint i = 0; i < index_report->packs->len; i++)
    {
      CofferStoreEntry *entry = g_ptr_array_index (index_report->packs, i);

      if (g_hash_table_contains (unreadable, entry->name))
        continue; /* reported already */
      if (!read_pack (check, entry, error))
        return FALSE;
    }
  return TRUE;
}

/* ---- The check ------------------------------------------------------------ */

static void
check_clear (Check *check)
{
  g_clear_object (&check->index);
  g_clear_pointer (&check->index_report, coffer_index_report_free);
  g_clear_pointer (&check->users, g_hash_table_unref);
  g_clear_pointer (&check->trees_seen, g_hash_table_unref);
  g_clear_pointer (&check->points, g_ptr_array_unref);
  g_clear_pointer (&check->bad_points, g_hash_table_unref);
  g_clear_pointer (&check->bad_packs, g_hash_table_unref);
  g_clear_pointer (&check->bad_keys, g_hash_table_unref);
  g_clear_pointer (&check->damaged_known, g_ptr_array_unref);
  g_clear_pointer (&check->scanned, g_hash_table_unref);
  g_clear_pointer (&check->unindexed_needed, g_hash_table_unref);
}

static gboolean
check_pass (Check *check, gboolean read_data, GError **error)
{
  check->store = coffer_vault_get_store (check->options->vault);
  check->index = coffer_index_new ();
  check->users = g_hash_table_new_full (coffer_blob_id_hash, coffer_blob_id_equal, g_free,
                                        (GDestroyNotify) g_ptr_array_unref);
  check->trees_seen =
      g_hash_table_new_full (coffer_blob_id_hash, coffer_blob_id_equal, g_free, NULL);
  check->bad_points = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  check->bad_packs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  check->bad_keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  check->damaged_known = g_ptr_array_new_with_free_func (g_free);
  check->scanned = g_hash_table_new (g_str_hash, g_str_equal);
  check->unindexed_needed = g_hash_table_new (g_str_hash, g_str_equal);

  if (!check_documents (check, error))
    return FALSE;

  report (check, "Checking the index…");
  if (!coffer_index_load_from_vault (check->options->vault, check->options->machine_id,
                                     check->options->keys, check->index, &check->index_report,
                                     check->cancellable, error))
    return FALSE;
  for (guint i = 0; i < check->index_report->problems->len; i++)
    {
      CofferFailedItem *item = g_ptr_array_index (check->index_report->problems, i);
      add_item (check->result->problems, item->path, item->reason);
    }
  for (guint i = 0; i < check->index_report->scanned_packs->len; i++)
    g_hash_table_add (check->scanned, g_ptr_array_index (check->index_report->scanned_packs, i));

  return check_points (check, error) && check_packs (check, read_data, error);
}

/* ---- Repair --------------------------------------------------------------- */

/* Moves @object into damaged/, under a name of its own. */
static gboolean
move_away (Check *check, const char *object, const char *why, GError **error)
{
  for (guint attempt = 0; attempt < 100; attempt++)
    {
      g_autoptr (GError) local_error = NULL;
      g_autofree char *target =
          attempt == 0 ? g_strconcat (COFFER_DAMAGED_PREFIX, object, NULL)
                       : g_strdup_printf ("%s%s.%u", COFFER_DAMAGED_PREFIX, object, attempt);

      if (coffer_store_move_sync (check->store, object, target, check->cancellable, &local_error))
        {
          add_itemf (check->result->repairs, object, "%s Moved to %s.", why, target);
          return TRUE;
        }
      if (g_error_matches (local_error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND))
        return TRUE;
      if (!g_error_matches (local_error, COFFER_ERROR, COFFER_ERROR_EXISTS))
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                      "Moving %s out of the way: ", object);
          return FALSE;
        }
    }
  g_set_error (error, COFFER_ERROR, COFFER_ERROR_FAILED,
               "Cannot move %s out of the way: damaged/ holds too many objects of that name.",
               object);
  return FALSE;
}

/* One document's repair failed: unless reading cannot go on, it is noted
 * (the check after the repair lists what is left) and the repair goes on,
 * so one object that cannot be written again does not stop the others. */
static gboolean
step_failed (Check *check, const char *object, GError **step_error, GError **error)
{
  if (coffer_error_stops_reading (*step_error))
    {
      g_propagate_error (error, g_steal_pointer (step_error));
      return FALSE;
    }
  add_itemf (check->result->repairs, object, "Could not be mended: %s", (*step_error)->message);
  g_clear_error (step_error);
  return TRUE;
}

static gboolean
repair_documents (Check *check, GError **error)
{
  const CofferCheckOptions *options = check->options;
  g_autofree char *machine_json = machine_object (check, "machine.json");
  g_autofree char *config = machine_object (check, "config");
  g_autoptr (GError) step = NULL;
  GHashTableIter iter;
  gpointer key;

  report (check, "Repairing the vault's documents…");
  if (options->vault_damage != NULL)
    {
      if (move_away (check, "vault.json", "Damaged.", &step) &&
          coffer_vault_put_document (options->vault, check->cancellable, &step))
        add_item (check->result->repairs, "vault.json", "Written again from this server's copy.");
      else if (!step_failed (check, "vault.json", &step, error))
        return FALSE;
    }
  if (check->bad_credentials &&
      !move_away (check, "credentials/current",
                  "Damaged: issue a new credentials file (coffer vault credentials) before "
                  "registering another server.",
                  &step) &&
      !step_failed (check, "credentials/current", &step, error))
    return FALSE;

  if (check->bad_machine && options->machine != NULL)
    {
      g_autoptr (CofferMachineInfo) info = g_new0 (CofferMachineInfo, 1);
      g_autofree char *os = g_get_os_info (G_OS_INFO_KEY_PRETTY_NAME);

      info->id = g_strdup (options->machine->id);
      info->name = g_strdup (options->machine->name);
      info->host = g_strdup (g_get_host_name ());
      info->os = g_strdup (os != NULL ? os : "Linux");
      info->agent_version = g_strdup (PACKAGE_VERSION);
      info->instance_id = g_strdup (options->machine->instance_id);
      info->registered_at = options->machine->registered_at;
      if (move_away (check, machine_json, "Damaged.", &step) &&
          coffer_vault_put_machine (options->vault, info, TRUE, check->cancellable, &step))
        add_item (check->result->repairs, machine_json, "Written again from this server's record.");
      else if (!step_failed (check, machine_json, &step, error))
        return FALSE;
    }
  if (check->bad_config)
    {
      if (move_away (check, config, "Damaged.", &step) &&
          coffer_machine_config_put (options->vault, options->machine_id, options->keys, FALSE,
                                     check->cancellable, &step))
        add_item (check->result->repairs, config, "Written again.");
      else if (!step_failed (check, config, &step, error))
        return FALSE;
    }

  g_hash_table_iter_init (&iter, check->bad_keys);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (!move_away (check, key, "Damaged or foreign key object.", &step) &&
        !step_failed (check, key, &step, error))
      return FALSE;
  if (options->passphrase != NULL && !check->good_key)
    {
      g_autofree char *name = NULL;

      if (coffer_machine_put_keys (options->vault, options->machine_id, options->keys,
                                   options->passphrase, &name, check->cancellable, &step))
        add_item (check->result->repairs, name,
                  "A new key object: this server's keys, wrapped by its passphrase.");
      else if (!step_failed (check, "keys/", &step, error))
        return FALSE;
    }
  return TRUE;
}

/* Whether a pack other than @pack_name, and not damaged, holds blob @id. */
static gboolean
held_elsewhere (Check *check, const guint8 *id, const char *pack_name)
{
  CofferBlobLocation where;
  g_autofree char *hex = NULL;
  g_autofree char *object = NULL;

  if (!coffer_index_lookup (check->index, id, &where))
    return FALSE;
  hex = coffer_blob_id_to_hex (where.pack);
  if (g_str_equal (hex, pack_name))
    return FALSE;
  object = coffer_pack_object_name (check->options->machine_id, hex);
  return !g_hash_table_contains (check->bad_packs, object);
}

/* Salvages the blobs of a damaged pack that still open into a new pack,
 * then moves the pack away. */
static gboolean
salvage_pack (Check *check, const char *object, GError **error)
{
  const char *name = strrchr (object, '/') + 1;
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (GArray) entries = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autoptr (CofferPackWriter) writer = NULL;
  guint kept = 0;
  const guint8 *data;
  gsize length;

  bytes =
      coffer_store_get_sync (check->store, object, 0, -1, NULL, check->cancellable, &local_error);
  if (bytes != NULL)
    {
      data = g_bytes_get_data (bytes, &length);
      entries = coffer_pack_read_header (check->options->keys, name, bytes, length, NULL);
    }
  else if (coffer_error_stops_reading (local_error))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  else if (g_error_matches (local_error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND))
    return TRUE;

  for (guint i = 0; entries != NULL && i < entries->len; i++)
    {
      const CofferPackEntry *blob = &g_array_index (entries, CofferPackEntry, i);
      g_autoptr (GBytes) plain = NULL;
      g_autoptr (GBytes) sealed = NULL;

      if (held_elsewhere (check, blob->id, name))
        continue;
      plain = coffer_blob_open (check->options->keys, blob->id, blob->type, data + blob->offset,
                                blob->length, blob->raw_length, NULL);
      if (plain == NULL)
        continue;
      if (writer == NULL)
        writer = coffer_pack_writer_new (check->options->keys, blob->type, NULL);
      sealed = g_bytes_new_from_bytes (bytes, blob->offset, blob->length);
      coffer_pack_writer_add (writer, blob->id, sealed, blob->raw_length);
      kept++;
    }
  if (writer != NULL)
    {
      char new_name[COFFER_PACK_NAME_LENGTH + 1];
      g_autoptr (GBytes) pack = coffer_pack_writer_finish (writer, new_name, NULL);
      g_autofree char *new_object = coffer_pack_object_name (check->options->machine_id, new_name);

      if (!coffer_store_put_sync (check->store, new_object, pack, COFFER_PUT_IF_ABSENT, NULL, NULL,
                                  check->cancellable, &local_error) &&
          !g_error_matches (local_error, COFFER_ERROR, COFFER_ERROR_EXISTS))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      add_itemf (check->result->repairs, new_object,
                 "%u of the %u blobs of damaged pack %s still opened and are in no other pack: "
                 "they were stored again in this pack.",
                 kept, entries->len, name);
    }
  return move_away (check, object,
                    entries == NULL ? "Damaged or foreign pack: its header cannot be read."
                                    : "Damaged pack.",
                    error);
}

static gboolean
repair_packs (Check *check, GError **error)
{
  CofferIndexReport *index_report = check->index_report;
  g_autoptr (GHashTable) done = g_hash_table_new (g_str_hash, g_str_equal);
  GHashTableIter iter;
  gpointer key;

  report (check, "Saving what damaged packs still hold…");
  for (guint i = 0; i < index_report->bad_packs->len; i++)
    g_hash_table_add (check->bad_packs, g_strdup (g_ptr_array_index (index_report->bad_packs, i)));
  for (guint i = 0; i < index_report->short_packs->len; i++)
    g_hash_table_add (check->bad_packs,
                      coffer_pack_object_name (check->options->machine_id,
                                               g_ptr_array_index (index_report->short_packs, i)));

  g_hash_table_iter_init (&iter, check->bad_packs);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (!salvage_pack (check, key, error))
      return FALSE;

  /* What the index names but a listing does not show may be there as
   * something else than a file (a fifo): move it out of the way too. */
  for (guint i = 0; i < index_report->missing_packs->len; i++)
    {
      g_autofree char *object = coffer_pack_object_name (
          check->options->machine_id, g_ptr_array_index (index_report->missing_packs, i));
      if (!move_away (check, object, "Not a pack (not a regular file).", error))
        return FALSE;
    }
  return TRUE;
}

/* Writes the index's pending entries as index files; @written (nullable)
 * gets their object names. */
static gboolean
put_pending_index (Check *check, CofferIndex *index, GHashTable *written, GError **error)
{
  g_autoptr (GPtrArray) files = coffer_index_take_pending (index, check->options->keys);

  for (guint i = 0; i < files->len; i++)
    {
      GBytes *file = g_ptr_array_index (files, i);
      g_autofree char *name = coffer_index_file_name (file);
      g_autofree char *object = coffer_index_object_name (check->options->machine_id, name);
      g_autoptr (GError) local_error = NULL;

      if (!coffer_store_put_sync (check->store, object, file, COFFER_PUT_IF_ABSENT, NULL, NULL,
                                  check->cancellable, &local_error) &&
          !g_error_matches (local_error, COFFER_ERROR, COFFER_ERROR_EXISTS))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      if (written != NULL)
        g_hash_table_add (written, g_steal_pointer (&object));
    }
  return TRUE;
}

/* Builds the index anew from every pack's header and replaces the index
 * files with it. */
static gboolean
rebuild_index (Check *check, CofferIndex **out_index, GError **error)
{
  g_autofree char *data_prefix = machine_object (check, "data/");
  g_autofree char *index_prefix = machine_object (check, "index/");
  g_autoptr (CofferIndex) index = coffer_index_new ();
  g_autoptr (GPtrArray) packs = NULL;
  g_autoptr (GPtrArray) old_files = NULL;
  g_autoptr (GHashTable) written = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GHashTable) bad_files = g_hash_table_new (g_str_hash, g_str_equal);

  report (check, "Rebuilding the index from the packs…");
  old_files = coffer_store_list_sync (check->store, index_prefix, check->cancellable, error);
  packs = coffer_store_list_sync (check->store, data_prefix, check->cancellable, error);
  if (old_files == NULL || packs == NULL)
    return FALSE;
  for (guint i = 0; i < packs->len; i++)
    {
      CofferStoreEntry *entry = g_ptr_array_index (packs, i);
      g_autoptr (GArray) entries = NULL;
      g_autoptr (GError) local_error = NULL;
      guint8 pack_id[COFFER_BLOB_ID_SIZE];
      const char *name = strrchr (entry->name, '/') + 1;

      entries =
          coffer_index_read_pack_header (check->options->vault, check->options->keys, entry->name,
                                         entry->size, check->cancellable, &local_error);
      if (entries == NULL || !coffer_blob_id_from_hex (name, pack_id))
        {
          if (local_error != NULL && coffer_error_stops_reading (local_error))
            {
              g_propagate_error (error, g_steal_pointer (&local_error));
              return FALSE;
            }
          if (!move_away (check, entry->name, "Its header cannot be read.", error))
            return FALSE;
          continue;
        }
      coffer_index_add_pack (index, pack_id, entries);
    }

  coffer_index_mark_all_pending (index);
  if (!put_pending_index (check, index, written, error))
    return FALSE;
  add_itemf (check->result->repairs, index_prefix,
             "The index was rebuilt from the headers of %u packs into %u index files.", packs->len,
             g_hash_table_size (written));

  /* Only now do the old files go, into damaged/ too: damaged ones, and
   * the others, which may name packs that are gone (their every good entry
   * is in the new files). */
  for (guint i = 0; i < check->index_report->bad_index_files->len; i++)
    g_hash_table_add (bad_files, g_ptr_array_index (check->index_report->bad_index_files, i));
  for (guint i = 0; i < old_files->len; i++)
    {
      CofferStoreEntry *entry = g_ptr_array_index (old_files, i);
      g_autoptr (GError) local_error = NULL;

      if (g_hash_table_contains (written, entry->name))
        continue;
      if (!move_away (check, entry->name,
                      g_hash_table_contains (bad_files, entry->name)
                          ? "Damaged or foreign index file."
                          : "Index file replaced by the rebuilt index.",
                      error))
        return FALSE;
    }
  *out_index = g_steal_pointer (&index);
  return TRUE;
}

/* Rewriting a point without the files whose data is gone. */
typedef struct
{
  Check *check;
  CofferIndex *index;
  GHashTable *lost_groups; /* hardlink groups whose content is gone */
  CofferPackWriter *writer;
  GHashTable *rewritten; /* old tree id → new tree id */
  GPtrArray *new_packs;  /* pack names written */
  guint files_lost;
  guint64 bytes_lost;
  GPtrArray *lost; /* paths */
} Rewrite;

static gboolean
flush_trees (Rewrite *rewrite, GError **error)
{
  char name[COFFER_PACK_NAME_LENGTH + 1];
  g_autoptr (GBytes) pack = NULL;
  g_autoptr (GArray) entries = NULL;
  g_autofree char *object = NULL;
  g_autoptr (GError) local_error = NULL;
  guint8 pack_id[COFFER_BLOB_ID_SIZE];

  if (rewrite->writer == NULL || coffer_pack_writer_get_count (rewrite->writer) == 0)
    return TRUE;
  pack = coffer_pack_writer_finish (rewrite->writer, name, &entries);
  object = coffer_pack_object_name (rewrite->check->options->machine_id, name);
  if (!coffer_store_put_sync (rewrite->check->store, object, pack, COFFER_PUT_IF_ABSENT, NULL, NULL,
                              rewrite->check->cancellable, &local_error) &&
      !g_error_matches (local_error, COFFER_ERROR, COFFER_ERROR_EXISTS))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  coffer_blob_id_from_hex (name, pack_id);
  coffer_index_add_pack (rewrite->index, pack_id, entries);
  g_ptr_array_add (rewrite->new_packs, g_strdup (name));
  return TRUE;
}

static void
lose (Rewrite *rewrite, const char *path, guint64 size)
{
  rewrite->files_lost++;
  rewrite->bytes_lost += size;
  if (rewrite->lost->len < MAX_LOST_NAMED)
    g_ptr_array_add (rewrite->lost, g_strdup (path));
}

/* Counts the files below a tree that is lost, for the point's totals. */
static void
lose_tree (Rewrite *rewrite, const guint8 *tree_id, const char *path)
{
  g_autoptr (GBytes) plain = read_blob (rewrite->check, tree_id, COFFER_BLOB_TREE, NULL);
  g_autoptr (GPtrArray) nodes = plain != NULL ? coffer_tree_parse (plain, NULL) : NULL;
  g_autofree char *folder = g_strconcat (path, g_str_equal (path, "/") ? "" : "/", "…", NULL);

  if (nodes == NULL)
    {
      lose (rewrite, folder, 0);
      return;
    }
  for (guint i = 0; i < nodes->len; i++)
    {
      CofferNode *node = g_ptr_array_index (nodes, i);
      g_autofree char *child = child_path (path, node->name);

      if (node->type == COFFER_NODE_DIR && node->has_subtree)
        lose_tree (rewrite, node->subtree, child);
      else if (node->type == COFFER_NODE_FILE)
        lose (rewrite, child, node->size);
    }
}

/* Writes the tree @id again without what is lost; *out_id is the tree to
 * use (the same when nothing below it changed). */
static gboolean
rewrite_tree (Rewrite *rewrite,
              const guint8 *id,
              const char *path,
              guint8 out_id[COFFER_BLOB_ID_SIZE],
              GError **error)
{
  Check *check = rewrite->check;
  g_autoptr (GBytes) plain = NULL;
  g_autoptr (GPtrArray) nodes = NULL;
  g_autoptr (GPtrArray) kept = NULL;
  g_autoptr (GBytes) tree = NULL;
  g_autoptr (GBytes) sealed = NULL;
  g_autoptr (GError) local_error = NULL;
  const guint8 *done;
  gboolean changed = FALSE;
  gsize size;

  if (g_cancellable_set_error_if_cancelled (check->cancellable, error))
    return FALSE;
  done = g_hash_table_lookup (rewrite->rewritten, id);
  if (done != NULL)
    {
      memcpy (out_id, done, COFFER_BLOB_ID_SIZE);
      return TRUE;
    }

  plain = coffer_point_reader_fetch_blob (check->options->vault, check->options->machine_id,
                                          check->options->keys, rewrite->index, id,
                                          COFFER_BLOB_TREE, check->cancellable, &local_error);
  if (plain != NULL)
    nodes = coffer_tree_parse (plain, &local_error);
  if (nodes == NULL)
    {
      if (coffer_error_stops_reading (local_error))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      /* The folder stays, empty: what it held is lost. */
      lose_tree (rewrite, id, path);
      nodes = g_ptr_array_new_with_free_func ((GDestroyNotify) coffer_node_free);
      changed = TRUE;
    }

  kept = g_ptr_array_new ();
  for (guint i = 0; i < nodes->len; i++)
    {
      CofferNode *node = g_ptr_array_index (nodes, i);
      g_autofree char *child = child_path (path, node->name);
      gboolean whole = TRUE;

      if (node->type == COFFER_NODE_DIR && node->has_subtree)
        {
          guint8 new_id[COFFER_BLOB_ID_SIZE];

          if (!rewrite_tree (rewrite, node->subtree, child, new_id, error))
            return FALSE;
          if (memcmp (new_id, node->subtree, COFFER_BLOB_ID_SIZE) != 0)
            {
              memcpy (node->subtree, new_id, COFFER_BLOB_ID_SIZE);
              changed = TRUE;
            }
        }
      for (guint c = 0; node->chunks != NULL && c < node->chunks->len && whole; c++)
        whole = coffer_index_contains (
            rewrite->index, &g_array_index (node->chunks, guint8, c * COFFER_BLOB_ID_SIZE));
      /* Every name of a hardlink whose content is gone goes with it. */
      if (whole && node->hardlink_group != 0 &&
          g_hash_table_contains (rewrite->lost_groups, &node->hardlink_group))
        whole = FALSE;
      if (!whole)
        {
          lose (rewrite, child, node->size);
          changed = TRUE;
          continue;
        }
      g_ptr_array_add (kept, node);
    }

  if (!changed)
    {
      memcpy (out_id, id, COFFER_BLOB_ID_SIZE);
      return TRUE;
    }
  tree = coffer_tree_serialize (kept);
  size = g_bytes_get_size (tree);
  coffer_blob_id (check->options->keys, g_bytes_get_data (tree, NULL), size, out_id);
  g_hash_table_insert (rewrite->rewritten, g_memdup2 (id, COFFER_BLOB_ID_SIZE),
                       g_memdup2 (out_id, COFFER_BLOB_ID_SIZE));
  if (coffer_index_contains (rewrite->index, out_id))
    return TRUE;
  sealed = coffer_blob_seal (check->options->keys, out_id, COFFER_BLOB_TREE,
                             g_bytes_get_data (tree, NULL), size, COFFER_BLOB_DEFAULT_ZSTD_LEVEL);
  if (rewrite->writer == NULL)
    rewrite->writer = coffer_pack_writer_new (check->options->keys, COFFER_BLOB_TREE, NULL);
  coffer_pack_writer_add (rewrite->writer, out_id, sealed, size);
  if (coffer_pack_writer_is_full (rewrite->writer))
    return flush_trees (rewrite, error);
  return TRUE;
}

/* Whether everything a point needs is in @index; notes in @lost_groups the
 * hardlink groups whose content is gone. */
static gboolean
point_is_whole (Check *check,
                CofferIndex *index,
                const guint8 *tree_id,
                GHashTable *seen,
                GHashTable *lost_groups)
{
  g_autoptr (GBytes) plain = NULL;
  g_autoptr (GPtrArray) nodes = NULL;

  gboolean whole = TRUE;

  if (!g_hash_table_add (seen, g_memdup2 (tree_id, COFFER_BLOB_ID_SIZE)))
    return TRUE;
  plain = coffer_point_reader_fetch_blob (check->options->vault, check->options->machine_id,
                                          check->options->keys, index, tree_id, COFFER_BLOB_TREE,
                                          check->cancellable, NULL);
  if (plain == NULL || (nodes = coffer_tree_parse (plain, NULL)) == NULL)
    return FALSE;
  for (guint i = 0; i < nodes->len; i++)
    {
      CofferNode *node = g_ptr_array_index (nodes, i);

      if (node->type == COFFER_NODE_DIR && node->has_subtree &&
          !point_is_whole (check, index, node->subtree, seen, lost_groups))
        whole = FALSE;
      for (guint c = 0; node->chunks != NULL && c < node->chunks->len; c++)
        if (!coffer_index_contains (index,
                                    &g_array_index (node->chunks, guint8, c * COFFER_BLOB_ID_SIZE)))
          {
            whole = FALSE;
            if (node->hardlink_group != 0)
              g_hash_table_add (lost_groups, g_memdup2 (&node->hardlink_group, sizeof (guint64)));
            break;
          }
    }
  return whole;
}

static gboolean
root_is_readable (Check *check, CofferIndex *index, const guint8 *root)
{
  g_autoptr (GBytes) plain = NULL;
  g_autoptr (GPtrArray) nodes = NULL;

  plain = coffer_point_reader_fetch_blob (check->options->vault, check->options->machine_id,
                                          check->options->keys, index, root, COFFER_BLOB_TREE,
                                          check->cancellable, NULL);
  return plain != NULL && (nodes = coffer_tree_parse (plain, NULL)) != NULL;
}

/* Tells the catalog a point's new state before the vault changes, as a
 * prune does: a repair stopped half-way leaves no point the catalog
 * expects and the vault lacks. */
static gboolean
tell_catalog (
    Check *check, const char *id, const char *state, CofferSnapshot *replacement, GError **error)
{
  CofferCatalog *catalog = check->options->catalog;

  if (catalog == NULL)
    return TRUE;
  if (replacement != NULL && !coffer_catalog_add_point (catalog, check->options->machine_id,
                                                        replacement->id, replacement->time, error))
    return FALSE;
  return coffer_catalog_set_point_state (catalog, id, state,
                                         replacement != NULL ? replacement->id : NULL, error);
}

/* The point a repair already wrote to replace @id, when it is in the vault
 * (a repair stopped before it moved the old point away). */
static const char *
replacement_of (Check *check, const char *id)
{
  GPtrArray *known = check->options->catalog_points;

  for (guint i = 0; known != NULL && i < known->len; i++)
    {
      CofferCatalogPoint *point = g_ptr_array_index (known, i);

      if (!g_str_equal (point->id, id) || !g_str_equal (point->state, "replaced"))
        continue;
      for (guint p = 0; p < check->points->len; p++)
        if (g_str_equal (((CofferSnapshot *) g_ptr_array_index (check->points, p))->id,
                         point->replaced_by))
          return point->replaced_by;
    }
  return NULL;
}

static gboolean
repair_points (Check *check, CofferIndex *index, GError **error)
{
  g_autofree char *prefix = machine_object (check, "snapshots/");
  g_autoptr (GHashTable) seen =
      g_hash_table_new_full (coffer_blob_id_hash, coffer_blob_id_equal, g_free, NULL);
  g_autoptr (GPtrArray) to_rewrite = g_ptr_array_new ();
  Rewrite rewrite = { check, index, NULL, NULL, NULL, NULL, 0, 0, NULL };
  g_autoptr (GHashTable) lost_groups =
      g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  gboolean ok = FALSE;

  report (check, "Rewriting recovery points that lost data…");

  for (guint i = 0; i < check->points->len; i++)
    {
      CofferSnapshot *snapshot = g_ptr_array_index (check->points, i);

      g_hash_table_remove_all (seen);
      if (!point_is_whole (check, index, snapshot->root, seen, lost_groups))
        g_ptr_array_add (to_rewrite, snapshot);
    }
  if (to_rewrite->len == 0)
    return TRUE;
  rewrite.lost_groups = lost_groups;

  rewrite.rewritten =
      g_hash_table_new_full (coffer_blob_id_hash, coffer_blob_id_equal, g_free, g_free);
  rewrite.new_packs = g_ptr_array_new_with_free_func (g_free);
  rewrite.lost = g_ptr_array_new_with_free_func (g_free);
  {
    /* Point by point: its trees, their pack and index file, then the
     * point, then the old point moves away. */
    for (guint i = 0; i < to_rewrite->len; i++)
      {
        CofferSnapshot *old = g_ptr_array_index (to_rewrite, i);
        g_autoptr (CofferSnapshot) snapshot = g_new0 (CofferSnapshot, 1);
        g_autofree char *old_object = g_strconcat (prefix, old->id, NULL);
        g_autofree char *when = format_point_time (old->time);
        GString *names = g_string_new (NULL);
        g_autofree char *names_text = NULL;

        /* This point's own losses are counted afresh. */
        rewrite.files_lost = 0;
        rewrite.bytes_lost = 0;
        g_ptr_array_set_size (rewrite.lost, 0);
        g_hash_table_remove_all (rewrite.rewritten);
        if (replacement_of (check, old->id) != NULL)
          {
            g_string_free (names, TRUE);
            if (!move_away (check, old_object, "Replaced by a repaired recovery point.", error))
              goto out;
            continue;
          }
        /* Hardlink groups are numbered per point: find this one's lost. */
        g_hash_table_remove_all (lost_groups);
        g_hash_table_remove_all (seen);
        point_is_whole (check, index, old->root, seen, lost_groups);
        if (!root_is_readable (check, index, old->root))
          {
            /* Nothing of it can be recovered: the point goes. */
            g_string_free (names, TRUE);
            add_itemf (check->result->repairs, old_object,
                       "The top folder of the recovery point of %s is lost, so nothing of it can "
                       "be recovered; the point is given up.",
                       when);
            g_ptr_array_add (check->result->points_lost, g_strdup (old->id));
            if (!tell_catalog (check, old->id, "lost", NULL, error) ||
                !move_away (check, old_object, "Recovery point without its top folder.", error))
              goto out;
            continue;
          }
        {
          guint8 root[COFFER_BLOB_ID_SIZE];

          if (!rewrite_tree (&rewrite, old->root, "/", root, error))
            {
              g_string_free (names, TRUE);
              goto out;
            }
          memcpy (snapshot->root, root, COFFER_BLOB_ID_SIZE);
        }
        if (!flush_trees (&rewrite, error))
          {
            g_string_free (names, TRUE);
            goto out;
          }
        snapshot->time = old->time;
        snapshot->on_demand = old->on_demand;
        snapshot->retain_until = old->retain_until;
        snapshot->items = g_ptr_array_ref (old->items);
        snapshot->host = g_strdup (old->host);
        snapshot->files = old->files > rewrite.files_lost ? old->files - rewrite.files_lost : 0;
        snapshot->bytes = old->bytes > rewrite.bytes_lost ? old->bytes - rewrite.bytes_lost : 0;

        if (!put_pending_index (check, index, NULL, error))
          {
            g_string_free (names, TRUE);
            goto out;
          }
        if (!coffer_snapshot_put (check->options->vault, check->options->machine_id,
                                  check->options->keys, snapshot, check->cancellable, error) ||
            !tell_catalog (check, old->id, "replaced", snapshot, error))
          {
            g_string_free (names, TRUE);
            goto out;
          }
        for (guint n = 0; n < rewrite.lost->len; n++)
          {
            add_itemf (check->result->repairs, g_ptr_array_index (rewrite.lost, n),
                       "Lost from the recovery point of %s: its data is in no pack any more.",
                       when);
            g_string_append_printf (names, "%s%s", n > 0 ? ", " : "",
                                    (char *) g_ptr_array_index (rewrite.lost, n));
          }
        check->result->files_lost += rewrite.files_lost;
        names_text = g_string_free (names, FALSE);
        add_itemf (check->result->repairs, old_object,
                   "The recovery point of %s was written again as %s without the %u files whose "
                   "data is lost%s%s.",
                   when, snapshot->id, rewrite.files_lost, names_text[0] != '\0' ? ": " : "",
                   names_text);
        g_ptr_array_add (check->result->points_replaced, g_strdup (old->id));
        g_ptr_array_add (check->result->points_replaced, g_strdup (snapshot->id));
        if (!move_away (check, old_object, "Replaced by a repaired recovery point.", error))
          goto out;
      }
  }
  ok = TRUE;

out:
  g_clear_pointer (&rewrite.writer, coffer_pack_writer_free);
  g_clear_pointer (&rewrite.rewritten, g_hash_table_unref);
  g_clear_pointer (&rewrite.new_packs, g_ptr_array_unref);
  g_clear_pointer (&rewrite.lost, g_ptr_array_unref);
  return ok;
}

static gboolean
needs_index_rebuild (Check *check)
{
  CofferIndexReport *index_report = check->index_report;

  return index_report->bad_index_files->len > 0 || index_report->missing_packs->len > 0 ||
         index_report->short_packs->len > 0 || index_report->bad_packs->len > 0 ||
         index_report->scanned_packs->len > 0 || g_hash_table_size (check->bad_packs) > 0;
}

static gboolean
repair (Check *check, GError **error)
{
  g_autoptr (CofferIndex) index = NULL;
  GHashTableIter iter;
  gpointer key;

  if (!repair_documents (check, error))
    return FALSE;

  for (guint i = 0; i < check->damaged_known->len; i++)
    if (!tell_catalog (check, g_ptr_array_index (check->damaged_known, i), "lost", NULL, error))
      return FALSE;
  report (check, "Moving damaged recovery points out of the way…");
  g_hash_table_iter_init (&iter, check->bad_points);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (!move_away (check, key, "Damaged or foreign recovery point.", error))
      return FALSE;

  if (!repair_packs (check, error))
    return FALSE;
  if (needs_index_rebuild (check))
    {
      if (!rebuild_index (check, &index, error))
        return FALSE;
    }
  else
    index = g_object_ref (check->index);
  if (!repair_points (check, index, error))
    return FALSE;

  for (guint i = 0; i < check->result->points_lost->len; i++)
    add_itemf (check->result->repairs, g_ptr_array_index (check->result->points_lost, i),
               "This recovery point is gone from the vault; it is forgotten.");
  for (guint i = 0; i < check->damaged_known->len; i++)
    g_ptr_array_add (check->result->points_lost,
                     g_strdup (g_ptr_array_index (check->damaged_known, i)));
  return TRUE;
}

/* A repair gives up what it cannot find: when not one pack the index names
 * is there, the vault is more likely incomplete (a folder moved away, a
 * drive half-copied, data/ a link to another disk) than damaged, and a
 * repair would give up every point. */
static gboolean
repair_is_safe (Check *check, GError **error)
{
  CofferIndexReport *index_report = check->index_report;
  g_autofree char *data = machine_object (check, "data/");

  if (index_report->missing_packs->len > 0 && index_report->packs->len == 0)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT,
                   "Nothing was repaired: not one of the %u packs the index names is in the "
                   "vault (%s is empty or missing). If the vault was moved or copied, make it "
                   "whole again first; a repair now would give up every recovery point.",
                   index_report->missing_packs->len, data);
      return FALSE;
    }
  return TRUE;
}

/**
 * coffer_check_run_full:
 * @options: what to check, and whether to repair
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Checks a machine's documents, recovery points, index and packs, and with
 * @options->repair repairs them, as the header comment says. Damage is not
 * an error: it is in the result's problems (after a repair, what is left).
 * Errors are what stops the check itself (a vault that cannot be reached,
 * cancellation).
 *
 * Returns: (transfer full): what the check found and the repair did
 */
CofferCheckResult *
coffer_check_run_full (const CofferCheckOptions *options, GCancellable *cancellable, GError **error)
{
  g_autoptr (CofferCheckResult) result = result_new ();
  Check check = { options };
  gboolean ok;

  g_return_val_if_fail (options != NULL && COFFER_IS_VAULT (options->vault), NULL);
  g_return_val_if_fail (options->machine_id != NULL && options->keys != NULL, NULL);

  check.result = result;
  check.cancellable = cancellable;
  ok = check_pass (&check, options->read_data || options->repair, error);
  result->found = result->problems->len;
  if (ok && options->repair && result->found > 0)
    {
      CofferCheckOptions again = *options;
      g_autoptr (CofferCheckResult) after = result_new ();
      g_autoptr (GPtrArray) known = NULL;
      Check verify = { &again };

      ok = repair_is_safe (&check, error) && repair (&check, error);
      check_clear (&check);
      if (!ok)
        return NULL;

      /* What the repair did not mend: the check once more, with the points
       * it gave up or replaced no longer expected. */
      if (options->catalog_points != NULL)
        {
          known = g_ptr_array_new ();
          for (guint i = 0; i < options->catalog_points->len; i++)
            {
              CofferCatalogPoint *point = g_ptr_array_index (options->catalog_points, i);
              gboolean gone = FALSE;

              for (guint l = 0; l < result->points_lost->len && !gone; l++)
                gone = g_str_equal (point->id, g_ptr_array_index (result->points_lost, l));
              for (guint r = 0; r < result->points_replaced->len && !gone; r += 2)
                gone = g_str_equal (point->id, g_ptr_array_index (result->points_replaced, r));
              if (!gone)
                g_ptr_array_add (known, point);
            }
        }
      again.catalog_points = known;
      again.vault_damage = NULL;
      again.repair = FALSE;
      verify.result = after;
      verify.cancellable = cancellable;
      if (!check_pass (&verify, FALSE, error))
        {
          check_clear (&verify);
          return NULL;
        }
      g_ptr_array_set_size (result->problems, 0);
      g_ptr_array_extend_and_steal (result->problems, g_steal_pointer (&after->problems));
      after->problems = NULL;
      g_ptr_array_set_size (result->notes, 0);
      g_ptr_array_extend_and_steal (result->notes, g_steal_pointer (&after->notes));
      after->notes = NULL;
      result->snapshots = after->snapshots;
      result->packs = after->packs;
      g_ptr_array_set_size (result->points, 0);
      if (verify.points != NULL)
        g_ptr_array_extend_and_steal (result->points, g_steal_pointer (&verify.points));
      check_clear (&verify);
      return g_steal_pointer (&result);
    }
  if (ok && check.points != NULL)
    g_ptr_array_extend_and_steal (result->points, g_steal_pointer (&check.points));
  check_clear (&check);
  return ok ? g_steal_pointer (&result) : NULL;
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
 * coffer_check_run_full() without a repair, the catalog's witness or the
 * passphrase.
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
  CofferCheckOptions options = { 0 };

  options.vault = vault;
  options.machine_id = machine_id;
  options.keys = keys;
  options.read_data = read_data;
  options.progress = progress;
  options.progress_data = progress_data;
  return coffer_check_run_full (&options, cancellable, error);
}
