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

G_END_DECLS
