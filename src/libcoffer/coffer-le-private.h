/* coffer-le-private.h: little-endian integers in the binary formats. */
#pragma once

#include <glib.h>
#include <string.h>

static inline void
coffer_put_le32 (guint8 *out, guint32 value)
{
  value = GUINT32_TO_LE (value);
  memcpy (out, &value, sizeof value);
}

static inline guint32
coffer_get_le32 (const guint8 *in)
{
  guint32 value;

  memcpy (&value, in, sizeof value);
  return GUINT32_FROM_LE (value);
}
