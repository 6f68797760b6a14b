/* cli-policy.c: `coffer policy show|set|pause|resume|stop`: what to back up,
 * when, and for how long. */
#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli-commands.h"

static void
print_list (const char *title, const char *const *values)
{
  g_print ("%s\n", title);
  if (values == NULL || values[0] == NULL)
    g_print ("  %s\n", _ ("(none)"));
  for (guint i = 0; values != NULL && values[i] != NULL; i++)
    g_print ("  %s\n", values[i]);
}

static char *
retention_text (GVariant *policy, const char *key, const char *one, const char *many)
{
  guint32 count = 0;

  g_variant_lookup (policy, key, "u", &count);
  if (count == 0)
    return g_strdup (_ ("off"));
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, one, many, count), count);
}

static void
print_schedule (GVariant *policy)
{
  g_autofree const char **times = NULL;
  g_autofree const char **weekdays = NULL;
  g_autofree char *time_list = NULL;
  g_autofree char *day_list = NULL;
  g_autofree char *daily = NULL;
  g_autofree char *weekly = NULL;
  g_autofree char *monthly = NULL;
  g_autofree char *yearly = NULL;
  const char *schedule = "none", *state = "active";
  gint64 next_run = 0;

  g_variant_lookup (policy, "schedule", "&s", &schedule);
  g_variant_lookup (policy, "times", "^a&s", &times);
  g_variant_lookup (policy, "weekdays", "^a&s", &weekdays);
  g_variant_lookup (policy, "state", "&s", &state);
  g_variant_lookup (policy, "next-run", "x", &next_run);
  time_list = times != NULL ? g_strjoinv (", ", (char **) times) : g_strdup ("");
  day_list = weekdays != NULL ? g_strjoinv (", ", (char **) weekdays) : g_strdup ("");

  if (g_str_equal (schedule, "daily"))
    /* Translators: %s is a list of times, such as "09:00, 21:00". */
    g_print (_ ("Schedule: daily at %s\n"), time_list);
  else if (g_str_equal (schedule, "weekly"))
    /* Translators: the days (mon, fri), then the times. */
    g_print (_ ("Schedule: weekly on %s at %s\n"), day_list, time_list);
  else
    g_print ("%s\n", _ ("Schedule: none (Back Up Now only)"));
  g_print (_ ("State: %s\n"), g_str_equal (state, "paused") ? _ ("paused") : _ ("active"));
  if (next_run > 0)
    {
      g_autoptr (GDateTime) time = g_date_time_new_from_unix_local (next_run);
      g_autofree char *text = g_date_time_format (time, "%Y-%m-%d %H:%M %Z");
      g_print (_ ("Next run: %s\n"), text);
    }
  daily = retention_text (policy, "retain-daily", N_ ("%u day"), N_ ("%u days"));
  weekly = retention_text (policy, "retain-weekly", N_ ("%u week"), N_ ("%u weeks"));
  monthly = retention_text (policy, "retain-monthly", N_ ("%u month"), N_ ("%u months"));
  yearly = retention_text (policy, "retain-yearly", N_ ("%u year"), N_ ("%u years"));
  /* Translators: how long the newest scheduled point of each day, week,
   * month and year is kept. */
  g_print (_ ("Retention: daily %s, weekly %s, monthly %s, yearly %s\n"), daily, weekly, monthly,
           yearly);
}

int
cli_policy_show (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (CofferDBusAgent) agent = NULL;
  g_autoptr (GVariant) policy = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree const char **items = NULL;
  g_autofree const char **exclusions = NULL;
  g_autofree const char **inclusions = NULL;
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_ ("Print the policy as JSON"), NULL }, { NULL }
  };

  context = g_option_context_new (NULL);
  g_option_context_set_summary (context, _ ("Show what is backed up (the items, the exclusions "
                                            "and the inclusions that win over them), when, how "
                                            "long backups are kept, and the next run."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!cli_parse_options (context, &argc, &argv))
    return CLI_EXIT_USAGE;

  agent = cli_agent_connect (&error);
  if (agent == NULL || !coffer_dbus_agent_call_get_policy_sync (agent, G_DBUS_CALL_FLAGS_NONE, -1,
                                                                &policy, NULL, &error))
    return cli_report_error (error);

  if (json)
    {
      g_autoptr (JsonNode) node = json_gvariant_serialize (policy);
      cli_print_json (node);
      return CLI_EXIT_OK;
    }

  g_variant_lookup (policy, "items", "^a&s", &items);
  g_variant_lookup (policy, "exclusions", "^a&s", &exclusions);
  g_variant_lookup (policy, "inclusions", "^a&s", &inclusions);
  print_list (_ ("Items:"), items);
  print_list (_ ("Exclusions:"), exclusions);
  print_list (_ ("Inclusions (win over exclusions):"), inclusions);
  print_schedule (policy);
  return CLI_EXIT_OK;
}

/* Items on the command line may be relative to the current folder. An item
 * that is not UTF-8 cannot be one yet (the policy is text): NULL, having
 * said so. */
static GVariant *
absolute_paths (char **paths)
{
  g_autoptr (GPtrArray) absolute = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; paths != NULL && paths[i] != NULL; i++)
    {
      if (!cli_check_utf8 (paths[i], _ ("an item")))
        return NULL;
      g_ptr_array_add (absolute, g_canonicalize_filename (paths[i], NULL));
    }
  return g_variant_ref_sink (
      g_variant_new_strv ((const char *const *) absolute->pdata, absolute->len));
}

/* Checks --daily or --weekly as the agent will, so that a time or day it
 * would refuse is a usage error with the rule. */
static gboolean
check_schedule (CofferScheduleKind kind, const char *const *days, const char *const *times)
{
  g_autoptr (GError) error = NULL;
  CofferSchedule schedule;

  coffer_schedule_init_default (&schedule);
  schedule.kind = kind;
  if (!coffer_schedule_set_times (&schedule, times, &error) ||
      (days != NULL && !coffer_schedule_set_weekdays (&schedule, days, &error)) ||
      !coffer_schedule_check (&schedule, &error))
    {
      g_printerr ("coffer: %s\n", error->message);
      return FALSE;
    }
  return TRUE;
}

int
cli_policy_set (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (CofferDBusAgent) agent = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) add = NULL;
  g_auto (GStrv) remove = NULL;
  g_auto (GStrv) exclude = NULL;
  g_auto (GStrv) unexclude = NULL;
  g_auto (GStrv) include = NULL;
  g_auto (GStrv) uninclude = NULL;
  g_auto (GStrv) warnings = NULL;
  g_autofree char *daily = NULL;
  g_autofree char *weekly = NULL;
  gboolean no_schedule = FALSE;
  char *retain[4] = { NULL, NULL, NULL, NULL };
  guint32 retain_value[4] = { 0 };
  gboolean retain_given[4] = { FALSE };
  static const char *const retain_keys[] = { "retain-daily", "retain-weekly", "retain-monthly",
                                             "retain-yearly" };
  static const char *const retain_rules[] = { "daily", "weekly", "monthly", "yearly" };
  g_autoptr (GVariant) add_items = NULL;
  g_autoptr (GVariant) remove_items = NULL;
  int status = CLI_EXIT_OK;
  GVariantBuilder changes;
  const GOptionEntry entries[] = {
    { "add", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &add, N_ ("Back up this file or folder"), "PATH" },
    { "remove", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &remove,
      N_ ("Stop backing up this file or folder"), "PATH" },
    { "exclude", 0, 0, G_OPTION_ARG_STRING_ARRAY, &exclude,
      N_ ("Do not back up what matches: /folder (with its subfolders), /folder/* (its files "
          "only), .tmp (a file type), or a name pattern such as *~"),
      "PATTERN" },
    { "include", 0, 0, G_OPTION_ARG_STRING_ARRAY, &include,
      N_ ("Back up what matches even when an exclusion matches it"), "PATTERN" },
    { "no-exclude", 0, 0, G_OPTION_ARG_STRING_ARRAY, &unexclude, N_ ("Remove an exclusion"),
      "PATTERN" },
    { "no-include", 0, 0, G_OPTION_ARG_STRING_ARRAY, &uninclude, N_ ("Remove an inclusion"),
      "PATTERN" },
    { "daily", 0, 0, G_OPTION_ARG_STRING, &daily,
      N_ ("Back up every day at these local times (at most three, on the hour or half hour)"),
      "HH:MM[,…]" },
    { "weekly", 0, 0, G_OPTION_ARG_STRING, &weekly,
      N_ ("Back up on these days (mon … sun) at these local times"), "DAY[,…]@HH:MM[,…]" },
    { "no-schedule", 0, 0, G_OPTION_ARG_NONE, &no_schedule,
      N_ ("Back up only on demand (Back Up Now)"), NULL },
    { "retain-daily", 0, 0, G_OPTION_ARG_STRING, &retain[0],
      N_ ("Keep each day's newest scheduled backup for N days (7–9999; 0: off)"), "N" },
    { "retain-weekly", 0, 0, G_OPTION_ARG_STRING, &retain[1],
      N_ ("Keep each week's newest for N weeks (4–5163; 0: off)"), "N" },
    { "retain-monthly", 0, 0, G_OPTION_ARG_STRING, &retain[2],
      N_ ("Keep each month's newest for N months (3–1188; 0: off)"), "N" },
    { "retain-yearly", 0, 0, G_OPTION_ARG_STRING, &retain[3],
      N_ ("Keep each year's newest for N years (1–99; 0: off)"), "N" },
    { NULL }
  };

  context = g_option_context_new (NULL);
  g_option_context_set_summary (context, _ ("Change what is backed up, when, and how long "
                                            "backups are kept. Every option is optional and "
                                            "changes only its part; --add, --remove and the "
                                            "patterns may be given several times."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!cli_parse_options (context, &argc, &argv))
    status = CLI_EXIT_USAGE;
  else if (argc > 1)
    {
      g_printerr (_ ("coffer: Unexpected argument “%s”; give items with --add.\n"), argv[1]);
      status = CLI_EXIT_USAGE;
    }
  else if ((daily != NULL) + (weekly != NULL) + no_schedule > 1)
    {
      g_printerr (_ ("coffer: Give one of --daily, --weekly and --no-schedule.\n"));
      status = CLI_EXIT_USAGE;
    }
  /* Every number is checked against its rule: none is dropped unsaid. */
  for (guint i = 0; i < G_N_ELEMENTS (retain) && status == CLI_EXIT_OK; i++)
    {
      g_autoptr (GError) error = NULL;

      if (retain[i] != NULL &&
          !coffer_schedule_parse_retention (retain_rules[i], retain[i], &retain_value[i], &error))
        {
          g_printerr ("coffer: --%s %s: %s\n", retain_keys[i], retain[i], error->message);
          status = CLI_EXIT_USAGE;
        }
    }
  if (status == CLI_EXIT_OK &&
      ((add != NULL && (add_items = absolute_paths (add)) == NULL) ||
       (remove != NULL && (remove_items = absolute_paths (remove)) == NULL)))
    status = CLI_EXIT_USAGE;
  for (guint i = 0; i < G_N_ELEMENTS (retain); i++)
    {
      retain_given[i] = retain[i] != NULL;
      g_free (retain[i]);
    }
  if (status != CLI_EXIT_OK)
    return status;

  g_variant_builder_init (&changes, G_VARIANT_TYPE_VARDICT);
  if (daily != NULL)
    {
      g_auto (GStrv) times = g_strsplit (daily, ",", -1);

      if (!check_schedule (COFFER_SCHEDULE_DAILY, NULL, (const char *const *) times))
        {
          g_variant_builder_clear (&changes);
          return CLI_EXIT_USAGE;
        }
      g_variant_builder_add (&changes, "{sv}", "schedule", g_variant_new_string ("daily"));
      g_variant_builder_add (&changes, "{sv}", "times",
                             g_variant_new_strv ((const char *const *) times, -1));
    }
  else if (weekly != NULL)
    {
      const char *at = strchr (weekly, '@');
      g_autofree char *days = at != NULL ? g_strndup (weekly, at - weekly) : NULL;
      g_auto (GStrv) day_list = NULL;
      g_auto (GStrv) times = NULL;

      if (at == NULL || *days == '\0' || at[1] == '\0')
        {
          g_printerr (_ ("coffer: --weekly takes days and times, such as mon,fri@21:00.\n"));
          g_variant_builder_clear (&changes);
          return CLI_EXIT_USAGE;
        }
      day_list = g_strsplit (days, ",", -1);
      times = g_strsplit (at + 1, ",", -1);
      if (!check_schedule (COFFER_SCHEDULE_WEEKLY, (const char *const *) day_list,
                           (const char *const *) times))
        {
          g_variant_builder_clear (&changes);
          return CLI_EXIT_USAGE;
        }
      g_variant_builder_add (&changes, "{sv}", "schedule", g_variant_new_string ("weekly"));
      g_variant_builder_add (&changes, "{sv}", "weekdays",
                             g_variant_new_strv ((const char *const *) day_list, -1));
      g_variant_builder_add (&changes, "{sv}", "times",
                             g_variant_new_strv ((const char *const *) times, -1));
    }
  else if (no_schedule)
    g_variant_builder_add (&changes, "{sv}", "schedule", g_variant_new_string ("none"));
  for (guint i = 0; i < G_N_ELEMENTS (retain); i++)
    if (retain_given[i])
      g_variant_builder_add (&changes, "{sv}", retain_keys[i],
                             g_variant_new_uint32 (retain_value[i]));
  if (add_items != NULL)
    g_variant_builder_add (&changes, "{sv}", "add", add_items);
  if (remove_items != NULL)
    g_variant_builder_add (&changes, "{sv}", "remove", remove_items);
  if (exclude != NULL)
    g_variant_builder_add (&changes, "{sv}", "exclude",
                           g_variant_new_strv ((const char *const *) exclude, -1));
  if (unexclude != NULL)
    g_variant_builder_add (&changes, "{sv}", "unexclude",
                           g_variant_new_strv ((const char *const *) unexclude, -1));
  if (include != NULL)
    g_variant_builder_add (&changes, "{sv}", "include",
                           g_variant_new_strv ((const char *const *) include, -1));
  if (uninclude != NULL)
    g_variant_builder_add (&changes, "{sv}", "uninclude",
                           g_variant_new_strv ((const char *const *) uninclude, -1));

  agent = cli_agent_connect (&error);
  if (agent == NULL ||
      !coffer_dbus_agent_call_set_policy_sync (agent, g_variant_builder_end (&changes),
                                               G_DBUS_CALL_FLAGS_NONE, -1, &warnings, NULL, &error))
    return cli_report_error (error);

  for (guint i = 0; warnings != NULL && warnings[i] != NULL; i++)
    g_printerr (_ ("Warning: %s\n"), warnings[i]);
  return CLI_EXIT_OK;
}

int
cli_policy_pause (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (CofferDBusAgent) agent = NULL;
  g_autoptr (GError) error = NULL;

  context = g_option_context_new (NULL);
  g_option_context_set_summary (context, _ ("Stop using the backup schedule, but keep the stored "
                                            "backups until the schedule is re-enabled. Back Up "
                                            "Now still works."));
  if (!cli_parse_options (context, &argc, &argv))
    return CLI_EXIT_USAGE;
  agent = cli_agent_connect (&error);
  if (agent == NULL ||
      !coffer_dbus_agent_call_pause_policy_sync (agent, G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error))
    return cli_report_error (error);
  g_print ("%s\n", _ ("Scheduled backups are paused; the stored backups are kept."));
  return CLI_EXIT_OK;
}

int
cli_policy_resume (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (CofferDBusAgent) agent = NULL;
  g_autoptr (GError) error = NULL;

  context = g_option_context_new (NULL);
  g_option_context_set_summary (context, _ ("Re-enable the backup schedule. Runs that fell due "
                                            "while it was paused are not made up."));
  if (!cli_parse_options (context, &argc, &argv))
    return CLI_EXIT_USAGE;
  agent = cli_agent_connect (&error);
  if (agent == NULL ||
      !coffer_dbus_agent_call_resume_policy_sync (agent, G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error))
    return cli_report_error (error);
  g_print ("%s\n", _ ("The backup schedule is re-enabled."));
  return CLI_EXIT_OK;
}

static gboolean
start_stop_policy (CofferDBusAgent *agent,
                   const char *kind,
                   GVariant *parameters,
                   char **out_path,
                   guint64 *out_id,
                   GError **error)
{
  return coffer_dbus_agent_call_stop_policy_sync (agent, g_variant_get_string (parameters, NULL),
                                                  G_DBUS_CALL_FLAGS_NONE, -1, out_path, out_id,
                                                  NULL, error);
}

/* Asks for the vault's name on the terminal. */
static char *
ask_vault_name (void)
{
  g_autoptr (CofferDBusAgent) agent = NULL;
  g_autoptr (GError) error = NULL;
  char line[1024];

  agent = cli_agent_connect (&error);
  if (agent == NULL)
    {
      cli_report_error (error);
      return NULL;
    }
  if (!coffer_dbus_agent_get_registered (agent))
    return g_strdup ("");
  g_print (_ ("This deletes every backup of this server from the vault “%s” and removes the "
              "backup policy. It cannot be undone.\n"),
           coffer_dbus_agent_get_vault_name (agent));
  g_print ("%s", _ ("Type the vault's name to confirm: "));
  fflush (stdout);
  if (fgets (line, sizeof line, stdin) == NULL)
    return NULL;
  line[strcspn (line, "\r\n")] = '\0';
  return g_strdup (line);
}

int
cli_policy_stop (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autofree char *confirm = NULL;
  gboolean wait = FALSE;
  const GOptionEntry entries[] = {
    { "confirm-vault-name", 0, 0, G_OPTION_ARG_STRING, &confirm,
      N_ ("The vault's name, to confirm without being asked"), "NAME" },
    { "wait", 0, 0, G_OPTION_ARG_NONE, &wait, N_ ("Show the progress and wait for the end"), NULL },
    { NULL }
  };

  context = g_option_context_new (NULL);
  g_option_context_set_summary (context, _ ("Stop using the backup schedule and delete all the "
                                            "stored backups of this server. Asks for the vault's "
                                            "name first."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!cli_parse_options (context, &argc, &argv))
    return CLI_EXIT_USAGE;
  if (confirm == NULL)
    {
      if (!isatty (STDIN_FILENO))
        {
          g_printerr (_ ("coffer: policy stop deletes every backup of this server; confirm with "
                         "--confirm-vault-name NAME.\n"));
          return CLI_EXIT_USAGE;
        }
      confirm = ask_vault_name ();
      if (confirm == NULL)
        return CLI_EXIT_FAILED;
    }
  return cli_start_job ("prune", start_stop_policy, g_variant_new_string (confirm), wait);
}
