/* coffer-registration.h: registering this machine to a vault, and undoing it. */
#pragma once

#include <gio/gio.h>

#include "coffer-catalog.h"
#include "coffer-keys.h"
#include "coffer-secret.h"
#include "coffer-throttle.h"
#include "coffer-vault.h"

G_BEGIN_DECLS

/* Settings the registration keeps in the catalog. */
#define COFFER_SETTING_STORE "store"               /* the store descriptor, JSON */
#define COFFER_SETTING_CACHE_FOLDER "cache-folder" /* absolute path */
#define COFFER_SETTING_SECRET_BACKEND "secret-backend"
/* Copies of what a repair may need to write again: vault.json (JSON) and
 * this machine's key object (its name, then base64 of its bytes, wrapped
 * by the passphrase). */
#define COFFER_SETTING_VAULT_DOCUMENT "vault-document"
#define COFFER_SETTING_KEYS_DOCUMENT "keys-document"

/**
 * CofferRegisterRequest:
 * @credentials: the bytes of the vault credentials file
 * @passphrase: the encryption passphrase
 * @machine_name: this machine's name in the vault
 * @cache_folder: (nullable): the cache folder; %NULL for the default
 * @vault_path: (nullable): where a local vault is mounted now, when it is
 *   not where the credentials file says
 * @existing: register as the machine already called @machine_name (after a
 *   reinstall), keeping its recovery points
 * @credentials_world_readable: the file could be read by other users
 *
 * What a client asks for when it registers this machine.
 */
typedef struct
{
  GBytes *credentials;
  const char *passphrase;
  const char *machine_name;
  const char *cache_folder;
  const char *vault_path;
  gboolean existing;
  gboolean credentials_world_readable;
} CofferRegisterRequest;

CofferRegistration *coffer_register_sync (CofferCatalog *catalog,
                                          const char *state_dir,
                                          const CofferRegisterRequest *request,
                                          gint64 now,
                                          GPtrArray *warnings,
                                          CofferMasterKeys **out_keys,
                                          GCancellable *cancellable,
                                          GError **error);
gboolean coffer_unregister_sync (CofferCatalog *catalog,
                                 const char *state_dir,
                                 GCancellable *cancellable,
                                 GError **error);
gboolean coffer_change_passphrase_sync (CofferCatalog *catalog,
                                        const char *state_dir,
                                        const char *new_passphrase,
                                        GCancellable *cancellable,
                                        GError **error);
CofferVault *coffer_open_registered_vault (CofferCatalog *catalog,
                                           CofferRegistration **out_registration,
                                           GCancellable *cancellable,
                                           GError **error);
CofferVault *coffer_open_registered_vault_throttled (CofferCatalog *catalog,
                                                     CofferThrottle *throttle,
                                                     CofferRegistration **out_registration,
                                                     GCancellable *cancellable,
                                                     GError **error);
CofferMasterKeys *coffer_machine_unlock_keys (CofferVault *vault,
                                              const char *machine_id,
                                              const char *passphrase,
                                              char **out_key_name,
                                              GCancellable *cancellable,
                                              GError **error);
gboolean coffer_cache_folder_check (const char *path, GError **error);

gboolean coffer_machine_put_keys (CofferVault *vault,
                                  const char *machine_id,
                                  const CofferMasterKeys *keys,
                                  const char *passphrase,
                                  char **out_name,
                                  GCancellable *cancellable,
                                  GError **error);
gboolean coffer_machine_config_read (CofferVault *vault,
                                     const char *machine_id,
                                     const CofferMasterKeys *keys,
                                     GCancellable *cancellable,
                                     GError **error);
gboolean coffer_machine_config_put (CofferVault *vault,
                                    const char *machine_id,
                                    const CofferMasterKeys *keys,
                                    gboolean replace,
                                    GCancellable *cancellable,
                                    GError **error);

CofferVault *coffer_open_registered_vault_full (CofferCatalog *catalog,
                                                CofferThrottle *throttle,
                                                gboolean for_repair,
                                                char **out_damage,
                                                CofferRegistration **out_registration,
                                                GCancellable *cancellable,
                                                GError **error);

G_END_DECLS
