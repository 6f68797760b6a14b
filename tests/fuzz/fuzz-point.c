/* fuzz-point.c: libFuzzer harness of coffer_snapshot_list(), which reads
 * recovery points (machines/ID/snapshots/ID: sealed JSON, see
 * coffer-snapshot.c).
 *
 * Input: a mode byte, then by mode (its lowest bit):
 * - 0, a recovery point as found, stored under the name its bytes give
 *   (or, with bit 1 set, under another);
 * - 1, the point's JSON, which the harness seals with the fixed keys, so
 *   that the JSON parser is reached.
 * The point sits in a store held in memory beside a valid vault.json.
 */
#include "config.h"

#include "fuzz-common.h"

#include <string.h>

#define SNAPSHOT_AAD "coffer-snapshot-v1"

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_init ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  FuzzInput input = { data, size };
  guint8 mode = fuzz_take_u8 (&input);
  g_autoptr (GBytes) rest = fuzz_take_rest (&input);
  g_autoptr (GBytes) point = NULL;
  g_autoptr (GBytes) vault_json = fuzz_vault_json ();
  g_autoptr (CofferStore) store = fuzz_memory_store_new ();
  g_autoptr (CofferVault) vault = NULL;
  g_autoptr (GPtrArray) points = NULL;
  g_autoptr (GPtrArray) damaged =
      g_ptr_array_new_with_free_func ((GDestroyNotify) coffer_failed_item_free);
  g_autoptr (GError) error = NULL;
  g_autofree char *digest = NULL;
  g_autofree char *name = NULL;

  if (mode & 1)
    {
      guint8 key[32];

      fuzz_derive ("snapshot", key);
      point = fuzz_seal (key, SNAPSHOT_AAD, strlen (SNAPSHOT_AAD), NULL, 0,
                         g_bytes_get_data (rest, NULL), g_bytes_get_size (rest));
    }
  else
    point = g_bytes_ref (rest);

  digest = coffer_sha256_hex_bytes (point);
  if ((mode & 3) == 2)
    digest[0] = digest[0] == '0' ? '1' : '0';
  name = g_strconcat ("machines/" FUZZ_MACHINE_ID "/snapshots/", digest, NULL);
  fuzz_memory_store_set (store, "vault.json", vault_json);
  fuzz_memory_store_set (store, name, point);
  vault = coffer_vault_open (store, FUZZ_VAULT_ID, NULL, &error);
  g_assert_no_error (error);

  /* As recovery reads them: a damaged point is set aside (a newer one is
   * still an error)... */
  points = coffer_snapshot_list (vault, FUZZ_MACHINE_ID, fuzz_keys (), damaged, NULL, &error);
  if (points == NULL)
    {
      g_assert_error (error, COFFER_ERROR, COFFER_ERROR_NEWER_FORMAT);
      return 0;
    }
  g_assert_no_error (error);
  g_assert_cmpuint (points->len + damaged->len, ==, 1);
  g_clear_pointer (&points, g_ptr_array_unref);

  /* ...and as prune and check do: it is an error. */
  points = coffer_snapshot_list (vault, FUZZ_MACHINE_ID, fuzz_keys (), NULL, NULL, &error);
  g_assert ((points == NULL) != (error == NULL));
  g_assert ((points == NULL) == (damaged->len == 1));
  if (points != NULL)
    {
      CofferSnapshot *snapshot;

      g_assert_cmpuint (points->len, ==, 1);
      snapshot = g_ptr_array_index (points, 0);
      g_assert_cmpstr (snapshot->id, ==, digest);
      g_assert (snapshot->host != NULL && snapshot->items != NULL);
    }
  return 0;
}
