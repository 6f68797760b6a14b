/* coffer-crypto.c: authenticated encryption and random ids, over OpenSSL.
 *
 * coffer_gcm_seal() makes `nonce(12) | ciphertext | tag(16)` with AES-256-GCM
 * and a random nonce; coffer_gcm_open() checks and opens it. A failed check
 * is COFFER_ERROR_CORRUPT: the caller names the object (g_prefix_error).
 */
#include "config.h"

#include "coffer-crypto.h"

#include "coffer-error.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

static void
random_bytes (guint8 *out, gsize size)
{
  if (RAND_bytes (out, size) != 1)
    g_error ("The random number generator failed");
}

GBytes *
coffer_gcm_seal (const guint8 key[32], GBytes *plaintext, const void *aad, gsize aad_size)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (plaintext, &size);
  guint8 *out = g_malloc (COFFER_GCM_NONCE_SIZE + size + COFFER_GCM_TAG_SIZE);
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
  int length = 0;
  gboolean ok;

  random_bytes (out, COFFER_GCM_NONCE_SIZE);
  ok = EVP_EncryptInit_ex (ctx, EVP_aes_256_gcm (), NULL, key, out) == 1 &&
       (aad_size == 0 || EVP_EncryptUpdate (ctx, NULL, &length, aad, aad_size) == 1) &&
       EVP_EncryptUpdate (ctx, out + COFFER_GCM_NONCE_SIZE, &length, data, size) == 1 &&
       EVP_EncryptFinal_ex (ctx, out + COFFER_GCM_NONCE_SIZE + length, &length) == 1 &&
       EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_GET_TAG, COFFER_GCM_TAG_SIZE,
                            out + COFFER_GCM_NONCE_SIZE + size) == 1;
  EVP_CIPHER_CTX_free (ctx);
  if (!ok)
    g_error ("AES-256-GCM encryption failed");

  return g_bytes_new_take (out, COFFER_GCM_NONCE_SIZE + size + COFFER_GCM_TAG_SIZE);
}

GBytes *
coffer_gcm_open (
    const guint8 key[32], GBytes *sealed, const void *aad, gsize aad_size, GError **error)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (sealed, &size);
  g_autofree guint8 *out = NULL;
  EVP_CIPHER_CTX *ctx;
  gsize plain_size;
  int length = 0;
  gboolean ok;

  if (size < COFFER_GCM_NONCE_SIZE + COFFER_GCM_TAG_SIZE)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT,
                   "it is too short to be encrypted data");
      return NULL;
    }

  plain_size = size - COFFER_GCM_NONCE_SIZE - COFFER_GCM_TAG_SIZE;
  out = g_malloc (plain_size + 1);
  ctx = EVP_CIPHER_CTX_new ();
  ok = EVP_DecryptInit_ex (ctx, EVP_aes_256_gcm (), NULL, key, data) == 1 &&
       (aad_size == 0 || EVP_DecryptUpdate (ctx, NULL, &length, aad, aad_size) == 1) &&
       EVP_DecryptUpdate (ctx, out, &length, data + COFFER_GCM_NONCE_SIZE, plain_size) == 1 &&
       EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_SET_TAG, COFFER_GCM_TAG_SIZE,
                            (void *) (data + size - COFFER_GCM_TAG_SIZE)) == 1 &&
       EVP_DecryptFinal_ex (ctx, out + length, &length) == 1;
  EVP_CIPHER_CTX_free (ctx);

  if (!ok)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT,
                   "it is damaged: its authentication tag does not match");
      return NULL;
    }
  return g_bytes_new_take (g_steal_pointer (&out), plain_size);
}

void
coffer_hmac_sha256 (const guint8 *key, gsize key_size, const void *data, gsize size, guint8 out[32])
{
  unsigned int length = 32;

  if (HMAC (EVP_sha256 (), key, key_size, data, size, out, &length) == NULL)
    g_error ("HMAC-SHA256 failed");
}

/**
 * coffer_random_hex:
 * @bytes: how many random bytes
 *
 * Returns: (transfer full): @bytes random bytes in lower-case hex
 */
char *
coffer_random_hex (gsize bytes)
{
  g_autofree guint8 *random = g_malloc (bytes);
  GString *text = g_string_sized_new (bytes * 2);

  random_bytes (random, bytes);
  for (gsize i = 0; i < bytes; i++)
    g_string_append_printf (text, "%02x", random[i]);
  return g_string_free (text, FALSE);
}
