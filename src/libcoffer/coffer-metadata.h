/* coffer-metadata.h: what the filesystem says about one entry, as a tree node. */
#pragma once

#include <sys/stat.h>

#include "coffer-tree.h"

G_BEGIN_DECLS

/* uid/gid → name lookups, cached; safe to share between threads. */
typedef struct _CofferIdCache CofferIdCache;

CofferIdCache *coffer_id_cache_new (void);
void coffer_id_cache_free (CofferIdCache *cache);
char *coffer_id_cache_user_name (CofferIdCache *cache, guint32 uid);
char *coffer_id_cache_group_name (CofferIdCache *cache, guint32 gid);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CofferIdCache, coffer_id_cache_free)

CofferNode *coffer_metadata_capture (int dirfd,
                                     const char *name,
                                     const struct stat *st,
                                     CofferIdCache *ids,
                                     const char *display_path,
                                     gboolean *skip,
                                     GError **error);
CofferNode *coffer_metadata_capture_open_file (int fd,
                                               const char *name,
                                               const struct stat *st,
                                               CofferIdCache *ids,
                                               const char *display_path,
                                               GError **error);
GArray *coffer_metadata_sparse_extents (int fd, guint64 size, GError **error);

G_END_DECLS
