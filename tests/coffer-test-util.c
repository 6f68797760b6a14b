/* coffer-test-util.c: running the real agent and CLI from the tests.
 *
 * coffer_test_agent_start() starts a private D-Bus daemon (GTestDBus) and the
 * agent built in this tree on it, with its own XDG_STATE_HOME, and waits until
 * the agent owns its name. Nothing is mocked.
 */
#include "config.h"

#include "coffer-test-util.h"

#include <signal.h>
#include <sys/prctl.h>

/* The agent must not outlive a test that failed half-way. */
static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static void
name_appeared_cb (GDBusConnection *connection,
                  const char *name,
                  const char *owner,
                  gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
}

static gboolean
timeout_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/**
 * coffer_test_agent_start:
 * @state_home: the agent's XDG_STATE_HOME
 *
 * Returns: (transfer full): a running agent on a private bus; the test fails
 *   when it does not own its name within 20 seconds
 */
CofferTestAgent *
coffer_test_agent_start (const char *state_home)
{
  CofferTestAgent *self = g_new0 (CofferTestAgent, 1);
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GError) error = NULL;
  gboolean appeared = FALSE;
  gboolean timed_out = FALSE;
  guint watch_id;
  guint timeout_id;

  self->state_home = g_strdup (state_home);
  self->bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_test_dbus_up (self->bus);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS",
                                g_test_dbus_get_bus_address (self->bus), TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_STATE_HOME", state_home, TRUE);
  /* The test's own isolated folders (GTestDBus points some at /dev/null). */
  g_subprocess_launcher_setenv (launcher, "XDG_CACHE_HOME", g_get_user_cache_dir (), TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_DATA_HOME", g_get_user_data_dir (), TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_HOME", g_get_user_config_dir (), TRUE);
  g_subprocess_launcher_setenv (launcher, "HOME", g_get_home_dir (), TRUE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  self->agent = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("COFFER_AGENT"), NULL);
  g_assert_no_error (error);

  self->connection =
      g_dbus_connection_new_for_address_sync (g_test_dbus_get_bus_address (self->bus),
                                              G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                  G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                              NULL, NULL, &error);
  g_assert_no_error (error);

  watch_id = g_bus_watch_name_on_connection (self->connection, AGENT_BUS_NAME,
                                             G_BUS_NAME_WATCHER_FLAGS_NONE, name_appeared_cb, NULL,
                                             &appeared, NULL);
  timeout_id = g_timeout_add_seconds (20, timeout_cb, &timed_out);
  while (!appeared && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  g_bus_unwatch_name (watch_id);
  if (!timed_out)
    g_source_remove (timeout_id);

  if (!appeared)
    g_error ("The agent did not own %s within 20 seconds", AGENT_BUS_NAME);

  return self;
}

/**
 * coffer_test_agent_stop:
 * @self: a running agent
 *
 * Stops the agent with SIGTERM, checks that it exits cleanly, and takes the
 * private bus down.
 */
void
coffer_test_agent_stop (CofferTestAgent *self)
{
  g_autoptr (GError) error = NULL;

  if (self == NULL)
    return;

  g_subprocess_send_signal (self->agent, SIGTERM);
  g_subprocess_wait_check (self->agent, NULL, &error);
  g_assert_no_error (error);

  g_clear_object (&self->agent);
  g_dbus_connection_close_sync (self->connection, NULL, NULL);
  g_clear_object (&self->connection);
  g_test_dbus_down (self->bus);
  g_clear_object (&self->bus);
  g_free (self->state_home);
  g_free (self);
}

/**
 * coffer_test_run_cli:
 * @bus_address: (nullable): the session bus the CLI sees; %NULL for none
 * @args: the CLI's arguments, %NULL-terminated, without the program
 * @out_stderr: (out) (optional): what it printed on stderr
 * @out_status: (out): its exit status
 *
 * Runs the coffer CLI built in this tree.
 *
 * Returns: (transfer full): what it printed on stdout
 */
char *
coffer_test_run_cli (const char *bus_address,
                     const char *const *args,
                     char **out_stderr,
                     int *out_status)
{
  return coffer_test_run_cli_env (bus_address, NULL, args, out_stderr, out_status);
}

/**
 * coffer_test_run_cli_env:
 * @bus_address: (nullable): the session bus the CLI sees; %NULL for none
 * @env: (nullable): more environment, "NAME=VALUE" strings, %NULL-terminated
 * @args: the CLI's arguments, %NULL-terminated, without the program
 * @out_stderr: (out) (optional): what it printed on stderr
 * @out_status: (out): its exit status
 *
 * Returns: (transfer full): what the CLI printed on stdout
 */
char *
coffer_test_run_cli_env (const char *bus_address,
                         const char *const *env,
                         const char *const *args,
                         char **out_stderr,
                         int *out_status)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GSubprocess) cli = NULL;
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  char *out = NULL;
  char *err = NULL;

  g_ptr_array_add (argv, (char *) g_getenv ("COFFER_CLI"));
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);

  launcher =
      g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  /* Messages in English, whatever the machine's language. */
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  g_subprocess_launcher_setenv (launcher, "LANGUAGE", "C", TRUE);
  if (bus_address != NULL)
    g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS", bus_address, TRUE);
  else
    g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS",
                                  "unix:path=/nonexistent/coffer-test-bus", TRUE);
  for (guint i = 0; env != NULL && env[i] != NULL; i++)
    {
      g_auto (GStrv) pair = g_strsplit (env[i], "=", 2);
      g_subprocess_launcher_setenv (launcher, pair[0], pair[1], TRUE);
    }
  cli = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);

  g_subprocess_communicate_utf8 (cli, NULL, NULL, &out, &err, &error);
  g_assert_no_error (error);
  if (!g_subprocess_get_if_exited (cli))
    g_error ("coffer %s was killed by signal %d\nstdout: %s\nstderr: %s", args[0],
             g_subprocess_get_term_sig (cli), out, err);
  *out_status = g_subprocess_get_exit_status (cli);

  if (out_stderr != NULL)
    *out_stderr = err;
  else
    g_free (err);
  return out;
}
