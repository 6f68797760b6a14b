/* console-window.h: the console's main window — navigation tree, page and
 * Actions pane, kept in step with the agent.
 */
#pragma once

#include <gtk/gtk.h>

#include "console-application.h"

G_BEGIN_DECLS

#define CONSOLE_TYPE_WINDOW (console_window_get_type ())
G_DECLARE_FINAL_TYPE (ConsoleWindow, console_window, CONSOLE, WINDOW, GtkApplicationWindow)

ConsoleWindow *console_window_new (ConsoleApplication *application);
void console_window_show_job (ConsoleWindow *self, guint64 id);

G_END_DECLS
