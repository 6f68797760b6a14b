/* coffer-files-cache.h: which files are unchanged since the last backup. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/**
 * CofferFileStamp:
 * @fsid: the filesystem's id
 * @inode: the file's inode
 * @size: its size
 * @mtime_ns: its modification time, ns
 * @ctime_ns: its change time, ns
 *
 * What must not have changed for a file to be taken from the cache.
 */
typedef struct
{
  guint64 fsid;
  guint64 inode;
  guint64 size;
  gint64 mtime_ns;
  gint64 ctime_ns;
} CofferFileStamp;

typedef struct _CofferFilesCache CofferFilesCache;

CofferFilesCache *
coffer_files_cache_open (const char *cache_dir, const char *machine_id, GError **error);
void coffer_files_cache_free (CofferFilesCache *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CofferFilesCache, coffer_files_cache_free)

GArray *
coffer_files_cache_lookup (CofferFilesCache *self, const char *path, const CofferFileStamp *stamp);
void coffer_files_cache_stage (CofferFilesCache *self,
                               const char *path,
                               const CofferFileStamp *stamp,
                               GArray *chunks);
gboolean coffer_files_cache_prepare (CofferFilesCache *self, GError **error);
gboolean coffer_files_cache_commit (CofferFilesCache *self, GError **error);
void coffer_files_cache_discard (CofferFilesCache *self);
gboolean coffer_files_cache_forget_missing (CofferFilesCache *self,
                                            gboolean (*has_chunk) (const guint8 *id,
                                                                   gpointer user_data),
                                            gpointer user_data,
                                            guint *out_forgotten,
                                            GError **error);

G_END_DECLS
