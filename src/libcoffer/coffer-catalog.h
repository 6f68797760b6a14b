/* coffer-catalog.h: the agent's catalog (catalog.sqlite in the state folder). */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/**
 * CofferRegistration:
 * @vault_id: the vault's id (from vault.json)
 * @vault_name: the vault's name
 * @machine_id: this machine's id in the vault
 * @machine_name: this machine's name in the vault
 * @instance_id: this installation's instance id (a clone has another)
 * @storage_location: where the vault is, as the user would write it
 * @registered_at: when the machine registered, Unix seconds (UTC)
 *
 * What the catalog records about this machine's registration.
 */
typedef struct
{
  char *vault_id;
  char *vault_name;
  char *machine_id;
  char *machine_name;
  char *instance_id;
  char *storage_location;
  gint64 registered_at;
} CofferRegistration;

void coffer_registration_free (CofferRegistration *registration);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CofferRegistration, coffer_registration_free)

#define COFFER_TYPE_CATALOG (coffer_catalog_get_type ())
G_DECLARE_FINAL_TYPE (CofferCatalog, coffer_catalog, COFFER, CATALOG, GObject)

#define COFFER_CATALOG_FILENAME "catalog.sqlite"

CofferCatalog *coffer_catalog_open (const char *state_dir, GError **error);
const char *coffer_catalog_get_path (CofferCatalog *self);
int coffer_catalog_get_schema_version (CofferCatalog *self);
int coffer_catalog_latest_schema_version (void);

char *coffer_catalog_get_setting (CofferCatalog *self, const char *key, GError **error);
gboolean coffer_catalog_set_setting (CofferCatalog *self,
                                     const char *key,
                                     const char *value,
                                     GError **error);
gboolean coffer_catalog_delete_setting (CofferCatalog *self, const char *key, GError **error);

CofferRegistration *coffer_catalog_get_registration (CofferCatalog *self, GError **error);
gboolean coffer_catalog_set_registration (CofferCatalog *self,
                                          const CofferRegistration *registration,
                                          GError **error);
gboolean coffer_catalog_clear_registration (CofferCatalog *self, GError **error);

/**
 * CofferPolicyEdit:
 * @kind: "item", "exclude" or "include"
 * @value: the path or pattern
 * @add: %TRUE to add it, %FALSE to remove it
 *
 * One change to the backup policy (see coffer-policy.h).
 */
typedef struct
{
  const char *kind;
  const char *value;
  gboolean add;
} CofferPolicyEdit;

GPtrArray *coffer_catalog_get_policy (CofferCatalog *self, const char *kind, GError **error);
gboolean coffer_catalog_edit_policy (CofferCatalog *self,
                                     const CofferPolicyEdit *edits,
                                     guint n_edits,
                                     GError **error);

G_END_DECLS
