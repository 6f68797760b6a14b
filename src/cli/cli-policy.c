/* cli-policy.c: `coffer policy show` and `coffer policy set`, what to back up. */
#include "config.h"

#include <glib/gi18n.h>

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
  g_option_context_set_summary (context, _ ("Show what is backed up: the items, the exclusions "
                                            "and the inclusions that win over them."));
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
  return CLI_EXIT_OK;
}

/* Items on the command line may be relative to the current folder. */
static GVariant *
absolute_paths (char **paths)
{
  g_autoptr (GPtrArray) absolute = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; paths != NULL && paths[i] != NULL; i++)
    g_ptr_array_add (absolute, g_canonicalize_filename (paths[i], NULL));
  return g_variant_new_strv ((const char *const *) absolute->pdata, absolute->len);
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
    { NULL }
  };

  context = g_option_context_new (NULL);
  g_option_context_set_summary (context, _ ("Change what is backed up. Every option may be "
                                            "given several times, and changes only its part."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!cli_parse_options (context, &argc, &argv))
    return CLI_EXIT_USAGE;
  if (argc > 1)
    {
      g_printerr (_ ("coffer: Unexpected argument “%s”; give items with --add.\n"), argv[1]);
      return CLI_EXIT_USAGE;
    }

  g_variant_builder_init (&changes, G_VARIANT_TYPE_VARDICT);
  if (add != NULL)
    g_variant_builder_add (&changes, "{sv}", "add", absolute_paths (add));
  if (remove != NULL)
    g_variant_builder_add (&changes, "{sv}", "remove", absolute_paths (remove));
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
