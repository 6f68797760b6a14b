/* coffer-azure-store.c: a vault in an Azure Blob Storage container.
 *
 * The object-store operations map onto the Blob REST API, version
 * COFFER_AZURE_API_VERSION pinned in x-ms-version:
 *
 *   put     Put Blob, single shot (no object exceeds 64 MiB, so no block
 *           lists), with Content-MD5; If-None-Match: * for put-if-absent
 *           (409 or 412: it exists), If-Match: ETAG for put-if-match
 *   get     Get Blob, with x-ms-range for a part
 *   list    List Blobs, page after page (marker)
 *   stat    Get Blob Properties (HEAD)
 *   delete  Delete Blob; 404 counts as done
 *
 * Requests are authorized with Shared Key (an HMAC-SHA256 of the canonical
 * request, keyed by the account key) or carry a SAS token on their URL.
 *
 * Threads: a SoupSession must be used from one thread only, while the
 * store's _sync methods are called from several worker threads at once. The
 * store therefore runs its own I/O thread with its own GMainContext, which
 * owns the session: a caller builds and signs a request, hands it to that
 * thread, and waits for the answer. The session keeps `concurrency`
 * connections to the host (max-conns-per-host), so that many requests run in
 * parallel. A session's proxy cannot change after its first request: a new
 * proxy means a new store.
 *
 * Transient failures (408, 429, 500, 502, 503, 504 and transport errors) are
 * retried with exponential backoff and full jitter until the retry budget
 * (15 minutes; COFFER_STORE_RETRY_SECONDS overrides it) is spent; the number
 * of retries since the service last answered is what coffer_store_get_retries()
 * reports, which a job shows as "retrying (n)". 401, 403, 404 and 416 are answers, not
 * accidents: they fail at once, in plain words.
 */
#include "config.h"

#include "coffer-azure-store.h"

#include "coffer-crypto.h"
#include "coffer-error.h"
#include "coffer-paced-stream.h"

#include <libsoup/soup.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#define LIST_PAGE 5000
#define BACKOFF_FIRST_MS 500
#define BACKOFF_MAX_MS 30000

struct _CofferAzureStore
{
  GObject parent_instance;

  CofferAzureConfig *config;
  char *endpoint_path; /* the endpoint URL's path, "" or "/ACCOUNT" */
  char *sas;           /* the SAS token without its '?', or NULL */
  gint64 retry_budget; /* microseconds */
  /* "Basic …" for a plain-http endpoint behind a custom proxy: sent with
   * every request, because libsoup loses a request's body when it repeats
   * the request after a 407 challenge. */
  char *proxy_authorization;

  GThread *thread;
  GMainContext *context;
  GMainLoop *loop;
  SoupSession *session; /* only touched in the I/O thread */

  gint retries;        /* atomic: retries since the service last answered, 0 when none */
  gint64 clock_offset; /* atomic: the service's Date minus this machine's clock, µs */
};

static void coffer_azure_store_iface_init (CofferStoreInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (CofferAzureStore,
                               coffer_azure_store,
                               G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (COFFER_TYPE_STORE,
                                                      coffer_azure_store_iface_init))

void
coffer_azure_config_free (CofferAzureConfig *config)
{
  if (config == NULL)
    return;
  g_free (config->endpoint);
  g_free (config->account);
  g_free (config->container);
  if (config->secret != NULL)
    OPENSSL_cleanse (config->secret, strlen (config->secret));
  g_free (config->secret);
  g_clear_pointer (&config->proxy, coffer_proxy_config_free);
  g_free (config);
}

static CofferAzureConfig *
config_copy (const CofferAzureConfig *config)
{
  CofferAzureConfig *copy = g_new0 (CofferAzureConfig, 1);

  copy->endpoint = g_strdup (config->endpoint);
  copy->account = g_strdup (config->account);
  copy->container = g_strdup (config->container);
  copy->auth = config->auth;
  copy->secret = g_strdup (config->secret);
  copy->concurrency = config->concurrency;
  copy->proxy = config->proxy != NULL ? coffer_proxy_config_copy (config->proxy) : NULL;
  return copy;
}

/* ---- Signing ------------------------------------------------------------- */

static const char *
header_value (const char *const *headers, const char *name)
{
  for (guint i = 0; headers != NULL && headers[i] != NULL; i += 2)
    if (g_ascii_strcasecmp (headers[i], name) == 0)
      return headers[i + 1];
  return NULL;
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/**
 * coffer_azure_string_to_sign:
 * @method: "GET", "PUT"…
 * @account: the storage account
 * @path: the request URL's path, as sent (percent-encoded)
 * @query: (nullable): the query string, as sent, without '?' or the SAS
 * @headers: (array zero-terminated=1): name, value, name, value… as sent
 *
 * The Shared Key string to sign (2009-09-19 and later, with an empty
 * Content-Length for an empty body).
 *
 * Returns: (transfer full): the string
 */
char *
coffer_azure_string_to_sign (const char *method,
                             const char *account,
                             const char *path,
                             const char *query,
                             const char *const *headers)
{
  static const char *const standard[] = {
    "Content-Encoding",
    "Content-Language",
    "Content-Length",
    "Content-MD5",
    "Content-Type",
    "Date",
    "If-Modified-Since",
    "If-Match",
    "If-None-Match",
    "If-Unmodified-Since",
    "Range",
  };
  GString *text = g_string_new (method);
  g_autoptr (GPtrArray) ms = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) params = g_ptr_array_new_with_free_func (g_free);

  g_string_append_c (text, '\n');
  for (guint i = 0; i < G_N_ELEMENTS (standard); i++)
    {
      const char *value = header_value (headers, standard[i]);

      if (g_str_equal (standard[i], "Content-Length") && g_strcmp0 (value, "0") == 0)
        value = NULL;
      g_string_append_printf (text, "%s\n", value != NULL ? value : "");
    }

  for (guint i = 0; headers != NULL && headers[i] != NULL; i += 2)
    if (g_ascii_strncasecmp (headers[i], "x-ms-", 5) == 0)
      {
        g_autofree char *name = g_ascii_strdown (headers[i], -1);
        g_autofree char *value = g_strstrip (g_strdup (headers[i + 1]));
        g_ptr_array_add (ms, g_strdup_printf ("%s:%s", name, value));
      }
  g_ptr_array_sort (ms, compare_strings);
  for (guint i = 0; i < ms->len; i++)
    g_string_append_printf (text, "%s\n", (char *) g_ptr_array_index (ms, i));

  g_string_append_printf (text, "/%s%s", account, path);
  if (query != NULL && *query != '\0')
    {
      g_auto (GStrv) pairs = g_strsplit (query, "&", -1);

      for (guint i = 0; pairs[i] != NULL; i++)
        {
          char *equals = strchr (pairs[i], '=');
          g_autofree char *name = NULL;
          g_autofree char *value = NULL;
          g_autofree char *lower = NULL;

          if (equals != NULL)
            *equals = '\0';
          name = g_uri_unescape_string (pairs[i], NULL);
          value = equals != NULL ? g_uri_unescape_string (equals + 1, NULL) : g_strdup ("");
          lower = g_ascii_strdown (name != NULL ? name : "", -1);
          g_ptr_array_add (params, g_strdup_printf ("%s:%s", lower, value != NULL ? value : ""));
        }
      g_ptr_array_sort (params, compare_strings);
      for (guint i = 0; i < params->len; i++)
        g_string_append_printf (text, "\n%s", (char *) g_ptr_array_index (params, i));
    }
  return g_string_free (text, FALSE);
}

/**
 * coffer_azure_sign:
 * @key_base64: the storage account key
 * @string_to_sign: from coffer_azure_string_to_sign()
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the base64 HMAC-SHA256 signature
 */
char *
coffer_azure_sign (const char *key_base64, const char *string_to_sign, GError **error)
{
  g_autofree guint8 *key = NULL;
  gsize key_size = 0;
  guint8 digest[32];
  char *signature;

  key = g_base64_decode (key_base64, &key_size);
  if (key_size == 0)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "The storage account key is not valid: it must be the key in base64, as the "
                   "Azure portal shows it.");
      return NULL;
    }
  coffer_hmac_sha256 (key, key_size, string_to_sign, strlen (string_to_sign), digest);
  OPENSSL_cleanse (key, key_size);
  signature = g_base64_encode (digest, sizeof digest);
  OPENSSL_cleanse (digest, sizeof digest);
  return signature;
}

/* ---- Locations ----------------------------------------------------------- */

/**
 * coffer_azure_default_endpoint:
 * @account: a storage account
 *
 * Returns: (transfer full): "https://@account.blob.core.windows.net"
 */
char *
coffer_azure_default_endpoint (const char *account)
{
  return g_strdup_printf ("https://%s.blob.core.windows.net", account);
}

static gboolean
account_is_valid (const char *account)
{
  gsize length = strlen (account);

  if (length < 3 || length > 24)
    return FALSE;
  for (const char *p = account; *p != '\0'; p++)
    if (!g_ascii_islower (*p) && !g_ascii_isdigit (*p))
      return FALSE;
  return TRUE;
}

static gboolean
container_is_valid (const char *container)
{
  gsize length = strlen (container);

  if (length < 3 || length > 63 || container[0] == '-' || container[length - 1] == '-' ||
      strstr (container, "--") != NULL)
    return FALSE;
  for (const char *p = container; *p != '\0'; p++)
    if (!g_ascii_islower (*p) && !g_ascii_isdigit (*p) && *p != '-')
      return FALSE;
  return TRUE;
}

/**
 * coffer_azure_parse_location:
 * @location: "azure://ACCOUNT/CONTAINER"
 * @out_account: (out): the account
 * @out_container: (out): the container
 * @error: return location for a #GError
 *
 * Returns: %TRUE when @location names a valid account and container
 */
gboolean
coffer_azure_parse_location (const char *location,
                             char **out_account,
                             char **out_container,
                             GError **error)
{
  g_auto (GStrv) parts = NULL;

  if (!g_str_has_prefix (location, "azure://"))
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "“%s” is not an Azure location: write azure://ACCOUNT/CONTAINER.", location);
      return FALSE;
    }
  parts = g_strsplit (location + strlen ("azure://"), "/", -1);
  if (g_strv_length (parts) == 3 && *parts[2] == '\0')
    {
      g_free (parts[2]);
      parts[2] = NULL;
    }
  if (g_strv_length (parts) != 2 || !account_is_valid (parts[0]))
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "“%s” does not name a storage account and a container: write "
                   "azure://ACCOUNT/CONTAINER, the account in 3–24 lower-case letters and digits.",
                   location);
      return FALSE;
    }
  if (!container_is_valid (parts[1]))
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "“%s” is not a valid container name: use 3–63 lower-case letters, digits and "
                   "single hyphens, starting and ending with a letter or digit.",
                   parts[1]);
      return FALSE;
    }
  *out_account = g_strdup (parts[0]);
  *out_container = g_strdup (parts[1]);
  return TRUE;
}

/* ---- The I/O thread -------------------------------------------------------- */

typedef struct
{
  gint ref_count;
  CofferAzureStore *self; /* not a reference: the store outlives its requests */

  /* Set by the caller before the request is handed over. */
  char *method;
  char *url;
  GPtrArray *headers; /* name, value, name, value… */
  GBytes *body;
  CofferStorePacer *pacer; /* when throttled: the body is read at its pace */

  /* Set in the I/O thread; read by the caller once done. */
  GMutex lock;
  GCond cond;
  gboolean done;
  GCancellable *io_cancellable;
  guint status;
  char *reason;
  SoupMessageHeaders *response_headers;
  GBytes *response_body;
  GError *error;
} Request;

static Request *
request_ref (Request *request)
{
  g_atomic_int_inc (&request->ref_count);
  return request;
}

static void
request_unref (Request *request)
{
  if (!g_atomic_int_dec_and_test (&request->ref_count))
    return;
  g_free (request->method);
  g_free (request->url);
  g_clear_pointer (&request->headers, g_ptr_array_unref);
  g_clear_pointer (&request->body, g_bytes_unref);
  g_clear_pointer (&request->pacer, coffer_store_pacer_unref);
  g_mutex_clear (&request->lock);
  g_cond_clear (&request->cond);
  g_clear_object (&request->io_cancellable);
  g_free (request->reason);
  g_clear_pointer (&request->response_headers, soup_message_headers_unref);
  g_clear_pointer (&request->response_body, g_bytes_unref);
  g_clear_error (&request->error);
  g_free (request);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Request, request_unref)

static gboolean
authenticate_cb (SoupMessage *message, SoupAuth *auth, gboolean retrying, gpointer user_data)
{
  CofferAzureStore *self = user_data;
  const CofferProxyConfig *proxy = self->config->proxy;

  /* Only the proxy asks: the storage service never does. A second ask means
   * the password was wrong; the 407 then reaches the caller. */
  if (!soup_auth_is_for_proxy (auth) || retrying || proxy == NULL || proxy->username == NULL)
    return FALSE;
  soup_auth_authenticate (auth, proxy->username, proxy->password != NULL ? proxy->password : "");
  return TRUE;
}

/* Every message the session sends, the proxy's CONNECT for an https
 * endpoint included, answers the proxy's challenge. */
static void
request_queued_cb (SoupSession *session, SoupMessage *message, gpointer user_data)
{
  g_signal_connect (message, "authenticate", G_CALLBACK (authenticate_cb), user_data);
}

static void
request_unqueued_cb (SoupSession *session, SoupMessage *message, gpointer user_data)
{
  g_signal_handlers_disconnect_by_func (message, authenticate_cb, user_data);
}

static void
request_finish (Request *request, SoupMessage *message, GBytes *body, GError *error)
{
  g_mutex_lock (&request->lock);
  if (error != NULL)
    request->error = error;
  else
    {
      request->status = soup_message_get_status (message);
      request->reason = g_strdup (soup_message_get_reason_phrase (message));
      request->response_headers =
          soup_message_headers_ref (soup_message_get_response_headers (message));
      request->response_body = body;
    }
  request->done = TRUE;
  g_cond_broadcast (&request->cond);
  g_mutex_unlock (&request->lock);
}

static void
sent_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (Request) request = user_data;
  SoupMessage *message = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  GError *error = NULL;
  GBytes *body;

  body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  request_finish (request, message, body, error);
}

static void
request_closure_unref (gpointer data, GClosure *closure)
{
  request_unref (data);
}

/* libsoup drops a request's body when it sends the request again (after a
 * proxy's 407, or when a kept-alive connection turned out closed): give it
 * back, or the service would get an empty put. */
static void
set_body (Request *request, SoupMessage *message, const char *content_type)
{
  g_autoptr (GInputStream) paced = NULL;

  if (request->pacer == NULL)
    {
      soup_message_set_request_body_from_bytes (message, content_type, request->body);
      return;
    }
  /* Throttled: the body leaves at the throttle's pace (coffer-paced-stream.c). */
  paced = coffer_paced_stream_new (request->body, request->pacer);
  soup_message_set_request_body (message, content_type, paced, g_bytes_get_size (request->body));
}

static void
restarted_cb (SoupMessage *message, gpointer user_data)
{
  Request *request = user_data;

  if (request->body != NULL)
    set_body (request, message, "application/octet-stream");
}

/* In the I/O thread: sends one request. */
static gboolean
start_request_cb (gpointer user_data)
{
  Request *request = user_data;
  CofferAzureStore *self = request->self;
  g_autoptr (SoupMessage) message = NULL;
  SoupMessageHeaders *headers;
  const char *content_type = NULL;

  message = soup_message_new (request->method, request->url);
  if (message == NULL)
    {
      request_finish (request, NULL, NULL,
                      g_error_new (COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                                   "“%s” is not a valid URL", request->url));
      return G_SOURCE_REMOVE;
    }
  headers = soup_message_get_request_headers (message);
  for (guint i = 0; i < request->headers->len; i += 2)
    {
      const char *name = g_ptr_array_index (request->headers, i);
      const char *value = g_ptr_array_index (request->headers, i + 1);

      if (g_ascii_strcasecmp (name, "Content-Type") == 0)
        content_type = value;
      else if (g_ascii_strcasecmp (name, "Content-Length") != 0)
        soup_message_headers_replace (headers, name, value);
    }
  if (request->body != NULL)
    set_body (request, message, content_type);
  g_signal_connect_data (message, "restarted", G_CALLBACK (restarted_cb), request_ref (request),
                         request_closure_unref, 0);

  soup_session_send_and_read_async (self->session, message, G_PRIORITY_DEFAULT,
                                    request->io_cancellable, sent_cb, request_ref (request));
  return G_SOURCE_REMOVE;
}

/* Runs @func in the I/O thread. Never g_main_context_invoke(): it would run
 * @func in the calling thread while the I/O thread does not hold the context. */
static void
io_invoke (CofferAzureStore *self, GSourceFunc func, gpointer data, GDestroyNotify destroy)
{
  GSource *source = g_idle_source_new ();

  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, func, data, destroy);
  g_source_attach (source, self->context);
  g_source_unref (source);
}

static gboolean
cancel_request_cb (gpointer user_data)
{
  Request *request = user_data;

  g_cancellable_cancel (request->io_cancellable);
  return G_SOURCE_REMOVE;
}

static void create_session (CofferAzureStore *self);

static gpointer
io_thread (gpointer user_data)
{
  CofferAzureStore *self = user_data;

  g_main_context_push_thread_default (self->context);
  create_session (self);
  g_main_loop_run (self->loop);
  /* Let the session finish what it has under way, then drop it here, in the
   * thread that used it. */
  g_clear_object (&self->session);
  while (g_main_context_iteration (self->context, FALSE))
    ;
  g_main_context_pop_thread_default (self->context);
  return NULL;
}

static void
create_session (CofferAzureStore *self)
{
  const CofferProxyConfig *proxy = self->config->proxy;
  guint conns = MAX (self->config->concurrency, 1);

  self->session = soup_session_new_with_options (
      "max-conns-per-host", conns, "max-conns", MAX (conns * 2, 10), "timeout", 300, "idle-timeout",
      60, "user-agent", "Coffer/" PACKAGE_VERSION, NULL);
  if (proxy != NULL && proxy->mode == COFFER_PROXY_NONE)
    soup_session_set_proxy_resolver (self->session, NULL);
  else if (proxy != NULL && proxy->mode == COFFER_PROXY_CUSTOM)
    {
      g_autofree char *uri = coffer_proxy_config_to_uri (proxy);
      g_autoptr (GProxyResolver) resolver = g_simple_proxy_resolver_new (uri, NULL);

      soup_session_set_proxy_resolver (self->session, resolver);
    }
  /* COFFER_PROXY_SYSTEM: the session's default, g_proxy_resolver_get_default(). */
  g_signal_connect (self->session, "request-queued", G_CALLBACK (request_queued_cb), self);
  g_signal_connect (self->session, "request-unqueued", G_CALLBACK (request_unqueued_cb), self);
}

/* Hands @request to the I/O thread and waits for its answer, or for
 * @cancellable. */
static void
request_run (Request *request, GCancellable *cancellable)
{
  CofferAzureStore *self = request->self;
  gboolean cancel_sent = FALSE;

  request->io_cancellable = g_cancellable_new ();
  io_invoke (self, start_request_cb, request_ref (request), (GDestroyNotify) request_unref);

  g_mutex_lock (&request->lock);
  while (!request->done)
    {
      gint64 until = g_get_monotonic_time () + G_USEC_PER_SEC / 10;

      g_cond_wait_until (&request->cond, &request->lock, until);
      if (!request->done && !cancel_sent && g_cancellable_is_cancelled (cancellable))
        {
          cancel_sent = TRUE;
          io_invoke (self, cancel_request_cb, request_ref (request),
                     (GDestroyNotify) request_unref);
        }
    }
  g_mutex_unlock (&request->lock);
}

/* ---- Requests, signed and retried ------------------------------------------ */

typedef struct
{
  guint status;
  SoupMessageHeaders *headers;
  GBytes *body;
} Response;

static void
response_free (Response *response)
{
  if (response == NULL)
    return;
  g_clear_pointer (&response->headers, soup_message_headers_unref);
  g_clear_pointer (&response->body, g_bytes_unref);
  g_free (response);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Response, response_free)

static char *
http_date_now (void)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();

  return soup_date_time_to_string (now, SOUP_DATE_HTTP);
}

static gboolean
status_is_transient (guint status)
{
  return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 ||
         status == 504;
}

static char *
describe_store (CofferAzureStore *self)
{
  return g_strdup_printf ("%s/%s", self->config->endpoint, self->config->container);
}

/* The error for a transport failure, naming the proxy when it is the proxy
 * that cannot be reached. */
static GError *
transport_error (CofferAzureStore *self, const GError *cause)
{
  const CofferProxyConfig *proxy = self->config->proxy;
  g_autofree char *where = describe_store (self);

  if (proxy != NULL && proxy->mode == COFFER_PROXY_CUSTOM &&
      (g_error_matches (cause, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED) ||
       g_error_matches (cause, G_IO_ERROR, G_IO_ERROR_PROXY_FAILED) ||
       g_error_matches (cause, G_IO_ERROR, G_IO_ERROR_HOST_UNREACHABLE) ||
       g_error_matches (cause, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE) ||
       cause->domain == G_RESOLVER_ERROR))
    return g_error_new (COFFER_ERROR, COFFER_ERROR_VAULT_UNREACHABLE,
                        "The proxy server %s:%u cannot be reached (%s)", proxy->host, proxy->port,
                        cause->message);
  return g_error_new (COFFER_ERROR, COFFER_ERROR_VAULT_UNREACHABLE,
                      "The vault at %s cannot be reached: %s", where, cause->message);
}

/* The <Code> of an Azure error body, if any. */
static char *
error_code (Response *response)
{
  const char *code = NULL;

  if (response->headers != NULL)
    code = soup_message_headers_get_one (response->headers, "x-ms-error-code");
  if (code == NULL && response->body != NULL)
    {
      gsize size;
      const char *data = g_bytes_get_data (response->body, &size);
      g_autofree char *text = g_strndup (data, size);
      char *start = strstr (text, "<Code>");
      char *end = start != NULL ? strstr (start, "</Code>") : NULL;

      if (end != NULL)
        return g_strndup (start + 6, end - start - 6);
    }
  return g_strdup (code != NULL ? code : "");
}

/* The error for a final, unsuccessful answer about @name. */
static GError *
status_error (CofferAzureStore *self, Response *response, const char *name)
{
  g_autofree char *code = error_code (response);
  g_autofree char *where = describe_store (self);
  const char *what = name != NULL ? name : where;

  /* The storage service marks every answer with a request id; an answer
   * without one came from the proxy (tinyproxy, for one, refuses a wrong
   * password with 401, not 407). */
  if ((response->status == 401 || response->status == 407) && self->config->proxy != NULL &&
      self->config->proxy->mode != COFFER_PROXY_NONE &&
      soup_message_headers_get_one (response->headers, "x-ms-request-id") == NULL)
    return g_error_new (COFFER_ERROR, COFFER_ERROR_PROXY_AUTH,
                        "The proxy server rejected the user name or password");

  switch (response->status)
    {
      case 401:
      case 403:
        if (self->config->auth == COFFER_AZURE_AUTH_SAS)
          return g_error_new (COFFER_ERROR, COFFER_ERROR_AUTH_REJECTED,
                              "The shared access signature was rejected: it may have expired or "
                              "lack a permission (read, add, create, write, delete, list) on %s "
                              "(%s).",
                              where, code);
        return g_error_new (COFFER_ERROR, COFFER_ERROR_AUTH_REJECTED,
                            "The storage account key was rejected by %s (%s). Check that the key "
                            "belongs to account “%s” and has not been rotated.",
                            where, code, self->config->account);
      case 407:
        return g_error_new (COFFER_ERROR, COFFER_ERROR_PROXY_AUTH,
                            "The proxy server rejected the user name or password");
      case 404:
        if (g_str_equal (code, "ContainerNotFound"))
          return g_error_new (COFFER_ERROR, COFFER_ERROR_VAULT_UNREACHABLE,
                              "The vault at %s cannot be reached: the container “%s” does not "
                              "exist.",
                              where, self->config->container);
        return g_error_new (COFFER_ERROR, COFFER_ERROR_NOT_FOUND, "%s does not exist in the vault",
                            what);
      case 409:
      case 412:
        return g_error_new (COFFER_ERROR, COFFER_ERROR_EXISTS,
                            "%s exists already or was changed meanwhile", what);
      case 416:
        return g_error_new (COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                            "Cannot read %s at the range asked for (range not satisfiable)", what);
      default:
        return g_error_new (COFFER_ERROR, COFFER_ERROR_FAILED,
                            "The storage service at %s answered %u%s%s about %s", where,
                            response->status, *code != '\0' ? " " : "", code, what);
    }
}

static char *
escape_name (const char *name)
{
  return g_uri_escape_string (name, "/", FALSE);
}

/* Sleeps @ms milliseconds unless @cancellable fires first. */
static gboolean
sleep_cancellable (guint ms, GCancellable *cancellable, GError **error)
{
  gint64 until = g_get_monotonic_time () + (gint64) ms * 1000;

  while (g_get_monotonic_time () < until)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      g_usleep (MIN (100000, MAX (0, until - g_get_monotonic_time ())));
    }
  return !g_cancellable_set_error_if_cancelled (cancellable, error);
}

/**
 * perform:
 * @self: the store
 * @method: the HTTP method
 * @name: (nullable): the object, or %NULL for the container
 * @query: (nullable): the query string, without the SAS
 * @extra: (nullable): extra headers, name, value… %NULL-terminated
 * @body: (nullable): the request body
 *
 * Sends a request, retrying transient failures within the retry budget.
 * Returns the final answer, whatever its status, or %NULL with a transport
 * error (or cancellation) once the budget is spent.
 */
static Response *
perform (CofferAzureStore *self,
         const char *method,
         const char *name,
         const char *query,
         const char *const *extra,
         GBytes *body,
         GCancellable *cancellable,
         GError **error)
{
  g_autofree char *escaped = name != NULL ? escape_name (name) : NULL;
  g_autofree char *path = NULL;
  g_autofree char *url = NULL;
  gint64 deadline = g_get_monotonic_time () + self->retry_budget;
  g_autoptr (GError) last_error = NULL;
  guint last_status = 0;

  path = name != NULL
             ? g_strdup_printf ("%s/%s/%s", self->endpoint_path, self->config->container, escaped)
             : g_strdup_printf ("%s/%s", self->endpoint_path, self->config->container);
  {
    GString *u = g_string_new (self->config->endpoint);
    const char *sep = "?";

    g_string_append_printf (u, "/%s", self->config->container);
    if (name != NULL)
      g_string_append_printf (u, "/%s", escaped);
    if (query != NULL && *query != '\0')
      {
        g_string_append_printf (u, "?%s", query);
        sep = "&";
      }
    if (self->sas != NULL)
      g_string_append_printf (u, "%s%s", sep, self->sas);
    url = g_string_free (u, FALSE);
  }

  for (guint attempt = 0;; attempt++)
    {
      g_autoptr (Request) request = g_new0 (Request, 1);
      g_autofree char *date = http_date_now ();
      g_autofree char *length = NULL;

      request->ref_count = 1;
      request->self = self;
      g_mutex_init (&request->lock);
      g_cond_init (&request->cond);
      request->method = g_strdup (method);
      request->url = g_strdup (url);
      request->body = body != NULL ? g_bytes_ref (body) : NULL;
      /* Under a throttled store, the body is paced as it is sent (from the
       * I/O thread's reads), not paid for as a whole when the put returns. */
      request->pacer = body != NULL ? coffer_store_pacer_claim (g_bytes_get_size (body)) : NULL;
      request->headers = g_ptr_array_new_with_free_func (g_free);
      g_ptr_array_add (request->headers, g_strdup ("x-ms-date"));
      g_ptr_array_add (request->headers, g_strdup (date));
      g_ptr_array_add (request->headers, g_strdup ("x-ms-version"));
      g_ptr_array_add (request->headers, g_strdup (COFFER_AZURE_API_VERSION));
      if (body != NULL)
        {
          length = g_strdup_printf ("%" G_GSIZE_FORMAT, g_bytes_get_size (body));
          g_ptr_array_add (request->headers, g_strdup ("Content-Length"));
          g_ptr_array_add (request->headers, g_strdup (length));
          g_ptr_array_add (request->headers, g_strdup ("Content-Type"));
          g_ptr_array_add (request->headers, g_strdup ("application/octet-stream"));
        }
      for (guint i = 0; extra != NULL && extra[i] != NULL; i += 2)
        {
          g_ptr_array_add (request->headers, g_strdup (extra[i]));
          g_ptr_array_add (request->headers, g_strdup (extra[i + 1]));
        }
      if (self->proxy_authorization != NULL)
        {
          g_ptr_array_add (request->headers, g_strdup ("Proxy-Authorization"));
          g_ptr_array_add (request->headers, g_strdup (self->proxy_authorization));
        }
      if (self->config->auth == COFFER_AZURE_AUTH_SHARED_KEY)
        {
          g_autofree char *to_sign = NULL;
          g_autofree char *signature = NULL;

          g_ptr_array_add (request->headers, NULL);
          to_sign = coffer_azure_string_to_sign (method, self->config->account, path, query,
                                                 (const char *const *) request->headers->pdata);
          g_ptr_array_remove_index (request->headers, request->headers->len - 1);
          signature = coffer_azure_sign (self->config->secret, to_sign, error);
          if (signature == NULL)
            return NULL;
          g_ptr_array_add (request->headers, g_strdup ("Authorization"));
          g_ptr_array_add (request->headers,
                           g_strdup_printf ("SharedKey %s:%s", self->config->account, signature));
        }

      request_run (request, cancellable);

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return NULL;
      /* An untrusted certificate does not fix itself: never retried, and
       * never accepted. */
      if (request->error != NULL && request->error->domain == G_TLS_ERROR)
        {
          g_autofree char *where = describe_store (self);

          g_set_error (error, COFFER_ERROR, COFFER_ERROR_VAULT_UNREACHABLE,
                       "The vault at %s cannot be reached safely: its TLS certificate cannot be "
                       "trusted (%s).",
                       where, request->error->message);
          return NULL;
        }
      if (request->error == NULL && !status_is_transient (request->status))
        {
          Response *response = g_new0 (Response, 1);
          const char *date = soup_message_headers_get_one (request->response_headers, "Date");

          /* The service's clock, for lock staleness (to the second). */
          if (date != NULL)
            {
              g_autoptr (GDateTime) when = soup_date_time_new_from_http_string (date);

              if (when != NULL)
                __atomic_store_n (&self->clock_offset,
                                  g_date_time_to_unix (when) * G_USEC_PER_SEC - g_get_real_time (),
                                  __ATOMIC_RELAXED);
            }
          response->status = request->status;
          response->headers = g_steal_pointer (&request->response_headers);
          response->body = g_steal_pointer (&request->response_body);
          if (g_atomic_int_get (&self->retries) != 0)
            g_atomic_int_set (&self->retries, 0);
          return response;
        }

      g_clear_error (&last_error);
      if (request->error != NULL)
        {
          last_error = g_steal_pointer (&request->error);
          g_debug ("%s %s: %s (attempt %u)", method, name != NULL ? name : "(container)",
                   last_error->message, attempt + 1);
        }
      else
        {
          last_status = request->status;
          g_debug ("%s %s: HTTP %u (attempt %u)", method, name != NULL ? name : "(container)",
                   last_status, attempt + 1);
        }

      {
        guint cap = MIN ((guint64) BACKOFF_MAX_MS, (guint64) BACKOFF_FIRST_MS << MIN (attempt, 16));
        guint delay = g_random_int_range (cap / 4, cap + 1);

        if (g_get_monotonic_time () + (gint64) delay * 1000 > deadline)
          break;
        g_atomic_int_inc (&self->retries);
        if (!sleep_cancellable (delay, cancellable, error))
          return NULL;
      }
    }

  g_atomic_int_set (&self->retries, 0);
  {
    g_autoptr (GError) failure = NULL;
    g_autofree char *where = describe_store (self);
    gint64 budget = self->retry_budget / G_USEC_PER_SEC;
    g_autofree char *span = budget >= 120
                                ? g_strdup_printf ("%" G_GINT64_FORMAT " minutes", budget / 60)
                                : g_strdup_printf ("%" G_GINT64_FORMAT " seconds", budget);

    gboolean proxy_named;

    if (last_error != NULL)
      failure = transport_error (self, last_error);
    else
      failure = g_error_new (COFFER_ERROR, COFFER_ERROR_VAULT_UNREACHABLE,
                             "The vault at %s cannot be reached: the storage service kept "
                             "answering %u (busy or unavailable)",
                             where, last_status);
    proxy_named = g_str_has_prefix (failure->message, "The proxy server");
    g_set_error (error, failure->domain, failure->code, "%s. Coffer retried for %s.%s",
                 failure->message, span,
                 proxy_named ? " Check the proxy settings in Change Properties." : "");
  }
  return NULL;
}

static gint64
parse_http_time (const char *text)
{
  g_autoptr (GDateTime) time = text != NULL ? soup_date_time_new_from_http_string (text) : NULL;

  return time != NULL ? g_date_time_to_unix (time) * G_USEC_PER_SEC : 0;
}

static char *
etag_of (SoupMessageHeaders *headers)
{
  return g_strdup (soup_message_headers_get_one (headers, "ETag"));
}

/* ---- The store operations ---------------------------------------------------- */

static char *
coffer_azure_store_describe (CofferStore *store)
{
  return describe_store (COFFER_AZURE_STORE (store));
}

static gboolean
coffer_azure_store_put (CofferStore *store,
                        const char *name,
                        GBytes *bytes,
                        CofferPutMode mode,
                        const char *if_match_etag,
                        char **out_etag,
                        GCancellable *cancellable,
                        GError **error)
{
  CofferAzureStore *self = COFFER_AZURE_STORE (store);
  g_autoptr (Response) response = NULL;
  g_autofree char *md5_text = NULL;
  guint8 digest[EVP_MAX_MD_SIZE];
  unsigned int digest_size = 0;
  const char *headers[7] = { "x-ms-blob-type", "BlockBlob", "Content-MD5", NULL, NULL, NULL, NULL };

  /* OpenSSL's MD5, about twice as fast as GChecksum's on a 16 MiB pack. */
  if (!EVP_Digest (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), digest, &digest_size,
                   EVP_md5 (), NULL))
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_FAILED, "Cannot compute the MD5 of %s", name);
      return FALSE;
    }
  md5_text = g_base64_encode (digest, digest_size);
  headers[3] = md5_text;
  if (mode == COFFER_PUT_IF_ABSENT)
    {
      headers[4] = "If-None-Match";
      headers[5] = "*";
    }
  else if (mode == COFFER_PUT_IF_MATCH)
    {
      headers[4] = "If-Match";
      headers[5] = if_match_etag;
    }

  response = perform (self, "PUT", name, NULL, headers, bytes, cancellable, error);
  if (response == NULL)
    return FALSE;
  if (response->status == 201 || response->status == 200)
    {
      if (out_etag != NULL)
        *out_etag = etag_of (response->headers);
      return TRUE;
    }
  if (mode == COFFER_PUT_IF_MATCH && response->status == 404)
    {
      g_autofree char *code = error_code (response);
      if (g_strcmp0 (code, "BlobNotFound") == 0)
        {
          g_set_error (error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND,
                       "%s does not exist in the vault", name);
          return FALSE;
        }
    }
  if (mode == COFFER_PUT_ALWAYS && response->status == 409)
    {
      g_autofree char *where = describe_store (self);
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_FAILED,
                   "The storage service at %s refused to write %s (409 conflict)", where, name);
      return FALSE;
    }
  g_propagate_error (error, status_error (self, response, name));
  return FALSE;
}

static GBytes *
coffer_azure_store_get (CofferStore *store,
                        const char *name,
                        guint64 offset,
                        gssize length,
                        char **out_etag,
                        GCancellable *cancellable,
                        GError **error)
{
  CofferAzureStore *self = COFFER_AZURE_STORE (store);
  g_autoptr (Response) response = NULL;
  g_autofree char *range = NULL;
  const char *headers[3] = { NULL };

  if (length == 0)
    return g_bytes_new (NULL, 0);
  if (length > 0)
    range = g_strdup_printf ("bytes=%" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT, offset,
                             offset + (guint64) length - 1);
  else if (offset > 0)
    range = g_strdup_printf ("bytes=%" G_GUINT64_FORMAT "-", offset);
  if (range != NULL)
    {
      headers[0] = "x-ms-range";
      headers[1] = range;
    }

  response = perform (self, "GET", name, NULL, headers, NULL, cancellable, error);
  if (response == NULL)
    return NULL;
  if (response->status == 416 && length < 0)
    {
      /* Reading from exactly the end gives nothing, as in a local vault. */
      g_autoptr (CofferStoreEntry) entry = coffer_store_stat_sync (store, name, cancellable, NULL);
      if (entry != NULL && entry->size == offset)
        {
          if (out_etag != NULL)
            *out_etag = g_strdup (entry->etag);
          return g_bytes_new (NULL, 0);
        }
    }
  if (response->status != 200 && response->status != 206)
    {
      g_propagate_error (error, status_error (self, response, name));
      return NULL;
    }
  if (g_bytes_get_size (response->body) > COFFER_STORE_MAX_OBJECT)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT,
                   "%s in the vault is larger than any object Coffer writes", name);
      return NULL;
    }
  if (out_etag != NULL)
    *out_etag = etag_of (response->headers);
  return g_steal_pointer (&response->body);
}

static CofferStoreEntry *
coffer_azure_store_stat (CofferStore *store,
                         const char *name,
                         GCancellable *cancellable,
                         GError **error)
{
  CofferAzureStore *self = COFFER_AZURE_STORE (store);
  g_autoptr (Response) response = NULL;
  CofferStoreEntry *entry;

  response = perform (self, "HEAD", name, NULL, NULL, NULL, cancellable, error);
  if (response == NULL)
    return NULL;
  if (response->status != 200)
    {
      /* A HEAD answer has no body to name the error: a missing container
       * shows as a missing blob here. */
      g_propagate_error (error, status_error (self, response, name));
      return NULL;
    }
  entry = g_new0 (CofferStoreEntry, 1);
  entry->name = g_strdup (name);
  entry->size = (guint64) soup_message_headers_get_content_length (response->headers);
  entry->mtime =
      parse_http_time (soup_message_headers_get_one (response->headers, "Last-Modified"));
  entry->etag = etag_of (response->headers);
  return entry;
}

static gboolean
coffer_azure_store_delete (CofferStore *store,
                           const char *name,
                           GCancellable *cancellable,
                           GError **error)
{
  CofferAzureStore *self = COFFER_AZURE_STORE (store);
  g_autoptr (Response) response = NULL;

  response = perform (self, "DELETE", name, NULL, NULL, NULL, cancellable, error);
  if (response == NULL)
    return FALSE;
  if (response->status == 202 || response->status == 200)
    return TRUE;
  if (response->status == 404)
    {
      g_autofree char *code = error_code (response);
      if (!g_str_equal (code, "ContainerNotFound"))
        return TRUE;
    }
  g_propagate_error (error, status_error (self, response, name));
  return FALSE;
}

/* List Blobs' XML: <Blob><Name/><Properties><Last-Modified/><Etag/>
 * <Content-Length/></Properties></Blob>… <NextMarker/>. */
typedef struct
{
  GPtrArray *entries;
  CofferStoreEntry *current;
  GString *text;
  char *next_marker;
  gboolean in_properties;
} ListParser;

static void
list_start (GMarkupParseContext *context,
            const char *element,
            const char **names,
            const char **values,
            gpointer user_data,
            GError **error)
{
  ListParser *parser = user_data;

  g_string_truncate (parser->text, 0);
  if (g_str_equal (element, "Blob"))
    {
      g_clear_pointer (&parser->current, coffer_store_entry_free);
      parser->current = g_new0 (CofferStoreEntry, 1);
    }
  else if (g_str_equal (element, "Properties"))
    parser->in_properties = TRUE;
}

static void
list_end (GMarkupParseContext *context, const char *element, gpointer user_data, GError **error)
{
  ListParser *parser = user_data;
  CofferStoreEntry *entry = parser->current;

  if (g_str_equal (element, "Blob") && entry != NULL)
    {
      if (entry->name != NULL)
        g_ptr_array_add (parser->entries, g_steal_pointer (&parser->current));
      g_clear_pointer (&parser->current, coffer_store_entry_free);
    }
  else if (g_str_equal (element, "Properties"))
    parser->in_properties = FALSE;
  else if (g_str_equal (element, "NextMarker"))
    {
      g_free (parser->next_marker);
      parser->next_marker = parser->text->len > 0 ? g_strdup (parser->text->str) : NULL;
    }
  else if (entry != NULL && g_str_equal (element, "Name") && !parser->in_properties)
    entry->name = g_strdup (parser->text->str);
  else if (entry != NULL && parser->in_properties)
    {
      if (g_str_equal (element, "Content-Length"))
        entry->size = g_ascii_strtoull (parser->text->str, NULL, 10);
      else if (g_str_equal (element, "Etag"))
        entry->etag = g_strdup (parser->text->str);
      else if (g_str_equal (element, "Last-Modified"))
        entry->mtime = parse_http_time (parser->text->str);
    }
  g_string_truncate (parser->text, 0);
}

static void
list_text (
    GMarkupParseContext *context, const char *text, gsize size, gpointer user_data, GError **error)
{
  ListParser *parser = user_data;

  g_string_append_len (parser->text, text, size);
}

static gboolean
parse_list_page (GBytes *body, GPtrArray *entries, char **out_marker, GError **error)
{
  static const GMarkupParser callbacks = { list_start, list_end, list_text, NULL, NULL };
  ListParser parser = { entries, NULL, g_string_new (NULL), NULL, FALSE };
  g_autoptr (GMarkupParseContext) context = NULL;
  gsize size;
  const char *data = g_bytes_get_data (body, &size);
  gboolean ok;

  /* Azure starts its XML with a byte-order mark. */
  if (size >= 3 && memcmp (data, "\xef\xbb\xbf", 3) == 0)
    {
      data += 3;
      size -= 3;
    }
  context = g_markup_parse_context_new (&callbacks, G_MARKUP_IGNORE_QUALIFIED, &parser, NULL);
  ok = g_markup_parse_context_parse (context, data, size, error) &&
       g_markup_parse_context_end_parse (context, error);
  g_clear_pointer (&parser.current, coffer_store_entry_free);
  g_string_free (parser.text, TRUE);
  if (!ok)
    {
      g_free (parser.next_marker);
      g_prefix_error (error, "The storage service's list of objects cannot be read: ");
      return FALSE;
    }
  *out_marker = parser.next_marker;
  return TRUE;
}

static int
compare_entries (gconstpointer a, gconstpointer b)
{
  const CofferStoreEntry *x = *(CofferStoreEntry *const *) a;
  const CofferStoreEntry *y = *(CofferStoreEntry *const *) b;

  return strcmp (x->name, y->name);
}

static GPtrArray *
coffer_azure_store_list (CofferStore *store,
                         const char *prefix,
                         GCancellable *cancellable,
                         GError **error)
{
  CofferAzureStore *self = COFFER_AZURE_STORE (store);
  g_autoptr (GPtrArray) entries =
      g_ptr_array_new_with_free_func ((GDestroyNotify) coffer_store_entry_free);
  g_autofree char *marker = NULL;
  g_autofree char *escaped_prefix = g_uri_escape_string (prefix, NULL, FALSE);

  do
    {
      g_autoptr (Response) response = NULL;
      g_autofree char *query = NULL;
      g_autofree char *escaped_marker = NULL;
      char *next = NULL;

      escaped_marker = marker != NULL ? g_uri_escape_string (marker, NULL, FALSE) : NULL;
      query = g_strdup_printf (
          "comp=list%s%s&maxresults=%d%s%s&restype=container", marker != NULL ? "&marker=" : "",
          marker != NULL ? escaped_marker : "", LIST_PAGE, *prefix != '\0' ? "&prefix=" : "",
          *prefix != '\0' ? escaped_prefix : "");
      response = perform (self, "GET", NULL, query, NULL, NULL, cancellable, error);
      if (response == NULL)
        return NULL;
      if (response->status != 200)
        {
          g_propagate_error (error, status_error (self, response, NULL));
          return NULL;
        }
      if (!parse_list_page (response->body, entries, &next, error))
        return NULL;
      g_free (marker);
      marker = next;
    }
  while (marker != NULL);

  g_ptr_array_sort (entries, compare_entries);
  return g_steal_pointer (&entries);
}

static guint
coffer_azure_store_get_concurrency (CofferStore *store)
{
  return COFFER_AZURE_STORE (store)->config->concurrency;
}

static gint64
coffer_azure_store_get_time (CofferStore *store)
{
  CofferAzureStore *self = COFFER_AZURE_STORE (store);

  return g_get_real_time () + __atomic_load_n (&self->clock_offset, __ATOMIC_RELAXED);
}

static guint
coffer_azure_store_get_retries (CofferStore *store)
{
  return (guint) g_atomic_int_get (&COFFER_AZURE_STORE (store)->retries);
}

/**
 * coffer_azure_store_create_container:
 * @self: the store
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Creates the container, for `coffer vault create`; one that exists already
 * is fine (the vault's own checks decide whether it may hold a new vault).
 */
gboolean
coffer_azure_store_create_container (CofferAzureStore *self,
                                     GCancellable *cancellable,
                                     GError **error)
{
  g_autoptr (Response) response = NULL;
  g_autoptr (GBytes) empty = g_bytes_new (NULL, 0);

  g_return_val_if_fail (COFFER_IS_AZURE_STORE (self), FALSE);

  response = perform (self, "PUT", NULL, "restype=container", NULL, empty, cancellable, error);
  if (response == NULL)
    return FALSE;
  if (response->status == 201 || response->status == 409)
    return TRUE;
  g_propagate_error (error, status_error (self, response, NULL));
  g_prefix_error (error, "Cannot create the container: ");
  return FALSE;
}

/* ---- The object ----------------------------------------------------------------- */

static gboolean
quit_cb (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

static void
coffer_azure_store_finalize (GObject *object)
{
  CofferAzureStore *self = COFFER_AZURE_STORE (object);

  if (self->loop != NULL)
    {
      io_invoke (self, quit_cb, self->loop, NULL);
      g_thread_join (self->thread);
    }
  g_clear_pointer (&self->loop, g_main_loop_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_pointer (&self->config, coffer_azure_config_free);
  g_free (self->endpoint_path);
  if (self->proxy_authorization != NULL)
    OPENSSL_cleanse (self->proxy_authorization, strlen (self->proxy_authorization));
  g_free (self->proxy_authorization);
  if (self->sas != NULL)
    OPENSSL_cleanse (self->sas, strlen (self->sas));
  g_free (self->sas);

  G_OBJECT_CLASS (coffer_azure_store_parent_class)->finalize (object);
}

static void
coffer_azure_store_class_init (CofferAzureStoreClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = coffer_azure_store_finalize;
}

static void
coffer_azure_store_init (CofferAzureStore *self)
{
}

static void
coffer_azure_store_iface_init (CofferStoreInterface *iface)
{
  iface->describe = coffer_azure_store_describe;
  iface->put = coffer_azure_store_put;
  iface->get = coffer_azure_store_get;
  iface->list = coffer_azure_store_list;
  iface->stat = coffer_azure_store_stat;
  iface->delete = coffer_azure_store_delete;
  iface->get_concurrency = coffer_azure_store_get_concurrency;
  iface->get_retries = coffer_azure_store_get_retries;
  iface->get_time = coffer_azure_store_get_time;
}

static gint64
retry_budget (void)
{
  const char *text = g_getenv ("COFFER_STORE_RETRY_SECONDS");
  guint64 seconds;

  if (text != NULL && g_ascii_string_to_unsigned (text, 10, 1, 24 * 60 * 60, &seconds, NULL))
    return (gint64) seconds * G_USEC_PER_SEC;
  return (gint64) COFFER_AZURE_DEFAULT_RETRY_SECONDS * G_USEC_PER_SEC;
}

/**
 * coffer_azure_store_new:
 * @config: where the container is and how to reach it
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the store, or %NULL when @config is not valid
 */
CofferStore *
coffer_azure_store_new (const CofferAzureConfig *config, GError **error)
{
  g_autoptr (CofferAzureStore) self = NULL;
  g_autoptr (GUri) uri = NULL;
  g_autoptr (GError) local_error = NULL;
  const char *scheme;

  g_return_val_if_fail (config != NULL, NULL);

  if (config->account == NULL || !account_is_valid (config->account) || config->container == NULL ||
      !container_is_valid (config->container))
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "The vault's storage account or container name is not valid.");
      return NULL;
    }
  uri = config->endpoint != NULL ? g_uri_parse (config->endpoint, G_URI_FLAGS_NONE, &local_error)
                                 : NULL;
  scheme = uri != NULL ? g_uri_get_scheme (uri) : NULL;
  if (uri == NULL || g_uri_get_host (uri) == NULL ||
      (g_strcmp0 (scheme, "https") != 0 && g_strcmp0 (scheme, "http") != 0) ||
      g_uri_get_query (uri) != NULL)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "“%s” is not a storage account URL: write https://ACCOUNT.blob.core.windows.net "
                   "or the emulator's http://127.0.0.1:PORT/ACCOUNT.",
                   config->endpoint != NULL ? config->endpoint : "");
      return NULL;
    }
  if (config->secret == NULL || *config->secret == '\0')
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "The vault's storage account key or shared access signature is missing.");
      return NULL;
    }

  self = g_object_new (COFFER_TYPE_AZURE_STORE, NULL);
  self->config = config_copy (config);
  g_strchomp (self->config->endpoint);
  while (g_str_has_suffix (self->config->endpoint, "/"))
    self->config->endpoint[strlen (self->config->endpoint) - 1] = '\0';
  self->config->concurrency =
      CLAMP (config->concurrency != 0 ? config->concurrency : COFFER_AZURE_DEFAULT_CONCURRENCY, 1,
             COFFER_AZURE_MAX_CONCURRENCY);
  self->endpoint_path = g_strdup (g_uri_get_path (uri));
  while (g_str_has_suffix (self->endpoint_path, "/"))
    self->endpoint_path[strlen (self->endpoint_path) - 1] = '\0';
  if (config->auth == COFFER_AZURE_AUTH_SAS)
    {
      const char *sas = config->secret;

      while (*sas == '?' || g_ascii_isspace (*sas))
        sas++;
      self->sas = g_strstrip (g_strdup (sas));
    }
  else
    {
      g_autofree char *probe = coffer_azure_sign (config->secret, "", error);
      if (probe == NULL)
        return NULL;
    }
  self->retry_budget = retry_budget ();
  if (g_str_equal (scheme, "http") && config->proxy != NULL &&
      config->proxy->mode == COFFER_PROXY_CUSTOM && config->proxy->username != NULL)
    {
      g_autofree char *pair =
          g_strdup_printf ("%s:%s", config->proxy->username,
                           config->proxy->password != NULL ? config->proxy->password : "");
      g_autofree char *encoded = g_base64_encode ((const guchar *) pair, strlen (pair));

      self->proxy_authorization = g_strconcat ("Basic ", encoded, NULL);
      OPENSSL_cleanse (pair, strlen (pair));
      OPENSSL_cleanse (encoded, strlen (encoded));
    }

  self->context = g_main_context_new ();
  self->loop = g_main_loop_new (self->context, FALSE);
  self->thread = g_thread_new ("coffer-azure-io", io_thread, self);
  return COFFER_STORE (g_steal_pointer (&self));
}
