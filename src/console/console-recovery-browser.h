/* console-recovery-browser.h: a recovery point's files and folders, as a lazy tree. */
#pragma once

#include <gtk/gtk.h>

#include "coffer-dbus-generated.h"

G_BEGIN_DECLS

#define CONSOLE_TYPE_RECOVERY_BROWSER (console_recovery_browser_get_type ())
G_DECLARE_FINAL_TYPE (
    ConsoleRecoveryBrowser, console_recovery_browser, CONSOLE, RECOVERY_BROWSER, GtkBin)

GtkWidget *console_recovery_browser_new (void);
void console_recovery_browser_set_point (ConsoleRecoveryBrowser *self,
                                         CofferDBusAgent *agent,
                                         const char *point,
                                         GVariant *options);
void console_recovery_browser_show_entries (ConsoleRecoveryBrowser *self,
                                            const char *folder,
                                            GVariant *entries);
GPtrArray *console_recovery_browser_get_checked (ConsoleRecoveryBrowser *self);
guint console_recovery_browser_get_checked_count (ConsoleRecoveryBrowser *self);
gboolean console_recovery_browser_get_busy (ConsoleRecoveryBrowser *self);
GtkTreeView *console_recovery_browser_get_view (ConsoleRecoveryBrowser *self);

G_END_DECLS
