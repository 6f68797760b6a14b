/* coffer-settings.h: the machine's properties kept in the catalog's settings.
 *
 * Throttling (coffer-throttle.h) and the concurrency of network stores are
 * settings rows, like the proxy (coffer-proxy.h) and the registration's own
 * (coffer-registration.h). All of them can be set before registration.
 */
#pragma once

#include "coffer-catalog.h"

G_BEGIN_DECLS

/* Throttling: "on"/"off"; days as "mon,tue,…"; times "HH:MM"; bits a second. */
#define COFFER_SETTING_THROTTLE "throttle"
#define COFFER_SETTING_THROTTLE_WORK_DAYS "throttle-work-days"
#define COFFER_SETTING_THROTTLE_WORK_START "throttle-work-start"
#define COFFER_SETTING_THROTTLE_WORK_END "throttle-work-end"
#define COFFER_SETTING_THROTTLE_WORK_BPS "throttle-work-bps"
#define COFFER_SETTING_THROTTLE_NON_WORK_BPS "throttle-non-work-bps"

/* How many requests a network store keeps in flight (and libsoup's
 * max-conns-per-host): a decimal number, 1 to 16. */
#define COFFER_SETTING_CONCURRENCY "concurrency"
#define COFFER_CONCURRENCY_DEFAULT 4
#define COFFER_CONCURRENCY_MIN 1
#define COFFER_CONCURRENCY_MAX 16

guint coffer_settings_get_concurrency (CofferCatalog *catalog);
gboolean coffer_settings_check_concurrency (guint64 value, GError **error);

G_END_DECLS
