/* console-util.h: small helpers the console's pages and wizards share —
 * formatting sizes, rates and times, browsing for a folder or file, the
 * passphrase rule, and where the coffer command is.
 */
#pragma once

#include <gtk/gtk.h>

#include "coffer-keys.h"

G_BEGIN_DECLS

/* The agent's passphrase rule (coffer-keys.h): 16 to 1,024 printable ASCII
 * characters. */
#define CONSOLE_PASSPHRASE_MIN_LENGTH COFFER_PASSPHRASE_MIN_LENGTH
#define CONSOLE_PASSPHRASE_MAX_LENGTH COFFER_PASSPHRASE_MAX_LENGTH
#define CONSOLE_PASSPHRASE_GENERATED_LENGTH 32

char *console_format_bytes (guint64 bytes);
char *console_format_rate (double bytes_per_second);
char *console_format_duration (gint64 seconds);
char *console_format_time (gint64 unix_seconds);
const char *console_job_kind_label (const char *kind);
const char *console_job_status_label (const char *status);
int console_job_progress_percent (GVariant *progress);
const char *console_job_status_icon (const char *status);
const char *console_job_files_done_label (const char *kind);
const char *console_job_files_failed_label (const char *kind);
char *console_job_failed_heading (const char *kind, guint total);

guint console_passphrase_missing (const char *passphrase);
guint console_passphrase_excess (const char *passphrase);
gboolean console_passphrase_is_ascii (const char *passphrase);
guint console_passphrase_strength (const char *passphrase);
char *console_passphrase_generate (void);
void console_passphrase_clear (char *passphrase);

gboolean console_folder_is_on_this_machine (const char *folder);
const char *console_cli_path (void);

void console_browse (GtkWidget *parent,
                     GtkEntry *entry,
                     GtkFileChooserAction action,
                     const char *title,
                     GtkFileFilter *filter);

void console_set_accessible_name (GtkWidget *widget, const char *name);

char *console_error_message (const GError *error);
void console_fill_time_combo (GtkComboBoxText *combo);
gboolean console_is_time_slot (const char *text);
const char *console_weekday_key (guint day);
const char *console_weekday_short_name (guint day);
const char *console_weekday_name (guint day);
void console_assistant_set_apply_label (GtkAssistant *assistant, const char *label);

G_END_DECLS
