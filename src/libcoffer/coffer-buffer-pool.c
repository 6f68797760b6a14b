/* coffer-buffer-pool.c: large buffers kept for reuse.
 *
 * A backup fills a 16 MiB pack buffer every few tenths of a second. Freed
 * and allocated again, each one comes back from the kernel as fresh pages,
 * and faulting them in cost as much as a tenth of a backup's CPU time. A
 * pool keeps a few buffers of one size for the next user instead; what it
 * keeps is freed with the pool, when the last buffer it lent comes back.
 * Buffers start on a page boundary, so a local vault can write a pack from
 * one with direct I/O (coffer-local-store.c).
 */
#include "config.h"

#include "coffer-buffer-pool.h"

#include <stdlib.h>

struct _CofferBufferPool
{
  gint ref_count;
  gsize buffer_size;
  guint max_kept;
  GMutex lock;
  GPtrArray *kept; /* guarded by lock */
};

/**
 * coffer_buffer_pool_new:
 * @buffer_size: the size of every buffer the pool lends
 * @max_kept: how many returned buffers it keeps at most; more are freed
 *
 * Returns: (transfer full): a pool, thread-safe
 */
CofferBufferPool *
coffer_buffer_pool_new (gsize buffer_size, guint max_kept)
{
  CofferBufferPool *pool;

  g_return_val_if_fail (buffer_size > 0, NULL);

  pool = g_new0 (CofferBufferPool, 1);
  pool->ref_count = 1;
  pool->buffer_size = buffer_size;
  pool->max_kept = max_kept;
  g_mutex_init (&pool->lock);
  pool->kept = g_ptr_array_new_with_free_func (g_free);
  return pool;
}

CofferBufferPool *
coffer_buffer_pool_ref (CofferBufferPool *pool)
{
  g_return_val_if_fail (pool != NULL, NULL);

  g_atomic_int_inc (&pool->ref_count);
  return pool;
}

void
coffer_buffer_pool_unref (CofferBufferPool *pool)
{
  if (pool == NULL || !g_atomic_int_dec_and_test (&pool->ref_count))
    return;

  g_ptr_array_unref (pool->kept);
  g_mutex_clear (&pool->lock);
  g_free (pool);
}

gsize
coffer_buffer_pool_get_buffer_size (CofferBufferPool *pool)
{
  g_return_val_if_fail (pool != NULL, 0);

  return pool->buffer_size;
}

/**
 * coffer_buffer_pool_take:
 * @pool: a pool
 *
 * Returns: (transfer full): a buffer of the pool's size, aligned to
 *   %COFFER_BUFFER_POOL_ALIGNMENT bytes, one given back before when there is
 *   one; its bytes are not cleared. Give it back with
 *   coffer_buffer_pool_give(), or free it with g_free().
 */
guint8 *
coffer_buffer_pool_take (CofferBufferPool *pool)
{
  guint8 *buffer = NULL;

  g_return_val_if_fail (pool != NULL, NULL);

  g_mutex_lock (&pool->lock);
  if (pool->kept->len > 0)
    buffer = g_ptr_array_steal_index_fast (pool->kept, pool->kept->len - 1);
  g_mutex_unlock (&pool->lock);
  /* g_free() is free(), which takes posix_memalign()'s memory too. */
  if (buffer == NULL &&
      posix_memalign ((void **) &buffer, COFFER_BUFFER_POOL_ALIGNMENT, pool->buffer_size) != 0)
    g_error ("Cannot allocate %" G_GSIZE_FORMAT " bytes for a buffer", pool->buffer_size);
  return buffer;
}

/**
 * coffer_buffer_pool_give:
 * @pool: a pool
 * @buffer: (transfer full): a buffer from coffer_buffer_pool_take()
 *
 * Keeps @buffer for the next user, or frees it when the pool is full.
 */
void
coffer_buffer_pool_give (CofferBufferPool *pool, guint8 *buffer)
{
  g_return_if_fail (pool != NULL);

  if (buffer == NULL)
    return;
  g_mutex_lock (&pool->lock);
  if (pool->kept->len < pool->max_kept)
    g_ptr_array_add (pool->kept, g_steal_pointer (&buffer));
  g_mutex_unlock (&pool->lock);
  g_free (buffer);
}

typedef struct
{
  CofferBufferPool *pool;
  guint8 *buffer;
} Lent;

static void
lent_free (gpointer data)
{
  Lent *lent = data;

  coffer_buffer_pool_give (lent->pool, lent->buffer);
  coffer_buffer_pool_unref (lent->pool);
  g_free (lent);
}

/**
 * coffer_buffer_pool_wrap:
 * @pool: a pool
 * @buffer: (transfer full): a buffer from coffer_buffer_pool_take()
 * @size: how many of its bytes the #GBytes holds
 *
 * Returns: (transfer full): bytes that give @buffer back to @pool once
 *   freed; they keep the pool alive until then
 */
GBytes *
coffer_buffer_pool_wrap (CofferBufferPool *pool, guint8 *buffer, gsize size)
{
  Lent *lent;

  g_return_val_if_fail (pool != NULL, NULL);
  g_return_val_if_fail (buffer != NULL, NULL);
  g_return_val_if_fail (size <= pool->buffer_size, NULL);

  lent = g_new (Lent, 1);
  lent->pool = coffer_buffer_pool_ref (pool);
  lent->buffer = buffer;
  return g_bytes_new_with_free_func (buffer, size, lent_free, lent);
}
