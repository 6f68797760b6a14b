/* fuzz-machine-config.c: libFuzzer harness of coffer_machine_config_read(),
 * which reads machines/ID/config (FORMAT.md, "machines/ID/config").
 *
 * Input: a mode byte, then by mode (its lowest bit):
 * - 0, the config as found;
 * - 1, the config's JSON, which the harness seals with the fixed keys, so
 *   that the JSON is reached.
 * The config sits in a store held in memory beside a valid vault.json.
 */
#include "config.h"

#include "fuzz-common.h"

#include <string.h>

#define CONFIG_AAD "coffer-config-v1"

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
  g_autoptr (GBytes) config = NULL;
  g_autoptr (GBytes) vault_json = fuzz_vault_json ();
  g_autoptr (CofferStore) store = fuzz_memory_store_new ();
  g_autoptr (CofferVault) vault = NULL;
  g_autoptr (GError) error = NULL;
  gboolean ok;

  if (mode & 1)
    {
      guint8 key[32];

      fuzz_derive ("config", key);
      config = fuzz_seal (key, CONFIG_AAD, strlen (CONFIG_AAD), NULL, 0,
                          g_bytes_get_data (rest, NULL), g_bytes_get_size (rest));
    }
  else
    config = g_bytes_ref (rest);

  fuzz_memory_store_set (store, "vault.json", vault_json);
  fuzz_memory_store_set (store, "machines/" FUZZ_MACHINE_ID "/config", config);
  vault = coffer_vault_open (store, FUZZ_VAULT_ID, NULL, &error);
  g_assert_no_error (error);

  ok = coffer_machine_config_read (vault, FUZZ_MACHINE_ID, fuzz_keys (), NULL, &error);
  g_assert (ok == (error == NULL));
  return 0;
}
