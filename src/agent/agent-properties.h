/* agent-properties.h: GetProperties and SetProperties. */
#pragma once

#include <gio/gio.h>

#include "coffer.h"

G_BEGIN_DECLS

GVariant *agent_properties_get (CofferCatalog *catalog,
                                const char *state_dir,
                                GCancellable *cancellable,
                                GError **error);
gboolean agent_properties_check_keys (GVariant *changes, GError **error);
gboolean agent_properties_set (CofferCatalog *catalog,
                               const char *state_dir,
                               CofferThrottle *throttle,
                               GVariant *changes,
                               GCancellable *cancellable,
                               GError **error);

G_END_DECLS
