/* fuzz-blob.c: libFuzzer harness of coffer_blob_open() (FORMAT.md, "Blob").
 *
 * Input: a mode byte, then by mode (its value modulo 3):
 * - 0, a blob as found: the type byte, a u32 raw length, then the blob;
 * - 1, a payload to seal: version, flags and type bytes, a u32 raw length
 *   (taken modulo 4 MiB + 1, the largest chunk), then the payload, which the
 *   harness encrypts with the fixed keys under the id its plaintext has (the
 *   payload itself, or what zstd makes of it), so that the checks after the
 *   tag — version, flags, the zstd frame, the sizes, the id — are reached;
 * - 2, a plaintext: the type byte, then the plaintext, sealed by
 *   coffer_blob_seal() and opened again, which must give it back.
 */
#include "config.h"

#include "fuzz-common.h"

#include <string.h>

#include <zstd.h>

#define CHUNK_LIMIT (4 * 1024 * 1024)

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_init ();
  return 0;
}

static GBytes *
open_blob (const guint8 id[COFFER_BLOB_ID_SIZE], CofferBlobType type, GBytes *blob, gsize raw_size)
{
  g_autoptr (GError) error = NULL;
  gsize size;
  const guint8 *data = g_bytes_get_data (blob, &size);
  GBytes *plain = coffer_blob_open (fuzz_keys (), id, type, data, size, raw_size, &error);

  g_assert ((plain == NULL) != (error == NULL));
  if (plain != NULL)
    g_assert_cmpuint (g_bytes_get_size (plain), ==, raw_size);
  return plain;
}

static void
as_found (FuzzInput *input)
{
  CofferBlobType type = fuzz_take_u8 (input) % COFFER_BLOB_N_TYPES;
  guint32 raw_size = fuzz_take_u32 (input);
  g_autoptr (GBytes) blob = fuzz_take_rest (input);
  g_autoptr (GBytes) plain = NULL;
  guint8 id[COFFER_BLOB_ID_SIZE] = { 0 };

  plain = open_blob (id, type, blob, raw_size);
}

/* The id a sealed payload's plaintext has, when the harness can tell. */
static void
payload_id (const guint8 *payload, gsize size, guint8 flags, gsize raw_size, guint8 *id)
{
  g_autofree guint8 *plain = NULL;
  size_t written;

  if ((flags & 1) == 0)
    {
      coffer_blob_id (fuzz_keys (), payload, size, id);
      return;
    }
  plain = g_malloc (MAX (raw_size, 1));
  written = ZSTD_decompress (plain, raw_size, payload, size);
  coffer_blob_id (fuzz_keys (), plain, ZSTD_isError (written) ? 0 : written, id);
}

static void
sealed (FuzzInput *input)
{
  guint8 version = fuzz_take_u8 (input);
  guint8 flags = fuzz_take_u8 (input);
  CofferBlobType type = fuzz_take_u8 (input) % COFFER_BLOB_N_TYPES;
  guint32 raw_size = fuzz_take_u32 (input) % (CHUNK_LIMIT + 1);
  g_autoptr (GBytes) payload = fuzz_take_rest (input);
  g_autoptr (GBytes) blob = NULL;
  g_autoptr (GBytes) plain = NULL;
  guint8 id[COFFER_BLOB_ID_SIZE];
  guint8 key[32];
  guint8 aad[COFFER_BLOB_ID_SIZE + 3];
  guint8 prefix[2] = { version, flags };
  gsize size;
  const guint8 *data = g_bytes_get_data (payload, &size);

  payload_id (data, size, flags, raw_size, id);
  coffer_hmac_sha256 (fuzz_keys ()->encryption, COFFER_KEY_SIZE, id, sizeof id, key);
  memcpy (aad, id, sizeof id);
  aad[COFFER_BLOB_ID_SIZE] = type;
  aad[COFFER_BLOB_ID_SIZE + 1] = version;
  aad[COFFER_BLOB_ID_SIZE + 2] = flags;
  blob = fuzz_seal (key, aad, sizeof aad, prefix, sizeof prefix, data, size);
  plain = open_blob (id, type, blob, raw_size);
}

static void
round_trip (FuzzInput *input)
{
  CofferBlobType type = fuzz_take_u8 (input) % COFFER_BLOB_N_TYPES;
  g_autoptr (GBytes) plain = fuzz_take_rest (input);
  g_autoptr (GBytes) blob = NULL;
  g_autoptr (GBytes) opened = NULL;
  guint8 id[COFFER_BLOB_ID_SIZE];
  gsize size;
  const guint8 *data = g_bytes_get_data (plain, &size);

  coffer_blob_id (fuzz_keys (), data, size, id);
  blob = coffer_blob_seal (fuzz_keys (), id, type, data, size, 1);
  opened = open_blob (id, type, blob, size);
  if (opened == NULL || !g_bytes_equal (opened, plain))
    g_error ("A sealed blob does not open to its plaintext");
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  FuzzInput input = { data, size };

  switch (fuzz_take_u8 (&input) % 3)
    {
      case 0:
        as_found (&input);
        break;
      case 1:
        sealed (&input);
        break;
      default:
        round_trip (&input);
        break;
    }
  return 0;
}
