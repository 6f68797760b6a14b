/* agent-service.h: the object behind io.github.coffer.Agent1. */
#pragma once

#include <gio/gio.h>

#include "coffer.h"

G_BEGIN_DECLS

#define AGENT_TYPE_SERVICE (agent_service_get_type ())
G_DECLARE_FINAL_TYPE (AgentService, agent_service, AGENT, SERVICE, GObject)

AgentService *agent_service_new (const char *state_dir);
void
agent_service_start_async (AgentService *self, GAsyncReadyCallback callback, gpointer user_data);
void agent_service_start_finish (AgentService *self, GAsyncResult *result);
gboolean agent_service_export (AgentService *self, GDBusConnection *connection, GError **error);
void agent_service_unexport (AgentService *self);

G_END_DECLS
