/* coffer-paced-stream.h: an input stream over bytes, read at a throttle's pace. */
#pragma once

#include <gio/gio.h>

#include "coffer-throttled-store.h"

G_BEGIN_DECLS

#define COFFER_TYPE_PACED_STREAM (coffer_paced_stream_get_type ())
G_DECLARE_FINAL_TYPE (CofferPacedStream, coffer_paced_stream, COFFER, PACED_STREAM, GInputStream)

GInputStream *coffer_paced_stream_new (GBytes *bytes, CofferStorePacer *pacer);

G_END_DECLS
