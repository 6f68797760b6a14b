/* console-recover-wizard.h: the Recover Data wizard. */
#pragma once

#include <gtk/gtk.h>

#include "coffer-dbus-generated.h"

G_BEGIN_DECLS

#define CONSOLE_TYPE_RECOVER_WIZARD (console_recover_wizard_get_type ())
G_DECLARE_FINAL_TYPE (
    ConsoleRecoverWizard, console_recover_wizard, CONSOLE, RECOVER_WIZARD, GtkAssistant)

ConsoleRecoverWizard *console_recover_wizard_new (GtkWindow *parent, CofferDBusAgent *agent);
void console_recover_wizard_show_points (ConsoleRecoverWizard *self, GVariant *points);

G_END_DECLS
