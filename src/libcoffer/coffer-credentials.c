/* coffer-credentials.c: vault credentials files and the vault's record of them.
 *
 * A credentials file carries what a machine needs to reach a vault and a
 * random registration secret; an HMAC-SHA256 keyed by that secret over the
 * file's exact bytes before its "mac" member detects damage. Authority is the
 * vault's credentials/current: issuing a file bumps its serial with a
 * conditional put (two issuers cannot both win) and records the secret's
 * SHA-256 and the expiry. Only the newest file registers, and only until the
 * vault's recorded expiry (with five minutes of clock skew). Formats:
 * FORMAT.md.
 */
#include "config.h"

#include "coffer-credentials.h"

#include "coffer-azure-store.h"
#include "coffer-crypto.h"
#include "coffer-error.h"
#include "coffer-json-util.h"
#include "coffer-local-store.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

#define CURRENT "credentials/current"
#define SECRET_SIZE 32
#define MAC_MEMBER "\"mac\""

#define INVALID_MESSAGE                                                                            \
  "Invalid vault credentials provided. The file is either corrupted or does not have the latest "  \
  "credentials associated with recovery service."

void
coffer_credentials_free (CofferCredentials *credentials)
{
  if (credentials == NULL)
    return;

  g_free (credentials->vault_id);
  g_free (credentials->vault_name);
  g_clear_pointer (&credentials->store, json_object_unref);
  g_clear_pointer (&credentials->secret, g_bytes_unref);
  g_free (credentials);
}

G_GNUC_PRINTF (2, 3)
static void
set_invalid (GError **error, const char *reason_format, ...)
{
  g_autofree char *reason = NULL;
  va_list args;

  va_start (args, reason_format);
  reason = g_strdup_vprintf (reason_format, args);
  va_end (args);
  g_set_error (error, COFFER_ERROR, COFFER_ERROR_CREDENTIALS_INVALID, "%s\n%s", INVALID_MESSAGE,
               reason);
}

static char *
format_day (gint64 unix_seconds)
{
  g_autoptr (GDateTime) utc = g_date_time_new_from_unix_utc (unix_seconds);

  return g_date_time_format (utc, "%Y-%m-%d %H:%M UTC");
}

static void
hmac_sha256 (GBytes *key, const void *data, gsize size, guint8 out[32])
{
  gsize key_size;
  const guint8 *key_data = g_bytes_get_data (key, &key_size);

  coffer_hmac_sha256 (key_data, key_size, data, size, out);
}

static char *
hex (const guint8 *data, gsize size)
{
  GString *text = g_string_sized_new (size * 2);

  for (gsize i = 0; i < size; i++)
    g_string_append_printf (text, "%02x", data[i]);
  return g_string_free (text, FALSE);
}

/* Whether a store descriptor from a file has a type and only strings for
 * the members FORMAT.md gives: what reads it takes them as strings. */
static gboolean
descriptor_is_valid (JsonObject *descriptor)
{
  static const char *const members[] = {
    "type", "path", "endpoint", "account", "container", "auth", "key", "sas",
  };

  if (!json_object_has_member (descriptor, "type"))
    return FALSE;
  for (gsize i = 0; i < G_N_ELEMENTS (members); i++)
    {
      JsonNode *node = json_object_get_member (descriptor, members[i]);

      if (node != NULL &&
          (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING))
        return FALSE;
    }
  return TRUE;
}

/* Finds where the "mac" member starts: the MAC covers every byte before. */
static gssize
mac_offset (const char *data, gsize size)
{
  for (gssize i = (gssize) size - strlen (MAC_MEMBER); i >= 0; i--)
    if (memcmp (data + i, MAC_MEMBER, strlen (MAC_MEMBER)) == 0)
      return i;
  return -1;
}

/**
 * coffer_credentials_parse:
 * @file: the bytes of a vault credentials file
 * @error: return location for a #GError
 *
 * Parses a credentials file and checks its MAC. Every failure is
 * %COFFER_ERROR_CREDENTIALS_INVALID with the reference's message, then a line
 * saying what is wrong.
 *
 * Returns: (transfer full): the credentials
 */
CofferCredentials *
coffer_credentials_parse (GBytes *file, GError **error)
{
  g_autoptr (CofferCredentials) credentials = NULL;
  g_autoptr (JsonObject) object = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autofree guint8 *secret = NULL;
  g_autofree char *expected_mac = NULL;
  g_autofree char *expected_tail = NULL;
  const char *data, *mac, *secret_text, *text;
  gsize size, secret_size = 0;
  gssize offset;
  gint64 format = 0;
  JsonNode *store;
  guint8 digest[32];

  g_return_val_if_fail (file != NULL, NULL);

  data = g_bytes_get_data (file, &size);
  if (size > COFFER_CREDENTIALS_MAX_SIZE)
    {
      set_invalid (error, "The file is too large to be a vault credentials file.");
      return NULL;
    }

  object = coffer_json_parse_object (file, "The file", &local_error);
  if (object == NULL)
    {
      set_invalid (error, "The file is not a vault credentials file: it cannot be read as one.");
      return NULL;
    }

  if (!coffer_json_get_int (object, "format", "The file", &format, &local_error) ||
      (text = coffer_json_get_string (object, "type", "The file", &local_error)) == NULL ||
      !g_str_equal (text, "coffer-vault-credentials"))
    {
      set_invalid (error, "The file is not a vault credentials file.");
      return NULL;
    }
  if (format > COFFER_CREDENTIALS_FORMAT)
    {
      set_invalid (error, "The file was made by a newer version of Coffer.");
      return NULL;
    }

  credentials = g_new0 (CofferCredentials, 1);
  if ((text = coffer_json_get_string (object, "vault_id", "The file", &local_error)) == NULL)
    goto damaged;
  credentials->vault_id = g_strdup (text);
  if ((text = coffer_json_get_string (object, "vault_name", "The file", &local_error)) == NULL)
    goto damaged;
  credentials->vault_name = g_strdup (text);
  if (!coffer_json_get_int (object, "serial", "The file", &credentials->serial, &local_error) ||
      !coffer_json_get_time (object, "issued", "The file", &credentials->issued, &local_error) ||
      !coffer_json_get_time (object, "expires", "The file", &credentials->expires, &local_error) ||
      (secret_text = coffer_json_get_string (object, "secret", "The file", &local_error)) == NULL ||
      (mac = coffer_json_get_string (object, "mac", "The file", &local_error)) == NULL)
    goto damaged;

  store = json_object_get_member (object, "store");
  if (store == NULL || !JSON_NODE_HOLDS_OBJECT (store) ||
      !descriptor_is_valid (json_node_get_object (store)))
    {
      set_invalid (error, "The file is damaged: it does not say where the vault is.");
      return NULL;
    }
  credentials->store = json_object_ref (json_node_get_object (store));

  secret = g_base64_decode (secret_text, &secret_size);
  if (secret_size != SECRET_SIZE)
    {
      set_invalid (error, "The file is damaged: its registration secret is not valid.");
      return NULL;
    }
  credentials->secret = g_bytes_new (secret, secret_size);

  offset = mac_offset (data, size);
  if (offset < 0)
    goto damaged;
  hmac_sha256 (credentials->secret, data, offset, digest);
  expected_mac = hex (digest, sizeof digest);
  /* Nothing may follow the MAC but the end of the object: then no byte of
   * the file can change unnoticed. */
  expected_tail = g_strdup_printf ("\"mac\" : \"%s\"\n}\n", expected_mac);
  if (size - offset != strlen (expected_tail) ||
      CRYPTO_memcmp (data + offset, expected_tail, strlen (expected_tail)) != 0)
    {
      set_invalid (error, "The file is damaged: its checksum does not match its contents.");
      return NULL;
    }

  OPENSSL_cleanse (secret, secret_size);
  return g_steal_pointer (&credentials);

damaged:
  set_invalid (error, "The file is damaged: %s",
               local_error != NULL ? local_error->message + strlen ("The file is damaged: ")
                                   : "its checksum is missing.");
  return NULL;
}

typedef struct
{
  gint64 serial;
  char *secret_sha256;
  gint64 issued;
  gint64 expires;
  char *etag;
} CurrentRecord;

static void
current_record_clear (CurrentRecord *record)
{
  g_free (record->secret_sha256);
  g_free (record->etag);
}

/* Reads credentials/current; *found is FALSE when none was ever issued. */
static gboolean
read_current (CofferStore *store,
              CurrentRecord *record,
              gboolean *found,
              GCancellable *cancellable,
              GError **error)
{
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (JsonObject) object = NULL;
  g_autoptr (GError) local_error = NULL;
  const char *hash;

  *found = FALSE;
  bytes = coffer_store_get_sync (store, CURRENT, 0, -1, &record->etag, cancellable, &local_error);
  if (bytes == NULL)
    {
      if (g_error_matches (local_error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND))
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  object = coffer_json_parse_object (bytes, CURRENT, error);
  if (object == NULL || !coffer_json_get_int (object, "serial", CURRENT, &record->serial, error) ||
      (hash = coffer_json_get_string (object, "secret_sha256", CURRENT, error)) == NULL ||
      !coffer_json_get_time (object, "issued", CURRENT, &record->issued, error) ||
      !coffer_json_get_time (object, "expires", CURRENT, &record->expires, error))
    return FALSE;
  record->secret_sha256 = g_strdup (hash);
  *found = TRUE;
  return TRUE;
}

/**
 * coffer_vault_read_credentials_record:
 * @vault: the vault
 * @out_found: (out): whether the vault holds a record
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Reads and checks credentials/current, the record of the credentials
 * file last issued (a check reads it; nothing else but registration does).
 *
 * Returns: %FALSE with @error set when it cannot be read or is damaged
 */
gboolean
coffer_vault_read_credentials_record (CofferVault *vault,
                                      gboolean *out_found,
                                      GCancellable *cancellable,
                                      GError **error)
{
  CurrentRecord current = { 0 };
  gboolean ok;

  g_return_val_if_fail (COFFER_IS_VAULT (vault), FALSE);
  g_return_val_if_fail (out_found != NULL, FALSE);

  ok = read_current (coffer_vault_get_store (vault), &current, out_found, cancellable, error);
  if (ok && *out_found && (current.serial < 1 || strlen (current.secret_sha256) != 64))
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT, "%s is damaged: %s", CURRENT,
                   current.serial < 1 ? "its serial is not positive"
                                      : "its secret hash is not one");
      ok = FALSE;
    }
  current_record_clear (&current);
  return ok;
}

/**
 * coffer_credentials_verify:
 * @credentials: a parsed credentials file
 * @vault: the vault it names, opened
 * @now: the time to judge expiry by, Unix seconds
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Checks the file against the vault's credentials record: it must be the
 * latest issued, carry the current secret, and not be past the recorded
 * expiry (%COFFER_ERROR_CREDENTIALS_EXPIRED).
 */
gboolean
coffer_credentials_verify (CofferCredentials *credentials,
                           CofferVault *vault,
                           gint64 now,
                           GCancellable *cancellable,
                           GError **error)
{
  CurrentRecord current = { 0 };
  g_autofree char *secret_hash = NULL;
  gboolean found;
  gboolean ok = FALSE;

  g_return_val_if_fail (credentials != NULL, FALSE);
  g_return_val_if_fail (COFFER_IS_VAULT (vault), FALSE);

  if (!g_str_equal (credentials->vault_id, coffer_vault_get_id (vault)))
    {
      set_invalid (error, "The file is for vault id %s, but the vault it leads to has id %s.",
                   credentials->vault_id, coffer_vault_get_id (vault));
      return FALSE;
    }

  if (!read_current (coffer_vault_get_store (vault), &current, &found, cancellable, error))
    goto out;
  if (!found)
    {
      set_invalid (error, "The vault has no record of any credentials file.");
      goto out;
    }

  secret_hash = coffer_sha256_hex_bytes (credentials->secret);
  if (credentials->serial < current.serial)
    {
      g_autofree char *when = format_day (current.issued);
      set_invalid (error, "A newer credentials file was issued on %s.", when);
    }
  else if (credentials->serial > current.serial ||
           !g_str_equal (secret_hash, current.secret_sha256))
    set_invalid (error, "The vault did not issue this file: its secret is not the vault's current "
                        "one.");
  else if (now > current.expires + COFFER_CREDENTIALS_CLOCK_SKEW)
    {
      g_autofree char *when = format_day (current.expires);
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_CREDENTIALS_EXPIRED,
                   "Vault credentials file provided has expired\n"
                   "It expired on %s. Issue a new one with “coffer vault credentials”.",
                   when);
    }
  else
    ok = TRUE;

out:
  current_record_clear (&current);
  return ok;
}

static GBytes *
current_json (gint64 serial, const char *secret_hash, gint64 issued, gint64 expires)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autofree char *issued_text = coffer_json_format_time (issued);
  g_autofree char *expires_text = coffer_json_format_time (expires);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "format");
  json_builder_add_int_value (builder, COFFER_CREDENTIALS_FORMAT);
  json_builder_set_member_name (builder, "serial");
  json_builder_add_int_value (builder, serial);
  json_builder_set_member_name (builder, "secret_sha256");
  json_builder_add_string_value (builder, secret_hash);
  json_builder_set_member_name (builder, "issued");
  json_builder_add_string_value (builder, issued_text);
  json_builder_set_member_name (builder, "expires");
  json_builder_add_string_value (builder, expires_text);
  json_builder_end_object (builder);
  return coffer_json_to_bytes (builder);
}

/* The file's text up to (not including) the "mac" member, which the MAC covers. */
static char *
file_body (CofferVault *vault,
           JsonObject *store_descriptor,
           gint64 serial,
           gint64 issued,
           gint64 expires,
           GBytes *secret)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (JsonNode) store = json_node_new (JSON_NODE_OBJECT);
  g_autofree char *issued_text = coffer_json_format_time (issued);
  g_autofree char *expires_text = coffer_json_format_time (expires);
  g_autofree char *secret_text = NULL;
  gsize size;
  const char *text;

  secret_text = g_base64_encode (g_bytes_get_data (secret, NULL), g_bytes_get_size (secret));
  json_node_set_object (store, store_descriptor);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "format");
  json_builder_add_int_value (builder, COFFER_CREDENTIALS_FORMAT);
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, "coffer-vault-credentials");
  json_builder_set_member_name (builder, "vault_id");
  json_builder_add_string_value (builder, coffer_vault_get_id (vault));
  json_builder_set_member_name (builder, "vault_name");
  json_builder_add_string_value (builder, coffer_vault_get_name (vault));
  json_builder_set_member_name (builder, "store");
  json_builder_add_value (builder, json_node_copy (store));
  json_builder_set_member_name (builder, "serial");
  json_builder_add_int_value (builder, serial);
  json_builder_set_member_name (builder, "issued");
  json_builder_add_string_value (builder, issued_text);
  json_builder_set_member_name (builder, "expires");
  json_builder_add_string_value (builder, expires_text);
  json_builder_set_member_name (builder, "secret");
  json_builder_add_string_value (builder, secret_text);
  json_builder_end_object (builder);
  bytes = coffer_json_to_bytes (builder);
  OPENSSL_cleanse (secret_text, strlen (secret_text));

  /* "{ … \"secret\" : \"…\"\n}\n" → "{ … \"secret\" : \"…\",\n  " */
  text = g_bytes_get_data (bytes, &size);
  g_assert (size > 3 && g_str_has_suffix (text, "\n}\n"));
  return g_strdup_printf ("%.*s,\n  ", (int) (size - 3), text);
}

/**
 * coffer_vault_issue_credentials:
 * @vault: the vault
 * @store_descriptor: how machines reach the vault, for the file
 * @now: the issue time, Unix seconds
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Issues a credentials file valid for 48 hours. Every earlier file stops
 * being valid for registration.
 *
 * Returns: (transfer full): the file's bytes, to be written 0600
 */
GBytes *
coffer_vault_issue_credentials (CofferVault *vault,
                                JsonObject *store_descriptor,
                                gint64 now,
                                GCancellable *cancellable,
                                GError **error)
{
  CofferStore *store;

  g_return_val_if_fail (COFFER_IS_VAULT (vault), NULL);
  g_return_val_if_fail (store_descriptor != NULL, NULL);

  store = coffer_vault_get_store (vault);

  /* Another issuer may bump the serial between our read and our put: then
   * read again and take the next one. */
  for (int attempt = 0; attempt < 8; attempt++)
    {
      CurrentRecord current = { 0 };
      g_autoptr (GBytes) secret = NULL;
      g_autoptr (GBytes) record = NULL;
      g_autoptr (GError) local_error = NULL;
      g_autofree char *secret_hash = NULL;
      g_autofree char *body = NULL;
      g_autofree char *mac = NULL;
      guint8 random[SECRET_SIZE];
      guint8 digest[32];
      gboolean found;
      gint64 expires = now + COFFER_CREDENTIALS_VALIDITY;

      if (!read_current (store, &current, &found, cancellable, error))
        {
          current_record_clear (&current);
          g_prefix_error (error, "Cannot read the vault's credentials record: ");
          return NULL;
        }

      coffer_random_bytes (random, sizeof random);
      secret = g_bytes_new (random, sizeof random);
      OPENSSL_cleanse (random, sizeof random);
      secret_hash = coffer_sha256_hex_bytes (secret);

      record = current_json (current.serial + 1, secret_hash, now, expires);
      if (!coffer_store_put_sync (store, CURRENT, record,
                                  found ? COFFER_PUT_IF_MATCH : COFFER_PUT_IF_ABSENT, current.etag,
                                  NULL, cancellable, &local_error))
        {
          current_record_clear (&current);
          if (g_error_matches (local_error, COFFER_ERROR, COFFER_ERROR_EXISTS) ||
              g_error_matches (local_error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND))
            continue;
          g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                      "Cannot record the new credentials in the vault: ");
          return NULL;
        }

      body = file_body (vault, store_descriptor, current.serial + 1, now, expires, secret);
      current_record_clear (&current);
      hmac_sha256 (secret, body, strlen (body), digest);
      mac = hex (digest, sizeof digest);
      {
        char *file = g_strdup_printf ("%s\"mac\" : \"%s\"\n}\n", body, mac);
        gsize length = strlen (file);

        OPENSSL_cleanse (body, strlen (body));
        return g_bytes_new_take (file, length);
      }
    }

  g_set_error (error, COFFER_ERROR, COFFER_ERROR_BUSY,
               "Cannot issue credentials: other credentials are being issued for this vault at the "
               "same time. Try again.");
  return NULL;
}

/**
 * coffer_credentials_file_name:
 * @vault_name: the vault's name
 * @issued: the issue time, Unix seconds
 *
 * Returns: (transfer full): `NAME_YYYY-MM-DD.VaultCredentials`
 */
char *
coffer_credentials_file_name (const char *vault_name, gint64 issued)
{
  g_autoptr (GDateTime) utc = g_date_time_new_from_unix_utc (issued);
  g_autofree char *day = g_date_time_format (utc, "%Y-%m-%d");

  return g_strdup_printf ("%s_%s.VaultCredentials", vault_name, day);
}

/**
 * coffer_store_descriptor_new_local:
 * @path: an absolute folder path
 *
 * Returns: (transfer full): {"type": "local", "path": @path}
 */
JsonObject *
coffer_store_descriptor_new_local (const char *path)
{
  JsonObject *descriptor = json_object_new ();

  json_object_set_string_member (descriptor, "type", "local");
  json_object_set_string_member (descriptor, "path", path);
  return descriptor;
}

/**
 * coffer_store_descriptor_new_azure:
 * @endpoint: the storage account's URL
 * @account: the storage account
 * @container: the container
 * @auth: how requests are authorized
 * @secret: the account key or the SAS token
 *
 * Returns: (transfer full): {"type": "azure", "endpoint": …, "account": …,
 *   "container": …, "auth": "shared-key"|"sas", "key"|"sas": @secret}
 */
JsonObject *
coffer_store_descriptor_new_azure (const char *endpoint,
                                   const char *account,
                                   const char *container,
                                   CofferAzureAuth auth,
                                   const char *secret)
{
  JsonObject *descriptor = json_object_new ();

  json_object_set_string_member (descriptor, "type", "azure");
  json_object_set_string_member (descriptor, "endpoint", endpoint);
  json_object_set_string_member (descriptor, "account", account);
  json_object_set_string_member (descriptor, "container", container);
  if (auth == COFFER_AZURE_AUTH_SAS)
    {
      json_object_set_string_member (descriptor, "auth", "sas");
      json_object_set_string_member (descriptor, "sas", secret);
    }
  else
    {
      json_object_set_string_member (descriptor, "auth", "shared-key");
      json_object_set_string_member (descriptor, "key", secret);
    }
  return descriptor;
}

/**
 * coffer_store_descriptor_has_secret:
 * @descriptor: how to reach a vault
 *
 * Returns: whether @descriptor carries a storage key or token, so that
 *   whatever file holds it must be private
 */
gboolean
coffer_store_descriptor_has_secret (JsonObject *descriptor)
{
  return json_object_has_member (descriptor, "key") || json_object_has_member (descriptor, "sas");
}

static CofferStore *
new_azure_store (JsonObject *descriptor,
                 const CofferProxyConfig *proxy,
                 guint concurrency,
                 GError **error)
{
  g_autoptr (CofferAzureConfig) config = g_new0 (CofferAzureConfig, 1);
  const char *auth = json_object_get_string_member_with_default (descriptor, "auth", "");

  config->endpoint =
      g_strdup (json_object_get_string_member_with_default (descriptor, "endpoint", ""));
  config->account =
      g_strdup (json_object_get_string_member_with_default (descriptor, "account", ""));
  config->container =
      g_strdup (json_object_get_string_member_with_default (descriptor, "container", ""));
  if (g_str_equal (auth, "sas"))
    {
      config->auth = COFFER_AZURE_AUTH_SAS;
      config->secret =
          g_strdup (json_object_get_string_member_with_default (descriptor, "sas", ""));
    }
  else if (g_str_equal (auth, "shared-key"))
    {
      config->auth = COFFER_AZURE_AUTH_SHARED_KEY;
      config->secret =
          g_strdup (json_object_get_string_member_with_default (descriptor, "key", ""));
    }
  else
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_NEWER_FORMAT,
                   "This vault is reached with “%s” authorization, which this version of Coffer "
                   "does not know.",
                   auth);
      return NULL;
    }
  config->concurrency = concurrency;
  config->proxy = proxy != NULL ? coffer_proxy_config_copy (proxy) : NULL;
  return coffer_azure_store_new (config, error);
}

/**
 * coffer_store_new_for_descriptor_full:
 * @descriptor: how to reach a vault, from a credentials file or the catalog
 * @path_override: (nullable): for a local vault, where it is mounted now
 * @proxy: (nullable): for a network vault, the proxy; %NULL for the system's
 * @concurrency: for a network vault, requests in flight; 0 for the default
 * @error: return location for a #GError
 *
 * Returns: (transfer full): a store for the vault
 */
CofferStore *
coffer_store_new_for_descriptor_full (JsonObject *descriptor,
                                      const char *path_override,
                                      const CofferProxyConfig *proxy,
                                      guint concurrency,
                                      GError **error)
{
  const char *type;
  const char *path;

  type = json_object_get_string_member_with_default (descriptor, "type", "");
  if (g_str_equal (type, "local"))
    {
      path = path_override != NULL
                 ? path_override
                 : json_object_get_string_member_with_default (descriptor, "path", "");
      if (!g_path_is_absolute (path))
        {
          g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                       "The vault's folder must be an absolute path, not “%s”.", path);
          return NULL;
        }
      return coffer_local_store_new (path);
    }
  if (g_str_equal (type, "azure"))
    return new_azure_store (descriptor, proxy, concurrency, error);

  g_set_error (error, COFFER_ERROR, COFFER_ERROR_NEWER_FORMAT,
               "This vault is stored in a “%s” store, which this version of Coffer cannot reach.",
               type);
  return NULL;
}

/**
 * coffer_store_new_for_descriptor:
 * @descriptor: how to reach a vault, from a credentials file or the catalog
 * @path_override: (nullable): for a local vault, where it is mounted now
 * @error: return location for a #GError
 *
 * Like coffer_store_new_for_descriptor_full() with the system's proxy and
 * the default concurrency.
 *
 * Returns: (transfer full): a store for the vault
 */
CofferStore *
coffer_store_new_for_descriptor (JsonObject *descriptor, const char *path_override, GError **error)
{
  return coffer_store_new_for_descriptor_full (descriptor, path_override, NULL, 0, error);
}

/**
 * coffer_store_descriptor_to_location:
 * @descriptor: how to reach a vault
 *
 * Returns: (transfer full): where the vault is, as a user would write it
 */
char *
coffer_store_descriptor_to_location (JsonObject *descriptor)
{
  const char *type = json_object_get_string_member_with_default (descriptor, "type", "");

  if (g_str_equal (type, "local"))
    return g_strdup (json_object_get_string_member_with_default (descriptor, "path", ""));
  if (g_str_equal (type, "azure"))
    return g_strdup_printf (
        "azure://%s/%s", json_object_get_string_member_with_default (descriptor, "account", ""),
        json_object_get_string_member_with_default (descriptor, "container", ""));
  return g_strdup_printf ("%s store", type);
}
