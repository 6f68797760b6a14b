/* console-window.c: the console's main window — navigation tree, page and
 * Actions pane, kept in step with the agent.
 *
 * The window reaches the agent only through the generated CofferDBusAgent
 * proxy, and only asynchronously. A GetStatus call at start-up D-Bus-activates
 * the agent when it is not running and fills the Overview page; after that the
 * window follows the agent's name owner and its property changes. Closing the
 * window cancels the calls in flight and leaves the agent and its jobs alone.
 *
 * The actions of the Actions pane are window actions; whether each can be
 * used depends on whether the agent answers, on the registration, and on
 * whether this version has the feature yet. An action that cannot be used is
 * disabled, and its button's tooltip says why.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "console-window.h"
#include "console-backup-wizard.h"
#include "console-check-dialog.h"
#include "console-job-dialog.h"
#include "console-job-monitor.h"
#include "console-jobs-page.h"
#include "console-overview-page.h"
#include "console-properties-dialog.h"
#include "console-recover-wizard.h"
#include "console-register-wizard.h"
#include "console-schedule-wizard.h"
#include "console-status-page.h"
#include "coffer-dbus-generated.h"
#include "coffer-error.h"

typedef enum
{
  AGENT_CONNECTING,
  AGENT_UNREACHABLE,
  AGENT_READY,
} AgentReach;

struct _ConsoleWindow
{
  GtkApplicationWindow parent_instance;

  GtkTreeStore *nav_store;
  GtkTreeView *nav_view;
  GtkStack *page_stack;
  GtkLabel *page_title_label;
  ConsoleOverviewPage *overview_page;
  ConsoleJobsPage *jobs_page;
  GtkWidget *actions_pane;
  GtkWidget *register_button;
  GtkWidget *schedule_button;
  GtkWidget *back_up_button;
  GtkWidget *recover_button;
  GtkWidget *check_button;
  GtkWidget *repair_button;
  GtkWidget *properties_button;
  GtkWidget *unregister_button;

  GCancellable *cancellable;        /* cancelled when the window goes */
  GCancellable *status_cancellable; /* the GetStatus call in flight */
  CofferDBusAgent *agent;           /* NULL until the proxy is made */
  ConsoleJobMonitor *job_monitor;   /* NULL until the proxy is made */
  AgentReach reach;
  gboolean registered;
  guint64 pending_job; /* a job to show once the agent is reached */
  gboolean has_items;  /* the policy has items to back up */
};

G_DEFINE_FINAL_TYPE (ConsoleWindow, console_window, GTK_TYPE_APPLICATION_WINDOW)

enum
{
  NAV_COLUMN_ICON_NAME,
  NAV_COLUMN_TITLE,
  NAV_COLUMN_PAGE,
};

/* The nodes below the root of the navigation tree, and the page each shows. */
static const struct
{
  const char *icon_name;
  const char *title;
  const char *page;
} nav_nodes[] = {
  { "user-home-symbolic", N_ ("Overview"), "overview" },
  /* Translators: a noun: the page with what is backed up, and when. */
  { "document-save-symbolic", N_ ("Backup"), "backup" },
  { "view-list-symbolic", N_ ("Jobs"), "jobs" },
  { "document-open-recent-symbolic", N_ ("Recovery"), "recovery" },
};

typedef enum
{
  NEEDS_NOTHING,
  NEEDS_AGENT,
  NEEDS_UNREGISTERED,
  NEEDS_REGISTERED,
  NEEDS_ITEMS, /* registered, with items to back up in the policy */
} Requirement;

/* The actions of the Actions pane that depend on the agent. */
static const struct
{
  const char *name;
  gsize button_offset;
  Requirement requirement;
  const char *unmet;   /* the tooltip when the requirement is not met */
  const char *not_yet; /* the tooltip when this version lacks the feature, or NULL */
  const char *tooltip; /* the tooltip when the action can be used, or NULL */
} console_actions[] = {
  { "register-server", G_STRUCT_OFFSET (ConsoleWindow, register_button), NEEDS_UNREGISTERED,
    N_ ("This server is already registered to a vault"), NULL,
    N_ ("Register this server to a vault") },
  { "schedule-backup", G_STRUCT_OFFSET (ConsoleWindow, schedule_button), NEEDS_REGISTERED,
    N_ ("Register this server to a vault first"), NULL,
    N_ ("Choose what to back up, when, and how long to keep it") },
  { "back-up-now", G_STRUCT_OFFSET (ConsoleWindow, back_up_button), NEEDS_ITEMS,
    N_ ("Register this server to a vault first"), NULL,
    N_ ("Back up the items of the backup policy now, outside the schedule") },
  { "recover-data", G_STRUCT_OFFSET (ConsoleWindow, recover_button), NEEDS_REGISTERED,
    N_ ("Register this server to a vault first"), NULL,
    N_ ("Recover files and folders from a backup of this or another server") },
  { "check-backups", G_STRUCT_OFFSET (ConsoleWindow, check_button), NEEDS_REGISTERED,
    N_ ("Register this server to a vault first"), NULL,
    N_ ("Verify that this server's backups in the vault are whole and can be read") },
  { "repair-backups", G_STRUCT_OFFSET (ConsoleWindow, repair_button), NEEDS_REGISTERED,
    N_ ("Register this server to a vault first"), NULL,
    N_ ("Mend damaged backups: rebuild the index, set damaged objects aside; nothing is "
        "deleted") },
  { "change-properties", G_STRUCT_OFFSET (ConsoleWindow, properties_button), NEEDS_AGENT, NULL,
    NULL, N_ ("Throttling, proxy, passphrase and cache folder") },
  { "unregister-server", G_STRUCT_OFFSET (ConsoleWindow, unregister_button), NEEDS_REGISTERED,
    N_ ("This server is not registered to a vault"), NULL,
    N_ ("Remove this server's registration; the vault keeps its backups") },
};

static void connect_to_agent (ConsoleWindow *self);
static void present_over (ConsoleWindow *self, GtkWidget *dialog);
static void refresh_status (ConsoleWindow *self);

/* Why action @i cannot be used now, or NULL when it can. */
static const char *
action_unavailable_reason (ConsoleWindow *self, guint i)
{
  Requirement requirement = console_actions[i].requirement;

  if (requirement != NEEDS_NOTHING)
    {
      if (self->reach == AGENT_CONNECTING)
        return _ ("Connecting to the Coffer agent…");
      if (self->reach == AGENT_UNREACHABLE)
        return _ ("The Coffer agent cannot be reached");
      if (requirement != NEEDS_AGENT &&
          (requirement == NEEDS_REGISTERED || requirement == NEEDS_ITEMS) != self->registered)
        return _ (console_actions[i].unmet);
      if (requirement == NEEDS_ITEMS && !self->has_items)
        return _ ("Choose what to back up first, with Schedule Backup");
    }

  if (console_actions[i].not_yet != NULL)
    return _ (console_actions[i].not_yet);
  return NULL;
}

static void
update_actions (ConsoleWindow *self)
{
  for (guint i = 0; i < G_N_ELEMENTS (console_actions); i++)
    {
      GtkWidget *button = G_STRUCT_MEMBER (GtkWidget *, self, console_actions[i].button_offset);
      GAction *action = g_action_map_lookup_action (G_ACTION_MAP (self), console_actions[i].name);
      const char *reason = action_unavailable_reason (self, i);
      const char *tooltip = console_actions[i].tooltip;

      g_simple_action_set_enabled (G_SIMPLE_ACTION (action), reason == NULL);
      gtk_widget_set_tooltip_text (button, reason != NULL    ? reason
                                           : tooltip != NULL ? _ (tooltip)
                                                             : NULL);
    }
}

static void
set_reach (ConsoleWindow *self, AgentReach reach, gboolean registered)
{
  self->reach = reach;
  self->registered = registered;
  update_actions (self);
}

static void
show_unreachable (ConsoleWindow *self, const GError *error)
{
  g_autoptr (GError) shown = coffer_error_from_dbus (error);

  g_debug ("Agent not reached: %s", shown->message);
  console_overview_page_show_error (self->overview_page, shown);
  set_reach (self, AGENT_UNREACHABLE, FALSE);
}

/* Whether the policy has items, for Back Up Now. */
static void
policy_items_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ConsoleWindow *self;
  g_autoptr (GVariant) policy = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree const char **items = NULL;

  if (!coffer_dbus_agent_call_get_policy_finish (COFFER_DBUS_AGENT (source), &policy, result,
                                                 &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      g_debug ("GetPolicy: %s", error->message); /* Back Up Now stays as it was */
      return;
    }
  self = user_data;
  self->has_items = g_variant_lookup (policy, "items", "^a&s", &items) && items[0] != NULL;
  update_actions (self);
}

static void
get_status_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ConsoleWindow *self = user_data;
  g_autoptr (GVariant) status = NULL;
  g_autoptr (GError) error = NULL;
  gboolean registered = FALSE;

  if (!coffer_dbus_agent_call_get_status_finish (COFFER_DBUS_AGENT (source), &status, result,
                                                 &error))
    {
      /* Cancelled: the window is gone, or a newer call replaced this one. */
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      show_unreachable (self, error);
      return;
    }

  g_variant_lookup (status, "registered", "b", &registered);
  console_overview_page_show_status (self->overview_page, status);
  set_reach (self, AGENT_READY, registered);
  if (registered)
    coffer_dbus_agent_call_get_policy (self->agent, G_DBUS_CALL_FLAGS_NONE, -1,
                                       self->status_cancellable, policy_items_cb, self);
}

/* Asks the agent for its status; starts the agent when it is not running. */
static void
refresh_status (ConsoleWindow *self)
{
  if (self->agent == NULL)
    {
      connect_to_agent (self);
      return;
    }

  if (self->reach != AGENT_READY)
    {
      console_overview_page_show_connecting (self->overview_page);
      set_reach (self, AGENT_CONNECTING, FALSE);
    }

  g_cancellable_cancel (self->status_cancellable);
  g_clear_object (&self->status_cancellable);
  self->status_cancellable = g_cancellable_new ();

  coffer_dbus_agent_call_get_status (self->agent, G_DBUS_CALL_FLAGS_NONE, -1,
                                     self->status_cancellable, get_status_cb, self);
}

static void
agent_name_owner_changed_cb (ConsoleWindow *self, GParamSpec *pspec, GDBusProxy *proxy)
{
  g_autofree char *owner = g_dbus_proxy_get_name_owner (proxy);
  g_autoptr (GError) error = NULL;

  if (owner != NULL)
    {
      refresh_status (self);
      return;
    }

  /* Do not start the agent again behind the user's back: it may have been
   * stopped on purpose. Retry starts it. */
  g_cancellable_cancel (self->status_cancellable);
  error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CLOSED,
                               _ ("The agent has stopped. Retry starts it again."));
  show_unreachable (self, error);
}

static void
agent_properties_changed_cb (ConsoleWindow *self,
                             GVariant *changed,
                             GStrv invalidated,
                             GDBusProxy *proxy)
{
  g_autofree char *owner = g_dbus_proxy_get_name_owner (proxy);

  /* When the agent goes away, the proxy drops the properties it had: that
   * is agent_name_owner_changed_cb's business, and asking again here would
   * start the agent. */
  if (owner == NULL)
    return;

  /* GetStatus has more than the properties (the storage location, the date
   * of registration): ask again rather than patch the page. */
  refresh_status (self);
  /* State turns busy or idle as jobs start and end. */
  console_jobs_page_refresh (self->jobs_page);
}

static void
agent_proxy_ready_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ConsoleWindow *self = user_data;
  g_autoptr (CofferDBusAgent) agent = NULL;
  g_autoptr (GError) error = NULL;

  agent = coffer_dbus_agent_proxy_new_for_bus_finish (result, &error);
  if (agent == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      show_unreachable (self, error);
      return;
    }

  self->agent = g_steal_pointer (&agent);
  self->job_monitor =
      console_job_monitor_new (g_dbus_proxy_get_connection (G_DBUS_PROXY (self->agent)));
  console_jobs_page_set_agent (self->jobs_page, self->agent, self->job_monitor);
  console_overview_page_set_agent (self->overview_page, self->agent, self->job_monitor);
  if (self->pending_job != 0)
    console_window_show_job (self, self->pending_job);
  g_signal_connect_object (self->agent, "notify::g-name-owner",
                           G_CALLBACK (agent_name_owner_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->agent, "g-properties-changed",
                           G_CALLBACK (agent_properties_changed_cb), self, G_CONNECT_SWAPPED);
  refresh_status (self);
}

static void
connect_to_agent (ConsoleWindow *self)
{
  console_overview_page_show_connecting (self->overview_page);
  set_reach (self, AGENT_CONNECTING, FALSE);

  /* Making the proxy does not start the agent: the GetStatus call that
   * follows does, by D-Bus activation, and returns the reason when it fails. */
  coffer_dbus_agent_proxy_new_for_bus (
      G_BUS_TYPE_SESSION, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START_AT_CONSTRUCTION, AGENT_BUS_NAME,
      AGENT_OBJECT_PATH, self->cancellable, agent_proxy_ready_cb, self);
}

static void
overview_page_retry_cb (ConsoleWindow *self, ConsoleOverviewPage *page)
{
  refresh_status (self);
}

static void
register_server_cb (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  ConsoleWindow *self = user_data;

  present_over (self, GTK_WIDGET (console_register_wizard_new (GTK_WINDOW (self), self->agent)));
}

static void
back_up_now_cb (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  ConsoleWindow *self = user_data;

  if (self->agent == NULL)
    return;
  present_over (self, GTK_WIDGET (console_backup_wizard_new (GTK_WINDOW (self), self->agent,
                                                             self->job_monitor)));
}

static void
show_agent_error (ConsoleWindow *self, const char *what, const GError *error)
{
  g_autoptr (GError) shown = coffer_error_from_dbus (error);
  GtkWidget *dialog;

  dialog =
      gtk_message_dialog_new (GTK_WINDOW (self), GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
                              GTK_MESSAGE_ERROR, GTK_BUTTONS_CLOSE, "%s", what);
  gtk_message_dialog_format_secondary_text (GTK_MESSAGE_DIALOG (dialog), "%s", shown->message);
  g_signal_connect (dialog, "response", G_CALLBACK (gtk_widget_destroy), NULL);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
unregister_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ConsoleWindow *self = user_data;
  g_autoptr (GError) error = NULL;

  if (!coffer_dbus_agent_call_unregister_finish (COFFER_DBUS_AGENT (source), result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      show_agent_error (self, _ ("The server could not be unregistered"), error);
    }
  refresh_status (self);
}

static void
unregister_response_cb (GtkDialog *dialog, int response, gpointer user_data)
{
  ConsoleWindow *self = user_data;

  gtk_widget_destroy (GTK_WIDGET (dialog));
  if (response != GTK_RESPONSE_ACCEPT || self->agent == NULL)
    return;
  coffer_dbus_agent_call_unregister (self->agent, G_DBUS_CALL_FLAGS_NONE, -1, self->cancellable,
                                     unregister_done_cb, self);
}

static void
unregister_server_cb (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  ConsoleWindow *self = user_data;
  const char *vault = self->agent != NULL ? coffer_dbus_agent_get_vault_name (self->agent) : NULL;
  GtkWidget *dialog;
  GtkWidget *button;

  dialog = gtk_message_dialog_new (
      GTK_WINDOW (self), GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT, GTK_MESSAGE_QUESTION,
      GTK_BUTTONS_NONE, _ ("Unregister this server from vault “%s”?"), vault != NULL ? vault : "");
  gtk_message_dialog_format_secondary_text (
      GTK_MESSAGE_DIALOG (dialog), "%s",
      _ ("Scheduled backups stop, and the passphrase is removed from this computer. The vault "
         "keeps this server's backups: register again with the same server name and passphrase "
         "to use them."));
  gtk_dialog_add_button (GTK_DIALOG (dialog), _ ("_Cancel"), GTK_RESPONSE_CANCEL);
  button = gtk_dialog_add_button (GTK_DIALOG (dialog), _ ("_Unregister"), GTK_RESPONSE_ACCEPT);
  gtk_style_context_add_class (gtk_widget_get_style_context (button),
                               GTK_STYLE_CLASS_DESTRUCTIVE_ACTION);
  gtk_dialog_set_default_response (GTK_DIALOG (dialog), GTK_RESPONSE_CANCEL);
  g_signal_connect (dialog, "response", G_CALLBACK (unregister_response_cb), self);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* Opens @dialog over the window; the status is read again when it closes. */
static void
present_over (ConsoleWindow *self, GtkWidget *dialog)
{
  g_signal_connect_object (dialog, "destroy", G_CALLBACK (refresh_status), self, G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
get_policy_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ConsoleWindow *self = user_data;
  g_autoptr (GVariant) policy = NULL;
  g_autoptr (GError) error = NULL;
  ConsoleScheduleWizard *wizard;

  if (!coffer_dbus_agent_call_get_policy_finish (COFFER_DBUS_AGENT (source), &policy, result,
                                                 &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      show_agent_error (self, _ ("The backup policy could not be read"), error);
      return;
    }
  wizard = console_schedule_wizard_new (GTK_WINDOW (self), self->agent, policy,
                                        coffer_dbus_agent_get_vault_name (self->agent));
  present_over (self, GTK_WIDGET (wizard));
}

static void
schedule_backup_cb (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  ConsoleWindow *self = user_data;

  if (self->agent != NULL)
    coffer_dbus_agent_call_get_policy (self->agent, G_DBUS_CALL_FLAGS_NONE, -1, self->cancellable,
                                       get_policy_cb, self);
}

static void
recover_data_cb (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  ConsoleWindow *self = user_data;

  if (self->agent != NULL)
    present_over (self, GTK_WIDGET (console_recover_wizard_new (GTK_WINDOW (self), self->agent)));
}

static void
check_or_repair (ConsoleWindow *self, gboolean repair)
{
  if (self->agent != NULL)
    present_over (self, GTK_WIDGET (console_check_dialog_new (GTK_WINDOW (self), self->agent,
                                                              self->job_monitor, repair)));
}

static void
check_backups_cb (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  check_or_repair (user_data, FALSE);
}

static void
repair_backups_cb (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  check_or_repair (user_data, TRUE);
}

static void
change_properties_cb (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  ConsoleWindow *self = user_data;

  if (self->agent != NULL)
    present_over (self,
                  GTK_WIDGET (console_properties_dialog_new (GTK_WINDOW (self), self->agent)));
}

static void
refresh_cb (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  ConsoleWindow *self = CONSOLE_WINDOW (user_data);

  refresh_status (self);
  console_jobs_page_refresh (self->jobs_page);
}

static void
select_page (ConsoleWindow *self, const char *page)
{
  GtkTreeModel *model = GTK_TREE_MODEL (self->nav_store);
  GtkTreeIter root, iter;

  if (!gtk_tree_model_get_iter_first (model, &root) ||
      !gtk_tree_model_iter_children (model, &iter, &root))
    return;
  do
    {
      g_autofree char *name = NULL;
      gtk_tree_model_get (model, &iter, NAV_COLUMN_PAGE, &name, -1);
      if (g_strcmp0 (name, page) == 0)
        {
          g_autoptr (GtkTreePath) path = gtk_tree_model_get_path (model, &iter);
          gtk_tree_view_set_cursor (self->nav_view, path, NULL, FALSE);
          return;
        }
    }
  while (gtk_tree_model_iter_next (model, &iter));
}

/**
 * console_window_show_job:
 * @self: a #ConsoleWindow
 * @id: a job's number
 *
 * Shows the Jobs page and job @id's details (once the agent is reached).
 */
void
console_window_show_job (ConsoleWindow *self, guint64 id)
{
  GList *windows;

  g_return_if_fail (CONSOLE_IS_WINDOW (self));

  select_page (self, "jobs");
  if (self->agent == NULL)
    {
      self->pending_job = id;
      return;
    }
  self->pending_job = 0;

  /* One Job Details window per job. */
  windows = gtk_window_list_toplevels ();
  for (GList *l = windows; l != NULL; l = l->next)
    if (CONSOLE_IS_JOB_DIALOG (l->data) && console_job_dialog_get_id (l->data) == id &&
        gtk_window_get_transient_for (l->data) == GTK_WINDOW (self))
      {
        gtk_window_present (l->data);
        g_list_free (windows);
        return;
      }
  g_list_free (windows);
  gtk_window_present (
      GTK_WINDOW (console_job_dialog_new (GTK_WINDOW (self), self->agent, self->job_monitor, id)));
}

static void
jobs_page_job_activated_cb (ConsoleWindow *self, guint64 id, GtkWidget *page)
{
  console_window_show_job (self, id);
}

/* update_actions() enables these, and says why when it does not. */
static const GActionEntry win_entries[] = {
  { "register-server", register_server_cb },
  { "schedule-backup", schedule_backup_cb },
  { "back-up-now", back_up_now_cb },
  { "recover-data", recover_data_cb },
  { "check-backups", check_backups_cb },
  { "repair-backups", repair_backups_cb },
  { "change-properties", change_properties_cb },
  { "unregister-server", unregister_server_cb },
  { "refresh", refresh_cb },
};

static void
nav_selection_changed_cb (ConsoleWindow *self, GtkTreeSelection *selection)
{
  g_autofree char *page = NULL;
  GtkTreeModel *model;
  GtkTreeIter iter;

  if (!gtk_tree_selection_get_selected (selection, &model, &iter))
    return;

  gtk_tree_model_get (model, &iter, NAV_COLUMN_PAGE, &page, -1);
  gtk_stack_set_visible_child_name (self->page_stack, page);
}

static void
page_stack_visible_child_changed_cb (ConsoleWindow *self, GParamSpec *pspec, GtkStack *stack)
{
  g_autofree char *title = NULL;
  GtkWidget *child = gtk_stack_get_visible_child (stack);

  if (child == NULL)
    return;

  gtk_container_child_get (GTK_CONTAINER (stack), child, "title", &title, NULL);
  gtk_label_set_text (self->page_title_label, title);
}

static void
fill_navigation (ConsoleWindow *self)
{
  g_autoptr (GtkTreePath) overview_path = NULL;
  GtkTreeIter root;
  GtkTreeIter iter;

  gtk_tree_store_insert_with_values (self->nav_store, &root, NULL, -1, NAV_COLUMN_ICON_NAME,
                                     APP_ID "-symbolic", NAV_COLUMN_TITLE, _ ("Coffer Backup"),
                                     NAV_COLUMN_PAGE, "overview", -1);
  for (guint i = 0; i < G_N_ELEMENTS (nav_nodes); i++)
    gtk_tree_store_insert_with_values (
        self->nav_store, &iter, &root, -1, NAV_COLUMN_ICON_NAME, nav_nodes[i].icon_name,
        NAV_COLUMN_TITLE, _ (nav_nodes[i].title), NAV_COLUMN_PAGE, nav_nodes[i].page, -1);

  gtk_tree_view_expand_all (self->nav_view);
  overview_path = gtk_tree_path_new_from_indices (0, 0, -1);
  gtk_tree_view_set_cursor (self->nav_view, overview_path, NULL, FALSE);
}

static void
console_window_dispose (GObject *object)
{
  ConsoleWindow *self = CONSOLE_WINDOW (object);

  /* Only this window's calls stop; the agent and its jobs carry on. */
  g_cancellable_cancel (self->cancellable);
  g_cancellable_cancel (self->status_cancellable);
  if (self->agent != NULL)
    g_signal_handlers_disconnect_by_data (self->agent, self);
  g_clear_object (&self->agent);
  g_clear_object (&self->job_monitor);
  g_clear_object (&self->status_cancellable);
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (console_window_parent_class)->dispose (object);
}

static void
console_window_class_init (ConsoleWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = console_window_dispose;

  g_type_ensure (CONSOLE_TYPE_OVERVIEW_PAGE);
  g_type_ensure (CONSOLE_TYPE_STATUS_PAGE);
  g_type_ensure (CONSOLE_TYPE_JOBS_PAGE);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/coffer/Console/console-window.ui");
  gtk_widget_class_bind_template_child (widget_class, ConsoleWindow, nav_store);
  gtk_widget_class_bind_template_child (widget_class, ConsoleWindow, nav_view);
  gtk_widget_class_bind_template_child (widget_class, ConsoleWindow, page_stack);
  gtk_widget_class_bind_template_child (widget_class, ConsoleWindow, page_title_label);
  gtk_widget_class_bind_template_child (widget_class, ConsoleWindow, overview_page);
  gtk_widget_class_bind_template_child (widget_class, ConsoleWindow, jobs_page);
  gtk_widget_class_bind_template_child (widget_class, ConsoleWindow, actions_pane);
  gtk_widget_class_bind_template_child (widget_class, ConsoleWindow, register_button);
  gtk_widget_class_bind_template_child (widget_class, ConsoleWindow, schedule_button);
  gtk_widget_class_bind_template_child (widget_class, ConsoleWindow, back_up_button);
  gtk_widget_class_bind_template_child (widget_class, ConsoleWindow, recover_button);
  gtk_widget_class_bind_template_child (widget_class, ConsoleWindow, check_button);
  gtk_widget_class_bind_template_child (widget_class, ConsoleWindow, repair_button);
  gtk_widget_class_bind_template_child (widget_class, ConsoleWindow, properties_button);
  gtk_widget_class_bind_template_child (widget_class, ConsoleWindow, unregister_button);
  gtk_widget_class_bind_template_callback (widget_class, nav_selection_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, page_stack_visible_child_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, overview_page_retry_cb);
  gtk_widget_class_bind_template_callback (widget_class, jobs_page_job_activated_cb);
}

static void
console_window_init (ConsoleWindow *self)
{
  g_autoptr (GPropertyAction) show_actions_pane = NULL;

  gtk_widget_init_template (GTK_WIDGET (self));

  g_action_map_add_action_entries (G_ACTION_MAP (self), win_entries, G_N_ELEMENTS (win_entries),
                                   self);
  show_actions_pane = g_property_action_new ("show-actions-pane", self->actions_pane, "visible");
  g_action_map_add_action (G_ACTION_MAP (self), G_ACTION (show_actions_pane));

  fill_navigation (self);
  page_stack_visible_child_changed_cb (self, NULL, self->page_stack);

  self->cancellable = g_cancellable_new ();
  connect_to_agent (self);
}

/**
 * console_window_new:
 * @application: the console application
 *
 * Returns: (transfer full): a new main window, which starts reaching the agent.
 */
ConsoleWindow *
console_window_new (ConsoleApplication *application)
{
  g_return_val_if_fail (CONSOLE_IS_APPLICATION (application), NULL);

  return g_object_new (CONSOLE_TYPE_WINDOW, "application", application, NULL);
}
