/* console-register-wizard.h: the Register Server wizard. */
#pragma once

#include <gtk/gtk.h>

#include "coffer-dbus-generated.h"

G_BEGIN_DECLS

#define CONSOLE_TYPE_REGISTER_WIZARD (console_register_wizard_get_type ())
G_DECLARE_FINAL_TYPE (
    ConsoleRegisterWizard, console_register_wizard, CONSOLE, REGISTER_WIZARD, GtkAssistant)

ConsoleRegisterWizard *console_register_wizard_new (GtkWindow *parent, CofferDBusAgent *agent);

G_END_DECLS
