/* console-schedule-wizard.h: the Schedule Backup wizard. */
#pragma once

#include <gtk/gtk.h>

#include "coffer-dbus-generated.h"

G_BEGIN_DECLS

#define CONSOLE_TYPE_SCHEDULE_WIZARD (console_schedule_wizard_get_type ())
G_DECLARE_FINAL_TYPE (
    ConsoleScheduleWizard, console_schedule_wizard, CONSOLE, SCHEDULE_WIZARD, GtkAssistant)

ConsoleScheduleWizard *console_schedule_wizard_new (GtkWindow *parent,
                                                    CofferDBusAgent *agent,
                                                    GVariant *policy,
                                                    const char *vault_name);

G_END_DECLS
