/* console-job-monitor.c: the Progress and Finished signals of every job the
 * agent runs, for the console's pages and wizards.
 *
 * One subscription for the whole console, to io.github.coffer.Job1 signals
 * from the agent on any path, made as soon as the agent's proxy exists: a
 * page that starts a job hears from it from the start, and the Jobs page
 * sees jobs the CLI or the scheduler started. Each signal is re-emitted with
 * the job's number, taken from its object path (…/Jobs/ID).
 */
#include "config.h"

#include <string.h>

#include "console-job-monitor.h"

struct _ConsoleJobMonitor
{
  GObject parent_instance;

  GDBusConnection *connection;
  guint subscription;
};

G_DEFINE_FINAL_TYPE (ConsoleJobMonitor, console_job_monitor, G_TYPE_OBJECT)

enum
{
  SIGNAL_PROGRESS,
  SIGNAL_FINISHED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/**
 * console_job_monitor_id_from_path:
 * @path: a job's object path
 *
 * Returns: the job's number, or 0 when @path is not a job's
 */
guint64
console_job_monitor_id_from_path (const char *path)
{
  const char *prefix = AGENT_OBJECT_PATH "/Jobs/";
  char *end = NULL;
  guint64 id;

  if (path == NULL || !g_str_has_prefix (path, prefix))
    return 0;
  id = g_ascii_strtoull (path + strlen (prefix), &end, 10);
  return end != NULL && *end == '\0' ? id : 0;
}

static void
job_signal_cb (GDBusConnection *connection,
               const char *sender,
               const char *path,
               const char *interface,
               const char *signal,
               GVariant *parameters,
               gpointer user_data)
{
  ConsoleJobMonitor *self = user_data;
  guint64 id = console_job_monitor_id_from_path (path);

  if (id == 0)
    return;
  if (g_str_equal (signal, "Progress") &&
      g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(a{sv})")))
    {
      g_autoptr (GVariant) progress = g_variant_get_child_value (parameters, 0);
      g_signal_emit (self, signals[SIGNAL_PROGRESS], 0, id, progress);
    }
  else if (g_str_equal (signal, "Finished") &&
           g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(ss)")))
    {
      const char *status, *message;
      g_variant_get (parameters, "(&s&s)", &status, &message);
      g_signal_emit (self, signals[SIGNAL_FINISHED], 0, id, status, message);
    }
}

static void
console_job_monitor_dispose (GObject *object)
{
  ConsoleJobMonitor *self = CONSOLE_JOB_MONITOR (object);

  if (self->subscription != 0)
    g_dbus_connection_signal_unsubscribe (self->connection, self->subscription);
  self->subscription = 0;
  g_clear_object (&self->connection);

  G_OBJECT_CLASS (console_job_monitor_parent_class)->dispose (object);
}

static void
console_job_monitor_class_init (ConsoleJobMonitorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = console_job_monitor_dispose;

  /**
   * ConsoleJobMonitor::progress:
   * @id: the job's number
   * @progress: the Progress dictionary (phase, bytes, files, rate, eta)
   */
  signals[SIGNAL_PROGRESS] =
      g_signal_new ("progress", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                    G_TYPE_NONE, 2, G_TYPE_UINT64, G_TYPE_VARIANT);
  /**
   * ConsoleJobMonitor::finished:
   * @id: the job's number
   * @status: completed, warnings, failed or cancelled
   * @message: what happened, for the user
   */
  signals[SIGNAL_FINISHED] =
      g_signal_new ("finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                    G_TYPE_NONE, 3, G_TYPE_UINT64, G_TYPE_STRING, G_TYPE_STRING);
}

static void
console_job_monitor_init (ConsoleJobMonitor *self)
{
}

/**
 * console_job_monitor_new:
 * @connection: the bus the agent is on
 *
 * Returns: (transfer full): a monitor of every job of the agent
 */
ConsoleJobMonitor *
console_job_monitor_new (GDBusConnection *connection)
{
  ConsoleJobMonitor *self = g_object_new (CONSOLE_TYPE_JOB_MONITOR, NULL);

  self->connection = g_object_ref (connection);
  self->subscription = g_dbus_connection_signal_subscribe (
      connection, AGENT_BUS_NAME, "io.github.coffer.Job1", NULL, NULL, NULL,
      G_DBUS_SIGNAL_FLAGS_NONE, job_signal_cb, self, NULL);
  return self;
}
