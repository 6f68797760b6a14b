/* agent-service.c: the object behind io.github.coffer.Agent1.
 *
 * Owns the catalog and exports the generated CofferDBusAgent skeleton. Every
 * method that touches the catalog or the vault runs in a GTask thread and
 * completes its invocation from there, so the main loop never blocks.
 */
#include "config.h"

#include "agent-service.h"

#include "agent-job.h"
#include "agent-properties.h"
#include "agent-notify.h"
#include "agent-recovery.h"
#include "agent-scheduler.h"
#include "agent-vardict.h"
#include "coffer-input.h"

#include <errno.h>
#include <gio/gunixfdlist.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct _AgentService
{
  GObject parent_instance;

  char *state_dir;
  CofferCatalog *catalog;
  GError *catalog_error; /* why the catalog could not be opened, if it could not */
  CofferDBusAgent *skeleton;
  GCancellable *cancellable;
  guint test_method_delay_ms; /* COFFER_AGENT_TEST_METHOD_DELAY_MS, see HACKING.md */
  gboolean registering;       /* a Register, Unregister or ChangePassphrase is running */
  AgentJob *job;              /* the job that runs, or NULL */
  GHashTable *finished_jobs;  /* id → AgentJob still exported for a while */
  CofferThrottle *throttle;   /* shared by every transfer to or from the vault */
  GDBusConnection *connection;
  AgentScheduler *scheduler;
  AgentNotifier *notifier;
  gboolean scheduled_pending; /* a scheduled backup fell due while a job ran */
};

G_DEFINE_FINAL_TYPE (AgentService, agent_service, G_TYPE_OBJECT)

static void start_scheduled_backup (AgentService *self);

static gboolean
run_pending_cb (gpointer user_data)
{
  AgentService *self = user_data;

  if (self->scheduled_pending)
    start_scheduled_backup (self);
  return G_SOURCE_REMOVE;
}

/* A registration change has ended: a scheduled backup that fell due
 * meanwhile starts once the change is applied. */
static void
end_registration_change (AgentService *self)
{
  self->registering = FALSE;
  if (self->scheduled_pending)
    g_idle_add_full (G_PRIORITY_DEFAULT, run_pending_cb, g_object_ref (self), g_object_unref);
}

static void
agent_service_dispose (GObject *object)
{
  AgentService *self = AGENT_SERVICE (object);

  g_cancellable_cancel (self->cancellable);
  agent_service_unexport (self);
  if (self->job != NULL)
    agent_job_cancel (self->job);
  g_clear_object (&self->job);
  g_clear_object (&self->scheduler);
  g_clear_object (&self->notifier);
  g_clear_object (&self->connection);
  g_clear_pointer (&self->finished_jobs, g_hash_table_unref);
  g_clear_object (&self->skeleton);
  g_clear_object (&self->catalog);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->throttle);

  G_OBJECT_CLASS (agent_service_parent_class)->dispose (object);
}

static void
agent_service_finalize (GObject *object)
{
  AgentService *self = AGENT_SERVICE (object);

  g_clear_error (&self->catalog_error);
  g_free (self->state_dir);

  G_OBJECT_CLASS (agent_service_parent_class)->finalize (object);
}

static void
agent_service_class_init (AgentServiceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = agent_service_dispose;
  object_class->finalize = agent_service_finalize;
}

static void
agent_service_init (AgentService *self)
{
  self->cancellable = g_cancellable_new ();
  self->finished_jobs = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_object_unref);
  self->throttle = coffer_throttle_new (NULL);
}

/* Runs in a worker thread: the catalog's answer about the registration. */
static gboolean
read_registration (AgentService *self, CofferRegistration **out_registration, GError **error)
{
  if (self->catalog == NULL)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_FAILED, "%s",
                   self->catalog_error != NULL ? self->catalog_error->message
                                               : "The catalog is not open");
      return FALSE;
    }

  *out_registration = coffer_catalog_get_registration (self->catalog, error);
  return *out_registration != NULL || error == NULL || *error == NULL;
}

static void
apply_registration (AgentService *self, const CofferRegistration *registration)
{
  coffer_dbus_agent_set_registered (self->skeleton, registration != NULL);
  coffer_dbus_agent_set_vault_name (self->skeleton,
                                    registration != NULL ? registration->vault_name : "");
  coffer_dbus_agent_set_machine_name (self->skeleton,
                                      registration != NULL ? registration->machine_name : "");
  coffer_dbus_agent_set_state (self->skeleton, registration != NULL ? "idle" : "unregistered");
}

static void
load_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  AgentService *self = source_object;
  CofferRegistration *registration = NULL;
  GError *error = NULL;

  /* Opening the catalog may migrate its schema: never on the main loop. */
  self->catalog = coffer_catalog_open (self->state_dir, &self->catalog_error);
  if (self->catalog_error != NULL)
    g_warning ("%s", self->catalog_error->message);
  else if (!coffer_catalog_fail_interrupted_jobs (
               self->catalog,
               "The agent stopped while the job ran (it was stopped or killed, or the computer "
               "shut down).",
               &error))
    {
      g_warning ("%s", error->message);
      g_clear_error (&error);
    }

  if (self->catalog != NULL)
    {
      CofferThrottleSettings settings;

      if (coffer_throttle_settings_load (self->catalog, &settings, &error))
        coffer_throttle_set_settings (self->throttle, &settings);
      else
        {
          g_warning ("%s", error->message);
          g_clear_error (&error);
        }
    }

  if (!read_registration (self, &registration, &error))
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, registration, (GDestroyNotify) coffer_registration_free);
}

/* A catalog's text may hold a file name that is not UTF-8 (a job's message,
 * a failed item): D-Bus strings are UTF-8, so such text goes escaped. */
static GVariant *
text_variant (const char *value)
{
  if (value == NULL)
    return g_variant_new_string ("");
  if (!g_utf8_validate (value, -1, NULL))
    return g_variant_new_take_string (coffer_input_escape (value, -1));
  return g_variant_new_string (value);
}

static void
add_string (GVariantBuilder *builder, const char *key, const char *value)
{
  g_variant_builder_add (builder, "{sv}", key, text_variant (value));
}

/* The options each method takes (agent_vardict_check()). */
static const AgentVardictKey register_keys[] = {
  { "machine-name", "s" }, { "cache-folder", "s" }, { "vault-path", "s" },
  { "existing", "b" },     { NULL, NULL },
};
static const AgentVardictKey set_policy_keys[] = {
  { "add", "as" },          { "remove", "as" },       { "exclude", "as" },
  { "unexclude", "as" },    { "include", "as" },      { "uninclude", "as" },
  { "schedule", "s" },      { "times", "as" },        { "weekdays", "as" },
  { "retain-daily", "u" },  { "retain-weekly", "u" }, { "retain-monthly", "u" },
  { "retain-yearly", "u" }, { NULL, NULL },
};
static const AgentVardictKey start_backup_keys[] = {
  { "retain-until", "x" },
  { NULL, NULL },
};
static const AgentVardictKey start_check_keys[] = {
  { "read-data", "b" },
  { "repair", "b" },
  { NULL, NULL },
};
static const AgentVardictKey point_keys[] = {
  { "machine", "s" },
  { "passphrase", "ay" },
  { NULL, NULL },
};
static const AgentVardictKey start_recovery_keys[] = {
  { "machine", "s" },  { "passphrase", "ay" }, { "to", "ay" },
  { "conflict", "s" }, { "permissions", "b" }, { NULL, NULL },
};

/* Answers @invocation with @error when @options break @keys. */
static gboolean
check_options (GDBusMethodInvocation *invocation, GVariant *options, const AgentVardictKey *keys)
{
  GError *error = NULL;

  if (agent_vardict_check (options, keys, &error))
    return TRUE;
  g_dbus_method_invocation_take_error (invocation, error);
  return FALSE;
}

/* The other machine's passphrase of a recovery method's options, checked
 * before any work starts: a passphrase cannot be longer than the rule
 * allows, nor hold a NUL byte. */
static gboolean
check_point_passphrase (GDBusMethodInvocation *invocation, GVariant *options)
{
  g_autoptr (GVariant) bytes =
      g_variant_lookup_value (options, "passphrase", G_VARIANT_TYPE_BYTESTRING);
  g_autoptr (char) passphrase = NULL;
  GError *error = NULL;
  gsize size = 0;
  const char *data;

  if (bytes == NULL)
    return TRUE;
  data = g_variant_get_fixed_array (bytes, &size, 1);
  passphrase = coffer_passphrase_from_bytes (data, size, &error);
  if (passphrase != NULL)
    return TRUE;
  g_dbus_method_invocation_take_error (invocation, error);
  return FALSE;
}

static const char *
passphrase_storage (AgentService *self, const char *machine_id, GCancellable *cancellable)
{
  g_autoptr (GError) error = NULL;
  CofferSecretBackend backend = COFFER_SECRET_BACKEND_NONE;
  char *passphrase;

  passphrase = coffer_secret_lookup (self->state_dir, COFFER_SECRET_PASSPHRASE, machine_id,
                                     &backend, cancellable, &error);
  coffer_passphrase_free (passphrase);
  if (g_error_matches (error, COFFER_ERROR, COFFER_ERROR_KEYRING_LOCKED))
    return "keyring locked";
  if (passphrase == NULL)
    return "missing";
  return coffer_secret_backend_to_string (backend);
}

/* Runs in a worker thread: the parts of the status that need more than the
 * registration row. */
static void
add_registered_status (AgentService *self,
                       const CofferRegistration *registration,
                       GVariantBuilder *builder,
                       GCancellable *cancellable)
{
  g_autofree char *cache_folder = NULL;

  cache_folder = coffer_catalog_get_setting (self->catalog, COFFER_SETTING_CACHE_FOLDER, NULL);
  add_string (builder, "cache-folder", cache_folder);
  add_string (builder, "passphrase-storage",
              passphrase_storage (self, registration->machine_id, cancellable));
}

/* Where systemd runs, scheduled backups need the user's manager running:
 * without lingering, that means a login. */
static void
add_login_status (GVariantBuilder *builder)
{
  g_autofree char *linger = NULL;

  if (!g_file_test ("/run/systemd/system", G_FILE_TEST_IS_DIR))
    return;
  linger = g_build_filename ("/var/lib/systemd/linger", g_get_user_name (), NULL);
  g_variant_builder_add (builder, "{sv}", "needs-login",
                         g_variant_new_boolean (!g_file_test (linger, G_FILE_TEST_EXISTS)));
}

static void
get_status_thread (GTask *task,
                   gpointer source_object,
                   gpointer task_data,
                   GCancellable *cancellable)
{
  AgentService *self = source_object;
  g_autoptr (CofferRegistration) registration = NULL;
  GError *error = NULL;
  GVariantBuilder builder;

  if (self->test_method_delay_ms > 0)
    g_usleep (self->test_method_delay_ms * G_TIME_SPAN_MILLISECOND);

  if (!read_registration (self, &registration, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&builder, "{sv}", "registered",
                         g_variant_new_boolean (registration != NULL));
  add_string (&builder, "version", PACKAGE_VERSION);
  add_string (&builder, "state", coffer_dbus_agent_get_state (self->skeleton));
  add_string (&builder, "state-folder", self->state_dir);
  if (registration != NULL)
    {
      add_string (&builder, "vault-name", registration->vault_name);
      add_string (&builder, "vault-id", registration->vault_id);
      add_string (&builder, "machine-name", registration->machine_name);
      add_string (&builder, "machine-id", registration->machine_id);
      add_string (&builder, "storage-location", registration->storage_location);
      g_variant_builder_add (&builder, "{sv}", "registered-at",
                             g_variant_new_int64 (registration->registered_at));
      add_registered_status (self, registration, &builder, cancellable);
    }
  add_login_status (&builder);

  g_task_return_pointer (task, g_variant_ref_sink (g_variant_builder_end (&builder)),
                         (GDestroyNotify) g_variant_unref);
}

static void
get_status_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GDBusMethodInvocation) invocation = user_data;
  g_autoptr (GVariant) status = NULL;
  GError *error = NULL;

  status = g_task_propagate_pointer (G_TASK (result), &error);
  if (status == NULL)
    g_dbus_method_invocation_take_error (invocation, error);
  else
    coffer_dbus_agent_complete_get_status (AGENT_SERVICE (source)->skeleton, invocation, status);
}

static gboolean
handle_get_status (AgentService *self, GDBusMethodInvocation *invocation)
{
  g_autoptr (GTask) task =
      g_task_new (self, self->cancellable, get_status_cb, g_object_ref (invocation));

  g_task_set_source_tag (task, handle_get_status);
  g_task_run_in_thread (task, get_status_thread);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* Register, Unregister and ChangePassphrase change the registration: one
 * at a time, each in a worker thread. */
static gboolean
begin_registration_change (AgentService *self, GDBusMethodInvocation *invocation)
{
  if (self->catalog == NULL)
    {
      g_dbus_method_invocation_return_error (
          invocation, COFFER_ERROR, COFFER_ERROR_FAILED, "%s",
          self->catalog_error != NULL ? self->catalog_error->message : "The catalog is not open");
      return FALSE;
    }
  if (self->registering || self->job != NULL)
    {
      g_dbus_method_invocation_return_error (invocation, COFFER_ERROR, COFFER_ERROR_BUSY,
                                             "Another job is in progress.");
      return FALSE;
    }
  self->registering = TRUE;
  /* The registration changes: keys unlocked for the old one must go. */
  agent_job_forget_keys ();
  return TRUE;
}

/* Copies a passphrase out of its D-Bus message, or answers @invocation
 * with why it cannot be one (too long, a NUL byte). */
static char *
dup_passphrase (GDBusMethodInvocation *invocation, GVariant *bytes)
{
  gsize size;
  const char *data = g_variant_get_fixed_array (bytes, &size, 1);
  GError *error = NULL;
  char *passphrase;

  passphrase = coffer_passphrase_from_bytes (data, size, &error);
  if (passphrase == NULL)
    g_dbus_method_invocation_take_error (invocation, error);
  return passphrase;
}

typedef struct
{
  int fd;
  char *passphrase;
  char *machine_name;
  char *cache_folder;
  char *vault_path;
  gboolean existing;
  GDBusMethodInvocation *invocation;
  CofferRegistration *registration;
  GPtrArray *warnings;
  char *passphrase_storage;
} RegisterData;

static void
register_data_free (RegisterData *data)
{
  if (data->fd >= 0)
    close (data->fd);
  coffer_passphrase_free (data->passphrase);
  g_free (data->machine_name);
  g_free (data->cache_folder);
  g_free (data->vault_path);
  g_clear_object (&data->invocation);
  g_clear_pointer (&data->registration, coffer_registration_free);
  g_clear_pointer (&data->warnings, g_ptr_array_unref);
  g_free (data->passphrase_storage);
  g_free (data);
}

/* Reads the credentials file the client opened: a regular file of at most
 * COFFER_INPUT_CREDENTIALS_MAX_SIZE bytes, never a fifo to wait on. */
static GBytes *
read_credentials (int fd, gboolean *world_readable, GError **error)
{
  struct stat st;

  if (!coffer_input_fd_check (fd, "The vault credentials file", COFFER_INPUT_CREDENTIALS_MAX_SIZE,
                              error) ||
      fstat (fd, &st) != 0)
    return NULL;
  /* An anonymous file (a memfd, st_nlink 0) has no name to read it by. */
  *world_readable = (st.st_mode & 0044) != 0 && st.st_nlink > 0;
  return coffer_input_fd_read (fd, "The vault credentials file", COFFER_INPUT_CREDENTIALS_MAX_SIZE,
                               error);
}

static void
register_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  AgentService *self = source_object;
  RegisterData *data = task_data;
  g_autoptr (GBytes) credentials = NULL;
  GError *error = NULL;
  CofferRegisterRequest request = { 0 };
  g_autoptr (CofferMasterKeys) keys = NULL;

  credentials = read_credentials (data->fd, &request.credentials_world_readable, &error);
  if (credentials == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  request.credentials = credentials;
  request.passphrase = data->passphrase;
  request.machine_name = data->machine_name;
  request.cache_folder = data->cache_folder;
  request.vault_path = data->vault_path;
  request.existing = data->existing;
  data->warnings = g_ptr_array_new_with_free_func (g_free);
  data->registration = coffer_register_sync (self->catalog, self->state_dir, &request,
                                             g_get_real_time () / G_USEC_PER_SEC, data->warnings,
                                             &keys, cancellable, &error);
  if (data->registration == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  /* The first backup need not run scrypt again. */
  if (keys != NULL)
    agent_job_remember_keys (data->registration->machine_id, keys);
  data->passphrase_storage =
      g_strdup (passphrase_storage (self, data->registration->machine_id, cancellable));
  g_task_return_boolean (task, TRUE);
}

static void
register_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  AgentService *self = AGENT_SERVICE (source);
  RegisterData *data = g_task_get_task_data (G_TASK (result));
  GError *error = NULL;
  GVariantBuilder builder;

  end_registration_change (self);
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_dbus_method_invocation_take_error (data->invocation, error);
      return;
    }

  apply_registration (self, data->registration);
  g_message ("Registered to vault “%s” as “%s”", data->registration->vault_name,
             data->registration->machine_name);

  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  add_string (&builder, "vault-name", data->registration->vault_name);
  add_string (&builder, "machine-name", data->registration->machine_name);
  add_string (&builder, "storage-location", data->registration->storage_location);
  add_string (&builder, "passphrase-storage", data->passphrase_storage);
  g_ptr_array_add (data->warnings, NULL);
  g_variant_builder_add (&builder, "{sv}", "warnings",
                         g_variant_new_strv ((const char *const *) data->warnings->pdata, -1));
  coffer_dbus_agent_complete_register (self->skeleton, data->invocation, NULL,
                                       g_variant_builder_end (&builder));
}

static gboolean
handle_register (AgentService *self,
                 GDBusMethodInvocation *invocation,
                 GUnixFDList *fd_list,
                 GVariant *credentials,
                 GVariant *passphrase,
                 GVariant *options)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (char) checked_passphrase = NULL;
  RegisterData *data;
  const char *text;
  int fd;

  if (!check_options (invocation, options, register_keys))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  checked_passphrase = dup_passphrase (invocation, passphrase);
  if (checked_passphrase == NULL)
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  if (fd_list == NULL || g_variant_get_handle (credentials) >= g_unix_fd_list_get_length (fd_list))
    {
      g_dbus_method_invocation_return_error (invocation, COFFER_ERROR,
                                             COFFER_ERROR_INVALID_ARGUMENT,
                                             "The vault credentials file was not passed.");
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  fd = g_unix_fd_list_get (fd_list, g_variant_get_handle (credentials), &error);
  if (fd < 0)
    {
      g_dbus_method_invocation_return_error (
          invocation, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
          "The vault credentials file could not be passed: %s", error->message);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  if (!begin_registration_change (self, invocation))
    {
      close (fd);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }

  data = g_new0 (RegisterData, 1);
  data->fd = fd;
  data->passphrase = g_steal_pointer (&checked_passphrase);
  data->invocation = g_object_ref (invocation);
  data->machine_name = g_strdup (g_get_host_name ());
  if (g_variant_lookup (options, "machine-name", "&s", &text) && *text != '\0')
    {
      g_free (data->machine_name);
      data->machine_name = g_strdup (text);
    }
  if (g_variant_lookup (options, "cache-folder", "&s", &text) && *text != '\0')
    data->cache_folder = g_strdup (text);
  if (g_variant_lookup (options, "vault-path", "&s", &text) && *text != '\0')
    data->vault_path = g_strdup (text);
  g_variant_lookup (options, "existing", "b", &data->existing);

  task = g_task_new (self, self->cancellable, register_cb, NULL);
  g_task_set_source_tag (task, handle_register);
  g_task_set_task_data (task, data, (GDestroyNotify) register_data_free);
  g_task_run_in_thread (task, register_thread);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
unregister_thread (GTask *task,
                   gpointer source_object,
                   gpointer task_data,
                   GCancellable *cancellable)
{
  AgentService *self = source_object;
  GError *error = NULL;

  if (coffer_unregister_sync (self->catalog, self->state_dir, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
unregister_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  AgentService *self = AGENT_SERVICE (source);
  g_autoptr (GDBusMethodInvocation) invocation = user_data;
  GError *error = NULL;

  end_registration_change (self);
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_dbus_method_invocation_take_error (invocation, error);
      return;
    }
  apply_registration (self, NULL);
  g_message ("Unregistered; the vault keeps this server's recovery points");
  coffer_dbus_agent_complete_unregister (self->skeleton, invocation);
}

static gboolean
handle_unregister (AgentService *self, GDBusMethodInvocation *invocation)
{
  g_autoptr (GTask) task = NULL;

  if (!begin_registration_change (self, invocation))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  task = g_task_new (self, self->cancellable, unregister_cb, g_object_ref (invocation));
  g_task_set_source_tag (task, handle_unregister);
  g_task_run_in_thread (task, unregister_thread);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
change_passphrase_thread (GTask *task,
                          gpointer source_object,
                          gpointer task_data,
                          GCancellable *cancellable)
{
  AgentService *self = source_object;
  GError *error = NULL;

  if (coffer_change_passphrase_sync (self->catalog, self->state_dir, task_data, cancellable,
                                     &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
change_passphrase_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  AgentService *self = AGENT_SERVICE (source);
  g_autoptr (GDBusMethodInvocation) invocation = user_data;
  GError *error = NULL;

  end_registration_change (self);
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    g_dbus_method_invocation_take_error (invocation, error);
  else
    coffer_dbus_agent_complete_change_passphrase (self->skeleton, invocation);
}

static gboolean
handle_change_passphrase (AgentService *self,
                          GDBusMethodInvocation *invocation,
                          GVariant *passphrase)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (char) new_passphrase = dup_passphrase (invocation, passphrase);

  if (new_passphrase == NULL || !begin_registration_change (self, invocation))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  task = g_task_new (self, self->cancellable, change_passphrase_cb, g_object_ref (invocation));
  g_task_set_source_tag (task, handle_change_passphrase);
  g_task_set_task_data (task, g_steal_pointer (&new_passphrase),
                        (GDestroyNotify) coffer_passphrase_free);
  g_task_run_in_thread (task, change_passphrase_thread);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* A method whose work runs in a worker thread: the function gets the
 * call's parameters and returns the reply's tuple, or NULL with an error. */
typedef GVariant *(*AgentWorkFunc) (AgentService *self,
                                    GVariant *parameters,
                                    GCancellable *cancellable,
                                    GError **error);

static void
method_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  AgentWorkFunc func = task_data;
  GDBusMethodInvocation *invocation = g_object_get_data (G_OBJECT (task), "invocation");
  GError *error = NULL;
  GVariant *reply;

  reply = func (source_object, g_dbus_method_invocation_get_parameters (invocation), cancellable,
                &error);
  if (reply == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, g_variant_ref_sink (reply), (GDestroyNotify) g_variant_unref);
}

static void
method_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GDBusMethodInvocation) invocation = user_data;
  g_autoptr (GVariant) reply = NULL;
  GError *error = NULL;

  reply = g_task_propagate_pointer (G_TASK (result), &error);
  if (reply == NULL)
    g_dbus_method_invocation_take_error (invocation, error);
  else
    g_dbus_method_invocation_return_value (invocation, reply);
}

static void
run_method (AgentService *self, GDBusMethodInvocation *invocation, AgentWorkFunc func)
{
  g_autoptr (GTask) task =
      g_task_new (self, self->cancellable, method_done_cb, g_object_ref (invocation));

  g_task_set_source_tag (task, run_method);
  g_task_set_task_data (task, func, NULL);
  g_object_set_data_full (G_OBJECT (task), "invocation", g_object_ref (invocation), g_object_unref);
  g_task_run_in_thread (task, method_thread);
}

static gboolean
require_registration (AgentService *self, GError **error)
{
  g_autoptr (CofferRegistration) registration = NULL;
  g_autoptr (GError) local_error = NULL;

  if (!read_registration (self, &registration, error))
    return FALSE;
  if (registration == NULL)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_NOT_REGISTERED,
                   "This server is not registered to a vault. Register it first.");
      return FALSE;
    }
  return TRUE;
}

static GVariant *
strv_variant (GPtrArray *values)
{
  return g_variant_new_strv ((const char *const *) values->pdata, values->len);
}

static GVariant *
get_policy_work (AgentService *self,
                 GVariant *parameters,
                 GCancellable *cancellable,
                 GError **error)
{
  g_autoptr (CofferPolicy) policy = NULL;
  g_autoptr (GTimeZone) tz = agent_clock_time_zone ();
  g_autoptr (GPtrArray) times = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) weekdays = g_ptr_array_new ();
  GVariantBuilder builder;
  CofferSchedule schedule;
  gint64 next_run;

  if (!require_registration (self, error))
    return NULL;
  policy = coffer_policy_load (self->catalog, error);
  if (policy == NULL || !coffer_catalog_get_schedule (self->catalog, &schedule, NULL, error))
    return NULL;
  for (guint i = 0; i < schedule.n_times; i++)
    g_ptr_array_add (times, coffer_schedule_format_time (schedule.times[i]));
  for (guint i = 0; schedule.kind == COFFER_SCHEDULE_WEEKLY && i < 7; i++)
    if (schedule.weekdays & (1u << i))
      g_ptr_array_add (weekdays, (gpointer) coffer_schedule_weekday_name (i));
  next_run = schedule.paused ? 0 : coffer_schedule_next_run (&schedule, tz, agent_clock_now ());

  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&builder, "{sv}", "items", strv_variant (policy->items));
  g_variant_builder_add (&builder, "{sv}", "exclusions", strv_variant (policy->exclusions));
  g_variant_builder_add (&builder, "{sv}", "inclusions", strv_variant (policy->inclusions));
  add_string (&builder, "schedule", coffer_schedule_kind_to_string (schedule.kind));
  g_variant_builder_add (&builder, "{sv}", "times", strv_variant (times));
  g_variant_builder_add (&builder, "{sv}", "weekdays", strv_variant (weekdays));
  g_variant_builder_add (&builder, "{sv}", "retain-daily",
                         g_variant_new_uint32 (schedule.retain_daily));
  g_variant_builder_add (&builder, "{sv}", "retain-weekly",
                         g_variant_new_uint32 (schedule.retain_weekly));
  g_variant_builder_add (&builder, "{sv}", "retain-monthly",
                         g_variant_new_uint32 (schedule.retain_monthly));
  g_variant_builder_add (&builder, "{sv}", "retain-yearly",
                         g_variant_new_uint32 (schedule.retain_yearly));
  add_string (&builder, "state", schedule.paused ? "paused" : "active");
  g_variant_builder_add (&builder, "{sv}", "next-run", g_variant_new_int64 (next_run));
  return g_variant_new ("(a{sv})", &builder);
}

static gboolean
handle_get_policy (AgentService *self, GDBusMethodInvocation *invocation)
{
  run_method (self, invocation, get_policy_work);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* The keys of SetPolicy, what each edits, and how its values are checked. */
static const struct
{
  const char *key;
  const char *kind;
  gboolean add;
  gboolean (*check) (const char *value, GError **error);
} policy_keys[] = {
  { "add", "item", TRUE, coffer_policy_check_item },
  { "remove", "item", FALSE, NULL },
  { "exclude", "exclude", TRUE, coffer_policy_check_pattern },
  { "unexclude", "exclude", FALSE, NULL },
  { "include", "include", TRUE, coffer_policy_check_pattern },
  { "uninclude", "include", FALSE, NULL },
};

/* Applies SetPolicy's schedule and retention keys to @schedule and checks
 * the result; *changed_times says whether when backups run changed. */
static gboolean
apply_schedule_changes (GVariant *changes,
                        CofferSchedule *schedule,
                        gboolean *changed_times,
                        GError **error)
{
  const struct
  {
    const char *key;
    guint32 *field;
  } retention[] = {
    { "retain-daily", &schedule->retain_daily },
    { "retain-weekly", &schedule->retain_weekly },
    { "retain-monthly", &schedule->retain_monthly },
    { "retain-yearly", &schedule->retain_yearly },
  };
  g_autofree const char **times = NULL;
  g_autofree const char **weekdays = NULL;
  const char *kind = NULL;

  *changed_times = FALSE;
  if (g_variant_lookup (changes, "schedule", "&s", &kind))
    {
      if (!coffer_schedule_kind_from_string (kind, &schedule->kind))
        {
          g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                       "“%s” is not a schedule: none, daily or weekly.", kind);
          return FALSE;
        }
      *changed_times = TRUE;
      if (schedule->kind == COFFER_SCHEDULE_NONE)
        schedule->n_times = 0;
      if (schedule->kind != COFFER_SCHEDULE_WEEKLY)
        schedule->weekdays = 0;
    }
  if (g_variant_lookup (changes, "times", "^a&s", &times))
    {
      if (!coffer_schedule_set_times (schedule, times, error))
        return FALSE;
      *changed_times = TRUE;
    }
  if (g_variant_lookup (changes, "weekdays", "^a&s", &weekdays))
    {
      if (!coffer_schedule_set_weekdays (schedule, weekdays, error))
        return FALSE;
      *changed_times = TRUE;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (retention); i++)
    g_variant_lookup (changes, retention[i].key, "u", retention[i].field);
  return coffer_schedule_check (schedule, error);
}

static GVariant *
set_policy_work (AgentService *self,
                 GVariant *parameters,
                 GCancellable *cancellable,
                 GError **error)
{
  g_autoptr (GVariant) changes = NULL;
  g_autoptr (GArray) edits = g_array_new (FALSE, FALSE, sizeof (CofferPolicyEdit));
  g_autoptr (GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  /* The edits point into @changes, which outlives them. */
  GPtrArray *borrowed = g_ptr_array_new_with_free_func (g_free);
  CofferSchedule schedule;
  gboolean changed_times;

  if (!require_registration (self, error))
    {
      g_ptr_array_unref (borrowed);
      return NULL;
    }

  g_variant_get (parameters, "(@a{sv})", &changes);
  /* Everything is checked before anything is written. */
  if (!coffer_catalog_get_schedule (self->catalog, &schedule, NULL, error) ||
      !apply_schedule_changes (changes, &schedule, &changed_times, error))
    {
      g_ptr_array_unref (borrowed);
      return NULL;
    }
  for (gsize k = 0; k < G_N_ELEMENTS (policy_keys); k++)
    {
      const char **values = NULL;

      if (!g_variant_lookup (changes, policy_keys[k].key, "^a&s", &values))
        continue;
      g_ptr_array_add (borrowed, values);
      for (guint i = 0; values[i] != NULL; i++)
        {
          CofferPolicyEdit edit = { policy_keys[k].kind, values[i], policy_keys[k].add };

          if (policy_keys[k].check != NULL && !policy_keys[k].check (values[i], error))
            {
              g_ptr_array_unref (borrowed);
              return NULL;
            }
          if (policy_keys[k].add && g_str_equal (policy_keys[k].kind, "item") &&
              !g_file_test (values[i], G_FILE_TEST_EXISTS))
            g_ptr_array_add (warnings, g_strdup_printf ("%s does not exist now; it is backed up "
                                                        "once it does.",
                                                        values[i]));
          g_array_append_val (edits, edit);
        }
    }

  /* A new schedule starts from now: runs before it are not "missed". */
  if (!coffer_catalog_edit_policy (self->catalog, (CofferPolicyEdit *) edits->data, edits->len,
                                   error) ||
      !coffer_catalog_set_schedule (self->catalog, &schedule,
                                    changed_times ? agent_clock_now () : -1, error))
    {
      g_ptr_array_unref (borrowed);
      return NULL;
    }
  g_ptr_array_unref (borrowed);
  g_ptr_array_add (warnings, NULL);
  return g_variant_new ("(^as)", (char **) warnings->pdata);
}

static gboolean
handle_set_policy (AgentService *self, GDBusMethodInvocation *invocation, GVariant *changes)
{
  if (!check_options (invocation, changes, set_policy_keys))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  run_method (self, invocation, set_policy_work);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static GVariant *
pause_or_resume_work (AgentService *self, gboolean pause, GError **error)
{
  g_autoptr (GPtrArray) items = NULL;
  CofferSchedule schedule;

  if (!require_registration (self, error) ||
      !coffer_catalog_get_schedule (self->catalog, &schedule, NULL, error) ||
      (items = coffer_catalog_get_policy (self->catalog, "item", error)) == NULL)
    return NULL;
  if (items->len == 0 && schedule.kind == COFFER_SCHEDULE_NONE)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND,
                   "There is no backup policy; schedule a backup first.");
      return NULL;
    }
  schedule.paused = pause;
  /* Runs that fell due while paused are not run on resuming. */
  if (!coffer_catalog_set_schedule (self->catalog, &schedule, pause ? -1 : agent_clock_now (),
                                    error))
    return NULL;
  g_message (pause ? "Scheduled backups paused" : "Scheduled backups resumed");
  return g_variant_new ("()");
}

static GVariant *
pause_work (AgentService *self, GVariant *parameters, GCancellable *cancellable, GError **error)
{
  return pause_or_resume_work (self, TRUE, error);
}

static GVariant *
resume_work (AgentService *self, GVariant *parameters, GCancellable *cancellable, GError **error)
{
  return pause_or_resume_work (self, FALSE, error);
}

static gboolean
handle_pause_policy (AgentService *self, GDBusMethodInvocation *invocation)
{
  run_method (self, invocation, pause_work);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_resume_policy (AgentService *self, GDBusMethodInvocation *invocation)
{
  run_method (self, invocation, resume_work);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* ---- Jobs ---------------------------------------------------------------- */

static gboolean
require_catalog (AgentService *self, GError **error)
{
  if (self->catalog != NULL)
    return TRUE;
  g_set_error (error, COFFER_ERROR, COFFER_ERROR_FAILED, "%s",
               self->catalog_error != NULL ? self->catalog_error->message
                                           : "The catalog is not open");
  return FALSE;
}

/* ---- Properties: available before registration --------------------------- */

static GVariant *
get_properties_work (AgentService *self,
                     GVariant *parameters,
                     GCancellable *cancellable,
                     GError **error)
{
  GVariant *properties;

  if (!require_catalog (self, error))
    return NULL;
  properties = agent_properties_get (self->catalog, self->state_dir, cancellable, error);
  return properties != NULL ? g_variant_new_tuple (&properties, 1) : NULL;
}

static gboolean
handle_get_properties (AgentService *self, GDBusMethodInvocation *invocation)
{
  run_method (self, invocation, get_properties_work);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* Two SetProperties at once could interleave their checks and writes. */
static GMutex set_properties_lock;

static GVariant *
set_properties_work (AgentService *self,
                     GVariant *parameters,
                     GCancellable *cancellable,
                     GError **error)
{
  g_autoptr (GVariant) changes = NULL;
  gboolean ok;

  if (!require_catalog (self, error))
    return NULL;
  g_variant_get (parameters, "(@a{sv})", &changes);
  g_mutex_lock (&set_properties_lock);
  ok = agent_properties_set (self->catalog, self->state_dir, self->throttle, changes, cancellable,
                             error);
  g_mutex_unlock (&set_properties_lock);
  return ok ? g_variant_new ("()") : NULL;
}

static gboolean
handle_set_properties (AgentService *self, GDBusMethodInvocation *invocation, GVariant *changes)
{
  GError *error = NULL;

  if (!agent_properties_check_keys (changes, &error))
    {
      g_dbus_method_invocation_take_error (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  run_method (self, invocation, set_properties_work);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

typedef struct
{
  AgentService *self;
  gint64 id;
} ForgetJob;

static gboolean
forget_job_cb (gpointer user_data)
{
  ForgetJob *forget = user_data;

  g_hash_table_remove (forget->self->finished_jobs, &forget->id);
  g_object_unref (forget->self);
  g_free (forget);
  return G_SOURCE_REMOVE;
}

static void
job_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  AgentService *self = user_data;
  AgentJob *job = AGENT_JOB (source);
  ForgetJob *forget = g_new0 (ForgetJob, 1);
  gint64 *key = g_new (gint64, 1);

  agent_job_run_finish (job, result);
  /* Clients that come late still find the job's object for a minute. */
  *key = agent_job_get_id (job);
  forget->self = g_object_ref (self);
  forget->id = *key;
  g_hash_table_replace (self->finished_jobs, key, g_object_ref (job));
  g_timeout_add_seconds (60, forget_job_cb, forget);

  if (self->notifier != NULL)
    {
      const CofferJobRecord *record = agent_job_get_record (job);
      agent_notifier_job_ended (self->notifier, record->id, record->kind, record->status,
                                record->message);
    }
  if (self->job == job)
    g_clear_object (&self->job);
  coffer_dbus_agent_set_state (
      self->skeleton, coffer_dbus_agent_get_registered (self->skeleton) ? "idle" : "unregistered");
  if (self->scheduled_pending)
    start_scheduled_backup (self);
  g_object_unref (self);
}

/* Records and exports a new job, the one that runs. */
static AgentJob *
new_job (AgentService *self, GDBusConnection *connection, const char *kind, GError **error)
{
  g_autoptr (AgentJob) job = agent_job_new (self->catalog, self->state_dir, kind, error);

  if (job == NULL || !agent_job_export (job, connection, error))
    return NULL;
  self->job = g_object_ref (job);
  coffer_dbus_agent_set_state (self->skeleton, "busy");
  return g_steal_pointer (&job);
}

/* Starts a job of @kind, unless one runs; returns it, or NULL having
 * answered @invocation with the reason. */
static AgentJob *
start_job (AgentService *self, GDBusMethodInvocation *invocation, const char *kind)
{
  g_autoptr (AgentJob) job = NULL;
  g_autoptr (GError) error = NULL;

  if (self->catalog == NULL || !coffer_dbus_agent_get_registered (self->skeleton))
    {
      g_dbus_method_invocation_return_error (invocation, COFFER_ERROR, COFFER_ERROR_NOT_REGISTERED,
                                             "This server is not registered to a vault. Register "
                                             "it first.");
      return NULL;
    }
  if (self->job != NULL || self->registering)
    {
      g_dbus_method_invocation_return_error (invocation, COFFER_ERROR, COFFER_ERROR_BUSY,
                                             "Another job is in progress.");
      return NULL;
    }

  job = new_job (self, g_dbus_method_invocation_get_connection (invocation), kind, &error);
  if (job == NULL)
    g_dbus_method_invocation_return_gerror (invocation, error);
  return g_steal_pointer (&job);
}

/* A scheduled backup that fell due: now, or after the job that runs. */
static void
start_scheduled_backup (AgentService *self)
{
  g_autoptr (AgentJob) job = NULL;
  g_autoptr (GError) error = NULL;

  if (self->catalog == NULL || self->connection == NULL ||
      !coffer_dbus_agent_get_registered (self->skeleton))
    {
      self->scheduled_pending = FALSE;
      return;
    }
  if (self->job != NULL || self->registering)
    {
      g_debug ("A scheduled backup waits for the job that runs");
      self->scheduled_pending = TRUE;
      return;
    }
  self->scheduled_pending = FALSE;
  job = new_job (self, self->connection, "backup", &error);
  if (job == NULL)
    {
      g_warning ("Cannot start the scheduled backup: %s", error->message);
      return;
    }
  g_message ("Scheduled backup started as job %" G_GINT64_FORMAT, agent_job_get_id (job));
  agent_job_run_backup (job, TRUE, 0, job_done_cb, g_object_ref (self));
}

static void
scheduled_due_cb (AgentService *self, gint64 when)
{
  start_scheduled_backup (self);
}

static gboolean
handle_start_backup (AgentService *self, GDBusMethodInvocation *invocation, GVariant *options)
{
  g_autoptr (AgentJob) job = NULL;
  gint64 retain_until = g_get_real_time () / G_USEC_PER_SEC + 30 * 24 * 3600;

  if (!check_options (invocation, options, start_backup_keys))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  g_variant_lookup (options, "retain-until", "x", &retain_until);
  job = start_job (self, invocation, "backup");
  if (job == NULL)
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  coffer_dbus_agent_complete_start_backup (self->skeleton, invocation,
                                           agent_job_get_object_path (job), agent_job_get_id (job));
  agent_job_run_backup (job, FALSE, retain_until, job_done_cb, g_object_ref (self));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_stop_policy (AgentService *self, GDBusMethodInvocation *invocation, const char *vault_name)
{
  g_autoptr (AgentJob) job = NULL;

  if (coffer_dbus_agent_get_registered (self->skeleton) &&
      g_strcmp0 (vault_name, coffer_dbus_agent_get_vault_name (self->skeleton)) != 0)
    {
      g_dbus_method_invocation_return_error (invocation, COFFER_ERROR,
                                             COFFER_ERROR_INVALID_ARGUMENT,
                                             "The name typed is not the vault's name; nothing "
                                             "was deleted.");
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  job = start_job (self, invocation, "prune");
  if (job == NULL)
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  self->scheduled_pending = FALSE;
  coffer_dbus_agent_complete_stop_policy (self->skeleton, invocation,
                                          agent_job_get_object_path (job), agent_job_get_id (job));
  agent_job_run_stop_policy (job, job_done_cb, g_object_ref (self));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_start_check (AgentService *self, GDBusMethodInvocation *invocation, GVariant *options)
{
  g_autoptr (AgentJob) job = NULL;
  gboolean read_data = FALSE;
  gboolean repair = FALSE;

  if (!check_options (invocation, options, start_check_keys))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  g_variant_lookup (options, "read-data", "b", &read_data);
  g_variant_lookup (options, "repair", "b", &repair);
  job = start_job (self, invocation, "check");
  if (job == NULL)
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  coffer_dbus_agent_complete_start_check (self->skeleton, invocation,
                                          agent_job_get_object_path (job), agent_job_get_id (job));
  agent_job_run_check (job, read_data, repair, job_done_cb, g_object_ref (self));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* StartCacheMove: the new folder is checked in a worker thread (it looks at
 * the disk), then the job starts from the main loop. */
typedef struct
{
  GDBusMethodInvocation *invocation;
  char *folder;
} CacheMoveData;

static void
cache_move_data_free (CacheMoveData *data)
{
  g_clear_object (&data->invocation);
  g_free (data->folder);
  g_free (data);
}

static void
check_cache_folder_thread (GTask *task,
                           gpointer source_object,
                           gpointer task_data,
                           GCancellable *cancellable)
{
  AgentService *self = source_object;
  CacheMoveData *data = task_data;
  g_autofree char *old = agent_cache_folder (self->catalog);
  GError *error = NULL;

  if (coffer_cache_folder_check_new (data->folder, old, agent_data_backed_up (self->catalog),
                                     &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
check_cache_folder_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  AgentService *self = AGENT_SERVICE (source);
  CacheMoveData *data = g_task_get_task_data (G_TASK (result));
  g_autoptr (AgentJob) job = NULL;
  GError *error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_dbus_method_invocation_take_error (data->invocation, error);
      return;
    }
  /* Another job may have started while the folder was checked. */
  job = start_job (self, data->invocation, "cache-move");
  if (job == NULL)
    {
      g_clear_object (&data->invocation);
      return;
    }
  coffer_dbus_agent_complete_start_cache_move (
      self->skeleton, data->invocation, agent_job_get_object_path (job), agent_job_get_id (job));
  agent_job_run_cache_move (job, data->folder, job_done_cb, g_object_ref (self));
}

static gboolean
handle_start_cache_move (AgentService *self, GDBusMethodInvocation *invocation, const char *folder)
{
  g_autoptr (GTask) task = NULL;
  CacheMoveData *data;

  if (self->catalog == NULL || !coffer_dbus_agent_get_registered (self->skeleton))
    {
      g_dbus_method_invocation_return_error (invocation, COFFER_ERROR, COFFER_ERROR_NOT_REGISTERED,
                                             "This server is not registered to a vault. Register "
                                             "it first.");
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  if (self->job != NULL || self->registering)
    {
      g_dbus_method_invocation_return_error (invocation, COFFER_ERROR, COFFER_ERROR_BUSY,
                                             "Another job is in progress.");
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  if (!g_utf8_validate (folder, -1, NULL))
    {
      g_autofree char *shown = coffer_input_escape (folder, -1);

      /* The cache folder is a catalog setting, which is text. */
      g_dbus_method_invocation_return_error (
          invocation, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
          "“%s” is not valid UTF-8; Coffer cannot take it as a cache folder yet.", shown);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  if (!g_path_is_absolute (folder))
    {
      g_dbus_method_invocation_return_error (invocation, COFFER_ERROR,
                                             COFFER_ERROR_INVALID_ARGUMENT,
                                             "The cache folder must be an absolute path.");
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }

  data = g_new0 (CacheMoveData, 1);
  data->invocation = g_object_ref (invocation);
  data->folder = g_canonicalize_filename (folder, NULL);
  task = g_task_new (self, self->cancellable, check_cache_folder_cb, NULL);
  g_task_set_source_tag (task, handle_start_cache_move);
  g_task_set_task_data (task, data, (GDestroyNotify) cache_move_data_free);
  g_task_run_in_thread (task, check_cache_folder_thread);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static GVariant *
list_points_work (AgentService *self,
                  GVariant *parameters,
                  GCancellable *cancellable,
                  GError **error)
{
  return agent_list_points (self->catalog, self->state_dir, parameters, cancellable, error);
}

static GVariant *
list_folder_work (AgentService *self,
                  GVariant *parameters,
                  GCancellable *cancellable,
                  GError **error)
{
  return agent_list_folder (self->catalog, self->state_dir, parameters, cancellable, error);
}

static GVariant *
find_in_point_work (AgentService *self,
                    GVariant *parameters,
                    GCancellable *cancellable,
                    GError **error)
{
  return agent_find_in_point (self->catalog, self->state_dir, parameters, cancellable, error);
}

/* The recovery methods need a registered machine; the work is threaded. */
static gboolean
handle_recovery_method (AgentService *self, GDBusMethodInvocation *invocation)
{
  const char *method = g_dbus_method_invocation_get_method_name (invocation);
  GVariant *parameters = g_dbus_method_invocation_get_parameters (invocation);
  g_autoptr (GVariant) options = g_variant_get_child_value (
      parameters, g_variant_n_children (parameters) - 1); /* the last: ListPoints' only */

  if (!check_options (invocation, options, point_keys) ||
      !check_point_passphrase (invocation, options))
    return G_DBUS_METHOD_INVOCATION_HANDLED;

  if (self->catalog == NULL || !coffer_dbus_agent_get_registered (self->skeleton))
    {
      g_dbus_method_invocation_return_error (invocation, COFFER_ERROR, COFFER_ERROR_NOT_REGISTERED,
                                             "This server is not registered to a vault. Register "
                                             "it first.");
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  if (g_str_equal (method, "ListPoints"))
    run_method (self, invocation, list_points_work);
  else if (g_str_equal (method, "ListFolder"))
    run_method (self, invocation, list_folder_work);
  else
    run_method (self, invocation, find_in_point_work);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* StartRecovery's paths and options, checked before a job is made: an
 * unknown conflict choice or a relative path is an error, never a default. */
static gboolean
check_recovery_request (GDBusMethodInvocation *invocation)
{
  GVariant *parameters = g_dbus_method_invocation_get_parameters (invocation);
  g_autoptr (GVariant) options = g_variant_get_child_value (parameters, 2);
  g_autofree const char **paths = NULL;
  const char *conflict = NULL, *target = NULL;

  if (!check_options (invocation, options, start_recovery_keys) ||
      !check_point_passphrase (invocation, options))
    return FALSE;
  if (g_variant_lookup (options, "conflict", "&s", &conflict) && !g_str_equal (conflict, "copy") &&
      !g_str_equal (conflict, "overwrite") && !g_str_equal (conflict, "skip"))
    {
      g_dbus_method_invocation_return_error (
          invocation, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
          "“%s” is not a conflict choice: copy, overwrite or skip.", conflict);
      return FALSE;
    }
  if (g_variant_lookup (options, "to", "^&ay", &target) && !g_path_is_absolute (target))
    {
      g_autofree char *shown = coffer_input_escape (target, -1);

      g_dbus_method_invocation_return_error (
          invocation, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
          "The folder to recover to must be an absolute path, not “%s”.", shown);
      return FALSE;
    }
  g_variant_get_child (parameters, 1, "^a&ay", &paths);
  if (paths[0] == NULL)
    {
      g_dbus_method_invocation_return_error (invocation, COFFER_ERROR,
                                             COFFER_ERROR_INVALID_ARGUMENT,
                                             "Name at least one path to recover.");
      return FALSE;
    }
  for (guint i = 0; paths[i] != NULL; i++)
    if (!g_path_is_absolute (paths[i]))
      {
        g_autofree char *shown = coffer_input_escape (paths[i], -1);

        g_dbus_method_invocation_return_error (
            invocation, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
            "A path to recover is an absolute path in the recovery point, not “%s”.", shown);
        return FALSE;
      }
  return TRUE;
}

static gboolean
handle_start_recovery (AgentService *self, GDBusMethodInvocation *invocation)
{
  g_autoptr (AgentJob) job = NULL;

  if (!check_recovery_request (invocation))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  job = start_job (self, invocation, "recovery");
  if (job == NULL)
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  coffer_dbus_agent_complete_start_recovery (
      self->skeleton, invocation, agent_job_get_object_path (job), agent_job_get_id (job));
  agent_job_run_recovery (job, g_dbus_method_invocation_get_parameters (invocation), job_done_cb,
                          g_object_ref (self));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static GVariant *
job_variant (const CofferJobRecord *record)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&builder, "{sv}", "id", g_variant_new_uint64 (record->id));
  add_string (&builder, "kind", record->kind);
  add_string (&builder, "status", record->status);
  add_string (&builder, "phase", record->phase);
  add_string (&builder, "message", record->message);
  g_variant_builder_add (&builder, "{sv}", "started-at", g_variant_new_int64 (record->started_at));
  g_variant_builder_add (&builder, "{sv}", "ended-at", g_variant_new_int64 (record->ended_at));
  g_variant_builder_add (&builder, "{sv}", "bytes-scanned",
                         g_variant_new_uint64 (record->bytes_scanned));
  g_variant_builder_add (&builder, "{sv}", "bytes-sent", g_variant_new_uint64 (record->bytes_sent));
  g_variant_builder_add (&builder, "{sv}", "files-scanned",
                         g_variant_new_uint64 (record->files_scanned));
  g_variant_builder_add (&builder, "{sv}", "files-backed-up",
                         g_variant_new_uint64 (record->files_backed_up));
  g_variant_builder_add (&builder, "{sv}", "files-failed",
                         g_variant_new_uint64 (record->files_failed));
  add_string (&builder, "recovery-point", record->recovery_point);
  return g_variant_builder_end (&builder);
}

/* The statuses a job has (GetJob's "status"), which ListJobs filters by. */
static const char *const job_statuses[] = { "queued", "running",   "completed", "warnings",
                                            "failed", "cancelled", NULL };

/* Job numbers are positive 64-bit integers in the catalog: a bigger one
 * names no job, and is said as the client sent it. */
static gboolean
check_job_id (guint64 id, GError **error)
{
  if (id <= G_MAXINT64)
    return TRUE;
  g_set_error (error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND,
               "There is no job %" G_GUINT64_FORMAT ".", id);
  return FALSE;
}

static GVariant *
list_jobs_work (AgentService *self, GVariant *parameters, GCancellable *cancellable, GError **error)
{
  g_autoptr (GPtrArray) jobs = NULL;
  GVariantBuilder builder;
  guint64 offset;
  guint32 limit;
  const char *status;

  if (!require_catalog (self, error))
    return NULL;
  g_variant_get (parameters, "(tu&s)", &offset, &limit, &status);
  if (*status != '\0' && !g_strv_contains (job_statuses, status))
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "“%s” is not a job status: queued, running, completed, warnings, failed or "
                   "cancelled (or \"\" for all).",
                   status);
      return NULL;
    }
  jobs = coffer_catalog_list_jobs (self->catalog, offset, MIN (limit, 1000), status, error);
  if (jobs == NULL)
    return NULL;
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < jobs->len; i++)
    {
      agent_job_show_live (g_ptr_array_index (jobs, i));
      g_variant_builder_add_value (&builder, job_variant (g_ptr_array_index (jobs, i)));
    }
  return g_variant_new ("(aa{sv})", &builder);
}

static GVariant *
get_job_work (AgentService *self, GVariant *parameters, GCancellable *cancellable, GError **error)
{
  g_autoptr (CofferJobRecord) record = NULL;
  guint64 id;

  if (!require_catalog (self, error))
    return NULL;
  g_variant_get (parameters, "(t)", &id);
  if (!check_job_id (id, error))
    return NULL;
  record = coffer_catalog_get_job (self->catalog, id, error);
  if (record == NULL)
    return NULL;
  agent_job_show_live (record);
  return g_variant_new ("(@a{sv})", job_variant (record));
}

static GVariant *
get_failed_items_work (AgentService *self,
                       GVariant *parameters,
                       GCancellable *cancellable,
                       GError **error)
{
  g_autoptr (GPtrArray) items = NULL;
  g_autoptr (CofferJobRecord) record = NULL;
  GVariantBuilder builder;
  guint64 id;
  guint32 offset, limit;
  guint total;

  if (!require_catalog (self, error))
    return NULL;
  g_variant_get (parameters, "(tuu)", &id, &offset, &limit);
  if (!check_job_id (id, error))
    return NULL;
  record = coffer_catalog_get_job (self->catalog, id, error);
  if (record == NULL)
    return NULL;
  items =
      coffer_catalog_get_failed_items (self->catalog, id, offset, MIN (limit, 1000), &total, error);
  if (items == NULL)
    return NULL;
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(ss)"));
  for (guint i = 0; i + 1 < items->len; i += 2)
    g_variant_builder_add (&builder, "(@s@s)", text_variant (g_ptr_array_index (items, i)),
                           text_variant (g_ptr_array_index (items, i + 1)));
  return g_variant_new ("(a(ss)u)", &builder, total);
}

static gboolean
handle_list_jobs (AgentService *self,
                  GDBusMethodInvocation *invocation,
                  guint64 offset,
                  guint limit,
                  const char *status)
{
  run_method (self, invocation, list_jobs_work);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_get_job (AgentService *self, GDBusMethodInvocation *invocation, guint64 id)
{
  run_method (self, invocation, get_job_work);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_get_failed_items (
    AgentService *self, GDBusMethodInvocation *invocation, guint64 id, guint offset, guint limit)
{
  run_method (self, invocation, get_failed_items_work);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_cancel_job (AgentService *self, GDBusMethodInvocation *invocation, guint64 id)
{
  if (self->job == NULL || (guint64) agent_job_get_id (self->job) != id)
    {
      g_dbus_method_invocation_return_error (invocation, COFFER_ERROR, COFFER_ERROR_NOT_FOUND,
                                             "Job %" G_GUINT64_FORMAT " is not running.", id);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  agent_job_cancel (self->job);
  coffer_dbus_agent_complete_cancel_job (self->skeleton, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/**
 * agent_service_new:
 * @state_dir: the state folder holding the catalog
 *
 * Returns: (transfer full): a new service; call agent_service_start() to load
 *   the catalog and agent_service_export() once the bus is there.
 */
AgentService *
agent_service_new (const char *state_dir)
{
  AgentService *self;

  g_return_val_if_fail (state_dir != NULL, NULL);

  self = g_object_new (AGENT_TYPE_SERVICE, NULL);
  self->state_dir = g_strdup (state_dir);
  /* A test hook: makes every worker slow, so the tests can show that a slow
   * method never holds up the bus. */
  if (g_getenv ("COFFER_AGENT_TEST_METHOD_DELAY_MS") != NULL)
    self->test_method_delay_ms =
        CLAMP (atoi (g_getenv ("COFFER_AGENT_TEST_METHOD_DELAY_MS")), 0, 60000);
  agent_job_set_throttle (self->throttle);
  self->skeleton = coffer_dbus_agent_skeleton_new ();
  coffer_dbus_agent_set_version (self->skeleton, PACKAGE_VERSION);
  coffer_dbus_agent_set_state (self->skeleton, "starting");
  g_signal_connect_swapped (self->skeleton, "handle-get-status", G_CALLBACK (handle_get_status),
                            self);
  g_signal_connect_swapped (self->skeleton, "handle-register", G_CALLBACK (handle_register), self);
  g_signal_connect_swapped (self->skeleton, "handle-unregister", G_CALLBACK (handle_unregister),
                            self);
  g_signal_connect_swapped (self->skeleton, "handle-change-passphrase",
                            G_CALLBACK (handle_change_passphrase), self);
  g_signal_connect_swapped (self->skeleton, "handle-get-policy", G_CALLBACK (handle_get_policy),
                            self);
  g_signal_connect_swapped (self->skeleton, "handle-set-policy", G_CALLBACK (handle_set_policy),
                            self);
  g_signal_connect_swapped (self->skeleton, "handle-start-cache-move",
                            G_CALLBACK (handle_start_cache_move), self);
  g_signal_connect_swapped (self->skeleton, "handle-get-properties",
                            G_CALLBACK (handle_get_properties), self);
  g_signal_connect_swapped (self->skeleton, "handle-set-properties",
                            G_CALLBACK (handle_set_properties), self);
  g_signal_connect_swapped (self->skeleton, "handle-pause-policy", G_CALLBACK (handle_pause_policy),
                            self);
  g_signal_connect_swapped (self->skeleton, "handle-resume-policy",
                            G_CALLBACK (handle_resume_policy), self);
  g_signal_connect_swapped (self->skeleton, "handle-stop-policy", G_CALLBACK (handle_stop_policy),
                            self);
  g_signal_connect_swapped (self->skeleton, "handle-start-backup", G_CALLBACK (handle_start_backup),
                            self);
  g_signal_connect_swapped (self->skeleton, "handle-start-check", G_CALLBACK (handle_start_check),
                            self);
  g_signal_connect_swapped (self->skeleton, "handle-list-points",
                            G_CALLBACK (handle_recovery_method), self);
  g_signal_connect_swapped (self->skeleton, "handle-list-folder",
                            G_CALLBACK (handle_recovery_method), self);
  g_signal_connect_swapped (self->skeleton, "handle-find-in-point",
                            G_CALLBACK (handle_recovery_method), self);
  g_signal_connect_swapped (self->skeleton, "handle-start-recovery",
                            G_CALLBACK (handle_start_recovery), self);
  g_signal_connect_swapped (self->skeleton, "handle-list-jobs", G_CALLBACK (handle_list_jobs),
                            self);
  g_signal_connect_swapped (self->skeleton, "handle-get-job", G_CALLBACK (handle_get_job), self);
  g_signal_connect_swapped (self->skeleton, "handle-get-failed-items",
                            G_CALLBACK (handle_get_failed_items), self);
  g_signal_connect_swapped (self->skeleton, "handle-cancel-job", G_CALLBACK (handle_cancel_job),
                            self);
  return self;
}

/**
 * agent_service_start_async:
 * @self: an #AgentService
 * @callback: called when the catalog is open and the properties are set
 * @user_data: data for @callback
 *
 * Opens the catalog in a worker thread (opening may migrate its schema) and
 * publishes the registration in the D-Bus properties. Export the service once
 * this has finished, so no method sees a half-opened catalog. A catalog that
 * cannot be opened is not fatal: the agent stays up, its State is "broken"
 * and every method returns the reason.
 */
void
agent_service_start_async (AgentService *self, GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (AGENT_IS_SERVICE (self));

  task = g_task_new (self, self->cancellable, callback, user_data);
  g_task_set_source_tag (task, agent_service_start_async);
  g_task_run_in_thread (task, load_thread);
}

void
agent_service_start_finish (AgentService *self, GAsyncResult *result)
{
  g_autoptr (CofferRegistration) registration = NULL;
  g_autoptr (GError) error = NULL;

  g_return_if_fail (g_task_is_valid (result, self));

  registration = g_task_propagate_pointer (G_TASK (result), &error);
  if (error != NULL)
    {
      coffer_dbus_agent_set_state (self->skeleton, "broken");
      return;
    }

  apply_registration (self, registration);
  g_debug ("Agent ready (%s)", registration != NULL ? "registered" : "not registered");
}

gboolean
agent_service_export (AgentService *self, GDBusConnection *connection, GError **error)
{
  g_return_val_if_fail (AGENT_IS_SERVICE (self), FALSE);

  if (!g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (self->skeleton), connection,
                                         AGENT_OBJECT_PATH, error))
    return FALSE;
  g_set_object (&self->connection, connection);
  if (self->notifier == NULL)
    self->notifier = agent_notifier_new (connection);
  /* Scheduled backups start once the jobs can be exported. */
  if (self->catalog != NULL && self->scheduler == NULL)
    {
      self->scheduler = agent_scheduler_new (self->catalog);
      g_signal_connect_swapped (self->scheduler, "due", G_CALLBACK (scheduled_due_cb), self);
    }
  return TRUE;
}

void
agent_service_unexport (AgentService *self)
{
  g_return_if_fail (AGENT_IS_SERVICE (self));

  if (self->skeleton != NULL &&
      g_dbus_interface_skeleton_get_connection (G_DBUS_INTERFACE_SKELETON (self->skeleton)) != NULL)
    g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (self->skeleton));
}
