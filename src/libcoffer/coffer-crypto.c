/* coffer-crypto.c: authenticated encryption and random ids, over OpenSSL.
 *
 * coffer_gcm_seal() makes `nonce(12) | ciphertext | tag(16)` with AES-256-GCM
 * and a random nonce; coffer_gcm_open() checks and opens it. A failed check
 * is COFFER_ERROR_CORRUPT: the caller names the object (g_prefix_error).
 *
 * A backup seals tens of thousands of small blobs, each with two HMACs and
 * one GCM pass: the algorithms are fetched once, and each thread keeps its
 * cipher context and an HMAC context per recent key, so that a call costs
 * the work on its bytes rather than a lookup in OpenSSL's provider tables.
 */
#include "config.h"

#include "coffer-crypto.h"

#include "coffer-error.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

/**
 * coffer_random_bytes:
 * @out: where to write
 * @size: how many bytes
 *
 * Fills @out from OpenSSL's generator; a generator that fails is fatal.
 */
void
coffer_random_bytes (void *out, gsize size)
{
  if (RAND_bytes (out, size) != 1)
    g_error ("The random number generator failed");
}

/* ---- Per-thread contexts --------------------------------------------------- */

#define HMAC_SLOTS 4
#define HMAC_MAX_KEY 64

typedef struct
{
  EVP_CIPHER_CTX *gcm;
  struct
  {
    EVP_MAC_CTX *ctx;
    guint8 key[HMAC_MAX_KEY];
    gsize key_size;
  } hmac[HMAC_SLOTS];
  guint next_slot;
  guint8 nonces[4096]; /* random bytes not yet handed out: from nonce_used on */
  gsize nonce_used;
} ThreadContexts;

static void
thread_contexts_free (gpointer data)
{
  ThreadContexts *contexts = data;

  EVP_CIPHER_CTX_free (contexts->gcm);
  for (guint i = 0; i < HMAC_SLOTS; i++)
    EVP_MAC_CTX_free (contexts->hmac[i].ctx);
  OPENSSL_cleanse (contexts, sizeof *contexts);
  g_free (contexts);
}

static GPrivate thread_contexts_key = G_PRIVATE_INIT (thread_contexts_free);

static ThreadContexts *
thread_contexts (void)
{
  ThreadContexts *contexts = g_private_get (&thread_contexts_key);

  if (contexts == NULL)
    {
      contexts = g_new0 (ThreadContexts, 1);
      contexts->nonce_used = sizeof contexts->nonces;
      contexts->gcm = EVP_CIPHER_CTX_new ();
      if (contexts->gcm == NULL)
        g_error ("Out of memory for a cipher context");
      g_private_set (&thread_contexts_key, contexts);
    }
  return contexts;
}

/**
 * coffer_random_nonce:
 * @out: where to write
 * @size: how many bytes, at most 64
 *
 * Like coffer_random_bytes(), for nonces: the bytes come from a per-thread
 * reserve filled from OpenSSL's generator 4 KiB at a time, which spares a
 * generator call (and its fork check) a blob. Never for keys.
 */
void
coffer_random_nonce (void *out, gsize size)
{
  ThreadContexts *contexts = thread_contexts ();

  g_return_if_fail (size <= 64);

  if (sizeof contexts->nonces - contexts->nonce_used < size)
    {
      coffer_random_bytes (contexts->nonces, sizeof contexts->nonces);
      contexts->nonce_used = 0;
    }
  memcpy (out, contexts->nonces + contexts->nonce_used, size);
  /* Each byte is handed out once. */
  OPENSSL_cleanse (contexts->nonces + contexts->nonce_used, size);
  contexts->nonce_used += size;
}

static EVP_CIPHER *
gcm_cipher (void)
{
  static EVP_CIPHER *cipher;

  if (g_once_init_enter (&cipher))
    {
      EVP_CIPHER *fetched = EVP_CIPHER_fetch (NULL, "AES-256-GCM", NULL);
      if (fetched == NULL)
        g_error ("OpenSSL has no AES-256-GCM");
      g_once_init_leave (&cipher, fetched);
    }
  return cipher;
}

static EVP_MAC *
hmac_algorithm (void)
{
  static EVP_MAC *mac;

  if (g_once_init_enter (&mac))
    {
      EVP_MAC *fetched = EVP_MAC_fetch (NULL, "HMAC", NULL);
      if (fetched == NULL)
        g_error ("OpenSSL has no HMAC");
      g_once_init_leave (&mac, fetched);
    }
  return mac;
}

/* An HMAC-SHA256 context of this thread, ready for a new message under
 * @key; NULL for a key too long to keep. */
static EVP_MAC_CTX *
thread_hmac (const guint8 *key, gsize key_size)
{
  ThreadContexts *contexts = thread_contexts ();
  OSSL_PARAM params[] = {
    OSSL_PARAM_construct_utf8_string (OSSL_MAC_PARAM_DIGEST, (char *) "SHA256", 0),
    OSSL_PARAM_construct_end (),
  };
  guint slot;

  if (key_size > HMAC_MAX_KEY)
    return NULL;
  for (slot = 0; slot < HMAC_SLOTS; slot++)
    if (contexts->hmac[slot].ctx != NULL && contexts->hmac[slot].key_size == key_size &&
        CRYPTO_memcmp (contexts->hmac[slot].key, key, key_size) == 0)
      {
        /* The same key again: a NULL key starts a new message with it. */
        if (EVP_MAC_init (contexts->hmac[slot].ctx, NULL, 0, NULL) != 1)
          g_error ("HMAC-SHA256 failed");
        return contexts->hmac[slot].ctx;
      }

  slot = contexts->next_slot;
  contexts->next_slot = (slot + 1) % HMAC_SLOTS;
  EVP_MAC_CTX_free (contexts->hmac[slot].ctx);
  contexts->hmac[slot].ctx = EVP_MAC_CTX_new (hmac_algorithm ());
  if (contexts->hmac[slot].ctx == NULL ||
      EVP_MAC_init (contexts->hmac[slot].ctx, key, key_size, params) != 1)
    g_error ("HMAC-SHA256 failed");
  memcpy (contexts->hmac[slot].key, key, key_size);
  contexts->hmac[slot].key_size = key_size;
  return contexts->hmac[slot].ctx;
}

/**
 * coffer_aes_gcm_encrypt:
 * @key: a 256-bit key
 * @nonce: a nonce never used before with @key
 * @aad: (nullable): additional authenticated data
 * @aad_size: its size
 * @plain: the plaintext
 * @size: its size
 * @cipher: (out caller-allocates): @size bytes of ciphertext
 * @tag: (out caller-allocates): the authentication tag
 *
 * Returns: %FALSE only when OpenSSL fails
 */
gboolean
coffer_aes_gcm_encrypt (const guint8 key[32],
                        const guint8 nonce[COFFER_GCM_NONCE_SIZE],
                        const void *aad,
                        gsize aad_size,
                        const guint8 *plain,
                        gsize size,
                        guint8 *cipher,
                        guint8 tag[COFFER_GCM_TAG_SIZE])
{
  EVP_CIPHER_CTX *ctx = thread_contexts ()->gcm;
  int length = 0;
  int final_length = 0;
  gboolean ok;

  ok = EVP_EncryptInit_ex2 (ctx, gcm_cipher (), key, nonce, NULL) == 1 &&
       (aad_size == 0 || EVP_EncryptUpdate (ctx, NULL, &length, aad, aad_size) == 1) &&
       EVP_EncryptUpdate (ctx, cipher, &length, plain, size) == 1 &&
       EVP_EncryptFinal_ex (ctx, cipher + length, &final_length) == 1 &&
       (gsize) (length + final_length) == size &&
       EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_GET_TAG, COFFER_GCM_TAG_SIZE, tag) == 1;
  return ok;
}

/**
 * coffer_aes_gcm_decrypt:
 * @key: a 256-bit key
 * @nonce: the nonce it was sealed with
 * @aad: (nullable): additional authenticated data
 * @aad_size: its size
 * @cipher: the ciphertext
 * @size: its size
 * @tag: the authentication tag
 * @plain: (out caller-allocates): @size bytes of plaintext
 *
 * Returns: %FALSE when the tag does not match; @plain is then wiped
 */
gboolean
coffer_aes_gcm_decrypt (const guint8 key[32],
                        const guint8 nonce[COFFER_GCM_NONCE_SIZE],
                        const void *aad,
                        gsize aad_size,
                        const guint8 *cipher,
                        gsize size,
                        const guint8 tag[COFFER_GCM_TAG_SIZE],
                        guint8 *plain)
{
  EVP_CIPHER_CTX *ctx = thread_contexts ()->gcm;
  guint8 tag_copy[COFFER_GCM_TAG_SIZE];
  int length = 0;
  int final_length = 0;
  gboolean ok;

  memcpy (tag_copy, tag, sizeof tag_copy);
  ok = EVP_DecryptInit_ex2 (ctx, gcm_cipher (), key, nonce, NULL) == 1 &&
       (aad_size == 0 || EVP_DecryptUpdate (ctx, NULL, &length, aad, aad_size) == 1) &&
       EVP_DecryptUpdate (ctx, plain, &length, cipher, size) == 1 &&
       EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_SET_TAG, COFFER_GCM_TAG_SIZE, tag_copy) == 1 &&
       EVP_DecryptFinal_ex (ctx, plain + length, &final_length) == 1 &&
       (gsize) (length + final_length) == size;
  ERR_clear_error ();
  if (!ok)
    OPENSSL_cleanse (plain, size);
  return ok;
}

GBytes *
coffer_gcm_seal (const guint8 key[32], GBytes *plaintext, const void *aad, gsize aad_size)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (plaintext, &size);
  guint8 *out = g_malloc (COFFER_GCM_NONCE_SIZE + size + COFFER_GCM_TAG_SIZE);

  coffer_random_bytes (out, COFFER_GCM_NONCE_SIZE);
  if (!coffer_aes_gcm_encrypt (key, out, aad, aad_size, data, size, out + COFFER_GCM_NONCE_SIZE,
                               out + COFFER_GCM_NONCE_SIZE + size))
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
  gsize plain_size;

  if (size < COFFER_GCM_NONCE_SIZE + COFFER_GCM_TAG_SIZE)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT,
                   "it is too short to be encrypted data");
      return NULL;
    }

  plain_size = size - COFFER_GCM_NONCE_SIZE - COFFER_GCM_TAG_SIZE;
  out = g_malloc (plain_size + 1);
  if (!coffer_aes_gcm_decrypt (key, data, aad, aad_size, data + COFFER_GCM_NONCE_SIZE, plain_size,
                               data + size - COFFER_GCM_TAG_SIZE, out))
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
  EVP_MAC_CTX *ctx = thread_hmac (key, key_size);
  unsigned int length = 32;
  size_t written = 0;

  if (ctx == NULL)
    {
      if (HMAC (EVP_sha256 (), key, key_size, data, size, out, &length) == NULL)
        g_error ("HMAC-SHA256 failed");
      return;
    }
  if (EVP_MAC_update (ctx, data, size) != 1 || EVP_MAC_final (ctx, out, &written, 32) != 1 ||
      written != 32)
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

  coffer_random_bytes (random, bytes);
  for (gsize i = 0; i < bytes; i++)
    g_string_append_printf (text, "%02x", random[i]);
  return g_string_free (text, FALSE);
}

/**
 * coffer_sha256_hex:
 * @data: bytes
 * @size: how many
 *
 * SHA-256 through OpenSSL, which uses the processor's SHA instructions where
 * there are some (GLib's GChecksum does not: packs are hashed whole).
 *
 * Returns: (transfer full): the digest in lower-case hex
 */
char *
coffer_sha256_hex (const void *data, gsize size)
{
  static const char digits[] = "0123456789abcdef";
  guint8 digest[32];
  char *text = g_malloc (65);

  if (EVP_Digest (data, size, digest, NULL, EVP_sha256 (), NULL) != 1)
    g_error ("SHA-256 failed");
  for (gsize i = 0; i < sizeof digest; i++)
    {
      text[2 * i] = digits[digest[i] >> 4];
      text[2 * i + 1] = digits[digest[i] & 0xf];
    }
  text[64] = '\0';
  return text;
}

char *
coffer_sha256_hex_bytes (GBytes *bytes)
{
  gsize size;
  const void *data = g_bytes_get_data (bytes, &size);

  return coffer_sha256_hex (data, size);
}
