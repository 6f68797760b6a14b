/* console-exclusion-dialog.h: Exclusion Settings of the Schedule Backup wizard. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* The columns of the exclusions store the dialog edits. */
enum
{
  CONSOLE_EXCLUSION_COLUMN_PATTERN,    /* the policy's pattern, as SetPolicy takes it */
  CONSOLE_EXCLUSION_COLUMN_ITEM,       /* what the user sees: a folder or a file type */
  CONSOLE_EXCLUSION_COLUMN_KIND,       /* "Folder", "File type" or "Pattern" */
  CONSOLE_EXCLUSION_COLUMN_SUBFOLDERS, /* "Yes", "No" or "" */
  CONSOLE_EXCLUSION_N_COLUMNS
};

#define CONSOLE_TYPE_EXCLUSION_DIALOG (console_exclusion_dialog_get_type ())
G_DECLARE_FINAL_TYPE (
    ConsoleExclusionDialog, console_exclusion_dialog, CONSOLE, EXCLUSION_DIALOG, GtkDialog)

ConsoleExclusionDialog *console_exclusion_dialog_new (GtkWindow *parent, GtkListStore *store);

void console_exclusion_store_add (GtkListStore *store, const char *pattern);
char *console_exclusion_normalize_type (const char *text);

G_END_DECLS
