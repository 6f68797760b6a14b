/* cli-status.c: `coffer status`, what this machine is registered to, when it
 * backs up next, and how the last job ended. */
#include "config.h"

#include <glib/gi18n.h>

#include "cli-commands.h"

static const char *
lookup_string (GVariantDict *dict, const char *key)
{
  const char *value = NULL;

  if (!g_variant_dict_lookup (dict, key, "&s", &value) || value == NULL || *value == '\0')
    return "—";
  return value;
}

static void
print_status (GVariant *status)
{
  g_auto (GVariantDict) dict = G_VARIANT_DICT_INIT (status);
  gboolean registered = FALSE;
  gboolean needs_login = FALSE;
  gint64 registered_at = 0;
  g_autoptr (GDateTime) when = NULL;
  g_autofree char *when_text = NULL;

  g_variant_dict_lookup (&dict, "registered", "b", &registered);
  if (!registered)
    {
      g_print ("%s\n", _ ("This server is not registered to a vault."));
      return;
    }

  g_variant_dict_lookup (&dict, "registered-at", "x", &registered_at);
  when = g_date_time_new_from_unix_local (registered_at);
  when_text = when != NULL ? g_date_time_format (when, "%Y-%m-%d %H:%M %Z") : g_strdup ("—");

  /* Translators: labels of `coffer status`, padded to line up. */
  g_print (_ ("Vault:             %s\n"), lookup_string (&dict, "vault-name"));
  g_print (_ ("Vault id:          %s\n"), lookup_string (&dict, "vault-id"));
  g_print (_ ("Storage location:  %s\n"), lookup_string (&dict, "storage-location"));
  g_print (_ ("Server:            %s\n"), lookup_string (&dict, "machine-name"));
  g_print (_ ("Registered:        %s\n"), when_text);
  g_print (_ ("Agent:             %s (%s)\n"), lookup_string (&dict, "version"),
           lookup_string (&dict, "state"));
  g_print (_ ("Cache folder:      %s\n"), lookup_string (&dict, "cache-folder"));
  g_print (_ ("Passphrase kept:   %s\n"), lookup_string (&dict, "passphrase-storage"));
  if (g_strcmp0 (lookup_string (&dict, "passphrase-storage"), "keyring locked") == 0)
    g_printerr (_ ("Warning: The keyring is locked; unlock it or log in to run scheduled "
                   "backups.\n"));
  if (g_variant_dict_lookup (&dict, "needs-login", "b", &needs_login) && needs_login)
    g_printerr (_ ("Warning: scheduled backups run only while you are logged in. To run them "
                   "without a login, enable lingering: loginctl enable-linger %s\n"),
                g_get_user_name ());
}

/* The schedule and the last job, so a backup that does not run is seen. */
static void
print_schedule_and_last_job (CofferDBusAgent *agent)
{
  g_autoptr (GVariant) policy = NULL;
  g_autoptr (GVariant) jobs = NULL;
  g_autoptr (GError) error = NULL;
  const char *schedule = "none", *state = "active";
  gint64 next_run = 0;

  if (coffer_dbus_agent_call_get_policy_sync (agent, G_DBUS_CALL_FLAGS_NONE, -1, &policy, NULL,
                                              &error))
    {
      g_variant_lookup (policy, "schedule", "&s", &schedule);
      g_variant_lookup (policy, "state", "&s", &state);
      g_variant_lookup (policy, "next-run", "x", &next_run);
      if (g_str_equal (schedule, "none"))
        g_print ("%s\n", _ ("Next backup:       none scheduled (Back Up Now only)"));
      else if (g_str_equal (state, "paused"))
        g_print ("%s\n", _ ("Next backup:       none: the schedule is paused"));
      else if (next_run > 0)
        {
          g_autoptr (GDateTime) time = g_date_time_new_from_unix_local (next_run);
          g_autofree char *text = g_date_time_format (time, "%Y-%m-%d %H:%M %Z");
          g_print (_ ("Next backup:       %s\n"), text);
        }
    }
  else
    g_debug ("No policy: %s", error->message);
  g_clear_error (&error);

  if (coffer_dbus_agent_call_list_jobs_sync (agent, 0, 1, "", G_DBUS_CALL_FLAGS_NONE, -1, &jobs,
                                             NULL, &error) &&
      g_variant_n_children (jobs) > 0)
    {
      g_autoptr (GVariant) job = g_variant_get_child_value (jobs, 0);
      const char *kind = "", *status = "", *message = "";
      guint64 id = 0;

      g_variant_lookup (job, "id", "t", &id);
      g_variant_lookup (job, "kind", "&s", &kind);
      g_variant_lookup (job, "status", "&s", &status);
      g_variant_lookup (job, "message", "&s", &message);
      /* Translators: the job's number, kind and status, then its message. */
      g_print (_ ("Last job:          %llu %s %s%s%s\n"), (unsigned long long) id, kind, status,
               *message != '\0' ? ": " : "", message);
    }
  else if (error != NULL)
    g_debug ("No jobs: %s", error->message);
}

int
cli_status (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (CofferDBusAgent) agent = NULL;
  g_autoptr (GVariant) status = NULL;
  g_autoptr (GError) error = NULL;
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_ ("Print the status as JSON"), NULL }, { NULL }
  };

  context = g_option_context_new (NULL);
  g_option_context_set_summary (context, _ ("Show the vault and machine this server is "
                                            "registered as, and the agent's state."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!cli_parse_options (context, &argc, &argv))
    return CLI_EXIT_USAGE;

  agent = cli_agent_connect (&error);
  if (agent == NULL || !coffer_dbus_agent_call_get_status_sync (agent, G_DBUS_CALL_FLAGS_NONE, -1,
                                                                &status, NULL, &error))
    return cli_report_error (error);

  if (json)
    {
      g_autoptr (JsonNode) node = json_gvariant_serialize (status);
      cli_print_json (node);
    }
  else
    {
      gboolean registered = FALSE;

      print_status (status);
      if (g_variant_lookup (status, "registered", "b", &registered) && registered)
        print_schedule_and_last_job (agent);
    }

  return CLI_EXIT_OK;
}
