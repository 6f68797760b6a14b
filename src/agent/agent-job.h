/* agent-job.h: one job of the agent, exported as io.github.coffer.Job1. */
#pragma once

#include <gio/gio.h>

#include "coffer.h"

G_BEGIN_DECLS

#define AGENT_TYPE_JOB (agent_job_get_type ())
G_DECLARE_FINAL_TYPE (AgentJob, agent_job, AGENT, JOB, GObject)

AgentJob *
agent_job_new (CofferCatalog *catalog, const char *state_dir, const char *kind, GError **error);
gint64 agent_job_get_id (AgentJob *self);
void agent_job_show_live (CofferJobRecord *record);
const char *agent_job_get_object_path (AgentJob *self);
gboolean agent_job_export (AgentJob *self, GDBusConnection *connection, GError **error);
void agent_job_cancel (AgentJob *self);
void agent_job_run_backup (AgentJob *self,
                           gboolean scheduled,
                           gint64 retain_until,
                           GAsyncReadyCallback callback,
                           gpointer user_data);
void agent_job_run_check (AgentJob *self,
                          gboolean read_data,
                          gboolean repair,
                          GAsyncReadyCallback callback,
                          gpointer user_data);
void agent_job_run_recovery (AgentJob *self,
                             GVariant *request,
                             GAsyncReadyCallback callback,
                             gpointer user_data);
void agent_job_run_cache_move (AgentJob *self,
                               const char *folder,
                               GAsyncReadyCallback callback,
                               gpointer user_data);
guint64 agent_data_backed_up (CofferCatalog *catalog);
char *agent_cache_folder (CofferCatalog *catalog);
void agent_job_run_stop_policy (AgentJob *self, GAsyncReadyCallback callback, gpointer user_data);
const CofferJobRecord *agent_job_get_record (AgentJob *self);
gboolean agent_job_run_finish (AgentJob *self, GAsyncResult *result);
void agent_job_forget_keys (void);
void agent_job_remember_keys (const char *machine_id, const CofferMasterKeys *keys);
void agent_job_set_throttle (CofferThrottle *throttle);
gboolean agent_unlock (CofferCatalog *catalog,
                       const char *state_dir,
                       CofferRegistration **out_registration,
                       CofferVault **out_vault,
                       CofferMasterKeys **out_keys,
                       GCancellable *cancellable,
                       GError **error);

G_END_DECLS
