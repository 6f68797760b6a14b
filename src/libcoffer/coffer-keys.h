/* coffer-keys.h: the passphrase and the master keys it wraps. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define COFFER_KEY_SIZE 32
/* The passphrase rule: 16 to 1,024 printable ASCII characters (space to
 * tilde). coffer_passphrase_check() enforces it; the console's passphrase
 * page shows it as the user types. */
#define COFFER_PASSPHRASE_MIN_LENGTH 16
#define COFFER_PASSPHRASE_MAX_LENGTH 1024
#define COFFER_PASSPHRASE_GENERATED_LENGTH 32

/* scrypt's work factor: calibrated to about half a second within these
 * bounds when wrapping; stored parameters above COFFER_SCRYPT_N_LIMIT (or with
 * r ≠ 8, or p > 4) are refused as corrupt, never run. */
#define COFFER_SCRYPT_N_MIN (G_GUINT64_CONSTANT (1) << 16)
#define COFFER_SCRYPT_N_MAX (G_GUINT64_CONSTANT (1) << 18)
#define COFFER_SCRYPT_N_LIMIT (G_GUINT64_CONSTANT (1) << 20)

/**
 * CofferMasterKeys:
 * @encryption: the key every blob key derives from
 * @chunk_id: the key of HMAC-SHA256 chunk ids
 * @chunker: the key of the chunker's gear table
 *
 * A machine's master keys. They never leave the machine unwrapped; free them
 * with coffer_master_keys_free(), which wipes them.
 */
typedef struct
{
  guint8 encryption[COFFER_KEY_SIZE];
  guint8 chunk_id[COFFER_KEY_SIZE];
  guint8 chunker[COFFER_KEY_SIZE];
} CofferMasterKeys;

CofferMasterKeys *coffer_master_keys_generate (void);
void coffer_master_keys_free (CofferMasterKeys *keys);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CofferMasterKeys, coffer_master_keys_free)

guint64 coffer_scrypt_calibrate (void);

GBytes *coffer_master_keys_wrap (const CofferMasterKeys *keys,
                                 const char *passphrase,
                                 guint64 scrypt_n,
                                 GError **error);
CofferMasterKeys *
coffer_master_keys_unwrap (GBytes *wrapped, const char *passphrase, GError **error);

gboolean coffer_passphrase_check (const char *passphrase, GError **error);
char *coffer_passphrase_from_bytes (const char *data, gsize size, GError **error);
char *coffer_passphrase_generate (void);
void coffer_passphrase_free (char *passphrase);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (char, coffer_passphrase_free)

G_END_DECLS
