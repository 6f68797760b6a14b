/* console-check-dialog.h: Check Backups and Repair Backups. */
#pragma once

#include <gtk/gtk.h>

#include "coffer-dbus-generated.h"
#include "console-job-monitor.h"

G_BEGIN_DECLS

#define CONSOLE_TYPE_CHECK_DIALOG (console_check_dialog_get_type ())
G_DECLARE_FINAL_TYPE (ConsoleCheckDialog, console_check_dialog, CONSOLE, CHECK_DIALOG, GtkDialog)

ConsoleCheckDialog *console_check_dialog_new (GtkWindow *parent,
                                              CofferDBusAgent *agent,
                                              ConsoleJobMonitor *monitor,
                                              gboolean repair);

G_END_DECLS
