/* coffer-pack.c: packs, the objects blobs are uploaded in, and their headers.
 *
 * A pack is `blob… | header | header length (4)` (FORMAT.md, "Pack"): sealed
 * blobs of one type, back to back, then an encrypted header listing each
 * blob's id, place and sizes, then the header's length. The header makes a
 * pack self-describing, so an index can be rebuilt from the packs alone. A
 * pack is named by the SHA-256 of its header and its blobs' tags, which
 * authenticate every other byte, and written once.
 *
 * Headers are read from a vault: every count, offset and length in them is
 * checked before it is used, and the blobs must tile the pack exactly, from
 * its first byte up to its header.
 */
#include "config.h"

#include "coffer-pack.h"

#include "coffer-crypto.h"
#include "coffer-error.h"
#include "coffer-le-private.h"
#include "coffer-store.h"

#include <stdarg.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

/* Format 1 named a pack by the SHA-256 of all its bytes; format 2 by the
 * SHA-256 of its header and its blobs' tags (see coffer_pack_compute_name()).
 * Both are read; format 2 is written. */
#define HEADER_VERSION 2
#define HEADER_VERSION_FULL_HASH 1
#define HEADER_KEY_LABEL "coffer-pack-header"
/* version | nonce | … | tag */
#define HEADER_OVERHEAD (1 + COFFER_GCM_NONCE_SIZE + COFFER_GCM_TAG_SIZE)
/* type | count */
#define HEADER_FIXED 5
/* id | offset | length | raw length */
#define HEADER_ENTRY_SIZE (COFFER_BLOB_ID_SIZE + 12)
#define HEADER_MIN_SIZE (HEADER_OVERHEAD + HEADER_FIXED + HEADER_ENTRY_SIZE)
/* version | header offset */
#define HEADER_AAD_SIZE 5
/* The most blob bytes a pack can hold and still fit in one object. */
#define MAX_BLOB_AREA (COFFER_STORE_MAX_OBJECT - COFFER_PACK_MAX_TAIL)

G_STATIC_ASSERT (COFFER_PACK_MAX_HEADER_SIZE ==
                 HEADER_OVERHEAD + HEADER_FIXED + HEADER_ENTRY_SIZE * COFFER_PACK_MAX_ENTRIES);
G_STATIC_ASSERT (COFFER_BLOB_MAX_SIZE + COFFER_BLOB_OVERHEAD + COFFER_PACK_TARGET_SIZE <=
                 MAX_BLOB_AREA);

struct _CofferPackWriter
{
  guint8 header_key[32];
  CofferBlobType type;
  CofferBufferPool *pool; /* nullable: where data comes from */
  guint8 *data;           /* the blobs, then the header when finished */
  gsize len;
  gsize capacity;
  GArray *entries; /* CofferPackEntry */
};

static void
derive_header_key (const CofferMasterKeys *keys, guint8 key[32])
{
  coffer_hmac_sha256 (keys->encryption, sizeof keys->encryption, HEADER_KEY_LABEL,
                      strlen (HEADER_KEY_LABEL), key);
}

static void
header_aad (guint8 version, guint32 header_offset, guint8 aad[HEADER_AAD_SIZE])
{
  aad[0] = version;
  coffer_put_le32 (aad + 1, header_offset);
}

static void set_corrupt (GError **error, const char *pack_name, const char *format, ...)
    G_GNUC_PRINTF (3, 4);

static void
set_corrupt (GError **error, const char *pack_name, const char *format, ...)
{
  g_autofree char *detail = NULL;
  va_list args;

  va_start (args, format);
  detail = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT, "pack %s: %s", pack_name, detail);
}

static void
writer_reset (CofferPackWriter *self)
{
  /* Room for a full pack, its last blob and its header, so that a pack is
   * not copied as it grows. */
  self->capacity = COFFER_PACK_BUFFER_SIZE;
  self->data =
      self->pool != NULL ? coffer_buffer_pool_take (self->pool) : g_malloc (self->capacity);
  self->len = 0;
  self->entries = g_array_new (FALSE, FALSE, sizeof (CofferPackEntry));
}

/* Gives the data buffer back to the pool it came from, unless it grew. */
static void
release_data (CofferPackWriter *self)
{
  if (self->pool != NULL && self->capacity == COFFER_PACK_BUFFER_SIZE)
    coffer_buffer_pool_give (self->pool, self->data);
  else
    g_free (self->data);
  self->data = NULL;
}

/* Makes room for @extra more bytes: only trees and large metadata blobs,
 * up to COFFER_BLOB_MAX_SIZE, can outgrow the buffer. */
static void
reserve (CofferPackWriter *self, gsize extra)
{
  if (self->len + extra <= self->capacity)
    return;
  self->capacity = MAX (self->capacity * 2, self->len + extra);
  self->data = g_realloc (self->data, self->capacity);
}

/**
 * coffer_pack_writer_new:
 * @keys: the machine's master keys
 * @type: the type of every blob the pack will hold
 * @pool: (nullable): buffers of %COFFER_PACK_BUFFER_SIZE bytes to gather
 *   packs in, shared by the writers of one backup
 *
 * Makes a writer that gathers sealed blobs into packs. Not thread-safe: one
 * thread (the packer) owns it.
 *
 * Returns: (transfer full): the writer
 */
CofferPackWriter *
coffer_pack_writer_new (const CofferMasterKeys *keys, CofferBlobType type, CofferBufferPool *pool)
{
  CofferPackWriter *self;

  g_return_val_if_fail (keys != NULL, NULL);
  g_return_val_if_fail ((guint) type < COFFER_BLOB_N_TYPES, NULL);
  g_return_val_if_fail (
      pool == NULL || coffer_buffer_pool_get_buffer_size (pool) == COFFER_PACK_BUFFER_SIZE, NULL);

  self = g_new0 (CofferPackWriter, 1);
  derive_header_key (keys, self->header_key);
  self->type = type;
  self->pool = pool != NULL ? coffer_buffer_pool_ref (pool) : NULL;
  writer_reset (self);
  return self;
}

/**
 * coffer_pack_writer_free:
 * @self: (nullable): a writer
 *
 * Frees @self and the blobs it holds, and wipes its key.
 */
void
coffer_pack_writer_free (CofferPackWriter *self)
{
  if (self == NULL)
    return;

  OPENSSL_cleanse (self->header_key, sizeof self->header_key);
  release_data (self);
  g_array_unref (self->entries);
  g_clear_pointer (&self->pool, coffer_buffer_pool_unref);
  g_free (self);
}

/**
 * coffer_pack_writer_add:
 * @self: a writer
 * @id: the blob's id
 * @sealed_blob: the blob, from coffer_blob_seal() with the writer's type
 * @raw_length: the blob's plaintext size
 *
 * Appends a blob. The caller finishes the pack once
 * coffer_pack_writer_is_full() says so; adding to a full pack is a
 * programming error.
 */
void
coffer_pack_writer_add (CofferPackWriter *self,
                        const guint8 id[COFFER_BLOB_ID_SIZE],
                        GBytes *sealed_blob,
                        guint32 raw_length)
{
  CofferPackEntry entry = { 0 };
  const guint8 *blob;
  gsize size;

  g_return_if_fail (self != NULL);
  g_return_if_fail (id != NULL);
  g_return_if_fail (sealed_blob != NULL);

  blob = g_bytes_get_data (sealed_blob, &size);
  g_return_if_fail (size >= COFFER_BLOB_OVERHEAD && size - COFFER_BLOB_OVERHEAD <= raw_length);
  g_return_if_fail (raw_length <= COFFER_BLOB_MAX_SIZE);
  g_return_if_fail (self->entries->len < COFFER_PACK_MAX_ENTRIES);
  g_return_if_fail (self->len <= MAX_BLOB_AREA - size);

  memcpy (entry.id, id, COFFER_BLOB_ID_SIZE);
  entry.type = self->type;
  entry.offset = self->len;
  entry.length = size;
  entry.raw_length = raw_length;
  g_array_append_val (self->entries, entry);
  reserve (self, size);
  memcpy (self->data + self->len, blob, size);
  self->len += size;
}

/**
 * coffer_pack_writer_get_size:
 * @self: a writer
 *
 * Returns: the bytes of the blobs added so far
 */
gsize
coffer_pack_writer_get_size (CofferPackWriter *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->len;
}

/**
 * coffer_pack_writer_get_count:
 * @self: a writer
 *
 * Returns: how many blobs were added so far
 */
guint
coffer_pack_writer_get_count (CofferPackWriter *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->entries->len;
}

/**
 * coffer_pack_writer_is_full:
 * @self: a writer
 *
 * Returns: %TRUE once the pack has reached %COFFER_PACK_TARGET_SIZE or
 *   %COFFER_PACK_MAX_ENTRIES blobs: it must be finished before more are added
 */
gboolean
coffer_pack_writer_is_full (CofferPackWriter *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->len >= COFFER_PACK_TARGET_SIZE || self->entries->len >= COFFER_PACK_MAX_ENTRIES;
}

/* The name of a format 2 pack: the SHA-256 of its tail (the header and its
 * length) followed by the tag, the last 16 bytes, of each blob in order. The
 * header lists every blob's id, place and size, and a blob's tag
 * authenticates its ciphertext: so the name still stands for every byte of
 * the pack, but hashing it costs a few kilobytes, not 16 MiB. */
static void
compute_name (const guint8 *data,
              gsize size,
              gsize header_offset,
              GArray *entries,
              char out_name[COFFER_PACK_NAME_LENGTH + 1])
{
  static const char digits[] = "0123456789abcdef";
  EVP_MD_CTX *ctx = EVP_MD_CTX_new ();
  guint8 digest[32];
  gboolean ok;

  ok = ctx != NULL && EVP_DigestInit_ex (ctx, EVP_sha256 (), NULL) == 1 &&
       EVP_DigestUpdate (ctx, data + header_offset, size - header_offset) == 1;
  for (guint i = 0; ok && i < entries->len; i++)
    {
      const CofferPackEntry *entry = &g_array_index (entries, CofferPackEntry, i);
      ok = EVP_DigestUpdate (ctx, data + entry->offset + entry->length - COFFER_GCM_TAG_SIZE,
                             COFFER_GCM_TAG_SIZE) == 1;
    }
  ok = ok && EVP_DigestFinal_ex (ctx, digest, NULL) == 1;
  EVP_MD_CTX_free (ctx);
  if (!ok)
    g_error ("SHA-256 failed");
  for (gsize i = 0; i < sizeof digest; i++)
    {
      out_name[2 * i] = digits[digest[i] >> 4];
      out_name[2 * i + 1] = digits[digest[i] & 0xf];
    }
  out_name[COFFER_PACK_NAME_LENGTH] = '\0';
}

/**
 * coffer_pack_writer_finish:
 * @self: a writer holding at least one blob
 * @out_name: (out caller-allocates): the pack's name (FORMAT.md, "Pack")
 * @out_entries: (out) (transfer full) (optional): the blobs it holds
 *   (element type #CofferPackEntry), for coffer_index_add_pack()
 *
 * Appends the encrypted header and its length. The writer is then empty and
 * can make the next pack.
 *
 * Returns: (transfer full): the pack's bytes
 */
GBytes *
coffer_pack_writer_finish (CofferPackWriter *self,
                           char out_name[COFFER_PACK_NAME_LENGTH + 1],
                           GArray **out_entries)
{
  g_autofree guint8 *plain = NULL;
  guint8 aad[HEADER_AAD_SIZE];
  guint32 header_offset;
  gsize plain_size;
  gsize header_size;
  guint8 *header;
  GBytes *pack;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (out_name != NULL, NULL);
  g_return_val_if_fail (self->entries->len > 0, NULL);

  plain_size = HEADER_FIXED + HEADER_ENTRY_SIZE * (gsize) self->entries->len;
  plain = g_malloc (plain_size);
  plain[0] = (guint8) self->type;
  coffer_put_le32 (plain + 1, self->entries->len);
  for (guint i = 0; i < self->entries->len; i++)
    {
      const CofferPackEntry *entry = &g_array_index (self->entries, CofferPackEntry, i);
      guint8 *out = plain + HEADER_FIXED + HEADER_ENTRY_SIZE * (gsize) i;

      memcpy (out, entry->id, COFFER_BLOB_ID_SIZE);
      coffer_put_le32 (out + COFFER_BLOB_ID_SIZE, entry->offset);
      coffer_put_le32 (out + COFFER_BLOB_ID_SIZE + 4, entry->length);
      coffer_put_le32 (out + COFFER_BLOB_ID_SIZE + 8, entry->raw_length);
    }

  header_offset = self->len;
  header_size = HEADER_OVERHEAD + plain_size;
  reserve (self, header_size + 4);
  self->len += header_size + 4;
  header = self->data + header_offset;
  header[0] = HEADER_VERSION;
  coffer_random_bytes (header + 1, COFFER_GCM_NONCE_SIZE);
  header_aad (HEADER_VERSION, header_offset, aad);
  if (!coffer_aes_gcm_encrypt (self->header_key, header + 1, aad, sizeof aad, plain, plain_size,
                               header + 1 + COFFER_GCM_NONCE_SIZE,
                               header + 1 + COFFER_GCM_NONCE_SIZE + plain_size))
    g_error ("AES-256-GCM encryption failed");
  coffer_put_le32 (header + header_size, header_size);

  compute_name (self->data, self->len, header_offset, self->entries, out_name);

  if (self->pool != NULL && self->capacity == COFFER_PACK_BUFFER_SIZE)
    pack = coffer_buffer_pool_wrap (self->pool, self->data, self->len);
  else
    pack = g_bytes_new_take (self->data, self->len);
  self->data = NULL;
  if (out_entries != NULL)
    *out_entries = self->entries;
  else
    g_array_unref (self->entries);
  writer_reset (self);
  return pack;
}

/* Reads a header length and checks it against the sizes a header can have;
 * returns 0 with *problem set otherwise. */
static guint32
read_header_length (const guint8 last4[4], char **problem)
{
  guint32 length = coffer_get_le32 (last4);

  if (length < HEADER_MIN_SIZE || length > COFFER_PACK_MAX_HEADER_SIZE)
    {
      *problem = g_strdup_printf ("its header length, %u bytes, is impossible", length);
      return 0;
    }
  return length;
}

/**
 * coffer_pack_header_length:
 * @last4: the last bytes of a pack (at least 4; only the last 4 are read)
 * @error: return location for an error
 *
 * Reads the header length a pack ends with, so that a reader knows how many
 * bytes of the pack's end to fetch for coffer_pack_read_header(). It is at
 * most %COFFER_PACK_MAX_HEADER_SIZE.
 *
 * Returns: the header's length, or 0 with %COFFER_ERROR_CORRUPT (the caller
 *   names the pack)
 */
guint32
coffer_pack_header_length (GBytes *last4, GError **error)
{
  g_autofree char *problem = NULL;
  const guint8 *data;
  guint32 length;
  gsize size;

  g_return_val_if_fail (last4 != NULL, 0);
  g_return_val_if_fail (error == NULL || *error == NULL, 0);

  data = g_bytes_get_data (last4, &size);
  if (size < 4)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT,
                   "it is %" G_GSIZE_FORMAT " bytes long, too short to be a pack", size);
      return 0;
    }
  length = read_header_length (data + size - 4, &problem);
  if (length == 0)
    g_set_error_literal (error, COFFER_ERROR, COFFER_ERROR_CORRUPT, problem);
  return length;
}

/* Checks a header's plaintext: one known type, a count that matches its size,
 * and blobs that tile the pack from byte 0 to the header. */
static GArray *
parse_header (const guint8 *plain, gsize plain_size, guint32 header_offset, char **problem)
{
  g_autoptr (GArray) entries = NULL;
  guint64 end = 0;
  guint32 count;
  guint8 type;

  if (plain_size < HEADER_FIXED)
    {
      *problem = g_strdup ("its header is too short");
      return NULL;
    }
  type = plain[0];
  count = coffer_get_le32 (plain + 1);
  if (type >= COFFER_BLOB_N_TYPES)
    {
      *problem = g_strdup_printf ("its header names an unknown blob type %u", type);
      return NULL;
    }
  if (count == 0 || count > COFFER_PACK_MAX_ENTRIES ||
      plain_size != HEADER_FIXED + HEADER_ENTRY_SIZE * (gsize) count)
    {
      *problem = g_strdup_printf ("its header's size does not match its count of %u blobs", count);
      return NULL;
    }

  entries = g_array_sized_new (FALSE, FALSE, sizeof (CofferPackEntry), count);
  for (guint32 i = 0; i < count; i++)
    {
      const guint8 *in = plain + HEADER_FIXED + HEADER_ENTRY_SIZE * (gsize) i;
      CofferPackEntry entry = { 0 };

      memcpy (entry.id, in, COFFER_BLOB_ID_SIZE);
      entry.type = type;
      entry.offset = coffer_get_le32 (in + COFFER_BLOB_ID_SIZE);
      entry.length = coffer_get_le32 (in + COFFER_BLOB_ID_SIZE + 4);
      entry.raw_length = coffer_get_le32 (in + COFFER_BLOB_ID_SIZE + 8);

      if (entry.offset < end)
        {
          *problem = g_strdup_printf ("blob %u of its header overlaps the one before it", i);
          return NULL;
        }
      if (entry.offset > end)
        {
          *problem = g_strdup_printf ("blob %u of its header leaves a gap before it", i);
          return NULL;
        }
      if (entry.length < COFFER_BLOB_OVERHEAD || entry.raw_length > COFFER_BLOB_MAX_SIZE ||
          entry.length - COFFER_BLOB_OVERHEAD > entry.raw_length)
        {
          *problem = g_strdup_printf ("blob %u of its header has impossible sizes", i);
          return NULL;
        }
      end = (guint64) entry.offset + entry.length;
      if (end > header_offset)
        {
          *problem = g_strdup_printf ("blob %u of its header runs past the header", i);
          return NULL;
        }
      g_array_append_val (entries, entry);
    }
  if (end != header_offset)
    {
      *problem = g_strdup_printf ("%" G_GUINT64_FORMAT " bytes before its header are in no blob",
                                  header_offset - end);
      return NULL;
    }
  return g_steal_pointer (&entries);
}

/**
 * coffer_pack_read_header:
 * @keys: the machine's master keys
 * @pack_name: the pack's name, for messages
 * @tail: the pack's last bytes: at least its header and the 4 bytes after it
 *   (at most min (@pack_size, %COFFER_PACK_MAX_TAIL) bytes are ever needed)
 * @pack_size: the pack's full size
 * @error: return location for an error
 *
 * Opens and checks a pack's header.
 *
 * Returns: (transfer full) (element-type CofferPackEntry): the blobs the pack
 *   holds, in order, or %NULL with %COFFER_ERROR_CORRUPT naming the pack
 *   (%COFFER_ERROR_NEWER_FORMAT for an intact header of a newer format;
 *   %COFFER_ERROR_INVALID_ARGUMENT when @tail is shorter than the header)
 */
GArray *
coffer_pack_read_header (const CofferMasterKeys *keys,
                         const char *pack_name,
                         GBytes *tail,
                         guint64 pack_size,
                         GError **error)
{
  g_autofree guint8 *plain = NULL;
  g_autofree char *problem = NULL;
  const guint8 *tail_data;
  const guint8 *header;
  guint8 key[32];
  guint8 aad[HEADER_AAD_SIZE];
  GArray *entries;
  guint32 header_size;
  guint32 header_offset;
  gsize plain_size;
  gsize tail_size;
  gboolean authentic;

  g_return_val_if_fail (keys != NULL, NULL);
  g_return_val_if_fail (pack_name != NULL, NULL);
  g_return_val_if_fail (tail != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  tail_data = g_bytes_get_data (tail, &tail_size);
  g_return_val_if_fail (tail_size <= pack_size, NULL);

  if (pack_size > COFFER_STORE_MAX_OBJECT)
    {
      set_corrupt (error, pack_name, "it is %" G_GUINT64_FORMAT " bytes long, larger than any pack",
                   pack_size);
      return NULL;
    }
  if (pack_size < HEADER_MIN_SIZE + 4)
    {
      set_corrupt (error, pack_name,
                   "it is %" G_GUINT64_FORMAT " bytes long, too short to be a pack", pack_size);
      return NULL;
    }
  if (tail_size < 4)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "pack %s: too few of its last bytes were read", pack_name);
      return NULL;
    }

  header_size = read_header_length (tail_data + tail_size - 4, &problem);
  if (header_size == 0)
    {
      set_corrupt (error, pack_name, "%s", problem);
      return NULL;
    }
  if (pack_size < (guint64) header_size + 4)
    {
      set_corrupt (error, pack_name, "it is truncated: it is shorter than its header says");
      return NULL;
    }
  if (tail_size < (gsize) header_size + 4)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "pack %s: too few of its last bytes were read (%" G_GSIZE_FORMAT
                   " of the %u its header needs)",
                   pack_name, tail_size, header_size + 4);
      return NULL;
    }

  header_offset = (guint32) (pack_size - header_size - 4);
  header = tail_data + tail_size - 4 - header_size;
  plain_size = header_size - HEADER_OVERHEAD;
  plain = g_malloc (plain_size);
  derive_header_key (keys, key);
  header_aad (header[0], header_offset, aad);
  authentic =
      coffer_aes_gcm_decrypt (key, header + 1, aad, sizeof aad, header + 1 + COFFER_GCM_NONCE_SIZE,
                              plain_size, header + 1 + COFFER_GCM_NONCE_SIZE + plain_size, plain);
  OPENSSL_cleanse (key, sizeof key);
  if (!authentic)
    {
      set_corrupt (error, pack_name,
                   "its header is damaged: its authentication tag does not match");
      return NULL;
    }

  if (header[0] > HEADER_VERSION)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_NEWER_FORMAT,
                   "pack %s was made by a newer version of Coffer (pack format %u)", pack_name,
                   header[0]);
      return NULL;
    }
  if (header[0] != HEADER_VERSION && header[0] != HEADER_VERSION_FULL_HASH)
    {
      set_corrupt (error, pack_name, "its header's format %u is unknown", header[0]);
      return NULL;
    }

  entries = parse_header (plain, plain_size, header_offset, &problem);
  if (entries == NULL)
    set_corrupt (error, pack_name, "%s", problem);
  return entries;
}

/**
 * coffer_pack_name_matches:
 * @pack_name: the name the pack is stored under
 * @pack: the whole pack
 * @entries: (element-type CofferPackEntry): its blobs, from
 *   coffer_pack_read_header() on the same bytes
 *
 * Whether the pack's bytes give its name: the SHA-256 of every byte for a
 * format 1 pack, of its header and blob tags for a format 2 one. Blobs
 * changed without their tags are caught when they are opened.
 *
 * Returns: %TRUE when the name matches
 */
gboolean
coffer_pack_name_matches (const char *pack_name, GBytes *pack, GArray *entries)
{
  char name[COFFER_PACK_NAME_LENGTH + 1];
  const guint8 *data;
  gsize size;
  gsize header_offset;

  g_return_val_if_fail (pack_name != NULL, FALSE);
  g_return_val_if_fail (pack != NULL, FALSE);
  g_return_val_if_fail (entries != NULL && entries->len > 0, FALSE);

  data = g_bytes_get_data (pack, &size);
  /* The header starts where the last blob ends (the reader checked). */
  {
    const CofferPackEntry *last = &g_array_index (entries, CofferPackEntry, entries->len - 1);
    header_offset = (gsize) last->offset + last->length;
  }
  g_return_val_if_fail (header_offset < size, FALSE);

  if (data[header_offset] == HEADER_VERSION_FULL_HASH)
    {
      g_autofree char *digest = coffer_sha256_hex (data, size);
      return g_str_equal (digest, pack_name);
    }
  compute_name (data, size, header_offset, entries, name);
  return g_str_equal (name, pack_name);
}

/**
 * coffer_pack_object_name:
 * @machine_id: the machine whose pack it is
 * @pack_name: the pack's name (64 hex digits)
 *
 * Returns: (transfer full): the pack's object name,
 *   `machines/ID/data/3f/3fa1…`
 */
char *
coffer_pack_object_name (const char *machine_id, const char *pack_name)
{
  g_return_val_if_fail (machine_id != NULL, NULL);
  g_return_val_if_fail (pack_name != NULL && strlen (pack_name) == COFFER_PACK_NAME_LENGTH, NULL);

  return g_strdup_printf ("machines/%s/data/%.2s/%s", machine_id, pack_name, pack_name);
}
