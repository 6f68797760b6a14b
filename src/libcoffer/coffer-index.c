/* coffer-index.c: which pack holds each blob, in memory and in index files.
 *
 * The in-memory index answers "is this chunk stored, and where?" for every
 * chunk a backup reads, from one worker per core, while the packer adds the
 * packs it uploads: a GRWLock lets many readers in at once and one writer.
 *
 * It must hold millions of entries, so it is compact: each blob is a 48-byte
 * record (id, pack number, type, pending flag, offset, lengths) in chunks of
 * 32,768 records, and an open-addressing table of 32-bit record numbers
 * (linear probing, at most 3/4 full) finds them by id. Pack ids are interned
 * once and referred to by number. That is 48 bytes a record, 5.3 to 10.7
 * bytes of table (depending on how recently it doubled) and about 80 bytes a
 * pack: a million blobs in packs of 16 take 63 MB, 63 bytes a blob.
 *
 * The packs added since the last index file was written are "pending" until
 * coffer_index_take_pending() turns them into index files (FORMAT.md, "Index
 * file"): encrypted, at most 8 MiB each, grouped by pack. Index files are
 * read back from the vault, so coffer_index_load_file() checks every byte of
 * one before it changes the index at all.
 */
#include "config.h"

#include "coffer-index.h"

#include "coffer-crypto.h"
#include "coffer-error.h"
#include "coffer-le-private.h"
#include "coffer-pack.h"
#include "coffer-store.h"

#include <stdarg.h>
#include <string.h>

#include <openssl/crypto.h>

#define FILE_VERSION 1
#define FILE_KEY_LABEL "coffer-index"
/* version | nonce | … | tag */
#define FILE_OVERHEAD (1 + COFFER_GCM_NONCE_SIZE + COFFER_GCM_TAG_SIZE)
#define MAX_PLAIN_SIZE (COFFER_INDEX_MAX_FILE_SIZE - FILE_OVERHEAD)
/* pack id | type | count */
#define GROUP_HEADER_SIZE (COFFER_BLOB_ID_SIZE + 5)
/* id | offset | length | raw length */
#define ENTRY_SIZE (COFFER_BLOB_ID_SIZE + 12)

#define CHUNK_BITS 15
#define CHUNK_RECORDS (1u << CHUNK_BITS)
#define MIN_SLOTS 1024
/* Far beyond what memory allows (48 GiB of records), and below the 2^32 a
 * slot can name. */
#define MAX_RECORDS (1u << 30)

/* Record.info: the pack's number, the blob's type and the pending flag. */
#define INFO_PACK_MASK 0x0fffffffu
#define INFO_TYPE_SHIFT 28
#define INFO_TYPE_MASK 0x3u
#define INFO_PENDING 0x80000000u

G_STATIC_ASSERT (COFFER_BLOB_N_TYPES <= INFO_TYPE_MASK + 1);

typedef struct
{
  guint8 id[COFFER_BLOB_ID_SIZE];
  guint32 info;
  guint32 offset;
  guint32 length;
  guint32 raw_length;
} Record;

G_STATIC_ASSERT (sizeof (Record) == 48);

typedef struct
{
  guint8 id[COFFER_BLOB_ID_SIZE];
  guint32 number;
} Pack;

struct _CofferIndex
{
  GObject parent_instance;

  GRWLock lock;
  GMutex turnstile;  /* held by a writer waiting for the lock */
  GPtrArray *chunks; /* Record[CHUNK_RECORDS] each */
  guint32 n_records;
  guint32 *slots;           /* 0: empty; otherwise a record's number + 1 */
  gsize n_slots;            /* 0 or a power of two */
  GPtrArray *packs;         /* Pack *, by number; owned */
  GHashTable *pack_numbers; /* Pack.id → Pack * */
  guint32 first_pending;    /* no record before this one is pending */
  guint32 n_pending;
};

G_DEFINE_FINAL_TYPE (CofferIndex, coffer_index, G_TYPE_OBJECT)

static guint
pack_id_hash (gconstpointer key)
{
  guint32 hash;

  /* Pack ids are SHA-256 digests: any four bytes are a good hash. */
  memcpy (&hash, key, sizeof hash);
  return hash;
}

static gboolean
pack_id_equal (gconstpointer a, gconstpointer b)
{
  return memcmp (a, b, COFFER_BLOB_ID_SIZE) == 0;
}

static void
coffer_index_finalize (GObject *object)
{
  CofferIndex *self = COFFER_INDEX (object);

  g_ptr_array_unref (self->chunks);
  g_free (self->slots);
  g_hash_table_unref (self->pack_numbers);
  for (guint i = 0; i < self->packs->len; i++)
    g_free (g_ptr_array_index (self->packs, i));
  g_ptr_array_unref (self->packs);
  g_rw_lock_clear (&self->lock);
  g_mutex_clear (&self->turnstile);

  G_OBJECT_CLASS (coffer_index_parent_class)->finalize (object);
}

static void
coffer_index_class_init (CofferIndexClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = coffer_index_finalize;
}

static void
coffer_index_init (CofferIndex *self)
{
  g_rw_lock_init (&self->lock);
  g_mutex_init (&self->turnstile);
  self->chunks = g_ptr_array_new_with_free_func (g_free);
  self->packs = g_ptr_array_new ();
  self->pack_numbers = g_hash_table_new (pack_id_hash, pack_id_equal);
}

/**
 * coffer_index_new:
 *
 * Makes an empty index. It is thread-safe: lookups from any number of
 * threads may run while one thread adds packs or loads files.
 *
 * Returns: (transfer full): the index
 */
CofferIndex *
coffer_index_new (void)
{
  return g_object_new (COFFER_TYPE_INDEX, NULL);
}

/* GRWLock lets readers in while a writer waits: with lookups back to back
 * (checking every chunk of every unchanged file), the packer could wait for
 * ever. A writer holds the turnstile while it waits, so no new reader passes
 * until it has had its turn. */
static void
read_lock (CofferIndex *self)
{
  g_mutex_lock (&self->turnstile);
  g_mutex_unlock (&self->turnstile);
  g_rw_lock_reader_lock (&self->lock);
}

static void
read_unlock (CofferIndex *self)
{
  g_rw_lock_reader_unlock (&self->lock);
}

static void
write_lock (CofferIndex *self)
{
  g_mutex_lock (&self->turnstile);
  g_rw_lock_writer_lock (&self->lock);
  g_mutex_unlock (&self->turnstile);
}

static void
write_unlock (CofferIndex *self)
{
  g_rw_lock_writer_unlock (&self->lock);
}

static inline Record *
record_at (CofferIndex *self, guint32 number)
{
  Record *chunk = g_ptr_array_index (self->chunks, number >> CHUNK_BITS);

  return &chunk[number & (CHUNK_RECORDS - 1)];
}

static inline gsize
first_slot (const guint8 id[COFFER_BLOB_ID_SIZE], gsize mask)
{
  guint64 hash;

  /* Chunk ids are HMAC-SHA256 outputs: their bytes are already uniform. */
  memcpy (&hash, id, sizeof hash);
  return (gsize) hash & mask;
}

/* Returns @id's record, or NULL with *out_slot (when given) the empty slot
 * where it belongs. */
static Record *
find (CofferIndex *self, const guint8 id[COFFER_BLOB_ID_SIZE], gsize *out_slot)
{
  gsize mask;

  if (self->n_slots == 0)
    return NULL;

  mask = self->n_slots - 1;
  /* Ends: the table is never more than 3/4 full. */
  for (gsize i = first_slot (id, mask);; i = (i + 1) & mask)
    {
      guint32 slot = self->slots[i];
      Record *record;

      if (slot == 0)
        {
          if (out_slot != NULL)
            *out_slot = i;
          return NULL;
        }
      record = record_at (self, slot - 1);
      if (memcmp (record->id, id, COFFER_BLOB_ID_SIZE) == 0)
        return record;
    }
}

static gsize
slots_for (gsize n_records)
{
  gsize n_slots = MIN_SLOTS;

  while (n_slots / 4 * 3 < n_records)
    n_slots *= 2;
  return n_slots;
}

/* Rehashes every record into a table with room for @capacity records (none
 * for 0). */
static void
rebuild_slots (CofferIndex *self, gsize capacity)
{
  gsize mask;

  g_clear_pointer (&self->slots, g_free);
  self->n_slots = 0;
  if (capacity == 0)
    return;

  self->n_slots = slots_for (capacity);
  self->slots = g_new0 (guint32, self->n_slots);
  mask = self->n_slots - 1;
  for (guint32 r = 0; r < self->n_records; r++)
    {
      gsize i = first_slot (record_at (self, r)->id, mask);

      while (self->slots[i] != 0)
        i = (i + 1) & mask;
      self->slots[i] = r + 1;
    }
}

static guint32
intern_pack (CofferIndex *self, const guint8 id[COFFER_BLOB_ID_SIZE])
{
  Pack *pack = g_hash_table_lookup (self->pack_numbers, id);

  if (pack != NULL)
    return pack->number;

  if (self->packs->len > INFO_PACK_MASK)
    g_error ("The index cannot name more than %u packs", INFO_PACK_MASK + 1);
  pack = g_new (Pack, 1);
  memcpy (pack->id, id, COFFER_BLOB_ID_SIZE);
  pack->number = self->packs->len;
  g_ptr_array_add (self->packs, pack);
  g_hash_table_add (self->pack_numbers, pack);
  return pack->number;
}

/* Adds a record for @id unless the index has one (the first location of a
 * blob wins). Called with the writer lock held. */
static void
insert (CofferIndex *self,
        const guint8 id[COFFER_BLOB_ID_SIZE],
        const guint8 pack[COFFER_BLOB_ID_SIZE],
        guint type,
        gboolean pending,
        guint32 offset,
        guint32 length,
        guint32 raw_length)
{
  Record *record;
  gsize slot = 0;

  if (find (self, id, &slot) != NULL)
    return;

  if (self->n_records >= MAX_RECORDS)
    g_error ("The index cannot hold more than %u blobs", MAX_RECORDS);
  if ((gsize) self->n_records + 1 > self->n_slots / 4 * 3)
    {
      rebuild_slots (self, (gsize) self->n_records + 1);
      find (self, id, &slot);
    }
  if ((self->n_records >> CHUNK_BITS) == self->chunks->len)
    g_ptr_array_add (self->chunks, g_new (Record, CHUNK_RECORDS));

  record = record_at (self, self->n_records);
  memcpy (record->id, id, COFFER_BLOB_ID_SIZE);
  record->info = intern_pack (self, pack) | (guint32) type << INFO_TYPE_SHIFT;
  record->offset = offset;
  record->length = length;
  record->raw_length = raw_length;
  if (pending)
    {
      record->info |= INFO_PENDING;
      if (self->n_pending == 0)
        self->first_pending = self->n_records;
      self->n_pending++;
    }
  self->slots[slot] = self->n_records + 1;
  self->n_records++;
}

/**
 * coffer_index_add_pack:
 * @self: an index
 * @pack: the pack's id (its name, as bytes)
 * @entries: (element-type CofferPackEntry): the blobs it holds
 *
 * Records where the blobs of an uploaded pack are. A blob the index already
 * knows keeps its first location. The new entries are pending: the next
 * coffer_index_take_pending() writes them to an index file.
 */
void
coffer_index_add_pack (CofferIndex *self, const guint8 pack[COFFER_BLOB_ID_SIZE], GArray *entries)
{
  g_return_if_fail (COFFER_IS_INDEX (self));
  g_return_if_fail (pack != NULL);
  g_return_if_fail (entries != NULL);
  g_return_if_fail (g_array_get_element_size (entries) == sizeof (CofferPackEntry));

  write_lock (self);
  for (guint i = 0; i < entries->len; i++)
    {
      const CofferPackEntry *entry = &g_array_index (entries, CofferPackEntry, i);

      if (entry->type >= COFFER_BLOB_N_TYPES)
        {
          g_critical ("%s: blob %u has the unknown type %u", G_STRFUNC, i, entry->type);
          continue;
        }
      insert (self, entry->id, pack, entry->type, TRUE, entry->offset, entry->length,
              entry->raw_length);
    }
  write_unlock (self);
}

/**
 * coffer_index_lookup:
 * @self: an index
 * @id: a blob's id
 * @out: (out caller-allocates) (optional): where the blob is
 *
 * Returns: whether the index knows @id
 */
gboolean
coffer_index_lookup (CofferIndex *self,
                     const guint8 id[COFFER_BLOB_ID_SIZE],
                     CofferBlobLocation *out)
{
  const Record *record;

  g_return_val_if_fail (COFFER_IS_INDEX (self), FALSE);
  g_return_val_if_fail (id != NULL, FALSE);

  read_lock (self);
  record = find (self, id, NULL);
  if (record != NULL && out != NULL)
    {
      const Pack *pack = g_ptr_array_index (self->packs, record->info & INFO_PACK_MASK);

      memcpy (out->pack, pack->id, COFFER_BLOB_ID_SIZE);
      out->type = (record->info >> INFO_TYPE_SHIFT) & INFO_TYPE_MASK;
      out->offset = record->offset;
      out->length = record->length;
      out->raw_length = record->raw_length;
    }
  read_unlock (self);
  return record != NULL;
}

/**
 * coffer_index_contains:
 * @self: an index
 * @id: a blob's id
 *
 * Returns: whether the index knows @id
 */
gboolean
coffer_index_contains (CofferIndex *self, const guint8 id[COFFER_BLOB_ID_SIZE])
{
  return coffer_index_lookup (self, id, NULL);
}

/**
 * coffer_index_get_size:
 * @self: an index
 *
 * Returns: how many blobs the index knows
 */
guint
coffer_index_get_size (CofferIndex *self)
{
  guint size;

  g_return_val_if_fail (COFFER_IS_INDEX (self), 0);

  read_lock (self);
  size = self->n_records;
  read_unlock (self);
  return size;
}

/**
 * coffer_index_get_pending:
 * @self: an index
 *
 * Returns: how many blobs were added since the last
 *   coffer_index_take_pending()
 */
guint
coffer_index_get_pending (CofferIndex *self)
{
  guint pending;

  g_return_val_if_fail (COFFER_IS_INDEX (self), 0);

  read_lock (self);
  pending = self->n_pending;
  read_unlock (self);
  return pending;
}

static void
derive_file_key (const CofferMasterKeys *keys, guint8 key[32])
{
  coffer_hmac_sha256 (keys->encryption, sizeof keys->encryption, FILE_KEY_LABEL,
                      strlen (FILE_KEY_LABEL), key);
}

/* Closes an index file's plaintext: its first 4 bytes count its groups. */
static void
finish_plain (GPtrArray *plains, GByteArray *plain, guint32 n_groups)
{
  coffer_put_le32 (plain->data, n_groups);
  g_ptr_array_add (plains, plain);
}

/* Turns the pending records into the plaintexts of index files, each small
 * enough for COFFER_INDEX_MAX_FILE_SIZE, and clears their pending flag.
 * Called with the writer lock held. */
static void
collect_pending (CofferIndex *self, GPtrArray *plains)
{
  GByteArray *plain = NULL;
  guint32 n_groups = 0;
  guint32 group_pack = 0;
  guint32 group_type = 0;
  guint32 group_count = 0;
  gsize group_at = 0;

  for (guint32 r = self->first_pending; r < self->n_records && self->n_pending > 0; r++)
    {
      Record *record = record_at (self, r);
      guint8 entry[ENTRY_SIZE];
      gboolean new_group;
      guint32 pack;
      guint32 type;

      if ((record->info & INFO_PENDING) == 0)
        continue;
      record->info &= ~INFO_PENDING;
      self->n_pending--;

      pack = record->info & INFO_PACK_MASK;
      type = (record->info >> INFO_TYPE_SHIFT) & INFO_TYPE_MASK;
      new_group = plain == NULL || pack != group_pack || type != group_type;
      if (plain != NULL &&
          plain->len + ENTRY_SIZE + (new_group ? GROUP_HEADER_SIZE : 0) > MAX_PLAIN_SIZE)
        {
          finish_plain (plains, plain, n_groups);
          plain = NULL;
          new_group = TRUE;
        }
      if (plain == NULL)
        {
          plain = g_byte_array_new ();
          g_byte_array_set_size (plain, 4);
          n_groups = 0;
        }
      if (new_group)
        {
          const Pack *pack_id = g_ptr_array_index (self->packs, pack);
          guint8 header[GROUP_HEADER_SIZE];

          memcpy (header, pack_id->id, COFFER_BLOB_ID_SIZE);
          header[COFFER_BLOB_ID_SIZE] = type;
          coffer_put_le32 (header + COFFER_BLOB_ID_SIZE + 1, 0);
          group_at = plain->len;
          g_byte_array_append (plain, header, sizeof header);
          group_pack = pack;
          group_type = type;
          group_count = 0;
          n_groups++;
        }

      memcpy (entry, record->id, COFFER_BLOB_ID_SIZE);
      coffer_put_le32 (entry + COFFER_BLOB_ID_SIZE, record->offset);
      coffer_put_le32 (entry + COFFER_BLOB_ID_SIZE + 4, record->length);
      coffer_put_le32 (entry + COFFER_BLOB_ID_SIZE + 8, record->raw_length);
      g_byte_array_append (plain, entry, sizeof entry);
      group_count++;
      coffer_put_le32 (plain->data + group_at + COFFER_BLOB_ID_SIZE + 1, group_count);
    }
  if (plain != NULL)
    finish_plain (plains, plain, n_groups);

  g_assert (self->n_pending == 0);
  self->first_pending = self->n_records;
}

static GBytes *
seal_file (const guint8 key[32], GByteArray *plain)
{
  gsize size = FILE_OVERHEAD + plain->len;
  guint8 *out = g_malloc (size);
  guint8 version = FILE_VERSION;

  out[0] = FILE_VERSION;
  coffer_random_bytes (out + 1, COFFER_GCM_NONCE_SIZE);
  if (!coffer_aes_gcm_encrypt (key, out + 1, &version, 1, plain->data, plain->len,
                               out + 1 + COFFER_GCM_NONCE_SIZE,
                               out + 1 + COFFER_GCM_NONCE_SIZE + plain->len))
    g_error ("AES-256-GCM encryption failed");
  return g_bytes_new_take (out, size);
}

/**
 * coffer_index_take_pending:
 * @self: an index
 * @keys: the machine's master keys
 *
 * Writes the pending entries into encrypted index files of at most
 * %COFFER_INDEX_MAX_FILE_SIZE bytes each; they are no longer pending. Each
 * file's object name is coffer_index_object_name() of
 * coffer_index_file_name(). When an upload fails, the caller must not assume
 * the entries will be written again: the packs they name stay unreferenced
 * until a later backup stores their blobs anew.
 *
 * Returns: (transfer full) (element-type GBytes): the files, none when
 *   nothing is pending
 */
GPtrArray *
coffer_index_take_pending (CofferIndex *self, const CofferMasterKeys *keys)
{
  g_autoptr (GPtrArray) plains = NULL;
  GPtrArray *files;
  guint8 key[32];

  g_return_val_if_fail (COFFER_IS_INDEX (self), NULL);
  g_return_val_if_fail (keys != NULL, NULL);

  plains = g_ptr_array_new_with_free_func ((GDestroyNotify) g_byte_array_unref);
  write_lock (self);
  collect_pending (self, plains);
  write_unlock (self);

  /* Encrypted outside the lock, so lookups do not wait for it. */
  files = g_ptr_array_new_full (plains->len, (GDestroyNotify) g_bytes_unref);
  derive_file_key (keys, key);
  for (guint i = 0; i < plains->len; i++)
    g_ptr_array_add (files, seal_file (key, g_ptr_array_index (plains, i)));
  OPENSSL_cleanse (key, sizeof key);
  return files;
}

/* Checks an index file's plaintext (@into NULL) or, once checked, adds its
 * entries to @into (writer lock held). */
static gboolean
parse_file (const guint8 *plain, gsize size, CofferIndex *into, char **problem)
{
  guint32 n_groups;
  gsize at = 4;

  if (size < 4)
    {
      *problem = g_strdup ("it is too short");
      return FALSE;
    }
  n_groups = coffer_get_le32 (plain);
  if (n_groups == 0 || n_groups > (size - 4) / (GROUP_HEADER_SIZE + ENTRY_SIZE))
    {
      *problem = g_strdup_printf ("its count of %u packs does not match its size", n_groups);
      return FALSE;
    }

  for (guint32 g = 0; g < n_groups; g++)
    {
      const guint8 *pack;
      guint32 count;
      guint8 type;

      if (size - at < GROUP_HEADER_SIZE)
        {
          *problem = g_strdup_printf ("it ends inside pack %u", g);
          return FALSE;
        }
      pack = plain + at;
      type = plain[at + COFFER_BLOB_ID_SIZE];
      count = coffer_get_le32 (plain + at + COFFER_BLOB_ID_SIZE + 1);
      at += GROUP_HEADER_SIZE;
      if (type >= COFFER_BLOB_N_TYPES)
        {
          *problem = g_strdup_printf ("pack %u has the unknown blob type %u", g, type);
          return FALSE;
        }
      if (count == 0 || count > (size - at) / ENTRY_SIZE)
        {
          *problem =
              g_strdup_printf ("pack %u's count of %u blobs does not match its size", g, count);
          return FALSE;
        }

      for (guint32 e = 0; e < count; e++, at += ENTRY_SIZE)
        {
          const guint8 *entry = plain + at;
          guint32 offset = coffer_get_le32 (entry + COFFER_BLOB_ID_SIZE);
          guint32 length = coffer_get_le32 (entry + COFFER_BLOB_ID_SIZE + 4);
          guint32 raw_length = coffer_get_le32 (entry + COFFER_BLOB_ID_SIZE + 8);

          if (length < COFFER_BLOB_OVERHEAD || raw_length > COFFER_BLOB_MAX_SIZE ||
              length - COFFER_BLOB_OVERHEAD > raw_length ||
              (guint64) offset + length > COFFER_STORE_MAX_OBJECT)
            {
              *problem = g_strdup_printf ("blob %u of pack %u has impossible sizes", e, g);
              return FALSE;
            }
          if (into != NULL)
            insert (into, entry, pack, type, FALSE, offset, length, raw_length);
        }
    }
  if (at != size)
    {
      *problem = g_strdup_printf ("%" G_GSIZE_FORMAT " bytes follow its last entry", size - at);
      return FALSE;
    }
  return TRUE;
}

static void set_corrupt (GError **error, const char *name, const char *format, ...)
    G_GNUC_PRINTF (3, 4);

static void
set_corrupt (GError **error, const char *name, const char *format, ...)
{
  g_autofree char *detail = NULL;
  va_list args;

  va_start (args, format);
  detail = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT, "index file %s: %s", name, detail);
}

/**
 * coffer_index_load_file:
 * @self: an index
 * @keys: the machine's master keys
 * @name: the file's name (its object name, or the last part of it: the
 *   SHA-256 of its bytes, which is checked)
 * @file: the file's bytes
 * @error: return location for an error
 *
 * Checks an index file completely and only then adds its entries (not
 * pending): a damaged file leaves the index as it was.
 *
 * Returns: %TRUE, or %FALSE with %COFFER_ERROR_CORRUPT naming the file
 *   (%COFFER_ERROR_NEWER_FORMAT for an intact file of a newer format)
 */
gboolean
coffer_index_load_file (
    CofferIndex *self, const CofferMasterKeys *keys, const char *name, GBytes *file, GError **error)
{
  g_autofree guint8 *plain = NULL;
  g_autofree char *problem = NULL;
  g_autofree char *digest = NULL;
  const guint8 *data;
  const char *base;
  guint8 key[32];
  gsize plain_size;
  gsize size;
  gboolean authentic;

  g_return_val_if_fail (COFFER_IS_INDEX (self), FALSE);
  g_return_val_if_fail (keys != NULL, FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (file != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  data = g_bytes_get_data (file, &size);
  base = strrchr (name, '/');
  base = base != NULL ? base + 1 : name;
  digest = coffer_index_file_name (file);
  if (strcmp (base, digest) != 0)
    {
      set_corrupt (error, name, "its content does not match its name");
      return FALSE;
    }
  if (size < FILE_OVERHEAD)
    {
      set_corrupt (error, name, "it is too short to be an index file");
      return FALSE;
    }
  if (size > COFFER_INDEX_MAX_FILE_SIZE)
    {
      set_corrupt (error, name, "it is larger than any index file");
      return FALSE;
    }

  plain_size = size - FILE_OVERHEAD;
  plain = g_malloc (plain_size + 1);
  derive_file_key (keys, key);
  authentic =
      coffer_aes_gcm_decrypt (key, data + 1, data, 1, data + 1 + COFFER_GCM_NONCE_SIZE, plain_size,
                              data + 1 + COFFER_GCM_NONCE_SIZE + plain_size, plain);
  OPENSSL_cleanse (key, sizeof key);
  if (!authentic)
    {
      set_corrupt (error, name, "it is damaged: its authentication tag does not match");
      return FALSE;
    }
  if (data[0] > FILE_VERSION)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_NEWER_FORMAT,
                   "index file %s was made by a newer version of Coffer (index format %u)", name,
                   data[0]);
      return FALSE;
    }
  if (data[0] != FILE_VERSION)
    {
      set_corrupt (error, name, "its format %u is unknown", data[0]);
      return FALSE;
    }
  if (!parse_file (plain, plain_size, NULL, &problem))
    {
      set_corrupt (error, name, "%s", problem);
      return FALSE;
    }

  write_lock (self);
  parse_file (plain, plain_size, self, NULL);
  write_unlock (self);
  return TRUE;
}

/**
 * coffer_index_list_packs:
 * @self: an index
 *
 * Returns: (transfer full) (element-type utf8): the packs holding at least
 *   one blob the index knows, as 64 lower-case hex digits
 */
GPtrArray *
coffer_index_list_packs (CofferIndex *self)
{
  GPtrArray *packs;

  g_return_val_if_fail (COFFER_IS_INDEX (self), NULL);

  read_lock (self);
  packs = g_ptr_array_new_full (self->packs->len, g_free);
  for (guint i = 0; i < self->packs->len; i++)
    {
      const Pack *pack = g_ptr_array_index (self->packs, i);

      g_ptr_array_add (packs, coffer_blob_id_to_hex (pack->id));
    }
  read_unlock (self);
  return packs;
}

/**
 * coffer_index_remove_packs:
 * @self: an index
 * @pack_hex_set: (element-type utf8 utf8): a set of pack names (64
 *   lower-case hex digits), as made by g_hash_table_add()
 *
 * Forgets every blob located in one of these packs, pending or not. A blob
 * also stored in another pack is forgotten too (the index keeps one
 * location): prune decides what to remove knowing that.
 */
void
coffer_index_remove_packs (CofferIndex *self, GHashTable *pack_hex_set)
{
  g_autofree guint32 *renumber = NULL; /* new number + 1; 0: removed */
  guint32 n_kept = 0;
  guint32 written = 0;

  g_return_if_fail (COFFER_IS_INDEX (self));
  g_return_if_fail (pack_hex_set != NULL);

  write_lock (self);
  renumber = g_new0 (guint32, self->packs->len + 1);
  for (guint i = 0; i < self->packs->len; i++)
    {
      Pack *pack = g_ptr_array_index (self->packs, i);
      g_autofree char *hex = coffer_blob_id_to_hex (pack->id);

      if (g_hash_table_contains (pack_hex_set, hex))
        {
          g_hash_table_remove (self->pack_numbers, pack->id);
          g_free (pack);
          continue;
        }
      pack->number = n_kept;
      self->packs->pdata[n_kept++] = pack;
      renumber[i] = n_kept;
    }
  if (n_kept == self->packs->len)
    {
      write_unlock (self);
      return;
    }
  g_ptr_array_set_size (self->packs, n_kept);

  self->n_pending = 0;
  for (guint32 r = 0; r < self->n_records; r++)
    {
      Record *record = record_at (self, r);
      guint32 number = renumber[record->info & INFO_PACK_MASK];
      Record *kept;

      if (number == 0)
        continue;
      kept = record_at (self, written);
      if (kept != record)
        *kept = *record;
      kept->info = (record->info & ~INFO_PACK_MASK) | (number - 1);
      if ((kept->info & INFO_PENDING) != 0)
        {
          if (self->n_pending == 0)
            self->first_pending = written;
          self->n_pending++;
        }
      written++;
    }
  self->n_records = written;
  if (self->n_pending == 0)
    self->first_pending = self->n_records;
  g_ptr_array_set_size (self->chunks, (written + CHUNK_RECORDS - 1) >> CHUNK_BITS);
  rebuild_slots (self, self->n_records);
  write_unlock (self);
}

/**
 * coffer_index_mark_all_pending:
 * @self: an index
 *
 * Makes every entry pending, so the next coffer_index_take_pending() writes
 * the whole index anew (prune replaces the index files this way).
 */
void
coffer_index_mark_all_pending (CofferIndex *self)
{
  g_return_if_fail (COFFER_IS_INDEX (self));

  write_lock (self);
  for (guint32 r = 0; r < self->n_records; r++)
    record_at (self, r)->info |= INFO_PENDING;
  self->n_pending = self->n_records;
  self->first_pending = 0;
  write_unlock (self);
}

/**
 * coffer_index_file_name:
 * @file: an index file's bytes
 *
 * Returns: (transfer full): its name, the lower-case hex SHA-256 of @file
 */
char *
coffer_index_file_name (GBytes *file)
{
  g_return_val_if_fail (file != NULL, NULL);

  return coffer_sha256_hex_bytes (file);
}

/**
 * coffer_index_object_name:
 * @machine_id: the machine whose index it is
 * @name: the index file's name
 *
 * Returns: (transfer full): its object name, `machines/ID/index/NAME`
 */
char *
coffer_index_object_name (const char *machine_id, const char *name)
{
  g_return_val_if_fail (machine_id != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  return g_strdup_printf ("machines/%s/index/%s", machine_id, name);
}

/**
 * coffer_index_get_pack_ends:
 * @self: an index
 *
 * How far into each pack its blobs reach: a pack smaller than that was cut
 * short.
 *
 * Returns: (transfer full) (element-type utf8 guint64): pack (64 lower-case
 *   hex digits) → the end of its last blob, as a #guint64 pointer
 */
GHashTable *
coffer_index_get_pack_ends (CofferIndex *self)
{
  GHashTable *ends = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autofree guint64 *by_number = NULL;

  g_return_val_if_fail (COFFER_IS_INDEX (self), NULL);

  read_lock (self);
  by_number = g_new0 (guint64, self->packs->len + 1);
  for (guint32 r = 0; r < self->n_records; r++)
    {
      const Record *record = record_at (self, r);
      guint32 pack = record->info & INFO_PACK_MASK;
      guint64 end = (guint64) record->offset + record->length;

      if (pack < self->packs->len && end > by_number[pack])
        by_number[pack] = end;
    }
  for (guint i = 0; i < self->packs->len; i++)
    {
      const Pack *pack = g_ptr_array_index (self->packs, i);

      g_hash_table_insert (ends, coffer_blob_id_to_hex (pack->id),
                           g_memdup2 (&by_number[pack->number], sizeof (guint64)));
    }
  read_unlock (self);
  return ends;
}
