/* coffer-point-reader.h: browsing a recovery point, folder by folder. */
#pragma once

#include <gio/gio.h>

#include "coffer-blob.h"
#include "coffer-index.h"
#include "coffer-keys.h"
#include "coffer-tree.h"
#include "coffer-vault.h"

G_BEGIN_DECLS

/* Thread-safe: every function may be called from any thread at once. */
typedef struct _CofferPointReader CofferPointReader;

CofferPointReader *coffer_point_reader_new (CofferVault *vault,
                                            const char *machine_id,
                                            const CofferMasterKeys *keys,
                                            GCancellable *cancellable,
                                            GError **error);
void coffer_point_reader_free (CofferPointReader *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CofferPointReader, coffer_point_reader_free)

GPtrArray *coffer_point_reader_list (CofferPointReader *self,
                                     const guint8 root[32],
                                     const char *path,
                                     GCancellable *cancellable,
                                     GError **error);
GPtrArray *coffer_point_reader_find (CofferPointReader *self,
                                     const guint8 root[32],
                                     const char *pattern,
                                     guint limit,
                                     GCancellable *cancellable,
                                     GError **error);
GBytes *coffer_point_reader_read_blob (CofferPointReader *self,
                                       const guint8 id[32],
                                       CofferBlobType type,
                                       GCancellable *cancellable,
                                       GError **error);

GPtrArray *coffer_point_reader_read_tree (CofferPointReader *self,
                                          const guint8 id[32],
                                          GCancellable *cancellable,
                                          GError **error);
CofferNode *coffer_point_reader_lookup (CofferPointReader *self,
                                        const guint8 root[32],
                                        const char *path,
                                        GPtrArray **out_tree,
                                        GCancellable *cancellable,
                                        GError **error);

GBytes *coffer_point_reader_fetch_blob (CofferVault *vault,
                                        const char *machine_id,
                                        const CofferMasterKeys *keys,
                                        CofferIndex *index,
                                        const guint8 id[32],
                                        CofferBlobType type,
                                        GCancellable *cancellable,
                                        GError **error);

G_END_DECLS
