/* coffer-restore.h: recovering files and folders of a recovery point. */
#pragma once

#include <gio/gio.h>

#include "coffer-backup.h"
#include "coffer-point-reader.h"

G_BEGIN_DECLS

/**
 * CofferConflict:
 * @COFFER_CONFLICT_COPY: keep what is there; write the recovered item as
 *   "YYYY-MM-DD HH-MM Copy of NAME" (the point's local time), then
 *   "… Copy (2) of NAME" and so on
 * @COFFER_CONFLICT_OVERWRITE: replace what is there
 * @COFFER_CONFLICT_SKIP: leave what is there, and count it
 *
 * What to do when an item to recover exists already. Folders are merged in
 * every mode; their files follow the rule.
 */
typedef enum
{
  COFFER_CONFLICT_COPY,
  COFFER_CONFLICT_OVERWRITE,
  COFFER_CONFLICT_SKIP,
} CofferConflict;

/**
 * CofferRestoreOptions:
 * @reader: the reader of the point's machine
 * @root: the point's root tree id
 * @point_time: the point's time (Unix seconds), for the names of copies
 * @paths: (array zero-terminated=1): absolute paths inside the point to recover
 * @target: (nullable): %NULL to recover each item to its original location;
 *   otherwise an existing folder: each item goes to target/NAME (the root
 *   "/" puts its entries into the target)
 * @conflict: what to do with items that exist
 * @restore_permissions: restore modes and (as root) owners; %FALSE gives
 *   files and folders the umask's default mode
 * @workers: threads that fetch and write files' data; 0 for one per core
 * @progress: (nullable): called at most four times a second, from any thread
 * @progress_data: data for @progress
 *
 * What a recovery needs. Progress: bytes_scanned counts bytes restored,
 * files_scanned and files_read files restored, files_failed files that were
 * not.
 */
typedef struct
{
  CofferPointReader *reader;
  const guint8 *root;
  gint64 point_time;
  const char *const *paths;
  const char *target;
  CofferConflict conflict;
  gboolean restore_permissions;
  guint workers;
  CofferBackupProgressFunc progress;
  gpointer progress_data;
} CofferRestoreOptions;

/**
 * CofferRestoreResult:
 * @totals: the final counts
 * @failed: (element-type CofferFailedItem): what could not be recovered
 *   (each path is where it would have gone), and why
 * @warnings: (element-type CofferFailedItem): what was recovered without a
 *   detail this user may not set (a `security.*` attribute, a device node)
 * @skipped: items left as they were because they existed (skip mode)
 *
 * What a recovery did.
 */
typedef struct
{
  CofferBackupProgress totals;
  GPtrArray *failed;
  GPtrArray *warnings;
  guint64 skipped;
} CofferRestoreResult;

void coffer_restore_result_free (CofferRestoreResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CofferRestoreResult, coffer_restore_result_free)

CofferRestoreResult *
coffer_restore_run (const CofferRestoreOptions *options, GCancellable *cancellable, GError **error);

char *coffer_restore_copy_name (const char *name, gint64 point_time, guint n);

G_END_DECLS
