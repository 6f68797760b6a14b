/* coffer-test-util.c: running the real agent and CLI from the tests.
 *
 * coffer_test_agent_start() starts a private D-Bus daemon and the
 * agent built in this tree on it, with its own XDG_STATE_HOME, and waits until
 * the agent owns its name. Nothing is mocked.
 */
#include "config.h"

#include "coffer-test-util.h"

#include <glib/gstdio.h>
#include <libsecret/secret.h>
#include <unistd.h>
#include <signal.h>
#include <string.h>
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

/* ---- A private bus ------------------------------------------------------- */

struct _CofferTestBus
{
  GSubprocess *daemon;
  char *address;
  char *config;
};

static const char bus_config[] =
    "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
    " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
    "<busconfig>\n"
    "  <type>session</type>\n"
    "  <listen>unix:tmpdir=/tmp</listen>\n"
    "  <auth>EXTERNAL</auth>\n"
    "  <policy context=\"default\">\n"
    "    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
    "    <allow eavesdrop=\"true\"/>\n"
    "    <allow own=\"*\"/>\n"
    "  </policy>\n"
    "</busconfig>\n";

/**
 * coffer_test_bus_up:
 *
 * Starts a dbus-daemon with no activatable services, and makes it this
 * process's session bus, as GTestDBus does. It dies with the test (unlike GTestDBus's, which a test that aborts leaves holding the test
 * runner's pipes until its timeout).
 *
 * Returns: (transfer full): the bus
 */
CofferTestBus *
coffer_test_bus_up (void)
{
  CofferTestBus *self = g_new0 (CofferTestBus, 1);
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GDataInputStream) input = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *config_arg = NULL;
  int fd;

  fd = g_file_open_tmp ("coffer-test-bus-XXXXXX.conf", &self->config, &error);
  g_assert_no_error (error);
  close (fd);
  g_assert_true (g_file_set_contents (self->config, bus_config, -1, NULL));
  config_arg = g_strconcat ("--config-file=", self->config, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  self->daemon = g_subprocess_launcher_spawn (launcher, &error, "dbus-daemon", config_arg,
                                              "--nofork", "--print-address=1", NULL);
  g_assert_no_error (error);
  input = g_data_input_stream_new (g_subprocess_get_stdout_pipe (self->daemon));
  self->address = g_data_input_stream_read_line (input, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (self->address);
  /* As GTestDBus does: this process's own session bus is the test's. */
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", self->address, TRUE);
  return self;
}

const char *
coffer_test_bus_get_address (CofferTestBus *self)
{
  return self->address;
}

static void
connection_finalized_cb (gpointer user_data, GObject *where_the_object_was)
{
  g_atomic_int_set ((gint *) user_data, TRUE);
  g_main_context_wakeup (NULL);
}

void
coffer_test_bus_down (CofferTestBus *self)
{
  GDBusConnection *session;
  gint finalized = FALSE;
  gint64 deadline;

  if (self == NULL)
    return;
  /* As GTestDBus does: the process's session bus singleton (libsecret's, for
   * one) must be gone before the next test, or g_bus_get() hands the next test
   * this bus's closed connection. */
  session = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, NULL);
  if (session != NULL)
    {
      g_dbus_connection_set_exit_on_close (session, FALSE);
      g_object_weak_ref (G_OBJECT (session), connection_finalized_cb, &finalized);
      g_object_unref (session);
    }
  g_unsetenv ("DBUS_SESSION_BUS_ADDRESS");
  g_subprocess_force_exit (self->daemon);
  g_subprocess_wait (self->daemon, NULL, NULL);
  if (session != NULL)
    {
      deadline = g_get_monotonic_time () + 20 * G_TIME_SPAN_SECOND;
      while (!g_atomic_int_get (&finalized) && g_get_monotonic_time () < deadline)
        {
          if (!g_main_context_iteration (NULL, FALSE))
            g_usleep (1000);
        }
      if (!g_atomic_int_get (&finalized))
        g_error ("The session bus connection outlived its bus");
    }
  g_clear_object (&self->daemon);
  g_unlink (self->config);
  g_free (self->config);
  g_free (self->address);
  g_free (self);
}

#define WAIT_SECONDS 20

/* Runs the main context until *@flag or *@other is set, for at most
 * WAIT_SECONDS. */
static gboolean
wait_for (gboolean *flag, gboolean *other)
{
  gboolean timed_out = FALSE;
  guint timeout_id = g_timeout_add_seconds (WAIT_SECONDS, timeout_cb, &timed_out);

  while (!*flag && !*other && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (timeout_id);
  return *flag;
}

static void
daemon_exited_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  CofferTestKeyring *keyring = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  keyring->exited = TRUE;
}

/**
 * coffer_test_keyring_stop:
 * @self: a keyring from coffer_test_keyring_start()
 *
 * Stops the daemon, and takes its bus down when it made one.
 */
void
coffer_test_keyring_stop (CofferTestKeyring *self)
{
  if (self == NULL)
    return;

  if (!self->exited)
    {
      g_subprocess_send_signal (self->daemon, SIGTERM);
      if (!wait_for (&self->exited, &self->exited))
        {
          g_subprocess_force_exit (self->daemon);
          wait_for (&self->exited, &self->exited);
        }
    }
  g_clear_object (&self->daemon);

  /* libsecret keeps its SecretService, and with it the bus, for the process. */
  secret_service_disconnect ();
  g_dbus_connection_close_sync (self->connection, NULL, NULL);
  g_clear_object (&self->connection);
  if (self->bus != NULL)
    {
      g_clear_pointer (&self->bus, coffer_test_bus_down);
    }
  g_free (self);
}

/**
 * coffer_test_keyring_start:
 * @bus: (nullable): the bus to serve on; %NULL for a new one of its own
 *
 * Starts Debian's gnome-keyring-daemon on a private bus, its login keyring
 * created and unlocked with a password on stdin, in the test's own home.
 *
 * Returns: (transfer full) (nullable): the keyring; %NULL (the test
 *   skipped) when gnome-keyring-daemon is not installed
 */
CofferTestKeyring *
coffer_test_keyring_start (CofferTestBus *bus)
{
  g_autofree char *program = g_find_program_in_path ("gnome-keyring-daemon");
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GError) error = NULL;
  CofferTestKeyring *keyring;
  GOutputStream *input;
  gboolean appeared = FALSE;
  guint watch_id;

  if (program == NULL)
    {
      g_test_skip ("gnome-keyring-daemon is not installed");
      return NULL;
    }

  keyring = g_new0 (CofferTestKeyring, 1);
  if (bus == NULL)
    {
      keyring->bus = coffer_test_bus_up ();
      bus = keyring->bus;
    }
  keyring->connection =
      g_dbus_connection_new_for_address_sync (coffer_test_bus_get_address (bus),
                                              G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                  G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                              NULL, NULL, &error);
  g_assert_no_error (error);

  /* Its keyrings go under the test's XDG_DATA_HOME, its socket under XDG_RUNTIME_DIR. */
  g_assert_cmpint (g_mkdir_with_parents (g_get_user_data_dir (), 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (g_get_user_runtime_dir (), 0700), ==, 0);

  launcher =
      g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS",
                                coffer_test_bus_get_address (bus), TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_RUNTIME_DIR", g_get_user_runtime_dir (), TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_DATA_HOME", g_get_user_data_dir (), TRUE);
  g_subprocess_launcher_setenv (launcher, "HOME", g_get_home_dir (), TRUE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  keyring->daemon = g_subprocess_launcher_spawn (launcher, &error, program, "--foreground",
                                                 "--unlock", "--components=secrets", NULL);
  g_assert_no_error (error);
  g_subprocess_wait_async (keyring->daemon, NULL, daemon_exited_cb, keyring);

  input = g_subprocess_get_stdin_pipe (keyring->daemon);
  g_output_stream_write_all (input, "test-password", strlen ("test-password"), NULL, NULL, &error);
  g_assert_no_error (error);
  g_output_stream_close (input, NULL, &error);
  g_assert_no_error (error);

  watch_id = g_bus_watch_name_on_connection (keyring->connection, "org.freedesktop.secrets",
                                             G_BUS_NAME_WATCHER_FLAGS_NONE, name_appeared_cb, NULL,
                                             &appeared, NULL);
  wait_for (&appeared, &keyring->exited);
  g_bus_unwatch_name (watch_id);
  if (!appeared)
    {
      coffer_test_keyring_stop (keyring);
      g_error ("gnome-keyring-daemon exited or did not own org.freedesktop.secrets within %d "
               "seconds",
               WAIT_SECONDS);
    }
  return keyring;
}

/* Starts the agent on the bus of @self and waits until it owns its name. */
static void
spawn_agent (CofferTestAgent *self)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GError) error = NULL;
  gboolean appeared = FALSE;
  gboolean timed_out = FALSE;
  guint watch_id;
  guint timeout_id;

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS",
                                coffer_test_bus_get_address (self->bus), TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_STATE_HOME", self->state_home, TRUE);
  /* The test's own isolated folders. */
  g_subprocess_launcher_setenv (launcher, "XDG_CACHE_HOME", g_get_user_cache_dir (), TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_DATA_HOME", g_get_user_data_dir (), TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_HOME", g_get_user_config_dir (), TRUE);
  g_subprocess_launcher_setenv (launcher, "HOME", g_get_home_dir (), TRUE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  self->agent = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("COFFER_AGENT"), NULL);
  g_assert_no_error (error);

  if (self->connection == NULL)
    self->connection =
        g_dbus_connection_new_for_address_sync (coffer_test_bus_get_address (self->bus),
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
}

/**
 * coffer_test_agent_start:
 * @state_home: the agent's XDG_STATE_HOME
 *
 * Returns: (transfer full): a running agent on a private bus; the test fails
 *   when it does not own its name within 20 seconds
 */
static CofferTestAgent *
agent_start (const char *state_home, gboolean with_keyring)
{
  CofferTestAgent *self = g_new0 (CofferTestAgent, 1);

  self->state_home = g_strdup (state_home);
  self->bus = coffer_test_bus_up ();
  if (with_keyring)
    {
      self->keyring = coffer_test_keyring_start (self->bus);
      if (self->keyring == NULL)
        {
          g_clear_pointer (&self->bus, coffer_test_bus_down);
          g_free (self->state_home);
          g_free (self);
          return NULL;
        }
    }

  spawn_agent (self);
  return self;
}

CofferTestAgent *
coffer_test_agent_start (const char *state_home)
{
  return agent_start (state_home, FALSE);
}

/**
 * coffer_test_agent_start_with_keyring:
 * @state_home: the agent's XDG_STATE_HOME
 *
 * Like coffer_test_agent_start(), with an unlocked gnome-keyring-daemon on
 * the agent's bus.
 *
 * Returns: (transfer full) (nullable): the agent; %NULL (the test skipped)
 *   when gnome-keyring-daemon is not installed
 */
CofferTestAgent *
coffer_test_agent_start_with_keyring (const char *state_home)
{
  return agent_start (state_home, TRUE);
}

/**
 * coffer_test_agent_restart:
 * @self: a running agent
 *
 * Stops the agent with SIGTERM and starts it again on the same bus, with the
 * same keyring and state: what a reboot or a new login does to it.
 */
void
coffer_test_agent_restart (CofferTestAgent *self)
{
  g_autoptr (GError) error = NULL;

  g_subprocess_send_signal (self->agent, SIGTERM);
  g_subprocess_wait_check (self->agent, NULL, &error);
  g_assert_no_error (error);
  g_clear_object (&self->agent);
  /* The bus drops the old agent's name once it sees it gone. */
  for (int i = 0; i < 200; i++)
    {
      g_autoptr (GVariant) owner = g_dbus_connection_call_sync (
          self->connection, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
          "NameHasOwner", g_variant_new ("(s)", AGENT_BUS_NAME), G_VARIANT_TYPE ("(b)"),
          G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
      gboolean has_owner = TRUE;

      g_assert_no_error (error);
      g_variant_get (owner, "(b)", &has_owner);
      if (!has_owner)
        break;
      g_usleep (50 * G_TIME_SPAN_MILLISECOND);
    }
  spawn_agent (self);
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

  /* A test may have killed it already. */
  if (self->agent != NULL)
    {
      g_subprocess_send_signal (self->agent, SIGTERM);
      g_subprocess_wait_check (self->agent, NULL, &error);
      g_assert_no_error (error);
      g_clear_object (&self->agent);
    }
  g_clear_pointer (&self->keyring, coffer_test_keyring_stop);
  g_dbus_connection_close_sync (self->connection, NULL, NULL);
  g_clear_object (&self->connection);
  g_clear_pointer (&self->bus, coffer_test_bus_down);
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

/* Starts the CLI with @args, on @bus_address (none when NULL), in English,
 * with @env added to the environment. */
static GSubprocess *
spawn_cli (const char *bus_address, const char *const *env, const char *const *args)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  GSubprocess *cli;

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
  return cli;
}

typedef struct
{
  GBytes *out;
  GBytes *err;
  GError *error;
  gboolean done;
} Communicated;

static void
communicated_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Communicated *communicated = user_data;

  g_subprocess_communicate_finish (G_SUBPROCESS (source), result, &communicated->out,
                                   &communicated->err, &communicated->error);
  communicated->done = TRUE;
}

static char *
bytes_to_string (GBytes *bytes)
{
  gsize size = 0;
  const char *data = bytes != NULL ? g_bytes_get_data (bytes, &size) : NULL;

  return g_strndup (data != NULL ? data : "", size);
}

/**
 * coffer_test_run_cli_timed:
 * @bus_address: (nullable): the session bus the CLI sees; %NULL for none
 * @env: (nullable): more environment, "NAME=VALUE" strings, %NULL-terminated
 * @args: the CLI's arguments, %NULL-terminated, without the program
 * @timeout_ms: how long it may take
 * @out_stderr: (out) (optional): what it printed on stderr
 * @out_status: (out): its exit status
 *
 * Like coffer_test_run_cli_env(), for a command that must answer at once: a
 * CLI still running after @timeout_ms (waiting on a fifo, reading
 * /dev/zero) is killed and the test fails, naming the command. Its output
 * need not be UTF-8.
 *
 * Returns: (transfer full): what the CLI printed on stdout
 */
char *
coffer_test_run_cli_timed (const char *bus_address,
                           const char *const *env,
                           const char *const *args,
                           guint timeout_ms,
                           char **out_stderr,
                           int *out_status)
{
  g_autoptr (GMainContext) context = g_main_context_new ();
  g_autoptr (GSubprocess) cli = NULL;
  gint64 deadline = g_get_monotonic_time () + timeout_ms * G_TIME_SPAN_MILLISECOND;
  Communicated communicated = { 0 };
  char *out;

  g_main_context_push_thread_default (context);
  cli = spawn_cli (bus_address, env, args);
  g_subprocess_communicate_async (cli, NULL, NULL, communicated_cb, &communicated);
  while (!communicated.done && g_get_monotonic_time () < deadline)
    {
      g_autoptr (GSource) tick = g_timeout_source_new (10);

      g_source_set_dummy_callback (tick);
      g_source_attach (tick, context);
      g_main_context_iteration (context, TRUE);
      g_source_destroy (tick);
    }
  if (!communicated.done)
    {
      g_autofree char *command = g_strjoinv (" ", (char **) args);

      g_subprocess_force_exit (cli);
      while (!communicated.done)
        g_main_context_iteration (context, TRUE);
      g_main_context_pop_thread_default (context);
      g_error ("“coffer %s” did not return within %u ms", command, timeout_ms);
    }
  g_main_context_pop_thread_default (context);
  g_assert_no_error (communicated.error);
  if (!g_subprocess_get_if_exited (cli))
    g_error ("coffer %s was killed by signal %d", args[0], g_subprocess_get_term_sig (cli));
  *out_status = g_subprocess_get_exit_status (cli);

  out = bytes_to_string (communicated.out);
  if (out_stderr != NULL)
    *out_stderr = bytes_to_string (communicated.err);
  g_clear_pointer (&communicated.out, g_bytes_unref);
  g_clear_pointer (&communicated.err, g_bytes_unref);
  return out;
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
  g_autoptr (GSubprocess) cli = spawn_cli (bus_address, env, args);
  g_autoptr (GError) error = NULL;
  char *out = NULL;
  char *err = NULL;

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

/**
 * coffer_test_vault_set_up:
 * @self: the fixture
 * @data: unused (a GTest fixture function)
 *
 * Makes the folders, a vault, keys and a catalog whose policy backs up
 * @self->source.
 */
void
coffer_test_vault_set_up (CofferTestVault *self, gconstpointer data)
{
  g_autofree char *state_dir = coffer_paths_state_dir ();
  g_autoptr (GError) error = NULL;
  CofferPolicyEdit edit = { "item", NULL, TRUE };

  self->source = g_build_filename (g_get_user_data_dir (), "source", NULL);
  self->target = g_build_filename (g_get_user_data_dir (), "target", NULL);
  self->vault_dir = g_build_filename (g_get_user_data_dir (), "vault", NULL);
  self->cache_dir = g_build_filename (g_get_user_cache_dir (), "coffer", NULL);
  g_assert_cmpint (g_mkdir_with_parents (self->source, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (self->target, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (self->vault_dir, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (self->cache_dir, 0700), ==, 0);
  self->store = coffer_local_store_new (self->vault_dir);
  self->vault = coffer_vault_create (self->store, "Test-Vault", NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  self->keys = coffer_master_keys_generate ();
  self->catalog = coffer_catalog_open (state_dir, &error);
  g_assert_no_error (error);
  edit.value = self->source;
  g_assert_true (coffer_catalog_edit_policy (self->catalog, &edit, 1, &error));
}

void
coffer_test_vault_tear_down (CofferTestVault *self, gconstpointer data)
{
  g_autofree char *command = g_strdup_printf ("chmod -R u+rwX '%s'", g_get_user_data_dir ());

  /* Read-only folders would stop the isolated dirs' removal. */
  g_spawn_command_line_sync (command, NULL, NULL, NULL, NULL);
  g_clear_object (&self->catalog);
  g_clear_object (&self->vault);
  g_clear_object (&self->store);
  g_clear_pointer (&self->keys, coffer_master_keys_free);
  g_free (self->source);
  g_free (self->target);
  g_free (self->vault_dir);
  g_free (self->cache_dir);
}

/**
 * coffer_test_vault_open_slow:
 * @self: the fixture
 * @bits_per_second: the rate every transfer is throttled to
 *
 * The fixture's vault again, through a throttled store: a slow vault, for
 * what a person sees while data crawls to it or from it.
 *
 * Returns: (transfer full): the vault
 */
CofferVault *
coffer_test_vault_open_slow (CofferTestVault *self, guint64 bits_per_second)
{
  CofferThrottleSettings settings;
  g_autoptr (CofferThrottle) throttle = NULL;
  g_autoptr (CofferStore) slow = NULL;
  g_autoptr (GError) error = NULL;
  CofferVault *vault;

  coffer_throttle_settings_init_default (&settings);
  settings.enabled = TRUE;
  settings.work_bps = settings.non_work_bps = bits_per_second;
  throttle = coffer_throttle_new (&settings);
  slow = coffer_throttled_store_new (self->store, throttle);
  vault = coffer_vault_open (slow, NULL, NULL, &error);
  g_assert_no_error (error);
  return vault;
}
