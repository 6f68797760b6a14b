/* coffer-credentials.h: vault credentials files and the vault's record of them. */
#pragma once

#include <json-glib/json-glib.h>

#include "coffer-azure-store.h"
#include "coffer-proxy.h"
#include "coffer-store.h"
#include "coffer-vault.h"

G_BEGIN_DECLS

#define COFFER_CREDENTIALS_FORMAT 1
#define COFFER_CREDENTIALS_VALIDITY (48 * 60 * 60)
#define COFFER_CREDENTIALS_CLOCK_SKEW (5 * 60)
#define COFFER_CREDENTIALS_MAX_SIZE (64 * 1024)

/**
 * CofferCredentials:
 * @vault_id: the vault the file is for
 * @vault_name: its name
 * @store: how to reach the vault: {"type": "local", "path": …} or
 *   {"type": "azure", …} (coffer_store_descriptor_new_azure())
 * @serial: the issue's serial number
 * @issued: when it was issued, Unix seconds
 * @expires: when the file says it expires (the vault's record decides)
 * @secret: the registration secret, 32 bytes
 *
 * A parsed, MAC-checked vault credentials file.
 */
typedef struct
{
  char *vault_id;
  char *vault_name;
  JsonObject *store;
  gint64 serial;
  gint64 issued;
  gint64 expires;
  GBytes *secret;
} CofferCredentials;

void coffer_credentials_free (CofferCredentials *credentials);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CofferCredentials, coffer_credentials_free)

CofferCredentials *coffer_credentials_parse (GBytes *file, GError **error);
gboolean coffer_credentials_verify (CofferCredentials *credentials,
                                    CofferVault *vault,
                                    gint64 now,
                                    GCancellable *cancellable,
                                    GError **error);

GBytes *coffer_vault_issue_credentials (CofferVault *vault,
                                        JsonObject *store_descriptor,
                                        gint64 now,
                                        GCancellable *cancellable,
                                        GError **error);
char *coffer_credentials_file_name (const char *vault_name, gint64 issued);

JsonObject *coffer_store_descriptor_new_local (const char *path);
JsonObject *coffer_store_descriptor_new_azure (const char *endpoint,
                                               const char *account,
                                               const char *container,
                                               CofferAzureAuth auth,
                                               const char *secret);
gboolean coffer_store_descriptor_has_secret (JsonObject *descriptor);
CofferStore *coffer_store_new_for_descriptor_full (JsonObject *descriptor,
                                                   const char *path_override,
                                                   const CofferProxyConfig *proxy,
                                                   guint concurrency,
                                                   GError **error);
CofferStore *
coffer_store_new_for_descriptor (JsonObject *descriptor, const char *path_override, GError **error);
char *coffer_store_descriptor_to_location (JsonObject *descriptor);

gboolean coffer_vault_read_credentials_record (CofferVault *vault,
                                               gboolean *out_found,
                                               GCancellable *cancellable,
                                               GError **error);

G_END_DECLS
