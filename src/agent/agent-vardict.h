/* agent-vardict.h: checking the a{sv} options of a method call. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/**
 * AgentVardictKey:
 * @key: an option's name
 * @type: the GVariant type string its value must have, such as "as"
 *
 * One option a method takes. A table of them ends with { NULL, NULL }.
 */
typedef struct
{
  const char *key;
  const char *type;
} AgentVardictKey;

gboolean agent_vardict_check (GVariant *vardict, const AgentVardictKey *keys, GError **error);

G_END_DECLS
