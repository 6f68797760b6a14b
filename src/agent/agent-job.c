/* agent-job.c: one job of the agent, exported as io.github.coffer.Job1.
 *
 * A job is recorded in the catalog when it starts and when it ends, so the
 * history survives the agent; a job the agent was killed in is marked failed
 * at the next start (agent-service.c). The work runs in a worker thread; the
 * thread only stores its latest progress, and a timer on the main loop
 * publishes it at most four times a second, with the rate and the ETA.
 */
#include "config.h"

#include "agent-job.h"

#include "agent-recovery.h"
#include "agent-scheduler.h"
#include "agent-vault-wait.h"

#include "coffer-index-loader.h"
#include "coffer-input.h"

#include <string.h>

#define PROGRESS_INTERVAL_MS 250
/* The rate is measured over the last 10 s of published progress. */
#define RATE_SAMPLES (10 * 1000 / PROGRESS_INTERVAL_MS)

struct _AgentJob
{
  GObject parent_instance;

  CofferCatalog *catalog;
  char *state_dir;
  CofferJobRecord *record;
  char *object_path;
  CofferDBusJob *skeleton;
  GCancellable *cancellable;

  GMutex lock; /* guards progress, store and waiting */
  CofferBackupProgress progress;
  char *waiting;      /* the phase while a scheduled backup waits for its vault */
  CofferStore *store; /* the vault's store while the job uses it, to show its retries */
  guint progress_source;
  gint64 sample_time[RATE_SAMPLES]; /* a ring of (time, bytes done), for the rate */
  guint64 sample_done[RATE_SAMPLES];
  guint n_samples;
  double rate;
  guint64 expected_bytes;
  gint64 retain_until;
  gboolean scheduled; /* a scheduled backup, not Back Up Now */
  GVariant *request;  /* a recovery's parameters */
  char *folder;       /* a cache move's new folder */
};

G_DEFINE_FINAL_TYPE (AgentJob, agent_job, G_TYPE_OBJECT)

/* The agent's jobs by number, for agent_job_show_live(): the catalog has a
 * running job's figures only when it ends. */
static GMutex live_lock;
static GHashTable *live_jobs; /* gint64 id → AgentJob (not a reference) */

static void
agent_job_dispose (GObject *object)
{
  AgentJob *self = AGENT_JOB (object);

  g_mutex_lock (&live_lock);
  if (live_jobs != NULL && self->record != NULL &&
      g_hash_table_lookup (live_jobs, &self->record->id) == self)
    g_hash_table_remove (live_jobs, &self->record->id);
  g_mutex_unlock (&live_lock);
  g_clear_handle_id (&self->progress_source, g_source_remove);
  g_mutex_lock (&self->lock);
  g_clear_object (&self->store);
  g_mutex_unlock (&self->lock);
  if (self->skeleton != NULL &&
      g_dbus_interface_skeleton_get_connection (G_DBUS_INTERFACE_SKELETON (self->skeleton)) != NULL)
    g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (self->skeleton));
  g_clear_object (&self->skeleton);
  g_clear_object (&self->catalog);
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (agent_job_parent_class)->dispose (object);
}

static void
agent_job_finalize (GObject *object)
{
  AgentJob *self = AGENT_JOB (object);

  g_clear_pointer (&self->record, coffer_job_record_free);
  g_clear_pointer (&self->request, g_variant_unref);
  g_free (self->folder);
  g_free (self->waiting);
  g_free (self->object_path);
  g_free (self->state_dir);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (agent_job_parent_class)->finalize (object);
}

static void
agent_job_class_init (AgentJobClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = agent_job_dispose;
  object_class->finalize = agent_job_finalize;
}

static void
agent_job_init (AgentJob *self)
{
  g_mutex_init (&self->lock);
  self->cancellable = g_cancellable_new ();
}

static gboolean
handle_cancel (AgentJob *self, GDBusMethodInvocation *invocation)
{
  agent_job_cancel (self);
  coffer_dbus_job_complete_cancel (self->skeleton, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/**
 * agent_job_new:
 * @catalog: the catalog to record it in
 * @state_dir: the state folder
 * @kind: "backup", "recovery", "prune", "check" or "cache-move"
 * @error: return location for a #GError
 *
 * Records a new running job. Call from the main thread (a quick insert).
 *
 * Returns: (transfer full): the job
 */
AgentJob *
agent_job_new (CofferCatalog *catalog, const char *state_dir, const char *kind, GError **error)
{
  g_autoptr (AgentJob) self = g_object_new (AGENT_TYPE_JOB, NULL);

  self->catalog = g_object_ref (catalog);
  self->state_dir = g_strdup (state_dir);
  self->record = g_new0 (CofferJobRecord, 1);
  self->record->kind = g_strdup (kind);
  self->record->status = g_strdup ("running");
  self->record->phase = g_strdup ("Initializing");
  self->record->started_at = g_get_real_time () / G_USEC_PER_SEC;
  if (!coffer_catalog_add_job (catalog, self->record, error))
    return NULL;

  self->object_path =
      g_strdup_printf ("%s/Jobs/%" G_GINT64_FORMAT, AGENT_OBJECT_PATH, self->record->id);
  self->skeleton = coffer_dbus_job_skeleton_new ();
  coffer_dbus_job_set_id (self->skeleton, self->record->id);
  coffer_dbus_job_set_kind (self->skeleton, kind);
  coffer_dbus_job_set_status (self->skeleton, "running");
  coffer_dbus_job_set_phase (self->skeleton, "Initializing");
  g_signal_connect_swapped (self->skeleton, "handle-cancel", G_CALLBACK (handle_cancel), self);

  g_mutex_lock (&live_lock);
  if (live_jobs == NULL)
    live_jobs = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_hash_table_insert (live_jobs, &self->record->id, self);
  g_mutex_unlock (&live_lock);
  return g_steal_pointer (&self);
}

/* A job's figures, as its record keeps them. */
static void
copy_figures (CofferJobRecord *record, const CofferBackupProgress *progress)
{
  record->bytes_scanned = progress->bytes_scanned;
  record->bytes_sent = progress->bytes_sent;
  record->files_scanned = progress->files_scanned;
  record->files_backed_up = progress->files_read;
  record->files_failed = progress->files_failed;
}

/**
 * agent_job_show_live:
 * @record: a job's record, as the catalog has it
 *
 * Puts a running job's phase and figures as they are now into @record: the
 * catalog has them only when the job ends, and `coffer job show` of a
 * running backup should not say it scanned nothing. Any thread.
 */
void
agent_job_show_live (CofferJobRecord *record)
{
  AgentJob *job;

  if (g_strcmp0 (record->status, "running") != 0)
    return;
  g_mutex_lock (&live_lock);
  job = live_jobs != NULL ? g_hash_table_lookup (live_jobs, &record->id) : NULL;
  if (job != NULL)
    {
      g_mutex_lock (&job->lock);
      if (job->waiting == NULL && job->progress.phase != NULL)
        {
          g_free (record->phase);
          record->phase = g_strdup (job->progress.phase);
        }
      copy_figures (record, &job->progress);
      g_mutex_unlock (&job->lock);
    }
  g_mutex_unlock (&live_lock);
}

gint64
agent_job_get_id (AgentJob *self)
{
  return self->record->id;
}

const char *
agent_job_get_object_path (AgentJob *self)
{
  return self->object_path;
}

gboolean
agent_job_export (AgentJob *self, GDBusConnection *connection, GError **error)
{
  return g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (self->skeleton), connection,
                                           self->object_path, error);
}

void
agent_job_cancel (AgentJob *self)
{
  g_cancellable_cancel (self->cancellable);
}

/* Runs in the job's thread. */
static void
progress_cb (const CofferBackupProgress *progress, gpointer user_data)
{
  AgentJob *self = user_data;

  g_mutex_lock (&self->lock);
  self->progress = *progress;
  g_mutex_unlock (&self->lock);
}

/* Runs in the job's thread, for the pruning that follows a backup: the
 * phase changes, the backup's figures stay on show. */
static void
phase_progress_cb (const CofferBackupProgress *progress, gpointer user_data)
{
  AgentJob *self = user_data;

  g_mutex_lock (&self->lock);
  self->progress.phase = progress->phase;
  g_mutex_unlock (&self->lock);
}

/* Runs in the job's thread: the store whose retries the phase shows. */
static void
watch_store (AgentJob *self, CofferVault *vault)
{
  g_mutex_lock (&self->lock);
  g_set_object (&self->store, coffer_vault_get_store (vault));
  g_mutex_unlock (&self->lock);
}

/* D-Bus strings are UTF-8; a phase or message may name a file that is not. */
static char *
utf8_text (const char *text)
{
  if (text == NULL)
    return g_strdup ("");
  return g_utf8_validate (text, -1, NULL) ? g_strdup (text) : coffer_input_escape (text, -1);
}

static gboolean
publish_progress_cb (gpointer user_data)
{
  AgentJob *self = user_data;
  CofferBackupProgress progress;
  GVariantBuilder builder;
  gint64 now = g_get_monotonic_time ();
  gint64 eta = -1;
  guint64 expected, done;
  g_autofree char *retrying = NULL;
  g_autofree char *phase = NULL;
  guint retries = 0;

  g_mutex_lock (&self->lock);
  progress = self->progress;
  if (self->store != NULL)
    retries = coffer_store_get_retries (self->store);
  if (self->waiting != NULL)
    progress.phase = retrying = g_strdup (self->waiting);
  g_mutex_unlock (&self->lock);

  /* The vault does not answer: say so, with how many retries so far. */
  if (retries > 0 && retrying == NULL)
    {
      retrying = g_strdup_printf ("%s%sretrying (%u)", progress.phase != NULL ? progress.phase : "",
                                  progress.phase != NULL ? " " : "", retries);
      progress.phase = retrying;
    }

  /* Done is what was scanned less what is still on its way to the vault:
   * on a slow vault the last packs take minutes after the last file is
   * read, and the bar should not sit at 100 % meanwhile. */
  done = progress.bytes_scanned - MIN (progress.bytes_pending, progress.bytes_scanned);
  /* The rate over the last ten seconds (or since the start): files the
   * cache skips go by at once, packs reach a slow vault in steps, and the
   * ETA should follow neither the burst nor the step for long. */
  {
    guint slot = self->n_samples % RATE_SAMPLES;
    guint oldest = self->n_samples < RATE_SAMPLES ? 0 : slot;

    if (self->n_samples > 0 && now > self->sample_time[oldest])
      self->rate = done > self->sample_done[oldest]
                       ? (double) (done - self->sample_done[oldest]) * G_USEC_PER_SEC /
                             (now - self->sample_time[oldest])
                       : 0;
    self->sample_time[slot] = now;
    self->sample_done[slot] = done;
    self->n_samples++;
  }
  expected = progress.bytes_expected > 0 ? progress.bytes_expected : self->expected_bytes;
  if (self->rate > 0 && expected > done)
    eta = (gint64) ((expected - done) / self->rate + 0.999); /* not 0 s while not done */
  else if (self->rate > 0 && expected > 0)
    eta = 0;

  phase = utf8_text (progress.phase);
  if (progress.phase != NULL)
    coffer_dbus_job_set_phase (self->skeleton, phase);
  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&builder, "{sv}", "phase", g_variant_new_string (phase));
  g_variant_builder_add (&builder, "{sv}", "bytes-scanned",
                         g_variant_new_uint64 (progress.bytes_scanned));
  g_variant_builder_add (&builder, "{sv}", "bytes-sent",
                         g_variant_new_uint64 (progress.bytes_sent));
  g_variant_builder_add (&builder, "{sv}", "bytes-done", g_variant_new_uint64 (done));
  g_variant_builder_add (&builder, "{sv}", "bytes-expected",
                         g_variant_new_uint64 (expected > 0 ? MAX (expected, done) : 0));
  g_variant_builder_add (&builder, "{sv}", "files-scanned",
                         g_variant_new_uint64 (progress.files_scanned));
  g_variant_builder_add (&builder, "{sv}", "files-backed-up",
                         g_variant_new_uint64 (progress.files_read));
  g_variant_builder_add (&builder, "{sv}", "files-failed",
                         g_variant_new_uint64 (progress.files_failed));
  g_variant_builder_add (&builder, "{sv}", "rate", g_variant_new_double (self->rate));
  g_variant_builder_add (&builder, "{sv}", "eta", g_variant_new_int64 (eta));
  coffer_dbus_job_emit_progress (self->skeleton, g_variant_builder_end (&builder));
  return G_SOURCE_CONTINUE;
}

/* The master keys, once unwrapped, stay in the agent's memory for its
 * lifetime: scrypt (about half a second by design) runs once, not once a
 * job. They depend only on the machine (a passphrase change rewraps the same
 * keys); agent_job_forget_keys() drops them when the registration changes. */
static GMutex keys_lock;
static char *keys_machine;
static CofferMasterKeys *keys_cached;

void
agent_job_forget_keys (void)
{
  g_mutex_lock (&keys_lock);
  g_clear_pointer (&keys_machine, g_free);
  g_clear_pointer (&keys_cached, coffer_master_keys_free);
  g_mutex_unlock (&keys_lock);
}

static CofferMasterKeys *
keys_copy (const CofferMasterKeys *keys)
{
  CofferMasterKeys *copy = coffer_master_keys_generate ();

  memcpy (copy, keys, sizeof *copy);
  return copy;
}

/**
 * agent_job_remember_keys:
 * @machine_id: the machine the keys belong to
 * @keys: its master keys, just unwrapped or made by a registration
 *
 * Keeps a copy of @keys for the jobs of @machine_id.
 */
void
agent_job_remember_keys (const char *machine_id, const CofferMasterKeys *keys)
{
  g_mutex_lock (&keys_lock);
  g_clear_pointer (&keys_cached, coffer_master_keys_free);
  g_free (keys_machine);
  keys_machine = g_strdup (machine_id);
  keys_cached = keys_copy (keys);
  g_mutex_unlock (&keys_lock);
}

/* The agent's one throttle: every vault a job or a browsing call opens
 * passes its bytes through it, so a change of settings reaches them all. */
static CofferThrottle *vault_throttle;

/**
 * agent_job_set_throttle:
 * @throttle: the agent's throttle
 *
 * Sets the throttle every vault agent_unlock() opens is throttled by. Call
 * once, from the main thread, before any job runs.
 */
void
agent_job_set_throttle (CofferThrottle *throttle)
{
  g_set_object (&vault_throttle, throttle);
}

/* Keeps the catalog's copies of vault.json and of the key object that
 * opened, for a repair (and an unlock) when the vault's own are damaged. */
static void
remember_documents (CofferCatalog *catalog, CofferVault *vault, const char *key_name)
{
  g_autoptr (GBytes) document = coffer_vault_get_document (vault);
  g_autofree char *text =
      g_strndup (g_bytes_get_data (document, NULL), g_bytes_get_size (document));
  g_autofree char *stored =
      coffer_catalog_get_setting (catalog, COFFER_SETTING_VAULT_DOCUMENT, NULL);
  g_autoptr (GError) error = NULL;

  if (g_strcmp0 (stored, text) != 0 &&
      !coffer_catalog_set_setting (catalog, COFFER_SETTING_VAULT_DOCUMENT, text, &error))
    g_warning ("Cannot keep a copy of vault.json: %s", error->message);
  g_clear_error (&error);

  if (key_name != NULL)
    {
      g_autoptr (GBytes) wrapped = coffer_store_get_sync (coffer_vault_get_store (vault), key_name,
                                                          0, -1, NULL, NULL, &error);
      g_autofree char *encoded = NULL;
      g_autofree char *value = NULL;
      g_autofree char *stored_keys = NULL;

      if (wrapped == NULL)
        {
          g_debug ("No copy of the key object: %s", error->message);
          return;
        }
      encoded = g_base64_encode (g_bytes_get_data (wrapped, NULL), g_bytes_get_size (wrapped));
      value = g_strconcat (key_name, "\n", encoded, NULL);
      stored_keys = coffer_catalog_get_setting (catalog, COFFER_SETTING_KEYS_DOCUMENT, NULL);
      if (g_strcmp0 (stored_keys, value) != 0 &&
          !coffer_catalog_set_setting (catalog, COFFER_SETTING_KEYS_DOCUMENT, value, &error))
        g_warning ("Cannot keep a copy of the key object: %s", error->message);
    }
}

/* Opens the keys from the catalog's copy of the key object. */
static CofferMasterKeys *
unlock_from_copy (CofferCatalog *catalog, const char *passphrase)
{
  g_autofree char *value = coffer_catalog_get_setting (catalog, COFFER_SETTING_KEYS_DOCUMENT, NULL);
  g_autofree guchar *bytes = NULL;
  g_autoptr (GBytes) wrapped = NULL;
  const char *newline;
  gsize size = 0;

  if (value == NULL || (newline = strchr (value, '\n')) == NULL)
    return NULL;
  bytes = g_base64_decode (newline + 1, &size);
  wrapped = g_bytes_new_take (g_steal_pointer (&bytes), size);
  return coffer_master_keys_unwrap (wrapped, passphrase, NULL);
}

static gboolean
unlock (CofferCatalog *catalog,
        const char *state_dir,
        gboolean for_repair,
        char **out_vault_damage,
        char **out_passphrase,
        CofferRegistration **out_registration,
        CofferVault **out_vault,
        CofferMasterKeys **out_keys,
        GCancellable *cancellable,
        GError **error)
{
  g_autoptr (CofferRegistration) registration = NULL;
  g_autoptr (CofferVault) vault = NULL;
  g_autofree char *passphrase = NULL;
  g_autofree char *key_name = NULL;
  g_autofree char *copy = NULL;
  g_autoptr (GError) local_error = NULL;
  CofferSecretBackend backend;

  vault = coffer_open_registered_vault_full (catalog, vault_throttle, for_repair, out_vault_damage,
                                             &registration, cancellable, error);
  if (vault == NULL)
    return FALSE;

  /* The cached keys, unless the catalog has no copy of the key object yet
   * (registered before it kept one): that unlock makes it. */
  if (out_passphrase == NULL &&
      (copy = coffer_catalog_get_setting (catalog, COFFER_SETTING_KEYS_DOCUMENT, NULL)) != NULL)
    {
      g_mutex_lock (&keys_lock);
      if (keys_cached != NULL && g_strcmp0 (keys_machine, registration->machine_id) == 0)
        *out_keys = keys_copy (keys_cached);
      g_mutex_unlock (&keys_lock);
    }
  if (*out_keys != NULL)
    {
      *out_registration = g_steal_pointer (&registration);
      *out_vault = g_steal_pointer (&vault);
      return TRUE;
    }

  passphrase = coffer_secret_lookup (state_dir, COFFER_SECRET_PASSPHRASE, registration->machine_id,
                                     &backend, cancellable, error);
  if (passphrase == NULL)
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, COFFER_ERROR, COFFER_ERROR_NOT_FOUND,
                     "The passphrase of this server is not stored on it; register again with "
                     "--existing to store it.");
      return FALSE;
    }
  *out_keys = coffer_machine_unlock_keys (vault, registration->machine_id, passphrase, &key_name,
                                          cancellable, &local_error);
  if (*out_keys == NULL && !coffer_error_stops_reading (local_error) &&
      (*out_keys = unlock_from_copy (catalog, passphrase)) != NULL)
    g_message ("The vault's key objects for this server do not open (%s); the copy this server "
               "keeps did. Run “coffer check --repair” to write a key object again.",
               local_error->message);
  if (*out_keys == NULL)
    {
      coffer_passphrase_free (g_steal_pointer (&passphrase));
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  remember_documents (catalog, vault, key_name);
  if (out_passphrase != NULL)
    *out_passphrase = g_steal_pointer (&passphrase);
  else
    coffer_passphrase_free (g_steal_pointer (&passphrase));
  agent_job_remember_keys (registration->machine_id, *out_keys);
  *out_registration = g_steal_pointer (&registration);
  *out_vault = g_steal_pointer (&vault);
  return TRUE;
}

/**
 * agent_unlock:
 * @catalog: the agent's catalog
 * @state_dir: the state folder
 * @out_registration: (out): this machine's registration
 * @out_vault: (out): its vault, opened
 * @out_keys: (out): its master keys
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Opens the vault and this machine's keys. Blocks: call from a worker thread.
 */
gboolean
agent_unlock (CofferCatalog *catalog,
              const char *state_dir,
              CofferRegistration **out_registration,
              CofferVault **out_vault,
              CofferMasterKeys **out_keys,
              GCancellable *cancellable,
              GError **error)
{
  return unlock (catalog, state_dir, FALSE, NULL, NULL, out_registration, out_vault, out_keys,
                 cancellable, error);
}

/* What a job unlocked, for the prune after a backup. */
typedef struct
{
  CofferRegistration *registration;
  CofferVault *vault;
  CofferMasterKeys *keys;
} Unlocked;

static void
unlocked_clear (Unlocked *unlocked)
{
  g_clear_pointer (&unlocked->registration, coffer_registration_free);
  g_clear_object (&unlocked->vault);
  g_clear_pointer (&unlocked->keys, coffer_master_keys_free);
}

/* The backup of the registered machine, in the job's thread. */
static CofferBackupResult *
back_up (AgentJob *self, Unlocked *unlocked, GError **error)
{
  g_autoptr (CofferRegistration) registration = NULL;
  g_autoptr (CofferVault) vault = NULL;
  g_autoptr (CofferMasterKeys) keys = NULL;
  g_autoptr (CofferPolicy) policy = NULL;
  g_autoptr (CofferBackupResult) result = NULL;
  g_autofree char *cache_dir = NULL;
  g_autofree char *vault_root = NULL;
  g_autoptr (CofferLock) lock = NULL;
  const char *skip[4] = { NULL };
  CofferBackupOptions options = { 0 };

  if (!agent_unlock (self->catalog, self->state_dir, &registration, &vault, &keys,
                     self->cancellable, error))
    return NULL;
  watch_store (self, vault);
  policy = coffer_policy_load (self->catalog, error);
  if (policy == NULL)
    return NULL;
  cache_dir = coffer_catalog_get_setting (self->catalog, COFFER_SETTING_CACHE_FOLDER, NULL);
  if (cache_dir == NULL)
    cache_dir = coffer_paths_default_cache_dir ();
  if (!coffer_cache_folder_check (cache_dir, error))
    return NULL;

  /* Never back up the state folder, the cache folder or the vault itself. */
  skip[0] = self->state_dir;
  skip[1] = cache_dir;
  if (g_path_is_absolute (registration->storage_location))
    skip[2] = vault_root = g_strdup (registration->storage_location);

  options.vault = vault;
  options.machine_id = registration->machine_id;
  options.keys = keys;
  options.policy = policy;
  options.cache_dir = cache_dir;
  options.skip_paths = skip;
  options.on_demand = !self->scheduled;
  options.retain_until = self->scheduled ? 0 : self->retain_until;
  options.time = agent_clock_now ();
  /* The last backup's total is this one's estimate, for the ETA. */
  options.expected_bytes = agent_data_backed_up (self->catalog);
  options.progress = progress_cb;
  options.progress_data = self;
  lock = coffer_lock_take (vault, registration->machine_id, registration->instance_id, FALSE,
                           self->cancellable, error);
  if (lock == NULL)
    return NULL;
  result = coffer_backup_run (&options, self->cancellable, error);
  if (result != NULL)
    {
      g_autoptr (GError) catalog_error = NULL;

      /* The catalog is the check's second witness of what the vault holds. */
      if (!coffer_catalog_add_point (self->catalog, registration->machine_id, result->snapshot->id,
                                     result->snapshot->time, &catalog_error))
        g_warning ("%s", catalog_error->message);
      unlocked->registration = g_steal_pointer (&registration);
      unlocked->vault = g_steal_pointer (&vault);
      unlocked->keys = g_steal_pointer (&keys);
    }
  return g_steal_pointer (&result);
}

static char *
prune_message (const CofferPruneResult *result)
{
  g_autofree char *size = g_format_size (result->bytes_deleted);

  return g_strdup_printf ("Removed %u recovery points and %u unused packs (%s); %u recovery "
                          "points kept.",
                          result->points_deleted, result->packs_deleted, size, result->points_kept);
}

/* Prunes by the retention rules (all points when @delete_all), in a job's
 * thread. */
static gboolean
prune (AgentJob *self,
       const Unlocked *unlocked,
       gboolean delete_all,
       CofferPruneResult *result,
       GError **error)
{
  g_autoptr (GTimeZone) tz = agent_clock_time_zone ();
  g_autofree char *cache_dir = NULL;
  CofferSchedule schedule;
  CofferPruneOptions options = { 0 };

  if (!coffer_catalog_get_schedule (self->catalog, &schedule, NULL, error))
    return FALSE;
  cache_dir = coffer_catalog_get_setting (self->catalog, COFFER_SETTING_CACHE_FOLDER, NULL);
  if (cache_dir == NULL)
    cache_dir = coffer_paths_default_cache_dir ();
  options.vault = unlocked->vault;
  options.machine_id = unlocked->registration->machine_id;
  options.instance_id = unlocked->registration->instance_id;
  options.keys = unlocked->keys;
  options.schedule = delete_all ? NULL : &schedule;
  options.tz = tz;
  options.now = agent_clock_now ();
  options.cache_dir = cache_dir;
  options.progress = delete_all ? progress_cb : phase_progress_cb;
  options.progress_data = self;
  options.only_when_expired = !delete_all;
  options.catalog = self->catalog;
  return coffer_prune_run (&options, result, self->cancellable, error);
}

/* After a backup: removes what retention no longer keeps. A Prune job is
 * recorded when it removed something or failed; the backup stands either
 * way. */
static void
prune_after_backup (AgentJob *self, const Unlocked *unlocked)
{
  g_autoptr (CofferJobRecord) record = g_new0 (CofferJobRecord, 1);
  g_autoptr (GError) error = NULL;
  CofferPruneResult result;
  gboolean ok;

  record->kind = g_strdup ("prune");
  record->started_at = g_get_real_time () / G_USEC_PER_SEC;
  g_debug ("Pruning after backup job %" G_GINT64_FORMAT, self->record->id);
  ok = prune (self, unlocked, FALSE, &result, &error);
  if (ok && result.points_deleted == 0 && result.packs_deleted == 0)
    return;
  record->status = g_strdup (ok ? "completed" : "failed");
  record->phase = g_strdup (ok ? "Job completed." : "Job failed.");
  record->message = ok ? prune_message (&result) : g_strdup (error->message);
  record->ended_at = g_get_real_time () / G_USEC_PER_SEC;
  record->recovery_point = g_strdup ("");
  g_clear_error (&error);
  if (!coffer_catalog_add_job (self->catalog, record, &error))
    {
      g_warning ("%s", error->message);
      return;
    }
  if (!coffer_catalog_update_job (self->catalog, record, &error))
    g_warning ("%s", error->message);
  g_message ("Prune job %" G_GINT64_FORMAT ": %s", record->id, record->message);
}

static void
record_failed_items (AgentJob *self, GPtrArray *items)
{
  g_autoptr (GPtrArray) paths = g_ptr_array_new ();
  g_autoptr (GPtrArray) reasons = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;

  for (guint i = 0; i < items->len; i++)
    {
      CofferFailedItem *item = g_ptr_array_index (items, i);
      g_ptr_array_add (paths, item->path);
      g_ptr_array_add (reasons, item->reason);
    }
  if (paths->len > 0 && !coffer_catalog_add_failed_items (
                            self->catalog, self->record->id, (const char *const *) paths->pdata,
                            (const char *const *) reasons->pdata, paths->len, &error))
    g_warning ("%s", error->message);
}

/* Sets the record's end, status and message, and saves it. */
static void
end_record (AgentJob *self, const char *status, char *message)
{
  CofferJobRecord *record = self->record;
  g_autoptr (GError) error = NULL;

  g_free (record->status);
  record->status = g_strdup (status);
  g_free (record->message);
  record->message = message;
  record->ended_at = g_get_real_time () / G_USEC_PER_SEC;
  g_free (record->phase);
  record->phase = g_strdup (g_str_equal (status, "failed") ? "Job failed." : "Job completed.");
  if (!coffer_catalog_update_job (self->catalog, record, &error))
    g_warning ("%s", error->message);
}

static void
end_with_error (AgentJob *self, const GError *error)
{
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    end_record (self, "cancelled",
                g_strdup ("Cancelled. What was already done is kept, and the next job builds on "
                          "it."));
  else
    end_record (self, "failed", g_strdup (error->message));
}

/* What a Check job was asked to do (its task data). */
enum
{
  CHECK_READ_DATA = 1 << 0,
  CHECK_REPAIR = 1 << 1,
};

static void
check_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  AgentJob *self = source_object;
  g_autoptr (CofferRegistration) registration = NULL;
  g_autoptr (CofferVault) vault = NULL;
  g_autoptr (CofferMasterKeys) keys = NULL;
  g_autoptr (CofferCheckResult) result = NULL;
  g_autoptr (CofferLock) lock = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) known = NULL;
  g_autofree char *vault_damage = NULL;
  g_autofree char *passphrase = NULL;
  g_autofree char *key_copy = NULL;
  const char *key_name = NULL;
  guint flags = GPOINTER_TO_UINT (task_data);
  gboolean read_data = (flags & CHECK_READ_DATA) != 0;
  gboolean repair = (flags & CHECK_REPAIR) != 0;
  CofferCheckOptions options = { 0 };
  CofferMachineInfo machine = { 0 };

  if (unlock (self->catalog, self->state_dir, TRUE, &vault_damage, &passphrase, &registration,
              &vault, &keys, self->cancellable, &error) &&
      (watch_store (self, vault), TRUE) &&
      (known = coffer_catalog_list_points (self->catalog, registration->machine_id, &error)) !=
          NULL &&
      (lock = coffer_lock_take (vault, registration->machine_id, registration->instance_id, repair,
                                self->cancellable, &error)) != NULL)
    {
      /* The key object the keys were last opened from, named in the copy. */
      key_copy = coffer_catalog_get_setting (self->catalog, COFFER_SETTING_KEYS_DOCUMENT, NULL);
      if (key_copy != NULL && strchr (key_copy, '\n') != NULL)
        {
          *strchr (key_copy, '\n') = '\0';
          key_name = key_copy;
        }
      machine.id = registration->machine_id;
      machine.name = registration->machine_name;
      machine.instance_id = registration->instance_id;
      machine.registered_at = registration->registered_at;
      options.vault = vault;
      options.machine_id = registration->machine_id;
      options.keys = keys;
      options.read_data = read_data;
      options.repair = repair;
      options.catalog_points = known;
      options.catalog = self->catalog;
      options.machine = &machine;
      options.passphrase = passphrase;
      options.key_name = key_name;
      options.vault_damage = vault_damage;
      options.progress = progress_cb;
      options.progress_data = self;
      result = coffer_check_run_full (&options, self->cancellable, &error);
    }
  coffer_passphrase_free (g_steal_pointer (&passphrase));
  if (result == NULL)
    {
      end_with_error (self, error);
      g_task_return_boolean (task, TRUE);
      return;
    }

  /* The catalog hears what the vault holds: points it did not know (from
   * before it kept them), points given up, points rewritten. */
  for (guint i = 0; i < result->points->len; i++)
    {
      CofferSnapshot *point = g_ptr_array_index (result->points, i);

      if (!coffer_catalog_add_point (self->catalog, registration->machine_id, point->id,
                                     point->time, &error))
        break;
    }
  for (guint i = 0; repair && error == NULL && i < result->points_lost->len; i++)
    coffer_catalog_set_point_state (self->catalog, g_ptr_array_index (result->points_lost, i),
                                    "lost", NULL, &error);
  for (guint i = 0; repair && error == NULL && i + 1 < result->points_replaced->len; i += 2)
    coffer_catalog_set_point_state (self->catalog, g_ptr_array_index (result->points_replaced, i),
                                    "replaced", g_ptr_array_index (result->points_replaced, i + 1),
                                    &error);
  if (error != NULL)
    g_warning ("%s", error->message);

  record_failed_items (self, result->repairs);
  record_failed_items (self, result->problems);
  g_mutex_lock (&self->lock);
  self->record->bytes_scanned = self->progress.bytes_scanned;
  g_mutex_unlock (&self->lock);
  self->record->files_failed = result->problems->len + result->files_lost;
  if (repair && result->problems->len > 0)
    end_record (self, "failed",
                g_strdup_printf ("The repair mended what it could of %u problems, but %u remain; "
                                 "see “coffer job show %" G_GINT64_FORMAT "”.",
                                 result->found, result->problems->len, self->record->id));
  else if (repair && result->found > 0)
    {
      g_autofree char *lost =
          result->files_lost > 0
              ? g_strdup_printf ("; %u files whose data is gone were left out of recovery points",
                                 result->files_lost)
              : g_strdup ("");

      end_record (self, "warnings",
                  g_strdup_printf ("Repaired %u problems%s. Nothing was deleted: damaged objects "
                                   "are in the vault's damaged/ folder. See “coffer job show "
                                   "%" G_GINT64_FORMAT "” for what was done.",
                                   result->found, lost, self->record->id));
    }
  else if (result->problems->len > 0)
    end_record (self, "failed",
                g_strdup_printf ("The check found %u damaged or missing objects; see “coffer job "
                                 "show %" G_GINT64_FORMAT "” for which, and the files that need "
                                 "them. “coffer check --repair” mends what can be mended.",
                                 result->problems->len, self->record->id));
  else
    {
      g_autofree char *points = g_strdup_printf (
          g_dngettext (NULL, "%u recovery point", "%u recovery points", result->snapshots),
          result->snapshots);
      g_autofree char *packs =
          g_strdup_printf (g_dngettext (NULL, "%u pack", "%u packs", result->packs), result->packs);

      end_record (self, "completed",
                  g_strdup_printf ("No damage found: %s, %s%s.", points, packs,
                                   read_data || repair ? ", every blob read and verified" : ""));
    }
  g_task_return_boolean (task, TRUE);
}

/* Whether the registered vault answers again, for a job waiting for it.
 * Only a folder vault is probed: a drive plugged in again is seen at once,
 * while a network store's own retries would make a probe last minutes. */
static gboolean
vault_is_back (gpointer user_data)
{
  AgentJob *self = user_data;
  g_autoptr (CofferRegistration) registration = NULL;
  g_autoptr (CofferVault) vault = NULL;
  g_autoptr (GError) error = NULL;

  registration = coffer_catalog_get_registration (self->catalog, NULL);
  if (registration == NULL || !g_path_is_absolute (registration->storage_location))
    return FALSE;
  g_clear_pointer (&registration, coffer_registration_free);
  vault = coffer_open_registered_vault (self->catalog, &registration, self->cancellable, &error);
  if (vault == NULL)
    g_debug ("Job %" G_GINT64_FORMAT " still waits for the vault: %s", self->record->id,
             error->message);
  return vault != NULL;
}

/* Shows @phase (NULL: none) as the job's phase, over D-Bus and in its record,
 * so `coffer jobs` says what a job waits for. */
static void
set_waiting (AgentJob *self, const char *phase)
{
  CofferJobRecord record = *self->record;
  g_autoptr (GError) error = NULL;

  g_mutex_lock (&self->lock);
  g_free (self->waiting);
  self->waiting = g_strdup (phase);
  memset (&self->progress, 0, sizeof self->progress);
  g_clear_object (&self->store);
  g_mutex_unlock (&self->lock);
  record.phase = (char *) (phase != NULL ? phase : "Initializing");
  if (!coffer_catalog_update_job (self->catalog, &record, &error))
    g_warning ("%s", error->message);
}

/* A scheduled backup whose vault is away (@error) waits for it and tries
 * again (agent-vault-wait.c). Returns %FALSE, with @error replaced by what
 * ends the job, when cancelled or after waiting too long. */
static gboolean
wait_for_vault (AgentJob *self, AgentVaultWait *wait, GError **error)
{
  g_autoptr (GError) away = g_steal_pointer (error);
  g_autofree char *phase = NULL;
  gboolean ok;

  if (!agent_vault_wait_next (wait, away, error))
    return FALSE;
  phase = agent_vault_wait_phase (wait, away);
  g_message ("Job %" G_GINT64_FORMAT ": %s", self->record->id, phase);
  set_waiting (self, phase);
  ok = agent_vault_wait_sleep (wait, vault_is_back, self, self->cancellable, error);
  set_waiting (self, NULL);
  return ok;
}

static void
backup_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  AgentJob *self = source_object;
  g_autoptr (CofferBackupResult) result = NULL;
  g_autoptr (GError) error = NULL;
  CofferJobRecord *record = self->record;
  Unlocked unlocked = { 0 };
  AgentVaultWait wait = { 0 };

  result = back_up (self, &unlocked, &error);
  /* Nobody watches a scheduled backup: it waits for a vault that is away.
   * Back Up Now says so at once. */
  while (result == NULL && self->scheduled && agent_vault_wait_applies (error) &&
         wait_for_vault (self, &wait, &error))
    result = back_up (self, &unlocked, &error);
  if (result == NULL && agent_vault_wait_applies (error))
    {
      g_autofree char *message = agent_vault_wait_message (error);

      g_clear_error (&error);
      g_set_error_literal (&error, COFFER_ERROR, COFFER_ERROR_VAULT_UNREACHABLE, message);
    }

  g_mutex_lock (&self->lock);
  copy_figures (record, &self->progress);
  g_mutex_unlock (&self->lock);
  if (result == NULL)
    {
      end_with_error (self, error);
      g_task_return_boolean (task, TRUE);
      return;
    }

  record->bytes_scanned = result->totals.bytes_scanned;
  record->bytes_sent = result->totals.bytes_sent;
  record->files_scanned = result->totals.files_scanned;
  record->files_backed_up = result->totals.files_read;
  record->files_failed = result->totals.files_failed;
  g_free (record->recovery_point);
  record->recovery_point = g_strdup (result->snapshot->id);
  record_failed_items (self, result->failed);
  /* Before the record ends: a client that sees the job completed can start
   * the next one at once. */
  prune_after_backup (self, &unlocked);
  if (result->failed->len > 0)
    end_record (self, "warnings",
                g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                              "Completed with warnings: %u file was not backed "
                                              "up.",
                                              "Completed with warnings: %u files were not backed "
                                              "up.",
                                              result->failed->len),
                                 result->failed->len));
  else
    end_record (self, "completed", g_strdup ("Job completed."));
  unlocked_clear (&unlocked);
  g_task_return_boolean (task, TRUE);
}

/* StopPolicy's job: every point of this machine, then the policy. */
static void
prune_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  AgentJob *self = source_object;
  g_autoptr (GError) error = NULL;
  Unlocked unlocked = { 0 };
  CofferPruneResult result;

  if (agent_unlock (self->catalog, self->state_dir, &unlocked.registration, &unlocked.vault,
                    &unlocked.keys, self->cancellable, &error) &&
      prune (self, &unlocked, TRUE, &result, &error) &&
      coffer_catalog_clear_policy (self->catalog, &error))
    {
      g_autofree char *size = g_format_size (result.bytes_deleted);

      end_record (self, "completed",
                  g_strdup_printf ("Removed %u recovery points and %u packs (%s) of this server; "
                                   "the backup policy is removed.",
                                   result.points_deleted, result.packs_deleted, size));
    }
  else
    end_with_error (self, error);
  unlocked_clear (&unlocked);
  g_task_return_boolean (task, TRUE);
}

static CofferConflict
parse_conflict (const char *text)
{
  if (g_strcmp0 (text, "overwrite") == 0)
    return COFFER_CONFLICT_OVERWRITE;
  if (g_strcmp0 (text, "skip") == 0)
    return COFFER_CONFLICT_SKIP;
  return COFFER_CONFLICT_COPY;
}

static CofferRestoreResult *
recover (AgentJob *self, GError **error)
{
  g_autoptr (GVariant) options = g_variant_get_child_value (self->request, 2);
  g_autoptr (AgentPoints) points = NULL;
  g_autoptr (CofferLock) lock = NULL;
  g_autoptr (CofferPointReader) reader = NULL;
  g_autofree const char **paths = NULL;
  const char *point = NULL, *target = NULL, *conflict = NULL;
  gboolean permissions = TRUE;
  CofferSnapshot *snapshot;
  CofferRestoreOptions restore = { 0 };

  g_variant_get_child (self->request, 0, "&s", &point);
  g_variant_get_child (self->request, 1, "^a&ay", &paths);
  g_variant_lookup (options, "to", "^&ay", &target);
  g_variant_lookup (options, "conflict", "&s", &conflict);
  g_variant_lookup (options, "permissions", "b", &permissions);

  points = agent_points_open (self->catalog, self->state_dir, options, self->cancellable, error);
  if (points == NULL || (snapshot = agent_points_resolve (points, point, error)) == NULL)
    return NULL;
  /* Recovering another machine's data: a shared lock on that machine. */
  lock = coffer_lock_take (points->vault, points->machine_id, points->instance_id, FALSE,
                           self->cancellable, error);
  if (lock == NULL)
    return NULL;
  reader = coffer_point_reader_new (points->vault, points->machine_id, points->keys,
                                    self->cancellable, error);
  if (reader == NULL)
    return NULL;

  restore.reader = reader;
  restore.root = snapshot->root;
  restore.point_time = snapshot->time;
  restore.paths = paths;
  restore.target = target != NULL && *target != '\0' ? target : NULL;
  restore.conflict = parse_conflict (conflict);
  restore.restore_permissions = permissions;
  restore.progress = progress_cb;
  restore.progress_data = self;
  return coffer_restore_run (&restore, self->cancellable, error);
}

static void
recovery_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  AgentJob *self = source_object;
  g_autoptr (CofferRestoreResult) result = NULL;
  g_autoptr (GError) error = NULL;
  CofferJobRecord *record = self->record;
  g_autofree char *size = NULL;

  result = recover (self, &error);
  if (result == NULL)
    {
      end_with_error (self, error);
      g_task_return_boolean (task, TRUE);
      return;
    }

  record->bytes_scanned = result->totals.bytes_scanned;
  record->files_scanned = result->totals.files_scanned;
  record->files_backed_up = result->totals.files_read;
  record->files_failed = result->totals.files_failed;
  record_failed_items (self, result->failed);
  size = g_format_size (result->totals.bytes_scanned);
  if (result->failed->len > 0)
    end_record (self, "warnings",
                g_strdup_printf (result->failed->len == 1
                                     ? "Recovered with warnings: %u item could not be recovered."
                                     : "Recovered with warnings: %u items could not be recovered.",
                                 result->failed->len));
  else
    end_record (self, "completed",
                g_strdup_printf (result->totals.files_read == 1
                                     ? "Recovered %" G_GUINT64_FORMAT " file (%s)."
                                     : "Recovered %" G_GUINT64_FORMAT " files (%s).",
                                 result->totals.files_read, size));
  g_task_return_boolean (task, TRUE);
}

static void
backup_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  AgentJob *self = AGENT_JOB (source);
  GTask *outer = user_data;
  g_autofree char *phase = NULL;
  g_autofree char *message = NULL;

  g_clear_handle_id (&self->progress_source, g_source_remove);
  publish_progress_cb (self);
  coffer_dbus_job_set_status (self->skeleton, self->record->status);
  phase = utf8_text (self->record->phase);
  message = utf8_text (self->record->message);
  coffer_dbus_job_set_phase (self->skeleton, phase);
  coffer_dbus_job_emit_finished (self->skeleton, self->record->status, message);
  g_message ("Job %" G_GINT64_FORMAT " (%s) ended: %s — %s", self->record->id, self->record->kind,
             self->record->status, self->record->message);
  g_task_return_boolean (outer, TRUE);
  g_object_unref (outer);
}

/**
 * agent_job_run_backup:
 * @self: a new job of kind "backup"
 * @scheduled: a scheduled backup (its point is kept by the retention rules)
 *   rather than Back Up Now
 * @retain_until: a Back Up Now point's retain-until, Unix seconds
 * @callback: called on the main context when the job has ended
 * @user_data: data for @callback
 *
 * Runs a backup in a worker thread, then prunes what retention no longer
 * keeps. The job's Finished signal comes after both.
 */
void
agent_job_run_backup (AgentJob *self,
                      gboolean scheduled,
                      gint64 retain_until,
                      GAsyncReadyCallback callback,
                      gpointer user_data)
{
  g_autoptr (GTask) task =
      g_task_new (self, NULL, backup_done_cb, g_task_new (self, NULL, callback, user_data));

  self->scheduled = scheduled;
  self->retain_until = retain_until;
  self->progress_source = g_timeout_add (PROGRESS_INTERVAL_MS, publish_progress_cb, self);
  g_task_set_source_tag (task, agent_job_run_backup);
  g_task_run_in_thread (task, backup_thread);
}

/**
 * agent_job_run_check:
 * @self: a new job of kind "check"
 * @read_data: also read and verify every blob
 * @repair: then repair what the check found (reads every blob too)
 * @callback: called on the main context when the job has ended
 * @user_data: data for @callback
 *
 * Checks this machine's backups in a worker thread.
 */
void
agent_job_run_check (AgentJob *self,
                     gboolean read_data,
                     gboolean repair,
                     GAsyncReadyCallback callback,
                     gpointer user_data)
{
  g_autoptr (GTask) task =
      g_task_new (self, NULL, backup_done_cb, g_task_new (self, NULL, callback, user_data));

  self->progress_source = g_timeout_add (PROGRESS_INTERVAL_MS, publish_progress_cb, self);
  g_task_set_source_tag (task, agent_job_run_check);
  g_task_set_task_data (
      task, GINT_TO_POINTER ((read_data ? CHECK_READ_DATA : 0) | (repair ? CHECK_REPAIR : 0)),
      NULL);
  g_task_run_in_thread (task, check_thread);
}

/**
 * agent_job_run_stop_policy:
 * @self: a new job of kind "prune"
 * @callback: called on the main context when the job has ended
 * @user_data: data for @callback
 *
 * Deletes every recovery point of this machine and the packs they used,
 * then removes the backup policy.
 */
void
agent_job_run_stop_policy (AgentJob *self, GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task =
      g_task_new (self, NULL, backup_done_cb, g_task_new (self, NULL, callback, user_data));

  self->progress_source = g_timeout_add (PROGRESS_INTERVAL_MS, publish_progress_cb, self);
  g_task_set_source_tag (task, agent_job_run_stop_policy);
  g_task_run_in_thread (task, prune_thread);
}

const CofferJobRecord *
agent_job_get_record (AgentJob *self)
{
  return self->record;
}

gboolean
agent_job_run_finish (AgentJob *self, GAsyncResult *result)
{
  return g_task_propagate_boolean (G_TASK (result), NULL);
}

/**
 * agent_job_run_recovery:
 * @self: a new job of kind "recovery"
 * @request: the StartRecovery parameters (point, paths, options)
 * @callback: called on the main context when the job has ended
 * @user_data: data for @callback
 *
 * Recovers files and folders in a worker thread.
 */
void
agent_job_run_recovery (AgentJob *self,
                        GVariant *request,
                        GAsyncReadyCallback callback,
                        gpointer user_data)
{
  g_autoptr (GTask) task =
      g_task_new (self, NULL, backup_done_cb, g_task_new (self, NULL, callback, user_data));

  self->request = g_variant_ref (request);
  self->progress_source = g_timeout_add (PROGRESS_INTERVAL_MS, publish_progress_cb, self);
  g_task_set_source_tag (task, agent_job_run_recovery);
  g_task_run_in_thread (task, recovery_thread);
}

/**
 * agent_data_backed_up:
 * @catalog: the agent's catalog
 *
 * Returns: the bytes the newest successful backup scanned (0 when none):
 *   what the 5 % rule for the cache folder's free space is measured against
 */
guint64
agent_data_backed_up (CofferCatalog *catalog)
{
  g_autoptr (GPtrArray) jobs = coffer_catalog_list_jobs (catalog, 0, 1000, "", NULL);

  for (guint i = 0; jobs != NULL && i < jobs->len; i++)
    {
      CofferJobRecord *record = g_ptr_array_index (jobs, i);

      if (g_strcmp0 (record->kind, "backup") == 0 &&
          (g_strcmp0 (record->status, "completed") == 0 ||
           g_strcmp0 (record->status, "warnings") == 0))
        return record->bytes_scanned;
    }
  return 0;
}

/**
 * agent_cache_folder:
 * @catalog: the agent's catalog
 *
 * Returns: (transfer full): the cache folder in use
 */
char *
agent_cache_folder (CofferCatalog *catalog)
{
  char *folder = coffer_catalog_get_setting (catalog, COFFER_SETTING_CACHE_FOLDER, NULL);

  return folder != NULL ? folder : coffer_paths_default_cache_dir ();
}

/* Runs in the job's thread. */
static void
cache_move_progress_cb (guint64 bytes, guint64 files, gpointer user_data)
{
  AgentJob *self = user_data;

  g_mutex_lock (&self->lock);
  self->progress.bytes_scanned = bytes;
  self->progress.files_scanned = files;
  g_mutex_unlock (&self->lock);
}

static void
cache_move_thread (GTask *task,
                   gpointer source_object,
                   gpointer task_data,
                   GCancellable *cancellable)
{
  AgentJob *self = source_object;
  g_autofree char *old = agent_cache_folder (self->catalog);
  g_autofree char *size = NULL;
  g_autoptr (GError) error = NULL;
  guint64 bytes = 0, files = 0;

  g_mutex_lock (&self->lock);
  self->progress.phase = "Copying the cache folder…";
  g_mutex_unlock (&self->lock);
  self->expected_bytes = coffer_cache_folder_size (old);

  /* Checked again: the disk may have filled since the method was called. */
  if (!coffer_cache_folder_check_new (self->folder, old, agent_data_backed_up (self->catalog),
                                      &error) ||
      !coffer_cache_folder_copy (old, self->folder, cache_move_progress_cb, self, &bytes, &files,
                                 self->cancellable, &error) ||
      !coffer_cache_folder_check (self->folder, &error))
    {
      end_with_error (self, error);
      g_task_return_boolean (task, TRUE);
      return;
    }
  if (!coffer_catalog_set_setting (self->catalog, COFFER_SETTING_CACHE_FOLDER, self->folder,
                                   &error))
    {
      g_autoptr (GError) cleanup_error = NULL;

      g_prefix_error (&error, "The cache folder stays at %s: ", old);
      if (!coffer_cache_folder_remove (self->folder, &cleanup_error))
        g_warning ("%s", cleanup_error->message);
      end_with_error (self, error);
      g_task_return_boolean (task, TRUE);
      return;
    }

  self->record->bytes_scanned = bytes;
  self->record->files_scanned = files;
  size = g_format_size (bytes);
  if (!coffer_cache_folder_remove (old, &error))
    end_record (self, "warnings",
                g_strdup_printf ("The cache folder is now %s, but the old one could not be "
                                 "removed (remove it yourself): %s",
                                 self->folder, error->message));
  else
    end_record (self, "completed",
                g_strdup_printf ("The cache folder is now %s (%s moved).", self->folder, size));
  g_task_return_boolean (task, TRUE);
}

/**
 * agent_job_run_cache_move:
 * @self: a new job of kind "cache-move"
 * @folder: the new cache folder, checked
 * @callback: called on the main context when the job has ended
 * @user_data: data for @callback
 *
 * Moves the cache folder in a worker thread: copies it, switches the
 * catalog's setting to the copy, then removes the old folder.
 */
void
agent_job_run_cache_move (AgentJob *self,
                          const char *folder,
                          GAsyncReadyCallback callback,
                          gpointer user_data)
{
  g_autoptr (GTask) task =
      g_task_new (self, NULL, backup_done_cb, g_task_new (self, NULL, callback, user_data));

  self->folder = g_strdup (folder);
  self->progress_source = g_timeout_add (PROGRESS_INTERVAL_MS, publish_progress_cb, self);
  g_task_set_source_tag (task, agent_job_run_cache_move);
  g_task_run_in_thread (task, cache_move_thread);
}
