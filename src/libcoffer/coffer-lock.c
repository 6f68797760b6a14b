/* coffer-lock.c: lock objects, so prune never deletes what a backup writes.
 *
 * A lock is an object machines/ID/locks/<random> recording the host, the
 * process, the boot id and the machine's instance id, and whether it is
 * exclusive. Backups and checks take shared locks; prune takes an exclusive
 * one. A thread rewrites the object every 5 minutes; a lock not rewritten for
 * 30 minutes by the store's clock is stale. Taking a lock refuses when a live
 * lock conflicts; a lock of this host, this boot and a process that no longer
 * exists is removed at once.
 *
 * A lock that cannot be removed when its job ends (the drive was unplugged
 * in the middle) is remembered by this process, which removes it the next
 * time it takes a lock there instead of waiting 30 minutes for it to go
 * stale: the process is alive, so the pid test cannot tell.
 */
#include "config.h"

#include "coffer-lock.h"

#include "coffer-crypto.h"
#include "coffer-error.h"
#include "coffer-json-util.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

struct _CofferLock
{
  CofferVault *vault;
  char *name;
  GBytes *contents;
  GThread *refresher;
  GMutex mutex;
  GCond cond;
  gboolean stop;
};

static char *
boot_id (void)
{
  g_autofree char *text = NULL;

  if (!g_file_get_contents ("/proc/sys/kernel/random/boot_id", &text, NULL, NULL))
    return g_strdup ("");
  return g_strdup (g_strstrip (text));
}

static GBytes *
lock_json (const char *instance_id, gboolean exclusive)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autofree char *boot = boot_id ();
  g_autofree char *created = coffer_json_format_time (g_get_real_time () / G_USEC_PER_SEC);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "format");
  json_builder_add_int_value (builder, 1);
  json_builder_set_member_name (builder, "host");
  json_builder_add_string_value (builder, g_get_host_name ());
  json_builder_set_member_name (builder, "pid");
  json_builder_add_int_value (builder, getpid ());
  json_builder_set_member_name (builder, "boot_id");
  json_builder_add_string_value (builder, boot);
  json_builder_set_member_name (builder, "instance_id");
  json_builder_add_string_value (builder, instance_id);
  json_builder_set_member_name (builder, "exclusive");
  json_builder_add_boolean_value (builder, exclusive);
  json_builder_set_member_name (builder, "created");
  json_builder_add_string_value (builder, created);
  json_builder_end_object (builder);
  return coffer_json_to_bytes (builder);
}

/* Names of this process's locks whose removal failed. */
static GMutex orphans_lock;
static GHashTable *orphans;

static void
orphan_add (const char *name)
{
  g_mutex_lock (&orphans_lock);
  if (orphans == NULL)
    orphans = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_hash_table_add (orphans, g_strdup (name));
  g_mutex_unlock (&orphans_lock);
}

/* Removes @name when it is a lock this process left behind. */
static gboolean
orphan_remove (CofferStore *store, const char *name)
{
  gboolean orphaned;

  g_mutex_lock (&orphans_lock);
  orphaned = orphans != NULL && g_hash_table_contains (orphans, name);
  g_mutex_unlock (&orphans_lock);
  if (!orphaned || !coffer_store_delete_sync (store, name, NULL, NULL))
    return FALSE;
  g_debug ("Removed the lock %s, left behind when its vault went away", name);
  g_mutex_lock (&orphans_lock);
  g_hash_table_remove (orphans, name);
  g_mutex_unlock (&orphans_lock);
  return TRUE;
}

/* Whether the lock @entry still counts; removes it when its process is gone. */
static gboolean
lock_is_live (CofferStore *store, CofferStoreEntry *entry, gboolean *exclusive)
{
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (JsonObject) object = NULL;
  g_autofree char *boot = boot_id ();
  gint64 now = coffer_store_get_time (store);
  const char *host, *lock_boot;
  JsonNode *node;
  gint64 pid = 0;

  if (orphan_remove (store, entry->name))
    return FALSE;
  /* Staleness by the store's clock: a lock not rewritten for 30 minutes. */
  if (now - entry->mtime > (gint64) COFFER_LOCK_STALE_SECONDS * G_USEC_PER_SEC)
    return FALSE;
  bytes = coffer_store_get_sync (store, entry->name, 0, -1, NULL, NULL, NULL);
  if (bytes == NULL || (object = coffer_json_parse_object (bytes, entry->name, NULL)) == NULL)
    return FALSE;
  /* Any job may have written it, or damage: a member of another type is
   * one the lock does not have. */
  node = json_object_get_member (object, "exclusive");
  *exclusive = node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
               json_node_get_value_type (node) != G_TYPE_BOOLEAN || json_node_get_boolean (node);
  host = coffer_json_get_string (object, "host", entry->name, NULL);
  lock_boot = coffer_json_get_string (object, "boot_id", entry->name, NULL);
  coffer_json_get_int (object, "pid", entry->name, &pid, NULL);
  if (g_strcmp0 (host, g_get_host_name ()) == 0 && g_strcmp0 (lock_boot, boot) == 0 && pid > 0 &&
      kill (pid, 0) != 0 && errno == ESRCH)
    {
      coffer_store_delete_sync (store, entry->name, NULL, NULL);
      return FALSE;
    }
  return TRUE;
}

static gpointer
refresh_thread (gpointer data)
{
  CofferLock *lock = data;
  gint64 deadline;

  g_mutex_lock (&lock->mutex);
  while (!lock->stop)
    {
      deadline = g_get_monotonic_time () + (gint64) COFFER_LOCK_REFRESH_SECONDS * G_USEC_PER_SEC;
      if (!g_cond_wait_until (&lock->cond, &lock->mutex, deadline) && !lock->stop)
        {
          g_autoptr (GError) error = NULL;
          if (!coffer_store_put_sync (coffer_vault_get_store (lock->vault), lock->name,
                                      lock->contents, COFFER_PUT_ALWAYS, NULL, NULL, NULL, &error))
            g_warning ("Cannot refresh the lock %s: %s", lock->name, error->message);
        }
    }
  g_mutex_unlock (&lock->mutex);
  return NULL;
}

/**
 * coffer_lock_take:
 * @vault: the vault
 * @machine_id: whose data to lock
 * @instance_id: this installation's instance id
 * @exclusive: %TRUE for prune, %FALSE for backups, checks and recoveries
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Takes a lock; %COFFER_ERROR_BUSY when a live lock conflicts.
 *
 * Returns: (transfer full): the lock; release it with coffer_lock_release()
 */
CofferLock *
coffer_lock_take (CofferVault *vault,
                  const char *machine_id,
                  const char *instance_id,
                  gboolean exclusive,
                  GCancellable *cancellable,
                  GError **error)
{
  CofferStore *store = coffer_vault_get_store (vault);
  g_autofree char *prefix = g_strdup_printf ("machines/%s/locks/", machine_id);
  g_autofree char *random = coffer_random_hex (16);
  g_autoptr (GPtrArray) entries = NULL;
  CofferLock *lock;

  entries = coffer_store_list_sync (store, prefix, cancellable, error);
  if (entries == NULL)
    return NULL;
  for (guint i = 0; i < entries->len; i++)
    {
      gboolean other_exclusive = TRUE;

      if (lock_is_live (store, g_ptr_array_index (entries, i), &other_exclusive) &&
          (exclusive || other_exclusive))
        {
          g_set_error (error, COFFER_ERROR, COFFER_ERROR_BUSY,
                       "The vault is locked by another job (%s); it is released when that job "
                       "ends, or after 30 minutes if its computer stopped.",
                       ((CofferStoreEntry *) g_ptr_array_index (entries, i))->name);
          return NULL;
        }
    }

  lock = g_new0 (CofferLock, 1);
  lock->vault = g_object_ref (vault);
  lock->name = g_strconcat (prefix, random, NULL);
  lock->contents = lock_json (instance_id, exclusive);
  g_mutex_init (&lock->mutex);
  g_cond_init (&lock->cond);
  if (!coffer_store_put_sync (store, lock->name, lock->contents, COFFER_PUT_IF_ABSENT, NULL, NULL,
                              cancellable, error))
    {
      g_prefix_error (error, "Cannot lock the vault: ");
      lock->stop = TRUE;
      coffer_lock_release (lock);
      return NULL;
    }
  lock->refresher = g_thread_new ("coffer-lock", refresh_thread, lock);
  return lock;
}

/**
 * coffer_lock_release:
 * @lock: (nullable): a lock
 *
 * Stops refreshing the lock and removes its object.
 */
void
coffer_lock_release (CofferLock *lock)
{
  g_autoptr (GError) error = NULL;

  if (lock == NULL)
    return;
  g_mutex_lock (&lock->mutex);
  lock->stop = TRUE;
  g_cond_broadcast (&lock->cond);
  g_mutex_unlock (&lock->mutex);
  if (lock->refresher != NULL)
    {
      g_thread_join (lock->refresher);
      if (!coffer_store_delete_sync (coffer_vault_get_store (lock->vault), lock->name, NULL,
                                     &error))
        {
          g_warning ("Cannot remove the lock %s: %s", lock->name, error->message);
          orphan_add (lock->name);
        }
    }
  g_object_unref (lock->vault);
  g_bytes_unref (lock->contents);
  g_free (lock->name);
  g_mutex_clear (&lock->mutex);
  g_cond_clear (&lock->cond);
  g_free (lock);
}
