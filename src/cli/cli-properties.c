/* cli-properties.c: `coffer properties show|set` — throttling, proxy,
 * concurrency and the cache folder (the console's Change Properties).
 *
 * Every option of `set` is optional and changes only its part; the agent
 * applies them all at once or none. The proxy password is read from a file
 * (its first line), never taken from the command line. Moving the cache
 * folder is a job (`--cache-folder DIR [--wait]`), started after the other
 * changes are in.
 */
#include "config.h"

#include <glib/gi18n.h>
#include <openssl/crypto.h>
#include <string.h>

#include "cli-commands.h"

static char *
format_rate (GVariant *properties, const char *key)
{
  guint64 bps = 0;

  g_variant_lookup (properties, key, "t", &bps);
  return coffer_throttle_format_rate (bps);
}

static void
print_properties (GVariant *properties)
{
  g_autofree const char **days = NULL;
  g_autofree char *day_list = NULL;
  g_autofree char *work = format_rate (properties, "work-bandwidth");
  g_autofree char *non_work = format_rate (properties, "non-work-bandwidth");
  const char *start = "", *end = "", *proxy = "none", *host = "", *user = "", *cache = "";
  gboolean throttle = FALSE, password_set = FALSE;
  guint16 port = 0;
  guint32 concurrency = 0;

  g_variant_lookup (properties, "throttle", "b", &throttle);
  g_variant_lookup (properties, "work-days", "^a&s", &days);
  g_variant_lookup (properties, "work-start", "&s", &start);
  g_variant_lookup (properties, "work-end", "&s", &end);
  g_variant_lookup (properties, "proxy", "&s", &proxy);
  g_variant_lookup (properties, "proxy-host", "&s", &host);
  g_variant_lookup (properties, "proxy-port", "q", &port);
  g_variant_lookup (properties, "proxy-user", "&s", &user);
  g_variant_lookup (properties, "proxy-password-set", "b", &password_set);
  g_variant_lookup (properties, "cache-folder", "&s", &cache);
  g_variant_lookup (properties, "concurrency", "u", &concurrency);
  day_list = days != NULL && days[0] != NULL ? g_strjoinv (",", (char **) days) : g_strdup ("none");

  g_print ("%-27s %s\n", _ ("Throttling:"), throttle ? _ ("on") : _ ("off"));
  g_print ("  %-25s %s\n", _ ("Work days:"), day_list);
  g_print ("  %-25s %s-%s\n", _ ("Work hours:"), start, end);
  g_print ("  %-25s %s\n", _ ("Work-hours bandwidth:"), work);
  g_print ("  %-25s %s\n", _ ("Non-work-hours bandwidth:"), non_work);
  if (g_str_equal (proxy, "custom"))
    {
      g_print ("%-27s http://%s:%u\n", _ ("Proxy:"), host, port);
      if (*user != '\0')
        g_print ("  %-25s %s (%s)\n", _ ("User:"), user,
                 password_set ? _ ("password stored") : _ ("no password stored"));
    }
  else
    g_print ("%-27s %s\n", _ ("Proxy:"),
             g_str_equal (proxy, "system") ? _ ("system default") : _ ("none"));
  g_print ("%-27s %s\n", _ ("Cache folder:"), cache);
  g_print ("%-27s %u\n", _ ("Concurrent requests:"), concurrency);
}

int
cli_properties_show (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (CofferDBusAgent) agent = NULL;
  g_autoptr (GVariant) properties = NULL;
  g_autoptr (GError) error = NULL;
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_ ("Print the properties as JSON"), NULL }, { NULL }
  };

  context = g_option_context_new (NULL);
  g_option_context_set_summary (context,
                                _ ("Show the throttling, proxy, cache folder and concurrency "
                                   "settings. Bandwidths in JSON are bits a second."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!cli_parse_options (context, &argc, &argv))
    return CLI_EXIT_USAGE;
  if (argc > 1)
    {
      g_printerr (_ ("coffer: Unexpected argument “%s”.\n"), argv[1]);
      return CLI_EXIT_USAGE;
    }

  agent = cli_agent_connect (&error);
  if (agent == NULL || !coffer_dbus_agent_call_get_properties_sync (agent, G_DBUS_CALL_FLAGS_NONE,
                                                                    -1, &properties, NULL, &error))
    return cli_report_error (error);

  if (json)
    {
      g_autoptr (JsonNode) node = json_gvariant_serialize (properties);
      cli_print_json (node);
    }
  else
    print_properties (properties);
  return CLI_EXIT_OK;
}

static int
usage_error (const char *format, const char *value)
{
  g_printerr ("coffer: ");
  g_printerr (format, value);
  g_printerr ("\n");
  return CLI_EXIT_USAGE;
}

static GVariant *
days_variant (guint days)
{
  g_autofree char *list = coffer_throttle_format_days (days);
  g_auto (GStrv) names = g_strsplit (list, ",", -1);

  if (days == 0)
    return g_variant_new_strv (NULL, 0);
  return g_variant_new_strv ((const char *const *) names, -1);
}

/* A bandwidth the throttle takes: a rate from 512 Kbps to 1023 Mbps. */
static gboolean
parse_bandwidth (const char *text, guint64 *out_bps)
{
  return coffer_throttle_parse_rate (text, out_bps, NULL) && *out_bps >= COFFER_THROTTLE_MIN_BPS &&
         *out_bps <= COFFER_THROTTLE_MAX_BPS;
}

/* --work-hours 09:00-17:00 */
static gboolean
add_work_hours (GVariantBuilder *changes, const char *text)
{
  g_auto (GStrv) parts = g_strsplit (text, "-", 2);
  guint start, end;

  if (parts[0] == NULL || parts[1] == NULL ||
      !coffer_throttle_parse_time (parts[0], &start, NULL) ||
      !coffer_throttle_parse_time (parts[1], &end, NULL) || end <= start)
    return FALSE;
  g_variant_builder_add (changes, "{sv}", "work-start", g_variant_new_string (parts[0]));
  g_variant_builder_add (changes, "{sv}", "work-end", g_variant_new_string (parts[1]));
  return TRUE;
}

/* --proxy none|system|http://HOST:PORT */
static gboolean
add_proxy (GVariantBuilder *changes, const char *text)
{
  g_autoptr (CofferProxyConfig) config = coffer_proxy_config_parse (text, NULL);

  if (config == NULL)
    return FALSE;
  g_variant_builder_add (changes, "{sv}", "proxy",
                         g_variant_new_string (coffer_proxy_mode_to_string (config->mode)));
  if (config->mode != COFFER_PROXY_CUSTOM)
    return TRUE;
  g_variant_builder_add (changes, "{sv}", "proxy-host", g_variant_new_string (config->host));
  g_variant_builder_add (changes, "{sv}", "proxy-port", g_variant_new_uint16 (config->port));
  return TRUE;
}

static gboolean
start_cache_move (CofferDBusAgent *agent,
                  const char *kind,
                  GVariant *folder,
                  char **out_path,
                  guint64 *out_id,
                  GError **error)
{
  return coffer_dbus_agent_call_start_cache_move_sync (agent, g_variant_get_bytestring (folder),
                                                       G_DBUS_CALL_FLAGS_NONE, -1, out_path, out_id,
                                                       NULL, error);
}

typedef struct
{
  char *throttle;
  char *work_days;
  char *work_hours;
  char *work_bandwidth;
  char *non_work_bandwidth;
  char *proxy;
  char *proxy_user;
  char *proxy_password_file;
  char *cache_folder;
  char *concurrency;
  gboolean wait;
} SetOptions;

static void
set_options_clear (SetOptions *options)
{
  g_free (options->throttle);
  g_free (options->work_days);
  g_free (options->work_hours);
  g_free (options->work_bandwidth);
  g_free (options->non_work_bandwidth);
  g_free (options->proxy);
  g_free (options->proxy_user);
  g_free (options->proxy_password_file);
  g_free (options->cache_folder);
  g_free (options->concurrency);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (SetOptions, set_options_clear)

/* Turns the options into SetProperties' changes; returns an exit status
 * other than CLI_EXIT_OK on a usage error. */
static int
build_changes (SetOptions *options, GVariantBuilder *changes)
{
  guint64 bps;
  guint days;

  if (options->throttle != NULL)
    {
      if (!g_str_equal (options->throttle, "on") && !g_str_equal (options->throttle, "off"))
        return usage_error (_ ("--throttle is on or off, not “%s”."), options->throttle);
      g_variant_builder_add (changes, "{sv}", "throttle",
                             g_variant_new_boolean (g_str_equal (options->throttle, "on")));
    }
  if (options->work_days != NULL)
    {
      if (!coffer_throttle_parse_days (options->work_days, &days, NULL))
        return usage_error (_ ("--work-days is a list (mon,wed) or a range (mon-fri) of mon, tue, "
                               "wed, thu, fri, sat and sun, or none; not “%s”."),
                            options->work_days);
      g_variant_builder_add (changes, "{sv}", "work-days", days_variant (days));
    }
  if (options->work_hours != NULL && !add_work_hours (changes, options->work_hours))
    return usage_error (_ ("--work-hours is START-END as HH:MM-HH:MM, ending after it starts on "
                           "the same day, such as 09:00-17:00; not “%s”."),
                        options->work_hours);
  if (options->work_bandwidth != NULL)
    {
      if (!parse_bandwidth (options->work_bandwidth, &bps))
        return usage_error (_ ("A bandwidth is 512Kbps to 1023Mbps, such as 512Kbps or 20Mbps; "
                               "not “%s”."),
                            options->work_bandwidth);
      g_variant_builder_add (changes, "{sv}", "work-bandwidth", g_variant_new_uint64 (bps));
    }
  if (options->non_work_bandwidth != NULL)
    {
      if (!parse_bandwidth (options->non_work_bandwidth, &bps))
        return usage_error (_ ("A bandwidth is 512Kbps to 1023Mbps, such as 512Kbps or 20Mbps; "
                               "not “%s”."),
                            options->non_work_bandwidth);
      g_variant_builder_add (changes, "{sv}", "non-work-bandwidth", g_variant_new_uint64 (bps));
    }
  if (options->proxy != NULL && !add_proxy (changes, options->proxy))
    return usage_error (_ ("--proxy is none, system or http://HOST:PORT; not “%s”."),
                        strchr (options->proxy, '@') != NULL ? "USER:PASSWORD@…" : options->proxy);
  if (options->proxy_user != NULL)
    g_variant_builder_add (changes, "{sv}", "proxy-user",
                           g_variant_new_string (options->proxy_user));
  if (options->concurrency != NULL)
    {
      guint64 value;

      if (!g_ascii_string_to_unsigned (options->concurrency, 10, 0, G_MAXUINT32, &value, NULL) ||
          !coffer_settings_check_concurrency (value, NULL))
        return usage_error (_ ("--concurrency is a number from 1 to 16, not “%s”."),
                            options->concurrency);
      g_variant_builder_add (changes, "{sv}", "concurrency", g_variant_new_uint32 (value));
    }
  return CLI_EXIT_OK;
}

/* The first line of @path, as the proxy password's bytes. The file is
 * read as coffer_input_file_read() does: a fifo or a device is refused. */
static gboolean
add_proxy_password (GVariantBuilder *changes, const char *path, GError **error)
{
  char *contents;
  gsize length = 0;
  gsize line = 0;

  contents = coffer_input_file_read (path, COFFER_INPUT_SECRET_MAX_SIZE, &length, error);
  if (contents == NULL)
    {
      g_prefix_error (error, _ ("Cannot read the proxy password file: "));
      return FALSE;
    }
  while (line < length && contents[line] != '\n' && contents[line] != '\r')
    line++;
  g_variant_builder_add (
      changes, "{sv}", "proxy-password",
      g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, contents, line, sizeof (guint8)));
  OPENSSL_cleanse (contents, length);
  g_free (contents);
  return TRUE;
}

int
cli_properties_set (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (CofferDBusAgent) agent = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) change_set = NULL;
  g_auto (SetOptions) options = { 0 };
  GVariantBuilder changes;
  int status;
  const GOptionEntry entries[] = {
    { "throttle", 0, 0, G_OPTION_ARG_STRING, &options.throttle,
      N_ ("Throttle the bandwidth used to reach the vault, or not"), "on|off" },
    { "work-days", 0, 0, G_OPTION_ARG_STRING, &options.work_days,
      N_ ("The work days, as a range or a list (default mon-fri)"), "mon-fri" },
    { "work-hours", 0, 0, G_OPTION_ARG_STRING, &options.work_hours,
      N_ ("When work hours start and end, local time; all other time is non-work hours"),
      "09:00-17:00" },
    { "work-bandwidth", 0, 0, G_OPTION_ARG_STRING, &options.work_bandwidth,
      N_ ("The bandwidth in work hours, 512Kbps to 1023Mbps"), "RATE" },
    { "non-work-bandwidth", 0, 0, G_OPTION_ARG_STRING, &options.non_work_bandwidth,
      N_ ("The bandwidth outside work hours, 512Kbps to 1023Mbps"), "RATE" },
    { "proxy", 0, 0, G_OPTION_ARG_STRING, &options.proxy,
      N_ ("Reach a network vault directly, through the system's proxy, or through this one"),
      "none|system|http://HOST:PORT" },
    { "proxy-user", 0, 0, G_OPTION_ARG_STRING, &options.proxy_user,
      N_ ("The proxy's user name (empty for none)"), "USER" },
    { "proxy-password-file", 0, 0, G_OPTION_ARG_FILENAME, &options.proxy_password_file,
      N_ ("A file whose first line is the proxy's password (an empty line forgets it)"), "FILE" },
    { "concurrency", 0, 0, G_OPTION_ARG_STRING, &options.concurrency,
      N_ ("How many requests to a network vault run at once, 1 to 16 (default 4)"), "N" },
    { "cache-folder", 0, 0, G_OPTION_ARG_FILENAME, &options.cache_folder,
      N_ ("Move the cache folder here (a Cache move job): an absolute path to an empty or new "
          "folder on a local disk"),
      "DIR" },
    { "wait", 0, 0, G_OPTION_ARG_NONE, &options.wait,
      N_ ("With --cache-folder: show the progress and wait for the end"), NULL },
    { NULL }
  };

  context = g_option_context_new (NULL);
  g_option_context_set_summary (
      context, _ ("Change throttling, proxy, concurrency or the cache folder. Every option is "
                  "optional and changes only its part; the changes apply all at once or not at "
                  "all, and a running job follows a throttling change within a second."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!cli_parse_options (context, &argc, &argv))
    return CLI_EXIT_USAGE;
  if (argc > 1)
    return usage_error (_ ("Unexpected argument “%s”."), argv[1]);
  if (options.wait && options.cache_folder == NULL)
    return usage_error ("%s", _ ("--wait goes with --cache-folder."));
  if (options.cache_folder != NULL && !cli_check_utf8 (options.cache_folder, _ ("a cache folder")))
    return CLI_EXIT_USAGE;

  g_variant_builder_init (&changes, G_VARIANT_TYPE_VARDICT);
  status = build_changes (&options, &changes);
  if (status == CLI_EXIT_OK && options.proxy_password_file != NULL &&
      !add_proxy_password (&changes, options.proxy_password_file, &error))
    {
      g_printerr ("coffer: %s\n", error->message);
      status = CLI_EXIT_FAILED;
    }
  change_set = g_variant_ref_sink (g_variant_builder_end (&changes));
  if (status != CLI_EXIT_OK)
    return status;
  if (g_variant_n_children (change_set) == 0 && options.cache_folder == NULL)
    return usage_error ("%s", _ ("Nothing to change. Run “coffer properties set --help” to see "
                                 "what can be."));

  if (g_variant_n_children (change_set) > 0)
    {
      agent = cli_agent_connect (&error);
      if (agent == NULL || !coffer_dbus_agent_call_set_properties_sync (
                               agent, change_set, G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error))
        return cli_report_error (error);
    }

  if (options.cache_folder != NULL)
    {
      g_autofree char *folder = g_canonicalize_filename (options.cache_folder, NULL);

      return cli_start_job ("cache-move", start_cache_move, g_variant_new_bytestring (folder),
                            options.wait);
    }
  return CLI_EXIT_OK;
}
