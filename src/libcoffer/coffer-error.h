/* coffer-error.h: the COFFER_ERROR domain, shared by every layer and mapped to
 * D-Bus error names so that the console shows the message the CLI prints.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define COFFER_ERROR (coffer_error_quark ())

/**
 * CofferError:
 * @COFFER_ERROR_FAILED: Something went wrong that has no more precise code.
 * @COFFER_ERROR_INVALID_ARGUMENT: A value given by the user or a client is not
 *   acceptable; the message names the rule.
 * @COFFER_ERROR_NOT_REGISTERED: This machine is not registered to a vault.
 * @COFFER_ERROR_ALREADY_REGISTERED: This machine is already registered.
 * @COFFER_ERROR_CREDENTIALS_INVALID: The vault credentials file is damaged,
 *   superseded or not for this vault's current credentials.
 * @COFFER_ERROR_CREDENTIALS_EXPIRED: The vault credentials file has expired.
 * @COFFER_ERROR_CREDENTIALS_OTHER_VAULT: The credentials file is for another
 *   vault than the one this machine is registered to.
 * @COFFER_ERROR_WRONG_PASSPHRASE: The passphrase does not open the keys.
 * @COFFER_ERROR_WEAK_PASSPHRASE: The passphrase breaks the passphrase rules.
 * @COFFER_ERROR_CORRUPT: Stored data failed a check; the message names the object.
 * @COFFER_ERROR_NEWER_FORMAT: Data was written by a newer version of Coffer.
 * @COFFER_ERROR_VAULT_UNREACHABLE: The vault cannot be reached (drive
 *   unplugged, network down); the job waits or retries.
 * @COFFER_ERROR_BUSY: Another job is in progress.
 * @COFFER_ERROR_NOT_FOUND: A named object (job, recovery point, machine) does
 *   not exist.
 * @COFFER_ERROR_EXISTS: The object to create exists already.
 * @COFFER_ERROR_PERMISSION_DENIED: The operating system refused access.
 * @COFFER_ERROR_KEYRING_LOCKED: The keyring holding the passphrase is locked.
 * @COFFER_ERROR_NO_SPACE: There is not enough free space.
 * @COFFER_ERROR_AUTH_REJECTED: The storage service rejected its key or token.
 * @COFFER_ERROR_PROXY_AUTH: The proxy server rejected the user name or password.
 * @COFFER_ERROR_CANCELLED: The operation was cancelled by the user.
 *
 * Error codes of the #COFFER_ERROR domain. Each maps to the D-Bus error
 * name `io.github.coffer.Agent1.Error.` followed by the code's name in
 * CamelCase (for example `…Error.CredentialsExpired`). New codes are only
 * ever appended.
 */
typedef enum
{
  COFFER_ERROR_FAILED,
  COFFER_ERROR_INVALID_ARGUMENT,
  COFFER_ERROR_NOT_REGISTERED,
  COFFER_ERROR_ALREADY_REGISTERED,
  COFFER_ERROR_CREDENTIALS_INVALID,
  COFFER_ERROR_CREDENTIALS_EXPIRED,
  COFFER_ERROR_CREDENTIALS_OTHER_VAULT,
  COFFER_ERROR_WRONG_PASSPHRASE,
  COFFER_ERROR_WEAK_PASSPHRASE,
  COFFER_ERROR_CORRUPT,
  COFFER_ERROR_NEWER_FORMAT,
  COFFER_ERROR_VAULT_UNREACHABLE,
  COFFER_ERROR_BUSY,
  COFFER_ERROR_NOT_FOUND,
  COFFER_ERROR_EXISTS,
  COFFER_ERROR_PERMISSION_DENIED,
  COFFER_ERROR_KEYRING_LOCKED,
  COFFER_ERROR_NO_SPACE,
  COFFER_ERROR_AUTH_REJECTED,
  COFFER_ERROR_PROXY_AUTH,
  COFFER_ERROR_CANCELLED,
} CofferError;

#define COFFER_ERROR_N_CODES (COFFER_ERROR_CANCELLED + 1)

GQuark coffer_error_quark (void);

const char *coffer_error_to_dbus_name (CofferError code);

GError *coffer_error_from_dbus (const GError *error);

G_END_DECLS
