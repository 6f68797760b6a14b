/* console-overview-page.c: the Overview page — this server's registration,
 * or why the agent cannot tell.
 *
 * The page only shows what the window hands it: the agent's GetStatus
 * dictionary, or the error from reaching the agent. Its "Register Server"
 * link activates win.register-server, so it follows that action's state;
 * its Retry button emits ::retry for the window to reconnect.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "console-overview-page.h"
#include "console-status-page.h"
#include "coffer-error.h"

struct _ConsoleOverviewPage
{
  GtkBin parent_instance;

  GtkStack *state_stack;
  ConsoleStatusPage *error_page;
  GtkLabel *vault_label;
  GtkLabel *machine_label;
  GtkLabel *location_label;
  GtkLabel *registered_at_label;
};

G_DEFINE_FINAL_TYPE (ConsoleOverviewPage, console_overview_page, GTK_TYPE_BIN)

enum
{
  SIGNAL_RETRY,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static gboolean
register_link_activate_link_cb (ConsoleOverviewPage *self, GtkLinkButton *button)
{
  /* The link's action (win.register-server) does the work; there is no URI
   * to open. */
  return TRUE;
}

static void
retry_button_clicked_cb (ConsoleOverviewPage *self, GtkButton *button)
{
  g_signal_emit (self, signals[SIGNAL_RETRY], 0);
}

static void
console_overview_page_class_init (ConsoleOverviewPageClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  /**
   * ConsoleOverviewPage::retry:
   *
   * The user asked to try reaching the agent again.
   */
  signals[SIGNAL_RETRY] = g_signal_new ("retry", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                        NULL, NULL, NULL, G_TYPE_NONE, 0);

  g_type_ensure (CONSOLE_TYPE_STATUS_PAGE);

  gtk_widget_class_set_template_from_resource (
      widget_class, "/io/github/coffer/Console/console-overview-page.ui");
  gtk_widget_class_bind_template_child (widget_class, ConsoleOverviewPage, state_stack);
  gtk_widget_class_bind_template_child (widget_class, ConsoleOverviewPage, error_page);
  gtk_widget_class_bind_template_child (widget_class, ConsoleOverviewPage, vault_label);
  gtk_widget_class_bind_template_child (widget_class, ConsoleOverviewPage, machine_label);
  gtk_widget_class_bind_template_child (widget_class, ConsoleOverviewPage, location_label);
  gtk_widget_class_bind_template_child (widget_class, ConsoleOverviewPage, registered_at_label);
  gtk_widget_class_bind_template_callback (widget_class, register_link_activate_link_cb);
  gtk_widget_class_bind_template_callback (widget_class, retry_button_clicked_cb);
}

static void
console_overview_page_init (ConsoleOverviewPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
console_overview_page_new (void)
{
  return g_object_new (CONSOLE_TYPE_OVERVIEW_PAGE, NULL);
}

/**
 * console_overview_page_show_connecting:
 * @self: a #ConsoleOverviewPage
 *
 * Shows that the agent is being reached (and started if need be).
 */
void
console_overview_page_show_connecting (ConsoleOverviewPage *self)
{
  g_return_if_fail (CONSOLE_IS_OVERVIEW_PAGE (self));

  gtk_stack_set_visible_child_name (self->state_stack, "connecting");
}

static void
set_value (GtkLabel *label, GVariant *status, const char *key)
{
  const char *value = NULL;

  if (!g_variant_lookup (status, key, "&s", &value) || *value == '\0')
    /* Translators: shown for a detail of the registration the agent did not give. */
    value = _ ("Unknown");
  gtk_label_set_text (label, value);
}

static char *
format_registered_at (GVariant *status)
{
  g_autoptr (GDateTime) when = NULL;
  gint64 seconds;

  if (!g_variant_lookup (status, "registered-at", "x", &seconds))
    return g_strdup (_ ("Unknown"));

  when = g_date_time_new_from_unix_local (seconds);
  if (when == NULL)
    return g_strdup (_ ("Unknown"));

  /* Translators: the date this server was registered, as in "21 November 2026".
   * See the strftime(3) manual page for the codes. */
  return g_date_time_format (when, _ ("%-d %B %Y"));
}

/**
 * console_overview_page_show_status:
 * @self: a #ConsoleOverviewPage
 * @status: the a{sv} dictionary returned by the agent's GetStatus
 *
 * Shows the registration @status describes: the vault and this server when
 * registered, an invitation to register when not.
 */
void
console_overview_page_show_status (ConsoleOverviewPage *self, GVariant *status)
{
  g_autofree char *registered_at = NULL;
  gboolean registered = FALSE;

  g_return_if_fail (CONSOLE_IS_OVERVIEW_PAGE (self));
  g_return_if_fail (g_variant_is_of_type (status, G_VARIANT_TYPE_VARDICT));

  g_variant_lookup (status, "registered", "b", &registered);
  if (!registered)
    {
      gtk_stack_set_visible_child_name (self->state_stack, "unregistered");
      return;
    }

  set_value (self->vault_label, status, "vault-name");
  set_value (self->machine_label, status, "machine-name");
  set_value (self->location_label, status, "storage-location");
  registered_at = format_registered_at (status);
  gtk_label_set_text (self->registered_at_label, registered_at);
  gtk_stack_set_visible_child_name (self->state_stack, "registered");
}

/**
 * console_overview_page_show_error:
 * @self: a #ConsoleOverviewPage
 * @error: why the agent could not say, as coffer_error_from_dbus() made it
 *
 * Shows @error with a Retry button. An error of the #COFFER_ERROR domain
 * came from the agent itself; any other means the agent was not reached.
 */
void
console_overview_page_show_error (ConsoleOverviewPage *self, const GError *error)
{
  g_return_if_fail (CONSOLE_IS_OVERVIEW_PAGE (self));
  g_return_if_fail (error != NULL);

  if (error->domain == COFFER_ERROR)
    console_status_page_set_title (self->error_page, _ ("The Coffer agent reported a problem"));
  else
    console_status_page_set_title (self->error_page, _ ("Cannot reach the Coffer agent"));
  console_status_page_set_description (self->error_page, error->message);
  gtk_stack_set_visible_child_name (self->state_stack, "error");
}
