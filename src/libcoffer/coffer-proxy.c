/* coffer-proxy.c: the proxy settings, kept in the catalog and the secret store. */
#include "config.h"

#include "coffer-proxy.h"

#include "coffer-error.h"
#include "coffer-secret.h"

#include <stdlib.h>

#define SETTING_MODE "proxy-mode"
#define SETTING_HOST "proxy-host"
#define SETTING_PORT "proxy-port"
#define SETTING_USER "proxy-user"
#define SECRET_ID "proxy"

CofferProxyConfig *
coffer_proxy_config_new (void)
{
  return g_new0 (CofferProxyConfig, 1);
}

CofferProxyConfig *
coffer_proxy_config_copy (const CofferProxyConfig *config)
{
  CofferProxyConfig *copy = coffer_proxy_config_new ();

  copy->mode = config->mode;
  copy->host = g_strdup (config->host);
  copy->port = config->port;
  copy->username = g_strdup (config->username);
  copy->password = g_strdup (config->password);
  return copy;
}

void
coffer_proxy_config_free (CofferProxyConfig *config)
{
  if (config == NULL)
    return;
  g_free (config->host);
  g_free (config->username);
  if (config->password != NULL)
    explicit_bzero (config->password, strlen (config->password));
  g_free (config->password);
  g_free (config);
}

static const char *const mode_names[] = { "none", "system", "custom" };

const char *
coffer_proxy_mode_to_string (CofferProxyMode mode)
{
  g_return_val_if_fail (mode <= COFFER_PROXY_CUSTOM, "none");
  return mode_names[mode];
}

gboolean
coffer_proxy_mode_from_string (const char *text, CofferProxyMode *out_mode)
{
  for (guint i = 0; i < G_N_ELEMENTS (mode_names); i++)
    if (g_strcmp0 (text, mode_names[i]) == 0)
      {
        *out_mode = (CofferProxyMode) i;
        return TRUE;
      }
  return FALSE;
}

/**
 * coffer_proxy_config_to_uri:
 * @config: a custom proxy's settings
 *
 * Returns: (transfer full) (nullable): "http://HOST:PORT", without the user
 *   name or password (libsoup authenticates separately), or %NULL when
 *   @config is not a custom proxy
 */
char *
coffer_proxy_config_to_uri (const CofferProxyConfig *config)
{
  if (config->mode != COFFER_PROXY_CUSTOM || config->host == NULL)
    return NULL;
  if (strchr (config->host, ':') != NULL)
    return g_strdup_printf ("http://[%s]:%u", config->host, config->port);
  return g_strdup_printf ("http://%s:%u", config->host, config->port);
}

/**
 * coffer_proxy_config_load:
 * @catalog: the agent's catalog
 * @state_dir: the state folder (where the fallback secret file lives)
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the proxy settings with the password, if one is
 *   stored; mode none when nothing was ever set
 */
CofferProxyConfig *
coffer_proxy_config_load (CofferCatalog *catalog,
                          const char *state_dir,
                          GCancellable *cancellable,
                          GError **error)
{
  g_autoptr (CofferProxyConfig) config = coffer_proxy_config_new ();
  g_autoptr (GError) local_error = NULL;
  g_autofree char *mode = NULL;
  g_autofree char *port = NULL;

  mode = coffer_catalog_get_setting (catalog, SETTING_MODE, &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  if (mode != NULL && !coffer_proxy_mode_from_string (mode, &config->mode))
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT,
                   "The catalog names an unknown proxy setting “%s”.", mode);
      return NULL;
    }
  if (config->mode != COFFER_PROXY_CUSTOM)
    return g_steal_pointer (&config);

  config->host = coffer_catalog_get_setting (catalog, SETTING_HOST, NULL);
  port = coffer_catalog_get_setting (catalog, SETTING_PORT, NULL);
  config->port = port != NULL ? (guint16) CLAMP (g_ascii_strtoull (port, NULL, 10), 0, 65535) : 0;
  config->username = coffer_catalog_get_setting (catalog, SETTING_USER, NULL);
  if (config->host == NULL || config->port == 0)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT,
                   "The catalog's custom proxy has no host or port; set the proxy again.");
      return NULL;
    }
  if (config->username != NULL)
    {
      config->password = coffer_secret_lookup (state_dir, COFFER_SECRET_PROXY_PASSWORD, SECRET_ID,
                                               NULL, cancellable, &local_error);
      if (local_error != NULL &&
          !g_error_matches (local_error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }
    }
  return g_steal_pointer (&config);
}

static gboolean
set_or_delete (CofferCatalog *catalog, const char *key, const char *value, GError **error)
{
  if (value == NULL)
    return coffer_catalog_delete_setting (catalog, key, error);
  return coffer_catalog_set_setting (catalog, key, value, error);
}

/**
 * coffer_proxy_config_save:
 * @catalog: the agent's catalog
 * @state_dir: the state folder
 * @config: the new settings; for a custom proxy, @host and a nonzero @port
 * @set_password: whether to store @config's password (or forget the stored
 *   one when it is %NULL); %FALSE keeps the stored password
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Checks and stores the proxy settings. A proxy without a user name keeps no
 * password.
 */
gboolean
coffer_proxy_config_save (CofferCatalog *catalog,
                          const char *state_dir,
                          const CofferProxyConfig *config,
                          gboolean set_password,
                          GCancellable *cancellable,
                          GError **error)
{
  g_autofree char *port = NULL;
  gboolean custom = config->mode == COFFER_PROXY_CUSTOM;
  const char *user = custom ? config->username : NULL;

  if (custom && (config->host == NULL || *config->host == '\0' || config->port == 0))
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "A custom proxy needs a host and a port from 1 to 65535.");
      return FALSE;
    }
  if (user != NULL && *user == '\0')
    user = NULL;

  if (set_password || user == NULL)
    {
      if (user != NULL && config->password != NULL)
        {
          if (!coffer_secret_store (state_dir, COFFER_SECRET_PROXY_PASSWORD, SECRET_ID,
                                    config->password, NULL, cancellable, error))
            return FALSE;
        }
      else if (!coffer_secret_clear (state_dir, COFFER_SECRET_PROXY_PASSWORD, SECRET_ID,
                                     cancellable, error))
        return FALSE;
    }

  if (custom)
    port = g_strdup_printf ("%u", config->port);
  return coffer_catalog_set_setting (catalog, SETTING_MODE,
                                     coffer_proxy_mode_to_string (config->mode), error) &&
         set_or_delete (catalog, SETTING_HOST, custom ? config->host : NULL, error) &&
         set_or_delete (catalog, SETTING_PORT, port, error) &&
         set_or_delete (catalog, SETTING_USER, user, error);
}
