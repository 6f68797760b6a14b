/* coffer-secret.h: where the passphrase (and later the proxy password) is kept. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/**
 * CofferSecretBackend:
 * @COFFER_SECRET_BACKEND_NONE: nothing is stored
 * @COFFER_SECRET_BACKEND_SERVICE: the Secret Service (GNOME Keyring, KWallet…)
 * @COFFER_SECRET_BACKEND_FILE: a 0600 file in the state folder, used when no
 *   Secret Service answers
 */
typedef enum
{
  COFFER_SECRET_BACKEND_NONE,
  COFFER_SECRET_BACKEND_SERVICE,
  COFFER_SECRET_BACKEND_FILE,
} CofferSecretBackend;

/**
 * CofferSecretKind:
 * @COFFER_SECRET_PASSPHRASE: a machine's encryption passphrase
 * @COFFER_SECRET_PROXY_PASSWORD: the proxy server's password
 */
typedef enum
{
  COFFER_SECRET_PASSPHRASE,
  COFFER_SECRET_PROXY_PASSWORD,
} CofferSecretKind;

const char *coffer_secret_backend_to_string (CofferSecretBackend backend);

gboolean coffer_secret_store (const char *state_dir,
                              CofferSecretKind kind,
                              const char *id,
                              const char *secret,
                              CofferSecretBackend *out_backend,
                              GCancellable *cancellable,
                              GError **error);
char *coffer_secret_lookup (const char *state_dir,
                            CofferSecretKind kind,
                            const char *id,
                            CofferSecretBackend *out_backend,
                            GCancellable *cancellable,
                            GError **error);
gboolean coffer_secret_clear (const char *state_dir,
                              CofferSecretKind kind,
                              const char *id,
                              GCancellable *cancellable,
                              GError **error);

G_END_DECLS
