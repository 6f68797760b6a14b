/* test-azure-store.c: the Azure store's pieces that need no network: the
 * Shared Key string to sign and signature, and azure:// locations. Requests
 * themselves are tested against Azurite in tests/integration. */
#include "config.h"

#include "coffer-test-util.h"

#include <string.h>

/* Azurite's documented development key: any key does, this one is public. */
#define KEY                                                                                        \
  "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

/* The example of Microsoft's "Authorize with Shared Key" page: Get Container
 * Metadata, its string to sign given there, and its signature under KEY as
 * `openssl dgst -sha256 -mac HMAC` computes it. */
static void
test_shared_key_documented_example (void)
{
  const char *headers[] = { "x-ms-version", "2015-02-21", "x-ms-date",
                            "Fri, 26 Jun 2015 23:39:12 GMT", NULL };
  g_autofree char *to_sign = NULL;
  g_autofree char *signature = NULL;
  g_autoptr (GError) error = NULL;

  to_sign = coffer_azure_string_to_sign ("GET", "myaccount", "/mycontainer",
                                         "restype=container&comp=metadata&timeout=20", headers);
  g_assert_cmpstr (to_sign, ==,
                   "GET\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:Fri, 26 Jun 2015 23:39:12 GMT\n"
                   "x-ms-version:2015-02-21\n/myaccount/mycontainer\ncomp:metadata\n"
                   "restype:container\ntimeout:20");
  signature = coffer_azure_sign (KEY, to_sign, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (signature, ==, "1u9lui2jDxj0+fpbHjQ5m5NnastJRSYM+PSmfi8TXx4=");
}

/* A put-if-absent to the emulator: the standard headers in their places,
 * x-ms-* sorted, and the account named twice in the emulator's path-style
 * resource. */
static void
test_shared_key_put_if_absent_on_emulator (void)
{
  const char *headers[] = { "x-ms-version",
                            "2021-12-02",
                            "x-ms-date",
                            "Sun, 22 Nov 2026 02:00:00 GMT",
                            "Content-Length",
                            "11",
                            "Content-Type",
                            "application/octet-stream",
                            "x-ms-blob-type",
                            "BlockBlob",
                            "Content-MD5",
                            "XrY7u+Ae7tCTyyK7j1rNww==",
                            "If-None-Match",
                            "*",
                            NULL };
  g_autofree char *to_sign = NULL;
  g_autofree char *signature = NULL;

  to_sign = coffer_azure_string_to_sign (
      "PUT", "devstoreaccount1", "/devstoreaccount1/vault/machines/ab/data/3f/pack", NULL, headers);
  g_assert_cmpstr (to_sign, ==,
                   "PUT\n\n\n11\nXrY7u+Ae7tCTyyK7j1rNww==\napplication/octet-stream\n\n\n\n*\n\n\n"
                   "x-ms-blob-type:BlockBlob\nx-ms-date:Sun, 22 Nov 2026 02:00:00 GMT\n"
                   "x-ms-version:2021-12-02\n"
                   "/devstoreaccount1/devstoreaccount1/vault/machines/ab/data/3f/pack");
  signature = coffer_azure_sign (KEY, to_sign, NULL);
  g_assert_cmpstr (signature, ==, "WlkGy0qvrM7i/Ex90UoRKUP2zeZVGPexOnTg76hkZqc=");
}

/* An empty body signs an empty Content-Length (versions from 2015-02-21). */
static void
test_shared_key_empty_length (void)
{
  const char *headers[] = { "Content-Length", "0", NULL };
  g_autofree char *to_sign =
      coffer_azure_string_to_sign ("PUT", "a", "/c", "restype=container", headers);

  g_assert_true (g_str_has_prefix (to_sign, "PUT\n\n\n\n"));
}

static void
test_bad_key_is_refused (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *signature = coffer_azure_sign ("", "GET\n", &error);

  g_assert_null (signature);
  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT);
}

static void
test_locations (void)
{
  const char *bad[] = { "azure://",
                        "azure://ab/container",
                        "azure://Account/container",
                        "azure://account/c",
                        "azure://account/Container",
                        "azure://account/con--tainer",
                        "azure://account/a/b",
                        "/tmp/vault",
                        NULL };
  g_autofree char *account = NULL;
  g_autofree char *container = NULL;
  g_autofree char *endpoint = NULL;

  g_assert_true (
      coffer_azure_parse_location ("azure://acme01/backups-2026", &account, &container, NULL));
  g_assert_cmpstr (account, ==, "acme01");
  g_assert_cmpstr (container, ==, "backups-2026");
  endpoint = coffer_azure_default_endpoint (account);
  g_assert_cmpstr (endpoint, ==, "https://acme01.blob.core.windows.net");

  for (guint i = 0; bad[i] != NULL; i++)
    {
      g_autoptr (GError) error = NULL;
      char *a = NULL, *c = NULL;

      g_assert_false (coffer_azure_parse_location (bad[i], &a, &c, &error));
      g_assert_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT);
    }
}

/* The credentials file's store descriptor makes an Azure store, and the
 * catalog shows it as azure://ACCOUNT/CONTAINER, never with its key. */
static void
test_descriptor (void)
{
  g_autoptr (JsonObject) descriptor =
      coffer_store_descriptor_new_azure ("http://127.0.0.1:1/devstoreaccount1/", "devstoreaccount1",
                                         "vault", COFFER_AZURE_AUTH_SHARED_KEY, KEY);
  g_autoptr (CofferStore) store = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *location = coffer_store_descriptor_to_location (descriptor);
  g_autofree char *where = NULL;

  g_assert_cmpstr (location, ==, "azure://devstoreaccount1/vault");
  g_assert_true (coffer_store_descriptor_has_secret (descriptor));
  store = coffer_store_new_for_descriptor (descriptor, NULL, &error);
  g_assert_no_error (error);
  where = coffer_store_describe (store);
  g_assert_cmpstr (where, ==, "http://127.0.0.1:1/devstoreaccount1/vault");
  g_assert_null (strstr (where, KEY));
  g_assert_cmpuint (coffer_store_get_concurrency (store), ==, COFFER_AZURE_DEFAULT_CONCURRENCY);
  g_assert_cmpuint (coffer_store_get_retries (store), ==, 0);
  /* Before the service has answered, its clock is taken to be ours. */
  g_assert_cmpint (ABS (coffer_store_get_time (store) - g_get_real_time ()), <, G_USEC_PER_SEC);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/libcoffer/azure/shared-key-documented-example",
                   test_shared_key_documented_example);
  g_test_add_func ("/libcoffer/azure/shared-key-put-if-absent-on-emulator",
                   test_shared_key_put_if_absent_on_emulator);
  g_test_add_func ("/libcoffer/azure/shared-key-empty-length", test_shared_key_empty_length);
  g_test_add_func ("/libcoffer/azure/bad-key-is-refused", test_bad_key_is_refused);
  g_test_add_func ("/libcoffer/azure/locations", test_locations);
  g_test_add_func ("/libcoffer/azure/descriptor", test_descriptor);

  return g_test_run ();
}
