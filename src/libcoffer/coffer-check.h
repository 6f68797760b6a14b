/* coffer-check.h: verifying what a machine has stored in the vault, and
 * repairing it. */
#pragma once

#include <gio/gio.h>

#include "coffer-backup.h"
#include "coffer-catalog.h"
#include "coffer-keys.h"
#include "coffer-vault.h"

G_BEGIN_DECLS

/**
 * CofferCheckOptions:
 * @vault: the vault
 * @machine_id: whose backups to check
 * @keys: that machine's keys
 * @read_data: also read and decrypt every blob
 * @repair: then repair what was found (reads every blob too)
 * @catalog_points: (nullable) (element-type CofferCatalogPoint): the points
 *   the catalog recorded, a second witness of what the vault must hold
 * @machine: (nullable): what machines/ID/machine.json must say (its id,
 *   name and instance id), and what a repair writes
 * @passphrase: (nullable): the machine's passphrase: the key objects are
 *   checked against it, and a repair wraps the keys with it
 * @key_name: (nullable): the key object this machine's keys were last
 *   opened from, to name it when it is missing
 * @catalog: (nullable): the catalog to tell, as a repair goes, of the
 *   points it gives up or replaces (before the vault changes)
 * @vault_damage: (nullable): why vault.json could not be read, when the
 *   vault was opened from a copy; a repair writes it again
 * @progress: (nullable): called now and then
 * @progress_data: data for @progress
 *
 * What coffer_check_run_full() works on.
 */
typedef struct
{
  CofferVault *vault;
  const char *machine_id;
  const CofferMasterKeys *keys;
  gboolean read_data;
  gboolean repair;
  GPtrArray *catalog_points;
  const CofferMachineInfo *machine;
  const char *passphrase;
  const char *key_name;
  CofferCatalog *catalog;
  const char *vault_damage;
  CofferBackupProgressFunc progress;
  gpointer progress_data;
} CofferCheckOptions;

/**
 * CofferCheckResult:
 * @problems: (element-type CofferFailedItem): every damaged, foreign or
 *   missing object, and in its reason the files that need it (after a
 *   repair: what the repair could not mend)
 * @notes: (element-type CofferFailedItem): what is not damage, such as packs
 *   no index file names
 * @repairs: (element-type CofferFailedItem): what a repair did, object by
 *   object, and the files it could not save
 * @points: (element-type CofferSnapshot): the intact points in the vault
 * @points_lost: (element-type utf8): points the catalog recorded that the
 *   vault does not hold (a repair gives them up)
 * @points_replaced: (element-type utf8): pairs of point ids, old then new:
 *   points a repair rewrote without the files whose data is gone
 * @found: how many problems the check found before any repair
 * @files_lost: how many files a repair had to leave out of points
 * @snapshots: how many recovery points were checked
 * @packs: how many packs the vault holds
 * @blobs_read: how many blobs were decrypted and verified (with read_data)
 *
 * What coffer_check_run() found, and what a repair did.
 */
typedef struct
{
  GPtrArray *problems;
  GPtrArray *notes;
  GPtrArray *repairs;
  GPtrArray *points;
  GPtrArray *points_lost;
  GPtrArray *points_replaced;
  guint found;
  guint files_lost;
  guint snapshots;
  guint packs;
  guint64 blobs_read;
} CofferCheckResult;

void coffer_check_result_free (CofferCheckResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CofferCheckResult, coffer_check_result_free)

CofferCheckResult *coffer_check_run_full (const CofferCheckOptions *options,
                                          GCancellable *cancellable,
                                          GError **error);
CofferCheckResult *coffer_check_run (CofferVault *vault,
                                     const char *machine_id,
                                     const CofferMasterKeys *keys,
                                     gboolean read_data,
                                     CofferBackupProgressFunc progress,
                                     gpointer progress_data,
                                     GCancellable *cancellable,
                                     GError **error);

/* Where a repair moves what it cannot use: DAMAGED_PREFIX + the object's name. */
#define COFFER_DAMAGED_PREFIX "damaged/"

G_END_DECLS
