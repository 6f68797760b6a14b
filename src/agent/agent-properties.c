/* agent-properties.c: GetProperties and SetProperties — throttling, proxy,
 * concurrency — the Change Properties dialog's data.
 *
 * Everything is checked before anything is written: the throttling, proxy
 * and concurrency settings go to the catalog in one transaction, after the
 * proxy password (if it changes) went to the secret store; if the catalog
 * refuses, the old password is put back. Then the agent's one throttle takes
 * the new settings, which every running transfer follows at once. These
 * block (catalog, Secret Service): the service runs them in worker threads.
 */
#include "config.h"

#include "agent-properties.h"

#include "agent-vardict.h"

#include <string.h>

/* A proxy password is kept with the passphrase; no proxy asks for more. */
#define AGENT_PROXY_PASSWORD_MAX_LENGTH 1024

static void
add_string (GVariantBuilder *builder, const char *key, const char *value)
{
  g_variant_builder_add (builder, "{sv}", key, g_variant_new_string (value != NULL ? value : ""));
}

static GVariant *
days_variant (guint days)
{
  static const char *const names[] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };
  const char *list[8];
  guint n = 0;

  for (guint d = 0; d < 7; d++)
    if (days & (1u << d))
      list[n++] = names[d];
  return g_variant_new_strv (list, n);
}

/**
 * agent_properties_get:
 * @catalog: the agent's catalog
 * @state_dir: the state folder
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Returns: (transfer floating): the properties, as GetProperties gives them
 */
GVariant *
agent_properties_get (CofferCatalog *catalog,
                      const char *state_dir,
                      GCancellable *cancellable,
                      GError **error)
{
  CofferThrottleSettings throttle;
  g_autoptr (CofferProxyConfig) proxy = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autofree char *start = NULL, *end = NULL, *cache = NULL;
  g_autofree char *host = NULL, *port = NULL, *user = NULL, *mode = NULL;
  CofferProxyMode proxy_mode = COFFER_PROXY_NONE;
  gboolean password_set;
  GVariantBuilder builder;

  if (!coffer_throttle_settings_load (catalog, &throttle, error))
    return NULL;
  /* Read the proxy's rows as they are, so a half-set proxy still shows. */
  mode = coffer_catalog_get_setting (catalog, COFFER_SETTING_PROXY_MODE, NULL);
  if (mode != NULL)
    coffer_proxy_mode_from_string (mode, &proxy_mode);
  host = coffer_catalog_get_setting (catalog, COFFER_SETTING_PROXY_HOST, NULL);
  port = coffer_catalog_get_setting (catalog, COFFER_SETTING_PROXY_PORT, NULL);
  user = coffer_catalog_get_setting (catalog, COFFER_SETTING_PROXY_USER, NULL);
  password_set = coffer_proxy_password_is_set (state_dir, cancellable, &local_error);
  if (local_error != NULL)
    g_debug ("Whether a proxy password is stored cannot be told: %s", local_error->message);
  cache = coffer_catalog_get_setting (catalog, COFFER_SETTING_CACHE_FOLDER, NULL);
  if (cache == NULL)
    cache = coffer_paths_default_cache_dir ();

  start = coffer_throttle_format_time (throttle.work_start);
  end = coffer_throttle_format_time (throttle.work_end);
  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&builder, "{sv}", "throttle", g_variant_new_boolean (throttle.enabled));
  g_variant_builder_add (&builder, "{sv}", "work-days", days_variant (throttle.work_days));
  add_string (&builder, "work-start", start);
  add_string (&builder, "work-end", end);
  g_variant_builder_add (&builder, "{sv}", "work-bandwidth",
                         g_variant_new_uint64 (throttle.work_bps));
  g_variant_builder_add (&builder, "{sv}", "non-work-bandwidth",
                         g_variant_new_uint64 (throttle.non_work_bps));
  add_string (&builder, "proxy", coffer_proxy_mode_to_string (proxy_mode));
  add_string (&builder, "proxy-host", host);
  g_variant_builder_add (
      &builder, "{sv}", "proxy-port",
      g_variant_new_uint16 (
          port != NULL ? (guint16) MIN (g_ascii_strtoull (port, NULL, 10), G_MAXUINT16) : 0));
  add_string (&builder, "proxy-user", user);
  g_variant_builder_add (&builder, "{sv}", "proxy-password-set",
                         g_variant_new_boolean (password_set));
  add_string (&builder, "cache-folder", cache);
  g_variant_builder_add (&builder, "{sv}", "concurrency",
                         g_variant_new_uint32 (coffer_settings_get_concurrency (catalog)));
  return g_variant_builder_end (&builder);
}

/* The keys SetProperties takes, and their types. */
static const AgentVardictKey settable[] = {
  { "throttle", "b" },   { "work-days", "as" },      { "work-start", "s" },
  { "work-end", "s" },   { "work-bandwidth", "t" },  { "non-work-bandwidth", "t" },
  { "proxy", "s" },      { "proxy-host", "s" },      { "proxy-port", "q" },
  { "proxy-user", "s" }, { "proxy-password", "ay" }, { "concurrency", "u" },
  { NULL, NULL },
};

/**
 * agent_properties_check_keys:
 * @changes: SetProperties' changes
 * @error: return location for a #GError
 *
 * Refuses a key SetProperties does not take or a value of the wrong type
 * (G_DBUS_ERROR_INVALID_ARGS); "cache-folder" gets its own message.
 */
gboolean
agent_properties_check_keys (GVariant *changes, GError **error)
{
  g_autoptr (GVariant) cache_folder = g_variant_lookup_value (changes, "cache-folder", NULL);

  if (cache_folder != NULL)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "The cache folder is moved by a Cache move job (StartCacheMove), not set.");
      return FALSE;
    }
  return agent_vardict_check (changes, settable, error);
}

static gboolean
apply_throttle_changes (GVariant *changes, CofferThrottleSettings *settings, GError **error)
{
  g_autofree const char **days = NULL;
  const char *text;

  g_variant_lookup (changes, "throttle", "b", &settings->enabled);
  if (g_variant_lookup (changes, "work-days", "^a&s", &days))
    {
      g_autofree char *joined = g_strjoinv (",", (char **) days);

      if (*joined == '\0')
        settings->work_days = 0;
      else if (!coffer_throttle_parse_days (joined, &settings->work_days, error))
        return FALSE;
    }
  if (g_variant_lookup (changes, "work-start", "&s", &text) &&
      !coffer_throttle_parse_time (text, &settings->work_start, error))
    return FALSE;
  if (g_variant_lookup (changes, "work-end", "&s", &text) &&
      !coffer_throttle_parse_time (text, &settings->work_end, error))
    return FALSE;
  g_variant_lookup (changes, "work-bandwidth", "t", &settings->work_bps);
  g_variant_lookup (changes, "non-work-bandwidth", "t", &settings->non_work_bps);
  return coffer_throttle_settings_check (settings, error);
}

/* Fills @proxy from the catalog's rows and @changes; sets @password_change
 * when the stored password is to be replaced or forgotten. */
static gboolean
apply_proxy_changes (CofferCatalog *catalog,
                     GVariant *changes,
                     CofferProxyConfig *proxy,
                     gboolean *password_change,
                     GError **error)
{
  g_autofree char *mode = coffer_catalog_get_setting (catalog, COFFER_SETTING_PROXY_MODE, NULL);
  g_autofree char *port = coffer_catalog_get_setting (catalog, COFFER_SETTING_PROXY_PORT, NULL);
  g_autoptr (GVariant) password = NULL;
  const char *text;
  guint16 new_port;
  gboolean user_given = FALSE;

  if (mode != NULL)
    coffer_proxy_mode_from_string (mode, &proxy->mode);
  proxy->host = coffer_catalog_get_setting (catalog, COFFER_SETTING_PROXY_HOST, NULL);
  proxy->port = port != NULL ? (guint16) MIN (g_ascii_strtoull (port, NULL, 10), G_MAXUINT16) : 0;
  proxy->username = coffer_catalog_get_setting (catalog, COFFER_SETTING_PROXY_USER, NULL);

  if (g_variant_lookup (changes, "proxy", "&s", &text) &&
      !coffer_proxy_mode_from_string (text, &proxy->mode))
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "The proxy is none, system or custom, not “%s”.", text);
      return FALSE;
    }
  if (g_variant_lookup (changes, "proxy-host", "&s", &text))
    {
      g_free (proxy->host);
      proxy->host = *text != '\0' ? g_strdup (text) : NULL;
    }
  if (g_variant_lookup (changes, "proxy-port", "q", &new_port))
    proxy->port = new_port;
  if (g_variant_lookup (changes, "proxy-user", "&s", &text))
    {
      user_given = TRUE;
      /* Another user's password is not this one's. */
      if (g_strcmp0 (proxy->username, *text != '\0' ? text : NULL) != 0)
        *password_change = TRUE;
      g_free (proxy->username);
      proxy->username = *text != '\0' ? g_strdup (text) : NULL;
    }
  if (!coffer_proxy_config_check (proxy, error))
    return FALSE;
  /* A user name for no proxy, or the system's, would be kept and never used. */
  if (user_given && proxy->username != NULL && proxy->mode != COFFER_PROXY_CUSTOM)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "A proxy user name goes with a custom proxy (http://HOST:PORT); the proxy is "
                   "%s.",
                   coffer_proxy_mode_to_string (proxy->mode));
      return FALSE;
    }

  password = g_variant_lookup_value (changes, "proxy-password", G_VARIANT_TYPE_BYTESTRING);
  if (password != NULL)
    {
      gsize size;
      const char *data = g_variant_get_fixed_array (password, &size, 1);

      if (size > 0 && data[size - 1] == '\0')
        size--;
      if (size > AGENT_PROXY_PASSWORD_MAX_LENGTH)
        {
          g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                       "The proxy password is too long (%" G_GSIZE_FORMAT " bytes): it may have "
                       "at most 1,024.",
                       size);
          return FALSE;
        }
      if (memchr (data, '\0', size) != NULL || !g_utf8_validate (data, size, NULL))
        {
          g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                       "The proxy password must be UTF-8 text without NUL characters.");
          return FALSE;
        }
      proxy->password = size > 0 ? g_strndup (data, size) : NULL;
      *password_change = TRUE;
    }
  /* Without a custom proxy's user name, no password is kept. */
  if (proxy->mode != COFFER_PROXY_CUSTOM || proxy->username == NULL)
    {
      if (proxy->password != NULL && password != NULL)
        {
          g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                       "A proxy password needs a custom proxy with a user name.");
          return FALSE;
        }
      *password_change = TRUE;
    }
  return TRUE;
}

static gboolean
touches_proxy (GVariant *changes)
{
  static const char *const keys[] = { "proxy", "proxy-host", "proxy-port", "proxy-user",
                                      "proxy-password" };

  for (gsize i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      g_autoptr (GVariant) value = g_variant_lookup_value (changes, keys[i], NULL);

      if (value != NULL)
        return TRUE;
    }
  return FALSE;
}

/**
 * agent_properties_set:
 * @catalog: the agent's catalog
 * @state_dir: the state folder
 * @throttle: the agent's throttle, which takes the new settings
 * @changes: SetProperties' changes
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Applies @changes all at once or not at all.
 */
gboolean
agent_properties_set (CofferCatalog *catalog,
                      const char *state_dir,
                      CofferThrottle *throttle,
                      GVariant *changes,
                      GCancellable *cancellable,
                      GError **error)
{
  CofferThrottleSettings settings;
  g_autoptr (CofferProxyConfig) proxy = coffer_proxy_config_new ();
  g_autoptr (GPtrArray) keys = g_ptr_array_new ();
  g_autoptr (GPtrArray) values = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (CofferProxyConfig) old_proxy = NULL;
  gboolean password_change = FALSE;
  guint32 concurrency;

  /* The proxy's rows are read and checked only when the call changes them. */
  if (!agent_properties_check_keys (changes, error) ||
      !coffer_throttle_settings_load (catalog, &settings, error) ||
      !apply_throttle_changes (changes, &settings, error) ||
      (touches_proxy (changes) &&
       !apply_proxy_changes (catalog, changes, proxy, &password_change, error)))
    return FALSE;
  if (g_variant_lookup (changes, "concurrency", "u", &concurrency))
    {
      if (!coffer_settings_check_concurrency (concurrency, error))
        return FALSE;
      g_ptr_array_add (keys, (gpointer) COFFER_SETTING_CONCURRENCY);
      g_ptr_array_add (values, g_strdup_printf ("%u", concurrency));
    }
  coffer_throttle_settings_to_catalog (&settings, keys, values);
  if (touches_proxy (changes))
    coffer_proxy_config_to_catalog (proxy, keys, values);

  if (password_change)
    {
      /* Keep the old password, to put it back if the catalog refuses. */
      g_autoptr (GError) local_error = NULL;

      old_proxy = coffer_proxy_config_load (catalog, state_dir, cancellable, &local_error);
      if (local_error != NULL)
        g_debug ("The old proxy password could not be read: %s", local_error->message);
      if (!coffer_proxy_password_store (state_dir, proxy->password, cancellable, error))
        return FALSE;
    }
  if (!coffer_catalog_set_settings (catalog, (const char *const *) keys->pdata,
                                    (const char *const *) values->pdata, keys->len, error))
    {
      if (password_change)
        coffer_proxy_password_store (state_dir, old_proxy != NULL ? old_proxy->password : NULL,
                                     NULL, NULL);
      return FALSE;
    }

  coffer_throttle_set_settings (throttle, &settings);
  if (touches_proxy (changes))
    g_message ("Properties changed: throttling %s, proxy %s", settings.enabled ? "on" : "off",
               coffer_proxy_mode_to_string (proxy->mode));
  else
    g_message ("Properties changed: throttling %s", settings.enabled ? "on" : "off");
  return TRUE;
}
