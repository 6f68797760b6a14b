/* console-job-dialog.h: Job Details. */
#pragma once

#include <gtk/gtk.h>

#include "coffer-dbus-generated.h"
#include "console-job-monitor.h"

G_BEGIN_DECLS

#define CONSOLE_TYPE_JOB_DIALOG (console_job_dialog_get_type ())
G_DECLARE_FINAL_TYPE (ConsoleJobDialog, console_job_dialog, CONSOLE, JOB_DIALOG, GtkDialog)

ConsoleJobDialog *console_job_dialog_new (GtkWindow *parent,
                                          CofferDBusAgent *agent,
                                          ConsoleJobMonitor *monitor,
                                          guint64 id);
guint64 console_job_dialog_get_id (ConsoleJobDialog *self);

G_END_DECLS
