/* coffer-local-store.h: a vault in a local folder (a disk, a drive, a NAS mount). */
#pragma once

#include "coffer-store.h"

G_BEGIN_DECLS

#define COFFER_TYPE_LOCAL_STORE (coffer_local_store_get_type ())
G_DECLARE_FINAL_TYPE (CofferLocalStore, coffer_local_store, COFFER, LOCAL_STORE, GObject)

CofferStore *coffer_local_store_new (const char *root);
const char *coffer_local_store_get_root (CofferLocalStore *self);

G_END_DECLS
