/* coffer-store.h: the object store interface every vault is reached through.
 *
 * Object-store semantics, so that a local folder and an Azure Blob container
 * fit the same interface: names are '/'-separated relative paths ("vault.json",
 * "machines/ID/data/3f/3fa1…"); puts are atomic (a reader sees the old object or
 * the new one, never a part); no object is larger than COFFER_STORE_MAX_OBJECT.
 * Every operation is asynchronous and cancellable; the _sync variants are for
 * worker threads, the CLI and tests.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define COFFER_STORE_MAX_OBJECT (64 * 1024 * 1024)
/* The longest object name, in bytes (Azure's limit on a blob name). */
#define COFFER_STORE_MAX_NAME 1024

/**
 * CofferPutMode:
 * @COFFER_PUT_ALWAYS: replace whatever is there
 * @COFFER_PUT_IF_ABSENT: fail with %COFFER_ERROR_EXISTS when the object exists
 *   (content-named objects treat that as success)
 * @COFFER_PUT_IF_MATCH: replace only when the object's current etag is the one
 *   given; fail with %COFFER_ERROR_EXISTS ("changed meanwhile") otherwise, and
 *   with %COFFER_ERROR_NOT_FOUND when it does not exist
 */
typedef enum
{
  COFFER_PUT_ALWAYS,
  COFFER_PUT_IF_ABSENT,
  COFFER_PUT_IF_MATCH,
} CofferPutMode;

/**
 * CofferStoreEntry:
 * @name: the object's name
 * @size: its size in bytes
 * @mtime: when it was last written, Unix microseconds, by the store's clock
 * @etag: an opaque tag that changes whenever the object is replaced
 */
typedef struct
{
  char *name;
  guint64 size;
  gint64 mtime;
  char *etag;
} CofferStoreEntry;

void coffer_store_entry_free (CofferStoreEntry *entry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CofferStoreEntry, coffer_store_entry_free)

#define COFFER_TYPE_STORE (coffer_store_get_type ())
G_DECLARE_INTERFACE (CofferStore, coffer_store, COFFER, STORE, GObject)

/* Implementations provide the blocking operations; the interface runs them
 * in worker threads for the _async variants. Every one must be safe to call
 * from several threads at once. Errors: COFFER_ERROR_NOT_FOUND for a missing
 * object, COFFER_ERROR_VAULT_UNREACHABLE when the store itself is not there,
 * COFFER_ERROR_EXISTS for a failed condition, G_IO_ERROR_CANCELLED.
 * Implementations are only reached through the _sync wrappers, which have
 * already checked the name or prefix, the object's size and @cancellable. */
struct _CofferStoreInterface
{
  GTypeInterface parent_iface;

  /* Where the store is, for messages: a folder's path, a container's URL. */
  char *(*describe) (CofferStore *self);
  gboolean (*put) (CofferStore *self,
                   const char *name,
                   GBytes *bytes,
                   CofferPutMode mode,
                   const char *if_match_etag,
                   char **out_etag,
                   GCancellable *cancellable,
                   GError **error);
  GBytes *(*get) (CofferStore *self,
                  const char *name,
                  guint64 offset,
                  gssize length,
                  char **out_etag,
                  GCancellable *cancellable,
                  GError **error);
  GPtrArray *(*list) (CofferStore *self,
                      const char *prefix,
                      GCancellable *cancellable,
                      GError **error);
  CofferStoreEntry *(*stat) (CofferStore *self,
                             const char *name,
                             GCancellable *cancellable,
                             GError **error);
  gboolean (*delete) (CofferStore *self,
                      const char *name,
                      GCancellable *cancellable,
                      GError **error);
  /* Optional. How many requests the store serves at once, and the number of
   * the retry under way (0 when none): see coffer_store_get_concurrency(). A
   * decorator forwards both to the store it wraps. */
  guint (*get_concurrency) (CofferStore *self);
  guint (*get_retries) (CofferStore *self);
  /* Optional: the store's clock, Unix microseconds (see coffer_store_get_time()). */
  gint64 (*get_time) (CofferStore *self);
  /* Optional: gives the object @name the name @new_name, which must not
   * exist (COFFER_ERROR_EXISTS otherwise); works on whatever a folder holds
   * at @name, a fifo included. Without it, coffer_store_move_sync() copies
   * and deletes. */
  gboolean (*move) (CofferStore *self,
                    const char *name,
                    const char *new_name,
                    GCancellable *cancellable,
                    GError **error);
};

char *coffer_store_describe (CofferStore *self);
guint coffer_store_get_concurrency (CofferStore *self);
guint coffer_store_get_retries (CofferStore *self);
gint64 coffer_store_get_time (CofferStore *self);

gboolean coffer_store_put_sync (CofferStore *self,
                                const char *name,
                                GBytes *bytes,
                                CofferPutMode mode,
                                const char *if_match_etag,
                                char **out_etag,
                                GCancellable *cancellable,
                                GError **error);
GBytes *coffer_store_get_sync (CofferStore *self,
                               const char *name,
                               guint64 offset,
                               gssize length,
                               char **out_etag,
                               GCancellable *cancellable,
                               GError **error);
GPtrArray *coffer_store_list_sync (CofferStore *self,
                                   const char *prefix,
                                   GCancellable *cancellable,
                                   GError **error);
CofferStoreEntry *coffer_store_stat_sync (CofferStore *self,
                                          const char *name,
                                          GCancellable *cancellable,
                                          GError **error);
gboolean coffer_store_delete_sync (CofferStore *self,
                                   const char *name,
                                   GCancellable *cancellable,
                                   GError **error);
gboolean coffer_store_move_sync (CofferStore *self,
                                 const char *name,
                                 const char *new_name,
                                 GCancellable *cancellable,
                                 GError **error);

void coffer_store_put_async (CofferStore *self,
                             const char *name,
                             GBytes *bytes,
                             CofferPutMode mode,
                             const char *if_match_etag,
                             GCancellable *cancellable,
                             GAsyncReadyCallback callback,
                             gpointer user_data);
gboolean
coffer_store_put_finish (CofferStore *self, GAsyncResult *result, char **out_etag, GError **error);
void coffer_store_get_async (CofferStore *self,
                             const char *name,
                             guint64 offset,
                             gssize length,
                             GCancellable *cancellable,
                             GAsyncReadyCallback callback,
                             gpointer user_data);
GBytes *
coffer_store_get_finish (CofferStore *self, GAsyncResult *result, char **out_etag, GError **error);
void coffer_store_list_async (CofferStore *self,
                              const char *prefix,
                              GCancellable *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer user_data);
GPtrArray *coffer_store_list_finish (CofferStore *self, GAsyncResult *result, GError **error);
void coffer_store_stat_async (CofferStore *self,
                              const char *name,
                              GCancellable *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer user_data);
CofferStoreEntry *
coffer_store_stat_finish (CofferStore *self, GAsyncResult *result, GError **error);
void coffer_store_delete_async (CofferStore *self,
                                const char *name,
                                GCancellable *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer user_data);
gboolean coffer_store_delete_finish (CofferStore *self, GAsyncResult *result, GError **error);

/* For implementations: pacing under a throttled store (coffer-throttled-store.c). */
gboolean coffer_store_pace (gsize bytes, GCancellable *cancellable, GError **error);
gsize coffer_store_pace_piece_size (gsize max);

gboolean coffer_store_name_is_valid (const char *name);
gboolean coffer_store_prefix_is_valid (const char *prefix);

G_END_DECLS
