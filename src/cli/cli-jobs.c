/* cli-jobs.c: `coffer backup`, `coffer jobs`, `coffer job show|cancel`.
 *
 * `coffer backup --wait` subscribes to the job signals before it starts the
 * job, so it sees every progress report and the end, whatever the timing.
 * Exit statuses: 0 completed, 3 completed with warnings, 1 failed or
 * cancelled (cli-commands.h).
 */
#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>
#include <unistd.h>

#include "cli-commands.h"

#define FAILED_ITEMS_PAGE 500

typedef struct
{
  GMainLoop *loop;
  char *job_path;
  gboolean tty;
  char *last_phase;
  int exit_status;
  gboolean ended;
} Waiter;

static char *
format_eta (gint64 seconds)
{
  if (seconds < 0)
    return g_strdup ("—");
  if (seconds >= 3600)
    return g_strdup_printf ("%" G_GINT64_FORMAT ":%02d:%02d", seconds / 3600,
                            (int) (seconds / 60 % 60), (int) (seconds % 60));
  return g_strdup_printf ("%d:%02d", (int) (seconds / 60), (int) (seconds % 60));
}

static void
print_progress (Waiter *waiter, GVariant *progress)
{
  const char *phase = "";
  guint64 scanned = 0, sent = 0, files = 0, failed = 0;
  double rate = 0;
  gint64 eta = -1;
  g_autofree char *scanned_text = NULL;
  g_autofree char *sent_text = NULL;
  g_autofree char *rate_text = NULL;
  g_autofree char *eta_text = NULL;
  g_autofree char *line = NULL;

  g_variant_lookup (progress, "phase", "&s", &phase);
  g_variant_lookup (progress, "bytes-scanned", "t", &scanned);
  g_variant_lookup (progress, "bytes-sent", "t", &sent);
  g_variant_lookup (progress, "files-scanned", "t", &files);
  g_variant_lookup (progress, "files-failed", "t", &failed);
  g_variant_lookup (progress, "rate", "d", &rate);
  g_variant_lookup (progress, "eta", "x", &eta);

  if (!waiter->tty)
    {
      /* Not a terminal: one line per phase, not a stream of updates. */
      if (*phase != '\0' && g_strcmp0 (waiter->last_phase, phase) != 0 &&
          !g_str_equal (phase, "Job completed."))
        g_printerr ("%s\n", phase);
      g_free (waiter->last_phase);
      waiter->last_phase = g_strdup (phase);
      return;
    }

  scanned_text = g_format_size (scanned);
  sent_text = g_format_size (sent);
  rate_text = g_format_size ((guint64) rate);
  eta_text = format_eta (eta);
  /* Translators: a progress line of `coffer backup --wait`: the phase, bytes
   * scanned, bytes sent, files, failed files, the rate and the time left. */
  line = g_strdup_printf (_ ("%s %s scanned, %s sent, %llu files, %llu failed, %s/s, ETA %s"),
                          phase, scanned_text, sent_text, (unsigned long long) files,
                          (unsigned long long) failed, rate_text, eta_text);
  g_printerr ("\r\033[K%s", line);
}

static void
job_signal_cb (GDBusConnection *connection,
               const char *sender,
               const char *path,
               const char *interface,
               const char *signal,
               GVariant *parameters,
               gpointer user_data)
{
  Waiter *waiter = user_data;

  if (waiter->job_path == NULL || !g_str_equal (path, waiter->job_path) || waiter->ended)
    return;

  if (g_str_equal (signal, "Progress"))
    {
      g_autoptr (GVariant) progress = g_variant_get_child_value (parameters, 0);
      print_progress (waiter, progress);
    }
  else if (g_str_equal (signal, "Finished"))
    {
      const char *status, *message;

      g_variant_get (parameters, "(&s&s)", &status, &message);
      if (waiter->tty)
        g_printerr ("\n");
      g_print ("%s\n", message);
      waiter->exit_status = g_str_equal (status, "completed")  ? CLI_EXIT_OK
                            : g_str_equal (status, "warnings") ? CLI_EXIT_WARNINGS
                                                               : CLI_EXIT_FAILED;
      waiter->ended = TRUE;
      g_main_loop_quit (waiter->loop);
    }
}

static void
agent_vanished_cb (GDBusConnection *connection, const char *name, gpointer user_data)
{
  Waiter *waiter = user_data;

  if (waiter->ended || waiter->job_path == NULL)
    return;
  g_printerr (_ ("\ncoffer: The agent stopped while the job ran.\n"));
  waiter->exit_status = CLI_EXIT_FAILED;
  waiter->ended = TRUE;
  g_main_loop_quit (waiter->loop);
}

static gboolean
parse_day (const char *text, gint64 *out_unix)
{
  int year, month, day;
  g_autoptr (GDateTime) end = NULL;

  if (text == NULL || sscanf (text, "%4d-%2d-%2d", &year, &month, &day) != 3 || strlen (text) != 10)
    return FALSE;
  /* Kept until the end of that day, local time. */
  end = g_date_time_new_local (year, month, day, 23, 59, 59);
  if (end == NULL)
    return FALSE;
  *out_unix = g_date_time_to_unix (end);
  return TRUE;
}

static gboolean
start_backup_or_check (CofferDBusAgent *agent,
                       const char *kind,
                       GVariant *options,
                       char **out_path,
                       guint64 *out_id,
                       GError **error)
{
  if (g_str_equal (kind, "backup"))
    return coffer_dbus_agent_call_start_backup_sync (agent, options, G_DBUS_CALL_FLAGS_NONE, -1,
                                                     out_path, out_id, NULL, error);
  return coffer_dbus_agent_call_start_check_sync (agent, options, G_DBUS_CALL_FLAGS_NONE, -1,
                                                  out_path, out_id, NULL, error);
}

static int
start_job (const char *kind, GVariant *options, gboolean wait)
{
  return cli_start_job (kind, start_backup_or_check, options, wait);
}

/**
 * cli_start_job:
 * @kind: "backup", "check" or "recovery"
 * @start: calls the agent's method that starts the job
 * @parameters: what @start passes (sunk and freed here)
 * @wait: show the progress and wait for the end
 *
 * Starts a job; with @wait, shows its progress and returns the exit status
 * its end calls for.
 */
int
cli_start_job (const char *kind, CliStartFunc start, GVariant *parameters, gboolean wait)
{
  GVariant *options = parameters;
  g_autoptr (CofferDBusAgent) agent = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *job_path = NULL;
  GDBusConnection *connection;
  guint64 id = 0;
  guint subscription, watch;
  gboolean started;
  Waiter waiter = { 0 };

  g_variant_ref_sink (options);
  agent = cli_agent_connect (&error);
  if (agent == NULL)
    {
      g_variant_unref (options);
      return cli_report_error (error);
    }
  connection = g_dbus_proxy_get_connection (G_DBUS_PROXY (agent));

  /* Subscribed before the job starts: no signal of it can be missed. */
  waiter.loop = g_main_loop_new (NULL, FALSE);
  waiter.tty = isatty (STDERR_FILENO);
  waiter.exit_status = CLI_EXIT_FAILED;
  subscription = g_dbus_connection_signal_subscribe (
      connection, AGENT_BUS_NAME, "io.github.coffer.Job1", NULL, NULL, NULL,
      G_DBUS_SIGNAL_FLAGS_NONE, job_signal_cb, &waiter, NULL);
  watch = g_bus_watch_name_on_connection (connection, AGENT_BUS_NAME, G_BUS_NAME_WATCHER_FLAGS_NONE,
                                          NULL, agent_vanished_cb, &waiter, NULL);

  started = start (agent, kind, options, &job_path, &id, &error);
  g_variant_unref (options);

  if (!started)
    waiter.exit_status = cli_report_error (error);
  else
    {
      /* Translators: %s is "Backup", "Check", "Prune", "Cache move" or "Recovery". */
      g_print (_ ("%s job %llu started.\n"),
               g_str_equal (kind, "backup")       ? _ ("Backup")
               : g_str_equal (kind, "check")      ? _ ("Check")
               : g_str_equal (kind, "prune")      ? _ ("Prune")
               : g_str_equal (kind, "cache-move") ? _ ("Cache move")
                                                  : _ ("Recovery"),
               (unsigned long long) id);
      if (wait)
        {
          waiter.job_path = g_strdup (job_path);
          g_main_loop_run (waiter.loop);
          if (waiter.exit_status != CLI_EXIT_OK)
            g_print (_ ("Details: coffer job show %llu\n"), (unsigned long long) id);
        }
      else
        waiter.exit_status = CLI_EXIT_OK;
    }

  g_dbus_connection_signal_unsubscribe (connection, subscription);
  g_bus_unwatch_name (watch);
  g_main_loop_unref (waiter.loop);
  g_free (waiter.job_path);
  g_free (waiter.last_phase);
  return waiter.exit_status;
}

int
cli_backup (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autofree char *retain = NULL;
  GVariantBuilder options;
  gboolean wait = FALSE;
  gint64 retain_until = 0;
  const GOptionEntry entries[] = {
    { "retain-until", 0, 0, G_OPTION_ARG_STRING, &retain,
      N_ ("Keep this recovery point until the end of this day (default: 30 days)"), "YYYY-MM-DD" },
    { "wait", 0, 0, G_OPTION_ARG_NONE, &wait, N_ ("Show the progress and wait for the end"), NULL },
    { NULL }
  };

  context = g_option_context_new (NULL);
  g_option_context_set_summary (context, _ ("Back up now. The backup runs in the agent; closing "
                                            "the terminal does not stop it."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!cli_parse_options (context, &argc, &argv))
    return CLI_EXIT_USAGE;
  if (retain != NULL &&
      (!parse_day (retain, &retain_until) || retain_until < g_get_real_time () / G_USEC_PER_SEC))
    {
      g_printerr (_ ("coffer: --retain-until needs a day from today on, as YYYY-MM-DD.\n"));
      return CLI_EXIT_USAGE;
    }

  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  if (retain_until != 0)
    g_variant_builder_add (&options, "{sv}", "retain-until", g_variant_new_int64 (retain_until));
  return start_job ("backup", g_variant_builder_end (&options), wait);
}

int
cli_check (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = NULL;
  GVariantBuilder options;
  gboolean wait = FALSE;
  gboolean read_data = FALSE;
  gboolean repair = FALSE;
  const GOptionEntry entries[] = { { "read-data", 0, 0, G_OPTION_ARG_NONE, &read_data,
                                     N_ ("Also read, decrypt and verify every stored blob"), NULL },
                                   { "repair", 0, 0, G_OPTION_ARG_NONE, &repair,
                                     N_ ("Then repair what it finds: rebuild the index from the "
                                         "packs, move damaged objects into the vault's damaged/ "
                                         "area (nothing is deleted), rewrite what this server "
                                         "can regenerate"),
                                     NULL },
                                   { "wait", 0, 0, G_OPTION_ARG_NONE, &wait,
                                     N_ ("Show the progress and wait for the end"), NULL },
                                   { NULL } };

  context = g_option_context_new (NULL);
  g_option_context_set_summary (context, _ ("Check this server's backups in the vault: every "
                                            "recovery point, folder and pack; with --read-data, "
                                            "every byte. Damage is listed with the files that "
                                            "need it."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!cli_parse_options (context, &argc, &argv))
    return CLI_EXIT_USAGE;

  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&options, "{sv}", "read-data", g_variant_new_boolean (read_data));
  if (repair)
    g_variant_builder_add (&options, "{sv}", "repair", g_variant_new_boolean (TRUE));
  return start_job ("check", g_variant_builder_end (&options), wait);
}

static char *
format_time (gint64 unix_seconds)
{
  g_autoptr (GDateTime) time = NULL;

  if (unix_seconds <= 0)
    return g_strdup ("—");
  time = g_date_time_new_from_unix_local (unix_seconds);
  return g_date_time_format (time, "%Y-%m-%d %H:%M:%S");
}

/* What --status takes: the statuses GetJob gives. */
static const char *const job_statuses[] = { "queued", "running",   "completed", "warnings",
                                            "failed", "cancelled", NULL };

static void
print_job_line (GVariant *job)
{
  guint64 id = 0, sent = 0, files = 0;
  gint64 started = 0;
  const char *kind = "", *status = "";
  g_autofree char *started_text = NULL;
  g_autofree char *sent_text = NULL;

  g_variant_lookup (job, "id", "t", &id);
  g_variant_lookup (job, "kind", "&s", &kind);
  g_variant_lookup (job, "status", "&s", &status);
  g_variant_lookup (job, "started-at", "x", &started);
  g_variant_lookup (job, "bytes-sent", "t", &sent);
  g_variant_lookup (job, "files-scanned", "t", &files);
  started_text = format_time (started);
  sent_text = g_format_size (sent);
  g_print ("%6" G_GUINT64_FORMAT "  %-10s  %-10s  %s  %10s  %8" G_GUINT64_FORMAT "\n", id, kind,
           status, started_text, sent_text, files);
}

int
cli_jobs (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (CofferDBusAgent) agent = NULL;
  g_autoptr (GVariant) jobs = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *status = NULL;
  gboolean json = FALSE;
  int limit = 50, offset = 0;
  GVariantIter iter;
  GVariant *job;
  const GOptionEntry entries[] = {
    { "status", 0, 0, G_OPTION_ARG_STRING, &status,
      N_ ("Only jobs with this status: running, completed, warnings, failed, cancelled"),
      "STATUS" },
    { "limit", 0, 0, G_OPTION_ARG_INT, &limit, N_ ("Show at most this many (default 50)"), "N" },
    { "offset", 0, 0, G_OPTION_ARG_INT, &offset, N_ ("Skip this many of the newest"), "N" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_ ("Print the jobs as JSON"), NULL },
    { NULL }
  };

  context = g_option_context_new (NULL);
  g_option_context_set_summary (context, _ ("List the job history, newest first."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!cli_parse_options (context, &argc, &argv))
    return CLI_EXIT_USAGE;
  if (limit < 1 || limit > 1000 || offset < 0)
    {
      g_printerr (_ ("coffer: --limit is between 1 and 1000, --offset at least 0.\n"));
      return CLI_EXIT_USAGE;
    }
  if (status != NULL && !g_strv_contains (job_statuses, status))
    {
      g_printerr (_ ("coffer: --status is queued, running, completed, warnings, failed or "
                     "cancelled; not “%s”.\n"),
                  status);
      return CLI_EXIT_USAGE;
    }

  agent = cli_agent_connect (&error);
  if (agent == NULL ||
      !coffer_dbus_agent_call_list_jobs_sync (agent, offset, limit, status != NULL ? status : "",
                                              G_DBUS_CALL_FLAGS_NONE, -1, &jobs, NULL, &error))
    return cli_report_error (error);

  if (json)
    {
      g_autoptr (JsonNode) node = json_gvariant_serialize (jobs);
      cli_print_json (node);
      return CLI_EXIT_OK;
    }
  if (g_variant_n_children (jobs) == 0)
    {
      g_print ("%s\n", _ ("No jobs yet."));
      return CLI_EXIT_OK;
    }
  /* Translators: the column titles of `coffer jobs`; keep the widths. */
  g_print ("%s\n", _ ("    ID  KIND        STATUS      STARTED                    SENT     FILES"));
  g_variant_iter_init (&iter, jobs);
  while ((job = g_variant_iter_next_value (&iter)) != NULL)
    {
      print_job_line (job);
      g_variant_unref (job);
    }
  return CLI_EXIT_OK;
}

static gboolean
parse_id (int argc, char **argv, guint64 *out_id)
{
  if (argc != 2)
    {
      g_printerr (_ ("coffer: %s needs one job number.\n"), argv[0]);
      return FALSE;
    }
  if (!g_ascii_string_to_unsigned (argv[1], 10, 1, G_MAXUINT64, out_id, NULL))
    {
      g_printerr (_ ("coffer: “%s” is not a job number.\n"), argv[1]);
      return FALSE;
    }
  return TRUE;
}

/* How `job show` names a job's figures and failed items: each kind counts
 * and fails its own way. A NULL label: that figure is not shown. */
typedef struct
{
  const char *kind;
  const char *scanned;       /* bytes-scanned */
  const char *sent;          /* bytes-sent */
  const char *files_scanned; /* files-scanned */
  const char *files_done;    /* files-backed-up */
  const char *files_failed;  /* files-failed */
  const char *failed_heading;
} KindLabels;

static const KindLabels kind_labels[] = {
  { "backup", N_ ("Scanned:"), N_ ("Sent:"), N_ ("Files scanned:"), N_ ("Files backed up:"),
    N_ ("Files failed:"), N_ ("Not backed up:") },
  { "recovery", N_ ("Recovered:"), NULL, N_ ("Files scanned:"), N_ ("Files recovered:"),
    N_ ("Files failed:"), N_ ("Not recovered:") },
  { "check", N_ ("Data read:"), NULL, NULL, NULL, N_ ("Damaged or missing:"),
    N_ ("Damaged or missing:") },
  { "cache-move", N_ ("Copied:"), NULL, N_ ("Files copied:"), NULL, N_ ("Files failed:"),
    N_ ("Failed:") },
  /* prune, and any kind this version does not know */
  { NULL, N_ ("Scanned:"), N_ ("Sent:"), N_ ("Files scanned:"), N_ ("Files backed up:"),
    N_ ("Files failed:"), N_ ("Failed:") },
};

static const KindLabels *
labels_for (GVariant *job)
{
  const char *kind = "";
  gsize i;

  g_variant_lookup (job, "kind", "&s", &kind);
  for (i = 0; kind_labels[i].kind != NULL; i++)
    if (g_str_equal (kind, kind_labels[i].kind))
      break;
  return &kind_labels[i];
}

static void
print_job_details (GVariant *job)
{
  const KindLabels *labels = labels_for (job);
  const char *text;
  guint64 number;
  gint64 when;

#define SHOW_STRING(label, key)                                                                    \
  if (g_variant_lookup (job, key, "&s", &text) && *text != '\0')                                   \
    g_print ("%-18s%s\n", label, text);
#define SHOW_NUMBER(label, key)                                                                    \
  if (g_variant_lookup (job, key, "t", &number))                                                   \
    g_print ("%-18s%" G_GUINT64_FORMAT "\n", label, number);
#define SHOW_SIZE(label, key)                                                                      \
  if (g_variant_lookup (job, key, "t", &number))                                                   \
    {                                                                                              \
      g_autofree char *size = g_format_size (number);                                              \
      g_print ("%-18s%s\n", label, size);                                                          \
    }
#define SHOW_TIME(label, key)                                                                      \
  if (g_variant_lookup (job, key, "x", &when))                                                     \
    {                                                                                              \
      g_autofree char *time = format_time (when);                                                  \
      g_print ("%-18s%s\n", label, time);                                                          \
    }
  SHOW_NUMBER (_ ("Job:"), "id");
  SHOW_STRING (_ ("Kind:"), "kind");
  SHOW_STRING (_ ("Status:"), "status");
  SHOW_STRING (_ ("Phase:"), "phase");
  SHOW_STRING (_ ("Result:"), "message");
  SHOW_TIME (_ ("Started:"), "started-at");
  SHOW_TIME (_ ("Ended:"), "ended-at");
  SHOW_SIZE (_ (labels->scanned), "bytes-scanned");
  if (labels->sent != NULL)
    SHOW_SIZE (_ (labels->sent), "bytes-sent");
  if (labels->files_scanned != NULL)
    SHOW_NUMBER (_ (labels->files_scanned), "files-scanned");
  if (labels->files_done != NULL)
    SHOW_NUMBER (_ (labels->files_done), "files-backed-up");
  SHOW_NUMBER (_ (labels->files_failed), "files-failed");
  SHOW_STRING (_ ("Recovery point:"), "recovery-point");
#undef SHOW_STRING
#undef SHOW_NUMBER
#undef SHOW_SIZE
#undef SHOW_TIME
}

int
cli_job_show (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (CofferDBusAgent) agent = NULL;
  g_autoptr (GVariant) job = NULL;
  g_autoptr (GError) error = NULL;
  gboolean json = FALSE;
  guint64 id;
  guint total = 0;
  int first = 0, limit = -1;
  guint offset;
  JsonArray *failed = NULL;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json,
      N_ ("Print the job as JSON, its failed items in \"failed-items\""), NULL },
    { "limit", 0, 0, G_OPTION_ARG_INT, &limit,
      N_ ("Show at most this many failed items (default: all)"), "N" },
    { "offset", 0, 0, G_OPTION_ARG_INT, &first, N_ ("Skip this many failed items"), "N" },
    { NULL }
  };

  context = g_option_context_new (_ ("ID"));
  g_option_context_set_summary (context, _ ("Show a job's details and what it could not back "
                                            "up, recover or check, with the reason for each."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!cli_parse_options (context, &argc, &argv))
    return CLI_EXIT_USAGE;
  if (!parse_id (argc, argv, &id))
    return CLI_EXIT_USAGE;
  if (first < 0 || limit == 0 || limit < -1)
    {
      g_printerr (_ ("coffer: --limit is at least 1, --offset at least 0.\n"));
      return CLI_EXIT_USAGE;
    }

  agent = cli_agent_connect (&error);
  if (agent == NULL || !coffer_dbus_agent_call_get_job_sync (agent, id, G_DBUS_CALL_FLAGS_NONE, -1,
                                                             &job, NULL, &error))
    return cli_report_error (error);

  if (json)
    failed = json_array_new ();
  else
    print_job_details (job);

  /* The failed items, a page of the agent's at a time. */
  offset = first;
  do
    {
      g_autoptr (GVariant) items = NULL;
      GVariantIter iter;
      const char *path, *reason;
      guint page =
          limit > 0 ? MIN ((guint) limit - (offset - first), FAILED_ITEMS_PAGE) : FAILED_ITEMS_PAGE;

      if (!coffer_dbus_agent_call_get_failed_items_sync (
              agent, id, offset, page, G_DBUS_CALL_FLAGS_NONE, -1, &items, &total, NULL, &error))
        {
          g_clear_pointer (&failed, json_array_unref);
          return cli_report_error (error);
        }
      if (failed == NULL && offset == (guint) first && total > (guint) first)
        g_print ("\n%s\n", _ (labels_for (job)->failed_heading));
      g_variant_iter_init (&iter, items);
      while (g_variant_iter_next (&iter, "(&s&s)", &path, &reason))
        if (failed != NULL)
          {
            JsonObject *item = json_object_new ();
            json_object_set_string_member (item, "path", path);
            json_object_set_string_member (item, "reason", reason);
            json_array_add_object_element (failed, item);
          }
        else
          g_print ("  %s\n      %s\n", path, reason);
      offset += page;
    }
  while (offset < total && (limit < 0 || offset - first < (guint) limit));

  if (failed != NULL)
    {
      g_autoptr (JsonNode) node = json_gvariant_serialize (job);
      JsonObject *object = json_node_get_object (node);

      json_object_set_array_member (object, "failed-items", failed);
      json_object_set_int_member (object, "failed-items-total", total);
      cli_print_json (node);
    }
  else if (limit > 0 && offset < total)
    g_print (_ ("(%u more: --offset %u)\n"), total - offset, offset);
  return CLI_EXIT_OK;
}

int
cli_job_cancel (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (CofferDBusAgent) agent = NULL;
  g_autoptr (GError) error = NULL;
  guint64 id;

  context = g_option_context_new (_ ("ID"));
  g_option_context_set_summary (context, _ ("Cancel a running job. What it finished is kept."));
  if (!cli_parse_options (context, &argc, &argv))
    return CLI_EXIT_USAGE;
  if (!parse_id (argc, argv, &id))
    return CLI_EXIT_USAGE;

  agent = cli_agent_connect (&error);
  if (agent == NULL ||
      !coffer_dbus_agent_call_cancel_job_sync (agent, id, G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error))
    return cli_report_error (error);
  g_print (_ ("Job %llu is being cancelled.\n"), (unsigned long long) id);
  return CLI_EXIT_OK;
}
