/* coffer-snapshot.h: recovery points (machines/ID/snapshots/ID). */
#pragma once

#include <gio/gio.h>

#include "coffer-keys.h"
#include "coffer-vault.h"

G_BEGIN_DECLS

#define COFFER_SNAPSHOT_FORMAT 1

/**
 * CofferSnapshot:
 * @id: the object's name: SHA-256 of its bytes, lower-case hex
 * @time: when the backup started, Unix seconds
 * @on_demand: %TRUE for Back Up Now, %FALSE for a scheduled backup
 * @retain_until: an on-demand point's retain-until, Unix seconds; 0 otherwise
 * @root: the root tree's id
 * @items: (element-type utf8): the backed-up items
 * @host: the host name it was made on
 * @files: how many files it holds
 * @bytes: how many bytes of file content it holds
 *
 * A recovery point. Its JSON is sealed with AES-256-GCM (FORMAT.md).
 */
typedef struct
{
  char *id;
  gint64 time;
  gboolean on_demand;
  gint64 retain_until;
  guint8 root[32];
  GPtrArray *items;
  char *host;
  guint64 files;
  guint64 bytes;
} CofferSnapshot;

void coffer_snapshot_free (CofferSnapshot *snapshot);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CofferSnapshot, coffer_snapshot_free)

gboolean coffer_snapshot_put (CofferVault *vault,
                              const char *machine_id,
                              const CofferMasterKeys *keys,
                              CofferSnapshot *snapshot,
                              GCancellable *cancellable,
                              GError **error);
GPtrArray *coffer_snapshot_list (CofferVault *vault,
                                 const char *machine_id,
                                 const CofferMasterKeys *keys,
                                 GPtrArray *damaged,
                                 GCancellable *cancellable,
                                 GError **error);

G_END_DECLS
