/* coffer-settings.c: small readers of the machine's properties. */
#include "config.h"

#include "coffer-settings.h"

#include "coffer-error.h"

/**
 * coffer_settings_get_concurrency:
 * @catalog: the agent's catalog
 *
 * Returns: how many requests a network store keeps in flight: the
 *   "concurrency" setting, or %COFFER_CONCURRENCY_DEFAULT when it is unset or
 *   unreadable (a damaged value is logged, not fatal: it only tunes speed)
 */
guint
coffer_settings_get_concurrency (CofferCatalog *catalog)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;
  guint64 value;

  g_return_val_if_fail (COFFER_IS_CATALOG (catalog), COFFER_CONCURRENCY_DEFAULT);

  text = coffer_catalog_get_setting (catalog, COFFER_SETTING_CONCURRENCY, &error);
  if (text == NULL)
    {
      if (error != NULL)
        g_warning ("%s", error->message);
      return COFFER_CONCURRENCY_DEFAULT;
    }
  if (!g_ascii_string_to_unsigned (text, 10, COFFER_CONCURRENCY_MIN, COFFER_CONCURRENCY_MAX, &value,
                                   NULL))
    {
      g_warning ("The catalog's concurrency “%s” is not a number from %d to %d; using %d.", text,
                 COFFER_CONCURRENCY_MIN, COFFER_CONCURRENCY_MAX, COFFER_CONCURRENCY_DEFAULT);
      return COFFER_CONCURRENCY_DEFAULT;
    }
  return (guint) value;
}

/**
 * coffer_settings_check_concurrency:
 * @value: a proposed concurrency
 * @error: return location for a #GError
 *
 * Returns: %TRUE when @value is from 1 to 16
 */
gboolean
coffer_settings_check_concurrency (guint64 value, GError **error)
{
  if (value >= COFFER_CONCURRENCY_MIN && value <= COFFER_CONCURRENCY_MAX)
    return TRUE;
  g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
               "Concurrency must be between %d and %d requests.", COFFER_CONCURRENCY_MIN,
               COFFER_CONCURRENCY_MAX);
  return FALSE;
}
