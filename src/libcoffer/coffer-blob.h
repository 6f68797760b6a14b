/* coffer-blob.h: chunk ids and encrypted blobs, the unit a pack holds. */
#pragma once

#include <glib.h>

#include "coffer-keys.h"

G_BEGIN_DECLS

/**
 * CofferBlobType:
 * @COFFER_BLOB_DATA: a chunk of a file's content
 * @COFFER_BLOB_TREE: a directory listing
 *
 * What a blob holds. Part of a blob's additional data, so a blob cannot be
 * read as the other type; data and tree blobs go into separate packs.
 */
typedef enum
{
  COFFER_BLOB_DATA = 0,
  COFFER_BLOB_TREE = 1,
} CofferBlobType;

#define COFFER_BLOB_N_TYPES (COFFER_BLOB_TREE + 1)

#define COFFER_BLOB_ID_SIZE 32
/* Bytes a sealed blob adds to its payload: version, flags, nonce and tag. */
#define COFFER_BLOB_OVERHEAD 30
/* The largest plaintext a blob may hold (chunks are at most 4 MiB; a tree
 * bigger than this must be split by its writer). Readers refuse more. */
#define COFFER_BLOB_MAX_SIZE (32 * 1024 * 1024)
#define COFFER_BLOB_DEFAULT_ZSTD_LEVEL 3

void coffer_blob_id (const CofferMasterKeys *keys,
                     const void *data,
                     gsize size,
                     guint8 id[COFFER_BLOB_ID_SIZE]);

GBytes *coffer_blob_seal (const CofferMasterKeys *keys,
                          const guint8 id[COFFER_BLOB_ID_SIZE],
                          CofferBlobType type,
                          const void *data,
                          gsize size,
                          int zstd_level);
GBytes *coffer_blob_open (const CofferMasterKeys *keys,
                          const guint8 id[COFFER_BLOB_ID_SIZE],
                          CofferBlobType type,
                          const void *blob,
                          gsize size,
                          gsize raw_size,
                          GError **error);

guint coffer_blob_id_hash (gconstpointer id);
gboolean coffer_blob_id_equal (gconstpointer a, gconstpointer b);
char *coffer_blob_id_to_hex (const guint8 id[COFFER_BLOB_ID_SIZE]);
gboolean coffer_blob_id_from_hex (const char *hex, guint8 id[COFFER_BLOB_ID_SIZE]);

G_END_DECLS
