/* coffer-throttled-store.c: a store that passes every byte through a throttle.
 *
 * It wraps another store and implements the same interface: every byte of
 * an object put to, or read from, the inner store is taken from the
 * throttle's bucket. So that bytes reach the vault at an even rate rather
 * than an object at a time (a pack is 16 MiB: half a minute at 4 Mbps), the
 * inner store may pace itself: while it runs a call from this store, its
 * coffer_store_pace() calls wait on this store's throttle (the local store
 * calls it before writing and after reading each piece). Whatever bytes the
 * inner store did not pace are taken when its call returns. Listings, stats
 * and deletes move no object bytes and are not throttled.
 */
#include "config.h"

#include "coffer-throttled-store.h"

struct _CofferThrottledStore
{
  GObject parent_instance;

  CofferStore *inner;
  CofferThrottle *throttle;
};

static void coffer_throttled_store_iface_init (CofferStoreInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (CofferThrottledStore,
                               coffer_throttled_store,
                               G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (COFFER_TYPE_STORE,
                                                      coffer_throttled_store_iface_init))

/* The throttle of the call running in this thread, if any. */
typedef struct
{
  CofferThrottle *throttle;
  guint64 paced;
} Pacer;

static GPrivate current_pacer;

/**
 * coffer_store_pace:
 * @bytes: how many bytes the store is about to write or read
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * For store implementations: called as an object's bytes move. Inside a
 * call from a throttled store, waits until its throttle allows @bytes;
 * otherwise returns at once.
 *
 * Returns: %FALSE when @cancellable was cancelled while waiting
 */
gboolean
coffer_store_pace (gsize bytes, GCancellable *cancellable, GError **error)
{
  Pacer *pacer = g_private_get (&current_pacer);

  if (pacer == NULL)
    return TRUE;
  pacer->paced += bytes;
  return coffer_throttle_consume (pacer->throttle, bytes, cancellable, error);
}

/**
 * coffer_store_pace_piece_size:
 * @max: the piece size the store uses unthrottled
 *
 * Returns: how many bytes to move between two calls of coffer_store_pace():
 *   @max, or less when a throttle needs smaller pieces to keep the flow even
 */
gsize
coffer_store_pace_piece_size (gsize max)
{
  Pacer *pacer = g_private_get (&current_pacer);

  if (pacer == NULL)
    return max;
  return MIN (max, coffer_throttle_get_piece_size (pacer->throttle));
}

struct _CofferStorePacer
{
  gint ref_count;
  CofferThrottle *throttle;
};

/**
 * coffer_store_pacer_claim:
 * @bytes: how many bytes the store will pace through the handle
 *
 * For store implementations whose bytes move in another thread: inside a
 * call from a throttled store, takes @bytes off what the throttled store
 * would pace when the call returns, and gives a handle that paces them from
 * any thread.
 *
 * Returns: (transfer full) (nullable): the handle; %NULL outside a
 *   throttled call, or while throttling is off (the bytes are then taken,
 *   at no wait, when the call returns)
 */
CofferStorePacer *
coffer_store_pacer_claim (gsize bytes)
{
  Pacer *current = g_private_get (&current_pacer);
  CofferStorePacer *pacer;

  if (current == NULL || coffer_throttle_get_current_bps (current->throttle) == 0)
    return NULL;
  current->paced += bytes;
  pacer = g_new0 (CofferStorePacer, 1);
  pacer->ref_count = 1;
  pacer->throttle = g_object_ref (current->throttle);
  return pacer;
}

/**
 * coffer_store_pacer_pace:
 * @pacer: a handle from coffer_store_pacer_claim()
 * @bytes: how many bytes are about to move
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Waits until the throttle allows @bytes. Blocks: never call it from a
 * thread that runs a main loop others wait on.
 */
gboolean
coffer_store_pacer_pace (CofferStorePacer *pacer,
                         gsize bytes,
                         GCancellable *cancellable,
                         GError **error)
{
  g_return_val_if_fail (pacer != NULL, FALSE);
  return coffer_throttle_consume (pacer->throttle, bytes, cancellable, error);
}

/**
 * coffer_store_pacer_piece_size:
 * @pacer: a handle from coffer_store_pacer_claim()
 *
 * Returns: how many bytes to move between two calls of
 *   coffer_store_pacer_pace()
 */
gsize
coffer_store_pacer_piece_size (CofferStorePacer *pacer)
{
  g_return_val_if_fail (pacer != NULL, 65536);
  return coffer_throttle_get_piece_size (pacer->throttle);
}

CofferStorePacer *
coffer_store_pacer_ref (CofferStorePacer *pacer)
{
  g_atomic_int_inc (&pacer->ref_count);
  return pacer;
}

void
coffer_store_pacer_unref (CofferStorePacer *pacer)
{
  if (pacer == NULL || !g_atomic_int_dec_and_test (&pacer->ref_count))
    return;
  g_object_unref (pacer->throttle);
  g_free (pacer);
}

static void
pacer_begin (CofferThrottledStore *self, Pacer *pacer, Pacer **outer)
{
  pacer->throttle = self->throttle;
  pacer->paced = 0;
  *outer = g_private_get (&current_pacer);
  g_private_set (&current_pacer, pacer);
}

static void
pacer_end (Pacer *outer)
{
  g_private_set (&current_pacer, outer);
}

static char *
throttled_describe (CofferStore *store)
{
  return coffer_store_describe (COFFER_THROTTLED_STORE (store)->inner);
}

static gboolean
throttled_put (CofferStore *store,
               const char *name,
               GBytes *bytes,
               CofferPutMode mode,
               const char *if_match_etag,
               char **out_etag,
               GCancellable *cancellable,
               GError **error)
{
  CofferThrottledStore *self = COFFER_THROTTLED_STORE (store);
  gsize size = g_bytes_get_size (bytes);
  Pacer pacer, *outer;
  gboolean ok;

  pacer_begin (self, &pacer, &outer);
  ok = coffer_store_put_sync (self->inner, name, bytes, mode, if_match_etag, out_etag, cancellable,
                              error);
  pacer_end (outer);
  /* The object is written whatever happens now: what the inner store did not
   * pace is paid for in full. A put that failed or was cancelled moved only
   * what it paced; charging the rest would make the next transfer (the
   * index a cancelled backup still writes) wait for bytes never sent. */
  if (ok && pacer.paced < size)
    coffer_throttle_consume (self->throttle, size - pacer.paced, NULL, NULL);
  return ok;
}

static GBytes *
throttled_get (CofferStore *store,
               const char *name,
               guint64 offset,
               gssize length,
               char **out_etag,
               GCancellable *cancellable,
               GError **error)
{
  CofferThrottledStore *self = COFFER_THROTTLED_STORE (store);
  g_autoptr (GBytes) bytes = NULL;
  Pacer pacer, *outer;

  pacer_begin (self, &pacer, &outer);
  bytes = coffer_store_get_sync (self->inner, name, offset, length, out_etag, cancellable, error);
  pacer_end (outer);
  if (bytes != NULL && pacer.paced < g_bytes_get_size (bytes) &&
      !coffer_throttle_consume (self->throttle, g_bytes_get_size (bytes) - pacer.paced, cancellable,
                                error))
    return NULL;
  return g_steal_pointer (&bytes);
}

static GPtrArray *
throttled_list (CofferStore *store, const char *prefix, GCancellable *cancellable, GError **error)
{
  return coffer_store_list_sync (COFFER_THROTTLED_STORE (store)->inner, prefix, cancellable, error);
}

static CofferStoreEntry *
throttled_stat (CofferStore *store, const char *name, GCancellable *cancellable, GError **error)
{
  return coffer_store_stat_sync (COFFER_THROTTLED_STORE (store)->inner, name, cancellable, error);
}

static gboolean
throttled_delete (CofferStore *store, const char *name, GCancellable *cancellable, GError **error)
{
  return coffer_store_delete_sync (COFFER_THROTTLED_STORE (store)->inner, name, cancellable, error);
}

static gboolean
throttled_move (CofferStore *store,
                const char *name,
                const char *new_name,
                GCancellable *cancellable,
                GError **error)
{
  return coffer_store_move_sync (COFFER_THROTTLED_STORE (store)->inner, name, new_name, cancellable,
                                 error);
}

static guint
throttled_get_concurrency (CofferStore *store)
{
  return coffer_store_get_concurrency (COFFER_THROTTLED_STORE (store)->inner);
}

static guint
throttled_get_retries (CofferStore *store)
{
  return coffer_store_get_retries (COFFER_THROTTLED_STORE (store)->inner);
}

static gint64
throttled_get_time (CofferStore *store)
{
  return coffer_store_get_time (COFFER_THROTTLED_STORE (store)->inner);
}

static void
coffer_throttled_store_iface_init (CofferStoreInterface *iface)
{
  iface->describe = throttled_describe;
  iface->put = throttled_put;
  iface->get = throttled_get;
  iface->list = throttled_list;
  iface->stat = throttled_stat;
  iface->delete = throttled_delete;
  iface->move = throttled_move;
  iface->get_concurrency = throttled_get_concurrency;
  iface->get_retries = throttled_get_retries;
  iface->get_time = throttled_get_time;
}

static void
coffer_throttled_store_dispose (GObject *object)
{
  CofferThrottledStore *self = COFFER_THROTTLED_STORE (object);

  g_clear_object (&self->inner);
  g_clear_object (&self->throttle);

  G_OBJECT_CLASS (coffer_throttled_store_parent_class)->dispose (object);
}

static void
coffer_throttled_store_class_init (CofferThrottledStoreClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = coffer_throttled_store_dispose;
}

static void
coffer_throttled_store_init (CofferThrottledStore *self)
{
}

/**
 * coffer_throttled_store_new:
 * @inner: the store to reach
 * @throttle: the throttle every byte passes through (shared, so a change of
 *   its settings reaches every transfer)
 *
 * Returns: (transfer full): a store with the interface of @inner, throttled
 */
CofferStore *
coffer_throttled_store_new (CofferStore *inner, CofferThrottle *throttle)
{
  CofferThrottledStore *self;

  g_return_val_if_fail (COFFER_IS_STORE (inner), NULL);
  g_return_val_if_fail (COFFER_IS_THROTTLE (throttle), NULL);

  self = g_object_new (COFFER_TYPE_THROTTLED_STORE, NULL);
  self->inner = g_object_ref (inner);
  self->throttle = g_object_ref (throttle);
  return COFFER_STORE (self);
}

/**
 * coffer_throttled_store_get_inner:
 * @self: a #CofferThrottledStore
 *
 * Returns: (transfer none): the store it wraps
 */
CofferStore *
coffer_throttled_store_get_inner (CofferThrottledStore *self)
{
  g_return_val_if_fail (COFFER_IS_THROTTLED_STORE (self), NULL);
  return self->inner;
}
