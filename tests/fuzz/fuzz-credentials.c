/* fuzz-credentials.c: libFuzzer harness of coffer_credentials_parse(),
 * what is done with the store descriptor a file carries, and
 * coffer_credentials_verify(), which reads the vault's credentials/current
 * (FORMAT.md, "Vault credentials file" and "credentials/current").
 *
 * Input: a mode byte, then by mode (its value modulo 3):
 * - 0, a credentials file as found;
 * - 1, a credentials file up to its "mac" member, which the harness
 *   completes with the MAC the file's own secret gives (a fixed one when
 *   it has none), so that everything after the MAC check is reached;
 * - 2, credentials/current as found in a vault, which a valid file is
 *   checked against.
 */
#include "config.h"

#include "fuzz-common.h"

#include <string.h>

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_init ();
  return 0;
}

/* The bytes of a credentials file: @body, then its MAC member keyed by
 * @secret, as coffer vault credentials ends one. */
static GBytes *
sign (const guint8 *body, gsize size, const guint8 *secret, gsize secret_size)
{
  guint8 digest[32];
  GString *file = g_string_new_len ((const char *) body, size);

  coffer_hmac_sha256 (secret, secret_size, body, size, digest);
  g_string_append (file, "\"mac\" : \"");
  for (guint i = 0; i < sizeof digest; i++)
    g_string_append_printf (file, "%02x", digest[i]);
  g_string_append (file, "\"\n}\n");
  return g_string_free_to_bytes (file);
}

/* Finds the secret the file would carry once signed: parses it with a
 * placeholder MAC, as a user of the format would. */
static GBytes *
sign_with_own_secret (GBytes *body)
{
  static const char placeholder[] = "\"mac\" : \"\"\n}\n";
  g_autoptr (GByteArray) trial = g_byte_array_new ();
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autofree guint8 *secret = NULL;
  gsize secret_size = 0;
  gsize size;
  const guint8 *data = g_bytes_get_data (body, &size);
  JsonNode *root;

  g_byte_array_append (trial, data != NULL ? data : (const guint8 *) "", size);
  g_byte_array_append (trial, (const guint8 *) placeholder, strlen (placeholder));
  if (g_utf8_validate ((const char *) trial->data, trial->len, NULL) &&
      coffer_json_is_one_object ((const char *) trial->data, trial->len) &&
      json_parser_load_from_data (parser, (const char *) trial->data, trial->len, NULL) &&
      (root = json_parser_get_root (parser)) != NULL && JSON_NODE_HOLDS_OBJECT (root))
    {
      JsonNode *member = json_object_get_member (json_node_get_object (root), "secret");

      if (member != NULL && JSON_NODE_HOLDS_VALUE (member) &&
          json_node_get_value_type (member) == G_TYPE_STRING)
        secret = g_base64_decode (json_node_get_string (member), &secret_size);
    }
  if (secret == NULL || secret_size == 0)
    {
      g_free (secret);
      secret = g_base64_decode (FUZZ_SECRET_BASE64, &secret_size);
    }
  return sign (data, size, secret, secret_size);
}

/* What registration does with a file's store descriptor. */
static void
use_descriptor (JsonObject *descriptor)
{
  g_autofree char *location = coffer_store_descriptor_to_location (descriptor);
  g_autoptr (GError) error = NULL;
  g_autoptr (CofferStore) store = NULL;

  g_assert (location != NULL);
  coffer_store_descriptor_has_secret (descriptor);
  store = coffer_store_new_for_descriptor (descriptor, NULL, &error);
  g_assert ((store == NULL) != (error == NULL));
}

static void
parse_file (GBytes *file)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CofferCredentials) credentials = coffer_credentials_parse (file, &error);

  g_assert ((credentials == NULL) != (error == NULL));
  if (credentials == NULL)
    return;
  g_assert (credentials->vault_id != NULL && credentials->vault_name != NULL);
  g_assert_cmpuint (g_bytes_get_size (credentials->secret), ==, 32);
  use_descriptor (credentials->store);
}

/* A valid file for the fixed vault, checked against @current. */
static void
verify (GBytes *current)
{
  static const char body[] = "{\n"
                             "  \"format\" : 1,\n"
                             "  \"type\" : \"coffer-vault-credentials\",\n"
                             "  \"vault_id\" : \"" FUZZ_VAULT_ID "\",\n"
                             "  \"vault_name\" : \"fuzz\",\n"
                             "  \"store\" : {\n"
                             "    \"type\" : \"local\",\n"
                             "    \"path\" : \"/nonexistent/fuzz\"\n"
                             "  },\n"
                             "  \"serial\" : 1,\n"
                             "  \"issued\" : \"2026-11-21T09:30:00Z\",\n"
                             "  \"expires\" : \"2026-11-23T09:30:00Z\",\n"
                             "  \"secret\" : \"" FUZZ_SECRET_BASE64 "\",\n"
                             "  ";
  g_autoptr (GBytes) vault_json = fuzz_vault_json ();
  g_autoptr (CofferStore) store = fuzz_memory_store_new ();
  g_autoptr (CofferVault) vault = NULL;
  g_autoptr (GBytes) body_bytes = g_bytes_new_static (body, sizeof body - 1);
  g_autoptr (GBytes) file = sign_with_own_secret (body_bytes);
  g_autoptr (CofferCredentials) credentials = NULL;
  g_autoptr (GError) error = NULL;
  gboolean ok;

  fuzz_memory_store_set (store, "vault.json", vault_json);
  fuzz_memory_store_set (store, "credentials/current", current);
  vault = coffer_vault_open (store, FUZZ_VAULT_ID, NULL, &error);
  g_assert_no_error (error);
  credentials = coffer_credentials_parse (file, &error);
  g_assert_no_error (error);
  /* The day the file was issued, an hour in. */
  ok = coffer_credentials_verify (credentials, vault, 1795253400 + 3600, NULL, &error);
  g_assert (ok == (error == NULL));
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  FuzzInput input = { data, size };
  guint8 mode = fuzz_take_u8 (&input) % 3;
  g_autoptr (GBytes) rest = fuzz_take_rest (&input);

  if (mode == 0)
    parse_file (rest);
  else if (mode == 1)
    {
      g_autoptr (GBytes) file = sign_with_own_secret (rest);

      parse_file (file);
    }
  else
    verify (rest);
  return 0;
}
