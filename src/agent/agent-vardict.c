/* agent-vardict.c: checking the a{sv} options of a method call.
 *
 * Every Agent1 method that takes options names the keys it knows and their
 * types in a table; agent_vardict_check() refuses a call with any other key,
 * or with a value of another type, as G_DBUS_ERROR_INVALID_ARGS naming the
 * key and the type expected. So a misspelt option or a wrong type is an
 * error the client sees, never a value dropped without a word. The values
 * themselves (ranges, names, paths) are each method's to check.
 */
#include "config.h"

#include "agent-vardict.h"

/* "“machine” (s), “passphrase” (ay)": what a table takes, for a message. */
static char *
describe_keys (const AgentVardictKey *keys)
{
  GString *text = g_string_new (NULL);

  for (gsize i = 0; keys[i].key != NULL; i++)
    g_string_append_printf (text, "%s“%s” (%s)", i > 0 ? ", " : "", keys[i].key, keys[i].type);
  return g_string_free (text, FALSE);
}

/**
 * agent_vardict_check:
 * @vardict: a method's options, of type a{sv}
 * @keys: the keys it takes and their types, ending with { NULL, NULL }
 * @error: return location for a #GError
 *
 * Returns: %TRUE when every key of @vardict is in @keys with its type;
 *   otherwise %FALSE with %G_DBUS_ERROR_INVALID_ARGS naming the key
 */
gboolean
agent_vardict_check (GVariant *vardict, const AgentVardictKey *keys, GError **error)
{
  GVariantIter iter;
  const char *key;
  GVariant *value;

  g_return_val_if_fail (g_variant_is_of_type (vardict, G_VARIANT_TYPE_VARDICT), FALSE);
  g_return_val_if_fail (keys != NULL, FALSE);

  g_variant_iter_init (&iter, vardict);
  while (g_variant_iter_loop (&iter, "{&sv}", &key, &value))
    {
      gsize i;

      for (i = 0; keys[i].key != NULL; i++)
        if (g_str_equal (key, keys[i].key))
          break;
      if (keys[i].key == NULL)
        {
          g_autofree char *known = describe_keys (keys);

          if (keys[0].key == NULL)
            g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                         "Unknown option “%s”: this method takes no options.", key);
          else
            g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                         "Unknown option “%s”: this method takes %s.", key, known);
          g_variant_unref (value);
          return FALSE;
        }
      if (!g_variant_is_of_type (value, G_VARIANT_TYPE (keys[i].type)))
        {
          g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                       "The option “%s” takes a value of type “%s”, not “%s”.", key, keys[i].type,
                       g_variant_get_type_string (value));
          g_variant_unref (value);
          return FALSE;
        }
    }
  return TRUE;
}
