/* coffer-crypto.h: authenticated encryption and random ids, over OpenSSL. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define COFFER_GCM_NONCE_SIZE 12
#define COFFER_GCM_TAG_SIZE 16

void coffer_random_bytes (void *out, gsize size);
void coffer_random_nonce (void *out, gsize size);
gboolean coffer_aes_gcm_encrypt (const guint8 key[32],
                                 const guint8 nonce[COFFER_GCM_NONCE_SIZE],
                                 const void *aad,
                                 gsize aad_size,
                                 const guint8 *plain,
                                 gsize size,
                                 guint8 *cipher,
                                 guint8 tag[COFFER_GCM_TAG_SIZE]);
gboolean coffer_aes_gcm_decrypt (const guint8 key[32],
                                 const guint8 nonce[COFFER_GCM_NONCE_SIZE],
                                 const void *aad,
                                 gsize aad_size,
                                 const guint8 *cipher,
                                 gsize size,
                                 const guint8 tag[COFFER_GCM_TAG_SIZE],
                                 guint8 *plain);
GBytes *coffer_gcm_seal (const guint8 key[32], GBytes *plaintext, const void *aad, gsize aad_size);
GBytes *coffer_gcm_open (
    const guint8 key[32], GBytes *sealed, const void *aad, gsize aad_size, GError **error);
void coffer_hmac_sha256 (
    const guint8 *key, gsize key_size, const void *data, gsize size, guint8 out[32]);
char *coffer_random_hex (gsize bytes);
char *coffer_sha256_hex (const void *data, gsize size);
char *coffer_sha256_hex_bytes (GBytes *bytes);

G_END_DECLS
