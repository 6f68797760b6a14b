/* cli-agent.c: how coffer(1) reaches the agent and reports what went wrong.
 *
 * The CLI is a client like the console: every command but `coffer vault …`
 * goes through io.github.coffer.Agent1 on the session bus, which starts the
 * agent by D-Bus activation when it is not running.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "cli-commands.h"

static gboolean
is_unreachable (const GError *error)
{
  return g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
         g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER) ||
         g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SPAWN_EXEC_FAILED) ||
         g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SPAWN_CHILD_EXITED) ||
         g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SPAWN_FAILED) ||
         g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NO_REPLY) ||
         g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_DISCONNECTED) ||
         g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
}

/**
 * cli_agent_connect:
 * @error: return location for a #GError
 *
 * Returns: (transfer full): a proxy for the agent, or %NULL with @error set
 *   when there is no session bus
 */
CofferDBusAgent *
cli_agent_connect (GError **error)
{
  g_autoptr (GDBusConnection) connection = NULL;
  g_autoptr (GError) local_error = NULL;

  connection = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &local_error);
  if (connection == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                   _ ("Cannot reach the Coffer agent: there is no session bus (%s). Run coffer "
                      "in a desktop session, or start one with dbus-run-session."),
                   local_error->message);
      return NULL;
    }

  /* Properties are not needed by the CLI: every command asks a method,
   * which also starts the agent when it is not running. */
  return coffer_dbus_agent_proxy_new_sync (connection,
                                           G_DBUS_PROXY_FLAGS_DO_NOT_LOAD_PROPERTIES |
                                               G_DBUS_PROXY_FLAGS_DO_NOT_CONNECT_SIGNALS,
                                           AGENT_BUS_NAME, AGENT_OBJECT_PATH, NULL, error);
}

/**
 * cli_report_error:
 * @error: what went wrong
 *
 * Prints @error for the user, in the words the agent chose, and tells what
 * to do when the agent cannot be reached at all.
 *
 * Returns: the exit status to use
 */
int
cli_report_error (const GError *error)
{
  g_autoptr (GError) shown = coffer_error_from_dbus (error);

  if (is_unreachable (error))
    g_printerr (_ ("coffer: Cannot reach the Coffer agent: %s\n"
                   "Check that Coffer is installed (coffer-agent and its D-Bus service file) "
                   "and that the session bus is running.\n"),
                shown->message);
  else
    g_printerr ("coffer: %s\n", shown->message);

  return CLI_EXIT_FAILED;
}

/**
 * cli_parse_options:
 * @context: the command's options
 * @argc: (inout): arguments, the command name first
 * @argv: (inout): arguments
 *
 * Parses a command's options; on a usage error, prints it and returns %FALSE
 * (the caller exits with CLI_EXIT_USAGE).
 */
gboolean
cli_parse_options (GOptionContext *context, int *argc, char ***argv)
{
  g_autoptr (GError) error = NULL;

  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, argc, argv, &error))
    {
      g_printerr ("coffer: %s\n", error->message);
      g_printerr (_ ("Run “coffer %s --help” to see its options.\n"), (*argv)[0]);
      return FALSE;
    }
  return TRUE;
}

/**
 * cli_check_utf8:
 * @value: an argument that travels to the agent or into a vault as text
 * @as: what it would be taken as, after "as": "an item", "a cache folder"
 *
 * D-Bus strings, the catalog and the vault's documents are UTF-8: an
 * argument that is not is refused, saying so, never passed on mangled.
 * Prints the message; the caller exits with CLI_EXIT_USAGE.
 *
 * Returns: whether @value is valid UTF-8
 */
gboolean
cli_check_utf8 (const char *value, const char *as)
{
  g_autofree char *shown = NULL;

  if (g_utf8_validate (value, -1, NULL))
    return TRUE;
  shown = coffer_input_escape (value, -1);
  /* Translators: the second %s is "an item", "a cache folder"… */
  g_printerr (_ ("coffer: “%s” is not valid UTF-8; Coffer cannot take it as %s yet.\n"), shown, as);
  return FALSE;
}

void
cli_print_json (JsonNode *node)
{
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autofree char *text = NULL;

  json_generator_set_pretty (generator, TRUE);
  json_generator_set_root (generator, node);
  text = json_generator_to_data (generator, NULL);
  g_print ("%s\n", text);
}
