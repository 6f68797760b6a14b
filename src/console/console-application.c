/* console-application.c: coffer-console's GtkApplication.
 *
 * One main window per instance; starting coffer-console again presents it.
 * The application's actions are those that need no window: about and quit.
 * The menu bar comes from the gtk/menus.ui resource, which GtkApplication
 * loads by itself.
 *
 * Command-line options that open something in the window (such as a job,
 * from a notification of the agent) belong in handle_local_options and
 * activate, once the window can show it.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "console-application.h"
#include "console-window.h"
#include "coffer-error.h"

struct _ConsoleApplication
{
  GtkApplication parent_instance;
};

G_DEFINE_FINAL_TYPE (ConsoleApplication, console_application, GTK_TYPE_APPLICATION)

static void
about_cb (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  GtkApplication *application = GTK_APPLICATION (user_data);

  gtk_show_about_dialog (
      gtk_application_get_active_window (application), "program-name", _ ("Coffer Backup"),
      "version", PACKAGE_VERSION, "logo-icon-name", APP_ID, "comments",
      _ ("Back up this computer's files to a vault and recover them"), "website",
      "https://github.com/coffer-backup/coffer", "license-type", GTK_LICENSE_GPL_3_0,
      /* Translators: put your names here, one a line. */
      "translator-credits", _ ("translator-credits"), NULL);
}

static void
quit_cb (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  /* Quitting closes the console only: the agent keeps running its jobs. */
  g_application_quit (G_APPLICATION (user_data));
}

static const GActionEntry app_entries[] = {
  { "about", about_cb },
  { "quit", quit_cb },
};

static void
load_style (void)
{
  g_autoptr (GtkCssProvider) provider = gtk_css_provider_new ();

  gtk_css_provider_load_from_resource (provider, "/io/github/coffer/Console/style.css");
  gtk_style_context_add_provider_for_screen (gdk_screen_get_default (),
                                             GTK_STYLE_PROVIDER (provider),
                                             GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
}

static void
console_application_startup (GApplication *application)
{
  static const char *quit_accels[] = { "<Primary>q", NULL };
  static const char *refresh_accels[] = { "F5", NULL };

  G_APPLICATION_CLASS (console_application_parent_class)->startup (application);

  /* GDBus turns the agent's error names into COFFER_ERROR codes only once
   * the domain is registered, which must happen before the first reply. */
  (void) COFFER_ERROR;

  g_action_map_add_action_entries (G_ACTION_MAP (application), app_entries,
                                   G_N_ELEMENTS (app_entries), application);
  gtk_application_set_accels_for_action (GTK_APPLICATION (application), "app.quit", quit_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (application), "win.refresh",
                                         refresh_accels);
  gtk_window_set_default_icon_name (APP_ID);
  load_style ();
}

static void
console_application_activate (GApplication *application)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (application));

  if (window == NULL)
    window = GTK_WINDOW (console_window_new (CONSOLE_APPLICATION (application)));
  gtk_window_present (window);
}

static void
console_application_class_init (ConsoleApplicationClass *klass)
{
  GApplicationClass *application_class = G_APPLICATION_CLASS (klass);

  application_class->startup = console_application_startup;
  application_class->activate = console_application_activate;
}

static void
console_application_init (ConsoleApplication *self)
{
}

/**
 * console_application_new:
 *
 * Returns: (transfer full): the console application
 */
ConsoleApplication *
console_application_new (void)
{
  return g_object_new (CONSOLE_TYPE_APPLICATION, "application-id", APP_ID, "flags",
                       G_APPLICATION_DEFAULT_FLAGS, NULL);
}
