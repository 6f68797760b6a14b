/* agent-scheduler.c: starts scheduled backups at the policy's times.
 *
 * Monotonic timers stop while the machine sleeps, and a wall clock can jump
 * (DST, a time-zone change, NTP), so the scheduler never waits for a run's
 * instant: it compares the wall clock with the schedule every 30 seconds,
 * when logind says the machine woke up (PrepareForSleep false, on the system
 * bus when there is one), and when the policy changes. The catalog
 * remembers the last scheduled run dealt with; any run due after it is
 * started once, so runs missed while the agent was not running or the
 * machine slept give one backup, soon after. The "due" signal carries the
 * run's time; the service starts the backup, or queues it behind the job
 * that runs.
 *
 * The catalog is read in a worker thread. Test hook (HACKING.md): with
 * COFFER_AGENT_TEST_CLOCK=FILE, "now" is the Unix time written in FILE,
 * re-read every 200 ms (COFFER_AGENT_TEST_TICK_MS to change it), so tests
 * move the clock instead of sleeping.
 */
#include "config.h"

#include "agent-scheduler.h"

#include <stdlib.h>

#define TICK_SECONDS 30
#define TEST_TICK_MS 200

struct _AgentScheduler
{
  GObject parent_instance;

  CofferCatalog *catalog;
  GCancellable *cancellable;
  guint tick_source;
  gboolean checking; /* a check runs in a worker thread */
  gboolean again;    /* poked meanwhile: check once more */
  GDBusConnection *system_bus;
  guint sleep_subscription;
};

G_DEFINE_FINAL_TYPE (AgentScheduler, agent_scheduler, G_TYPE_OBJECT)

enum
{
  SIGNAL_DUE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/**
 * agent_clock_now:
 *
 * Returns: the wall-clock time the scheduler and retention go by, Unix
 *   seconds: the test clock's when COFFER_AGENT_TEST_CLOCK names a file
 */
gint64
agent_clock_now (void)
{
  const char *path = g_getenv ("COFFER_AGENT_TEST_CLOCK");
  g_autofree char *contents = NULL;

  if (path != NULL && g_file_get_contents (path, &contents, NULL, NULL))
    {
      char *end = NULL;
      gint64 now = g_ascii_strtoll (contents, &end, 10);

      if (end != contents && now > 0)
        return now;
    }
  return g_get_real_time () / G_USEC_PER_SEC;
}

/**
 * agent_clock_tick_ms:
 *
 * Returns: how often, in ms, to look at the test clock when
 *   COFFER_AGENT_TEST_CLOCK is set (COFFER_AGENT_TEST_TICK_MS, default
 *   200); 0 without a test clock
 */
guint
agent_clock_tick_ms (void)
{
  const char *tick = g_getenv ("COFFER_AGENT_TEST_TICK_MS");

  if (g_getenv ("COFFER_AGENT_TEST_CLOCK") == NULL)
    return 0;
  return tick != NULL ? CLAMP (atoi (tick), 10, 3600000) : TEST_TICK_MS;
}

/**
 * agent_clock_time_zone:
 *
 * Returns: (transfer full): the local time zone as it is now ($TZ, else
 *   /etc/localtime), read afresh so a change is followed
 */
GTimeZone *
agent_clock_time_zone (void)
{
  const char *tz_env = g_getenv ("TZ");
  GTimeZone *tz = NULL;

  /* g_time_zone_new_local() would cache the first answer; NULL reads
   * /etc/localtime anew. */
  if (tz_env != NULL && *tz_env != '\0')
    tz = g_time_zone_new_identifier (tz_env);
  if (tz == NULL)
    tz = g_time_zone_new_identifier (NULL);

  return tz != NULL ? tz : g_time_zone_new_utc ();
}

static void
agent_scheduler_dispose (GObject *object)
{
  AgentScheduler *self = AGENT_SCHEDULER (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->tick_source, g_source_remove);
  if (self->sleep_subscription != 0)
    g_dbus_connection_signal_unsubscribe (self->system_bus, self->sleep_subscription);
  self->sleep_subscription = 0;
  g_clear_object (&self->system_bus);
  g_clear_object (&self->catalog);

  G_OBJECT_CLASS (agent_scheduler_parent_class)->dispose (object);
}

static void
agent_scheduler_finalize (GObject *object)
{
  g_clear_object (&AGENT_SCHEDULER (object)->cancellable);

  G_OBJECT_CLASS (agent_scheduler_parent_class)->finalize (object);
}

static void
agent_scheduler_class_init (AgentSchedulerClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = agent_scheduler_dispose;
  G_OBJECT_CLASS (klass)->finalize = agent_scheduler_finalize;

  /**
   * AgentScheduler::due:
   * @when: the scheduled run's time, Unix seconds
   *
   * A scheduled backup is due; emitted once per run (missed runs together
   * count as one).
   */
  signals[SIGNAL_DUE] = g_signal_new ("due", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                      NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT64);
}

static void
agent_scheduler_init (AgentScheduler *self)
{
  self->cancellable = g_cancellable_new ();
}

/* In a worker thread: the run now due, if any, recorded as dealt with. */
static void
check_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  AgentScheduler *self = source_object;
  g_autoptr (CofferRegistration) registration = NULL;
  g_autoptr (GTimeZone) tz = agent_clock_time_zone ();
  g_autoptr (GError) error = NULL;
  CofferSchedule schedule;
  gint64 last_considered, due;
  gint64 now = agent_clock_now ();

  registration = coffer_catalog_get_registration (self->catalog, &error);
  if (registration == NULL ||
      !coffer_catalog_get_schedule (self->catalog, &schedule, &last_considered, &error))
    {
      if (error != NULL)
        g_warning ("The scheduler cannot read the catalog: %s", error->message);
      g_task_return_int (task, 0);
      return;
    }
  due = schedule.paused ? 0 : coffer_schedule_last_due (&schedule, tz, now);
  if (due == 0 || due <= last_considered)
    {
      g_task_return_int (task, 0);
      return;
    }
  if (!coffer_catalog_set_schedule (self->catalog, &schedule, due, &error))
    {
      g_warning ("The scheduler cannot record a run: %s", error->message);
      g_task_return_int (task, 0);
      return;
    }
  g_task_return_int (task, due);
}

static void check (AgentScheduler *self);

static void
check_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  AgentScheduler *self = AGENT_SCHEDULER (source);
  gint64 due = g_task_propagate_int (G_TASK (result), NULL);

  self->checking = FALSE;
  if (g_cancellable_is_cancelled (self->cancellable))
    return;
  if (due > 0)
    {
      g_autoptr (GDateTime) time = g_date_time_new_from_unix_local (due);
      g_autofree char *text = g_date_time_format (time, "%Y-%m-%d %H:%M");

      g_message ("The scheduled backup of %s is due", text);
      g_signal_emit (self, signals[SIGNAL_DUE], 0, due);
    }
  if (self->again)
    check (self);
}

static void
check (AgentScheduler *self)
{
  g_autoptr (GTask) task = NULL;

  if (self->checking)
    {
      self->again = TRUE;
      return;
    }
  self->checking = TRUE;
  self->again = FALSE;
  task = g_task_new (self, NULL, check_done_cb, NULL);
  g_task_set_source_tag (task, check);
  g_task_run_in_thread (task, check_thread);
}

static gboolean
tick_cb (gpointer user_data)
{
  check (user_data);
  return G_SOURCE_CONTINUE;
}

/**
 * agent_scheduler_poke:
 * @self: an #AgentScheduler
 *
 * Compares the clock with the schedule now: after a policy change, or when
 * the machine woke up.
 */
void
agent_scheduler_poke (AgentScheduler *self)
{
  g_return_if_fail (AGENT_IS_SCHEDULER (self));

  check (self);
}

static void
prepare_for_sleep_cb (GDBusConnection *connection,
                      const char *sender,
                      const char *path,
                      const char *interface,
                      const char *signal,
                      GVariant *parameters,
                      gpointer user_data)
{
  gboolean going_to_sleep = TRUE;

  if (g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(b)")))
    g_variant_get (parameters, "(b)", &going_to_sleep);
  if (!going_to_sleep)
    {
      g_debug ("The machine woke up: checking the schedule");
      agent_scheduler_poke (user_data);
    }
}

static void
system_bus_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (AgentScheduler) self = user_data;
  g_autoptr (GError) error = NULL;
  GDBusConnection *bus = g_bus_get_finish (result, &error);

  if (bus == NULL)
    {
      /* No system bus (a container, a test): the minute tick still runs. */
      g_debug ("No system bus, so no wake-up signal: %s", error->message);
      return;
    }
  if (g_cancellable_is_cancelled (self->cancellable))
    {
      g_object_unref (bus);
      return;
    }
  self->system_bus = bus;
  self->sleep_subscription = g_dbus_connection_signal_subscribe (
      bus, "org.freedesktop.login1", "org.freedesktop.login1.Manager", "PrepareForSleep",
      "/org/freedesktop/login1", NULL, G_DBUS_SIGNAL_FLAGS_NONE, prepare_for_sleep_cb, self, NULL);
}

/**
 * agent_scheduler_new:
 * @catalog: the agent's catalog
 *
 * Starts comparing the clock with the schedule, at once and then on every
 * tick.
 *
 * Returns: (transfer full): the scheduler
 */
AgentScheduler *
agent_scheduler_new (CofferCatalog *catalog)
{
  AgentScheduler *self = g_object_new (AGENT_TYPE_SCHEDULER, NULL);

  self->catalog = g_object_ref (catalog);
  if (agent_clock_tick_ms () != 0)
    self->tick_source = g_timeout_add (agent_clock_tick_ms (), tick_cb, self);
  else
    self->tick_source = g_timeout_add_seconds (TICK_SECONDS, tick_cb, self);
  g_bus_get (G_BUS_TYPE_SYSTEM, self->cancellable, system_bus_cb, g_object_ref (self));
  check (self);
  return self;
}
