/* coffer-pack.h: packs, the objects blobs are uploaded in, and their headers. */
#pragma once

#include <glib.h>

#include "coffer-blob.h"
#include "coffer-buffer-pool.h"
#include "coffer-keys.h"

G_BEGIN_DECLS

/**
 * CofferPackEntry:
 * @id: the blob's id
 * @type: its #CofferBlobType
 * @offset: where the sealed blob starts in the pack
 * @length: the sealed blob's size
 * @raw_length: its plaintext's size
 *
 * One blob of a pack, as the pack's header lists it.
 */
typedef struct
{
  guint8 id[COFFER_BLOB_ID_SIZE];
  guint8 type;
  guint32 offset;
  guint32 length;
  guint32 raw_length;
} CofferPackEntry;

/* A pack is finished once it holds this much... */
#define COFFER_PACK_TARGET_SIZE (16 * 1024 * 1024)
/* ...or this many blobs (which bounds its header). */
#define COFFER_PACK_MAX_ENTRIES 16384
/* The largest header a reader accepts, and the most bytes at the end of a
 * pack that reading its header needs: fetch min (size, COFFER_PACK_MAX_TAIL)
 * to read any header in one request. */
#define COFFER_PACK_MAX_HEADER_SIZE (34 + 44 * COFFER_PACK_MAX_ENTRIES)
#define COFFER_PACK_MAX_TAIL (4 + COFFER_PACK_MAX_HEADER_SIZE)
#define COFFER_PACK_NAME_LENGTH 64
/* What a writer gathers a pack in: room for a pack just short of the
 * target, a last data blob (chunks are at most 4 MiB) and the largest
 * header. Only a pack of larger tree or metadata blobs grows past it. */
#define COFFER_PACK_BUFFER_SIZE                                                                    \
  (COFFER_PACK_TARGET_SIZE + 4 * 1024 * 1024 + COFFER_BLOB_OVERHEAD + COFFER_PACK_MAX_TAIL)

typedef struct _CofferPackWriter CofferPackWriter;

CofferPackWriter *
coffer_pack_writer_new (const CofferMasterKeys *keys, CofferBlobType type, CofferBufferPool *pool);
void coffer_pack_writer_free (CofferPackWriter *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CofferPackWriter, coffer_pack_writer_free)

void coffer_pack_writer_add (CofferPackWriter *self,
                             const guint8 id[COFFER_BLOB_ID_SIZE],
                             GBytes *sealed_blob,
                             guint32 raw_length);
gsize coffer_pack_writer_get_size (CofferPackWriter *self);
guint coffer_pack_writer_get_count (CofferPackWriter *self);
gboolean coffer_pack_writer_is_full (CofferPackWriter *self);
GBytes *coffer_pack_writer_finish (CofferPackWriter *self,
                                   char out_name[COFFER_PACK_NAME_LENGTH + 1],
                                   GArray **out_entries);

GArray *coffer_pack_read_header (const CofferMasterKeys *keys,
                                 const char *pack_name,
                                 GBytes *tail,
                                 guint64 pack_size,
                                 GError **error);
guint32 coffer_pack_header_length (GBytes *last4, GError **error);

gboolean coffer_pack_name_matches (const char *pack_name, GBytes *pack, GArray *entries);
char *coffer_pack_object_name (const char *machine_id, const char *pack_name);

G_END_DECLS
