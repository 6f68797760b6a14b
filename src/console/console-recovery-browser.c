/* console-recovery-browser.c: the files and folders of a recovery point, as
 * a lazy tree with a check box on each row.
 *
 * Only what the user opens is read: the root folder when a point is shown,
 * then a folder's entries (ListFolder) when its row is expanded for the first
 * time. A folder of 100,000 entries must not freeze the console, so:
 *
 *  - the agent's reply is turned into entries (names for display, sizes,
 *    dates, sorted folders first) in a worker thread;
 *  - the view's model is ConsoleRecoveryModel, where appending a row costs
 *    the same at the 100,000th as at the first;
 *  - entries go in by batches of 2,000 from an idle handler; the folder opens
 *    with its first batch, so the tree view builds its rows batch by batch
 *    too, and uses fixed-height mode, so it measures one row, not 100,000.
 *
 * tests/console/test-console-widgets.c fills a folder of 100,000 entries and
 * checks that the main loop never stops for long.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "console-recovery-browser.h"
#include "console-recovery-model.h"
#include "console-util.h"

#include <string.h>

#define BATCH_SIZE 2000

/* One folder being filled. */
typedef struct
{
  ConsoleRecoveryBrowser *browser; /* weak: the fill ends with it */
  ConsoleRecoveryModel *model;     /* the model it fills; a new point means a new model */
  GtkTreeIter folder;              /* its row (iters persist); unset for the root */
  gboolean is_root;
  GPtrArray *entries; /* ConsoleRecoveryEntry, sorted; taken as they go in */
  guint next;         /* the first entry still to append */
} Fill;

struct _ConsoleRecoveryBrowser
{
  GtkBin parent_instance;

  GtkTreeView *view;
  ConsoleRecoveryModel *model;

  CofferDBusAgent *agent;
  char *point;
  GVariant *options;
  GCancellable *cancellable;
  guint fills;        /* fills in progress */
  gboolean expanding; /* a fill opens a folder it is filling */
};

G_DEFINE_FINAL_TYPE (ConsoleRecoveryBrowser, console_recovery_browser, GTK_TYPE_BIN)

enum
{
  PROP_0,
  PROP_CHECKED_COUNT,
  PROP_BUSY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum
{
  SIGNAL_FAILED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
set_busy (ConsoleRecoveryBrowser *self, int delta)
{
  gboolean was_busy = self->fills > 0;

  self->fills += delta;
  if (was_busy != (self->fills > 0))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

/* ---- Turning a reply into entries (worker thread) ---- */

static GPtrArray *
entries_from_reply (GVariant *reply)
{
  g_autoptr (GVariant) list = g_variant_get_child_value (reply, 0);
  GPtrArray *entries = g_ptr_array_new_full (g_variant_n_children (list),
                                             (GDestroyNotify) console_recovery_entry_free);
  GVariantIter iter;
  GVariant *dict;

  /* One pass over each entry's keys: g_variant_lookup() would scan the
   * dictionary once a key, and this loop runs 100,000 times for a big folder. */
  g_variant_iter_init (&iter, list);
  while ((dict = g_variant_iter_next_value (&iter)) != NULL)
    {
      const char *name = NULL;
      const char *type = "file";
      guint64 size = 0;
      gint64 mtime = 0;
      GVariantIter fields;
      const char *key;
      GVariant *value;

      g_variant_iter_init (&fields, dict);
      while (g_variant_iter_next (&fields, "{&sv}", &key, &value))
        {
          if (g_str_equal (key, "name") && g_variant_is_of_type (value, G_VARIANT_TYPE_BYTESTRING))
            name = g_variant_get_bytestring (value);
          else if (g_str_equal (key, "type") && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
            type = g_variant_get_string (value, NULL);
          else if (g_str_equal (key, "size") && g_variant_is_of_type (value, G_VARIANT_TYPE_UINT64))
            size = g_variant_get_uint64 (value);
          else if (g_str_equal (key, "mtime") && g_variant_is_of_type (value, G_VARIANT_TYPE_INT64))
            mtime = g_variant_get_int64 (value);
          /* The strings point into the dictionary's buffer, which stays. */
          g_variant_unref (value);
        }
      if (name != NULL)
        g_ptr_array_add (entries, console_recovery_entry_new (name, type, size, mtime));
      g_variant_unref (dict);
    }
  g_ptr_array_sort (entries, console_recovery_entry_compare);
  return entries;
}

static void
convert_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  g_task_return_pointer (task, entries_from_reply (task_data), (GDestroyNotify) g_ptr_array_unref);
}

/* ---- Filling (main thread, idle batches) ---- */

static gboolean
fill_is_current (Fill *fill)
{
  return fill->browser != NULL && fill->browser->model == fill->model;
}

static gboolean
fill_batch_cb (gpointer user_data)
{
  Fill *fill = user_data;
  ConsoleRecoveryBrowser *self = fill->browser;
  GtkTreeIter *folder = fill->is_root ? NULL : &fill->folder;
  guint end = MIN (fill->next + BATCH_SIZE, fill->entries->len);
  gboolean first = fill->next == 0;

  if (!fill_is_current (fill))
    return G_SOURCE_REMOVE;

  console_recovery_model_append (fill->model, folder, fill->entries, fill->next, end);
  fill->next = end;

  /* The folder opens with its first entries; the rest follow, batch by
   * batch, so neither the expansion nor any batch holds the main loop. */
  if (first && folder != NULL)
    {
      g_autoptr (GtkTreePath) path = gtk_tree_model_get_path (GTK_TREE_MODEL (fill->model), folder);

      self->expanding = TRUE;
      gtk_tree_view_expand_row (self->view, path, FALSE);
      self->expanding = FALSE;
    }

  if (fill->next < fill->entries->len)
    return G_SOURCE_CONTINUE;

  console_recovery_model_set_loaded (fill->model, folder);
  return G_SOURCE_REMOVE;
}

static void
fill_done (gpointer user_data)
{
  Fill *fill = user_data;

  if (fill->browser != NULL)
    {
      set_busy (fill->browser, -1);
      g_object_remove_weak_pointer (G_OBJECT (fill->browser), (gpointer *) &fill->browser);
    }
  g_clear_object (&fill->model);
  g_clear_pointer (&fill->entries, g_ptr_array_unref);
  g_free (fill);
}

static Fill *
fill_new (ConsoleRecoveryBrowser *self, GtkTreeIter *folder)
{
  Fill *fill = g_new0 (Fill, 1);

  fill->browser = self;
  g_object_add_weak_pointer (G_OBJECT (self), (gpointer *) &fill->browser);
  fill->model = g_object_ref (self->model);
  fill->is_root = folder == NULL;
  if (folder != NULL)
    {
      fill->folder = *folder;
      console_recovery_model_set_loading (self->model, folder, TRUE);
    }
  set_busy (self, +1);
  return fill;
}

static void
fill_abandon (Fill *fill, const GError *error)
{
  if (fill_is_current (fill))
    {
      if (!fill->is_root)
        console_recovery_model_set_loading (fill->model, &fill->folder, FALSE);
      g_signal_emit (fill->browser, signals[SIGNAL_FAILED], 0, error);
    }
  fill_done (fill);
}

static void
convert_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Fill *fill = user_data;
  g_autoptr (GError) error = NULL;
  GPtrArray *entries = g_task_propagate_pointer (G_TASK (result), &error);

  if (entries == NULL)
    {
      fill_abandon (fill, error);
      return;
    }
  if (!fill_is_current (fill))
    {
      g_ptr_array_unref (entries);
      fill_done (fill);
      return;
    }
  fill->entries = entries;
  g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, fill_batch_cb, fill, fill_done);
}

static void
convert_in_thread (Fill *fill, GVariant *reply)
{
  g_autoptr (GTask) task = g_task_new (NULL, NULL, convert_cb, fill);

  g_task_set_task_data (task, g_variant_ref (reply), (GDestroyNotify) g_variant_unref);
  g_task_run_in_thread (task, convert_thread);
}

static void
list_folder_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Fill *fill = user_data;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) error = NULL;

  reply = g_dbus_proxy_call_finish (G_DBUS_PROXY (source), result, &error);
  if (reply == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          fill_done (fill);
          return;
        }
      fill_abandon (fill, error);
      return;
    }
  convert_in_thread (fill, reply);
}

static void
load_folder (ConsoleRecoveryBrowser *self, GtkTreeIter *folder)
{
  Fill *fill = fill_new (self, folder);
  g_autofree char *path = console_recovery_model_get_path_of (self->model, folder);

  coffer_dbus_agent_call_list_folder (
      self->agent, self->point, path,
      self->options != NULL ? self->options : g_variant_new ("a{sv}", NULL), G_DBUS_CALL_FLAGS_NONE,
      120 * 1000, self->cancellable, list_folder_cb, fill);
}

/**
 * console_recovery_browser_show_entries:
 * @self: the browser
 * @folder: the folder's path in the point: "/" for the root, or a folder
 *   already shown
 * @entries: a ListFolder reply, "(aa{sv})"
 *
 * Shows @entries as @folder's contents, in batches, and expands @folder. The
 * browser calls it with each ListFolder reply; the widget tests call it
 * directly.
 */
void
console_recovery_browser_show_entries (ConsoleRecoveryBrowser *self,
                                       const char *folder,
                                       GVariant *entries)
{
  GtkTreeModel *model = GTK_TREE_MODEL (self->model);
  GtkTreeIter iter;
  gboolean valid;

  g_return_if_fail (CONSOLE_IS_RECOVERY_BROWSER (self));
  g_return_if_fail (g_variant_is_of_type (entries, G_VARIANT_TYPE ("(aa{sv})")));

  if (g_str_equal (folder, "/"))
    {
      convert_in_thread (fill_new (self, NULL), entries);
      return;
    }

  /* Find the folder's row among what is shown. */
  for (valid = gtk_tree_model_get_iter_first (model, &iter); valid;)
    {
      g_autofree char *path = console_recovery_model_get_path_of (self->model, &iter);
      GtkTreeIter child;

      if (g_str_equal (path, folder))
        {
          convert_in_thread (fill_new (self, &iter), entries);
          return;
        }
      if (g_str_has_prefix (folder, path) && folder[strlen (path)] == '/' &&
          gtk_tree_model_iter_children (model, &child, &iter))
        iter = child;
      else
        valid = gtk_tree_model_iter_next (model, &iter);
    }
  g_warning ("Folder %s is not shown", folder);
}

/* ---- Expanding and checking ---- */

static gboolean
test_expand_row_cb (ConsoleRecoveryBrowser *self, GtkTreeIter *iter, GtkTreePath *path)
{
  gboolean loaded = FALSE;
  gboolean loading = FALSE;

  gtk_tree_model_get (GTK_TREE_MODEL (self->model), iter, CONSOLE_RECOVERY_COLUMN_LOADED, &loaded,
                      CONSOLE_RECOVERY_COLUMN_LOADING, &loading, -1);
  if (loaded || self->expanding)
    return FALSE;
  /* Not read yet: read it; the row opens when its first entries are in. */
  if (!loading && self->agent != NULL)
    load_folder (self, iter);
  return TRUE;
}

static void
check_toggled_cb (ConsoleRecoveryBrowser *self, const char *path_text)
{
  GtkTreeIter iter;

  if (!gtk_tree_model_get_iter_from_string (GTK_TREE_MODEL (self->model), &iter, path_text))
    return;
  console_recovery_model_toggle (self->model, &iter);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CHECKED_COUNT]);
}

/* Enter (or a double-click) checks or unchecks a row, as its box does. */
static void
row_activated_cb (ConsoleRecoveryBrowser *self, GtkTreePath *path, GtkTreeViewColumn *column)
{
  g_autofree char *text = gtk_tree_path_to_string (path);

  check_toggled_cb (self, text);
}

/**
 * console_recovery_browser_get_checked:
 * @self: the browser
 *
 * Returns: (transfer full): the paths checked, in tree order, without those
 * inside a checked folder.
 */
GPtrArray *
console_recovery_browser_get_checked (ConsoleRecoveryBrowser *self)
{
  g_return_val_if_fail (CONSOLE_IS_RECOVERY_BROWSER (self), NULL);
  return console_recovery_model_get_checked (self->model);
}

guint
console_recovery_browser_get_checked_count (ConsoleRecoveryBrowser *self)
{
  g_return_val_if_fail (CONSOLE_IS_RECOVERY_BROWSER (self), 0);
  return console_recovery_model_get_checked_count (self->model);
}

gboolean
console_recovery_browser_get_busy (ConsoleRecoveryBrowser *self)
{
  g_return_val_if_fail (CONSOLE_IS_RECOVERY_BROWSER (self), FALSE);
  return self->fills > 0;
}

/**
 * console_recovery_browser_get_view:
 *
 * Returns: (transfer none): the tree view, for the widget tests.
 */
GtkTreeView *
console_recovery_browser_get_view (ConsoleRecoveryBrowser *self)
{
  g_return_val_if_fail (CONSOLE_IS_RECOVERY_BROWSER (self), NULL);
  return self->view;
}

/**
 * console_recovery_browser_set_point:
 * @self: the browser
 * @agent: (nullable): the agent; %NULL shows nothing
 * @point: the recovery point's id
 * @options: ListFolder's options ("machine", "passphrase")
 *
 * Forgets what was shown and checked, and reads @point's root folder.
 */
void
console_recovery_browser_set_point (ConsoleRecoveryBrowser *self,
                                    CofferDBusAgent *agent,
                                    const char *point,
                                    GVariant *options)
{
  g_autoptr (ConsoleRecoveryModel) model = console_recovery_model_new ();
  gboolean had_checked;

  g_return_if_fail (CONSOLE_IS_RECOVERY_BROWSER (self));

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  g_set_object (&self->agent, agent);
  g_free (self->point);
  self->point = g_strdup (point);
  g_clear_pointer (&self->options, g_variant_unref);
  self->options = options != NULL ? g_variant_ref_sink (options) : NULL;
  had_checked = console_recovery_model_get_checked_count (self->model) > 0;
  g_set_object (&self->model, model);
  gtk_tree_view_set_model (self->view, GTK_TREE_MODEL (self->model));
  if (had_checked)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CHECKED_COUNT]);
  if (agent != NULL && point != NULL)
    load_folder (self, NULL);
}

static void
console_recovery_browser_get_property (GObject *object,
                                       guint prop_id,
                                       GValue *value,
                                       GParamSpec *pspec)
{
  ConsoleRecoveryBrowser *self = CONSOLE_RECOVERY_BROWSER (object);

  switch (prop_id)
    {
      case PROP_CHECKED_COUNT:
        g_value_set_uint (value, console_recovery_model_get_checked_count (self->model));
        break;
      case PROP_BUSY:
        g_value_set_boolean (value, self->fills > 0);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
console_recovery_browser_dispose (GObject *object)
{
  ConsoleRecoveryBrowser *self = CONSOLE_RECOVERY_BROWSER (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->agent);
  g_clear_object (&self->model);
  g_clear_pointer (&self->options, g_variant_unref);
  G_OBJECT_CLASS (console_recovery_browser_parent_class)->dispose (object);
}

static void
console_recovery_browser_finalize (GObject *object)
{
  ConsoleRecoveryBrowser *self = CONSOLE_RECOVERY_BROWSER (object);

  g_free (self->point);
  G_OBJECT_CLASS (console_recovery_browser_parent_class)->finalize (object);
}

static void
console_recovery_browser_class_init (ConsoleRecoveryBrowserClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = console_recovery_browser_get_property;
  object_class->dispose = console_recovery_browser_dispose;
  object_class->finalize = console_recovery_browser_finalize;

  properties[PROP_CHECKED_COUNT] =
      g_param_spec_uint ("checked-count", NULL, NULL, 0, G_MAXUINT, 0,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_BUSY] =
      g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                            G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * ConsoleRecoveryBrowser::failed:
   * @error: why a folder could not be read
   */
  signals[SIGNAL_FAILED] =
      g_signal_new ("failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                    G_TYPE_NONE, 1, G_TYPE_ERROR | G_SIGNAL_TYPE_STATIC_SCOPE);

  gtk_widget_class_set_template_from_resource (
      widget_class, "/io/github/coffer/Console/console-recovery-browser.ui");
  gtk_widget_class_bind_template_child (widget_class, ConsoleRecoveryBrowser, view);
  gtk_widget_class_bind_template_callback (widget_class, test_expand_row_cb);
  gtk_widget_class_bind_template_callback (widget_class, check_toggled_cb);
  gtk_widget_class_bind_template_callback (widget_class, row_activated_cb);
}

static void
console_recovery_browser_init (ConsoleRecoveryBrowser *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
  self->model = console_recovery_model_new ();
  gtk_tree_view_set_model (self->view, GTK_TREE_MODEL (self->model));
}

GtkWidget *
console_recovery_browser_new (void)
{
  return g_object_new (CONSOLE_TYPE_RECOVERY_BROWSER, NULL);
}
