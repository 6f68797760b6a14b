/* coffer-test-util.h: running the real agent and CLI from the tests. */
#pragma once

#include <gio/gio.h>

#include "coffer.h"

G_BEGIN_DECLS

typedef struct _CofferTestBus CofferTestBus;

CofferTestBus *coffer_test_bus_up (void);
const char *coffer_test_bus_get_address (CofferTestBus *self);
void coffer_test_bus_down (CofferTestBus *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CofferTestBus, coffer_test_bus_down)

typedef struct
{
  CofferTestBus *bus; /* NULL when the bus is someone else's */
  GDBusConnection *connection;
  GSubprocess *daemon;
  gboolean exited;
} CofferTestKeyring;

CofferTestKeyring *coffer_test_keyring_start (CofferTestBus *bus);
void coffer_test_keyring_stop (CofferTestKeyring *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CofferTestKeyring, coffer_test_keyring_stop)

typedef struct
{
  CofferTestBus *bus;
  CofferTestKeyring *keyring; /* NULL unless started with one */
  GSubprocess *agent;
  char *state_home;
  GDBusConnection *connection;
} CofferTestAgent;

CofferTestAgent *coffer_test_agent_start (const char *state_home);
CofferTestAgent *coffer_test_agent_start_with_keyring (const char *state_home);
void coffer_test_agent_restart (CofferTestAgent *self);
void coffer_test_agent_stop (CofferTestAgent *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CofferTestAgent, coffer_test_agent_stop)

char *coffer_test_run_cli_env (const char *bus_address,
                               const char *const *env,
                               const char *const *args,
                               char **out_stderr,
                               int *out_status);
char *coffer_test_run_cli_timed (const char *bus_address,
                                 const char *const *env,
                                 const char *const *args,
                                 guint timeout_ms,
                                 char **out_stderr,
                                 int *out_status);
char *coffer_test_run_cli (const char *bus_address,
                           const char *const *args,
                           char **out_stderr,
                           int *out_status);

/**
 * CofferTestVault:
 * @source: a folder to back up (the policy's one item)
 * @target: an empty folder to recover into
 * @vault_dir: the vault's folder
 * @cache_dir: the cache folder
 * @store: the vault's store
 * @vault: the vault
 * @keys: a machine's keys
 * @catalog: the catalog
 *
 * A vault, keys and a policy for engine tests, in the test's isolated folders.
 */
typedef struct
{
  char *source;
  char *target;
  char *vault_dir;
  char *cache_dir;
  CofferStore *store;
  CofferVault *vault;
  CofferMasterKeys *keys;
  CofferCatalog *catalog;
} CofferTestVault;

void coffer_test_vault_set_up (CofferTestVault *self, gconstpointer data);
void coffer_test_vault_tear_down (CofferTestVault *self, gconstpointer data);
CofferVault *coffer_test_vault_open_slow (CofferTestVault *self, guint64 bits_per_second);

G_END_DECLS
