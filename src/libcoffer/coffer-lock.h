/* coffer-lock.h: lock objects, so prune never deletes what a backup writes. */
#pragma once

#include <gio/gio.h>

#include "coffer-vault.h"

G_BEGIN_DECLS

#define COFFER_LOCK_REFRESH_SECONDS (5 * 60)
#define COFFER_LOCK_STALE_SECONDS (30 * 60)

typedef struct _CofferLock CofferLock;

CofferLock *coffer_lock_take (CofferVault *vault,
                              const char *machine_id,
                              const char *instance_id,
                              gboolean exclusive,
                              GCancellable *cancellable,
                              GError **error);
void coffer_lock_release (CofferLock *lock);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CofferLock, coffer_lock_release)

G_END_DECLS
