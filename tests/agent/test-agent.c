/* test-agent.c: the real agent on a private bus, as its clients see it. */
#include "config.h"

#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>

#include "coffer-test-util.h"
#include "coffer.h"

static CofferDBusAgent *
make_proxy (CofferTestAgent *agent)
{
  g_autoptr (GError) error = NULL;
  CofferDBusAgent *proxy;

  proxy = coffer_dbus_agent_proxy_new_sync (agent->connection, G_DBUS_PROXY_FLAGS_NONE,
                                            AGENT_BUS_NAME, AGENT_OBJECT_PATH, NULL, &error);
  g_assert_no_error (error);
  return proxy;
}

static char *
state_home (void)
{
  /* G_TEST_OPTION_ISOLATE_DIRS gives each test its own. */
  return g_strdup (g_get_user_state_dir ());
}

static void
test_unregistered (void)
{
  g_autofree char *home = state_home ();
  g_autoptr (CofferTestAgent) agent = coffer_test_agent_start (home);
  g_autoptr (CofferDBusAgent) proxy = make_proxy (agent);
  g_autoptr (GVariant) status = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *state_dir = g_build_filename (home, "coffer", NULL);
  g_autofree char *catalog = g_build_filename (state_dir, "catalog.sqlite", NULL);
  gboolean registered = TRUE;
  const char *version = NULL;
  GStatBuf st;

  g_assert_true (coffer_dbus_agent_call_get_status_sync (proxy, G_DBUS_CALL_FLAGS_NONE, -1, &status,
                                                         NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_variant_lookup (status, "registered", "b", &registered));
  g_assert_false (registered);
  g_assert_true (g_variant_lookup (status, "version", "&s", &version));
  g_assert_cmpstr (version, ==, PACKAGE_VERSION);
  g_assert_false (g_variant_lookup (status, "vault-name", "&s", NULL));

  g_assert_false (coffer_dbus_agent_get_registered (proxy));
  g_assert_cmpstr (coffer_dbus_agent_get_state (proxy), ==, "unregistered");
  g_assert_cmpstr (coffer_dbus_agent_get_version (proxy), ==, PACKAGE_VERSION);
  g_assert_cmpstr (coffer_dbus_agent_get_vault_name (proxy), ==, "");

  /* The agent made its private state folder and catalog. */
  g_assert_cmpint (g_stat (state_dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
  g_assert_true (g_file_test (catalog, G_FILE_TEST_IS_REGULAR));
}

static void
test_registered (void)
{
  g_autofree char *home = state_home ();
  g_autofree char *state_dir = g_build_filename (home, "coffer", NULL);
  g_autoptr (CofferTestAgent) agent = NULL;
  g_autoptr (CofferDBusAgent) proxy = NULL;
  g_autoptr (GVariant) status = NULL;
  g_autoptr (GError) error = NULL;
  const char *text = NULL;
  gint64 registered_at = 0;
  CofferRegistration registration = {
    .vault_id = "0b7e6c2a-3c55-4d0e-9a55-6f1f0d1b2c3d",
    .vault_name = "Acme-Vault",
    .machine_id = "m-1",
    .machine_name = "build-07",
    .instance_id = "i-1",
    .storage_location = "/media/backup/acme",
    .registered_at = 1795000000,
  };

  {
    g_autoptr (CofferCatalog) catalog = coffer_catalog_open (state_dir, &error);
    g_assert_no_error (error);
    g_assert_true (coffer_catalog_set_registration (catalog, &registration, &error));
  }

  agent = coffer_test_agent_start (home);
  proxy = make_proxy (agent);

  g_assert_true (coffer_dbus_agent_get_registered (proxy));
  g_assert_cmpstr (coffer_dbus_agent_get_vault_name (proxy), ==, "Acme-Vault");
  g_assert_cmpstr (coffer_dbus_agent_get_machine_name (proxy), ==, "build-07");
  g_assert_cmpstr (coffer_dbus_agent_get_state (proxy), ==, "idle");

  g_assert_true (coffer_dbus_agent_call_get_status_sync (proxy, G_DBUS_CALL_FLAGS_NONE, -1, &status,
                                                         NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_variant_lookup (status, "vault-id", "&s", &text));
  g_assert_cmpstr (text, ==, registration.vault_id);
  g_assert_true (g_variant_lookup (status, "storage-location", "&s", &text));
  g_assert_cmpstr (text, ==, "/media/backup/acme");
  g_assert_true (g_variant_lookup (status, "registered-at", "x", &registered_at));
  g_assert_cmpint (registered_at, ==, 1795000000);
}

static void
test_catalog_from_newer_version (void)
{
  g_autofree char *home = state_home ();
  g_autofree char *state_dir = g_build_filename (home, "coffer", NULL);
  g_autoptr (CofferTestAgent) agent = NULL;
  g_autoptr (CofferDBusAgent) proxy = NULL;
  g_autoptr (GVariant) status = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) shown = NULL;

  {
    g_autoptr (CofferCatalog) catalog = coffer_catalog_open (state_dir, &error);
    sqlite3 *db = NULL;

    g_assert_no_error (error);
    g_assert_cmpint (sqlite3_open (coffer_catalog_get_path (catalog), &db), ==, SQLITE_OK);
    g_assert_cmpint (sqlite3_exec (db, "PRAGMA user_version = 77", NULL, NULL, NULL), ==,
                     SQLITE_OK);
    sqlite3_close (db);
  }

  /* The agent stays up and says why it cannot work. */
  agent = coffer_test_agent_start (home);
  proxy = make_proxy (agent);
  g_assert_cmpstr (coffer_dbus_agent_get_state (proxy), ==, "broken");
  g_assert_false (coffer_dbus_agent_call_get_status_sync (proxy, G_DBUS_CALL_FLAGS_NONE, -1,
                                                          &status, NULL, &error));
  shown = coffer_error_from_dbus (error);
  g_assert_nonnull (strstr (shown->message, "newer version of Coffer"));
}

static void
get_status_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GVariant) status = NULL;
  g_autoptr (GError) error = NULL;

  coffer_dbus_agent_call_get_status_finish (COFFER_DBUS_AGENT (source), &status, result, &error);
  g_assert_no_error (error);
  *(gboolean *) user_data = TRUE;
}

static void
test_slow_method_does_not_block_the_bus (void)
{
  g_autofree char *home = state_home ();
  g_autoptr (CofferTestAgent) agent = NULL;
  g_autoptr (CofferDBusAgent) proxy = NULL;
  g_autoptr (GVariant) version = NULL;
  g_autoptr (GError) error = NULL;
  gboolean status_done = FALSE;
  gint64 start;

  /* Every worker of this agent takes two seconds. */
  g_setenv ("COFFER_AGENT_TEST_METHOD_DELAY_MS", "2000", TRUE);
  agent = coffer_test_agent_start (home);
  g_unsetenv ("COFFER_AGENT_TEST_METHOD_DELAY_MS");
  proxy = make_proxy (agent);

  start = g_get_monotonic_time ();
  coffer_dbus_agent_call_get_status (proxy, G_DBUS_CALL_FLAGS_NONE, -1, NULL, get_status_done_cb,
                                     &status_done);

  /* Meanwhile the main loop answers at once. */
  version = g_dbus_connection_call_sync (
      agent->connection, AGENT_BUS_NAME, AGENT_OBJECT_PATH, "org.freedesktop.DBus.Properties",
      "Get", g_variant_new ("(ss)", "io.github.coffer.Agent1", "Version"), G_VARIANT_TYPE ("(v)"),
      G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (status_done);
  g_assert_cmpint (g_get_monotonic_time () - start, <, G_USEC_PER_SEC);

  while (!status_done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 2 * G_USEC_PER_SEC);
}

/* A test-only stand-in for a notification server: it records Notify calls
 * (Debian's servers need a display). */
typedef struct
{
  GVariant *notify; /* the last Notify call's parameters */
  guint registration;
} Listener;

static const char listener_xml[] =
    "<node><interface name='org.freedesktop.Notifications'>"
    "<method name='Notify'><arg type='s' direction='in'/><arg type='u' direction='in'/>"
    "<arg type='s' direction='in'/><arg type='s' direction='in'/><arg type='s' direction='in'/>"
    "<arg type='as' direction='in'/><arg type='a{sv}' direction='in'/>"
    "<arg type='i' direction='in'/><arg type='u' direction='out'/></method>"
    "</interface></node>";

static void
listener_method_cb (GDBusConnection *connection,
                    const char *sender,
                    const char *path,
                    const char *interface,
                    const char *method,
                    GVariant *parameters,
                    GDBusMethodInvocation *invocation,
                    gpointer user_data)
{
  Listener *listener = user_data;

  g_clear_pointer (&listener->notify, g_variant_unref);
  listener->notify = g_variant_ref (parameters);
  g_dbus_method_invocation_return_value (invocation, g_variant_new ("(u)", 42));
}

static void
test_notification_opens_the_console_on_the_job (void)
{
  g_autofree char *home = state_home ();
  g_autofree char *state_dir = g_build_filename (home, "coffer", NULL);
  g_autofree char *bin = g_build_filename (g_get_user_data_dir (), "bin", NULL);
  g_autofree char *console = g_build_filename (bin, "coffer-console", NULL);
  g_autofree char *opened = g_build_filename (g_get_user_data_dir (), "opened", NULL);
  g_autofree char *script = NULL;
  g_autofree char *path = g_strconcat (bin, ":", g_getenv ("PATH"), NULL);
  g_autofree char *old_path = g_strdup (g_getenv ("PATH"));
  g_autofree char *job_path = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *contents = NULL;
  g_autoptr (CofferTestAgent) agent = NULL;
  g_autoptr (CofferDBusAgent) proxy = NULL;
  g_autoptr (GDBusNodeInfo) info = g_dbus_node_info_new_for_xml (listener_xml, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) job = NULL;
  g_autoptr (GVariant) hints = NULL;
  g_autofree const char **actions = NULL;
  const char *summary, *body, *message = NULL;
  gint64 hinted_job = 0;
  guint64 id;
  guint owner;
  Listener listener = { 0 };
  CofferRegistration registration = {
    .vault_id = "0b7e6c2a-3c55-4d0e-9a55-6f1f0d1b2c3d",
    .vault_name = "Acme-Vault",
    .machine_id = "m-1",
    .machine_name = "build-07",
    .instance_id = "i-1",
    .storage_location = "/media/backup/acme",
    .registered_at = 1795000000,
  };
  const GDBusInterfaceVTable vtable = { listener_method_cb };

  /* The console the notification's action starts, as found in $PATH. */
  g_assert_cmpint (g_mkdir_with_parents (bin, 0700), ==, 0);
  script = g_strdup_printf ("#!/bin/sh\necho \"$@\" > '%s.new' && mv '%s.new' '%s'\n", opened,
                            opened, opened);
  g_assert_true (g_file_set_contents (console, script, -1, NULL));
  g_assert_cmpint (g_chmod (console, 0755), ==, 0);
  {
    g_autoptr (CofferCatalog) catalog = coffer_catalog_open (state_dir, &error);
    g_assert_no_error (error);
    g_assert_true (coffer_catalog_set_registration (catalog, &registration, &error));
  }
  g_setenv ("PATH", path, TRUE);
  agent = coffer_test_agent_start (home);
  g_setenv ("PATH", old_path, TRUE);
  proxy = make_proxy (agent);

  listener.registration =
      g_dbus_connection_register_object (agent->connection, "/org/freedesktop/Notifications",
                                         info->interfaces[0], &vtable, &listener, NULL, &error);
  g_assert_no_error (error);
  owner = g_bus_own_name_on_connection (agent->connection, "org.freedesktop.Notifications",
                                        G_BUS_NAME_OWNER_FLAGS_NONE, NULL, NULL, NULL, NULL);

  /* The vault cannot be opened: the job fails, and the user is told. */
  g_assert_true (coffer_dbus_agent_call_start_backup_sync (proxy, g_variant_new ("a{sv}", NULL),
                                                           G_DBUS_CALL_FLAGS_NONE, -1, &job_path,
                                                           &id, NULL, &error));
  g_assert_no_error (error);
  for (int i = 0; i < 200 && listener.notify == NULL; i++)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (50 * G_TIME_SPAN_MILLISECOND);
    }
  g_assert_nonnull (listener.notify);
  g_variant_get (listener.notify, "(&su&s&s&s^a&s@a{sv}i)", NULL, NULL, NULL, &summary, &body,
                 &actions, &hints, NULL);
  g_assert_cmpstr (summary, ==, "Backup failed");
  g_assert_true (coffer_dbus_agent_call_get_job_sync (proxy, id, G_DBUS_CALL_FLAGS_NONE, -1, &job,
                                                      NULL, &error));
  g_assert_true (g_variant_lookup (job, "message", "&s", &message));
  g_assert_cmpstr (body, ==, message);
  g_assert_cmpstr (actions[0], ==, "default");
  g_assert_true (g_variant_lookup (hints, "x-coffer-job", "x", &hinted_job));
  g_assert_cmpint (hinted_job, ==, (gint64) id);

  /* Clicking it opens the console on that job. */
  g_assert_true (g_dbus_connection_emit_signal (
      agent->connection, NULL, "/org/freedesktop/Notifications", "org.freedesktop.Notifications",
      "ActionInvoked", g_variant_new ("(us)", 42, "default"), &error));
  for (int i = 0; i < 200 && !g_file_test (opened, G_FILE_TEST_EXISTS); i++)
    g_usleep (50 * G_TIME_SPAN_MILLISECOND);
  g_assert_true (g_file_get_contents (opened, &contents, NULL, NULL));
  expected = g_strdup_printf ("--job %" G_GUINT64_FORMAT "\n", id);
  g_assert_cmpstr (contents, ==, expected);

  g_bus_unown_name (owner);
  g_dbus_connection_unregister_object (agent->connection, listener.registration);
  g_clear_pointer (&listener.notify, g_variant_unref);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/agent/status/unregistered", test_unregistered);
  g_test_add_func ("/agent/status/registered", test_registered);
  g_test_add_func ("/agent/status/catalog-from-newer-version", test_catalog_from_newer_version);
  g_test_add_func ("/agent/main-loop/slow-method-does-not-block-the-bus",
                   test_slow_method_does_not_block_the_bus);
  g_test_add_func ("/agent/jobs/notification-opens-the-console-on-the-job",
                   test_notification_opens_the_console_on_the_job);

  return g_test_run ();
}
