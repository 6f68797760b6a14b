/* coffer-buffer-pool.h: large buffers kept for reuse. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _CofferBufferPool CofferBufferPool;

/* Where every buffer starts: a page, and a block for direct I/O. */
#define COFFER_BUFFER_POOL_ALIGNMENT 4096

CofferBufferPool *coffer_buffer_pool_new (gsize buffer_size, guint max_kept);
CofferBufferPool *coffer_buffer_pool_ref (CofferBufferPool *pool);
void coffer_buffer_pool_unref (CofferBufferPool *pool);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CofferBufferPool, coffer_buffer_pool_unref)

gsize coffer_buffer_pool_get_buffer_size (CofferBufferPool *pool);
guint8 *coffer_buffer_pool_take (CofferBufferPool *pool);
void coffer_buffer_pool_give (CofferBufferPool *pool, guint8 *buffer);
GBytes *coffer_buffer_pool_wrap (CofferBufferPool *pool, guint8 *buffer, gsize size);

G_END_DECLS
