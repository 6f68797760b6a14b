/* fuzz-machine-json.c: libFuzzer harness of coffer_vault_list_machines()
 * and coffer_vault_find_machine(), which read machines/ID/machine.json
 * (FORMAT.md, "machines/ID/machine.json").
 *
 * Input: machine.json as found, in a store held in memory beside a valid
 * vault.json.
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
  g_autoptr (GBytes) json = fuzz_take_rest (&input);
  g_autoptr (GBytes) vault_json = fuzz_vault_json ();
  g_autoptr (CofferStore) store = fuzz_memory_store_new ();
  g_autoptr (CofferVault) vault = NULL;
  g_autoptr (GPtrArray) machines = NULL;
  g_autoptr (CofferMachineInfo) found = NULL;
  g_autoptr (GError) error = NULL;

  fuzz_memory_store_set (store, "vault.json", vault_json);
  fuzz_memory_store_set (store, "machines/" FUZZ_MACHINE_ID "/machine.json", json);
  vault = coffer_vault_open (store, FUZZ_VAULT_ID, NULL, &error);
  g_assert_no_error (error);

  machines = coffer_vault_list_machines (vault, NULL, &error);
  g_assert ((machines == NULL) != (error == NULL));
  if (machines == NULL)
    return 0;
  g_assert_cmpuint (machines->len, <=, 1);

  found = coffer_vault_find_machine (vault, "fuzz", NULL, &error);
  g_assert_no_error (error);
  if (found != NULL)
    {
      /* Written back as it was read, it reads the same. */
      g_autoptr (GPtrArray) again = NULL;
      CofferMachineInfo *info;

      if (!coffer_vault_put_machine (vault, found, FALSE, NULL, &error))
        g_error ("machine.json cannot be written back: %s", error->message);
      again = coffer_vault_list_machines (vault, NULL, &error);
      g_assert_no_error (error);
      info = g_ptr_array_index (again, 0);
      g_assert_cmpstr (info->name, ==, found->name);
      g_assert_cmpstr (info->instance_id, ==, found->instance_id);
      g_assert_cmpint (info->registered_at, ==, found->registered_at);
    }
  return 0;
}
