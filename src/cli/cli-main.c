/* cli-main.c: coffer(1), the command-line client of the Coffer agent.
 *
 * `coffer COMMAND [SUBCOMMAND] [OPTIONS]`. Each entry of commands[] is a
 * subcommand; entries without a function are planned and say so when run.
 * Exit statuses: 0 done, 1 failed, 2 usage error, 3 completed with warnings.
 */
#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "cli-commands.h"

static const CliCommand commands[] = {
  { "status", "[--json]", N_ ("Show the vault and machine this server is registered as"),
    cli_status },
  { "register",
    N_ ("(--vault-credentials FILE | --create-local-vault DIR) (--passphrase-file FILE | "
        "--generate-passphrase)"),
    N_ ("Register this server to a vault"), cli_register },
  { "unregister", "", N_ ("Remove this server's registration (the vault keeps the data)"),
    cli_unregister },
  { "passphrase change", N_ ("(--passphrase-file FILE | --generate-passphrase)"),
    N_ ("Change the encryption passphrase"), cli_passphrase_change },
  { "policy show", "[--json]",
    N_ ("Show the backup items, exclusions, schedule, retention and next run"), cli_policy_show },
  { "policy set",
    N_ ("[--add PATH…] [--remove PATH…] [--exclude PATTERN…] [--include PATTERN…] "
        "[--daily HH:MM[,…] | --weekly DAY[,…]@HH:MM[,…] | --no-schedule] [--retain-daily N] "
        "[--retain-weekly N] [--retain-monthly N] [--retain-yearly N]"),
    N_ ("Change the backup items, exclusions, schedule and retention"), cli_policy_set },
  { "policy pause", "", N_ ("Stop scheduled backups, keeping the stored backups"),
    cli_policy_pause },
  { "policy resume", "", N_ ("Re-enable the backup schedule"), cli_policy_resume },
  { "policy stop", N_ ("[--confirm-vault-name NAME] [--wait]"),
    N_ ("Stop the schedule and delete all stored backups"), cli_policy_stop },
  { "backup", N_ ("[--retain-until YYYY-MM-DD] [--wait]"), N_ ("Back up now"), cli_backup },
  { "jobs", N_ ("[--status STATUS] [--limit N] [--offset N] [--json]"), N_ ("List the job history"),
    cli_jobs },
  { "job show", N_ ("ID [--json] [--limit N] [--offset N]"),
    N_ ("Show a job's details and failed items"), cli_job_show },
  { "job cancel", N_ ("ID"), N_ ("Cancel a running job"), cli_job_cancel },
  { "recover points", N_ ("[--machine NAME --passphrase-file FILE] [--json]"),
    N_ ("List recovery points"), cli_recover_points },
  { "recover ls", N_ ("POINT [PATH] [--json]"), N_ ("List a folder of a recovery point"),
    cli_recover_ls },
  { "recover find", N_ ("POINT PATTERN [--json]"), N_ ("Search a recovery point by name"),
    cli_recover_find },
  { "recover run",
    N_ ("POINT PATH… [--to DIR] [--conflict copy|overwrite|skip] [--no-permissions] [--wait]"),
    N_ ("Recover files and folders"), cli_recover_run },
  { "check", N_ ("[--read-data] [--repair] [--wait]"),
    N_ ("Verify the backups stored in the vault, and repair them"), cli_check },
  { "properties show", "[--json]", N_ ("Show throttling, proxy and cache folder settings"),
    cli_properties_show },
  { "properties set",
    N_ ("[--throttle on|off] [--work-days DAYS] [--work-hours HH:MM-HH:MM] [--work-bandwidth "
        "RATE] [--non-work-bandwidth RATE] [--proxy none|system|http://HOST:PORT] [--proxy-user "
        "USER] [--proxy-password-file FILE] [--concurrency N] [--cache-folder DIR [--wait]]"),
    N_ ("Change throttling, proxy or cache folder settings"), cli_properties_set },
  { "vault create",
    N_ ("--name NAME [--region REGION] [--redundancy geo|local] (DIR | azure://ACCOUNT/CONTAINER "
        "[--endpoint URL] (--account-key-file FILE | --sas-file FILE))"),
    N_ ("Create a vault in a folder or an Azure Blob Storage container"), cli_vault_create },
  { "vault credentials",
    N_ ("(DIR | azure://ACCOUNT/CONTAINER [--endpoint URL] (--account-key-file FILE | --sas-file "
        "FILE)) [--output DIR]"),
    N_ ("Issue a vault credentials file (valid for 48 hours)"), cli_vault_credentials },
  { "vault set-redundancy", N_ ("LOCATION geo|local"),
    N_ ("Choose the vault's storage redundancy (before any server registers)"),
    cli_vault_set_redundancy },
};

static void
print_usage (FILE *stream)
{
  fprintf (stream, "%s\n\n", _ ("Usage: coffer COMMAND [OPTIONS]"));
  fprintf (stream, "%s\n\n",
           _ ("Coffer backs up this server's files to a vault and recovers "
              "them, through the Coffer agent."));
  fprintf (stream, "%s\n", _ ("Commands:"));
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      g_autofree char *synopsis = g_strdup_printf (
          "%s %s", commands[i].name, commands[i].args[0] != '\0' ? _ (commands[i].args) : "");

      fprintf (stream, "  %s\n      %s%s\n", g_strstrip (synopsis), _ (commands[i].summary),
               commands[i].run == NULL ? _ (" (not in this version yet)") : "");
    }
  fprintf (stream, "\n%s\n", _ ("Options:"));
  fprintf (stream, "  --help       %s\n", _ ("Show this help"));
  fprintf (stream, "  --version    %s\n", _ ("Show the version"));
  fprintf (stream, "\n%s\n", _ ("Run “coffer COMMAND --help” for a command's options."));
}

/* Finds the command named by argv[0] (and argv[1] for two-word commands);
 * sets *words to how many arguments the name took. */
static const CliCommand *
find_command (int argc, char **argv, int *words)
{
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      const char *name = commands[i].name;
      const char *space = strchr (name, ' ');

      if (space == NULL && g_str_equal (argv[0], name))
        {
          *words = 1;
          return &commands[i];
        }
      if (space != NULL && argc >= 2 && strncmp (argv[0], name, space - name) == 0 &&
          argv[0][space - name] == '\0' && g_str_equal (argv[1], space + 1))
        {
          *words = 2;
          return &commands[i];
        }
    }
  return NULL;
}

static gboolean
is_command_group (const char *word)
{
  gsize len = strlen (word);

  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    if (strncmp (commands[i].name, word, len) == 0 && commands[i].name[len] == ' ')
      return TRUE;
  return FALSE;
}

int
main (int argc, char **argv)
{
  const CliCommand *command;
  g_autofree char *program_name = NULL;
  int words = 0;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  if (argc < 2)
    {
      print_usage (stderr);
      return CLI_EXIT_USAGE;
    }
  if (g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h") ||
      g_str_equal (argv[1], "help"))
    {
      print_usage (stdout);
      return CLI_EXIT_OK;
    }
  if (g_str_equal (argv[1], "--version"))
    {
      g_print ("coffer %s\n", PACKAGE_VERSION);
      return CLI_EXIT_OK;
    }

  command = find_command (argc - 1, argv + 1, &words);
  if (command == NULL)
    {
      if (is_command_group (argv[1]))
        g_printerr (_ ("coffer: “%s” needs a subcommand. Run “coffer --help” to see them.\n"),
                    argv[1]);
      else
        g_printerr (_ ("coffer: Unknown command “%s”. Run “coffer --help” to see the commands.\n"),
                    argv[1]);
      return CLI_EXIT_USAGE;
    }

  if (command->run == NULL)
    {
      g_printerr (_ ("coffer: “coffer %s” is not available in this version of Coffer yet.\n"),
                  command->name);
      return CLI_EXIT_FAILED;
    }

  /* The command sees its own name as argv[0], so --help reads
   * “coffer vault create [OPTION…]”. */
  program_name = g_strdup_printf ("coffer %s", command->name);
  g_set_prgname (program_name);
  argv[words] = (char *) command->name;
  return command->run (argc - words, argv + words);
}
