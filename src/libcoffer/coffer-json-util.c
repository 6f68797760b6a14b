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

#include <string.h>

static gboolean
is_space (char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The value of the 4 hex digits at @data, or -1. */
static int
hex4 (const char *data)
{
  int value = 0;

  for (guint i = 0; i < 4; i++)
    {
      int digit = g_ascii_xdigit_value (data[i]);

      if (digit < 0)
        return -1;
      value = value * 16 + digit;
    }
  return value;
}

/* Moves *@at from a backslash in a string to the last byte of its escape,
 * if it is one of JSON's: json-glib also takes C's octal escapes and lone
 * surrogates, which give strings that are not UTF-8, and cuts a string at
 * \u0000. */
static gboolean
skip_escape (const char *data, gsize size, gsize *at)
{
  gsize i = *at + 1;
  int unit;

  if (i < size && strchr ("\"\\/bfnrt", data[i]) != NULL && data[i] != '\0')
    {
      *at = i;
      return TRUE;
    }
  if (i >= size || data[i] != 'u' || size - i < 5 || (unit = hex4 (data + i + 1)) <= 0 ||
      (unit >= 0xdc00 && unit <= 0xdfff))
    return FALSE;
  i += 4;
  if (unit >= 0xd800 && unit <= 0xdbff)
    {
      /* A high surrogate: its low one follows. */
      if (size - i < 7 || data[i + 1] != '\\' || data[i + 2] != 'u' ||
          (unit = hex4 (data + i + 3)) < 0xdc00 || unit > 0xdfff)
        return FALSE;
      i += 6;
    }
  *at = i;
  return TRUE;
}

/**
 * coffer_json_is_one_object:
 * @data: a document's bytes
 * @size: how many
 *
 * Whether @data is one JSON object with nothing but white space around it,
 * as every document Coffer writes is. json-glib 1.6 takes a value after the
 * first one as the document instead, leaking the first, so a document is
 * checked with this before it is parsed. Outside strings only the
 * characters of JSON's grammar may appear (no comments, no single-quoted
 * strings, which json-glib also takes): this then sees the same strings,
 * and so the same braces, as the parser does. Inside strings only JSON's
 * escapes may appear, and no control character, so that every string read
 * is UTF-8 without a NUL, and can be written back.
 *
 * Returns: %TRUE if @data may be handed to json-glib
 */
gboolean
coffer_json_is_one_object (const char *data, gsize size)
{
  static const char grammar[] = " \t\n\r:,+-.0123456789Eaeflnrstu";
  gsize depth = 0;
  gsize i = 0;

  g_return_val_if_fail (data != NULL || size == 0, FALSE);

  while (i < size && is_space (data[i]))
    i++;
  if (i == size || data[i] != '{')
    return FALSE;
  for (; i < size; i++)
    {
      if (data[i] == '"')
        {
          for (i++; i < size && data[i] != '"'; i++)
            if ((guchar) data[i] < 0x20 || (data[i] == '\\' && !skip_escape (data, size, &i)))
              return FALSE;
          if (i >= size)
            return FALSE;
        }
      else if (data[i] == '{' || data[i] == '[')
        depth++;
      else if (data[i] == '}' || data[i] == ']')
        {
          if (--depth == 0)
            break;
        }
      else if (data[i] == '\0' || strchr (grammar, data[i]) == NULL)
        return FALSE;
    }
  if (i == size)
    return FALSE;
  for (i++; i < size; i++)
    if (!is_space (data[i]))
      return FALSE;
  return TRUE;
}

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
  if (!g_utf8_validate (data, size, NULL) || !coffer_json_is_one_object (data, size) ||
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
  g_autoptr (GDateTime) utc = NULL;

  if (text == NULL)
    return FALSE;
  time = g_date_time_new_from_iso8601 (text, NULL);
  /* In UTC it must still be a date GLib can hold (years 1 to 9999), or it
   * could not be written back. */
  if (time != NULL)
    utc = g_date_time_to_utc (time);
  if (time == NULL || utc == NULL)
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

  /* Four digits of year even before 1000 (GLib's %Y has as many as the
   * year needs), or ISO 8601 readers, this file's among them, refuse it. */
  return g_strdup_printf ("%04d-%02d-%02dT%02d:%02d:%02dZ", g_date_time_get_year (time),
                          g_date_time_get_month (time), g_date_time_get_day_of_month (time),
                          g_date_time_get_hour (time), g_date_time_get_minute (time),
                          g_date_time_get_second (time));
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
  if (memchr (text, 0x1f, length) != NULL)
    {
      /* json-glib 1.6 escapes every control character but U+001F, which it
       * writes raw: invalid JSON, which no reader (ours included) takes back.
       * A raw 0x1f can only be inside a string, so it is escaped here. */
      GString *escaped = g_string_sized_new (length + 16);

      for (gsize i = 0; i < length; i++)
        if (text[i] == 0x1f)
          g_string_append (escaped, "\\u001f");
        else
          g_string_append_c (escaped, text[i]);
      g_string_append_c (escaped, '\n');
      length = escaped->len;
      return g_bytes_new_take (g_string_free (escaped, FALSE), length);
    }
  return g_bytes_new_take (g_strconcat (text, "\n", NULL), length + 1);
}
