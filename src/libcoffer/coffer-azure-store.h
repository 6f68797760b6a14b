/* coffer-azure-store.h: a vault in an Azure Blob Storage container. */
#pragma once

#include "coffer-proxy.h"
#include "coffer-store.h"

G_BEGIN_DECLS

/* The REST API version every request pins (x-ms-version). */
#define COFFER_AZURE_API_VERSION "2021-12-02"
/* Requests in flight when nothing else is configured. */
#define COFFER_AZURE_DEFAULT_CONCURRENCY 4
#define COFFER_AZURE_MAX_CONCURRENCY 16
/* How long transient failures are retried before a request fails. */
#define COFFER_AZURE_DEFAULT_RETRY_SECONDS (15 * 60)

/**
 * CofferAzureAuth:
 * @COFFER_AZURE_AUTH_SHARED_KEY: the storage account key signs every request
 * @COFFER_AZURE_AUTH_SAS: a shared access signature rides on every URL
 */
typedef enum
{
  COFFER_AZURE_AUTH_SHARED_KEY,
  COFFER_AZURE_AUTH_SAS,
} CofferAzureAuth;

/**
 * CofferAzureConfig:
 * @endpoint: the account's URL, "https://ACCOUNT.blob.core.windows.net" or an
 *   emulator's "http://127.0.0.1:PORT/ACCOUNT", without a trailing slash
 * @account: the storage account's name
 * @container: the container holding the vault
 * @auth: how requests are authorized
 * @secret: the account key (base64) or the SAS token (a query string)
 * @concurrency: requests in flight at most, 1–16
 * @proxy: (nullable): the proxy to reach the endpoint through; %NULL for the
 *   system's default
 */
typedef struct
{
  char *endpoint;
  char *account;
  char *container;
  CofferAzureAuth auth;
  char *secret;
  guint concurrency;
  CofferProxyConfig *proxy;
} CofferAzureConfig;

void coffer_azure_config_free (CofferAzureConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CofferAzureConfig, coffer_azure_config_free)

#define COFFER_TYPE_AZURE_STORE (coffer_azure_store_get_type ())
G_DECLARE_FINAL_TYPE (CofferAzureStore, coffer_azure_store, COFFER, AZURE_STORE, GObject)

CofferStore *coffer_azure_store_new (const CofferAzureConfig *config, GError **error);
gboolean coffer_azure_store_create_container (CofferAzureStore *self,
                                              GCancellable *cancellable,
                                              GError **error);

char *coffer_azure_default_endpoint (const char *account);
gboolean coffer_azure_parse_location (const char *location,
                                      char **out_account,
                                      char **out_container,
                                      GError **error);
char *coffer_azure_string_to_sign (const char *method,
                                   const char *account,
                                   const char *path,
                                   const char *query,
                                   const char *const *headers);
char *coffer_azure_sign (const char *key_base64, const char *string_to_sign, GError **error);

G_END_DECLS
