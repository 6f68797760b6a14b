/* agent-notify.h: the desktop notification when a job ends. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define AGENT_TYPE_NOTIFIER (agent_notifier_get_type ())
G_DECLARE_FINAL_TYPE (AgentNotifier, agent_notifier, AGENT, NOTIFIER, GObject)

AgentNotifier *agent_notifier_new (GDBusConnection *connection);
void agent_notifier_job_ended (
    AgentNotifier *self, gint64 job_id, const char *kind, const char *status, const char *message);

G_END_DECLS
