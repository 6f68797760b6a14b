/* coffer-check.h: verifying what a machine has stored in the vault. */
#pragma once

#include <gio/gio.h>

#include "coffer-backup.h"
#include "coffer-keys.h"
#include "coffer-vault.h"

G_BEGIN_DECLS

/**
 * CofferCheckResult:
 * @problems: (element-type CofferFailedItem): every damaged or missing
 *   object, and in its reason the files that need it
 * @notes: (element-type CofferFailedItem): what is not damage, such as packs
 *   no index names (removed by the next prune)
 * @snapshots: how many recovery points were checked
 * @packs: how many packs the vault holds
 * @blobs_read: how many blobs were decrypted and verified (with read_data)
 *
 * What coffer_check_run() found.
 */
typedef struct
{
  GPtrArray *problems;
  GPtrArray *notes;
  guint snapshots;
  guint packs;
  guint64 blobs_read;
} CofferCheckResult;

void coffer_check_result_free (CofferCheckResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CofferCheckResult, coffer_check_result_free)

CofferCheckResult *coffer_check_run (CofferVault *vault,
                                     const char *machine_id,
                                     const CofferMasterKeys *keys,
                                     gboolean read_data,
                                     CofferBackupProgressFunc progress,
                                     gpointer progress_data,
                                     GCancellable *cancellable,
                                     GError **error);

G_END_DECLS
