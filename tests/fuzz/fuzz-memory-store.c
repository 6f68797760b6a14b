/* fuzz-memory-store.c: a CofferStore held in memory, so that the harnesses
 * reach the parsers behind a store (vault.json, machine.json, recovery
 * points, credentials/current, config, locks) through their public
 * functions, without a file written per input. Objects are GBytes by name;
 * etags count puts; an object's mtime is when it was put. */
#include "config.h"

#include "fuzz-common.h"

#include <string.h>

#define FUZZ_TYPE_MEMORY_STORE (fuzz_memory_store_get_type ())
G_DECLARE_FINAL_TYPE (FuzzMemoryStore, fuzz_memory_store, FUZZ, MEMORY_STORE, GObject)

typedef struct
{
  GBytes *bytes;
  char *etag;
  gint64 mtime;
} Object;

struct _FuzzMemoryStore
{
  GObject parent_instance;

  GMutex lock;
  GHashTable *objects; /* name → Object */
  guint64 puts;
};

static void fuzz_memory_store_iface_init (CofferStoreInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (FuzzMemoryStore,
                               fuzz_memory_store,
                               G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (COFFER_TYPE_STORE,
                                                      fuzz_memory_store_iface_init))

static void
object_free (gpointer data)
{
  Object *object = data;

  g_bytes_unref (object->bytes);
  g_free (object->etag);
  g_free (object);
}

static void
set_object (FuzzMemoryStore *self, const char *name, GBytes *bytes)
{
  Object *object = g_new0 (Object, 1);

  object->bytes = g_bytes_ref (bytes);
  object->mtime = g_get_real_time ();
  object->etag = g_strdup_printf ("\"%" G_GUINT64_FORMAT "\"", ++self->puts);
  g_hash_table_replace (self->objects, g_strdup (name), object);
}

static char *
memory_describe (CofferStore *store)
{
  return g_strdup ("memory");
}

static gboolean
memory_put (CofferStore *store,
            const char *name,
            GBytes *bytes,
            CofferPutMode mode,
            const char *if_match_etag,
            char **out_etag,
            GCancellable *cancellable,
            GError **error)
{
  FuzzMemoryStore *self = FUZZ_MEMORY_STORE (store);
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  Object *object = g_hash_table_lookup (self->objects, name);

  if (mode == COFFER_PUT_IF_ABSENT && object != NULL)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_EXISTS, "%s exists", name);
      return FALSE;
    }
  if (mode == COFFER_PUT_IF_MATCH && object == NULL)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND, "%s does not exist", name);
      return FALSE;
    }
  if (mode == COFFER_PUT_IF_MATCH && g_strcmp0 (object->etag, if_match_etag) != 0)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_EXISTS, "%s changed meanwhile", name);
      return FALSE;
    }
  set_object (self, name, bytes);
  if (out_etag != NULL)
    *out_etag = g_strdup (((Object *) g_hash_table_lookup (self->objects, name))->etag);
  return TRUE;
}

static GBytes *
memory_get (CofferStore *store,
            const char *name,
            guint64 offset,
            gssize length,
            char **out_etag,
            GCancellable *cancellable,
            GError **error)
{
  FuzzMemoryStore *self = FUZZ_MEMORY_STORE (store);
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  Object *object = g_hash_table_lookup (self->objects, name);
  gsize size;

  if (object == NULL)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND, "%s does not exist", name);
      return NULL;
    }
  size = g_bytes_get_size (object->bytes);
  if (offset > size)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT, "%s is shorter", name);
      return NULL;
    }
  if (out_etag != NULL)
    *out_etag = g_strdup (object->etag);
  if (length < 0 || (guint64) length > size - offset)
    length = size - offset;
  return g_bytes_new_from_bytes (object->bytes, offset, length);
}

static CofferStoreEntry *
entry_new (const char *name, Object *object)
{
  CofferStoreEntry *entry = g_new0 (CofferStoreEntry, 1);

  entry->name = g_strdup (name);
  entry->size = g_bytes_get_size (object->bytes);
  entry->mtime = object->mtime;
  entry->etag = g_strdup (object->etag);
  return entry;
}

static int
compare_entries (gconstpointer a, gconstpointer b)
{
  const CofferStoreEntry *x = *(const CofferStoreEntry *const *) a;
  const CofferStoreEntry *y = *(const CofferStoreEntry *const *) b;

  return strcmp (x->name, y->name);
}

static GPtrArray *
memory_list (CofferStore *store, const char *prefix, GCancellable *cancellable, GError **error)
{
  FuzzMemoryStore *self = FUZZ_MEMORY_STORE (store);
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  GPtrArray *entries = g_ptr_array_new_with_free_func ((GDestroyNotify) coffer_store_entry_free);
  GHashTableIter iter;
  gpointer name, object;

  g_hash_table_iter_init (&iter, self->objects);
  while (g_hash_table_iter_next (&iter, &name, &object))
    if (g_str_has_prefix (name, prefix))
      g_ptr_array_add (entries, entry_new (name, object));
  g_ptr_array_sort (entries, compare_entries);
  return entries;
}

static CofferStoreEntry *
memory_stat (CofferStore *store, const char *name, GCancellable *cancellable, GError **error)
{
  FuzzMemoryStore *self = FUZZ_MEMORY_STORE (store);
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  Object *object = g_hash_table_lookup (self->objects, name);

  if (object == NULL)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND, "%s does not exist", name);
      return NULL;
    }
  return entry_new (name, object);
}

static gboolean
memory_delete (CofferStore *store, const char *name, GCancellable *cancellable, GError **error)
{
  FuzzMemoryStore *self = FUZZ_MEMORY_STORE (store);
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&self->lock);

  if (!g_hash_table_remove (self->objects, name))
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND, "%s does not exist", name);
      return FALSE;
    }
  return TRUE;
}

static void
fuzz_memory_store_iface_init (CofferStoreInterface *iface)
{
  iface->describe = memory_describe;
  iface->put = memory_put;
  iface->get = memory_get;
  iface->list = memory_list;
  iface->stat = memory_stat;
  iface->delete = memory_delete;
}

static void
fuzz_memory_store_finalize (GObject *object)
{
  FuzzMemoryStore *self = FUZZ_MEMORY_STORE (object);

  g_hash_table_unref (self->objects);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (fuzz_memory_store_parent_class)->finalize (object);
}

static void
fuzz_memory_store_class_init (FuzzMemoryStoreClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = fuzz_memory_store_finalize;
}

static void
fuzz_memory_store_init (FuzzMemoryStore *self)
{
  g_mutex_init (&self->lock);
  self->objects = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, object_free);
}

/**
 * fuzz_memory_store_new:
 *
 * Returns: (transfer full): an empty store
 */
CofferStore *
fuzz_memory_store_new (void)
{
  return g_object_new (FUZZ_TYPE_MEMORY_STORE, NULL);
}

/**
 * fuzz_memory_store_set:
 * @store: a store from fuzz_memory_store_new()
 * @name: an object name
 * @bytes: its bytes
 *
 * Puts an object, whatever was there.
 */
void
fuzz_memory_store_set (CofferStore *store, const char *name, GBytes *bytes)
{
  FuzzMemoryStore *self = FUZZ_MEMORY_STORE (store);
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&self->lock);

  set_object (self, name, bytes);
}
