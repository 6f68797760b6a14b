/* coffer-proxy.h: how this machine reaches a network vault through a proxy.
 *
 * The settings live in the catalog ("proxy-mode", "proxy-host", "proxy-port",
 * "proxy-user"); the password lives with the other secrets (coffer-secret.h),
 * never in the catalog. They can be set before registration, since
 * registration itself may need the proxy.
 */
#pragma once

#include "coffer-catalog.h"

G_BEGIN_DECLS

#define COFFER_SETTING_PROXY_MODE "proxy-mode" /* none, system or custom */
#define COFFER_SETTING_PROXY_HOST "proxy-host"
#define COFFER_SETTING_PROXY_PORT "proxy-port"
#define COFFER_SETTING_PROXY_USER "proxy-user"

/**
 * CofferProxyMode:
 * @COFFER_PROXY_NONE: connect directly
 * @COFFER_PROXY_SYSTEM: whatever the desktop says (GProxyResolver's default)
 * @COFFER_PROXY_CUSTOM: the host and port given, with optional Basic
 *   authentication
 */
typedef enum
{
  COFFER_PROXY_NONE,
  COFFER_PROXY_SYSTEM,
  COFFER_PROXY_CUSTOM,
} CofferProxyMode;

/**
 * CofferProxyConfig:
 * @mode: which proxy
 * @host: (nullable): the custom proxy's host name or address
 * @port: the custom proxy's port
 * @username: (nullable): the user name for Basic authentication
 * @password: (nullable): its password; only filled by coffer_proxy_config_load()
 */
typedef struct
{
  CofferProxyMode mode;
  char *host;
  guint16 port;
  char *username;
  char *password;
} CofferProxyConfig;

CofferProxyConfig *coffer_proxy_config_new (void);
CofferProxyConfig *coffer_proxy_config_copy (const CofferProxyConfig *config);
void coffer_proxy_config_free (CofferProxyConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CofferProxyConfig, coffer_proxy_config_free)

const char *coffer_proxy_mode_to_string (CofferProxyMode mode);
gboolean coffer_proxy_mode_from_string (const char *text, CofferProxyMode *out_mode);
CofferProxyConfig *coffer_proxy_config_parse (const char *text, GError **error);
char *coffer_proxy_config_to_uri (const CofferProxyConfig *config);

gboolean coffer_proxy_config_check (const CofferProxyConfig *config, GError **error);
void coffer_proxy_config_to_catalog (const CofferProxyConfig *config,
                                     GPtrArray *keys,
                                     GPtrArray *values);
gboolean coffer_proxy_password_store (const char *state_dir,
                                      const char *password,
                                      GCancellable *cancellable,
                                      GError **error);
gboolean
coffer_proxy_password_is_set (const char *state_dir, GCancellable *cancellable, GError **error);
CofferProxyConfig *coffer_proxy_config_load (CofferCatalog *catalog,
                                             const char *state_dir,
                                             GCancellable *cancellable,
                                             GError **error);
gboolean coffer_proxy_config_save (CofferCatalog *catalog,
                                   const char *state_dir,
                                   const CofferProxyConfig *config,
                                   gboolean set_password,
                                   GCancellable *cancellable,
                                   GError **error);

G_END_DECLS
