/* coffer-catalog.h: the agent's catalog (catalog.sqlite in the state folder). */
#pragma once

#include <gio/gio.h>

#include "coffer-schedule.h"

G_BEGIN_DECLS

/**
 * CofferRegistration:
 * @vault_id: the vault's id (from vault.json)
 * @vault_name: the vault's name
 * @machine_id: this machine's id in the vault
 * @machine_name: this machine's name in the vault
 * @instance_id: this installation's instance id (a clone has another)
 * @storage_location: where the vault is, as the user would write it
 * @registered_at: when the machine registered, Unix seconds (UTC)
 *
 * What the catalog records about this machine's registration.
 */
typedef struct
{
  char *vault_id;
  char *vault_name;
  char *machine_id;
  char *machine_name;
  char *instance_id;
  char *storage_location;
  gint64 registered_at;
} CofferRegistration;

void coffer_registration_free (CofferRegistration *registration);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CofferRegistration, coffer_registration_free)

#define COFFER_TYPE_CATALOG (coffer_catalog_get_type ())
G_DECLARE_FINAL_TYPE (CofferCatalog, coffer_catalog, COFFER, CATALOG, GObject)

#define COFFER_CATALOG_FILENAME "catalog.sqlite"

CofferCatalog *coffer_catalog_open (const char *state_dir, GError **error);
const char *coffer_catalog_get_path (CofferCatalog *self);
int coffer_catalog_get_schema_version (CofferCatalog *self);
int coffer_catalog_latest_schema_version (void);

char *coffer_catalog_get_setting (CofferCatalog *self, const char *key, GError **error);
gboolean coffer_catalog_set_setting (CofferCatalog *self,
                                     const char *key,
                                     const char *value,
                                     GError **error);
gboolean coffer_catalog_delete_setting (CofferCatalog *self, const char *key, GError **error);
gboolean coffer_catalog_set_settings (CofferCatalog *self,
                                      const char *const *keys,
                                      const char *const *values,
                                      guint n_settings,
                                      GError **error);

CofferRegistration *coffer_catalog_get_registration (CofferCatalog *self, GError **error);
gboolean coffer_catalog_set_registration (CofferCatalog *self,
                                          const CofferRegistration *registration,
                                          GError **error);
gboolean coffer_catalog_clear_registration (CofferCatalog *self, GError **error);

/**
 * CofferPolicyEdit:
 * @kind: "item", "exclude" or "include"
 * @value: the path or pattern
 * @add: %TRUE to add it, %FALSE to remove it
 *
 * One change to the backup policy (see coffer-policy.h).
 */
typedef struct
{
  const char *kind;
  const char *value;
  gboolean add;
} CofferPolicyEdit;

GPtrArray *coffer_catalog_get_policy (CofferCatalog *self, const char *kind, GError **error);
gboolean coffer_catalog_edit_policy (CofferCatalog *self,
                                     const CofferPolicyEdit *edits,
                                     guint n_edits,
                                     GError **error);

/* A job keeps at most this many failed items. */
#define COFFER_JOB_MAX_FAILED_ITEMS 10000

/**
 * CofferJobRecord:
 * @id: the job's number
 * @kind: backup, recovery, prune, check or cache-move
 * @status: queued, running, completed, warnings, failed or cancelled
 * @phase: what it is doing or did last, in the reference's words
 * @message: what happened, for the user
 * @started_at: Unix seconds
 * @ended_at: Unix seconds, 0 while it runs
 * @bytes_scanned: bytes of file content looked at
 * @bytes_sent: bytes written to the vault
 * @files_scanned: files looked at
 * @files_backed_up: files read because new or changed
 * @files_failed: files that could not be backed up
 * @recovery_point: the recovery point it made, or ""
 *
 * A job as the catalog records it.
 */
typedef struct
{
  gint64 id;
  char *kind;
  char *status;
  char *phase;
  char *message;
  gint64 started_at;
  gint64 ended_at;
  guint64 bytes_scanned;
  guint64 bytes_sent;
  guint64 files_scanned;
  guint64 files_backed_up;
  guint64 files_failed;
  char *recovery_point;
} CofferJobRecord;

void coffer_job_record_free (CofferJobRecord *record);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CofferJobRecord, coffer_job_record_free)

gboolean coffer_catalog_add_job (CofferCatalog *self, CofferJobRecord *record, GError **error);
gboolean
coffer_catalog_update_job (CofferCatalog *self, const CofferJobRecord *record, GError **error);
gboolean coffer_catalog_add_failed_items (CofferCatalog *self,
                                          gint64 job_id,
                                          const char *const *paths,
                                          const char *const *reasons,
                                          guint n_items,
                                          GError **error);
GPtrArray *coffer_catalog_list_jobs (
    CofferCatalog *self, guint64 offset, guint limit, const char *status, GError **error);
CofferJobRecord *coffer_catalog_get_job (CofferCatalog *self, gint64 id, GError **error);
GPtrArray *coffer_catalog_get_failed_items (CofferCatalog *self,
                                            gint64 job_id,
                                            guint offset,
                                            guint limit,
                                            guint *out_total,
                                            GError **error);
gboolean
coffer_catalog_fail_interrupted_jobs (CofferCatalog *self, const char *message, GError **error);

gboolean coffer_catalog_get_schedule (CofferCatalog *self,
                                      CofferSchedule *out_schedule,
                                      gint64 *out_last_considered,
                                      GError **error);
gboolean coffer_catalog_set_schedule (CofferCatalog *self,
                                      const CofferSchedule *schedule,
                                      gint64 last_considered,
                                      GError **error);
gboolean coffer_catalog_clear_policy (CofferCatalog *self, GError **error);

/**
 * CofferCatalogPoint:
 * @id: the recovery point's id
 * @time: its time, Unix seconds
 * @state: "stored", "deleted", "lost" or "replaced"
 * @replaced_by: the point that replaced it, or ""
 *
 * A recovery point as the catalog remembers it.
 */
typedef struct
{
  char *id;
  gint64 time;
  char *state;
  char *replaced_by;
} CofferCatalogPoint;

void coffer_catalog_point_free (CofferCatalogPoint *point);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CofferCatalogPoint, coffer_catalog_point_free)

gboolean coffer_catalog_add_point (
    CofferCatalog *self, const char *machine_id, const char *id, gint64 time, GError **error);
gboolean coffer_catalog_set_point_state (CofferCatalog *self,
                                         const char *id,
                                         const char *state,
                                         const char *replaced_by,
                                         GError **error);
GPtrArray *coffer_catalog_list_points (CofferCatalog *self, const char *machine_id, GError **error);

G_END_DECLS
