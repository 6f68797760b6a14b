/* console-jobs-page.h: the Jobs page — the job history, newest first,
 * loaded a page at a time, with a status filter and live progress.
 */
#pragma once

#include <gtk/gtk.h>

#include "coffer-dbus-generated.h"
#include "console-job-monitor.h"

G_BEGIN_DECLS

#define CONSOLE_TYPE_JOBS_PAGE (console_jobs_page_get_type ())
G_DECLARE_FINAL_TYPE (ConsoleJobsPage, console_jobs_page, CONSOLE, JOBS_PAGE, GtkBox)

void console_jobs_page_set_agent (ConsoleJobsPage *self,
                                  CofferDBusAgent *agent,
                                  ConsoleJobMonitor *monitor);
void console_jobs_page_refresh (ConsoleJobsPage *self);

void console_job_row_texts (GVariant *progress, int *out_percent, char **out_text);

G_END_DECLS
