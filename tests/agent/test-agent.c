/* test-agent.c: the real agent on a private bus, as its clients see it. */
#include "config.h"

#include <fcntl.h>
#include <gio/gunixfdlist.h>
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coffer-test-util.h"
#include "coffer.h"

static CofferDBusAgent *
make_proxy (CofferTestAgent *agent)
{
  g_autoptr (GError) error = NULL;
  CofferDBusAgent *proxy;

  /* The error domain is registered before GDBus decodes the first error. */
  (void) COFFER_ERROR;
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

/* The error a call failed with, as a client shows it. */
static GError *
shown_error (GError *error)
{
  /* The domain is registered before GDBus decodes the error. */
  (void) COFFER_ERROR;
  g_assert_nonnull (error);
  return coffer_error_from_dbus (error);
}

static GVariant *
options_of (const char *key, GVariant *value)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  if (key != NULL)
    g_variant_builder_add (&builder, "{sv}", key, value);
  return g_variant_builder_end (&builder);
}

static void
assert_invalid_args (GError *error, const char *part)
{
  g_autoptr (GError) shown = shown_error (error);

  g_assert_error (shown, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS);
  if (strstr (shown->message, part) == NULL)
    g_error ("“%s” does not say “%s”", shown->message, part);
}

/* Calls @method with @parameters on the agent; returns the error. */
static GError *
call_failing (CofferTestAgent *agent, const char *method, GVariant *parameters)
{
  g_autoptr (GVariant) reply = NULL;
  GError *error = NULL;

  (void) COFFER_ERROR;
  reply = g_dbus_connection_call_sync (agent->connection, AGENT_BUS_NAME, AGENT_OBJECT_PATH,
                                       "io.github.coffer.Agent1", method, parameters, NULL,
                                       G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &error);
  if (reply != NULL)
    g_error ("%s succeeded; it should have failed", method);
  return error;
}

/* Every method that takes options refuses an unknown key and a value of the
 * wrong type, naming the key and the type it takes: nothing is ignored. */
static void
test_options_are_checked (void)
{
  g_autofree char *home = state_home ();
  g_autoptr (CofferTestAgent) agent = coffer_test_agent_start (home);
  g_autoptr (CofferDBusAgent) proxy = make_proxy (agent);
  const char *paths[] = { "/etc", NULL };
  const struct
  {
    const char *method;
    const char *format; /* the call's parameters, the options last as @a{sv} */
  } methods[] = {
    { "SetPolicy", "(@a{sv})" },      { "SetProperties", "(@a{sv})" },
    { "StartBackup", "(@a{sv})" },    { "StartCheck", "(@a{sv})" },
    { "ListPoints", "(@a{sv})" },     { "ListFolder", "(s^ay@a{sv})" },
    { "FindInPoint", "(ssu@a{sv})" }, { "StartRecovery", "(s^aay@a{sv})" },
  };
  const struct
  {
    const char *method;
    const char *key;
    const char *wrong_type; /* a value of another type than the key takes */
    const char *expected;
  } typed[] = {
    { "SetPolicy", "retain-daily", "-1", "“retain-daily” takes a value of type “u”, not “i”" },
    { "SetPolicy", "add", "'/etc'", "“add” takes a value of type “as”, not “s”" },
    { "SetProperties", "concurrency", "@t 8", "“concurrency” takes a value of type “u”, not “t”" },
    { "StartBackup", "retain-until", "'tomorrow'", "“retain-until” takes a value of type “x”" },
    { "StartCheck", "read-data", "'yes'", "“read-data” takes a value of type “b”, not “s”" },
    { "StartCheck", "repair", "1", "“repair” takes a value of type “b”, not “i”" },
    { "ListPoints", "machine", "@ay []", "“machine” takes a value of type “s”, not “ay”" },
    { "StartRecovery", "to", "'/tmp'", "“to” takes a value of type “ay”, not “s”" },
    { "StartRecovery", "permissions", "'no'", "“permissions” takes a value of type “b”" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (methods); i++)
    {
      GVariant *options = options_of ("colour", g_variant_new_string ("blue"));
      GVariant *parameters;
      GError *error;

      if (g_str_equal (methods[i].method, "ListFolder"))
        parameters = g_variant_new (methods[i].format, "latest", "/", options);
      else if (g_str_equal (methods[i].method, "FindInPoint"))
        parameters = g_variant_new (methods[i].format, "latest", "*", 10, options);
      else if (g_str_equal (methods[i].method, "StartRecovery"))
        parameters = g_variant_new (methods[i].format, "latest", paths, options);
      else
        parameters = g_variant_new (methods[i].format, options);
      error = call_failing (agent, methods[i].method, parameters);
      assert_invalid_args (error, "Unknown option “colour”");
      g_error_free (error);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (typed); i++)
    {
      GVariant *options = options_of (typed[i].key, g_variant_new_parsed (typed[i].wrong_type));
      GVariant *parameters = g_str_equal (typed[i].method, "StartRecovery")
                                 ? g_variant_new ("(s^aay@a{sv})", "latest", paths, options)
                                 : g_variant_new ("(@a{sv})", options);
      GError *error = call_failing (agent, typed[i].method, parameters);

      assert_invalid_args (error, typed[i].expected);
      g_error_free (error);
    }

  /* Register takes its options too, before it looks at the file. */
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (GVariant) result = NULL;

    g_assert_false (coffer_dbus_agent_call_register_sync (
        proxy, g_variant_new_handle (0), g_variant_new_bytestring ("correct horse battery staple"),
        options_of ("existing", g_variant_new_string ("yes")), G_DBUS_CALL_FLAGS_NONE, -1, NULL,
        &result, NULL, NULL, &error));
    assert_invalid_args (error, "“existing” takes a value of type “b”");
  }

  /* The agent is still there, and changed nothing. */
  {
    g_autoptr (GVariant) properties = NULL;
    g_autoptr (GError) error = NULL;
    guint32 concurrency = 0;

    g_assert_true (coffer_dbus_agent_call_get_properties_sync (proxy, G_DBUS_CALL_FLAGS_NONE, -1,
                                                               &properties, NULL, &error));
    g_assert_no_error (error);
    g_assert_true (g_variant_lookup (properties, "concurrency", "u", &concurrency));
    g_assert_cmpuint (concurrency, ==, 4);
  }
}

/* Values a method cannot use are refused by name, never replaced by a
 * default or passed on. */
static void
test_values_are_checked (void)
{
  g_autofree char *home = state_home ();
  g_autoptr (CofferTestAgent) agent = coffer_test_agent_start (home);
  g_autoptr (CofferDBusAgent) proxy = make_proxy (agent);
  const char *paths[] = { "/etc", NULL };
  const char *relative[] = { "etc", NULL };
  g_autoptr (GVariant) jobs = NULL;
  g_autoptr (GVariant) job = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) shown = NULL;
  GError *call_error;

  call_error =
      call_failing (agent, "StartRecovery",
                    g_variant_new ("(s^aay@a{sv})", "latest", paths,
                                   options_of ("conflict", g_variant_new_string ("rename"))));
  shown = shown_error (call_error);
  g_assert_error (shown, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT);
  g_assert_cmpstr (shown->message, ==,
                   "“rename” is not a conflict choice: copy, overwrite or skip.");
  g_error_free (call_error);
  g_clear_error (&shown);

  call_error = call_failing (agent, "StartRecovery",
                             g_variant_new ("(s^aay@a{sv})", "latest", paths,
                                            options_of ("to", g_variant_new_bytestring ("tmp"))));
  shown = shown_error (call_error);
  g_assert_cmpstr (shown->message, ==,
                   "The folder to recover to must be an absolute path, not “tmp”.");
  g_error_free (call_error);
  g_clear_error (&shown);

  call_error =
      call_failing (agent, "StartRecovery",
                    g_variant_new ("(s^aay@a{sv})", "latest", relative, options_of (NULL, NULL)));
  shown = shown_error (call_error);
  g_assert_nonnull (strstr (shown->message, "not “etc”"));
  g_error_free (call_error);
  g_clear_error (&shown);

  /* A status ListJobs does not know. */
  g_assert_false (coffer_dbus_agent_call_list_jobs_sync (
      proxy, 0, 10, "garbage", G_DBUS_CALL_FLAGS_NONE, -1, &jobs, NULL, &error));
  shown = shown_error (error);
  g_clear_error (&error);
  g_assert_error (shown, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (shown->message, "“garbage” is not a job status"));
  g_clear_error (&shown);

  /* A job number is unsigned, however large. */
  g_assert_false (coffer_dbus_agent_call_get_job_sync (proxy, G_MAXUINT64, G_DBUS_CALL_FLAGS_NONE,
                                                       -1, &job, NULL, &error));
  shown = shown_error (error);
  g_assert_error (shown, COFFER_ERROR, COFFER_ERROR_NOT_FOUND);
  g_assert_cmpstr (shown->message, ==, "There is no job 18446744073709551615.");
}

/* A passphrase is 16–1,024 printable ASCII characters wherever it arrives:
 * a longer one, or one with a NUL byte, is refused before anything else. */
static void
test_passphrase_limits (void)
{
  g_autofree char *home = state_home ();
  g_autoptr (CofferTestAgent) agent = coffer_test_agent_start (home);
  g_autoptr (CofferDBusAgent) proxy = make_proxy (agent);
  gsize huge_size = 20 * 1024 * 1024;
  g_autofree char *huge = g_strnfill (huge_size, 'x');
  g_autofree char *long_one = g_strnfill (COFFER_PASSPHRASE_MAX_LENGTH + 1, 'a');
  const char with_nul[] = "correct horse\0battery staple";
  const struct
  {
    GVariant *passphrase;
    const char *expected;
  } cases[] = {
    { g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, huge, huge_size, 1),
      "The passphrase is too long (20971520 bytes): a passphrase has 16–1,024 printable ASCII "
      "characters." },
    { g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, long_one, strlen (long_one), 1),
      "The passphrase is too long (1025 bytes): a passphrase has 16–1,024 printable ASCII "
      "characters." },
    { g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, with_nul, sizeof with_nul - 1, 1),
      "The passphrase holds a NUL byte: a passphrase has 16–1,024 printable ASCII characters." },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GVariant) passphrase = g_variant_ref_sink (cases[i].passphrase);
      g_autoptr (GVariant) result = NULL;
      g_autoptr (GUnixFDList) fds = g_unix_fd_list_new ();
      g_autoptr (GError) error = NULL;
      g_autoptr (GError) shown = NULL;
      g_autoptr (GVariant) points = NULL;
      int fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);

      g_assert_cmpint (g_unix_fd_list_append (fds, fd, &error), ==, 0);
      close (fd);
      g_assert_false (coffer_dbus_agent_call_register_sync (
          proxy, g_variant_new_handle (0), passphrase, options_of (NULL, NULL),
          G_DBUS_CALL_FLAGS_NONE, 60000, fds, &result, NULL, NULL, &error));
      shown = shown_error (error);
      g_clear_error (&error);
      g_assert_error (shown, COFFER_ERROR, COFFER_ERROR_WEAK_PASSPHRASE);
      g_assert_cmpstr (shown->message, ==, cases[i].expected);
      g_clear_error (&shown);

      g_assert_false (coffer_dbus_agent_call_change_passphrase_sync (
          proxy, passphrase, G_DBUS_CALL_FLAGS_NONE, 60000, NULL, &error));
      shown = shown_error (error);
      g_clear_error (&error);
      g_assert_cmpstr (shown->message, ==, cases[i].expected);
      g_clear_error (&shown);

      g_assert_false (coffer_dbus_agent_call_list_points_sync (
          proxy, options_of ("passphrase", passphrase), G_DBUS_CALL_FLAGS_NONE, 60000, &points,
          NULL, &error));
      shown = shown_error (error);
      g_assert_cmpstr (shown->message, ==, cases[i].expected);
    }
}

/* Register reads the file it is passed only when it is a regular file, and
 * an empty one is a credentials file that is not one, said plainly. */
static void
test_credentials_descriptor_is_checked (void)
{
  g_autofree char *home = state_home ();
  g_autoptr (CofferTestAgent) agent = coffer_test_agent_start (home);
  g_autoptr (CofferDBusAgent) proxy = make_proxy (agent);
  g_autofree char *fifo = g_build_filename (g_get_user_data_dir (), "fifo", NULL);
  g_autofree char *empty = g_build_filename (g_get_user_data_dir (), "empty", NULL);
  const struct
  {
    const char *path;
    const char *expected;
  } cases[] = {
    { empty, "The file is not a vault credentials file: it cannot be read as one." },
    { fifo, "The vault credentials file is a named pipe (fifo), not a regular file." },
  };

  g_assert_cmpint (g_mkdir_with_parents (g_get_user_data_dir (), 0700), ==, 0);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  g_assert_true (g_file_set_contents (empty, "", 0, NULL));
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GUnixFDList) fds = g_unix_fd_list_new ();
      g_autoptr (GVariant) result = NULL;
      g_autoptr (GVariant) status = NULL;
      g_autoptr (GError) error = NULL;
      g_autoptr (GError) shown = NULL;
      int fd = open (cases[i].path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

      g_assert_cmpint (fd, >=, 0);
      g_assert_cmpint (g_unix_fd_list_append (fds, fd, &error), ==, 0);
      close (fd);
      g_assert_false (coffer_dbus_agent_call_register_sync (
          proxy, g_variant_new_handle (0),
          g_variant_new_bytestring ("correct horse battery staple"), options_of (NULL, NULL),
          G_DBUS_CALL_FLAGS_NONE, 10000, fds, &result, NULL, NULL, &error));
      shown = shown_error (error);
      g_clear_error (&error);
      g_assert_nonnull (strstr (shown->message, cases[i].expected));
      /* And the agent is still there. */
      g_assert_true (coffer_dbus_agent_call_get_status_sync (proxy, G_DBUS_CALL_FLAGS_NONE, -1,
                                                             &status, NULL, &error));
      g_assert_no_error (error);
    }
}

/* A job's failed items and message may name files that are not UTF-8: they
 * reach the client escaped, never as a broken D-Bus string. */
static void
test_names_that_are_not_utf8_in_jobs (void)
{
  g_autofree char *home = state_home ();
  g_autofree char *state_dir = g_build_filename (home, "coffer", NULL);
  g_autoptr (CofferTestAgent) agent = NULL;
  g_autoptr (CofferDBusAgent) proxy = NULL;
  g_autoptr (GVariant) items = NULL;
  g_autoptr (GVariant) job = NULL;
  g_autoptr (GVariant) jobs = NULL;
  g_autoptr (GError) error = NULL;
  const char *path = NULL, *reason = NULL, *message = NULL;
  guint total = 0;
  CofferJobRecord record = {
    .kind = "backup",
    .status = "warnings",
    .phase = "Job completed.",
    .message = "Cannot read /home/me/caf\xe9.txt",
    .started_at = 1795000000,
    .ended_at = 1795000060,
    .recovery_point = "",
  };
  const char *failed_paths[] = { "/home/me/caf\xe9.txt" };
  const char *reasons[] = { "Permission denied" };

  {
    g_autoptr (CofferCatalog) catalog = coffer_catalog_open (state_dir, &error);
    g_assert_no_error (error);
    g_assert_true (coffer_catalog_add_job (catalog, &record, &error));
    g_assert_true (coffer_catalog_update_job (catalog, &record, &error));
    g_assert_true (
        coffer_catalog_add_failed_items (catalog, record.id, failed_paths, reasons, 1, &error));
    g_assert_no_error (error);
  }
  agent = coffer_test_agent_start (home);
  proxy = make_proxy (agent);

  g_assert_true (coffer_dbus_agent_call_get_failed_items_sync (
      proxy, record.id, 0, 100, G_DBUS_CALL_FLAGS_NONE, -1, &items, &total, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (total, ==, 1);
  g_variant_get_child (items, 0, "(&s&s)", &path, &reason);
  g_assert_cmpstr (path, ==, "/home/me/caf\\xe9.txt");
  g_assert_cmpstr (reason, ==, "Permission denied");

  g_assert_true (coffer_dbus_agent_call_get_job_sync (proxy, record.id, G_DBUS_CALL_FLAGS_NONE, -1,
                                                      &job, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_variant_lookup (job, "message", "&s", &message));
  g_assert_cmpstr (message, ==, "Cannot read /home/me/caf\\xe9.txt");
  g_assert_true (coffer_dbus_agent_call_list_jobs_sync (proxy, 0, 10, "", G_DBUS_CALL_FLAGS_NONE,
                                                        -1, &jobs, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_variant_n_children (jobs), ==, 1);
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
  g_test_add_func ("/agent/input/options-are-checked", test_options_are_checked);
  g_test_add_func ("/agent/input/values-are-checked", test_values_are_checked);
  g_test_add_func ("/agent/input/passphrase-limits", test_passphrase_limits);
  g_test_add_func ("/agent/input/credentials-descriptor-is-checked",
                   test_credentials_descriptor_is_checked);
  g_test_add_func ("/agent/input/names-that-are-not-utf8-in-jobs",
                   test_names_that_are_not_utf8_in_jobs);

  return g_test_run ();
}
