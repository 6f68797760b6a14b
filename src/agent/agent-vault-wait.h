/* agent-vault-wait.h: a scheduled backup waits for a vault that is away. */
#pragma once

#include <gio/gio.h>

#include "coffer.h"

G_BEGIN_DECLS

/* How long a scheduled backup waits for its vault in all, in seconds. */
#define AGENT_VAULT_WAIT_LIMIT (2 * 60 * 60)

typedef gboolean (*AgentVaultProbe) (gpointer user_data);

typedef struct
{
  guint attempts;  /* retries started so far */
  gint64 first;    /* agent clock time of the first failure, 0 before */
  gint64 retry_at; /* when the next retry starts */
} AgentVaultWait;

gboolean agent_vault_wait_applies (const GError *error);
char *agent_vault_wait_message (const GError *error);
gboolean agent_vault_wait_next (AgentVaultWait *wait, const GError *error, GError **out_error);
char *agent_vault_wait_phase (const AgentVaultWait *wait, const GError *error);
gboolean agent_vault_wait_sleep (const AgentVaultWait *wait,
                                 AgentVaultProbe probe,
                                 gpointer probe_data,
                                 GCancellable *cancellable,
                                 GError **error);

G_END_DECLS
