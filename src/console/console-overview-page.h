/* console-overview-page.h: the Overview page — this server's registration,
 * or why the agent cannot tell.
 */
#pragma once

#include <gtk/gtk.h>

#include "coffer-dbus-generated.h"
#include "console-job-monitor.h"

G_BEGIN_DECLS

#define CONSOLE_TYPE_OVERVIEW_PAGE (console_overview_page_get_type ())
G_DECLARE_FINAL_TYPE (ConsoleOverviewPage, console_overview_page, CONSOLE, OVERVIEW_PAGE, GtkBin)

GtkWidget *console_overview_page_new (void);

void console_overview_page_show_connecting (ConsoleOverviewPage *self);
void console_overview_page_show_status (ConsoleOverviewPage *self, GVariant *status);
void console_overview_page_show_error (ConsoleOverviewPage *self, const GError *error);
void console_overview_page_set_agent (ConsoleOverviewPage *self,
                                      CofferDBusAgent *agent,
                                      ConsoleJobMonitor *monitor);
void console_overview_page_refresh_activity (ConsoleOverviewPage *self);

G_END_DECLS
