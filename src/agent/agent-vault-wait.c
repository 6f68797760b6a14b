/* agent-vault-wait.c: a scheduled backup waits for a vault that is away.
 *
 * A local vault on a drive that is not plugged in, or a NAS not mounted,
 * answers COFFER_ERROR_VAULT_UNREACHABLE: the store never creates the
 * vault's folder nor writes on an empty mount point (coffer-local-store.c).
 * Nobody watches a scheduled backup, so it does not fail at once: the job
 * stays running with the phase "Waiting for the vault: … — retrying at
 * HH:MM" and starts again after 1, 2, 5, 10, 15 and then every 30 minutes,
 * 2 hours in all, then fails with the vault's message. Meanwhile it looks
 * for a folder vault every 30 seconds, so a drive plugged in again is used
 * at once. A retry starts the backup over; what the lost attempt had committed
 * (packs, index files written every 64 packs) is found again and not sent
 * twice. Back Up Now does not wait: a person is watching, and is told at
 * once.
 *
 * Times are the agent's clock (agent_clock_now()), so the tests move the
 * test clock instead of waiting minutes (HACKING.md).
 */
#include "config.h"

#include "agent-vault-wait.h"

#include "agent-scheduler.h"

#include <string.h>

#define PROBE_SECONDS 30

static const gint64 backoff[] = { 60, 120, 300, 600, 900, 1800 };

/**
 * agent_vault_wait_applies:
 * @error: why a backup failed
 *
 * Returns: whether @error says the vault is away, so that a scheduled backup
 *   waits for it
 */
gboolean
agent_vault_wait_applies (const GError *error)
{
  return g_error_matches (error, COFFER_ERROR, COFFER_ERROR_VAULT_UNREACHABLE);
}

/**
 * agent_vault_wait_message:
 * @error: a %COFFER_ERROR_VAULT_UNREACHABLE error
 *
 * Returns: (transfer full): its message without what the failed step
 *   prefixed ("Writing pack …: "): "The vault at PATH cannot be reached (is
 *   the drive connected?)…"
 */
char *
agent_vault_wait_message (const GError *error)
{
  const char *start = strstr (error->message, "The vault ");

  return g_strdup (start != NULL ? start : error->message);
}

/**
 * agent_vault_wait_next:
 * @wait: the waiting so far
 * @error: why the last attempt failed (the vault is away)
 * @out_error: return location for the error that ends the job
 *
 * Plans the next retry, or gives up when the limit is reached.
 *
 * Returns: %TRUE when @wait->retry_at is set; %FALSE when the job fails with
 *   @out_error
 */
gboolean
agent_vault_wait_next (AgentVaultWait *wait, const GError *error, GError **out_error)
{
  gint64 now = agent_clock_now ();
  gint64 delay, waited;

  if (wait->first == 0)
    wait->first = now;
  waited = now - wait->first;
  delay = backoff[MIN (wait->attempts, G_N_ELEMENTS (backoff) - 1)];
  delay = MIN (delay, AGENT_VAULT_WAIT_LIMIT - waited);
  if (delay <= 0)
    {
      g_autofree char *message = agent_vault_wait_message (error);

      g_set_error (out_error, COFFER_ERROR, COFFER_ERROR_VAULT_UNREACHABLE,
                   "%s Coffer waited %d hours for it; the next scheduled backup tries again.",
                   message, AGENT_VAULT_WAIT_LIMIT / 3600);
      return FALSE;
    }
  wait->retry_at = now + delay;
  wait->attempts++;
  return TRUE;
}

/**
 * agent_vault_wait_phase:
 * @wait: the waiting, with its next retry planned
 * @error: why the last attempt failed
 *
 * Returns: (transfer full): the job's phase while it waits
 */
char *
agent_vault_wait_phase (const AgentVaultWait *wait, const GError *error)
{
  g_autoptr (GTimeZone) tz = agent_clock_time_zone ();
  g_autoptr (GDateTime) utc = g_date_time_new_from_unix_utc (wait->retry_at);
  g_autoptr (GDateTime) local = g_date_time_to_timezone (utc, tz);
  g_autofree char *message = agent_vault_wait_message (error);
  g_autofree char *at = g_date_time_format (local, "%H:%M");

  return g_strdup_printf ("Waiting for the vault: %s — retrying at %s", message, at);
}

/**
 * agent_vault_wait_sleep:
 * @wait: the waiting, with its next retry planned
 * @probe: (nullable): says whether the vault is back
 * @probe_data: data for @probe
 * @cancellable: (nullable): the job's #GCancellable
 * @error: return location for a #GError
 *
 * Blocks until the agent's clock reaches @wait->retry_at or @probe says the
 * vault is back (asked every 30 seconds, every tick of the test clock).
 * Call from the job's thread.
 *
 * Returns: %FALSE when cancelled
 */
gboolean
agent_vault_wait_sleep (const AgentVaultWait *wait,
                        AgentVaultProbe probe,
                        gpointer probe_data,
                        GCancellable *cancellable,
                        GError **error)
{
  guint tick_ms = agent_clock_tick_ms ();
  GPollFD pollfd = { -1, 0, 0 };
  gboolean have_fd = g_cancellable_make_pollfd (cancellable, &pollfd);
  gboolean ok = TRUE;

  for (;;)
    {
      gint64 left = wait->retry_at - agent_clock_now ();
      gint timeout;

      if (left <= 0)
        break;
      timeout = tick_ms != 0 ? (gint) tick_ms : (gint) (MIN (left, PROBE_SECONDS) * 1000);
      g_poll (&pollfd, have_fd ? 1 : 0, timeout);
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        {
          ok = FALSE;
          break;
        }
      if (probe != NULL && probe (probe_data))
        break;
    }
  if (have_fd)
    g_cancellable_release_fd (cancellable);
  return ok;
}
