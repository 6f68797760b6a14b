/* coffer-retention.h: which recovery points the retention policy keeps. */
#pragma once

#include <gio/gio.h>

#include "coffer-schedule.h"

G_BEGIN_DECLS

GHashTable *coffer_retention_select (GPtrArray *snapshots,
                                     const CofferSchedule *schedule,
                                     GTimeZone *tz,
                                     gint64 now);

G_END_DECLS
