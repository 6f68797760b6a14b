/* console-main.c: coffer-console, the management console of the Coffer
 * backup agent.
 */
#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>

#include "console-application.h"

int
main (int argc, char **argv)
{
  g_autoptr (ConsoleApplication) application = NULL;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  g_set_application_name (_ ("Coffer Backup"));

  application = console_application_new ();
  return g_application_run (G_APPLICATION (application), argc, argv);
}
