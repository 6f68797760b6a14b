/* agent-recovery.c: recovery points, browsing and recovery jobs.
 *
 * A client names a recovery point by its id, a unique start of it, or
 * "latest", of this machine or — with that machine's passphrase — of another
 * machine in the same vault. Everything here blocks: the service runs it in
 * worker threads.
 */
#include "config.h"

#include "agent-recovery.h"

#include "agent-job.h"

#include <string.h>

#define MAX_FIND_RESULTS 10000

void
agent_points_free (AgentPoints *points)
{
  if (points == NULL)
    return;
  g_clear_object (&points->vault);
  g_free (points->machine_id);
  g_free (points->machine_name);
  g_free (points->instance_id);
  g_clear_pointer (&points->keys, coffer_master_keys_free);
  g_clear_pointer (&points->snapshots, g_ptr_array_unref);
  g_clear_pointer (&points->newest_missing, coffer_catalog_point_free);
  g_free (points);
}

/* Unlocks another machine of the vault with its passphrase. */
static gboolean
unlock_other (AgentPoints *points,
              const char *name,
              GVariant *options,
              GCancellable *cancellable,
              GError **error)
{
  g_autoptr (CofferMachineInfo) machine = NULL;
  g_autoptr (GVariant) passphrase_bytes = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autofree char *passphrase = NULL;
  gsize size = 0;
  const char *data;

  machine = coffer_vault_find_machine (points->vault, name, cancellable, error);
  if (machine == NULL)
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND,
                     "No server named “%s” is registered to vault “%s”.", name,
                     coffer_vault_get_name (points->vault));
      return FALSE;
    }
  passphrase_bytes = g_variant_lookup_value (options, "passphrase", G_VARIANT_TYPE_BYTESTRING);
  if (passphrase_bytes == NULL)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_WRONG_PASSPHRASE,
                   "Recovering the data of server “%s” needs its passphrase.", machine->name);
      return FALSE;
    }
  data = g_variant_get_fixed_array (passphrase_bytes, &size, 1);
  passphrase = coffer_passphrase_from_bytes (data, size, error);
  if (passphrase == NULL)
    return FALSE;

  points->keys = coffer_machine_unlock_keys (points->vault, machine->id, passphrase, NULL,
                                             cancellable, &local_error);
  coffer_passphrase_free (g_steal_pointer (&passphrase));
  if (points->keys == NULL)
    {
      if (g_error_matches (local_error, COFFER_ERROR, COFFER_ERROR_WRONG_PASSPHRASE))
        g_set_error (error, COFFER_ERROR, COFFER_ERROR_WRONG_PASSPHRASE,
                     "The passphrase is incorrect: it does not open the keys of server “%s”.",
                     machine->name);
      else
        g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  points->machine_id = g_strdup (machine->id);
  points->machine_name = g_strdup (machine->name);
  return TRUE;
}

/* This machine's newest point as the catalog recorded it, when it is newer
 * than every point in the vault and the vault lacks it: "latest" would
 * quietly be an older point. */
static CofferCatalogPoint *
newest_missing (CofferCatalog *catalog, AgentPoints *points)
{
  g_autoptr (GPtrArray) known = NULL;
  g_autoptr (GError) error = NULL;
  gint64 newest_stored = G_MININT64;
  gint64 newest_time = G_MININT64;
  guint newest = G_MAXUINT;

  known = coffer_catalog_list_points (catalog, points->machine_id, &error);
  if (known == NULL)
    {
      g_warning ("%s", error->message);
      return NULL;
    }
  for (guint i = 0; i < points->snapshots->len; i++)
    newest_stored =
        MAX (newest_stored, ((CofferSnapshot *) g_ptr_array_index (points->snapshots, i))->time);
  for (guint i = 0; i < known->len; i++)
    {
      CofferCatalogPoint *point = g_ptr_array_index (known, i);
      gboolean present = FALSE;

      if (!g_str_equal (point->state, "stored") || point->time < newest_stored)
        continue;
      for (guint s = 0; s < points->snapshots->len && !present; s++)
        present = g_str_equal (((CofferSnapshot *) g_ptr_array_index (points->snapshots, s))->id,
                               point->id);
      if (!present && point->time > newest_time)
        {
          newest = i;
          newest_time = point->time;
        }
    }
  return newest != G_MAXUINT ? g_ptr_array_steal_index (known, newest) : NULL;
}

/**
 * agent_points_open:
 * @catalog: the agent's catalog
 * @state_dir: the state folder
 * @options: "machine" and "passphrase", for another machine
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the machine's recovery points, keys and vault
 */
AgentPoints *
agent_points_open (CofferCatalog *catalog,
                   const char *state_dir,
                   GVariant *options,
                   GCancellable *cancellable,
                   GError **error)
{
  g_autoptr (AgentPoints) points = g_new0 (AgentPoints, 1);
  g_autoptr (CofferRegistration) registration = NULL;
  g_autoptr (CofferMasterKeys) own_keys = NULL;
  g_autoptr (GPtrArray) damaged = NULL;
  const char *machine = NULL;

  if (!agent_unlock (catalog, state_dir, &registration, &points->vault, &own_keys, cancellable,
                     error))
    return NULL;
  points->instance_id = g_strdup (registration->instance_id);

  g_variant_lookup (options, "machine", "&s", &machine);
  if (machine != NULL && *machine != '\0' &&
      g_ascii_strcasecmp (machine, registration->machine_name) != 0)
    {
      if (!unlock_other (points, machine, options, cancellable, error))
        return NULL;
    }
  else
    {
      points->machine_id = g_strdup (registration->machine_id);
      points->machine_name = g_strdup (registration->machine_name);
      points->keys = g_steal_pointer (&own_keys);
    }

  /* A damaged point costs only itself: the others list and recover. */
  damaged = g_ptr_array_new_with_free_func ((GDestroyNotify) coffer_failed_item_free);
  points->snapshots = coffer_snapshot_list (points->vault, points->machine_id, points->keys,
                                            damaged, cancellable, error);
  if (points->snapshots == NULL)
    return NULL;
  for (guint i = 0; i < damaged->len; i++)
    {
      CofferFailedItem *item = g_ptr_array_index (damaged, i);
      g_message ("%s: %s (coffer check --repair mends this)", item->path, item->reason);
    }
  if (points->machine_id != NULL && g_strcmp0 (points->machine_id, registration->machine_id) == 0)
    points->newest_missing = newest_missing (catalog, points);
  return g_steal_pointer (&points);
}

/**
 * agent_points_resolve:
 * @points: recovery points
 * @point: an id, a unique start of one, or "latest"
 * @error: return location for a #GError
 *
 * Returns: (transfer none): the point
 */
CofferSnapshot *
agent_points_resolve (AgentPoints *points, const char *point, GError **error)
{
  CofferSnapshot *found = NULL;

  if (points->snapshots->len == 0)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND,
                   "Server “%s” has no recovery points yet.", points->machine_name);
      return NULL;
    }
  if (g_str_equal (point, "latest") && points->newest_missing != NULL)
    {
      g_autoptr (GDateTime) time = g_date_time_new_from_unix_local (points->newest_missing->time);
      g_autofree char *when = g_date_time_format (time, "%Y-%m-%d %H:%M:%S");

      g_set_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT,
                   "The newest recovery point, of %s, is missing from the vault, so “latest” "
                   "would recover an older one. Run “coffer check --repair”, or name the point "
                   "to recover from (coffer recover points).",
                   when);
      return NULL;
    }
  if (g_str_equal (point, "latest"))
    return g_ptr_array_index (points->snapshots, points->snapshots->len - 1);
  for (guint i = 0; i < points->snapshots->len; i++)
    {
      CofferSnapshot *snapshot = g_ptr_array_index (points->snapshots, i);

      if (*point != '\0' && g_str_has_prefix (snapshot->id, point))
        {
          if (found != NULL)
            {
              g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                           "“%s” names more than one recovery point; give more of its id.", point);
              return NULL;
            }
          found = snapshot;
        }
    }
  if (found == NULL)
    g_set_error (error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND, "There is no recovery point “%s”.",
                 point);
  return found;
}

static GVariant *
snapshot_variant (CofferSnapshot *snapshot)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&builder, "{sv}", "id", g_variant_new_string (snapshot->id));
  g_variant_builder_add (&builder, "{sv}", "time", g_variant_new_int64 (snapshot->time));
  g_variant_builder_add (&builder, "{sv}", "kind",
                         g_variant_new_string (snapshot->on_demand ? "on-demand" : "scheduled"));
  g_variant_builder_add (&builder, "{sv}", "retain-until",
                         g_variant_new_int64 (snapshot->retain_until));
  g_variant_builder_add (&builder, "{sv}", "files", g_variant_new_uint64 (snapshot->files));
  g_variant_builder_add (&builder, "{sv}", "bytes", g_variant_new_uint64 (snapshot->bytes));
  return g_variant_builder_end (&builder);
}

GVariant *
agent_list_points (CofferCatalog *catalog,
                   const char *state_dir,
                   GVariant *parameters,
                   GCancellable *cancellable,
                   GError **error)
{
  g_autoptr (GVariant) options = g_variant_get_child_value (parameters, 0);
  g_autoptr (AgentPoints) points =
      agent_points_open (catalog, state_dir, options, cancellable, error);
  GVariantBuilder builder;

  if (points == NULL)
    return NULL;
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < points->snapshots->len; i++)
    g_variant_builder_add_value (&builder,
                                 snapshot_variant (g_ptr_array_index (points->snapshots, i)));
  return g_variant_new ("(aa{sv})", &builder);
}

static const char *
type_name (CofferNodeType type)
{
  switch (type)
    {
      case COFFER_NODE_FILE:
        return "file";
      case COFFER_NODE_DIR:
        return "folder";
      case COFFER_NODE_SYMLINK:
        return "symlink";
      case COFFER_NODE_FIFO:
        return "fifo";
      case COFFER_NODE_CHARDEV:
        return "chardev";
      case COFFER_NODE_BLOCKDEV:
        return "blockdev";
      default:
        return "unknown";
    }
}

/* Opens the point a browsing call names (its first parameter), with its
 * options at @options_index, and a reader for it. */
static CofferPointReader *
open_point (CofferCatalog *catalog,
            const char *state_dir,
            GVariant *parameters,
            gsize options_index,
            AgentPoints **out_points,
            CofferSnapshot **out_snapshot,
            GCancellable *cancellable,
            GError **error)
{
  g_autoptr (GVariant) options = g_variant_get_child_value (parameters, options_index);
  const char *point = NULL;

  g_variant_get_child (parameters, 0, "&s", &point);
  *out_points = agent_points_open (catalog, state_dir, options, cancellable, error);
  if (*out_points == NULL ||
      (*out_snapshot = agent_points_resolve (*out_points, point, error)) == NULL)
    return NULL;
  return coffer_point_reader_new ((*out_points)->vault, (*out_points)->machine_id,
                                  (*out_points)->keys, cancellable, error);
}

GVariant *
agent_list_folder (CofferCatalog *catalog,
                   const char *state_dir,
                   GVariant *parameters,
                   GCancellable *cancellable,
                   GError **error)
{
  g_autoptr (AgentPoints) points = NULL;
  g_autoptr (CofferPointReader) reader = NULL;
  g_autoptr (GPtrArray) nodes = NULL;
  const char *path = NULL;
  CofferSnapshot *snapshot = NULL;
  GVariantBuilder builder;

  g_variant_get_child (parameters, 1, "^&ay", &path);
  reader = open_point (catalog, state_dir, parameters, 2, &points, &snapshot, cancellable, error);
  if (reader == NULL)
    return NULL;
  nodes = coffer_point_reader_list (reader, snapshot->root, path, cancellable, error);
  if (nodes == NULL)
    return NULL;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < nodes->len; i++)
    {
      CofferNode *node = g_ptr_array_index (nodes, i);
      GVariantBuilder entry;

      g_variant_builder_init (&entry, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&entry, "{sv}", "name", g_variant_new_bytestring (node->name));
      g_variant_builder_add (&entry, "{sv}", "type", g_variant_new_string (type_name (node->type)));
      g_variant_builder_add (&entry, "{sv}", "size", g_variant_new_uint64 (node->size));
      g_variant_builder_add (&entry, "{sv}", "mtime", g_variant_new_int64 (node->mtime_ns));
      g_variant_builder_add (&entry, "{sv}", "mode", g_variant_new_uint32 (node->mode));
      if (node->link_target != NULL)
        g_variant_builder_add (&entry, "{sv}", "target",
                               g_variant_new_bytestring (node->link_target));
      g_variant_builder_add_value (&builder, g_variant_builder_end (&entry));
    }
  return g_variant_new ("(aa{sv})", &builder);
}

GVariant *
agent_find_in_point (CofferCatalog *catalog,
                     const char *state_dir,
                     GVariant *parameters,
                     GCancellable *cancellable,
                     GError **error)
{
  g_autoptr (AgentPoints) points = NULL;
  g_autoptr (CofferPointReader) reader = NULL;
  g_autoptr (GPtrArray) paths = NULL;
  const char *pattern = NULL;
  guint32 limit = 0;
  CofferSnapshot *snapshot = NULL;

  g_variant_get_child (parameters, 1, "&s", &pattern);
  g_variant_get_child (parameters, 2, "u", &limit);
  reader = open_point (catalog, state_dir, parameters, 3, &points, &snapshot, cancellable, error);
  if (reader == NULL)
    return NULL;
  paths = coffer_point_reader_find (reader, snapshot->root, pattern,
                                    MIN (limit == 0 ? 1000 : limit, MAX_FIND_RESULTS), cancellable,
                                    error);
  if (paths == NULL)
    return NULL;
  g_ptr_array_add (paths, NULL);
  return g_variant_new ("(^aay)", (char **) paths->pdata);
}
