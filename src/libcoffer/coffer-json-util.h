/* coffer-json-util.h: strict reading and writing of Coffer's JSON documents. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

gboolean coffer_json_is_one_object (const char *data, gsize size);
JsonObject *coffer_json_parse_object (GBytes *bytes, const char *what, GError **error);
const char *
coffer_json_get_string (JsonObject *object, const char *member, const char *what, GError **error);
gboolean coffer_json_get_int (
    JsonObject *object, const char *member, const char *what, gint64 *out_value, GError **error);
gboolean coffer_json_get_time (
    JsonObject *object, const char *member, const char *what, gint64 *out_unix, GError **error);
char *coffer_json_format_time (gint64 unix_seconds);
GBytes *coffer_json_to_bytes (JsonBuilder *builder);

G_END_DECLS
