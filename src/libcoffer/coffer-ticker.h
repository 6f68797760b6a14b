/* coffer-ticker.h: a thread that calls a function at a steady pace until stopped. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _CofferTicker CofferTicker;

/**
 * CofferTickFunc:
 * @user_data: what coffer_ticker_start() was given
 *
 * Called on the ticker's own thread.
 */
typedef void (*CofferTickFunc) (gpointer user_data);

CofferTicker *
coffer_ticker_start (const char *name, guint interval_ms, CofferTickFunc func, gpointer user_data);
void coffer_ticker_stop (CofferTicker *ticker);

G_END_DECLS
