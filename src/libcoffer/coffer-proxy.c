/* coffer-proxy.c: the proxy settings, kept in the catalog and the secret store. */
#include "config.h"

#include "coffer-proxy.h"

#include "coffer-error.h"
#include "coffer-secret.h"

#include <stdlib.h>
#include <string.h>

#define SETTING_MODE COFFER_SETTING_PROXY_MODE
#define SETTING_HOST COFFER_SETTING_PROXY_HOST
#define SETTING_PORT COFFER_SETTING_PROXY_PORT
#define SETTING_USER COFFER_SETTING_PROXY_USER
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
 * coffer_proxy_config_parse:
 * @text: "none", "system", or a custom proxy as "http://HOST:PORT" (or
 *   "HOST:PORT")
 * @error: return location for a #GError
 *
 * Reads a proxy as a user writes it, without user name or password.
 *
 * Returns: (transfer full) (nullable): the settings, or %NULL with @error
 */
CofferProxyConfig *
coffer_proxy_config_parse (const char *text, GError **error)
{
  g_autoptr (CofferProxyConfig) config = coffer_proxy_config_new ();
  g_autofree char *uri = NULL;
  g_autofree char *scheme = NULL;
  g_autofree char *host = NULL;
  gint port = -1;

  g_return_val_if_fail (text != NULL, NULL);

  if (g_str_equal (text, "none") || g_str_equal (text, "system"))
    {
      coffer_proxy_mode_from_string (text, &config->mode);
      return g_steal_pointer (&config);
    }
  /* Not echoed: it may hold a password. */
  if (strchr (text, '@') != NULL)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "Give the proxy's user name with --proxy-user and its password in a file, "
                   "not in the proxy's address.");
      return NULL;
    }
  uri = strstr (text, "://") != NULL ? g_strdup (text) : g_strconcat ("http://", text, NULL);
  if (!g_uri_split_network (uri, G_URI_FLAGS_NONE, &scheme, &host, &port, NULL) ||
      g_ascii_strcasecmp (scheme, "http") != 0 || host == NULL || *host == '\0' || port <= 0 ||
      port > 65535)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "The proxy is none, system or http://HOST:PORT; not “%s”.", text);
      return NULL;
    }
  config->mode = COFFER_PROXY_CUSTOM;
  config->host = g_steal_pointer (&host);
  config->port = (guint16) port;
  if (!coffer_proxy_config_check (config, error))
    return NULL;
  return g_steal_pointer (&config);
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
  config->port = port != NULL ? (guint16) MIN (g_ascii_strtoull (port, NULL, 10), 65535) : 0;
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

/**
 * coffer_proxy_config_check:
 * @config: proposed settings
 * @error: return location for a #GError
 *
 * A custom proxy needs a host and a port.
 */
gboolean
coffer_proxy_config_check (const CofferProxyConfig *config, GError **error)
{
  if (config->mode == COFFER_PROXY_CUSTOM &&
      (config->host == NULL || *config->host == '\0' || config->port == 0))
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "A custom proxy needs a host and a port from 1 to 65535.");
      return FALSE;
    }
  if (config->mode == COFFER_PROXY_CUSTOM &&
      (strpbrk (config->host, "/@?# ") != NULL || !g_utf8_validate (config->host, -1, NULL)))
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "The proxy host “%s” is not a host name or address.", config->host);
      return FALSE;
    }
  return TRUE;
}

/* The user name kept for @config: a custom proxy's, if not empty. */
static const char *
kept_user (const CofferProxyConfig *config)
{
  if (config->mode != COFFER_PROXY_CUSTOM || config->username == NULL || *config->username == '\0')
    return NULL;
  return config->username;
}

/**
 * coffer_proxy_config_to_catalog:
 * @config: checked settings
 * @keys: (element-type utf8): where to add the settings' names (static strings)
 * @values: (element-type utf8): where to add their values, %NULL for a
 *   setting to delete (owned by @values)
 *
 * Adds every proxy setting to @keys and @values, for
 * coffer_catalog_set_settings(). The password is not among them.
 */
void
coffer_proxy_config_to_catalog (const CofferProxyConfig *config, GPtrArray *keys, GPtrArray *values)
{
  gboolean custom = config->mode == COFFER_PROXY_CUSTOM;

  g_ptr_array_add (keys, (gpointer) SETTING_MODE);
  g_ptr_array_add (values, g_strdup (coffer_proxy_mode_to_string (config->mode)));
  g_ptr_array_add (keys, (gpointer) SETTING_HOST);
  g_ptr_array_add (values, custom ? g_strdup (config->host) : NULL);
  g_ptr_array_add (keys, (gpointer) SETTING_PORT);
  g_ptr_array_add (values, custom ? g_strdup_printf ("%u", config->port) : NULL);
  g_ptr_array_add (keys, (gpointer) SETTING_USER);
  g_ptr_array_add (values, g_strdup (kept_user (config)));
}

/**
 * coffer_proxy_password_store:
 * @state_dir: the state folder
 * @password: (nullable): the proxy's password; %NULL forgets the stored one
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Keeps the proxy's password with the other secrets, never in the catalog.
 */
gboolean
coffer_proxy_password_store (const char *state_dir,
                             const char *password,
                             GCancellable *cancellable,
                             GError **error)
{
  if (password != NULL)
    return coffer_secret_store (state_dir, COFFER_SECRET_PROXY_PASSWORD, SECRET_ID, password, NULL,
                                cancellable, error);
  return coffer_secret_clear (state_dir, COFFER_SECRET_PROXY_PASSWORD, SECRET_ID, cancellable,
                              error);
}

/**
 * coffer_proxy_password_is_set:
 * @state_dir: the state folder
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Returns: %TRUE when a proxy password is stored; %FALSE with @error unset
 *   when none is
 */
gboolean
coffer_proxy_password_is_set (const char *state_dir, GCancellable *cancellable, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  char *password;

  password = coffer_secret_lookup (state_dir, COFFER_SECRET_PROXY_PASSWORD, SECRET_ID, NULL,
                                   cancellable, &local_error);
  if (password != NULL)
    {
      explicit_bzero (password, strlen (password));
      g_free (password);
      return TRUE;
    }
  if (local_error != NULL && !g_error_matches (local_error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND))
    g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
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
 * Checks and stores the proxy settings, the catalog's in one transaction. A
 * proxy without a user name keeps no password.
 */
gboolean
coffer_proxy_config_save (CofferCatalog *catalog,
                          const char *state_dir,
                          const CofferProxyConfig *config,
                          gboolean set_password,
                          GCancellable *cancellable,
                          GError **error)
{
  g_autoptr (GPtrArray) keys = g_ptr_array_new ();
  g_autoptr (GPtrArray) values = g_ptr_array_new_with_free_func (g_free);
  const char *user = kept_user (config);

  if (!coffer_proxy_config_check (config, error))
    return FALSE;
  if ((set_password || user == NULL) &&
      !coffer_proxy_password_store (state_dir, user != NULL ? config->password : NULL, cancellable,
                                    error))
    return FALSE;

  coffer_proxy_config_to_catalog (config, keys, values);
  return coffer_catalog_set_settings (catalog, (const char *const *) keys->pdata,
                                      (const char *const *) values->pdata, keys->len, error);
}
