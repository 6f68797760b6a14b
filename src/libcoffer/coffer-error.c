/* coffer-error.c: the COFFER_ERROR domain and its D-Bus error names.
 *
 * The domain is registered with g_dbus_error_register_error_domain(), so a
 * GError returned by the agent arrives at a client as the same domain and code,
 * with the agent's message once g_dbus_error_strip_remote_error() has run.
 */
#include "config.h"

#include "coffer-error.h"

static const GDBusErrorEntry coffer_error_entries[] = {
  { COFFER_ERROR_FAILED, "io.github.coffer.Agent1.Error.Failed" },
  { COFFER_ERROR_INVALID_ARGUMENT, "io.github.coffer.Agent1.Error.InvalidArgument" },
  { COFFER_ERROR_NOT_REGISTERED, "io.github.coffer.Agent1.Error.NotRegistered" },
  { COFFER_ERROR_ALREADY_REGISTERED, "io.github.coffer.Agent1.Error.AlreadyRegistered" },
  { COFFER_ERROR_CREDENTIALS_INVALID, "io.github.coffer.Agent1.Error.CredentialsInvalid" },
  { COFFER_ERROR_CREDENTIALS_EXPIRED, "io.github.coffer.Agent1.Error.CredentialsExpired" },
  { COFFER_ERROR_CREDENTIALS_OTHER_VAULT, "io.github.coffer.Agent1.Error.CredentialsOtherVault" },
  { COFFER_ERROR_WRONG_PASSPHRASE, "io.github.coffer.Agent1.Error.WrongPassphrase" },
  { COFFER_ERROR_WEAK_PASSPHRASE, "io.github.coffer.Agent1.Error.WeakPassphrase" },
  { COFFER_ERROR_CORRUPT, "io.github.coffer.Agent1.Error.Corrupt" },
  { COFFER_ERROR_NEWER_FORMAT, "io.github.coffer.Agent1.Error.NewerFormat" },
  { COFFER_ERROR_VAULT_UNREACHABLE, "io.github.coffer.Agent1.Error.VaultUnreachable" },
  { COFFER_ERROR_BUSY, "io.github.coffer.Agent1.Error.Busy" },
  { COFFER_ERROR_NOT_FOUND, "io.github.coffer.Agent1.Error.NotFound" },
  { COFFER_ERROR_EXISTS, "io.github.coffer.Agent1.Error.Exists" },
  { COFFER_ERROR_PERMISSION_DENIED, "io.github.coffer.Agent1.Error.PermissionDenied" },
  { COFFER_ERROR_KEYRING_LOCKED, "io.github.coffer.Agent1.Error.KeyringLocked" },
  { COFFER_ERROR_NO_SPACE, "io.github.coffer.Agent1.Error.NoSpace" },
  { COFFER_ERROR_AUTH_REJECTED, "io.github.coffer.Agent1.Error.AuthRejected" },
  { COFFER_ERROR_PROXY_AUTH, "io.github.coffer.Agent1.Error.ProxyAuth" },
  { COFFER_ERROR_CANCELLED, "io.github.coffer.Agent1.Error.Cancelled" },
};

G_STATIC_ASSERT (G_N_ELEMENTS (coffer_error_entries) == COFFER_ERROR_N_CODES);

GQuark
coffer_error_quark (void)
{
  static gsize quark = 0;

  g_dbus_error_register_error_domain ("coffer-error-quark", &quark, coffer_error_entries,
                                      G_N_ELEMENTS (coffer_error_entries));
  return (GQuark) quark;
}

/**
 * coffer_error_to_dbus_name:
 * @code: a #CofferError
 *
 * Returns: (transfer none): the D-Bus error name @code travels as.
 */
const char *
coffer_error_to_dbus_name (CofferError code)
{
  g_return_val_if_fail (code < COFFER_ERROR_N_CODES, NULL);

  return coffer_error_entries[code].dbus_error_name;
}

/**
 * coffer_error_from_dbus:
 * @error: an error returned by a D-Bus call to the agent
 *
 * Makes the error a client shows the user: the #COFFER_ERROR code the agent
 * raised, with the agent's message and without the D-Bus error name that
 * GDBus prefixes. Errors of other domains keep their domain and code.
 *
 * Returns: (transfer full): a new #GError
 */
GError *
coffer_error_from_dbus (const GError *error)
{
  GError *copy;

  g_return_val_if_fail (error != NULL, NULL);

  /* Make sure the domain is registered before GDBus decodes names. */
  (void) COFFER_ERROR;
  copy = g_error_copy (error);
  g_dbus_error_strip_remote_error (copy);
  return copy;
}
