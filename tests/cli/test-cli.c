/* test-cli.c: coffer(1) as a user runs it, against the real agent. */
#include "config.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "coffer-test-util.h"
#include "coffer.h"

static void
test_version (void)
{
  const char *args[] = { "--version", NULL };
  g_autofree char *out = NULL;
  g_autofree char *expected = g_strdup_printf ("coffer %s\n", PACKAGE_VERSION);
  int status;

  out = coffer_test_run_cli (NULL, args, NULL, &status);
  g_assert_cmpint (status, ==, 0);
  g_assert_cmpstr (out, ==, expected);
}

static void
test_help_lists_every_command (void)
{
  /* Every subcommand DESIGN.md plans for the CLI. */
  const char *planned[] = {
    "status",
    "register",
    "unregister",
    "passphrase change",
    "policy show",
    "policy set",
    "policy pause",
    "policy resume",
    "policy stop",
    "backup",
    "jobs",
    "job show",
    "job cancel",
    "recover points",
    "recover ls",
    "recover find",
    "recover run",
    "check",
    "properties show",
    "properties set",
    "vault create",
    "vault credentials",
    "vault set-redundancy",
  };
  const char *args[] = { "--help", NULL };
  g_autofree char *out = NULL;
  g_auto (GStrv) lines = NULL;
  int status;

  out = coffer_test_run_cli (NULL, args, NULL, &status);
  g_assert_cmpint (status, ==, 0);
  lines = g_strsplit (out, "\n", -1);

  for (gsize i = 0; i < G_N_ELEMENTS (planned); i++)
    {
      gboolean found = FALSE;

      for (guint l = 0; lines[l] != NULL && !found; l++)
        {
          const char *line = lines[l];
          gsize len = strlen (planned[i]);

          while (*line == ' ')
            line++;
          found = strncmp (line, planned[i], len) == 0 && (line[len] == ' ' || line[len] == '\0');
        }
      if (!found)
        g_error ("“coffer --help” does not list “%s”:\n%s", planned[i], out);
    }
}

static void
test_usage_errors (void)
{
  const char *unknown[] = { "frobnicate", NULL };
  const char *group[] = { "vault", NULL };
  const char *bad_option[] = { "status", "--no-such-option", NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status;

  out = coffer_test_run_cli (NULL, unknown, &err, &status);
  g_assert_cmpint (status, ==, 2);
  g_assert_nonnull (strstr (err, "Unknown command “frobnicate”"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  out = coffer_test_run_cli (NULL, group, &err, &status);
  g_assert_cmpint (status, ==, 2);
  g_assert_nonnull (strstr (err, "“vault” needs a subcommand"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  out = coffer_test_run_cli (NULL, bad_option, &err, &status);
  g_assert_cmpint (status, ==, 2);
  g_assert_nonnull (strstr (err, "--no-such-option"));
}

static void
test_status_not_registered (void)
{
  g_autoptr (CofferTestAgent) agent = coffer_test_agent_start (g_get_user_state_dir ());
  const char *address = coffer_test_bus_get_address (agent->bus);
  const char *args[] = { "status", NULL };
  const char *json_args[] = { "status", "--json", NULL };
  g_autofree char *out = NULL;
  g_autofree char *json = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  JsonObject *object;
  int status;

  out = coffer_test_run_cli (address, args, NULL, &status);
  g_assert_cmpint (status, ==, 0);
  g_assert_cmpstr (out, ==, "This server is not registered to a vault.\n");

  json = coffer_test_run_cli (address, json_args, NULL, &status);
  g_assert_cmpint (status, ==, 0);
  g_assert_true (json_parser_load_from_data (parser, json, -1, &error));
  g_assert_no_error (error);
  object = json_node_get_object (json_parser_get_root (parser));
  g_assert_false (json_object_get_boolean_member (object, "registered"));
  g_assert_cmpstr (json_object_get_string_member (object, "version"), ==, PACKAGE_VERSION);
}

static void
test_status_registered (void)
{
  g_autofree char *state_dir = coffer_paths_state_dir ();
  g_autoptr (CofferTestAgent) agent = NULL;
  g_autoptr (GError) error = NULL;
  const char *args[] = { "status", NULL };
  g_autofree char *out = NULL;
  int status;
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

  agent = coffer_test_agent_start (g_get_user_state_dir ());
  out = coffer_test_run_cli (coffer_test_bus_get_address (agent->bus), args, NULL, &status);
  g_assert_cmpint (status, ==, 0);
  g_assert_nonnull (strstr (out, "Vault:             Acme-Vault\n"));
  g_assert_nonnull (strstr (out, "Server:            build-07\n"));
  g_assert_nonnull (strstr (out, "Storage location:  /media/backup/acme\n"));
  g_assert_null (strstr (out, "not registered"));
}

static void
test_status_without_agent (void)
{
  /* A bus on which no agent runs or can be activated. */
  g_autoptr (GTestDBus) bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  const char *args[] = { "status", NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status;

  g_test_dbus_up (bus);
  out = coffer_test_run_cli (g_test_dbus_get_bus_address (bus), args, &err, &status);
  g_test_dbus_down (bus);

  g_assert_cmpint (status, ==, 1);
  g_assert_cmpstr (out, ==, "");
  g_assert_true (g_str_has_prefix (err, "coffer: Cannot reach the Coffer agent"));
}

static void
test_status_without_bus (void)
{
  const char *args[] = { "status", NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status;

  out = coffer_test_run_cli (NULL, args, &err, &status);
  g_assert_cmpint (status, ==, 1);
  g_assert_true (g_str_has_prefix (err, "coffer: Cannot reach the Coffer agent"));
  g_assert_nonnull (strstr (err, "no session bus"));
}

/* Adds a finished job of @kind with one failed item to the catalog. */
static gint64
add_job (CofferCatalog *catalog, const char *kind, const char *status, const char *path)
{
  g_autoptr (GError) error = NULL;
  const char *reasons[] = { "No space left on device" };
  CofferJobRecord record = {
    .kind = (char *) kind,
    .status = (char *) status,
    .phase = "Job completed.",
    .message = "",
    .started_at = 1795000000,
    .ended_at = 1795000060,
    .bytes_scanned = 2048,
    .files_scanned = 3,
    .files_backed_up = 2,
    .files_failed = 1,
    .recovery_point = "",
  };

  g_assert_true (coffer_catalog_add_job (catalog, &record, &error));
  g_assert_true (coffer_catalog_update_job (catalog, &record, &error));
  g_assert_true (coffer_catalog_add_failed_items (catalog, record.id, &path, reasons, 1, &error));
  g_assert_no_error (error);
  return record.id;
}

/* `coffer job show` names a job's figures and failed items in the words of
 * its kind: a recovery's were not recovered, a check's are damaged. */
static void
test_job_show_fits_the_kind (void)
{
  g_autofree char *state_dir = coffer_paths_state_dir ();
  g_autoptr (CofferTestAgent) agent = NULL;
  g_autoptr (GError) error = NULL;
  const char *address;
  gint64 backup, recovery, check;

  {
    g_autoptr (CofferCatalog) catalog = coffer_catalog_open (state_dir, &error);
    g_assert_no_error (error);
    backup = add_job (catalog, "backup", "warnings", "/home/me/big.iso");
    recovery = add_job (catalog, "recovery", "warnings", "/home/me/report.odt");
    check = add_job (catalog, "check", "failed", "machines/m-1/data/3f/3fa1");
  }
  agent = coffer_test_agent_start (g_get_user_state_dir ());
  address = coffer_test_bus_get_address (agent->bus);

  {
    g_autofree char *id = g_strdup_printf ("%" G_GINT64_FORMAT, backup);
    const char *args[] = { "job", "show", id, NULL };
    g_autofree char *out = NULL;
    int status;

    out = coffer_test_run_cli (address, args, NULL, &status);
    g_assert_cmpint (status, ==, 0);
    g_assert_nonnull (strstr (out, "Files backed up:  2\n"));
    g_assert_nonnull (strstr (out, "\nNot backed up:\n  /home/me/big.iso\n"));
  }
  {
    g_autofree char *id = g_strdup_printf ("%" G_GINT64_FORMAT, recovery);
    const char *args[] = { "job", "show", id, NULL };
    g_autofree char *out = NULL;
    int status;

    out = coffer_test_run_cli (address, args, NULL, &status);
    g_assert_cmpint (status, ==, 0);
    g_assert_nonnull (strstr (out, "Files recovered:  2\n"));
    g_assert_nonnull (strstr (out, "\nNot recovered:\n  /home/me/report.odt\n"));
    g_assert_null (strstr (out, "backed up"));
  }
  {
    g_autofree char *id = g_strdup_printf ("%" G_GINT64_FORMAT, check);
    const char *args[] = { "job", "show", id, NULL };
    g_autofree char *out = NULL;
    int status;

    out = coffer_test_run_cli (address, args, NULL, &status);
    g_assert_cmpint (status, ==, 0);
    g_assert_nonnull (strstr (out, "Damaged or missing:1\n"));
    g_assert_nonnull (strstr (out, "\nDamaged or missing:\n  machines/m-1/data/3f/3fa1\n"));
    g_assert_null (strstr (out, "backed up"));
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/cli/version", test_version);
  g_test_add_func ("/cli/help-lists-every-command", test_help_lists_every_command);
  g_test_add_func ("/cli/usage-errors", test_usage_errors);
  g_test_add_func ("/cli/status/not-registered", test_status_not_registered);
  g_test_add_func ("/cli/status/registered", test_status_registered);
  g_test_add_func ("/cli/status/without-agent", test_status_without_agent);
  g_test_add_func ("/cli/status/without-bus", test_status_without_bus);
  g_test_add_func ("/cli/job-show/fits-the-kind", test_job_show_fits_the_kind);

  return g_test_run ();
}
