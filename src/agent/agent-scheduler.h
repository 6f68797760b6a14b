/* agent-scheduler.h: starts scheduled backups at the policy's times. */
#pragma once

#include <gio/gio.h>

#include "coffer.h"

G_BEGIN_DECLS

gint64 agent_clock_now (void);
guint agent_clock_tick_ms (void);
GTimeZone *agent_clock_time_zone (void);

#define AGENT_TYPE_SCHEDULER (agent_scheduler_get_type ())
G_DECLARE_FINAL_TYPE (AgentScheduler, agent_scheduler, AGENT, SCHEDULER, GObject)

AgentScheduler *agent_scheduler_new (CofferCatalog *catalog);
void agent_scheduler_poke (AgentScheduler *self);

G_END_DECLS
