/* console-backup-wizard.h: the Back Up Now wizard. */
#pragma once

#include <gtk/gtk.h>

#include "coffer-dbus-generated.h"
#include "console-job-monitor.h"

G_BEGIN_DECLS

#define CONSOLE_TYPE_BACKUP_WIZARD (console_backup_wizard_get_type ())
G_DECLARE_FINAL_TYPE (
    ConsoleBackupWizard, console_backup_wizard, CONSOLE, BACKUP_WIZARD, GtkAssistant)

ConsoleBackupWizard *
console_backup_wizard_new (GtkWindow *parent, CofferDBusAgent *agent, ConsoleJobMonitor *monitor);

G_END_DECLS
