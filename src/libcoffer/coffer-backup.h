/* coffer-backup.h: one backup, from the policy's items to a recovery point. */
#pragma once

#include <gio/gio.h>

#include "coffer-keys.h"
#include "coffer-policy.h"
#include "coffer-snapshot.h"
#include "coffer-vault.h"

G_BEGIN_DECLS

/**
 * CofferBackupProgress:
 * @phase: what the backup is doing, in the reference's words
 * @bytes_scanned: bytes of file content looked at (read, or known unchanged)
 * @bytes_read: bytes of file content read
 * @bytes_sent: bytes written to the vault
 * @files_scanned: files looked at
 * @files_read: files read because they were new or changed
 * @files_failed: files that could not be backed up
 * @bytes_expected: what @bytes_scanned will come to: exact once every item
 *   has been walked, an estimate before; 0 while not known
 * @bytes_pending: bytes of @bytes_scanned whose new data is not in the vault
 *   yet (read, and in a pack on its way); @bytes_scanned less these is done
 *
 * How far a backup is.
 */
typedef struct
{
  const char *phase;
  guint64 bytes_scanned;
  guint64 bytes_read;
  guint64 bytes_sent;
  guint64 files_scanned;
  guint64 files_read;
  guint64 files_failed;
  guint64 bytes_expected;
  guint64 bytes_pending;
} CofferBackupProgress;

typedef void (*CofferBackupProgressFunc) (const CofferBackupProgress *progress, gpointer user_data);

/**
 * CofferBackupOptions:
 * @vault: the vault
 * @machine_id: this machine's id in it
 * @keys: this machine's master keys
 * @policy: what to back up
 * @cache_dir: the cache folder (for the files cache)
 * @skip_paths: (array zero-terminated=1): folders never backed up: the state
 *   and cache folders and a local vault's folder
 * @on_demand: Back Up Now rather than a scheduled backup
 * @retain_until: for Back Up Now, until when to keep the point
 * @time: the point's time, Unix seconds; 0 for when the backup starts (the
 *   agent passes its clock, which tests can set)
 * @workers: threads that read, chunk, compress and encrypt; 0 for one per core
 * @expected_bytes: what the last backup scanned, as this one's estimate
 *   until its walk is done; 0 when there was none, and then, if @progress is
 *   set, the backup totals the items' sizes in a thread of its own
 * @progress: (nullable): called now and then from the backup's thread
 * @progress_data: data for @progress
 *
 * What a backup needs.
 */
typedef struct
{
  CofferVault *vault;
  const char *machine_id;
  const CofferMasterKeys *keys;
  CofferPolicy *policy;
  const char *cache_dir;
  const char *const *skip_paths;
  gboolean on_demand;
  gint64 retain_until;
  gint64 time;
  guint workers;
  guint64 expected_bytes;
  CofferBackupProgressFunc progress;
  gpointer progress_data;
} CofferBackupOptions;

/**
 * CofferFailedItem:
 * @path: what could not be backed up
 * @reason: why, for the user
 */
typedef struct
{
  char *path;
  char *reason;
} CofferFailedItem;

void coffer_failed_item_free (CofferFailedItem *item);

/**
 * CofferBackupResult:
 * @snapshot: the recovery point written
 * @totals: the final counts
 * @failed: (element-type CofferFailedItem): what was skipped, and why
 */
typedef struct
{
  CofferSnapshot *snapshot;
  CofferBackupProgress totals;
  GPtrArray *failed;
} CofferBackupResult;

void coffer_backup_result_free (CofferBackupResult *result);

guint64 coffer_backup_estimate (CofferPolicy *policy,
                                const char *const *skip_paths,
                                GCancellable *cancellable);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CofferBackupResult, coffer_backup_result_free)

gboolean coffer_backup_load_index (CofferVault *vault,
                                   const char *machine_id,
                                   const CofferMasterKeys *keys,
                                   gpointer index,
                                   GCancellable *cancellable,
                                   GError **error);
CofferBackupResult *
coffer_backup_run (const CofferBackupOptions *options, GCancellable *cancellable, GError **error);

G_END_DECLS
