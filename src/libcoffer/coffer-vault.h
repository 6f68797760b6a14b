/* coffer-vault.h: a vault — vault.json, its credentials record and its machines. */
#pragma once

#include <gio/gio.h>

#include "coffer-store.h"

G_BEGIN_DECLS

#define COFFER_VAULT_FORMAT 1
#define COFFER_VAULT_MAX_MACHINES 50

/**
 * CofferMachineInfo:
 * @id: the machine's id (its folder under machines/)
 * @name: its display name, unique in the vault
 * @host: the host name it registered from
 * @os: the operating system it registered from
 * @agent_version: the Coffer version that registered it
 * @instance_id: the installation's instance id (a clone has another)
 * @registered_at: when it registered, Unix seconds (UTC)
 * @etag: the store's tag of machine.json, for conditional updates
 *
 * What machines/ID/machine.json says.
 */
typedef struct
{
  char *id;
  char *name;
  char *host;
  char *os;
  char *agent_version;
  char *instance_id;
  gint64 registered_at;
  char *etag;
} CofferMachineInfo;

void coffer_machine_info_free (CofferMachineInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CofferMachineInfo, coffer_machine_info_free)

#define COFFER_TYPE_VAULT (coffer_vault_get_type ())
G_DECLARE_FINAL_TYPE (CofferVault, coffer_vault, COFFER, VAULT, GObject)

gboolean coffer_vault_name_check (const char *name, GError **error);
gboolean coffer_machine_name_check (const char *name, GError **error);

CofferVault *coffer_vault_create (CofferStore *store,
                                  const char *name,
                                  const char *region,
                                  const char *redundancy,
                                  GCancellable *cancellable,
                                  GError **error);
CofferVault *coffer_vault_open (CofferStore *store,
                                const char *expected_id,
                                GCancellable *cancellable,
                                GError **error);

CofferVault *coffer_vault_open_from_copy (CofferStore *store,
                                          GBytes *copy,
                                          const char *expected_id,
                                          GError **error);
GBytes *coffer_vault_get_document (CofferVault *self);
gboolean coffer_vault_put_document (CofferVault *self, GCancellable *cancellable, GError **error);
CofferMachineInfo *coffer_vault_read_machine (CofferVault *self,
                                              const char *machine_id,
                                              GCancellable *cancellable,
                                              GError **error);

CofferStore *coffer_vault_get_store (CofferVault *self);
const char *coffer_vault_get_id (CofferVault *self);
const char *coffer_vault_get_name (CofferVault *self);
const char *coffer_vault_get_region (CofferVault *self);
const char *coffer_vault_get_redundancy (CofferVault *self);

gboolean coffer_vault_set_redundancy (CofferVault *self,
                                      const char *redundancy,
                                      GCancellable *cancellable,
                                      GError **error);

GPtrArray *
coffer_vault_list_machines (CofferVault *self, GCancellable *cancellable, GError **error);
CofferMachineInfo *coffer_vault_find_machine (CofferVault *self,
                                              const char *name,
                                              GCancellable *cancellable,
                                              GError **error);
gboolean coffer_vault_put_machine (CofferVault *self,
                                   CofferMachineInfo *info,
                                   gboolean create,
                                   GCancellable *cancellable,
                                   GError **error);

G_END_DECLS
