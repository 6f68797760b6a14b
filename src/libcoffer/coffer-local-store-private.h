/* coffer-local-store-private.h: what tests may change in a local store.
 *
 * A put-if-absent creates its object by the best means the vault's
 * filesystem offers, falling back when one is refused. Tests choose where to
 * start, to run the fallbacks on a filesystem that has everything.
 */
#pragma once

#include "coffer-local-store.h"

G_BEGIN_DECLS

/**
 * CofferLocalStoreCreate:
 * @COFFER_LOCAL_STORE_CREATE_LINK: link() the written file to the name
 * @COFFER_LOCAL_STORE_CREATE_RENAME_NOREPLACE: renameat2() with
 *   RENAME_NOREPLACE, where hard links are missing (FAT, some NAS shares)
 * @COFFER_LOCAL_STORE_CREATE_LOCKED: check and rename under the vault lock,
 *   where both are missing
 */
typedef enum
{
  COFFER_LOCAL_STORE_CREATE_LINK,
  COFFER_LOCAL_STORE_CREATE_RENAME_NOREPLACE,
  COFFER_LOCAL_STORE_CREATE_LOCKED,
} CofferLocalStoreCreate;

void coffer_local_store_set_create_method (CofferLocalStore *self, CofferLocalStoreCreate method);
CofferLocalStoreCreate coffer_local_store_get_create_method (CofferLocalStore *self);

G_END_DECLS
