/* cli-commands.h: the subcommands of coffer(1) and what they share. */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "coffer-input.h"
#include "coffer.h"

G_BEGIN_DECLS

/* Exit statuses of coffer(1). */
enum
{
  CLI_EXIT_OK = 0,
  CLI_EXIT_FAILED = 1,
  CLI_EXIT_USAGE = 2,
  CLI_EXIT_WARNINGS = 3,
};

typedef int (*CliCommandFunc) (int argc, char **argv);

/* Calls the agent's method that starts a job of @kind with @parameters. */
typedef gboolean (*CliStartFunc) (CofferDBusAgent *agent,
                                  const char *kind,
                                  GVariant *parameters,
                                  char **out_path,
                                  guint64 *out_id,
                                  GError **error);

typedef struct
{
  const char *name;    /* "status", or "vault create" for a two-word command */
  const char *args;    /* synopsis of the arguments, for --help */
  const char *summary; /* one line, for --help */
  CliCommandFunc run;  /* NULL: planned, not in this version yet */
} CliCommand;

CofferDBusAgent *cli_agent_connect (GError **error);
int cli_report_error (const GError *error);
gboolean cli_parse_options (GOptionContext *context, int *argc, char ***argv);
gboolean cli_check_utf8 (const char *value, const char *as);
void cli_print_json (JsonNode *node);

char *cli_read_passphrase_file (const char *path, GError **error);
char *cli_get_passphrase (const char *passphrase_file, gboolean generate, GError **error);
char *cli_save_passphrase (const char *dir,
                           const char *machine_name,
                           const char *passphrase,
                           GError **error);
GVariant *cli_passphrase_variant (const char *passphrase);
void cli_show_generated_passphrase (const char *passphrase);

CofferVault *cli_vault_create_local (const char *location,
                                     const char *name,
                                     const char *region,
                                     const char *redundancy,
                                     GError **error);
GBytes *cli_vault_issue_local (CofferVault *vault, gint64 *out_issued, GError **error);

int cli_start_job (const char *kind, CliStartFunc start, GVariant *parameters, gboolean wait);

int cli_status (int argc, char **argv);
int cli_recover_points (int argc, char **argv);
int cli_recover_ls (int argc, char **argv);
int cli_recover_find (int argc, char **argv);
int cli_recover_run (int argc, char **argv);
int cli_backup (int argc, char **argv);
int cli_check (int argc, char **argv);
int cli_jobs (int argc, char **argv);
int cli_job_show (int argc, char **argv);
int cli_job_cancel (int argc, char **argv);
int cli_policy_show (int argc, char **argv);
int cli_policy_set (int argc, char **argv);
int cli_properties_show (int argc, char **argv);
int cli_properties_set (int argc, char **argv);
int cli_policy_pause (int argc, char **argv);
int cli_policy_resume (int argc, char **argv);
int cli_policy_stop (int argc, char **argv);
int cli_register (int argc, char **argv);
int cli_unregister (int argc, char **argv);
int cli_passphrase_change (int argc, char **argv);
int cli_vault_create (int argc, char **argv);
int cli_vault_credentials (int argc, char **argv);
int cli_vault_set_redundancy (int argc, char **argv);

G_END_DECLS
