/* agent-notify.c: the desktop notification when a job ends.
 *
 * The console is usually closed when a scheduled backup ends, so the agent
 * tells the user through org.freedesktop.Notifications on the session bus,
 * with a default action that opens the console on the job
 * (`coffer-console --job ID`, found in $PATH). Without a notification
 * server, nothing is shown and nothing fails: the job's record is the
 * history either way.
 */
#include "config.h"

#include "agent-notify.h"

#include <glib/gi18n-lib.h>

#define NOTIFICATIONS_NAME "org.freedesktop.Notifications"
#define NOTIFICATIONS_PATH "/org/freedesktop/Notifications"

struct _AgentNotifier
{
  GObject parent_instance;

  GDBusConnection *connection;
  GCancellable *cancellable;
  GHashTable *jobs; /* notification id → job id */
  guint action_subscription;
  guint closed_subscription;
};

G_DEFINE_FINAL_TYPE (AgentNotifier, agent_notifier, G_TYPE_OBJECT)

static void
agent_notifier_dispose (GObject *object)
{
  AgentNotifier *self = AGENT_NOTIFIER (object);

  g_cancellable_cancel (self->cancellable);
  if (self->connection != NULL)
    {
      g_dbus_connection_signal_unsubscribe (self->connection, self->action_subscription);
      g_dbus_connection_signal_unsubscribe (self->connection, self->closed_subscription);
    }
  g_clear_object (&self->connection);
  g_clear_pointer (&self->jobs, g_hash_table_unref);

  G_OBJECT_CLASS (agent_notifier_parent_class)->dispose (object);
}

static void
agent_notifier_finalize (GObject *object)
{
  g_clear_object (&AGENT_NOTIFIER (object)->cancellable);

  G_OBJECT_CLASS (agent_notifier_parent_class)->finalize (object);
}

static void
agent_notifier_class_init (AgentNotifierClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = agent_notifier_dispose;
  G_OBJECT_CLASS (klass)->finalize = agent_notifier_finalize;
}

static void
agent_notifier_init (AgentNotifier *self)
{
  self->cancellable = g_cancellable_new ();
  self->jobs = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, g_free);
}

static void
open_console (gint64 job_id)
{
  g_autofree char *id = g_strdup_printf ("%" G_GINT64_FORMAT, job_id);
  const char *argv[] = { "coffer-console", "--job", id, NULL };
  g_autoptr (GError) error = NULL;

  if (!g_spawn_async (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, &error))
    g_warning ("Cannot open the console on job %s: %s", id, error->message);
}

static void
notification_signal_cb (GDBusConnection *connection,
                        const char *sender,
                        const char *path,
                        const char *interface,
                        const char *signal,
                        GVariant *parameters,
                        gpointer user_data)
{
  AgentNotifier *self = user_data;
  guint32 id;

  if (g_str_equal (signal, "ActionInvoked") &&
      g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(us)")))
    {
      const char *action;
      gint64 *job;

      g_variant_get (parameters, "(u&s)", &id, &action);
      job = g_hash_table_lookup (self->jobs, GUINT_TO_POINTER (id));
      if (job != NULL && g_str_equal (action, "default"))
        open_console (*job);
    }
  else if (g_str_equal (signal, "NotificationClosed") &&
           g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(uu)")))
    {
      g_variant_get (parameters, "(uu)", &id, NULL);
      g_hash_table_remove (self->jobs, GUINT_TO_POINTER (id));
    }
}

/**
 * agent_notifier_new:
 * @connection: the session bus
 *
 * Returns: (transfer full): a notifier
 */
AgentNotifier *
agent_notifier_new (GDBusConnection *connection)
{
  AgentNotifier *self = g_object_new (AGENT_TYPE_NOTIFIER, NULL);

  self->connection = g_object_ref (connection);
  self->action_subscription = g_dbus_connection_signal_subscribe (
      connection, NULL, NOTIFICATIONS_NAME, "ActionInvoked", NOTIFICATIONS_PATH, NULL,
      G_DBUS_SIGNAL_FLAGS_NONE, notification_signal_cb, self, NULL);
  self->closed_subscription = g_dbus_connection_signal_subscribe (
      connection, NULL, NOTIFICATIONS_NAME, "NotificationClosed", NOTIFICATIONS_PATH, NULL,
      G_DBUS_SIGNAL_FLAGS_NONE, notification_signal_cb, self, NULL);
  return self;
}

typedef struct
{
  AgentNotifier *self;
  gint64 job_id;
} Sent;

static void
notify_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Sent *sent = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply =
      g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);

  if (reply == NULL)
    /* No notification server (a headless machine): the history has it. */
    g_debug ("No desktop notification: %s", error->message);
  else if (!g_cancellable_is_cancelled (sent->self->cancellable))
    {
      guint32 id;
      gint64 *job = g_new (gint64, 1);

      g_variant_get (reply, "(u)", &id);
      *job = sent->job_id;
      g_hash_table_replace (sent->self->jobs, GUINT_TO_POINTER (id), job);
    }
  g_object_unref (sent->self);
  g_free (sent);
}

static const char *
summary_for (const char *kind, const char *status)
{
  static const struct
  {
    const char *kind;
    const char *summaries[4]; /* completed, warnings, cancelled, failed */
  } table[] = {
    { "backup",
      { N_ ("Backup completed"), N_ ("Backup completed with warnings"), N_ ("Backup cancelled"),
        N_ ("Backup failed") } },
    { "recovery",
      { N_ ("Recovery completed"), N_ ("Recovery completed with warnings"),
        N_ ("Recovery cancelled"), N_ ("Recovery failed") } },
    { "check",
      { N_ ("Check completed: no damage found"), N_ ("Check completed with warnings"),
        N_ ("Check cancelled"), N_ ("Check found damage or failed") } },
    { "prune",
      { N_ ("Backups deleted"), N_ ("Backups deleted with warnings"),
        N_ ("Deleting backups cancelled"), N_ ("Deleting backups failed") } },
    { "cache-move",
      { N_ ("Cache folder moved"), N_ ("Cache folder moved with warnings"),
        N_ ("Cache folder move cancelled"), N_ ("Cache folder move failed") } },
  };
  guint which = g_str_equal (status, "completed")   ? 0
                : g_str_equal (status, "warnings")  ? 1
                : g_str_equal (status, "cancelled") ? 2
                                                    : 3;

  for (guint i = 0; i < G_N_ELEMENTS (table); i++)
    if (g_str_equal (kind, table[i].kind))
      return _ (table[i].summaries[which]);
  return which == 3 ? _ ("Job failed") : _ ("Job ended");
}

/**
 * agent_notifier_job_ended:
 * @self: an #AgentNotifier
 * @job_id: the job's number
 * @kind: backup, recovery, prune, check or cache-move
 * @status: how it ended
 * @message: its message
 *
 * Shows a notification saying how the job ended; clicking it opens the
 * console on the job.
 */
void
agent_notifier_job_ended (
    AgentNotifier *self, gint64 job_id, const char *kind, const char *status, const char *message)
{
  const char *actions[] = { "default", _ ("Show job"), NULL };
  GVariantBuilder hints;
  Sent *sent;
  guint8 urgency = g_str_equal (status, "failed") ? 2 : 1;

  g_return_if_fail (AGENT_IS_NOTIFIER (self));

  g_variant_builder_init (&hints, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&hints, "{sv}", "desktop-entry",
                         g_variant_new_string ("io.github.coffer.Console"));
  g_variant_builder_add (&hints, "{sv}", "urgency", g_variant_new_byte (urgency));
  g_variant_builder_add (&hints, "{sv}", "x-coffer-job", g_variant_new_int64 (job_id));
  sent = g_new0 (Sent, 1);
  sent->self = g_object_ref (self);
  sent->job_id = job_id;
  g_dbus_connection_call (
      self->connection, NOTIFICATIONS_NAME, NOTIFICATIONS_PATH, NOTIFICATIONS_NAME, "Notify",
      g_variant_new ("(susss^as@a{sv}i)", "Coffer Backup", 0, "io.github.coffer.Console",
                     summary_for (kind, status), message != NULL ? message : "", actions,
                     g_variant_builder_end (&hints), -1),
      G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE, 10000, self->cancellable, notify_cb, sent);
}
