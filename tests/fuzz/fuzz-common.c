/* fuzz-common.c: what the libFuzzer harnesses share.
 *
 * The keys are fixed, so that a harness can seal its input the way a writer
 * would and reach the parser behind an authentication tag; the nonces are
 * zero, so that the same input always gives the same bytes. Nothing here is
 * how Coffer itself seals anything: the parsers under test never know.
 */
#include "config.h"

#include "fuzz-common.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

/* GLib ends a fatal message with SIGTRAP, which libFuzzer does not catch:
 * it would not keep the input. */
static void
trap_to_abort (int signum)
{
  abort ();
}

/**
 * fuzz_init:
 *
 * Makes a critical or warning fatal, so that an input that reaches a
 * g_return_if_fail() or a g_warning() in the library is a finding like a
 * crash, and makes every fatal message an abort, which libFuzzer reports
 * with the input.
 */
void
fuzz_init (void)
{
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  signal (SIGTRAP, trap_to_abort);
}

/**
 * fuzz_keys:
 *
 * Returns: (transfer none): the harnesses' master keys: bytes 0 to 95
 */
const CofferMasterKeys *
fuzz_keys (void)
{
  static CofferMasterKeys keys;
  static gsize done = 0;

  if (g_once_init_enter (&done))
    {
      for (guint i = 0; i < COFFER_KEY_SIZE; i++)
        {
          keys.encryption[i] = i;
          keys.chunk_id[i] = COFFER_KEY_SIZE + i;
          keys.chunker[i] = 2 * COFFER_KEY_SIZE + i;
        }
      g_once_init_leave (&done, 1);
    }
  return &keys;
}

/**
 * fuzz_derive:
 * @label: the label of a key (FORMAT.md): "coffer-index", "snapshot"…
 * @key: (out caller-allocates): HMAC-SHA256 (encryption key, @label)
 */
void
fuzz_derive (const char *label, guint8 key[32])
{
  coffer_hmac_sha256 (fuzz_keys ()->encryption, COFFER_KEY_SIZE, label, strlen (label), key);
}

/**
 * fuzz_seal:
 * @key: the key
 * @aad: the additional data
 * @aad_size: its size
 * @prefix: (nullable): bytes to put before the nonce (a version byte)
 * @prefix_size: their size
 * @plain: the plaintext
 * @size: its size
 *
 * Returns: (transfer full): @prefix, a zero nonce, @plain encrypted with
 *   AES-256-GCM, and the tag
 */
GBytes *
fuzz_seal (const guint8 key[32],
           const void *aad,
           gsize aad_size,
           const guint8 *prefix,
           gsize prefix_size,
           const guint8 *plain,
           gsize size)
{
  static const guint8 nonce[COFFER_GCM_NONCE_SIZE] = { 0 };
  gsize total = prefix_size + COFFER_GCM_NONCE_SIZE + size + COFFER_GCM_TAG_SIZE;
  guint8 *out = g_malloc (total);
  guint8 *cipher = out + prefix_size + COFFER_GCM_NONCE_SIZE;

  if (prefix_size > 0)
    memcpy (out, prefix, prefix_size);
  memcpy (out + prefix_size, nonce, sizeof nonce);
  if (!coffer_aes_gcm_encrypt (key, nonce, aad, aad_size, size > 0 ? plain : (const guint8 *) "",
                               size, cipher, cipher + size))
    g_error ("AES-256-GCM encryption failed");
  return g_bytes_new_take (out, total);
}

/**
 * fuzz_vault_json:
 *
 * Returns: (transfer full): a valid vault.json for %FUZZ_VAULT_ID
 */
GBytes *
fuzz_vault_json (void)
{
  static const char text[] = "{\n"
                             "  \"format\" : 1,\n"
                             "  \"min_reader_version\" : 1,\n"
                             "  \"vault_id\" : \"" FUZZ_VAULT_ID "\",\n"
                             "  \"name\" : \"fuzz\",\n"
                             "  \"region\" : \"local\",\n"
                             "  \"redundancy\" : \"local\",\n"
                             "  \"created\" : \"2026-11-21T09:30:00Z\"\n"
                             "}\n";

  return g_bytes_new_static (text, sizeof text - 1);
}

/**
 * fuzz_take_u8:
 * @input: an input
 *
 * Returns: its next byte, 0 at its end
 */
guint8
fuzz_take_u8 (FuzzInput *input)
{
  guint8 value;

  if (input->left == 0)
    return 0;
  value = input->data[0];
  input->data++;
  input->left--;
  return value;
}

/**
 * fuzz_take_u32:
 * @input: an input
 *
 * Returns: its next 4 bytes, little-endian (zeros past its end)
 */
guint32
fuzz_take_u32 (FuzzInput *input)
{
  guint32 value = 0;

  for (guint i = 0; i < 4; i++)
    value |= (guint32) fuzz_take_u8 (input) << (8 * i);
  return value;
}

/**
 * fuzz_take_rest:
 * @input: an input
 *
 * Returns: (transfer full): a copy of the bytes left (so that the sanitizer
 *   sees exactly their size), which are then taken
 */
GBytes *
fuzz_take_rest (FuzzInput *input)
{
  GBytes *rest = g_bytes_new (input->left > 0 ? input->data : NULL, input->left);

  input->data += input->left;
  input->left = 0;
  return rest;
}
