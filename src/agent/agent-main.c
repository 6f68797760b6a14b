/* agent-main.c: coffer-agent, the backup agent of this machine.
 *
 * Opens the catalog, then owns io.github.coffer.Agent1 on the session bus
 * and serves it until SIGTERM or SIGINT, or until another agent started with
 * --replace takes the name. It keeps running when every client has gone.
 */
#include "config.h"

#include <glib-unix.h>
#include <locale.h>
#include <stdlib.h>

#include "agent-service.h"

typedef struct
{
  GMainLoop *loop;
  AgentService *service;
  gboolean replace;
  guint owner_id;
  gboolean owns_name;
  int exit_status;
} Agent;

static gboolean
quit_on_signal_cb (gpointer user_data)
{
  Agent *agent = user_data;

  g_message ("Stopping on request");
  g_main_loop_quit (agent->loop);
  return G_SOURCE_CONTINUE;
}

static void
bus_acquired_cb (GDBusConnection *connection, const char *name, gpointer user_data)
{
  Agent *agent = user_data;
  g_autoptr (GError) error = NULL;

  /* Do not die with the bus connection's owner going away: quit cleanly. */
  g_dbus_connection_set_exit_on_close (connection, FALSE);
  g_signal_connect_swapped (connection, "closed", G_CALLBACK (g_main_loop_quit), agent->loop);

  if (!agent_service_export (agent->service, connection, &error))
    {
      g_printerr ("coffer-agent: cannot export %s: %s\n", AGENT_OBJECT_PATH, error->message);
      agent->exit_status = EXIT_FAILURE;
      g_main_loop_quit (agent->loop);
    }
}

static void
name_acquired_cb (GDBusConnection *connection, const char *name, gpointer user_data)
{
  Agent *agent = user_data;

  agent->owns_name = TRUE;
  g_debug ("Owning %s", name);
}

static void
name_lost_cb (GDBusConnection *connection, const char *name, gpointer user_data)
{
  Agent *agent = user_data;

  /* The bus went away (the session ended): not an error. */
  if (agent->owns_name && (connection == NULL || g_dbus_connection_is_closed (connection)))
    {
      g_main_loop_quit (agent->loop);
      return;
    }

  if (connection == NULL)
    g_printerr ("coffer-agent: cannot connect to the session bus\n");
  else if (agent->owns_name)
    g_printerr ("coffer-agent: another agent took over %s\n", name);
  else
    g_printerr ("coffer-agent: another agent owns %s (use --replace to take over)\n", name);
  agent->exit_status = EXIT_FAILURE;
  g_main_loop_quit (agent->loop);
}

static void
service_started_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Agent *agent = user_data;
  GBusNameOwnerFlags flags = G_BUS_NAME_OWNER_FLAGS_ALLOW_REPLACEMENT;

  agent_service_start_finish (AGENT_SERVICE (source), result);

  if (agent->replace)
    flags |= G_BUS_NAME_OWNER_FLAGS_REPLACE;
  agent->owner_id = g_bus_own_name (G_BUS_TYPE_SESSION, AGENT_BUS_NAME, flags, bus_acquired_cb,
                                    name_acquired_cb, name_lost_cb, agent, NULL);
}

int
main (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *state_dir = NULL;
  gboolean version = FALSE;
  gboolean verbose = FALSE;
  Agent agent = { 0 };
  const GOptionEntry entries[] = {
    { "replace", 'r', 0, G_OPTION_ARG_NONE, &agent.replace, "Replace the agent that is running",
      NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Print debugging messages", NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
    { NULL }
  };

  setlocale (LC_ALL, "");

  context = g_option_context_new (NULL);
  g_option_context_set_summary (context, "The Coffer backup agent. It is started by D-Bus "
                                         "activation or by its systemd user unit.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("coffer-agent: %s\n", error->message);
      return EXIT_FAILURE;
    }

  if (version)
    {
      g_print ("coffer-agent %s\n", PACKAGE_VERSION);
      return EXIT_SUCCESS;
    }

  if (verbose)
    g_log_set_debug_enabled (TRUE);

  state_dir = coffer_paths_state_dir ();
  agent.loop = g_main_loop_new (NULL, FALSE);
  agent.service = agent_service_new (state_dir);
  agent.exit_status = EXIT_SUCCESS;

  g_unix_signal_add (SIGTERM, quit_on_signal_cb, &agent);
  g_unix_signal_add (SIGINT, quit_on_signal_cb, &agent);

  agent_service_start_async (agent.service, service_started_cb, &agent);
  g_main_loop_run (agent.loop);

  if (agent.owner_id != 0)
    g_bus_unown_name (agent.owner_id);
  agent_service_unexport (agent.service);
  g_clear_object (&agent.service);
  g_main_loop_unref (agent.loop);

  return agent.exit_status;
}
