/* fuzz-key-file.c: libFuzzer harness of coffer_master_keys_unwrap(), which
 * reads a key file and its KDF parameters (FORMAT.md, "Key file").
 *
 * Input: a key file as found, opened with the fixed passphrase the seed
 * corpus was wrapped with. scrypt's cost is the format's to set: N up to
 * 2^20 is valid and costs a gigabyte and seconds, so the harness leaves out
 * inputs whose N is valid but above 2^10 (checked the way the parser reads
 * it); an N out of bounds still reaches the parser, which must refuse it
 * before scrypt runs.
 */
#include "config.h"

#include "fuzz-common.h"

#include <string.h>

#define N_AFFORDED 1024

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_init ();
  return 0;
}

/* Whether @file asks for a valid scrypt N too costly to run per input. */
static gboolean
too_costly (const guint8 *data, gsize size)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  JsonNode *root, *kdf, *n;
  gint64 value;

  if (size == 0 || !g_utf8_validate ((const char *) data, size, NULL) ||
      !coffer_json_is_one_object ((const char *) data, size) ||
      !json_parser_load_from_data (parser, (const char *) data, size, NULL))
    return FALSE;
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return FALSE;
  kdf = json_object_get_member (json_node_get_object (root), "kdf");
  if (kdf == NULL || !JSON_NODE_HOLDS_OBJECT (kdf))
    return FALSE;
  n = json_object_get_member (json_node_get_object (kdf), "n");
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64)
    return FALSE;
  value = json_node_get_int (n);
  return value > N_AFFORDED && value <= (gint64) COFFER_SCRYPT_N_LIMIT;
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  FuzzInput input = { data, size };
  g_autoptr (GBytes) file = fuzz_take_rest (&input);
  g_autoptr (CofferMasterKeys) keys = NULL;
  g_autoptr (GError) error = NULL;

  if (too_costly (g_bytes_get_data (file, NULL), g_bytes_get_size (file)))
    return 0;
  keys = coffer_master_keys_unwrap (file, FUZZ_PASSPHRASE, &error);
  g_assert ((keys == NULL) != (error == NULL));
  if (keys != NULL)
    {
      /* What opened with the passphrase wraps again and opens the same. */
      g_autoptr (GBytes) again =
          coffer_master_keys_wrap (keys, FUZZ_PASSPHRASE, N_AFFORDED, &error);
      g_autoptr (CofferMasterKeys) reopened = NULL;

      g_assert_no_error (error);
      reopened = coffer_master_keys_unwrap (again, FUZZ_PASSPHRASE, &error);
      g_assert_no_error (error);
      g_assert (memcmp (reopened, keys, sizeof *keys) == 0);
    }
  return 0;
}
