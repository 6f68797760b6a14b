/* fuzz-index.c: libFuzzer harness of coffer_index_load_file() (FORMAT.md,
 * "Index file").
 *
 * Input: a mode byte, then by mode (its lowest bit):
 * - 0, the file as found, named by its SHA-256 (or, with bit 1 set, by a
 *   name it does not match);
 * - 1, a plaintext to seal: the version byte, then the plaintext, which the
 *   harness encrypts with the fixed keys, so that the plaintext parser is
 *   reached.
 * A file that loads is written again with coffer_index_take_pending() and
 * read back into a new index, which must then know as many blobs.
 */
#include "config.h"

#include "fuzz-common.h"

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_init ();
  return 0;
}

/* Loads @file into @index under its own name; whether it loaded. */
static gboolean
load (CofferIndex *index, GBytes *file, gboolean wrong_name)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *name = coffer_index_file_name (file);
  g_autofree char *object = NULL;
  gboolean loaded;

  if (wrong_name)
    name[0] = name[0] == '0' ? '1' : '0';
  object = coffer_index_object_name (FUZZ_MACHINE_ID, name);
  loaded = coffer_index_load_file (index, fuzz_keys (), object, file, &error);
  g_assert (loaded == (error == NULL));
  return loaded;
}

/* What loaded must come back the same through the writer. */
static void
write_again (CofferIndex *index)
{
  g_autoptr (CofferIndex) again = coffer_index_new ();
  g_autoptr (GPtrArray) files = NULL;
  g_autoptr (GPtrArray) packs = coffer_index_list_packs (index);

  coffer_index_mark_all_pending (index);
  files = coffer_index_take_pending (index, fuzz_keys ());
  g_assert_cmpuint (coffer_index_get_pending (index), ==, 0);
  for (guint i = 0; i < files->len; i++)
    if (!load (again, g_ptr_array_index (files, i), FALSE))
      g_error ("An index file written from a loaded one does not load");
  g_assert_cmpuint (coffer_index_get_size (again), ==, coffer_index_get_size (index));
  g_assert_cmpuint (packs->len, >, 0);
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  FuzzInput input = { data, size };
  g_autoptr (CofferIndex) index = coffer_index_new ();
  g_autoptr (GBytes) file = NULL;
  guint8 mode = fuzz_take_u8 (&input);

  if (mode & 1)
    {
      guint8 version = fuzz_take_u8 (&input);
      g_autoptr (GBytes) plain = fuzz_take_rest (&input);
      guint8 key[32];

      fuzz_derive ("coffer-index", key);
      file = fuzz_seal (key, &version, 1, &version, 1, g_bytes_get_data (plain, NULL),
                        g_bytes_get_size (plain));
    }
  else
    file = fuzz_take_rest (&input);

  if (load (index, file, (mode & 3) == 2))
    write_again (index);
  else
    g_assert_cmpuint (coffer_index_get_size (index), ==, 0);
  return 0;
}
