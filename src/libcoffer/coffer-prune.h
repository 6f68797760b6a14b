/* coffer-prune.h: removing the recovery points the policy no longer keeps, and their data. */
#pragma once

#include <gio/gio.h>

#include "coffer-backup.h"
#include "coffer-catalog.h"
#include "coffer-keys.h"
#include "coffer-schedule.h"
#include "coffer-vault.h"

G_BEGIN_DECLS

/**
 * CofferPruneOptions:
 * @vault: the vault
 * @machine_id: whose points to prune
 * @instance_id: this installation's instance id (for the lock)
 * @keys: that machine's keys
 * @schedule: the retention rules; %NULL deletes every point (stopping the
 *   policy with its backups deleted)
 * @tz: the local time zone the rules count days in
 * @now: Unix seconds
 * @cache_dir: (nullable): the cache folder, whose files cache loses the rows
 *   naming deleted chunks
 * @progress: (nullable): called at each phase
 * @progress_data: data for @progress
 * @catalog: (nullable): the agent's catalog, told of each point before it is
 *   deleted
 * @only_when_expired: stop when no recovery point expired, instead of
 *   reading the index and every tree to find unused packs; the prune after
 *   each backup sets it, so an unchanged backup stays quick, and leaves the
 *   packs of an interrupted backup to the next prune that deletes a point
 *
 * What coffer_prune_run() works on.
 */
typedef struct
{
  CofferVault *vault;
  const char *machine_id;
  const char *instance_id;
  const CofferMasterKeys *keys;
  const CofferSchedule *schedule;
  GTimeZone *tz;
  gint64 now;
  const char *cache_dir;
  CofferBackupProgressFunc progress;
  gpointer progress_data;
  gboolean only_when_expired;
  CofferCatalog *catalog;
} CofferPruneOptions;

/**
 * CofferPruneResult:
 * @points_deleted: recovery points removed
 * @points_kept: recovery points left
 * @packs_deleted: packs removed
 * @bytes_deleted: their size
 * @index_files_written: index files written in place of the old ones
 * @cache_rows_dropped: files-cache rows dropped
 */
typedef struct
{
  guint points_deleted;
  guint points_kept;
  guint packs_deleted;
  guint64 bytes_deleted;
  guint index_files_written;
  guint cache_rows_dropped;
} CofferPruneResult;

gboolean coffer_prune_run (const CofferPruneOptions *options,
                           CofferPruneResult *out_result,
                           GCancellable *cancellable,
                           GError **error);

G_END_DECLS
