/* coffer-json-util.c: strict reading and writing of Coffer's JSON documents.
 *
 * Everything read from a vault or a credentials file is untrusted: a missing
 * member, a member of the wrong type or an unparsable time is
 * COFFER_ERROR_CORRUPT naming the document ("what") and the member. Times are
 * ISO 8601 in UTC with a "Z", to the second.
 */
#include "config.h"

#include "coffer-json-util.h"

#include "coffer-error.h"

/**
 * coffer_json_parse_object:
 * @bytes: a document
 * @what: how to name it in errors, for example "vault.json"
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the document's top-level object
 */
JsonObject *
coffer_json_parse_object (GBytes *bytes, const char *what, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GError) local_error = NULL;
  gsize size;
  const char *data = g_bytes_get_data (bytes, &size);
  JsonNode *root;

  /* An empty GBytes may have no data at all, which json-glib does not take. */
  if (data == NULL || size == 0)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT, "%s is damaged: it is empty", what);
      return NULL;
    }
  if (!g_utf8_validate (data, size, NULL) ||
      !json_parser_load_from_data (parser, data, size, &local_error))
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT, "%s is damaged: it is not valid JSON",
                   what);
      return NULL;
    }

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT,
                   "%s is damaged: it does not hold a JSON object", what);
      return NULL;
    }
  return json_object_ref (json_node_get_object (root));
}

static JsonNode *
get_value (JsonObject *object, const char *member, const char *what, GType type, GError **error)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != type)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT,
                   "%s is damaged: “%s” is missing or has the wrong type", what, member);
      return NULL;
    }
  return node;
}

const char *
coffer_json_get_string (JsonObject *object, const char *member, const char *what, GError **error)
{
  JsonNode *node = get_value (object, member, what, G_TYPE_STRING, error);

  return node != NULL ? json_node_get_string (node) : NULL;
}

gboolean
coffer_json_get_int (
    JsonObject *object, const char *member, const char *what, gint64 *out_value, GError **error)
{
  JsonNode *node = get_value (object, member, what, G_TYPE_INT64, error);

  if (node == NULL)
    return FALSE;
  *out_value = json_node_get_int (node);
  return TRUE;
}

gboolean
coffer_json_get_time (
    JsonObject *object, const char *member, const char *what, gint64 *out_unix, GError **error)
{
  const char *text = coffer_json_get_string (object, member, what, error);
  g_autoptr (GDateTime) time = NULL;

  if (text == NULL)
    return FALSE;
  time = g_date_time_new_from_iso8601 (text, NULL);
  if (time == NULL)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT, "%s is damaged: “%s” is not a time",
                   what, member);
      return FALSE;
    }
  *out_unix = g_date_time_to_unix (time);
  return TRUE;
}

char *
coffer_json_format_time (gint64 unix_seconds)
{
  g_autoptr (GDateTime) time = g_date_time_new_from_unix_utc (unix_seconds);

  return g_date_time_format (time, "%Y-%m-%dT%H:%M:%SZ");
}

/**
 * coffer_json_to_bytes:
 * @builder: a builder holding a complete document
 *
 * Returns: (transfer full): the document, pretty-printed, ending in a newline
 */
GBytes *
coffer_json_to_bytes (JsonBuilder *builder)
{
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (builder);
  g_autofree char *text = NULL;
  gsize length;

  json_generator_set_pretty (generator, TRUE);
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, &length);
  return g_bytes_new_take (g_strconcat (text, "\n", NULL), length + 1);
}
