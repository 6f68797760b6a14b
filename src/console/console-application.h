/* console-application.h: coffer-console's GtkApplication. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define CONSOLE_TYPE_APPLICATION (console_application_get_type ())
G_DECLARE_FINAL_TYPE (ConsoleApplication, console_application, CONSOLE, APPLICATION, GtkApplication)

ConsoleApplication *console_application_new (void);

G_END_DECLS
