/* coffer-store.c: the object store interface, its argument checks and its
 * asynchronous variants.
 *
 * An implementation provides blocking operations only. The _sync wrappers
 * check the arguments once for every store: a bad name is refused here with
 * COFFER_ERROR_INVALID_ARGUMENT (names may come from data read back from a
 * vault, so that is an error, not a programming mistake), as is an object
 * larger than COFFER_STORE_MAX_OBJECT. The _async variants run the _sync
 * wrapper in a GTask thread.
 *
 * A task's result is what the operation did: a put that committed its object
 * reports success even when its cancellable was cancelled just afterwards
 * (g_task_set_check_cancellable (task, FALSE)), so that a caller never
 * believes a written object is missing. Cancellation is honoured by the
 * operation itself, before it commits.
 */
#include "config.h"

#include "coffer-store.h"

#include "coffer-error.h"

#include <string.h>

G_DEFINE_INTERFACE (CofferStore, coffer_store, G_TYPE_OBJECT)

static void
coffer_store_default_init (CofferStoreInterface *iface)
{
}

/**
 * coffer_store_entry_free:
 * @entry: (nullable): an entry
 *
 * Frees @entry and its strings.
 */
void
coffer_store_entry_free (CofferStoreEntry *entry)
{
  if (entry == NULL)
    return;

  g_free (entry->name);
  g_free (entry->etag);
  g_free (entry);
}

/* Checks the components of @path. A component followed by '/' must be a
 * whole name component: not empty, not "." or "..". The text after the last
 * '/' is checked as a whole component only when @last_is_whole. */
static gboolean
components_are_valid (const char *path, gboolean last_is_whole)
{
  const char *component = path;

  for (;;)
    {
      const char *slash = strchr (component, '/');
      size_t length = slash != NULL ? (size_t) (slash - component) : strlen (component);
      gboolean whole = slash != NULL || last_is_whole;

      if (whole)
        {
          if (length == 0)
            return FALSE;
          if (length == 1 && component[0] == '.')
            return FALSE;
          if (length == 2 && component[0] == '.' && component[1] == '.')
            return FALSE;
        }
      if (slash == NULL)
        return TRUE;
      component = slash + 1;
    }
}

static gboolean
text_is_acceptable (const char *text)
{
  size_t length = strlen (text);

  return length <= COFFER_STORE_MAX_NAME && strchr (text, '\\') == NULL &&
         g_utf8_validate (text, (gssize) length, NULL);
}

/**
 * coffer_store_name_is_valid:
 * @name: (nullable): an object name
 *
 * Whether @name can name an object in every store: a relative,
 * '/'-separated path of at most %COFFER_STORE_MAX_NAME bytes of UTF-8, with
 * no empty, "." or ".." component and no backslash.
 *
 * Returns: %TRUE when @name is acceptable
 */
gboolean
coffer_store_name_is_valid (const char *name)
{
  if (name == NULL || name[0] == '\0' || name[0] == '/')
    return FALSE;

  return text_is_acceptable (name) && components_are_valid (name, TRUE);
}

/**
 * coffer_store_prefix_is_valid:
 * @prefix: (nullable): a listing prefix
 *
 * Whether @prefix can select objects to list: "" (everything), or the start
 * of a valid name. It may end in '/' ("machines/") or in the middle of a
 * component ("machines/ab"); the components before its last '/' follow the
 * rules of coffer_store_name_is_valid().
 *
 * Returns: %TRUE when @prefix is acceptable
 */
gboolean
coffer_store_prefix_is_valid (const char *prefix)
{
  if (prefix == NULL)
    return FALSE;
  if (prefix[0] == '\0')
    return TRUE;
  if (prefix[0] == '/')
    return FALSE;

  return text_is_acceptable (prefix) && components_are_valid (prefix, FALSE);
}

static gboolean
check_name (const char *name, GError **error)
{
  g_autofree char *shown = NULL;

  if (coffer_store_name_is_valid (name))
    return TRUE;

  /* The message may travel over D-Bus, which only carries valid UTF-8. */
  shown = g_utf8_make_valid (name, -1);
  g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
               "“%s” is not a valid object name: names are relative, '/'-separated paths of at "
               "most %d bytes, without empty, “.” or “..” parts",
               shown, COFFER_STORE_MAX_NAME);
  return FALSE;
}

/**
 * coffer_store_describe:
 * @self: a store
 *
 * Returns: (transfer full): where the store is, for messages (a folder's
 *   path, a container's URL)
 */
char *
coffer_store_describe (CofferStore *self)
{
  CofferStoreInterface *iface;

  g_return_val_if_fail (COFFER_IS_STORE (self), NULL);

  iface = COFFER_STORE_GET_IFACE (self);
  if (iface->describe == NULL)
    return g_strdup (G_OBJECT_TYPE_NAME (self));
  return iface->describe (self);
}

/**
 * coffer_store_get_concurrency:
 * @self: a store
 *
 * How many operations are worth running at once: a network store serves
 * several requests in flight; a local folder gains little past two.
 *
 * Returns: the number of concurrent operations, at least 1
 */
guint
coffer_store_get_concurrency (CofferStore *self)
{
  CofferStoreInterface *iface;

  g_return_val_if_fail (COFFER_IS_STORE (self), 1);

  iface = COFFER_STORE_GET_IFACE (self);
  if (iface->get_concurrency == NULL)
    return 2;
  return MAX (1, iface->get_concurrency (self));
}

/**
 * coffer_store_get_retries:
 * @self: a store
 *
 * Which retry of a failed request is under way, for a job to show
 * "retrying (n)" while the store cannot be reached.
 *
 * Returns: the retry's number, or 0 when the store is not retrying
 */
guint
coffer_store_get_retries (CofferStore *self)
{
  CofferStoreInterface *iface;

  g_return_val_if_fail (COFFER_IS_STORE (self), 0);

  iface = COFFER_STORE_GET_IFACE (self);
  return iface->get_retries != NULL ? iface->get_retries (self) : 0;
}

/**
 * coffer_store_get_time:
 * @self: a store
 *
 * The time by the store's clock, the one its entries' mtimes come from: the
 * machine's for a folder, the service's (from its last answer's Date) for a
 * network store. Lock staleness is judged by it.
 *
 * Returns: the store's time, Unix microseconds
 */
gint64
coffer_store_get_time (CofferStore *self)
{
  CofferStoreInterface *iface;

  g_return_val_if_fail (COFFER_IS_STORE (self), g_get_real_time ());

  iface = COFFER_STORE_GET_IFACE (self);
  return iface->get_time != NULL ? iface->get_time (self) : g_get_real_time ();
}

/**
 * coffer_store_put_sync:
 * @self: a store
 * @name: the object's name
 * @bytes: its content, at most %COFFER_STORE_MAX_OBJECT bytes
 * @mode: when to write it
 * @if_match_etag: (nullable): the expected etag, for %COFFER_PUT_IF_MATCH only
 * @out_etag: (out) (optional): the new object's etag
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Writes an object atomically: a reader sees the old object or the new one.
 *
 * Returns: %TRUE when the object was written
 */
gboolean
coffer_store_put_sync (CofferStore *self,
                       const char *name,
                       GBytes *bytes,
                       CofferPutMode mode,
                       const char *if_match_etag,
                       char **out_etag,
                       GCancellable *cancellable,
                       GError **error)
{
  g_return_val_if_fail (COFFER_IS_STORE (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (bytes != NULL, FALSE);
  g_return_val_if_fail (mode == COFFER_PUT_ALWAYS || mode == COFFER_PUT_IF_ABSENT ||
                            mode == COFFER_PUT_IF_MATCH,
                        FALSE);
  g_return_val_if_fail ((mode == COFFER_PUT_IF_MATCH) == (if_match_etag != NULL), FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (out_etag != NULL)
    *out_etag = NULL;
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  if (!check_name (name, error))
    return FALSE;
  if (g_bytes_get_size (bytes) > COFFER_STORE_MAX_OBJECT)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "%s is %" G_GSIZE_FORMAT " bytes, more than the largest object a vault "
                   "holds (%d bytes)",
                   name, g_bytes_get_size (bytes), COFFER_STORE_MAX_OBJECT);
      return FALSE;
    }

  return COFFER_STORE_GET_IFACE (self)->put (self, name, bytes, mode, if_match_etag, out_etag,
                                             cancellable, error);
}

/**
 * coffer_store_get_sync:
 * @self: a store
 * @name: the object's name
 * @offset: where to start reading
 * @length: how many bytes to read at most, or -1 for all up to the end
 * @out_etag: (out) (optional): the etag of the object the bytes come from
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Reads an object or a part of it. Fewer than @length bytes come back when
 * the object ends first; an @offset past the end is
 * %COFFER_ERROR_INVALID_ARGUMENT (range not satisfiable), an @offset at the
 * end gives empty bytes.
 *
 * Returns: (transfer full): the bytes, or %NULL on error
 */
GBytes *
coffer_store_get_sync (CofferStore *self,
                       const char *name,
                       guint64 offset,
                       gssize length,
                       char **out_etag,
                       GCancellable *cancellable,
                       GError **error)
{
  g_return_val_if_fail (COFFER_IS_STORE (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (length >= -1, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (out_etag != NULL)
    *out_etag = NULL;
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  if (!check_name (name, error))
    return NULL;

  return COFFER_STORE_GET_IFACE (self)->get (self, name, offset, length, out_etag, cancellable,
                                             error);
}

/**
 * coffer_store_list_sync:
 * @self: a store
 * @prefix: "" for every object, or the start of the names to list
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Lists every object whose name starts with @prefix, at any depth.
 *
 * Returns: (transfer container) (element-type CofferStoreEntry): the
 *   entries sorted by name (byte order), or %NULL on error
 */
GPtrArray *
coffer_store_list_sync (CofferStore *self,
                        const char *prefix,
                        GCancellable *cancellable,
                        GError **error)
{
  g_return_val_if_fail (COFFER_IS_STORE (self), NULL);
  g_return_val_if_fail (prefix != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  if (!coffer_store_prefix_is_valid (prefix))
    {
      g_autofree char *shown = g_utf8_make_valid (prefix, -1);

      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "“%s” is not a valid prefix of object names", shown);
      return NULL;
    }

  return COFFER_STORE_GET_IFACE (self)->list (self, prefix, cancellable, error);
}

/**
 * coffer_store_stat_sync:
 * @self: a store
 * @name: the object's name
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the object's entry, or %NULL with
 *   %COFFER_ERROR_NOT_FOUND when it does not exist
 */
CofferStoreEntry *
coffer_store_stat_sync (CofferStore *self,
                        const char *name,
                        GCancellable *cancellable,
                        GError **error)
{
  g_return_val_if_fail (COFFER_IS_STORE (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  if (!check_name (name, error))
    return NULL;

  return COFFER_STORE_GET_IFACE (self)->stat (self, name, cancellable, error);
}

/**
 * coffer_store_delete_sync:
 * @self: a store
 * @name: the object's name
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Deletes an object. Deleting an object that does not exist succeeds.
 *
 * Returns: %TRUE when the object is gone
 */
gboolean
coffer_store_delete_sync (CofferStore *self,
                          const char *name,
                          GCancellable *cancellable,
                          GError **error)
{
  g_return_val_if_fail (COFFER_IS_STORE (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  if (!check_name (name, error))
    return FALSE;

  return COFFER_STORE_GET_IFACE (self)->delete (self, name, cancellable, error);
}

/**
 * coffer_store_move_sync:
 * @self: a #CofferStore
 * @name: an object's name
 * @new_name: the name it gets; nothing may have it yet
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Moves an object to another name: repair puts what it cannot use out of
 * the way this way, never deleting it. The object is copied first and
 * deleted once the copy is stored, unless the store can rename.
 *
 * Returns: %TRUE when moved; %COFFER_ERROR_NOT_FOUND when there is nothing
 *   at @name, %COFFER_ERROR_EXISTS when @new_name is taken
 */
gboolean
coffer_store_move_sync (CofferStore *self,
                        const char *name,
                        const char *new_name,
                        GCancellable *cancellable,
                        GError **error)
{
  CofferStoreInterface *iface;
  g_autoptr (GBytes) bytes = NULL;

  g_return_val_if_fail (COFFER_IS_STORE (self), FALSE);
  g_return_val_if_fail (name != NULL && new_name != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  if (!check_name (name, error) || !check_name (new_name, error))
    return FALSE;

  iface = COFFER_STORE_GET_IFACE (self);
  if (iface->move != NULL)
    return iface->move (self, name, new_name, cancellable, error);

  bytes = coffer_store_get_sync (self, name, 0, -1, NULL, cancellable, error);
  if (bytes == NULL || !coffer_store_put_sync (self, new_name, bytes, COFFER_PUT_IF_ABSENT, NULL,
                                               NULL, cancellable, error))
    return FALSE;
  return coffer_store_delete_sync (self, name, cancellable, error);
}

/* The arguments of one asynchronous operation, and the etag it produced,
 * which the _finish functions hand over. */
typedef struct
{
  char *name;
  GBytes *bytes;
  CofferPutMode mode;
  char *if_match_etag;
  guint64 offset;
  gssize length;
  char *out_etag;
} Operation;

static void
operation_free (Operation *op)
{
  g_free (op->name);
  g_clear_pointer (&op->bytes, g_bytes_unref);
  g_free (op->if_match_etag);
  g_free (op->out_etag);
  g_free (op);
}

static GTask *
operation_task_new (CofferStore *self,
                    const char *name,
                    GCancellable *cancellable,
                    GAsyncReadyCallback callback,
                    gpointer user_data,
                    gpointer source_tag,
                    Operation **out_op)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  Operation *op = g_new0 (Operation, 1);

  op->name = g_strdup (name);
  g_task_set_source_tag (task, source_tag);
  g_task_set_check_cancellable (task, FALSE);
  g_task_set_task_data (task, op, (GDestroyNotify) operation_free);
  *out_op = op;
  return task;
}

/* Hands the etag kept in @result's task data to @out_etag. */
static void
steal_etag (GAsyncResult *result, char **out_etag)
{
  Operation *op = g_task_get_task_data (G_TASK (result));

  if (out_etag != NULL)
    *out_etag = g_steal_pointer (&op->out_etag);
}

static void
put_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  Operation *op = task_data;
  GError *error = NULL;

  if (coffer_store_put_sync (source, op->name, op->bytes, op->mode, op->if_match_etag,
                             &op->out_etag, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/**
 * coffer_store_put_async:
 * @self: a store
 * @name: the object's name
 * @bytes: its content
 * @mode: when to write it
 * @if_match_etag: (nullable): the expected etag, for %COFFER_PUT_IF_MATCH only
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the put is done
 * @user_data: data for @callback
 *
 * Runs coffer_store_put_sync() in a worker thread.
 */
void
coffer_store_put_async (CofferStore *self,
                        const char *name,
                        GBytes *bytes,
                        CofferPutMode mode,
                        const char *if_match_etag,
                        GCancellable *cancellable,
                        GAsyncReadyCallback callback,
                        gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  Operation *op;

  g_return_if_fail (COFFER_IS_STORE (self));
  g_return_if_fail (name != NULL);
  g_return_if_fail (bytes != NULL);
  g_return_if_fail ((mode == COFFER_PUT_IF_MATCH) == (if_match_etag != NULL));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = operation_task_new (self, name, cancellable, callback, user_data, coffer_store_put_async,
                             &op);
  op->bytes = g_bytes_ref (bytes);
  op->mode = mode;
  op->if_match_etag = g_strdup (if_match_etag);
  g_task_run_in_thread (task, put_thread);
}

/**
 * coffer_store_put_finish:
 * @self: a store
 * @result: the #GAsyncResult given to the callback
 * @out_etag: (out) (optional): the new object's etag
 * @error: return location for a #GError
 *
 * Returns: %TRUE when the object was written
 */
gboolean
coffer_store_put_finish (CofferStore *self, GAsyncResult *result, char **out_etag, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_async_result_is_tagged (result, coffer_store_put_async), FALSE);

  if (out_etag != NULL)
    *out_etag = NULL;
  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;
  steal_etag (result, out_etag);
  return TRUE;
}

static void
get_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  Operation *op = task_data;
  GError *error = NULL;
  GBytes *bytes;

  bytes = coffer_store_get_sync (source, op->name, op->offset, op->length, &op->out_etag,
                                 cancellable, &error);
  if (bytes != NULL)
    g_task_return_pointer (task, bytes, (GDestroyNotify) g_bytes_unref);
  else
    g_task_return_error (task, error);
}

/**
 * coffer_store_get_async:
 * @self: a store
 * @name: the object's name
 * @offset: where to start reading
 * @length: how many bytes to read at most, or -1 for all up to the end
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the bytes are read
 * @user_data: data for @callback
 *
 * Runs coffer_store_get_sync() in a worker thread.
 */
void
coffer_store_get_async (CofferStore *self,
                        const char *name,
                        guint64 offset,
                        gssize length,
                        GCancellable *cancellable,
                        GAsyncReadyCallback callback,
                        gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  Operation *op;

  g_return_if_fail (COFFER_IS_STORE (self));
  g_return_if_fail (name != NULL);
  g_return_if_fail (length >= -1);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = operation_task_new (self, name, cancellable, callback, user_data, coffer_store_get_async,
                             &op);
  op->offset = offset;
  op->length = length;
  g_task_run_in_thread (task, get_thread);
}

/**
 * coffer_store_get_finish:
 * @self: a store
 * @result: the #GAsyncResult given to the callback
 * @out_etag: (out) (optional): the etag of the object the bytes come from
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the bytes, or %NULL on error
 */
GBytes *
coffer_store_get_finish (CofferStore *self, GAsyncResult *result, char **out_etag, GError **error)
{
  GBytes *bytes;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result, coffer_store_get_async), NULL);

  if (out_etag != NULL)
    *out_etag = NULL;
  bytes = g_task_propagate_pointer (G_TASK (result), error);
  if (bytes != NULL)
    steal_etag (result, out_etag);
  return bytes;
}

static void
list_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  Operation *op = task_data;
  GError *error = NULL;
  GPtrArray *entries;

  entries = coffer_store_list_sync (source, op->name, cancellable, &error);
  if (entries != NULL)
    g_task_return_pointer (task, entries, (GDestroyNotify) g_ptr_array_unref);
  else
    g_task_return_error (task, error);
}

/**
 * coffer_store_list_async:
 * @self: a store
 * @prefix: "" for every object, or the start of the names to list
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the listing is done
 * @user_data: data for @callback
 *
 * Runs coffer_store_list_sync() in a worker thread.
 */
void
coffer_store_list_async (CofferStore *self,
                         const char *prefix,
                         GCancellable *cancellable,
                         GAsyncReadyCallback callback,
                         gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  Operation *op;

  g_return_if_fail (COFFER_IS_STORE (self));
  g_return_if_fail (prefix != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  /* The prefix travels in the name field. */
  task = operation_task_new (self, prefix, cancellable, callback, user_data,
                             coffer_store_list_async, &op);
  g_task_run_in_thread (task, list_thread);
}

/**
 * coffer_store_list_finish:
 * @self: a store
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Returns: (transfer container) (element-type CofferStoreEntry): the
 *   entries sorted by name, or %NULL on error
 */
GPtrArray *
coffer_store_list_finish (CofferStore *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result, coffer_store_list_async), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
stat_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  Operation *op = task_data;
  GError *error = NULL;
  CofferStoreEntry *entry;

  entry = coffer_store_stat_sync (source, op->name, cancellable, &error);
  if (entry != NULL)
    g_task_return_pointer (task, entry, (GDestroyNotify) coffer_store_entry_free);
  else
    g_task_return_error (task, error);
}

/**
 * coffer_store_stat_async:
 * @self: a store
 * @name: the object's name
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the entry is known
 * @user_data: data for @callback
 *
 * Runs coffer_store_stat_sync() in a worker thread.
 */
void
coffer_store_stat_async (CofferStore *self,
                         const char *name,
                         GCancellable *cancellable,
                         GAsyncReadyCallback callback,
                         gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  Operation *op;

  g_return_if_fail (COFFER_IS_STORE (self));
  g_return_if_fail (name != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = operation_task_new (self, name, cancellable, callback, user_data, coffer_store_stat_async,
                             &op);
  g_task_run_in_thread (task, stat_thread);
}

/**
 * coffer_store_stat_finish:
 * @self: a store
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the object's entry, or %NULL on error
 */
CofferStoreEntry *
coffer_store_stat_finish (CofferStore *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result, coffer_store_stat_async), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
delete_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  Operation *op = task_data;
  GError *error = NULL;

  if (coffer_store_delete_sync (source, op->name, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/**
 * coffer_store_delete_async:
 * @self: a store
 * @name: the object's name
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the object is gone
 * @user_data: data for @callback
 *
 * Runs coffer_store_delete_sync() in a worker thread.
 */
void
coffer_store_delete_async (CofferStore *self,
                           const char *name,
                           GCancellable *cancellable,
                           GAsyncReadyCallback callback,
                           gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  Operation *op;

  g_return_if_fail (COFFER_IS_STORE (self));
  g_return_if_fail (name != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = operation_task_new (self, name, cancellable, callback, user_data,
                             coffer_store_delete_async, &op);
  g_task_run_in_thread (task, delete_thread);
}

/**
 * coffer_store_delete_finish:
 * @self: a store
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Returns: %TRUE when the object is gone
 */
gboolean
coffer_store_delete_finish (CofferStore *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_async_result_is_tagged (result, coffer_store_delete_async), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
