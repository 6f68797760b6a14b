/* agent-recovery.h: recovery points, browsing and recovery jobs. */
#pragma once

#include <gio/gio.h>

#include "coffer.h"

G_BEGIN_DECLS

/**
 * AgentPoints:
 * @vault: the vault
 * @machine_id: whose points
 * @machine_name: that machine's name
 * @instance_id: this installation's instance id (for locks)
 * @keys: that machine's keys
 * @snapshots: (element-type CofferSnapshot): its recovery points, oldest first
 * @newest_missing: (nullable): this machine's newest point as the catalog
 *   recorded it, when the vault no longer holds it ("latest" is then refused)
 *
 * The recovery points of this machine, or of another machine of the vault
 * unlocked with its passphrase.
 */
typedef struct
{
  CofferVault *vault;
  char *machine_id;
  char *machine_name;
  char *instance_id;
  CofferMasterKeys *keys;
  GPtrArray *snapshots;
  CofferCatalogPoint *newest_missing;
} AgentPoints;

void agent_points_free (AgentPoints *points);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AgentPoints, agent_points_free)

AgentPoints *agent_points_open (CofferCatalog *catalog,
                                const char *state_dir,
                                GVariant *options,
                                GCancellable *cancellable,
                                GError **error);
CofferSnapshot *agent_points_resolve (AgentPoints *points, const char *point, GError **error);

GVariant *agent_list_points (CofferCatalog *catalog,
                             const char *state_dir,
                             GVariant *parameters,
                             GCancellable *cancellable,
                             GError **error);
GVariant *agent_list_folder (CofferCatalog *catalog,
                             const char *state_dir,
                             GVariant *parameters,
                             GCancellable *cancellable,
                             GError **error);
GVariant *agent_find_in_point (CofferCatalog *catalog,
                               const char *state_dir,
                               GVariant *parameters,
                               GCancellable *cancellable,
                               GError **error);

G_END_DECLS
