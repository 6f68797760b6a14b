/* console-recovery-model.h: a lazy GtkTreeModel of a recovery point's folders. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* The model's columns, as the browser's .ui file names them. */
enum
{
  CONSOLE_RECOVERY_COLUMN_CHECKED,   /* gboolean */
  CONSOLE_RECOVERY_COLUMN_NAME,      /* gchararray: the name, for display */
  CONSOLE_RECOVERY_COLUMN_PATH,      /* gchararray: the path in the point, raw bytes */
  CONSOLE_RECOVERY_COLUMN_ICON,      /* gchararray: an icon name */
  CONSOLE_RECOVERY_COLUMN_SIZE,      /* gchararray */
  CONSOLE_RECOVERY_COLUMN_MTIME,     /* gchararray */
  CONSOLE_RECOVERY_COLUMN_IS_FOLDER, /* gboolean */
  CONSOLE_RECOVERY_COLUMN_LOADED,    /* gboolean: its entries are all in */
  CONSOLE_RECOVERY_COLUMN_LOADING,   /* gboolean: its entries are being read */
  CONSOLE_RECOVERY_COLUMN_CHECKABLE, /* gboolean: false for the "Loading…" row */
  CONSOLE_RECOVERY_N_COLUMNS
};

/* An entry of a folder, made by console_recovery_entry_new() in any thread
 * and handed to the model, which then owns it. */
typedef struct _ConsoleRecoveryEntry ConsoleRecoveryEntry;

ConsoleRecoveryEntry *
console_recovery_entry_new (const char *name, const char *type, guint64 size, gint64 mtime_ns);
void console_recovery_entry_free (ConsoleRecoveryEntry *entry);
int console_recovery_entry_compare (gconstpointer a, gconstpointer b);

#define CONSOLE_TYPE_RECOVERY_MODEL (console_recovery_model_get_type ())
G_DECLARE_FINAL_TYPE (
    ConsoleRecoveryModel, console_recovery_model, CONSOLE, RECOVERY_MODEL, GObject)

ConsoleRecoveryModel *console_recovery_model_new (void);
void console_recovery_model_append (
    ConsoleRecoveryModel *self, GtkTreeIter *parent, GPtrArray *entries, guint start, guint end);
void console_recovery_model_set_loading (ConsoleRecoveryModel *self,
                                         GtkTreeIter *folder,
                                         gboolean loading);
void console_recovery_model_set_loaded (ConsoleRecoveryModel *self, GtkTreeIter *folder);
void console_recovery_model_toggle (ConsoleRecoveryModel *self, GtkTreeIter *iter);
guint console_recovery_model_get_checked_count (ConsoleRecoveryModel *self);
char *console_recovery_model_get_path_of (ConsoleRecoveryModel *self, GtkTreeIter *iter);
GPtrArray *console_recovery_model_get_checked (ConsoleRecoveryModel *self);

G_END_DECLS
