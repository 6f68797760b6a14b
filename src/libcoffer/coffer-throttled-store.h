/* coffer-throttled-store.h: a store that passes every byte through a throttle. */
#pragma once

#include "coffer-store.h"
#include "coffer-throttle.h"

G_BEGIN_DECLS

#define COFFER_TYPE_THROTTLED_STORE (coffer_throttled_store_get_type ())
G_DECLARE_FINAL_TYPE (
    CofferThrottledStore, coffer_throttled_store, COFFER, THROTTLED_STORE, GObject)

CofferStore *coffer_throttled_store_new (CofferStore *inner, CofferThrottle *throttle);
CofferStore *coffer_throttled_store_get_inner (CofferThrottledStore *self);

/* For a store whose bytes move in another thread than its caller's (the
 * Azure store's I/O thread): a handle on the throttle of the call running in
 * this thread. */
typedef struct _CofferStorePacer CofferStorePacer;

CofferStorePacer *coffer_store_pacer_claim (gsize bytes);
gboolean coffer_store_pacer_pace (CofferStorePacer *pacer,
                                  gsize bytes,
                                  GCancellable *cancellable,
                                  GError **error);
gsize coffer_store_pacer_piece_size (CofferStorePacer *pacer);
CofferStorePacer *coffer_store_pacer_ref (CofferStorePacer *pacer);
void coffer_store_pacer_unref (CofferStorePacer *pacer);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CofferStorePacer, coffer_store_pacer_unref)

G_END_DECLS
