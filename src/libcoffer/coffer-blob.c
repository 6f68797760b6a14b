/* coffer-blob.c: chunk ids and encrypted blobs.
 *
 * A chunk's id is HMAC-SHA256(chunk id key, plaintext): keyed, so a vault
 * does not reveal which well-known files a machine holds. A blob is
 * `version | flags | nonce(12) | AES-256-GCM(payload) | tag(16)` (FORMAT.md,
 * "Blob"), the payload being the plaintext or its zstd frame. Each blob has
 * its own key, HMAC-SHA256(encryption key, id), and its additional data binds
 * the id, the type, the version and the flags, so a blob read under another
 * id or type, or with any bit changed, fails its tag.
 *
 * Sealing and opening run in one worker per core: every function here is
 * thread-safe, and each thread keeps its own zstd contexts (GPrivate) so they
 * are made once per thread, not once per blob.
 */
#include "config.h"

#include "coffer-blob.h"

#include "coffer-crypto.h"
#include "coffer-error.h"

#include <stdarg.h>
#include <string.h>

#include <openssl/crypto.h>
#include <zstd.h>

#define BLOB_VERSION 1
#define FLAG_ZSTD 0x01
#define NONCE_OFFSET 2
#define PAYLOAD_OFFSET (NONCE_OFFSET + COFFER_GCM_NONCE_SIZE)
/* id | type | version | flags */
#define AAD_SIZE (COFFER_BLOB_ID_SIZE + 3)

G_STATIC_ASSERT (COFFER_BLOB_OVERHEAD == PAYLOAD_OFFSET + COFFER_GCM_TAG_SIZE);

static void
free_cctx (gpointer cctx)
{
  ZSTD_freeCCtx (cctx);
}

static void
free_dctx (gpointer dctx)
{
  ZSTD_freeDCtx (dctx);
}

static GPrivate cctx_key = G_PRIVATE_INIT (free_cctx);
static GPrivate dctx_key = G_PRIVATE_INIT (free_dctx);

static ZSTD_CCtx *
thread_cctx (void)
{
  ZSTD_CCtx *cctx = g_private_get (&cctx_key);

  if (cctx == NULL)
    {
      cctx = ZSTD_createCCtx ();
      if (cctx == NULL)
        g_error ("Cannot make a zstd compression context: out of memory");
      g_private_set (&cctx_key, cctx);
    }
  return cctx;
}

static ZSTD_DCtx *
thread_dctx (void)
{
  ZSTD_DCtx *dctx = g_private_get (&dctx_key);

  if (dctx == NULL)
    {
      dctx = ZSTD_createDCtx ();
      if (dctx == NULL)
        g_error ("Cannot make a zstd decompression context: out of memory");
      g_private_set (&dctx_key, dctx);
    }
  return dctx;
}

static void
blob_key (const CofferMasterKeys *keys, const guint8 id[COFFER_BLOB_ID_SIZE], guint8 key[32])
{
  coffer_hmac_sha256 (keys->encryption, sizeof keys->encryption, id, COFFER_BLOB_ID_SIZE, key);
}

static void
blob_aad (const guint8 id[COFFER_BLOB_ID_SIZE],
          CofferBlobType type,
          guint8 version,
          guint8 flags,
          guint8 aad[AAD_SIZE])
{
  memcpy (aad, id, COFFER_BLOB_ID_SIZE);
  aad[COFFER_BLOB_ID_SIZE] = (guint8) type;
  aad[COFFER_BLOB_ID_SIZE + 1] = version;
  aad[COFFER_BLOB_ID_SIZE + 2] = flags;
}

static void
set_corrupt (GError **error, const guint8 id[COFFER_BLOB_ID_SIZE], const char *format, ...)
    G_GNUC_PRINTF (3, 4);

static void
set_corrupt (GError **error, const guint8 id[COFFER_BLOB_ID_SIZE], const char *format, ...)
{
  g_autofree char *hex = coffer_blob_id_to_hex (id);
  g_autofree char *detail = NULL;
  va_list args;

  va_start (args, format);
  detail = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT, "blob %s: %s", hex, detail);
}

/**
 * coffer_blob_id:
 * @keys: the machine's master keys
 * @data: a chunk's plaintext
 * @size: its size
 * @id: (out caller-allocates): its id, HMAC-SHA256(chunk id key, @data)
 */
void
coffer_blob_id (const CofferMasterKeys *keys,
                const void *data,
                gsize size,
                guint8 id[COFFER_BLOB_ID_SIZE])
{
  g_return_if_fail (keys != NULL);
  g_return_if_fail (data != NULL || size == 0);
  g_return_if_fail (id != NULL);

  coffer_hmac_sha256 (keys->chunk_id, sizeof keys->chunk_id, size > 0 ? data : "", size, id);
}

/* Whether @data looks like compressed or encrypted bytes, which zstd
 * cannot shrink: a chi-square test of the byte counts — of sixteen 512-byte
 * samples of a chunk of 16 KiB or more, of every byte of a smaller one (from
 * 1 KiB: below that the test says little, and zstd is quick). Random bytes
 * score about 255 whatever their number; below 600 (about 7.95 bits a byte)
 * zstd is not even tried. A block repeated within a small chunk raises the
 * score (twice 1 KiB scores about 510, four times about 1020), so only short
 * repeats of random data are stored as they are. On a copy of /usr/share this
 * skips the gzip files and icons and stores 0.03 % more than trying every
 * chunk. */
#define SAMPLE_WINDOWS 16
#define SAMPLE_WINDOW 512
#define SAMPLE_SIZE (SAMPLE_WINDOWS * SAMPLE_WINDOW)
#define SAMPLE_MIN_DATA (16 * 1024)
#define TEST_MIN_DATA 1024
#define SAMPLE_CHI_SQUARE 600

/* Adds the byte counts of @size bytes at @data to @counts. Four tables, one
 * for each byte of four, so that a run of one byte value does not wait for
 * its own previous increment: about three times as fast on text. */
static void
count_bytes (guint32 counts[4][256], const guint8 *data, gsize size)
{
  gsize i = 0;

  for (; i + 4 <= size; i += 4)
    {
      counts[0][data[i]]++;
      counts[1][data[i + 1]]++;
      counts[2][data[i + 2]]++;
      counts[3][data[i + 3]]++;
    }
  for (; i < size; i++)
    counts[0][data[i]]++;
}

static gboolean
looks_incompressible (const guint8 *data, gsize size)
{
  guint32 counts[4][256] = { { 0 } };
  guint64 squares = 0;
  guint64 counted;

  if (size < TEST_MIN_DATA)
    return FALSE;
  if (size < SAMPLE_MIN_DATA)
    {
      count_bytes (counts, data, size);
      counted = size;
    }
  else
    {
      for (guint w = 0; w < SAMPLE_WINDOWS; w++)
        count_bytes (counts, data + (size - SAMPLE_WINDOW) * w / (SAMPLE_WINDOWS - 1),
                     SAMPLE_WINDOW);
      counted = SAMPLE_SIZE;
    }
  for (guint b = 0; b < 256; b++)
    {
      guint64 count = (guint64) counts[0][b] + counts[1][b] + counts[2][b] + counts[3][b];

      squares += count * count;
    }
  /* chi² = 256 · Σ count² / N − N, kept in integers. */
  return squares * 256 < counted * (counted + SAMPLE_CHI_SQUARE);
}

/**
 * coffer_blob_seal:
 * @keys: the machine's master keys
 * @id: the plaintext's id (coffer_blob_id())
 * @type: what the plaintext is
 * @data: the plaintext, at most %COFFER_BLOB_MAX_SIZE bytes
 * @size: its size
 * @zstd_level: the zstd level to compress with
 *
 * Compresses @data (kept only when that makes it smaller, and not tried when
 * a sample of it looks random; the flag says which) and encrypts it with the blob's own key and a random nonce.
 *
 * Returns: (transfer full): the blob, %COFFER_BLOB_OVERHEAD bytes longer than
 *   its payload
 */
GBytes *
coffer_blob_seal (const CofferMasterKeys *keys,
                  const guint8 id[COFFER_BLOB_ID_SIZE],
                  CofferBlobType type,
                  const void *data,
                  gsize size,
                  int zstd_level)
{
  guint8 key[32];
  guint8 aad[AAD_SIZE];
  guint8 flags = 0;
  gsize payload_size = size;
  gsize total;
  guint8 *out;

  g_return_val_if_fail (keys != NULL, NULL);
  g_return_val_if_fail (id != NULL, NULL);
  g_return_val_if_fail ((guint) type < COFFER_BLOB_N_TYPES, NULL);
  g_return_val_if_fail (data != NULL || size == 0, NULL);
  g_return_val_if_fail (size <= COFFER_BLOB_MAX_SIZE, NULL);

  out = g_malloc (COFFER_BLOB_OVERHEAD + size);

  /* Compressed only when the frame fits in fewer bytes than the plaintext:
   * a smaller output buffer makes zstd give up on incompressible data. */
  if (size > 1 && !looks_incompressible (data, size))
    {
      size_t compressed = ZSTD_compressCCtx (thread_cctx (), out + PAYLOAD_OFFSET, size - 1, data,
                                             size, zstd_level);

      if (!ZSTD_isError (compressed))
        {
          payload_size = compressed;
          flags |= FLAG_ZSTD;
        }
    }
  if ((flags & FLAG_ZSTD) == 0 && size > 0)
    memcpy (out + PAYLOAD_OFFSET, data, size);

  out[0] = BLOB_VERSION;
  out[1] = flags;
  coffer_random_nonce (out + NONCE_OFFSET, COFFER_GCM_NONCE_SIZE);
  blob_key (keys, id, key);
  blob_aad (id, type, BLOB_VERSION, flags, aad);
  /* In place: OpenSSL's GCM allows the output to be the input. */
  if (!coffer_aes_gcm_encrypt (key, out + NONCE_OFFSET, aad, sizeof aad, out + PAYLOAD_OFFSET,
                               payload_size, out + PAYLOAD_OFFSET,
                               out + PAYLOAD_OFFSET + payload_size))
    g_error ("AES-256-GCM encryption failed");
  OPENSSL_cleanse (key, sizeof key);

  total = COFFER_BLOB_OVERHEAD + payload_size;
  if (payload_size < size)
    out = g_realloc (out, total);
  return g_bytes_new_take (out, total);
}

/* Decompresses exactly one zstd frame that says it holds @raw_size bytes and
 * does. Returns NULL with *problem set otherwise. */
static guint8 *
decompress (const guint8 *payload, gsize payload_size, gsize raw_size, const char **problem)
{
  g_autofree guint8 *out = NULL;
  size_t written;

  if (ZSTD_getFrameContentSize (payload, payload_size) != (unsigned long long) raw_size)
    {
      *problem = "its compressed data does not say it holds the expected size";
      return NULL;
    }
  if (ZSTD_findFrameCompressedSize (payload, payload_size) != payload_size)
    {
      *problem = "its compressed data is not exactly one zstd frame";
      return NULL;
    }

  out = g_malloc (raw_size);
  written = ZSTD_decompressDCtx (thread_dctx (), out, raw_size, payload, payload_size);
  if (ZSTD_isError (written) || written != raw_size)
    {
      *problem = "its compressed data cannot be decompressed";
      return NULL;
    }
  return g_steal_pointer (&out);
}

/**
 * coffer_blob_open:
 * @keys: the machine's master keys
 * @id: the id the blob was stored under
 * @type: the type it was stored as
 * @blob: the sealed blob
 * @size: its size
 * @raw_size: the plaintext's size, as the index records it
 * @error: return location for an error
 *
 * Checks and opens a blob: its tag, its format, its payload's size (a
 * compressed payload is decompressed into exactly @raw_size bytes, never
 * more) and finally that the plaintext's id is @id.
 *
 * Returns: (transfer full): the plaintext, or %NULL with
 *   %COFFER_ERROR_CORRUPT naming the blob (%COFFER_ERROR_NEWER_FORMAT for an
 *   intact blob of a newer format)
 */
GBytes *
coffer_blob_open (const CofferMasterKeys *keys,
                  const guint8 id[COFFER_BLOB_ID_SIZE],
                  CofferBlobType type,
                  const void *blob,
                  gsize size,
                  gsize raw_size,
                  GError **error)
{
  const guint8 *bytes = blob;
  g_autofree guint8 *payload = NULL;
  g_autofree guint8 *plain = NULL;
  const char *problem = NULL;
  guint8 key[32];
  guint8 aad[AAD_SIZE];
  guint8 actual[COFFER_BLOB_ID_SIZE];
  gsize payload_size;
  gboolean authentic;
  guint8 version;
  guint8 flags;

  g_return_val_if_fail (keys != NULL, NULL);
  g_return_val_if_fail (id != NULL, NULL);
  g_return_val_if_fail ((guint) type < COFFER_BLOB_N_TYPES, NULL);
  g_return_val_if_fail (blob != NULL || size == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (size < COFFER_BLOB_OVERHEAD)
    {
      set_corrupt (error, id, "it is %" G_GSIZE_FORMAT " bytes long, too short to be a blob", size);
      return NULL;
    }
  if (raw_size > COFFER_BLOB_MAX_SIZE)
    {
      set_corrupt (error, id,
                   "its recorded size, %" G_GSIZE_FORMAT " bytes, is larger than any blob",
                   raw_size);
      return NULL;
    }
  /* Stored raw, the payload is the plaintext; compressed, it is smaller. */
  payload_size = size - COFFER_BLOB_OVERHEAD;
  if (payload_size > raw_size)
    {
      set_corrupt (error, id,
                   "it holds %" G_GSIZE_FORMAT
                   " bytes, more than its recorded size of %" G_GSIZE_FORMAT,
                   payload_size, raw_size);
      return NULL;
    }

  version = bytes[0];
  flags = bytes[1];
  payload = g_malloc (payload_size + 1);
  blob_key (keys, id, key);
  blob_aad (id, type, version, flags, aad);
  authentic =
      coffer_aes_gcm_decrypt (key, bytes + NONCE_OFFSET, aad, sizeof aad, bytes + PAYLOAD_OFFSET,
                              payload_size, bytes + PAYLOAD_OFFSET + payload_size, payload);
  OPENSSL_cleanse (key, sizeof key);
  if (!authentic)
    {
      set_corrupt (error, id, "it is damaged: its authentication tag does not match");
      return NULL;
    }

  /* Only an authentic blob tells a newer format from damage. */
  if (version > BLOB_VERSION)
    {
      g_autofree char *hex = coffer_blob_id_to_hex (id);

      g_set_error (error, COFFER_ERROR, COFFER_ERROR_NEWER_FORMAT,
                   "blob %s was made by a newer version of Coffer (blob format %u)", hex, version);
      return NULL;
    }
  if (version != BLOB_VERSION)
    {
      set_corrupt (error, id, "its format %u is unknown", version);
      return NULL;
    }
  if ((flags & ~FLAG_ZSTD) != 0)
    {
      set_corrupt (error, id, "its flags 0x%02x are unknown", flags);
      return NULL;
    }

  if ((flags & FLAG_ZSTD) != 0)
    {
      if (payload_size == raw_size)
        {
          set_corrupt (error, id, "it is marked compressed but is not smaller than its plaintext");
          return NULL;
        }
      plain = decompress (payload, payload_size, raw_size, &problem);
      if (plain == NULL)
        {
          set_corrupt (error, id, "%s", problem);
          return NULL;
        }
    }
  else if (payload_size != raw_size)
    {
      set_corrupt (error, id,
                   "it holds %" G_GSIZE_FORMAT " bytes where %" G_GSIZE_FORMAT " were expected",
                   payload_size, raw_size);
      return NULL;
    }
  else
    {
      plain = g_steal_pointer (&payload);
    }

  coffer_blob_id (keys, plain, raw_size, actual);
  if (CRYPTO_memcmp (actual, id, COFFER_BLOB_ID_SIZE) != 0)
    {
      set_corrupt (error, id, "its content does not match its id");
      return NULL;
    }
  return g_bytes_new_take (g_steal_pointer (&plain), raw_size);
}

/**
 * coffer_blob_id_to_hex:
 * @id: a 32-byte id (a chunk id, a pack id)
 *
 * Returns: (transfer full): @id as 64 lower-case hex digits
 */
char *
coffer_blob_id_to_hex (const guint8 id[COFFER_BLOB_ID_SIZE])
{
  static const char digits[] = "0123456789abcdef";
  char *hex;

  g_return_val_if_fail (id != NULL, NULL);

  hex = g_malloc (2 * COFFER_BLOB_ID_SIZE + 1);
  for (gsize i = 0; i < COFFER_BLOB_ID_SIZE; i++)
    {
      hex[2 * i] = digits[id[i] >> 4];
      hex[2 * i + 1] = digits[id[i] & 0xf];
    }
  hex[2 * COFFER_BLOB_ID_SIZE] = '\0';
  return hex;
}

/**
 * coffer_blob_id_from_hex:
 * @hex: 64 hex digits (either case)
 * @id: (out caller-allocates): the id
 *
 * Returns: %FALSE, leaving @id untouched, when @hex is not exactly 64 hex
 *   digits
 */
gboolean
coffer_blob_id_from_hex (const char *hex, guint8 id[COFFER_BLOB_ID_SIZE])
{
  guint8 parsed[COFFER_BLOB_ID_SIZE];

  g_return_val_if_fail (hex != NULL, FALSE);
  g_return_val_if_fail (id != NULL, FALSE);

  for (gsize i = 0; i < COFFER_BLOB_ID_SIZE; i++)
    {
      int high, low;

      /* A NUL is not a digit, so a short string stops here. */
      high = g_ascii_xdigit_value (hex[2 * i]);
      if (high < 0)
        return FALSE;
      low = g_ascii_xdigit_value (hex[2 * i + 1]);
      if (low < 0)
        return FALSE;
      parsed[i] = (guint8) (high << 4 | low);
    }
  if (hex[2 * COFFER_BLOB_ID_SIZE] != '\0')
    return FALSE;

  memcpy (id, parsed, sizeof parsed);
  return TRUE;
}

/**
 * coffer_blob_id_hash:
 * @id: (type guint8): a blob id, %COFFER_BLOB_ID_SIZE bytes
 *
 * A #GHashFunc for blob ids: they are already uniformly random.
 */
guint
coffer_blob_id_hash (gconstpointer id)
{
  guint hash;

  memcpy (&hash, id, sizeof hash);
  return hash;
}

/**
 * coffer_blob_id_equal:
 * @a: a blob id
 * @b: another
 *
 * A #GEqualFunc for blob ids.
 */
gboolean
coffer_blob_id_equal (gconstpointer a, gconstpointer b)
{
  return memcmp (a, b, COFFER_BLOB_ID_SIZE) == 0;
}
