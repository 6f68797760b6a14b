/* coffer-chunker.h: content-defined chunking (FastCDC with a keyed gear table). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The sizes every backup uses (recorded in machines/ID/config). */
#define COFFER_CHUNK_MIN (256 * 1024)
#define COFFER_CHUNK_AVG (1024 * 1024)
#define COFFER_CHUNK_MAX (4 * 1024 * 1024)

/**
 * CofferChunker:
 *
 * Finds chunk boundaries. Opaque, and immutable once made: one chunker may be
 * shared by any number of threads.
 */
typedef struct _CofferChunker CofferChunker;

CofferChunker *
coffer_chunker_new (const guint8 key[32], gsize min_size, gsize avg_size, gsize max_size);
void coffer_chunker_free (CofferChunker *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CofferChunker, coffer_chunker_free)

/* data[0..size) starts at a chunk boundary. Returns the length of the next chunk:
 * a cut point found within the buffer; or max_size when size >= max_size and no cut was found earlier;
 * when size < max_size and no cut was found: 0 if !at_eof (caller must supply more data), else size. */
gsize
coffer_chunker_next (const CofferChunker *self, const guint8 *data, gsize size, gboolean at_eof);

G_END_DECLS
