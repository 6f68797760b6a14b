/* console-status-page.h: a centred icon, title and description for a page
 * that has nothing to list yet or a problem to explain.
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define CONSOLE_TYPE_STATUS_PAGE (console_status_page_get_type ())
G_DECLARE_FINAL_TYPE (ConsoleStatusPage, console_status_page, CONSOLE, STATUS_PAGE, GtkBin)

GtkWidget *console_status_page_new (void);

const char *console_status_page_get_icon_name (ConsoleStatusPage *self);
void console_status_page_set_icon_name (ConsoleStatusPage *self, const char *icon_name);
const char *console_status_page_get_title (ConsoleStatusPage *self);
void console_status_page_set_title (ConsoleStatusPage *self, const char *title);
const char *console_status_page_get_description (ConsoleStatusPage *self);
void console_status_page_set_description (ConsoleStatusPage *self, const char *description);

G_END_DECLS
