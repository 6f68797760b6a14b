/* console-application.c: coffer-console's GtkApplication.
 *
 * One main window per instance; starting coffer-console again presents it.
 * The application's actions are those that need no window: about and quit.
 * The menu bar comes from the gtk/menus.ui resource, which GtkApplication
 * loads by itself.
 *
 * `--job ID` opens the window on a job's details; the agent's job-end
 * notification runs it. It goes through the app.show-job action, so a
 * second coffer-console hands the job to the one already running.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "console-application.h"
#include "console-window.h"
#include "coffer-error.h"

struct _ConsoleApplication
{
  GtkApplication parent_instance;

  guint64 pending_job; /* --job, for the first window */
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

static ConsoleWindow *
ensure_window (GApplication *application)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (application));

  if (window == NULL)
    window = GTK_WINDOW (console_window_new (CONSOLE_APPLICATION (application)));
  gtk_window_present (window);
  return CONSOLE_WINDOW (window);
}

static void
show_job_cb (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  console_window_show_job (ensure_window (G_APPLICATION (user_data)),
                           g_variant_get_uint64 (parameter));
}

static const GActionEntry app_entries[] = {
  { "about", about_cb },
  { "quit", quit_cb },
  { "show-job", show_job_cb, "t" },
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
  ConsoleApplication *self = CONSOLE_APPLICATION (application);
  ConsoleWindow *window = ensure_window (application);

  if (self->pending_job != 0)
    console_window_show_job (window, self->pending_job);
  self->pending_job = 0;
}

static int
console_application_handle_local_options (GApplication *application, GVariantDict *options)
{
  ConsoleApplication *self = CONSOLE_APPLICATION (application);
  g_autoptr (GError) error = NULL;
  gint64 job = 0;

  if (!g_variant_dict_lookup (options, "job", "x", &job))
    return -1;
  if (job <= 0)
    {
      g_printerr (_ ("coffer-console: --job needs a job number, as coffer jobs lists them.\n"));
      return 2;
    }
  if (!g_application_register (application, NULL, &error))
    {
      g_printerr ("coffer-console: %s\n", error->message);
      return 1;
    }
  if (g_application_get_is_remote (application))
    {
      /* The console is open already: it shows the job. */
      g_action_group_activate_action (G_ACTION_GROUP (application), "show-job",
                                      g_variant_new_uint64 (job));
      return 0;
    }
  self->pending_job = job;
  return -1;
}

static void
console_application_class_init (ConsoleApplicationClass *klass)
{
  GApplicationClass *application_class = G_APPLICATION_CLASS (klass);

  application_class->startup = console_application_startup;
  application_class->activate = console_application_activate;
  application_class->handle_local_options = console_application_handle_local_options;
}

static void
console_application_init (ConsoleApplication *self)
{
  const GOptionEntry entries[] = {
    { "job", 0, 0, G_OPTION_ARG_INT64, NULL, N_ ("Open the console on this job's details"),
      N_ ("ID") },
    { NULL },
  };

  g_application_add_main_option_entries (G_APPLICATION (self), entries);
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
