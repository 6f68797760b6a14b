/* console-recovery-model.c: a lazy GtkTreeModel of a recovery point's
 * folders, for ConsoleRecoveryBrowser.
 *
 * Each node is one entry of a folder, with its children in an array once
 * the folder has been read; an unread folder has one "Loading…" child so
 * the view offers to expand it. Everything a view asks is O(depth): a node
 * knows its index among its siblings, so a path, the next row or the n-th
 * child costs no walk along the siblings (GtkTreeStore walks them, which
 * makes appending to a folder of 100,000 entries quadratic). Entries are
 * appended in batches; each appended row is announced with row-inserted,
 * as the GtkTreeModel contract asks.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "console-recovery-model.h"

#include <string.h>

struct _ConsoleRecoveryEntry
{
  ConsoleRecoveryEntry *parent;
  guint index;         /* among the parent's children */
  GPtrArray *children; /* ConsoleRecoveryEntry; NULL for a file */
  char *name;          /* raw bytes; NULL for the placeholder */
  char *display;
  char *key; /* sorts by name, as the user's language does */
  guint64 size;
  gint64 mtime; /* seconds */
  const char *icon;
  guint is_folder : 1;
  guint checked : 1;
  guint loaded : 1;
  guint loading : 1;
};

struct _ConsoleRecoveryModel
{
  GObject parent_instance;

  ConsoleRecoveryEntry *root;
  int stamp;
  guint checked;
};

static void console_recovery_model_tree_model_init (GtkTreeModelIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (ConsoleRecoveryModel,
                               console_recovery_model,
                               G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (GTK_TYPE_TREE_MODEL,
                                                      console_recovery_model_tree_model_init))

/* ---- Entries ---- */

static const char *
icon_for (const char *type)
{
  if (g_str_equal (type, "folder"))
    return "folder";
  if (g_str_equal (type, "symlink"))
    return "emblem-symbolic-link";
  return "text-x-generic";
}

/**
 * console_recovery_entry_new:
 * @name: the entry's name, raw bytes
 * @type: ListFolder's type: file, folder, symlink…
 * @size: bytes
 * @mtime_ns: modification time, nanoseconds since the epoch
 *
 * Makes an entry with its display name and sort key; safe in any thread.
 * Sizes and dates are formatted when a row is drawn, for the few rows shown.
 */
ConsoleRecoveryEntry *
console_recovery_entry_new (const char *name, const char *type, guint64 size, gint64 mtime_ns)
{
  ConsoleRecoveryEntry *entry = g_new0 (ConsoleRecoveryEntry, 1);

  entry->name = g_strdup (name);
  entry->display = g_filename_display_name (name);
  entry->key = g_utf8_collate_key_for_filename (entry->display, -1);
  entry->is_folder = g_str_equal (type, "folder");
  entry->icon = icon_for (type);
  entry->size = size;
  entry->mtime = mtime_ns / 1000000000;
  return entry;
}

static ConsoleRecoveryEntry *
placeholder_new (ConsoleRecoveryEntry *parent)
{
  ConsoleRecoveryEntry *entry = g_new0 (ConsoleRecoveryEntry, 1);

  entry->parent = parent;
  entry->display = g_strdup (_ ("Loading…"));
  return entry;
}

void
console_recovery_entry_free (ConsoleRecoveryEntry *entry)
{
  if (entry == NULL)
    return;
  g_clear_pointer (&entry->children, g_ptr_array_unref);
  g_free (entry->name);
  g_free (entry->display);
  g_free (entry->key);
  g_free (entry);
}

/* Folders first, then by name. */
int
console_recovery_entry_compare (gconstpointer a, gconstpointer b)
{
  const ConsoleRecoveryEntry *x = *(ConsoleRecoveryEntry *const *) a;
  const ConsoleRecoveryEntry *y = *(ConsoleRecoveryEntry *const *) b;

  if (x->is_folder != y->is_folder)
    return x->is_folder ? -1 : 1;
  return strcmp (x->key, y->key);
}

static gboolean
is_placeholder (const ConsoleRecoveryEntry *entry)
{
  return entry->name == NULL && entry->parent != NULL;
}

/* ---- GtkTreeModel ---- */

static ConsoleRecoveryEntry *
entry_of (ConsoleRecoveryModel *self, GtkTreeIter *iter)
{
  if (iter == NULL)
    return self->root;
  g_return_val_if_fail (iter->stamp == self->stamp, NULL);
  return iter->user_data;
}

static gboolean
set_iter (ConsoleRecoveryModel *self, GtkTreeIter *iter, ConsoleRecoveryEntry *entry)
{
  iter->stamp = self->stamp;
  iter->user_data = entry;
  iter->user_data2 = NULL;
  iter->user_data3 = NULL;
  return entry != NULL;
}

static GtkTreeModelFlags
get_flags (GtkTreeModel *model)
{
  return GTK_TREE_MODEL_ITERS_PERSIST;
}

static int
get_n_columns (GtkTreeModel *model)
{
  return CONSOLE_RECOVERY_N_COLUMNS;
}

static GType
get_column_type (GtkTreeModel *model, int column)
{
  switch (column)
    {
      case CONSOLE_RECOVERY_COLUMN_NAME:
      case CONSOLE_RECOVERY_COLUMN_PATH:
      case CONSOLE_RECOVERY_COLUMN_ICON:
      case CONSOLE_RECOVERY_COLUMN_SIZE:
      case CONSOLE_RECOVERY_COLUMN_MTIME:
        return G_TYPE_STRING;
      default:
        return G_TYPE_BOOLEAN;
    }
}

static gboolean
get_iter (GtkTreeModel *model, GtkTreeIter *iter, GtkTreePath *path)
{
  ConsoleRecoveryModel *self = CONSOLE_RECOVERY_MODEL (model);
  ConsoleRecoveryEntry *entry = self->root;
  int depth = gtk_tree_path_get_depth (path);
  int *indices = gtk_tree_path_get_indices (path);

  for (int i = 0; i < depth; i++)
    {
      if (entry->children == NULL || indices[i] < 0 || (guint) indices[i] >= entry->children->len)
        return FALSE;
      entry = entry->children->pdata[indices[i]];
    }
  return set_iter (self, iter, entry);
}

static GtkTreePath *
get_path (GtkTreeModel *model, GtkTreeIter *iter)
{
  ConsoleRecoveryModel *self = CONSOLE_RECOVERY_MODEL (model);
  GtkTreePath *path = gtk_tree_path_new ();

  for (ConsoleRecoveryEntry *entry = entry_of (self, iter); entry != NULL && entry->parent != NULL;
       entry = entry->parent)
    gtk_tree_path_prepend_index (path, (int) entry->index);
  return path;
}

static char *
path_of (ConsoleRecoveryEntry *entry)
{
  GPtrArray *names = g_ptr_array_new ();
  char *path;

  for (; entry != NULL && entry->parent != NULL; entry = entry->parent)
    g_ptr_array_insert (names, 0, entry->name);
  g_ptr_array_insert (names, 0, "");
  g_ptr_array_add (names, NULL);
  path = names->len == 2 ? g_strdup ("/") : g_strjoinv ("/", (char **) names->pdata);
  g_ptr_array_free (names, TRUE);
  return path;
}

static void
get_value (GtkTreeModel *model, GtkTreeIter *iter, int column, GValue *value)
{
  ConsoleRecoveryEntry *entry = entry_of (CONSOLE_RECOVERY_MODEL (model), iter);

  g_value_init (value, get_column_type (model, column));
  switch (column)
    {
      case CONSOLE_RECOVERY_COLUMN_CHECKED:
        g_value_set_boolean (value, entry->checked);
        break;
      case CONSOLE_RECOVERY_COLUMN_NAME:
        g_value_set_string (value, entry->display);
        break;
      case CONSOLE_RECOVERY_COLUMN_PATH:
        if (!is_placeholder (entry))
          g_value_take_string (value, path_of (entry));
        break;
      case CONSOLE_RECOVERY_COLUMN_ICON:
        g_value_set_static_string (value, entry->icon);
        break;
      case CONSOLE_RECOVERY_COLUMN_SIZE:
        if (entry->name != NULL && !entry->is_folder)
          g_value_take_string (value, g_format_size (entry->size));
        break;
      case CONSOLE_RECOVERY_COLUMN_MTIME:
        if (entry->name != NULL)
          {
            g_autoptr (GDateTime) time = g_date_time_new_from_unix_local (entry->mtime);

            if (time != NULL)
              g_value_take_string (value, g_date_time_format (time, "%x %X"));
          }
        break;
      case CONSOLE_RECOVERY_COLUMN_IS_FOLDER:
        g_value_set_boolean (value, entry->is_folder);
        break;
      case CONSOLE_RECOVERY_COLUMN_LOADED:
        g_value_set_boolean (value, entry->loaded);
        break;
      case CONSOLE_RECOVERY_COLUMN_LOADING:
        g_value_set_boolean (value, entry->loading);
        break;
      case CONSOLE_RECOVERY_COLUMN_CHECKABLE:
        g_value_set_boolean (value, !is_placeholder (entry));
        break;
      default:
        g_assert_not_reached ();
    }
}

static gboolean
iter_next (GtkTreeModel *model, GtkTreeIter *iter)
{
  ConsoleRecoveryModel *self = CONSOLE_RECOVERY_MODEL (model);
  ConsoleRecoveryEntry *entry = entry_of (self, iter);
  GPtrArray *siblings = entry->parent->children;

  if (entry->index + 1 >= siblings->len)
    {
      iter->stamp = 0;
      return FALSE;
    }
  return set_iter (self, iter, siblings->pdata[entry->index + 1]);
}

static gboolean
iter_previous (GtkTreeModel *model, GtkTreeIter *iter)
{
  ConsoleRecoveryModel *self = CONSOLE_RECOVERY_MODEL (model);
  ConsoleRecoveryEntry *entry = entry_of (self, iter);

  if (entry->index == 0)
    {
      iter->stamp = 0;
      return FALSE;
    }
  return set_iter (self, iter, entry->parent->children->pdata[entry->index - 1]);
}

static gboolean
iter_nth_child (GtkTreeModel *model, GtkTreeIter *iter, GtkTreeIter *parent, int n)
{
  ConsoleRecoveryModel *self = CONSOLE_RECOVERY_MODEL (model);
  ConsoleRecoveryEntry *entry = entry_of (self, parent);

  if (entry->children == NULL || n < 0 || (guint) n >= entry->children->len)
    {
      iter->stamp = 0;
      return FALSE;
    }
  return set_iter (self, iter, entry->children->pdata[n]);
}

static gboolean
iter_children (GtkTreeModel *model, GtkTreeIter *iter, GtkTreeIter *parent)
{
  return iter_nth_child (model, iter, parent, 0);
}

static gboolean
iter_has_child (GtkTreeModel *model, GtkTreeIter *iter)
{
  ConsoleRecoveryEntry *entry = entry_of (CONSOLE_RECOVERY_MODEL (model), iter);

  return entry->children != NULL && entry->children->len > 0;
}

static int
iter_n_children (GtkTreeModel *model, GtkTreeIter *iter)
{
  ConsoleRecoveryEntry *entry = entry_of (CONSOLE_RECOVERY_MODEL (model), iter);

  return entry->children != NULL ? (int) entry->children->len : 0;
}

static gboolean
iter_parent (GtkTreeModel *model, GtkTreeIter *iter, GtkTreeIter *child)
{
  ConsoleRecoveryModel *self = CONSOLE_RECOVERY_MODEL (model);
  ConsoleRecoveryEntry *entry = entry_of (self, child);

  if (entry->parent == NULL || entry->parent == self->root)
    {
      iter->stamp = 0;
      return FALSE;
    }
  return set_iter (self, iter, entry->parent);
}

static void
console_recovery_model_tree_model_init (GtkTreeModelIface *iface)
{
  iface->get_flags = get_flags;
  iface->get_n_columns = get_n_columns;
  iface->get_column_type = get_column_type;
  iface->get_iter = get_iter;
  iface->get_path = get_path;
  iface->get_value = get_value;
  iface->iter_next = iter_next;
  iface->iter_previous = iter_previous;
  iface->iter_children = iter_children;
  iface->iter_has_child = iter_has_child;
  iface->iter_n_children = iter_n_children;
  iface->iter_nth_child = iter_nth_child;
  iface->iter_parent = iter_parent;
}

/* ---- Changing it ---- */

static void
emit_changed (ConsoleRecoveryModel *self, ConsoleRecoveryEntry *entry)
{
  GtkTreeIter iter;
  g_autoptr (GtkTreePath) path = NULL;

  set_iter (self, &iter, entry);
  path = get_path (GTK_TREE_MODEL (self), &iter);
  gtk_tree_model_row_changed (GTK_TREE_MODEL (self), path, &iter);
}

/**
 * console_recovery_model_append:
 * @self: the model
 * @parent: (nullable): the folder's row; %NULL for the root
 * @entries: entries, sorted
 * @start: the first to append
 * @end: one past the last
 *
 * Moves @entries[@start, @end) into the model, below @parent, leaving NULL
 * in their place. The first append to an unread folder replaces its
 * "Loading…" row.
 */
void
console_recovery_model_append (
    ConsoleRecoveryModel *self, GtkTreeIter *parent, GPtrArray *entries, guint start, guint end)
{
  ConsoleRecoveryEntry *folder = entry_of (self, parent);
  g_autoptr (GtkTreePath) path = get_path (GTK_TREE_MODEL (self), parent);
  gboolean had_children;

  g_return_if_fail (folder != NULL && folder->children != NULL);

  if (folder->children->len == 1 && is_placeholder (folder->children->pdata[0]))
    {
      gtk_tree_path_append_index (path, 0);
      console_recovery_entry_free (g_ptr_array_steal_index (folder->children, 0));
      gtk_tree_model_row_deleted (GTK_TREE_MODEL (self), path);
      gtk_tree_path_up (path);
    }
  had_children = folder->children->len > 0;

  gtk_tree_path_append_index (path, 0);
  for (guint i = start; i < end; i++)
    {
      ConsoleRecoveryEntry *entry = g_steal_pointer (&entries->pdata[i]);
      GtkTreeIter iter;

      entry->parent = folder;
      entry->index = folder->children->len;
      if (entry->is_folder)
        {
          entry->children =
              g_ptr_array_new_with_free_func ((GDestroyNotify) console_recovery_entry_free);
          g_ptr_array_add (entry->children, placeholder_new (entry));
        }
      g_ptr_array_add (folder->children, entry);

      gtk_tree_path_up (path);
      gtk_tree_path_append_index (path, (int) entry->index);
      set_iter (self, &iter, entry);
      gtk_tree_model_row_inserted (GTK_TREE_MODEL (self), path, &iter);
      /* A folder comes with its "Loading…" row: say it has a child, so the
       * view draws an expander. */
      if (entry->is_folder)
        gtk_tree_model_row_has_child_toggled (GTK_TREE_MODEL (self), path, &iter);
    }

  if (!had_children && folder->children->len > 0 && parent != NULL)
    {
      gtk_tree_path_up (path);
      gtk_tree_model_row_has_child_toggled (GTK_TREE_MODEL (self), path, parent);
    }
}

void
console_recovery_model_set_loading (ConsoleRecoveryModel *self,
                                    GtkTreeIter *folder,
                                    gboolean loading)
{
  ConsoleRecoveryEntry *entry = entry_of (self, folder);

  if (entry->loading == loading)
    return;
  entry->loading = loading;
  if (entry != self->root)
    emit_changed (self, entry);
}

void
console_recovery_model_set_loaded (ConsoleRecoveryModel *self, GtkTreeIter *folder)
{
  ConsoleRecoveryEntry *entry = entry_of (self, folder);

  entry->loading = FALSE;
  entry->loaded = TRUE;
  /* An empty folder: its "Loading…" row goes. */
  if (entry->children->len == 1 && is_placeholder (entry->children->pdata[0]))
    {
      g_autoptr (GtkTreePath) path = get_path (GTK_TREE_MODEL (self), folder);

      gtk_tree_path_append_index (path, 0);
      console_recovery_entry_free (g_ptr_array_steal_index (entry->children, 0));
      gtk_tree_model_row_deleted (GTK_TREE_MODEL (self), path);
      if (folder != NULL)
        {
          gtk_tree_path_up (path);
          gtk_tree_model_row_has_child_toggled (GTK_TREE_MODEL (self), path, folder);
        }
    }
  if (entry != self->root)
    emit_changed (self, entry);
}

void
console_recovery_model_toggle (ConsoleRecoveryModel *self, GtkTreeIter *iter)
{
  ConsoleRecoveryEntry *entry = entry_of (self, iter);

  if (is_placeholder (entry))
    return;
  entry->checked = !entry->checked;
  self->checked = entry->checked ? self->checked + 1 : self->checked - 1;
  emit_changed (self, entry);
}

guint
console_recovery_model_get_checked_count (ConsoleRecoveryModel *self)
{
  return self->checked;
}

char *
console_recovery_model_get_path_of (ConsoleRecoveryModel *self, GtkTreeIter *iter)
{
  return path_of (entry_of (self, iter));
}

static void
collect_checked (ConsoleRecoveryEntry *folder, GPtrArray *paths)
{
  for (guint i = 0; folder->children != NULL && i < folder->children->len; i++)
    {
      ConsoleRecoveryEntry *entry = folder->children->pdata[i];

      if (entry->checked)
        g_ptr_array_add (paths, path_of (entry)); /* with everything in it */
      else if (entry->loaded)
        collect_checked (entry, paths);
    }
}

/**
 * console_recovery_model_get_checked:
 *
 * Returns: (transfer full): the checked paths, in tree order, without those
 * inside a checked folder.
 */
GPtrArray *
console_recovery_model_get_checked (ConsoleRecoveryModel *self)
{
  GPtrArray *paths = g_ptr_array_new_with_free_func (g_free);

  if (self->checked > 0)
    collect_checked (self->root, paths);
  return paths;
}

static void
console_recovery_model_finalize (GObject *object)
{
  ConsoleRecoveryModel *self = CONSOLE_RECOVERY_MODEL (object);

  console_recovery_entry_free (self->root);
  G_OBJECT_CLASS (console_recovery_model_parent_class)->finalize (object);
}

static void
console_recovery_model_class_init (ConsoleRecoveryModelClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = console_recovery_model_finalize;
}

static void
console_recovery_model_init (ConsoleRecoveryModel *self)
{
  self->stamp = g_random_int ();
  self->root = g_new0 (ConsoleRecoveryEntry, 1);
  self->root->is_folder = TRUE;
  self->root->children =
      g_ptr_array_new_with_free_func ((GDestroyNotify) console_recovery_entry_free);
}

ConsoleRecoveryModel *
console_recovery_model_new (void)
{
  return g_object_new (CONSOLE_TYPE_RECOVERY_MODEL, NULL);
}
