/* coffer-index.h: which pack holds each blob, in memory and in index files. */
#pragma once

#include <glib-object.h>

#include "coffer-blob.h"
#include "coffer-keys.h"

G_BEGIN_DECLS

/**
 * CofferBlobLocation:
 * @pack: the id of the pack holding the blob (its name, as bytes)
 * @type: the blob's #CofferBlobType
 * @offset: where the sealed blob starts in the pack
 * @length: the sealed blob's size
 * @raw_length: its plaintext's size
 */
typedef struct
{
  guint8 pack[COFFER_BLOB_ID_SIZE];
  guint8 type;
  guint32 offset;
  guint32 length;
  guint32 raw_length;
} CofferBlobLocation;

/* The largest index file written or read. */
#define COFFER_INDEX_MAX_FILE_SIZE (8 * 1024 * 1024)

#define COFFER_TYPE_INDEX (coffer_index_get_type ())
G_DECLARE_FINAL_TYPE (CofferIndex, coffer_index, COFFER, INDEX, GObject)

CofferIndex *coffer_index_new (void);

void
coffer_index_add_pack (CofferIndex *self, const guint8 pack[COFFER_BLOB_ID_SIZE], GArray *entries);
gboolean coffer_index_lookup (CofferIndex *self,
                              const guint8 id[COFFER_BLOB_ID_SIZE],
                              CofferBlobLocation *out);
gboolean coffer_index_contains (CofferIndex *self, const guint8 id[COFFER_BLOB_ID_SIZE]);
guint coffer_index_get_size (CofferIndex *self);
guint coffer_index_get_pending (CofferIndex *self);

GPtrArray *coffer_index_take_pending (CofferIndex *self, const CofferMasterKeys *keys);
gboolean coffer_index_load_file (CofferIndex *self,
                                 const CofferMasterKeys *keys,
                                 const char *name,
                                 GBytes *file,
                                 GError **error);

GPtrArray *coffer_index_list_packs (CofferIndex *self);
void coffer_index_remove_packs (CofferIndex *self, GHashTable *pack_hex_set);
void coffer_index_mark_all_pending (CofferIndex *self);
GHashTable *coffer_index_get_pack_ends (CofferIndex *self);

char *coffer_index_file_name (GBytes *file);
char *coffer_index_object_name (const char *machine_id, const char *name);

G_END_DECLS
