/* test-error.c: a COFFER_ERROR crosses D-Bus as itself, message intact. */
#include "config.h"

#include "coffer.h"

static void
test_every_code_has_its_own_name (void)
{
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  for (int code = 0; code < COFFER_ERROR_N_CODES; code++)
    {
      const char *name = coffer_error_to_dbus_name (code);

      g_assert_nonnull (name);
      g_assert_true (g_str_has_prefix (name, "io.github.coffer.Agent1.Error."));
      g_assert_true (g_dbus_is_interface_name (name));
      g_assert_false (g_hash_table_contains (seen, name));
      g_hash_table_add (seen, (gpointer) name);
    }
}

static void
test_round_trip_over_dbus (void)
{
  for (int code = 0; code < COFFER_ERROR_N_CODES; code++)
    {
      g_autoptr (GError) original = NULL;
      g_autoptr (GError) remote = NULL;
      g_autoptr (GError) shown = NULL;
      g_autofree char *name = NULL;

      original = g_error_new (COFFER_ERROR, code, "Vault credentials file provided has expired");
      /* What GDBus does on the agent's side, then on the client's. */
      name = g_dbus_error_encode_gerror (original);
      g_assert_cmpstr (name, ==, coffer_error_to_dbus_name (code));
      remote = g_dbus_error_new_for_dbus_error (name, original->message);

      shown = coffer_error_from_dbus (remote);
      g_assert_error (shown, COFFER_ERROR, code);
      g_assert_cmpstr (shown->message, ==, "Vault credentials file provided has expired");
    }
}

static void
test_foreign_errors_keep_their_domain (void)
{
  g_autoptr (GError) remote = g_dbus_error_new_for_dbus_error (
      "org.freedesktop.DBus.Error.ServiceUnknown", "The name is not activatable");
  g_autoptr (GError) shown = coffer_error_from_dbus (remote);

  g_assert_error (shown, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN);
  g_assert_cmpstr (shown->message, ==, "The name is not activatable");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/libcoffer/error/every-code-has-its-own-name",
                   test_every_code_has_its_own_name);
  g_test_add_func ("/libcoffer/error/round-trip-over-dbus", test_round_trip_over_dbus);
  g_test_add_func ("/libcoffer/error/foreign-errors-keep-their-domain",
                   test_foreign_errors_keep_their_domain);

  return g_test_run ();
}
