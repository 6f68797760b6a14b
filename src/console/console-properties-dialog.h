/* console-properties-dialog.h: the Change Properties dialog. */
#pragma once

#include <gtk/gtk.h>

#include "coffer-dbus-generated.h"

G_BEGIN_DECLS

#define CONSOLE_TYPE_PROPERTIES_DIALOG (console_properties_dialog_get_type ())
G_DECLARE_FINAL_TYPE (
    ConsolePropertiesDialog, console_properties_dialog, CONSOLE, PROPERTIES_DIALOG, GtkDialog)

ConsolePropertiesDialog *console_properties_dialog_new (GtkWindow *parent, CofferDBusAgent *agent);

G_END_DECLS
