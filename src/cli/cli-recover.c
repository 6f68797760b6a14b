/* cli-recover.c: `coffer recover points|ls|find|run`.
 *
 * POINT is a recovery point's id, a unique start of it, or "latest". With
 * --machine NAME --passphrase-file FILE, the points are another server's in
 * the same vault, unlocked with its passphrase. Paths are passed as raw
 * bytes: file names need not be UTF-8. A name that is not is shown the way
 * a shell's $'…' writes it (coffer_input_escape()), in text and in JSON, and
 * typed back that way it names the same file.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "cli-commands.h"

typedef struct
{
  char *machine;
  char *passphrase_file;
  gboolean json;
} OtherMachine;

static void
other_machine_clear (OtherMachine *other)
{
  g_free (other->machine);
  g_free (other->passphrase_file);
}

static GOptionEntry *
other_machine_entries (OtherMachine *other)
{
  GOptionEntry entries[] = {
    { "machine", 0, 0, G_OPTION_ARG_STRING, &other->machine,
      N_ ("Another server of the vault, whose data to recover"), "NAME" },
    { "passphrase-file", 0, 0, G_OPTION_ARG_FILENAME, &other->passphrase_file,
      N_ ("That server's passphrase, the first line of FILE"), "FILE" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &other->json, N_ ("Print JSON"), NULL },
    { NULL }
  };

  return g_memdup2 (entries, sizeof entries);
}

/* The options every recovery method takes: which machine, its passphrase. */
static gboolean
add_machine_options (OtherMachine *other, GVariantBuilder *options, GError **error)
{
  /* This server's own points are unlocked with the keys the agent holds: a
   * passphrase without --machine would be ignored, which hides a mistake. */
  if (other->machine == NULL && other->passphrase_file != NULL)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   _ ("--passphrase-file is for another server's points: add --machine NAME."));
      return FALSE;
    }
  if (other->machine == NULL)
    return TRUE;
  if (other->passphrase_file == NULL)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   _ ("--machine needs that server's --passphrase-file."));
      return FALSE;
    }
  {
    g_autoptr (char) passphrase = cli_read_passphrase_file (other->passphrase_file, error);

    if (passphrase == NULL)
      return FALSE;
    g_variant_builder_add (options, "{sv}", "machine", g_variant_new_string (other->machine));
    g_variant_builder_add (options, "{sv}", "passphrase", cli_passphrase_variant (passphrase));
  }
  return TRUE;
}

static int
parse (GOptionContext *context,
       const char *summary,
       OtherMachine *other,
       const GOptionEntry *extra,
       int *argc,
       char ***argv)
{
  g_autofree GOptionEntry *entries = other_machine_entries (other);

  g_option_context_set_summary (context, summary);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (extra != NULL)
    g_option_context_add_main_entries (context, extra, GETTEXT_PACKAGE);
  return cli_parse_options (context, argc, argv) ? CLI_EXIT_OK : CLI_EXIT_USAGE;
}

static void
print_json (GVariant *value)
{
  g_autoptr (JsonNode) node = json_gvariant_serialize (value);
  cli_print_json (node);
}

/* A listing's entry as JSON, its names as text. */
static JsonNode *
entry_json (GVariant *entry)
{
  JsonNode *node = json_gvariant_serialize (entry);
  JsonObject *object = json_node_get_object (node);
  const char *keys[] = { "name", "target" };

  for (gsize i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      const char *bytes = NULL;

      if (g_variant_lookup (entry, keys[i], "^&ay", &bytes))
        {
          g_autofree char *text = coffer_input_escape (bytes, -1);
          json_object_set_string_member (object, keys[i], text);
        }
    }
  return node;
}

/* The POINT argument: an id, a start of one, or "latest" — text. */
static gboolean
check_point (const char *point)
{
  return cli_check_utf8 (point, _ ("a recovery point"));
}

static char *
format_time (gint64 unix_seconds)
{
  g_autoptr (GDateTime) time = g_date_time_new_from_unix_local (unix_seconds);

  return g_date_time_format (time, "%Y-%m-%d %H:%M:%S");
}

int
cli_recover_points (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = g_option_context_new (NULL);
  g_autoptr (CofferDBusAgent) agent = NULL;
  g_autoptr (GVariant) points = NULL;
  g_autoptr (GError) error = NULL;
  OtherMachine other = { 0 };
  GVariantBuilder options;
  GVariantIter iter;
  GVariant *point;
  int status;

  status =
      parse (context, _ ("List the recovery points, oldest first."), &other, NULL, &argc, &argv);
  if (status != CLI_EXIT_OK)
    return status;
  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  if (!add_machine_options (&other, &options, &error) ||
      (agent = cli_agent_connect (&error)) == NULL ||
      !coffer_dbus_agent_call_list_points_sync (agent, g_variant_builder_end (&options),
                                                G_DBUS_CALL_FLAGS_NONE, -1, &points, NULL, &error))
    {
      other_machine_clear (&other);
      return cli_report_error (error);
    }

  if (other.json)
    print_json (points);
  else if (g_variant_n_children (points) == 0)
    g_print ("%s\n", _ ("No recovery points yet."));
  else
    {
      /* Translators: the column titles of `coffer recover points`. */
      g_print ("%s\n", _ ("ID            TIME                 KIND        RETAIN UNTIL           "
                          "FILES        SIZE"));
      g_variant_iter_init (&iter, points);
      while ((point = g_variant_iter_next_value (&iter)) != NULL)
        {
          const char *id = "", *kind = "";
          gint64 time = 0, retain = 0;
          guint64 files = 0, bytes = 0;
          g_autofree char *time_text = NULL;
          g_autofree char *retain_text = NULL;
          g_autofree char *size = NULL;

          g_variant_lookup (point, "id", "&s", &id);
          g_variant_lookup (point, "kind", "&s", &kind);
          g_variant_lookup (point, "time", "x", &time);
          g_variant_lookup (point, "retain-until", "x", &retain);
          g_variant_lookup (point, "files", "t", &files);
          g_variant_lookup (point, "bytes", "t", &bytes);
          time_text = format_time (time);
          retain_text = retain > 0 ? format_time (retain) : g_strdup ("—");
          size = g_format_size (bytes);
          g_print ("%.12s  %s  %-10s  %-19s  %8llu  %10s\n", id, time_text, kind, retain_text,
                   (unsigned long long) files, size);
          g_variant_unref (point);
        }
    }
  other_machine_clear (&other);
  return CLI_EXIT_OK;
}

int
cli_recover_ls (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = g_option_context_new (_ ("POINT [PATH]"));
  g_autoptr (CofferDBusAgent) agent = NULL;
  g_autoptr (GVariant) entries = NULL;
  g_autoptr (GError) error = NULL;
  OtherMachine other = { 0 };
  GVariantBuilder options;
  GVariantIter iter;
  GVariant *entry;
  int status;

  status = parse (context, _ ("List a folder of a recovery point (its root without PATH)."), &other,
                  NULL, &argc, &argv);
  if (status != CLI_EXIT_OK)
    return status;
  if (argc < 2 || argc > 3)
    {
      g_printerr (_ ("coffer: recover ls needs a POINT, and maybe a PATH.\n"));
      other_machine_clear (&other);
      return CLI_EXIT_USAGE;
    }
  if (!check_point (argv[1]))
    {
      other_machine_clear (&other);
      return CLI_EXIT_USAGE;
    }
  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  if (!add_machine_options (&other, &options, &error) ||
      (agent = cli_agent_connect (&error)) == NULL ||
      !coffer_dbus_agent_call_list_folder_sync (agent, argv[1], argc == 3 ? argv[2] : "/",
                                                g_variant_builder_end (&options),
                                                G_DBUS_CALL_FLAGS_NONE, -1, &entries, NULL, &error))
    {
      other_machine_clear (&other);
      return cli_report_error (error);
    }

  if (other.json)
    {
      g_autoptr (JsonNode) node = json_node_new (JSON_NODE_ARRAY);
      JsonArray *array = json_array_new ();

      g_variant_iter_init (&iter, entries);
      while ((entry = g_variant_iter_next_value (&iter)) != NULL)
        {
          json_array_add_element (array, entry_json (entry));
          g_variant_unref (entry);
        }
      json_node_take_array (node, array);
      cli_print_json (node);
    }
  else
    {
      g_variant_iter_init (&iter, entries);
      while ((entry = g_variant_iter_next_value (&iter)) != NULL)
        {
          const char *name = "", *type = "", *target = NULL;
          guint64 size = 0;
          gint64 mtime = 0;
          guint32 mode = 0;
          g_autofree char *time = NULL;
          g_autofree char *shown_name = NULL;
          g_autofree char *shown_target = NULL;

          g_variant_lookup (entry, "name", "^&ay", &name);
          g_variant_lookup (entry, "type", "&s", &type);
          g_variant_lookup (entry, "size", "t", &size);
          g_variant_lookup (entry, "mtime", "x", &mtime);
          g_variant_lookup (entry, "mode", "u", &mode);
          g_variant_lookup (entry, "target", "^&ay", &target);
          time = format_time (mtime / 1000000000);
          shown_name = coffer_input_escape (name, -1);
          shown_target = target != NULL ? coffer_input_escape (target, -1) : g_strdup ("");
          g_print ("%-8s %04o %12llu  %s  %s%s%s%s\n", type, mode, (unsigned long long) size, time,
                   shown_name, g_str_equal (type, "folder") ? "/" : "",
                   target != NULL ? " -> " : "", shown_target);
          g_variant_unref (entry);
        }
    }
  other_machine_clear (&other);
  return CLI_EXIT_OK;
}

int
cli_recover_find (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = g_option_context_new (_ ("POINT PATTERN"));
  g_autoptr (CofferDBusAgent) agent = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) paths = NULL;
  OtherMachine other = { 0 };
  GVariantBuilder options;
  int status;

  status = parse (context,
                  _ ("Find files and folders of a recovery point by name: PATTERN is a "
                     "glob such as '*.odt', in any case."),
                  &other, NULL, &argc, &argv);
  if (status != CLI_EXIT_OK)
    return status;
  if (argc != 3)
    {
      g_printerr (_ ("coffer: recover find needs a POINT and a PATTERN.\n"));
      other_machine_clear (&other);
      return CLI_EXIT_USAGE;
    }
  if (!check_point (argv[1]) || !cli_check_utf8 (argv[2], _ ("a pattern")))
    {
      other_machine_clear (&other);
      return CLI_EXIT_USAGE;
    }
  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  if (!add_machine_options (&other, &options, &error) ||
      (agent = cli_agent_connect (&error)) == NULL ||
      !coffer_dbus_agent_call_find_in_point_sync (agent, argv[1], argv[2], 1000,
                                                  g_variant_builder_end (&options),
                                                  G_DBUS_CALL_FLAGS_NONE, -1, &paths, NULL, &error))
    {
      other_machine_clear (&other);
      return cli_report_error (error);
    }
  if (other.json)
    {
      g_autoptr (JsonNode) node = json_node_new (JSON_NODE_ARRAY);
      JsonArray *array = json_array_new ();

      for (guint i = 0; paths[i] != NULL; i++)
        {
          g_autofree char *shown = coffer_input_escape (paths[i], -1);
          json_array_add_string_element (array, shown);
        }
      json_node_take_array (node, array);
      cli_print_json (node);
    }
  else
    for (guint i = 0; paths[i] != NULL; i++)
      {
        g_autofree char *shown = coffer_input_escape (paths[i], -1);
        g_print ("%s\n", shown);
      }
  other_machine_clear (&other);
  return CLI_EXIT_OK;
}

static gboolean
start_recovery (CofferDBusAgent *agent,
                const char *kind,
                GVariant *parameters,
                char **out_path,
                guint64 *out_id,
                GError **error)
{
  g_autoptr (GVariant) paths = g_variant_get_child_value (parameters, 1);
  g_autoptr (GVariant) options = g_variant_get_child_value (parameters, 2);
  g_autofree const char **path_list = g_variant_get_bytestring_array (paths, NULL);
  const char *point = NULL;

  g_variant_get_child (parameters, 0, "&s", &point);
  return coffer_dbus_agent_call_start_recovery_sync (
      agent, point, path_list, options, G_DBUS_CALL_FLAGS_NONE, -1, out_path, out_id, NULL, error);
}

int
cli_recover_run (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = g_option_context_new (_ ("POINT PATH…"));
  g_autoptr (GError) error = NULL;
  g_autofree char *to = NULL;
  g_autofree char *conflict = NULL;
  gboolean no_permissions = FALSE;
  gboolean wait = FALSE;
  OtherMachine other = { 0 };
  GVariantBuilder options;
  GVariantBuilder paths;
  const GOptionEntry extra[] = {
    { "to", 0, 0, G_OPTION_ARG_FILENAME, &to,
      N_ ("Recover into this existing folder (default: the original location)"), "DIR" },
    { "conflict", 0, 0, G_OPTION_ARG_STRING, &conflict,
      N_ ("When an item exists: copy (keep both; the default), overwrite, or skip"),
      "copy|overwrite|skip" },
    { "no-permissions", 0, 0, G_OPTION_ARG_NONE, &no_permissions,
      N_ ("Do not restore modes and owners"), NULL },
    { "wait", 0, 0, G_OPTION_ARG_NONE, &wait, N_ ("Show the progress and wait for the end"), NULL },
    { NULL }
  };
  int status;

  status = parse (context,
                  _ ("Recover files and folders of a recovery point. Cancelling keeps "
                     "what was already recovered."),
                  &other, extra, &argc, &argv);
  if (status != CLI_EXIT_OK)
    return status;
  if (argc < 3)
    {
      g_printerr (_ ("coffer: recover run needs a POINT and at least one PATH.\n"));
      other_machine_clear (&other);
      return CLI_EXIT_USAGE;
    }
  if (!check_point (argv[1]))
    {
      other_machine_clear (&other);
      return CLI_EXIT_USAGE;
    }
  if (conflict != NULL && !g_str_equal (conflict, "copy") && !g_str_equal (conflict, "overwrite") &&
      !g_str_equal (conflict, "skip"))
    {
      g_printerr (_ ("coffer: --conflict is copy, overwrite or skip.\n"));
      other_machine_clear (&other);
      return CLI_EXIT_USAGE;
    }

  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  if (!add_machine_options (&other, &options, &error))
    {
      other_machine_clear (&other);
      g_variant_builder_clear (&options);
      return cli_report_error (error);
    }
  other_machine_clear (&other);
  if (to != NULL)
    {
      g_autofree char *absolute = g_canonicalize_filename (to, NULL);

      if (!g_file_test (absolute, G_FILE_TEST_IS_DIR))
        {
          g_printerr (_ ("coffer: %s is not a folder.\n"), absolute);
          g_variant_builder_clear (&options);
          return CLI_EXIT_FAILED;
        }
      g_variant_builder_add (&options, "{sv}", "to", g_variant_new_bytestring (absolute));
    }
  g_variant_builder_add (&options, "{sv}", "conflict",
                         g_variant_new_string (conflict != NULL ? conflict : "copy"));
  g_variant_builder_add (&options, "{sv}", "permissions", g_variant_new_boolean (!no_permissions));

  g_variant_builder_init (&paths, G_VARIANT_TYPE_BYTESTRING_ARRAY);
  for (int i = 2; i < argc; i++)
    {
      g_autofree char *absolute = g_canonicalize_filename (argv[i], "/");
      g_variant_builder_add_value (&paths, g_variant_new_bytestring (absolute));
    }
  return cli_start_job ("recovery", start_recovery,
                        g_variant_new ("(s@aay@a{sv})", argv[1], g_variant_builder_end (&paths),
                                       g_variant_builder_end (&options)),
                        wait);
}
