/* fuzz-lock.c: libFuzzer harness of the lock objects another job left in
 * the vault (machines/ID/locks/…, read by coffer_lock_take()).
 *
 * Input: a mode byte, then a lock object as found, put in a store held in
 * memory beside a valid vault.json, just now (so it is not stale). The
 * mode's lowest bit says whether the lock taken is exclusive. A lock that
 * does not conflict is taken and released.
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
  gboolean exclusive = fuzz_take_u8 (&input) & 1;
  g_autoptr (GBytes) other = fuzz_take_rest (&input);
  g_autoptr (GBytes) vault_json = fuzz_vault_json ();
  g_autoptr (CofferStore) store = fuzz_memory_store_new ();
  g_autoptr (CofferVault) vault = NULL;
  g_autoptr (CofferLock) lock = NULL;
  g_autoptr (GError) error = NULL;

  fuzz_memory_store_set (store, "vault.json", vault_json);
  fuzz_memory_store_set (store, "machines/" FUZZ_MACHINE_ID "/locks/other", other);
  vault = coffer_vault_open (store, FUZZ_VAULT_ID, NULL, &error);
  g_assert_no_error (error);

  lock = coffer_lock_take (vault, FUZZ_MACHINE_ID, "fuzz-instance", exclusive, NULL, &error);
  g_assert ((lock == NULL) != (error == NULL));
  if (lock == NULL)
    g_assert_error (error, COFFER_ERROR, COFFER_ERROR_BUSY);
  return 0;
}
