/* coffer-cache-folder.h: moving the cache folder (a Cache move job's work). */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The cache needs free space of at least this share of the data backed up
 * (the reference's rule), and at least its own size. */
#define COFFER_CACHE_SPACE_PERCENT 5

typedef void (*CofferCacheMoveProgress) (guint64 bytes, guint64 files, gpointer user_data);

gboolean coffer_cache_folder_check_new (const char *new_path,
                                        const char *old_path,
                                        guint64 data_bytes,
                                        GError **error);
gboolean coffer_cache_folder_copy (const char *old_path,
                                   const char *new_path,
                                   CofferCacheMoveProgress progress,
                                   gpointer progress_data,
                                   guint64 *out_bytes,
                                   guint64 *out_files,
                                   GCancellable *cancellable,
                                   GError **error);
gboolean coffer_cache_folder_remove (const char *path, GError **error);
guint64 coffer_cache_folder_size (const char *path);

G_END_DECLS
