/* console-passphrase-page.h: the Encryption Setting page — a passphrase and
 * its confirmation, checked as the user types, and where to save it.
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define CONSOLE_TYPE_PASSPHRASE_PAGE (console_passphrase_page_get_type ())
G_DECLARE_FINAL_TYPE (
    ConsolePassphrasePage, console_passphrase_page, CONSOLE, PASSPHRASE_PAGE, GtkBox)

GtkWidget *console_passphrase_page_new (void);

gboolean console_passphrase_page_get_complete (ConsolePassphrasePage *self);
const char *console_passphrase_page_get_passphrase (ConsolePassphrasePage *self);
const char *console_passphrase_page_get_save_folder (ConsolePassphrasePage *self);
const char *console_passphrase_page_get_rule_text (ConsolePassphrasePage *self);
gboolean console_passphrase_page_get_warns_this_machine (ConsolePassphrasePage *self);
void console_passphrase_page_set_error (ConsolePassphrasePage *self, const char *message);

G_END_DECLS
