/* coffer-ticker.c: a thread that calls a function at a steady pace until
 * stopped.
 *
 * Jobs report their figures with it. Reporting from the threads that do the
 * work, at most so often, loses the last figures whenever the work stalls:
 * a pack that takes a minute to reach a throttled vault kept the files read
 * meanwhile out of sight for that minute. A ticker reports what is there,
 * whatever the other threads are waiting for.
 */
#include "config.h"

#include "coffer-ticker.h"

struct _CofferTicker
{
  GMutex lock;
  GCond cond;
  gboolean stopping;
  gint64 interval; /* µs */
  CofferTickFunc func;
  gpointer user_data;
  GThread *thread;
};

static gpointer
ticker_run (gpointer data)
{
  CofferTicker *ticker = data;
  gint64 next = g_get_monotonic_time () + ticker->interval;

  g_mutex_lock (&ticker->lock);
  while (!ticker->stopping)
    {
      if (g_cond_wait_until (&ticker->cond, &ticker->lock, next) || ticker->stopping)
        continue; /* stopped, or woken early: look again */
      g_mutex_unlock (&ticker->lock);
      ticker->func (ticker->user_data);
      next = g_get_monotonic_time () + ticker->interval;
      g_mutex_lock (&ticker->lock);
    }
  g_mutex_unlock (&ticker->lock);
  return NULL;
}

/**
 * coffer_ticker_start:
 * @name: the thread's name
 * @interval_ms: the time between two calls
 * @func: what to call, on the ticker's thread
 * @user_data: @func's argument, which must outlive the ticker
 *
 * Starts a thread that calls @func every @interval_ms until
 * coffer_ticker_stop(). The first call comes after one interval.
 *
 * Returns: (transfer full): the ticker, for coffer_ticker_stop()
 */
CofferTicker *
coffer_ticker_start (const char *name, guint interval_ms, CofferTickFunc func, gpointer user_data)
{
  CofferTicker *ticker;

  g_return_val_if_fail (interval_ms > 0 && func != NULL, NULL);

  ticker = g_new0 (CofferTicker, 1);
  g_mutex_init (&ticker->lock);
  g_cond_init (&ticker->cond);
  ticker->interval = (gint64) interval_ms * 1000;
  ticker->func = func;
  ticker->user_data = user_data;
  ticker->thread = g_thread_new (name, ticker_run, ticker);
  return ticker;
}

/**
 * coffer_ticker_stop:
 * @ticker: (nullable) (transfer full): a ticker
 *
 * Stops the ticker and frees it. A call of its function that has begun is
 * waited for; none begins after this returns.
 */
void
coffer_ticker_stop (CofferTicker *ticker)
{
  if (ticker == NULL)
    return;
  g_mutex_lock (&ticker->lock);
  ticker->stopping = TRUE;
  g_cond_signal (&ticker->cond);
  g_mutex_unlock (&ticker->lock);
  g_thread_join (ticker->thread);
  g_mutex_clear (&ticker->lock);
  g_cond_clear (&ticker->cond);
  g_free (ticker);
}
