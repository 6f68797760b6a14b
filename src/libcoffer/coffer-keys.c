/* coffer-keys.c: the passphrase and the master keys it wraps.
 *
 * A machine has three random master keys. They are stored in the vault only
 * wrapped: scrypt turns the passphrase and a random salt into a key-encryption
 * key, and AES-256-GCM seals the 96 key bytes with it. The key file is a small
 * JSON document (its layout is in FORMAT.md); everything in it is untrusted,
 * so its KDF parameters are checked against hard limits before scrypt runs.
 *
 * Key material owned here is wiped (OPENSSL_cleanse) before it is freed.
 */
#include "config.h"

#include "coffer-keys.h"

#include "coffer-crypto.h"
#include "coffer-error.h"
#include "coffer-json-util.h"

#include <json-glib/json-glib.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <string.h>

#define KEY_FILE_FORMAT 1
#define KEY_FILE_MAX_SIZE (64 * 1024)
#define KEY_FILE_CIPHER "aes-256-gcm"
#define SALT_SIZE 32
#define NONCE_SIZE COFFER_GCM_NONCE_SIZE
#define TAG_SIZE COFFER_GCM_TAG_SIZE
#define KEYS_SIZE (3 * COFFER_KEY_SIZE)
#define SEALED_SIZE (KEYS_SIZE + TAG_SIZE)

#define SCRYPT_R 8
#define SCRYPT_P 1
#define SCRYPT_P_LIMIT 4
#define SCRYPT_N_FLOOR (G_GUINT64_CONSTANT (1) << 10)
/* The time calibration aims at, in microseconds. */
#define SCRYPT_TARGET_USEC (G_USEC_PER_SEC / 2)

/* Shell-safe and unambiguous: no 0/O/o, 1/l/I, quotes, backslash, space or
 * anything a shell expands. */
static const char passphrase_alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ"
                                          "abcdefghijkmnpqrstuvwxyz"
                                          "23456789"
                                          "-_+=@%";

static char *
openssl_error_string (void)
{
  unsigned long code = ERR_get_error ();
  char text[256];

  ERR_clear_error ();
  if (code == 0)
    return g_strdup ("unknown OpenSSL error");
  ERR_error_string_n (code, text, sizeof text);
  return g_strdup (text);
}

/**
 * coffer_master_keys_generate:
 *
 * Makes three new random master keys.
 *
 * Returns: (transfer full): the keys; free with coffer_master_keys_free()
 */
CofferMasterKeys *
coffer_master_keys_generate (void)
{
  /* Not mlock()ed: page locks do not nest, so unlocking one small
   * allocation would silently unlock any other on the same page. */
  CofferMasterKeys *keys = g_malloc0 (sizeof *keys);

  coffer_random_bytes (keys->encryption, sizeof keys->encryption);
  coffer_random_bytes (keys->chunk_id, sizeof keys->chunk_id);
  coffer_random_bytes (keys->chunker, sizeof keys->chunker);
  return keys;
}

/**
 * coffer_master_keys_free:
 * @keys: (nullable): master keys
 *
 * Wipes and frees @keys.
 */
void
coffer_master_keys_free (CofferMasterKeys *keys)
{
  if (keys == NULL)
    return;

  OPENSSL_cleanse (keys, sizeof *keys);
  g_free (keys);
}

static gboolean
scrypt_n_is_valid (guint64 n)
{
  return n >= SCRYPT_N_FLOOR && n <= COFFER_SCRYPT_N_LIMIT && (n & (n - 1)) == 0;
}

/* Derives a COFFER_KEY_SIZE key. maxmem is computed from the parameters (the
 * V array of 128·r·(N + 2) bytes and the B array of 128·r·p bytes, plus
 * headroom), so OpenSSL's default 32 MiB limit never refuses a valid N. */
static gboolean
scrypt_derive (const char *passphrase,
               const guint8 salt[SALT_SIZE],
               guint64 n,
               guint32 r,
               guint32 p,
               guint8 out[COFFER_KEY_SIZE],
               GError **error)
{
  EVP_KDF *kdf = EVP_KDF_fetch (NULL, "SCRYPT", NULL);
  EVP_KDF_CTX *ctx = NULL;
  guint64 maxmem = 128 * (guint64) r * (n + 2) + 128 * (guint64) r * p + 1024 * 1024;
  OSSL_PARAM params[7];
  gboolean ok;

  params[0] = OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_PASSWORD, (void *) passphrase,
                                                 strlen (passphrase));
  params[1] = OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_SALT, (void *) salt, SALT_SIZE);
  params[2] = OSSL_PARAM_construct_uint64 (OSSL_KDF_PARAM_SCRYPT_N, &n);
  params[3] = OSSL_PARAM_construct_uint32 (OSSL_KDF_PARAM_SCRYPT_R, &r);
  params[4] = OSSL_PARAM_construct_uint32 (OSSL_KDF_PARAM_SCRYPT_P, &p);
  params[5] = OSSL_PARAM_construct_uint64 (OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem);
  params[6] = OSSL_PARAM_construct_end ();

  if (kdf != NULL)
    ctx = EVP_KDF_CTX_new (kdf);
  ok = ctx != NULL && EVP_KDF_derive (ctx, out, COFFER_KEY_SIZE, params) == 1;
  EVP_KDF_CTX_free (ctx);
  EVP_KDF_free (kdf);

  if (!ok)
    {
      g_autofree char *reason = openssl_error_string ();
      OPENSSL_cleanse (out, COFFER_KEY_SIZE);
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_FAILED,
                   "Cannot derive a key from the passphrase (scrypt, N = %" G_GUINT64_FORMAT
                   "): %s",
                   n, reason);
    }
  return ok;
}

static gsize
measure_scrypt_n (void)
{
  static const char probe[] = "coffer scrypt calibration";
  guint8 salt[SALT_SIZE] = { 0 };
  guint8 key[COFFER_KEY_SIZE];
  g_autoptr (GError) error = NULL;
  guint64 n = COFFER_SCRYPT_N_MIN;
  gint64 start;
  gint64 elapsed;

  start = g_get_monotonic_time ();
  if (!scrypt_derive (probe, salt, COFFER_SCRYPT_N_MIN, SCRYPT_R, SCRYPT_P, key, &error))
    {
      /* The real derivation will report the failure; calibration keeps the floor. */
      g_debug ("scrypt calibration failed: %s", error->message);
      return COFFER_SCRYPT_N_MIN;
    }
  elapsed = MAX (g_get_monotonic_time () - start, 1);
  OPENSSL_cleanse (key, sizeof key);

  /* scrypt's time grows linearly with N. */
  while (n < COFFER_SCRYPT_N_MAX &&
         elapsed * (gint64) (n * 2 / COFFER_SCRYPT_N_MIN) <= SCRYPT_TARGET_USEC)
    n *= 2;

  g_debug ("scrypt at N = %" G_GUINT64_FORMAT " took %" G_GINT64_FORMAT
           " us; using N = %" G_GUINT64_FORMAT,
           COFFER_SCRYPT_N_MIN, elapsed, n);
  return n;
}

/**
 * coffer_scrypt_calibrate:
 *
 * Picks scrypt's work factor for this machine: the largest power of two
 * between %COFFER_SCRYPT_N_MIN and %COFFER_SCRYPT_N_MAX that takes about half
 * a second here (r = 8, p = 1). It is measured once per process.
 *
 * Returns: N
 */
guint64
coffer_scrypt_calibrate (void)
{
  static gsize calibrated = 0;

  if (g_once_init_enter (&calibrated))
    g_once_init_leave (&calibrated, measure_scrypt_n ());
  return calibrated;
}

/* The associated data binds the sealed keys to the file's format and KDF
 * parameters, so that none of them can be swapped without the tag failing. */
static char *
key_file_aad (guint64 n, guint32 r, guint32 p, const char *salt_base64)
{
  return g_strdup_printf ("coffer key file %d scrypt n=%" G_GUINT64_FORMAT " r=%u p=%u salt=%s %s",
                          KEY_FILE_FORMAT, n, r, p, salt_base64, KEY_FILE_CIPHER);
}

/**
 * coffer_master_keys_wrap:
 * @keys: master keys
 * @passphrase: the passphrase (the caller checks it with coffer_passphrase_check())
 * @scrypt_n: scrypt's N: 0 to calibrate with coffer_scrypt_calibrate(), or a
 *   power of two between 2^10 and %COFFER_SCRYPT_N_LIMIT (small values are
 *   for tests)
 * @error: return location for a #GError
 *
 * Seals @keys with a key derived from @passphrase. The result is the key
 * file stored as `machines/ID/keys/KEY-ID`; FORMAT.md describes it.
 *
 * Returns: (transfer full): the key file, or %NULL if scrypt failed
 */
GBytes *
coffer_master_keys_wrap (const CofferMasterKeys *keys,
                         const char *passphrase,
                         guint64 scrypt_n,
                         GError **error)
{
  guint8 salt[SALT_SIZE];
  guint8 nonce[NONCE_SIZE];
  guint8 kek[COFFER_KEY_SIZE];
  guint8 plain[KEYS_SIZE];
  guint8 sealed[SEALED_SIZE];
  g_autofree char *salt_base64 = NULL;
  g_autofree char *nonce_base64 = NULL;
  g_autofree char *sealed_base64 = NULL;
  g_autofree char *aad = NULL;
  g_autofree char *text = NULL;
  g_autoptr (JsonBuilder) builder = NULL;
  g_autoptr (JsonGenerator) generator = NULL;
  g_autoptr (JsonNode) root = NULL;
  gboolean sealed_ok;

  g_return_val_if_fail (keys != NULL, NULL);
  g_return_val_if_fail (passphrase != NULL, NULL);
  g_return_val_if_fail (scrypt_n == 0 || scrypt_n_is_valid (scrypt_n), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (scrypt_n == 0)
    scrypt_n = coffer_scrypt_calibrate ();

  coffer_random_bytes (salt, sizeof salt);
  coffer_random_bytes (nonce, sizeof nonce);
  if (!scrypt_derive (passphrase, salt, scrypt_n, SCRYPT_R, SCRYPT_P, kek, error))
    return NULL;

  salt_base64 = g_base64_encode (salt, sizeof salt);
  aad = key_file_aad (scrypt_n, SCRYPT_R, SCRYPT_P, salt_base64);
  memcpy (plain, keys->encryption, COFFER_KEY_SIZE);
  memcpy (plain + COFFER_KEY_SIZE, keys->chunk_id, COFFER_KEY_SIZE);
  memcpy (plain + 2 * COFFER_KEY_SIZE, keys->chunker, COFFER_KEY_SIZE);
  sealed_ok = coffer_aes_gcm_encrypt (kek, nonce, aad, strlen (aad), plain, KEYS_SIZE, sealed,
                                      sealed + KEYS_SIZE);
  OPENSSL_cleanse (plain, sizeof plain);
  OPENSSL_cleanse (kek, sizeof kek);
  if (!sealed_ok)
    g_error ("AES-256-GCM encryption failed");

  nonce_base64 = g_base64_encode (nonce, sizeof nonce);
  sealed_base64 = g_base64_encode (sealed, sizeof sealed);

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "format");
  json_builder_add_int_value (builder, KEY_FILE_FORMAT);
  json_builder_set_member_name (builder, "kdf");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, "scrypt");
  json_builder_set_member_name (builder, "n");
  json_builder_add_int_value (builder, scrypt_n);
  json_builder_set_member_name (builder, "r");
  json_builder_add_int_value (builder, SCRYPT_R);
  json_builder_set_member_name (builder, "p");
  json_builder_add_int_value (builder, SCRYPT_P);
  json_builder_set_member_name (builder, "salt");
  json_builder_add_string_value (builder, salt_base64);
  json_builder_end_object (builder);
  json_builder_set_member_name (builder, "cipher");
  json_builder_add_string_value (builder, KEY_FILE_CIPHER);
  json_builder_set_member_name (builder, "nonce");
  json_builder_add_string_value (builder, nonce_base64);
  json_builder_set_member_name (builder, "sealed");
  json_builder_add_string_value (builder, sealed_base64);
  json_builder_end_object (builder);

  generator = json_generator_new ();
  json_generator_set_pretty (generator, TRUE);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, NULL);
  return g_bytes_new_take (g_strconcat (text, "\n", NULL), strlen (text) + 1);
}

static gboolean key_file_damaged (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
key_file_damaged (GError **error, const char *format, ...)
{
  g_autofree char *detail = NULL;
  va_list args;

  va_start (args, format);
  detail = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT, "The key file is damaged: %s", detail);
  return FALSE;
}

static gboolean
get_int_member (
    JsonObject *object, const char *member, const char *name, gint64 *out, GError **error)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_INT64)
    return key_file_damaged (error, "“%s” is missing or is not a whole number", name);
  *out = json_node_get_int (node);
  return TRUE;
}

static const char *
get_string_member (JsonObject *object, const char *member, const char *name, GError **error)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    {
      key_file_damaged (error, "“%s” is missing or is not a string", name);
      return NULL;
    }
  return json_node_get_string (node);
}

/* Strict base64: the canonical encoding of exactly @size bytes, nothing
 * skipped or tolerated (g_base64_decode() ignores stray characters). */
static gboolean
get_base64_member (JsonObject *object,
                   const char *member,
                   const char *name,
                   guint8 *out,
                   gsize size,
                   GError **error)
{
  const char *text = get_string_member (object, member, name, error);
  g_autofree guint8 *decoded = NULL;
  g_autofree char *canonical = NULL;
  gsize decoded_size = 0;

  if (text == NULL)
    return FALSE;

  if (strlen (text) != (size + 2) / 3 * 4 ||
      strspn (text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") !=
          strlen (text))
    return key_file_damaged (error, "“%s” is not %" G_GSIZE_FORMAT " bytes in base64", name, size);

  decoded = g_base64_decode (text, &decoded_size);
  if (decoded_size == size)
    canonical = g_base64_encode (decoded, decoded_size);
  if (canonical == NULL || strcmp (canonical, text) != 0)
    return key_file_damaged (error, "“%s” is not %" G_GSIZE_FORMAT " bytes in base64", name, size);

  memcpy (out, decoded, size);
  return TRUE;
}

typedef struct
{
  guint64 n;
  guint32 r;
  guint32 p;
  const char *salt_base64;
  guint8 salt[SALT_SIZE];
  guint8 nonce[NONCE_SIZE];
  guint8 sealed[SEALED_SIZE];
} KeyFile;

static gboolean
parse_kdf (JsonObject *root, KeyFile *file, GError **error)
{
  JsonNode *node = json_object_get_member (root, "kdf");
  JsonObject *kdf;
  const char *name;
  gint64 n;
  gint64 r;
  gint64 p;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return key_file_damaged (error, "“kdf” is missing or is not an object");
  kdf = json_node_get_object (node);

  name = get_string_member (kdf, "name", "kdf.name", error);
  if (name == NULL)
    return FALSE;
  if (strcmp (name, "scrypt") != 0)
    return key_file_damaged (error, "the key derivation “%s” is unknown", name);

  if (!get_int_member (kdf, "n", "kdf.n", &n, error) ||
      !get_int_member (kdf, "r", "kdf.r", &r, error) ||
      !get_int_member (kdf, "p", "kdf.p", &p, error))
    return FALSE;

  /* Untrusted work factors: refused before scrypt ever runs. */
  if (n < 0 || !scrypt_n_is_valid ((guint64) n))
    return key_file_damaged (
        error, "scrypt's N (%" G_GINT64_FORMAT ") is not a power of two between 2^10 and 2^20", n);
  if (r != SCRYPT_R)
    return key_file_damaged (error, "scrypt's r (%" G_GINT64_FORMAT ") is not 8", r);
  if (p < 1 || p > SCRYPT_P_LIMIT)
    return key_file_damaged (error, "scrypt's p (%" G_GINT64_FORMAT ") is not between 1 and 4", p);
  file->n = n;
  file->r = r;
  file->p = p;

  if (!get_base64_member (kdf, "salt", "kdf.salt", file->salt, SALT_SIZE, error))
    return FALSE;
  file->salt_base64 = json_object_get_string_member (kdf, "salt");
  return TRUE;
}

static gboolean
parse_key_file (JsonObject *root, KeyFile *file, GError **error)
{
  const char *cipher;
  gint64 format;

  if (!get_int_member (root, "format", "format", &format, error))
    return FALSE;
  if (format > KEY_FILE_FORMAT)
    {
      g_set_error (
          error, COFFER_ERROR, COFFER_ERROR_NEWER_FORMAT,
          "This machine's key file was made by a newer version of Coffer (format %" G_GINT64_FORMAT
          "); update Coffer to open it",
          format);
      return FALSE;
    }
  if (format < KEY_FILE_FORMAT)
    return key_file_damaged (error, "its format (%" G_GINT64_FORMAT ") is unknown", format);

  if (!parse_kdf (root, file, error))
    return FALSE;

  cipher = get_string_member (root, "cipher", "cipher", error);
  if (cipher == NULL)
    return FALSE;
  if (strcmp (cipher, KEY_FILE_CIPHER) != 0)
    return key_file_damaged (error, "the cipher “%s” is unknown", cipher);

  return get_base64_member (root, "nonce", "nonce", file->nonce, NONCE_SIZE, error) &&
         get_base64_member (root, "sealed", "sealed", file->sealed, SEALED_SIZE, error);
}

/**
 * coffer_master_keys_unwrap:
 * @wrapped: a key file made by coffer_master_keys_wrap()
 * @passphrase: the passphrase
 * @error: return location for a #GError
 *
 * Opens a key file. Every member is checked; scrypt's parameters must be
 * within the limits in coffer-keys.h before any work is done.
 *
 * Errors: %COFFER_ERROR_NEWER_FORMAT for a file of a newer Coffer,
 * %COFFER_ERROR_CORRUPT for a malformed one (the caller may prefix the
 * object's name), %COFFER_ERROR_WRONG_PASSPHRASE when the keys do not open
 * (a wrong passphrase and tampered bytes cannot be told apart).
 *
 * Returns: (transfer full): the master keys, or %NULL
 */
CofferMasterKeys *
coffer_master_keys_unwrap (GBytes *wrapped, const char *passphrase, GError **error)
{
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (CofferMasterKeys) keys = NULL;
  JsonNode *root;
  KeyFile file = { 0 };
  guint8 kek[COFFER_KEY_SIZE];
  guint8 plain[KEYS_SIZE];
  g_autofree char *aad = NULL;
  const char *data;
  gsize size;
  gboolean opened;

  g_return_val_if_fail (wrapped != NULL, NULL);
  g_return_val_if_fail (passphrase != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  data = g_bytes_get_data (wrapped, &size);
  parser = json_parser_new_immutable ();
  /* Empty bytes have no data pointer, which json-glib refuses. */
  if (size == 0 || size > KEY_FILE_MAX_SIZE || !g_utf8_validate (data, size, NULL) ||
      !coffer_json_is_one_object (data, size) ||
      !json_parser_load_from_data (parser, data, size, NULL))
    {
      key_file_damaged (error, "it is not valid JSON");
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      key_file_damaged (error, "it does not hold a JSON object");
      return NULL;
    }
  if (!parse_key_file (json_node_get_object (root), &file, error))
    return NULL;

  if (!scrypt_derive (passphrase, file.salt, file.n, file.r, file.p, kek, error))
    return NULL;
  aad = key_file_aad (file.n, file.r, file.p, file.salt_base64);
  opened = coffer_aes_gcm_decrypt (kek, file.nonce, aad, strlen (aad), file.sealed, KEYS_SIZE,
                                   file.sealed + KEYS_SIZE, plain);
  OPENSSL_cleanse (kek, sizeof kek);
  if (!opened)
    {
      g_set_error_literal (error, COFFER_ERROR, COFFER_ERROR_WRONG_PASSPHRASE,
                           "The passphrase is incorrect: it does not open this machine's keys.");
      return NULL;
    }

  keys = g_malloc0 (sizeof *keys);
  memcpy (keys->encryption, plain, COFFER_KEY_SIZE);
  memcpy (keys->chunk_id, plain + COFFER_KEY_SIZE, COFFER_KEY_SIZE);
  memcpy (keys->chunker, plain + 2 * COFFER_KEY_SIZE, COFFER_KEY_SIZE);
  OPENSSL_cleanse (plain, sizeof plain);
  return g_steal_pointer (&keys);
}

/* How a broken rule ends, in every message about it. */
#define PASSPHRASE_RULE "a passphrase has 16–1,024 printable ASCII characters"

/**
 * coffer_passphrase_check:
 * @passphrase: a passphrase the user chose
 * @error: return location for a #GError
 *
 * Checks the passphrase rules: %COFFER_PASSPHRASE_MIN_LENGTH to
 * %COFFER_PASSPHRASE_MAX_LENGTH characters, each printable ASCII (space to
 * tilde). A broken rule is %COFFER_ERROR_WEAK_PASSPHRASE naming it.
 *
 * Returns: %TRUE if @passphrase may be used
 */
gboolean
coffer_passphrase_check (const char *passphrase, GError **error)
{
  gsize length = 0;

  g_return_val_if_fail (passphrase != NULL, FALSE);

  for (const char *c = passphrase; *c != '\0'; c++, length++)
    {
      if ((guchar) *c < 0x20 || (guchar) *c > 0x7e)
        {
          g_set_error_literal (error, COFFER_ERROR, COFFER_ERROR_WEAK_PASSPHRASE,
                               "The passphrase may contain only printable ASCII characters (no "
                               "accents, no control characters).");
          return FALSE;
        }
    }

  if (length < COFFER_PASSPHRASE_MIN_LENGTH)
    {
      g_set_error_literal (error, COFFER_ERROR, COFFER_ERROR_WEAK_PASSPHRASE,
                           "The passphrase must be at least 16 characters long.");
      return FALSE;
    }
  if (length > COFFER_PASSPHRASE_MAX_LENGTH)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_WEAK_PASSPHRASE,
                   "The passphrase is too long (%" G_GSIZE_FORMAT " characters): " PASSPHRASE_RULE
                   ".",
                   length);
      return FALSE;
    }
  return TRUE;
}

/**
 * coffer_passphrase_from_bytes:
 * @data: a passphrase as a client sent it (D-Bus `ay`)
 * @size: its length; one trailing NUL (a bytestring's) is not part of it
 * @error: return location for a #GError
 *
 * Takes a passphrase out of a message without copying more than a
 * passphrase can be: one longer than %COFFER_PASSPHRASE_MAX_LENGTH, or
 * holding a NUL byte, is %COFFER_ERROR_WEAK_PASSPHRASE saying so. The other
 * rules are coffer_passphrase_check()'s, for a new passphrase.
 *
 * Returns: (transfer full): the passphrase; free with coffer_passphrase_free()
 */
char *
coffer_passphrase_from_bytes (const char *data, gsize size, GError **error)
{
  g_return_val_if_fail (data != NULL || size == 0, NULL);

  if (size > 0 && data[size - 1] == '\0')
    size--;
  if (size > COFFER_PASSPHRASE_MAX_LENGTH)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_WEAK_PASSPHRASE,
                   "The passphrase is too long (%" G_GSIZE_FORMAT " bytes): " PASSPHRASE_RULE ".",
                   size);
      return NULL;
    }
  if (size > 0 && memchr (data, '\0', size) != NULL)
    {
      g_set_error_literal (error, COFFER_ERROR, COFFER_ERROR_WEAK_PASSPHRASE,
                           "The passphrase holds a NUL byte: " PASSPHRASE_RULE ".");
      return NULL;
    }
  return g_strndup (size > 0 ? data : "", size);
}

/**
 * coffer_passphrase_generate:
 *
 * Makes a passphrase of %COFFER_PASSPHRASE_GENERATED_LENGTH characters drawn
 * uniformly from letters, digits and a few symbols that are unambiguous and
 * need no quoting in a shell (about 190 bits).
 *
 * Returns: (transfer full): the passphrase; free with coffer_passphrase_free()
 */
char *
coffer_passphrase_generate (void)
{
  const guint alphabet_size = sizeof passphrase_alphabet - 1;
  /* The largest multiple of the alphabet's size that fits in a byte: bytes at
   * or above it are drawn again, so that every character is equally likely. */
  const guint limit = 256 - 256 % alphabet_size;
  char *passphrase = g_malloc0 (COFFER_PASSPHRASE_GENERATED_LENGTH + 1);
  guint8 pool[64];
  gsize used = sizeof pool;
  gsize length = 0;

  while (length < COFFER_PASSPHRASE_GENERATED_LENGTH)
    {
      if (used == sizeof pool)
        {
          coffer_random_bytes (pool, sizeof pool);
          used = 0;
        }
      if (pool[used] < limit)
        passphrase[length++] = passphrase_alphabet[pool[used] % alphabet_size];
      used++;
    }

  OPENSSL_cleanse (pool, sizeof pool);
  return passphrase;
}

/**
 * coffer_passphrase_free:
 * @passphrase: (nullable): a passphrase
 *
 * Wipes and frees @passphrase.
 */
void
coffer_passphrase_free (char *passphrase)
{
  if (passphrase == NULL)
    return;

  OPENSSL_cleanse (passphrase, strlen (passphrase));
  g_free (passphrase);
}
