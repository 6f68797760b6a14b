/* console-job-monitor.h: the Progress and Finished signals of every job the
 * agent runs, for the console's pages and wizards.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define CONSOLE_TYPE_JOB_MONITOR (console_job_monitor_get_type ())
G_DECLARE_FINAL_TYPE (ConsoleJobMonitor, console_job_monitor, CONSOLE, JOB_MONITOR, GObject)

ConsoleJobMonitor *console_job_monitor_new (GDBusConnection *connection);
guint64 console_job_monitor_id_from_path (const char *path);

G_END_DECLS
