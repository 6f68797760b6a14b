/* console-exclusion-dialog.c: Exclusion Settings, a dialog over the
 * Schedule Backup wizard that edits the wizard's list of exclusions.
 *
 * An exclusion is one of the policy's patterns (coffer-policy.c): a folder
 * with its subfolders is its path ("/srv/cache"), a folder without them is
 * "/srv/cache/\*" (its files only), a file type is ".mp3". The dialog shows
 * them as the reference does — the item, its type, and Subfolders Yes/No —
 * and changes nothing in the agent: the wizard sends the list when the user
 * confirms.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "console-exclusion-dialog.h"

struct _ConsoleExclusionDialog
{
  GtkDialog parent_instance;

  GtkListStore *store;
  GtkTreeView *view;
  GtkTreeSelection *selection;
  GtkWidget *remove_button;
  GtkEntry *folder_entry;
  GtkEntry *type_entry;
  GtkToggleButton *subfolders_check;
  GtkWidget *exclude_folder_button;
  GtkWidget *exclude_type_button;
  GtkLabel *error_label;
};

G_DEFINE_FINAL_TYPE (ConsoleExclusionDialog, console_exclusion_dialog, GTK_TYPE_DIALOG)

/**
 * console_exclusion_normalize_type:
 * @text: what the user typed: "mp3", ".mp3" or "*.mp3"
 *
 * Returns: (transfer full) (nullable): the file type as a pattern (".mp3"),
 * or %NULL when @text is not a file type (empty, or holding '/' or a glob).
 */
char *
console_exclusion_normalize_type (const char *text)
{
  g_autofree char *stripped = g_strstrip (g_strdup (text));
  const char *type = stripped;

  if (g_str_has_prefix (type, "*."))
    type += 2;
  else if (type[0] == '.')
    type += 1;
  if (type[0] == '\0' || strpbrk (type, "/*?[]\\ ") != NULL)
    return NULL;
  return g_strconcat (".", type, NULL);
}

/**
 * console_exclusion_store_add:
 * @store: a store with the CONSOLE_EXCLUSION_COLUMN_* columns
 * @pattern: a policy pattern
 *
 * Adds @pattern to @store, shown as the user would name it, unless it is
 * there already.
 */
void
console_exclusion_store_add (GtkListStore *store, const char *pattern)
{
  g_autofree char *item = NULL;
  const char *kind;
  const char *subfolders = "";
  gsize length = strlen (pattern);
  GtkTreeIter iter;
  gboolean valid;

  for (valid = gtk_tree_model_get_iter_first (GTK_TREE_MODEL (store), &iter); valid;
       valid = gtk_tree_model_iter_next (GTK_TREE_MODEL (store), &iter))
    {
      g_autofree char *existing = NULL;

      gtk_tree_model_get (GTK_TREE_MODEL (store), &iter, CONSOLE_EXCLUSION_COLUMN_PATTERN,
                          &existing, -1);
      if (g_strcmp0 (existing, pattern) == 0)
        return;
    }

  if (pattern[0] == '/' && length > 2 && g_str_has_suffix (pattern, "/*") &&
      strpbrk (pattern, "?[") == NULL && strchr (pattern, '*') == pattern + length - 1)
    {
      item = g_strndup (pattern, length - 2);
      kind = _ ("Folder");
      subfolders = _ ("No");
    }
  else if (pattern[0] == '/' && strpbrk (pattern, "*?[") == NULL)
    {
      item = g_strdup (pattern);
      kind = _ ("Folder");
      subfolders = _ ("Yes");
    }
  else if ((item = console_exclusion_normalize_type (pattern)) != NULL &&
           (pattern[0] == '.' || g_str_has_prefix (pattern, "*.")))
    {
      kind = _ ("File type");
    }
  else
    {
      g_free (item);
      item = g_strdup (pattern);
      /* Translators: an exclusion made outside the console, such as "*~". */
      kind = _ ("Pattern");
    }

  gtk_list_store_insert_with_values (store, NULL, -1, CONSOLE_EXCLUSION_COLUMN_PATTERN, pattern,
                                     CONSOLE_EXCLUSION_COLUMN_ITEM, item,
                                     CONSOLE_EXCLUSION_COLUMN_KIND, kind,
                                     CONSOLE_EXCLUSION_COLUMN_SUBFOLDERS, subfolders, -1);
}

static void
show_error (ConsoleExclusionDialog *self, const char *message)
{
  gtk_label_set_text (self->error_label, message != NULL ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), message != NULL);
}

static void
update_buttons (ConsoleExclusionDialog *self)
{
  g_autofree char *type = console_exclusion_normalize_type (gtk_entry_get_text (self->type_entry));
  const char *folder = gtk_entry_get_text (self->folder_entry);

  gtk_widget_set_sensitive (self->exclude_folder_button, g_path_is_absolute (folder));
  gtk_widget_set_sensitive (self->exclude_type_button, type != NULL);
  gtk_widget_set_sensitive (self->remove_button,
                            gtk_tree_selection_count_selected_rows (self->selection) > 0);
  show_error (self, NULL);
}

static void
selection_changed_cb (ConsoleExclusionDialog *self, GtkTreeSelection *selection)
{
  update_buttons (self);
}

static void
exclude_folder_cb (ConsoleExclusionDialog *self)
{
  const char *text = gtk_entry_get_text (self->folder_entry);
  g_autofree char *folder = NULL;
  g_autofree char *pattern = NULL;

  if (!g_path_is_absolute (text))
    {
      show_error (self, _ ("Enter the full path of a folder, starting with “/”."));
      return;
    }
  if (strpbrk (text, "*?[") != NULL)
    {
      show_error (self, _ ("A folder's name cannot hold “*”, “?” or “[” here."));
      return;
    }

  folder = g_canonicalize_filename (text, "/");
  if (gtk_toggle_button_get_active (self->subfolders_check) || g_str_equal (folder, "/"))
    pattern = g_strdup (folder);
  else
    pattern = g_strconcat (folder, "/*", NULL);

  console_exclusion_store_add (self->store, pattern);
  gtk_entry_set_text (self->folder_entry, "");
}

static void
exclude_type_cb (ConsoleExclusionDialog *self)
{
  g_autofree char *type = console_exclusion_normalize_type (gtk_entry_get_text (self->type_entry));

  if (type == NULL)
    {
      show_error (self, _ ("Enter a file type such as “.mp3”."));
      return;
    }
  console_exclusion_store_add (self->store, type);
  gtk_entry_set_text (self->type_entry, "");
}

static void
remove_cb (ConsoleExclusionDialog *self)
{
  g_autolist (GtkTreeRowReference) references = NULL;
  GList *rows = gtk_tree_selection_get_selected_rows (self->selection, NULL);

  for (GList *l = rows; l != NULL; l = l->next)
    references = g_list_prepend (
        references, gtk_tree_row_reference_new (GTK_TREE_MODEL (self->store), l->data));
  g_list_free_full (rows, (GDestroyNotify) gtk_tree_path_free);

  for (GList *l = references; l != NULL; l = l->next)
    {
      g_autoptr (GtkTreePath) path = gtk_tree_row_reference_get_path (l->data);
      GtkTreeIter iter;

      if (path != NULL && gtk_tree_model_get_iter (GTK_TREE_MODEL (self->store), &iter, path))
        gtk_list_store_remove (self->store, &iter);
    }
}

static void
browse_response_cb (GtkNativeDialog *chooser, int response, gpointer user_data)
{
  ConsoleExclusionDialog *self = CONSOLE_EXCLUSION_DIALOG (user_data);

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autofree char *folder = gtk_file_chooser_get_filename (GTK_FILE_CHOOSER (chooser));

      if (folder != NULL)
        gtk_entry_set_text (self->folder_entry, folder);
    }
  g_object_unref (chooser);
  g_object_unref (self);
}

static void
browse_cb (ConsoleExclusionDialog *self)
{
  GtkFileChooserNative *chooser;

  chooser = gtk_file_chooser_native_new (_ ("Choose a Folder to Exclude"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, _ ("_Select"),
                                         _ ("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_signal_connect (chooser, "response", G_CALLBACK (browse_response_cb), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
console_exclusion_dialog_dispose (GObject *object)
{
  ConsoleExclusionDialog *self = CONSOLE_EXCLUSION_DIALOG (object);

  g_clear_object (&self->store);
  G_OBJECT_CLASS (console_exclusion_dialog_parent_class)->dispose (object);
}

static void
console_exclusion_dialog_class_init (ConsoleExclusionDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = console_exclusion_dialog_dispose;

  gtk_widget_class_set_template_from_resource (
      widget_class, "/io/github/coffer/Console/console-exclusion-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, ConsoleExclusionDialog, view);
  gtk_widget_class_bind_template_child (widget_class, ConsoleExclusionDialog, selection);
  gtk_widget_class_bind_template_child (widget_class, ConsoleExclusionDialog, remove_button);
  gtk_widget_class_bind_template_child (widget_class, ConsoleExclusionDialog, folder_entry);
  gtk_widget_class_bind_template_child (widget_class, ConsoleExclusionDialog, type_entry);
  gtk_widget_class_bind_template_child (widget_class, ConsoleExclusionDialog, subfolders_check);
  gtk_widget_class_bind_template_child (widget_class, ConsoleExclusionDialog,
                                        exclude_folder_button);
  gtk_widget_class_bind_template_child (widget_class, ConsoleExclusionDialog, exclude_type_button);
  gtk_widget_class_bind_template_child (widget_class, ConsoleExclusionDialog, error_label);
  gtk_widget_class_bind_template_callback (widget_class, selection_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, update_buttons);
  gtk_widget_class_bind_template_callback (widget_class, exclude_folder_cb);
  gtk_widget_class_bind_template_callback (widget_class, exclude_type_cb);
  gtk_widget_class_bind_template_callback (widget_class, remove_cb);
  gtk_widget_class_bind_template_callback (widget_class, browse_cb);
}

static void
console_exclusion_dialog_init (ConsoleExclusionDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

/**
 * console_exclusion_dialog_new:
 * @parent: the wizard
 * @store: the exclusions, which the dialog edits in place
 *
 * Returns: (transfer full): the dialog; it closes on its Close response.
 */
ConsoleExclusionDialog *
console_exclusion_dialog_new (GtkWindow *parent, GtkListStore *store)
{
  ConsoleExclusionDialog *self;

  g_return_val_if_fail (GTK_IS_LIST_STORE (store), NULL);

  self = g_object_new (CONSOLE_TYPE_EXCLUSION_DIALOG, "transient-for", parent, "use-header-bar",
                       FALSE, NULL);
  self->store = g_object_ref (store);
  gtk_tree_view_set_model (self->view, GTK_TREE_MODEL (store));
  g_signal_connect (self, "response", G_CALLBACK (gtk_widget_destroy), NULL);
  return self;
}
