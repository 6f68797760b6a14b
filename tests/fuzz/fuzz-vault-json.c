/* fuzz-vault-json.c: libFuzzer harness of coffer_vault_open(), which reads
 * vault.json (FORMAT.md, "vault.json").
 *
 * Input: a mode byte, then vault.json as found in a store held in memory.
 * The mode's lowest bit says whether the caller expects a vault id (the
 * fixed one) or takes any. A vault that opens has its redundancy set, which
 * writes vault.json again from what was read.
 */
#include "config.h"

#include "fuzz-common.h"

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
  gboolean expect = fuzz_take_u8 (&input) & 1;
  g_autoptr (GBytes) json = fuzz_take_rest (&input);
  g_autoptr (CofferStore) store = fuzz_memory_store_new ();
  g_autoptr (CofferVault) vault = NULL;
  g_autoptr (CofferVault) again = NULL;
  g_autoptr (GError) error = NULL;

  fuzz_memory_store_set (store, "vault.json", json);
  vault = coffer_vault_open (store, expect ? FUZZ_VAULT_ID : NULL, NULL, &error);
  g_assert ((vault == NULL) != (error == NULL));
  if (vault == NULL)
    return 0;

  g_assert (coffer_vault_get_id (vault) != NULL && coffer_vault_get_name (vault) != NULL &&
            coffer_vault_get_region (vault) != NULL && coffer_vault_get_redundancy (vault) != NULL);
  if (!coffer_vault_set_redundancy (vault, "geo", NULL, &error))
    return 0;
  again = coffer_vault_open (store, coffer_vault_get_id (vault), NULL, &error);
  if (again == NULL)
    g_error ("vault.json written from a vault that opened does not open: %s", error->message);
  g_assert_cmpstr (coffer_vault_get_redundancy (again), ==, "geo");
  return 0;
}
