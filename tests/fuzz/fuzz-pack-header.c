/* fuzz-pack-header.c: libFuzzer harness of coffer_pack_read_header() and
 * coffer_pack_name_matches() (FORMAT.md, "Pack").
 *
 * Input: a mode byte, then by mode (its lowest bit):
 * - 0, the tail as found: a u32 of extra pack bytes before the tail, then
 *   the tail (the pack's last bytes) itself;
 * - 1, a header to seal: the version byte, a u32 header offset (the size of
 *   the blobs before the header), then the header's plaintext, which the
 *   harness encrypts with the fixed keys and its additional data, so that
 *   the plaintext parser is reached. When the blobs are few, the whole pack
 *   is made (blob bytes from a counter) and its name checked too.
 */
#include "config.h"

#include "fuzz-common.h"

#include <string.h>

/* Largest blob area for which the whole pack is built. */
#define WHOLE_PACK_LIMIT (256 * 1024)

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_init ();
  return 0;
}

static void
read_tail (GBytes *tail, guint64 pack_size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) entries = NULL;
  g_autoptr (GError) length_error = NULL;

  coffer_pack_header_length (tail, &length_error);
  entries = coffer_pack_read_header (fuzz_keys (), "fuzz", tail, pack_size, &error);
  g_assert ((entries == NULL) != (error == NULL));
  if (entries != NULL)
    g_assert_cmpuint (entries->len, >, 0);
}

static void
raw_tail (FuzzInput *input)
{
  guint32 extra = fuzz_take_u32 (input);
  g_autoptr (GBytes) tail = fuzz_take_rest (input);

  read_tail (tail, (guint64) g_bytes_get_size (tail) + extra);
}

static void
sealed_header (FuzzInput *input)
{
  guint8 version = fuzz_take_u8 (input);
  guint32 header_offset = fuzz_take_u32 (input);
  g_autoptr (GBytes) plain = fuzz_take_rest (input);
  g_autoptr (GBytes) header = NULL;
  g_autoptr (GByteArray) tail = g_byte_array_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) entries = NULL;
  g_autoptr (GBytes) tail_bytes = NULL;
  guint8 key[32];
  guint8 aad[5];
  guint8 length[4];
  gsize header_size;
  guint64 pack_size;

  fuzz_derive ("coffer-pack-header", key);
  aad[0] = version;
  for (guint i = 0; i < 4; i++)
    aad[1 + i] = header_offset >> (8 * i);
  header = fuzz_seal (key, aad, sizeof aad, &version, 1, g_bytes_get_data (plain, NULL),
                      g_bytes_get_size (plain));
  header_size = g_bytes_get_size (header);
  for (guint i = 0; i < 4; i++)
    length[i] = (guint32) header_size >> (8 * i);

  if (header_offset <= WHOLE_PACK_LIMIT)
    {
      /* The whole pack: blob bytes, then the header and its length. */
      g_byte_array_set_size (tail, header_offset);
      for (guint32 i = 0; i < header_offset; i++)
        tail->data[i] = (guint8) i;
    }
  g_byte_array_append (tail, g_bytes_get_data (header, NULL), header_size);
  g_byte_array_append (tail, length, sizeof length);
  pack_size = (guint64) header_offset + header_size + 4;
  tail_bytes = g_byte_array_free_to_bytes (g_steal_pointer (&tail));

  entries = coffer_pack_read_header (fuzz_keys (), "fuzz", tail_bytes, pack_size, &error);
  g_assert ((entries == NULL) != (error == NULL));
  if (entries != NULL && header_offset <= WHOLE_PACK_LIMIT)
    {
      char name[COFFER_PACK_NAME_LENGTH + 1];

      memset (name, 'a', COFFER_PACK_NAME_LENGTH);
      name[COFFER_PACK_NAME_LENGTH] = '\0';
      coffer_pack_name_matches (name, tail_bytes, entries);
    }
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  FuzzInput input = { data, size };

  if (fuzz_take_u8 (&input) & 1)
    sealed_header (&input);
  else
    raw_tail (&input);
  return 0;
}
