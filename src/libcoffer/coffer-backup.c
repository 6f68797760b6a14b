/* coffer-backup.c: one backup, from the policy's items to a recovery point.
 *
 * The pipeline:
 *
 *   walkers (one per core)         list folders with openat-family calls,
 *        |                         capture metadata, apply exclusions,
 *        |  batches of open        take unchanged files from the files
 *        |  files                  cache, open the others and queue them
 *        |                         (up to 16 files or 1 MiB a batch); the
 *        |                         caller's thread hands the items to them,
 *        |                         and a walker hands a subfolder to an
 *        v                         idle one
 *   workers (one per core)         read → chunk → id →
 *        |  sealed blobs           (not in the index) compress + encrypt;
 *        |                         a large file's chunks are compressed
 *        |                         and encrypted by the sealers (one per
 *        |                         core), so a big file late in the walk
 *        |                         does not leave the other cores idle
 *        v
 *   pack writers (data, tree)      ~16 MiB packs, one type each
 *        |  finished packs
 *        v
 *   uploaders (the store's         put-if-absent into the vault, then
 *   concurrency)                   the pack's entries join the index
 *
 * Memory stays bounded: the file queue, the packs waiting for upload and
 * each worker's read buffer have fixed limits, whatever the input.
 *
 * Each folder is a Dir counting what it still waits for (its files and
 * subfolders, and the walker while it lists it). Whoever brings the count
 * to zero — a walker or a worker — writes the folder's tree blob and tells
 * the parent. The root finishing ends the walk.
 *
 * Write order: packs, then the index files naming them, then the recovery
 * point. The index is also written every 64 packs or 5 minutes, so an
 * interrupted first backup resumes from what it uploaded. Files-cache rows
 * are written while the last packs upload, and committed only after the
 * point is written.
 */
#include "config.h"

#include "coffer-backup.h"

#include "coffer-blob.h"
#include "coffer-chunker.h"
#include "coffer-error.h"
#include "coffer-files-cache.h"
#include "coffer-index-loader.h"
#include "coffer-index.h"
#include "coffer-metadata.h"
#include "coffer-pack.h"
#include "coffer-ticker.h"
#include "coffer-tree.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#define READ_BUFFER_SIZE (2 * COFFER_CHUNK_MAX)
/* The walker hands files to the workers in batches: one hand-over (and
 * wake-up) a file cost more than reading a small file does. A batch ends at
 * this many files or once it holds this much data; at most this many
 * batches a worker wait, each file open, so the descriptors stay few. */
#define BATCH_FILES 16
#define BATCH_BYTES (1024 * 1024)
#define MAX_QUEUED_BATCHES_PER_WORKER 2
/* Packs waiting for or in an upload, beyond one per uploader. */
#define EXTRA_PACKS_IN_FLIGHT 1
/* Chunks at least this large go to an idle sealer (each a copy of at most
 * 4 MiB, one per sealer). */
#define SEAL_ELSEWHERE_MIN COFFER_CHUNK_MIN
#define CHECKPOINT_PACKS 64
#define CHECKPOINT_SECONDS (5 * 60)

static const char cachedir_signature[] = "Signature: 8a477f597d28d172789f06886806bc55";

typedef struct _Backup Backup;
typedef struct _Dir Dir;

/* The names of a file with several, as the walk meets them. */
typedef enum
{
  LINK_PENDING, /* the first name's content is being read */
  LINK_STORED,
  LINK_LOST, /* it could not be read: the later names have no content */
} LinkState;

typedef struct
{
  char *first_path; /* the one whose content is stored */
  LinkState state;
  GPtrArray *later_paths; /* char *, met while pending, or NULL */
} LinkGroup;

struct _Dir
{
  Dir *parent;
  CofferNode *node; /* this folder's node in the parent, or NULL for the root */
  GPtrArray *nodes; /* CofferNode: the folder's entries */
  GMutex lock;      /* guards nodes */
  gint pending;     /* entries and subfolders not done, + 1 while the walker lists */
};

typedef struct
{
  Backup *backup;
  Dir *dir;
  CofferNode *node;
  int fd;
  struct stat st; /* fstat of fd when the walker opened it */
  char *path;
  guint64 fsid;
} FileTask;

typedef struct
{
  FileTask *tasks[BATCH_FILES];
  guint n_tasks;
  guint64 bytes;
} FileBatch;

struct _Backup
{
  const CofferBackupOptions *options;
  GCancellable *cancellable;
  CofferIndex *index;
  CofferChunker *chunker;
  CofferFilesCache *files_cache;
  CofferIdCache *ids;
  GHashTable *skip;        /* absolute paths never backed up */
  GHashTable *items;       /* the items, for crossing filesystems */
  GMutex hardlinks_lock;   /* guards the two below: walkers share them */
  GHashTable *hardlinks;   /* "dev:inode" → group */
  GPtrArray *link_groups;  /* LinkGroup, group n at n - 1 */
  guint64 lost_link_names; /* later names reported lost (atomic) */
  guint64 files_stored;    /* files in the point (atomic) */

  GThreadPool *walkers; /* walk the subfolders handed over */
  GThreadPool *workers;
  GThreadPool *sealers;
  GThreadPool *uploaders;
  GThread *cache_writer; /* writes the files cache's rows ahead */
  guint n_uploaders;     /* the store's concurrency */
  CofferBufferPool *pack_buffers;

  GMutex lock;       /* guards what follows */
  GCond cond;        /* packs in flight, the root's tree */
  GCond room_cond;   /* for walkers: room in the batch queue or among open files */
  GCond walked_cond; /* for the job's thread: every subfolder handed over walked */
  CofferPackWriter *writers[COFFER_BLOB_N_TYPES];
  /* Blobs in a pack writer or an upload, not yet in the index: asked for
   * every chunk, so under a lock of its own, not the backup's. */
  GMutex pending_lock;
  GHashTable *pending_ids;
  guint queued_batches;
  gint open_files;     /* opened by walkers, not yet done by a worker (atomic) */
  gint max_open_files; /* a share of the descriptors this process may open */
  guint queued_seals;
  guint walkers_waiting;   /* for room in the batch queue or among open files */
  guint subfolders_handed; /* to the walkers' pool, not yet walked */
  gint idle_walkers;       /* pool walkers with nothing to walk (atomic) */
  guint packs_in_flight;
  guint packs_since_checkpoint;
  gint64 last_checkpoint;
  gboolean root_done;
  GError *error;  /* the first error: it stops the backup */
  gint has_error; /* error != NULL, read without the lock */
  GPtrArray *failed;

  guint64 bytes_found;             /* sizes of the regular files walked (atomic) */
  gint walk_done;                  /* every item walked: bytes_found is the total */
  GThread *sizer;                  /* estimate_run(), for a first backup */
  GCancellable *sizer_cancellable; /* cancelled once the walk is done */
  guint64 estimate;                /* the sizer's total, 0 until it is done (atomic) */

  CofferBackupProgress totals; /* atomically updated counters */
  gint64 last_report;          /* monotonic time of the last progress report */
  guint8 root_id[COFFER_TREE_ID_SIZE];
};

/* One thread's walk: the main walker's, or a pool walker's subfolder. */
typedef struct
{
  Backup *backup;
  FileBatch *batch;      /* files opened, not yet handed to the workers */
  guint64 listing[4096]; /* getdents64()'s buffer */
} Walker;

void
coffer_failed_item_free (CofferFailedItem *item)
{
  g_free (item->path);
  g_free (item->reason);
  g_free (item);
}

void
coffer_backup_result_free (CofferBackupResult *result)
{
  if (result == NULL)
    return;

  g_clear_pointer (&result->snapshot, coffer_snapshot_free);
  g_clear_pointer (&result->failed, g_ptr_array_unref);
  g_free (result);
}

static void
add_counter (guint64 *counter, guint64 amount)
{
  __atomic_fetch_add (counter, amount, __ATOMIC_RELAXED);
}

static void
sub_counter (guint64 *counter, guint64 amount)
{
  __atomic_fetch_sub (counter, amount, __ATOMIC_RELAXED);
}

/* Records the first error; the walker, workers and uploaders stop on it. */
static void
fail (Backup *backup, GError *error)
{
  g_mutex_lock (&backup->lock);
  if (backup->error == NULL)
    backup->error = error;
  else
    g_error_free (error);
  g_atomic_int_set (&backup->has_error, TRUE);
  g_cond_broadcast (&backup->cond);
  g_cond_broadcast (&backup->room_cond);
  g_mutex_unlock (&backup->lock);
}

/* Asked for every file and every buffer read: it takes no lock. */
static gboolean
stopped (Backup *backup)
{
  if (g_cancellable_is_cancelled (backup->cancellable))
    {
      GError *error = NULL;
      g_cancellable_set_error_if_cancelled (backup->cancellable, &error);
      fail (backup, error);
    }
  return g_atomic_int_get (&backup->has_error);
}

static void
add_failed (Backup *backup, const char *path, const char *reason)
{
  CofferFailedItem *item = g_new0 (CofferFailedItem, 1);

  item->path = g_strdup (path);
  item->reason = g_strdup (reason);
  g_mutex_lock (&backup->lock);
  g_ptr_array_add (backup->failed, item);
  g_mutex_unlock (&backup->lock);
  add_counter (&backup->totals.files_failed, 1);
}

/* Reports progress at most four times a second, from whichever thread does
 * the work (the callback must be thread-safe). A report skipped because the
 * last was too recent is made up by the ticker, which reports four times a
 * second whatever the other threads are waiting for. */
static guint64 bytes_expected (Backup *backup);

static void
maybe_report (Backup *backup)
{
  gint64 now = g_get_monotonic_time ();
  gint64 last = __atomic_load_n (&backup->last_report, __ATOMIC_RELAXED);

  if (backup->options->progress == NULL || now - last < G_USEC_PER_SEC / 4 ||
      !__atomic_compare_exchange_n (&backup->last_report, &last, now, FALSE, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED))
    return;
  backup->totals.bytes_expected = bytes_expected (backup);
  backup->options->progress (&backup->totals, backup->options->progress_data);
}

static void
report_tick (gpointer data)
{
  Backup *backup = data;

  __atomic_store_n (&backup->last_report, g_get_monotonic_time (), __ATOMIC_RELAXED);
  backup->totals.bytes_expected = bytes_expected (backup);
  backup->options->progress (&backup->totals, backup->options->progress_data);
}

/* ---- Uploads -------------------------------------------------------------- */

typedef struct
{
  CofferPackWriter *writer; /* full: finished by the uploader */
  GBytes *bytes;
  char name[COFFER_PACK_NAME_LENGTH + 1];
  GArray *entries;
} Upload;

static gboolean
write_index (Backup *backup, GCancellable *cancellable, GError **error)
{
  g_autoptr (GPtrArray) files = coffer_index_take_pending (backup->index, backup->options->keys);
  CofferStore *store = coffer_vault_get_store (backup->options->vault);

  for (guint i = 0; i < files->len; i++)
    {
      GBytes *file = g_ptr_array_index (files, i);
      g_autofree char *name = coffer_index_file_name (file);
      g_autofree char *object = coffer_index_object_name (backup->options->machine_id, name);
      g_autoptr (GError) local_error = NULL;

      if (!coffer_store_put_sync (store, object, file, COFFER_PUT_IF_ABSENT, NULL, NULL,
                                  cancellable, &local_error) &&
          !g_error_matches (local_error, COFFER_ERROR, COFFER_ERROR_EXISTS))
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                      "Writing index file %s: ", name);
          return FALSE;
        }
      add_counter (&backup->totals.bytes_sent, g_bytes_get_size (file));
    }
  return TRUE;
}

static void
upload_run (gpointer data, gpointer user_data)
{
  Upload *upload = data;
  Backup *backup = user_data;
  g_autofree char *object = NULL;
  guint8 pack_id[COFFER_BLOB_ID_SIZE];
  GError *error = NULL;
  gboolean checkpoint = FALSE;

  /* Encrypting the header and hashing 16 MiB happen here, in parallel with
   * the workers, not under the backup's lock. */
  upload->bytes = coffer_pack_writer_finish (upload->writer, upload->name, &upload->entries);
  g_clear_pointer (&upload->writer, coffer_pack_writer_free);
  object = coffer_pack_object_name (backup->options->machine_id, upload->name);

  if (!stopped (backup))
    {
      g_autoptr (GError) local_error = NULL;

      /* Content-named: one that is there already is this very pack. */
      if (coffer_store_put_sync (coffer_vault_get_store (backup->options->vault), object,
                                 upload->bytes, COFFER_PUT_IF_ABSENT, NULL, NULL,
                                 backup->cancellable, &local_error) ||
          g_error_matches (local_error, COFFER_ERROR, COFFER_ERROR_EXISTS))
        {
          guint64 stored = 0;

          for (guint i = 0; i < upload->entries->len; i++)
            {
              const CofferPackEntry *entry = &g_array_index (upload->entries, CofferPackEntry, i);
              if (entry->type == COFFER_BLOB_DATA)
                stored += entry->raw_length;
            }
          sub_counter (&backup->totals.bytes_pending, stored);
          add_counter (&backup->totals.bytes_sent, g_bytes_get_size (upload->bytes));
          maybe_report (backup);
          coffer_blob_id_from_hex (upload->name, pack_id);
          coffer_index_add_pack (backup->index, pack_id, upload->entries);
        }
      else
        {
          g_prefix_error (&local_error, "Writing pack %s: ", upload->name);
          fail (backup, g_steal_pointer (&local_error));
        }
    }

  g_mutex_lock (&backup->pending_lock);
  for (guint i = 0; i < upload->entries->len; i++)
    g_hash_table_remove (backup->pending_ids,
                         g_array_index (upload->entries, CofferPackEntry, i).id);
  g_mutex_unlock (&backup->pending_lock);

  g_mutex_lock (&backup->lock);
  backup->packs_in_flight--;
  backup->packs_since_checkpoint++;
  if (backup->error == NULL &&
      (backup->packs_since_checkpoint >= CHECKPOINT_PACKS ||
       g_get_monotonic_time () - backup->last_checkpoint > CHECKPOINT_SECONDS * G_USEC_PER_SEC))
    {
      checkpoint = TRUE;
      backup->packs_since_checkpoint = 0;
      backup->last_checkpoint = g_get_monotonic_time ();
    }
  g_cond_broadcast (&backup->cond);
  g_mutex_unlock (&backup->lock);

  /* An interrupted backup resumes from what the index names. */
  if (checkpoint && !write_index (backup, backup->cancellable, &error))
    fail (backup, error);

  g_bytes_unref (upload->bytes);
  g_array_unref (upload->entries);
  g_free (upload);
}

/* Where the pack writer of @type gathers its packs: data packs, filled
 * every few tenths of a second, in reused buffers. */
static CofferBufferPool *
writer_pool (Backup *backup, CofferBlobType type)
{
  return type == COFFER_BLOB_DATA ? backup->pack_buffers : NULL;
}

/* Hands the pack writer of @type to an uploader, which finishes it, and
 * starts a new one. Called with the lock held; waits while too many packs
 * are in flight. */
static void
flush_pack_locked (Backup *backup, CofferBlobType type)
{
  Upload *upload;

  if (coffer_pack_writer_get_count (backup->writers[type]) == 0)
    return;
  while (backup->packs_in_flight >= backup->n_uploaders + EXTRA_PACKS_IN_FLIGHT &&
         backup->error == NULL)
    g_cond_wait (&backup->cond, &backup->lock);
  /* Another thread may have flushed this writer while we waited. */
  if (coffer_pack_writer_get_count (backup->writers[type]) == 0)
    return;

  upload = g_new0 (Upload, 1);
  upload->writer = backup->writers[type];
  backup->writers[type] =
      coffer_pack_writer_new (backup->options->keys, type, writer_pool (backup, type));
  backup->packs_in_flight++;
  g_thread_pool_push (backup->uploaders, upload, NULL);
}

/* Compresses and encrypts a blob, then adds it to its pack. */
static void
seal_and_add (Backup *backup,
              CofferBlobType type,
              const guint8 id[COFFER_BLOB_ID_SIZE],
              const guint8 *data,
              gsize size)
{
  g_autoptr (GBytes) sealed = NULL;

  /* Compression and encryption run in parallel, outside the lock. */
  sealed = coffer_blob_seal (backup->options->keys, id, type, data, size,
                             COFFER_BLOB_DEFAULT_ZSTD_LEVEL);
  g_mutex_lock (&backup->lock);
  coffer_pack_writer_add (backup->writers[type], id, sealed, size);
  if (coffer_pack_writer_is_full (backup->writers[type]))
    flush_pack_locked (backup, type);
  g_mutex_unlock (&backup->lock);
}

typedef struct
{
  guint8 id[COFFER_BLOB_ID_SIZE];
  guint8 *data;
  gsize size;
} SealTask;

static void
seal_run (gpointer data, gpointer user_data)
{
  SealTask *task = data;
  Backup *backup = user_data;

  if (!stopped (backup))
    seal_and_add (backup, COFFER_BLOB_DATA, task->id, task->data, task->size);
  g_free (task->data);
  g_free (task);

  g_mutex_lock (&backup->lock);
  backup->queued_seals--;
  g_mutex_unlock (&backup->lock);
}

/* Stores a blob unless the vault or this backup has it already. */
static void
store_blob (Backup *backup,
            CofferBlobType type,
            const guint8 id[COFFER_BLOB_ID_SIZE],
            const guint8 *data,
            gsize size)
{
  SealTask *task;
  gboolean known;

  if (coffer_index_contains (backup->index, id))
    return;
  g_mutex_lock (&backup->pending_lock);
  known = !g_hash_table_add (backup->pending_ids, g_memdup2 (id, COFFER_BLOB_ID_SIZE));
  g_mutex_unlock (&backup->pending_lock);
  if (known)
    return;
  if (type == COFFER_BLOB_DATA)
    add_counter (&backup->totals.bytes_pending, size);

  if (type != COFFER_BLOB_DATA || size < SEAL_ELSEWHERE_MIN)
    {
      seal_and_add (backup, type, id, data, size);
      return;
    }

  /* A large chunk: an idle sealer compresses and encrypts it while this
   * worker reads and chunks on. When every sealer is busy the worker seals
   * it itself: waiting would leave its core idle, and the copy for the
   * sealer would be made for nothing. */
  g_mutex_lock (&backup->lock);
  if (backup->queued_seals >= backup->options->workers)
    {
      g_mutex_unlock (&backup->lock);
      seal_and_add (backup, type, id, data, size);
      return;
    }
  backup->queued_seals++;
  g_mutex_unlock (&backup->lock);

  task = g_new (SealTask, 1);
  memcpy (task->id, id, COFFER_BLOB_ID_SIZE);
  task->data = g_memdup2 (data, size);
  task->size = size;
  g_thread_pool_push (backup->sealers, task, NULL);
}

/* ---- Folders -------------------------------------------------------------- */

static Dir *
dir_new (Dir *parent, CofferNode *node)
{
  Dir *dir = g_new0 (Dir, 1);

  dir->parent = parent;
  dir->node = node;
  dir->nodes = g_ptr_array_new_with_free_func ((GDestroyNotify) coffer_node_free);
  g_mutex_init (&dir->lock);
  dir->pending = 1;
  return dir;
}

static void
dir_add (Dir *dir, CofferNode *node)
{
  g_mutex_lock (&dir->lock);
  g_ptr_array_add (dir->nodes, node);
  g_mutex_unlock (&dir->lock);
}

static int
compare_nodes (gconstpointer a, gconstpointer b)
{
  const CofferNode *x = *(CofferNode *const *) a;
  const CofferNode *y = *(CofferNode *const *) b;

  return strcmp (x->name, y->name);
}

static void dir_release (Backup *backup, Dir *dir);

/* The folder has all its entries: its tree blob can be written. */
static void
dir_finish (Backup *backup, Dir *dir)
{
  g_autoptr (GBytes) tree = NULL;
  guint8 id[COFFER_TREE_ID_SIZE];
  Dir *parent = dir->parent;
  gsize size;
  const guint8 *data;

  g_ptr_array_sort (dir->nodes, compare_nodes);
  tree = coffer_tree_serialize (dir->nodes);
  data = g_bytes_get_data (tree, &size);
  coffer_blob_id (backup->options->keys, data, size, id);
  store_blob (backup, COFFER_BLOB_TREE, id, data, size);

  if (dir->node != NULL)
    {
      memcpy (dir->node->subtree, id, sizeof id);
      dir->node->has_subtree = TRUE;
    }
  else
    {
      memcpy (backup->root_id, id, sizeof id);
      g_mutex_lock (&backup->lock);
      backup->root_done = TRUE;
      g_cond_broadcast (&backup->cond);
      g_mutex_unlock (&backup->lock);
    }

  g_ptr_array_unref (dir->nodes);
  g_mutex_clear (&dir->lock);
  g_free (dir);
  if (parent != NULL)
    dir_release (backup, parent);
}

static void
dir_release (Backup *backup, Dir *dir)
{
  if (g_atomic_int_dec_and_test (&dir->pending))
    dir_finish (backup, dir);
}

/* ---- Hardlinks ------------------------------------------------------------ */

static void
link_group_free (LinkGroup *group)
{
  g_free (group->first_path);
  g_clear_pointer (&group->later_paths, g_ptr_array_unref);
  g_free (group);
}

static void
report_lost_name (Backup *backup, const char *path, const char *first_path)
{
  g_autofree char *reason = NULL;

  if (stopped (backup))
    return;
  reason = g_strdup_printf ("It is another name of %s, which could not be backed up.", first_path);
  add_failed (backup, path, reason);
  add_counter (&backup->lost_link_names, 1);
}

/* The hardlink group of a file with several names, made at the first of
 * them (*out_first), whichever walker meets it: that name holds the
 * content, later ones refer to it. 0 for a file with one name. */
static gsize
hardlink_group (Backup *backup, const struct stat *st, const char *path, gboolean *out_first)
{
  g_autofree char *key = NULL;
  gsize group;

  *out_first = FALSE;
  if (st->st_nlink <= 1)
    return 0;
  key = g_strdup_printf ("%ju:%ju", (uintmax_t) st->st_dev, (uintmax_t) st->st_ino);
  g_mutex_lock (&backup->hardlinks_lock);
  group = GPOINTER_TO_SIZE (g_hash_table_lookup (backup->hardlinks, key));
  if (group == 0)
    {
      LinkGroup *made = g_new0 (LinkGroup, 1);

      made->first_path = g_strdup (path);
      g_ptr_array_add (backup->link_groups, made);
      group = backup->link_groups->len;
      g_hash_table_insert (backup->hardlinks, g_steal_pointer (&key), GSIZE_TO_POINTER (group));
      *out_first = TRUE;
    }
  g_mutex_unlock (&backup->hardlinks_lock);
  return group;
}

/* Notes a later name of hardlink @group, now in the point. While the first
 * name's content is pending its path is kept, to be reported should the
 * content be lost; once it is lost, it is reported at once. */
static void
note_later_name (Backup *backup, gsize group, const char *path)
{
  g_autofree char *lost_first = NULL;
  LinkGroup *known;

  g_mutex_lock (&backup->hardlinks_lock);
  known = g_ptr_array_index (backup->link_groups, group - 1);
  if (known->state == LINK_PENDING)
    {
      if (known->later_paths == NULL)
        known->later_paths = g_ptr_array_new_with_free_func (g_free);
      g_ptr_array_add (known->later_paths, g_strdup (path));
    }
  else if (known->state == LINK_LOST)
    lost_first = g_strdup (known->first_path);
  g_mutex_unlock (&backup->hardlinks_lock);
  if (lost_first != NULL)
    report_lost_name (backup, path, lost_first);
}

/* Settles whether hardlink @group's first name has its content in the point
 * (@stored) or not: it could not be read, or was gone. The later names met
 * so far, which refer to that content, are then reported if it is not. */
static void
settle_link_group (Backup *backup, gsize group, gboolean stored)
{
  g_autoptr (GPtrArray) later_paths = NULL;
  LinkGroup *settled;

  if (group == 0)
    return;
  g_mutex_lock (&backup->hardlinks_lock);
  settled = g_ptr_array_index (backup->link_groups, group - 1);
  settled->state = stored ? LINK_STORED : LINK_LOST;
  later_paths = g_steal_pointer (&settled->later_paths);
  g_mutex_unlock (&backup->hardlinks_lock);
  /* first_path is written once, when the group is made: no lock needed. */
  for (guint i = 0; !stored && later_paths != NULL && i < later_paths->len; i++)
    report_lost_name (backup, g_ptr_array_index (later_paths, i), settled->first_path);
}

/* ---- Files ---------------------------------------------------------------- */

/* Only a file with fewer blocks than its size can have holes: asking the
 * filesystem for the others costs two system calls each, for nothing. */
static gboolean
maybe_sparse (const struct stat *st)
{
  return (guint64) st->st_blocks * 512 < (guint64) st->st_size;
}

static gboolean
read_all (int fd, guint8 *buffer, gsize size, guint64 offset, gsize *out_read, int *out_errno)
{
  gsize done = 0;

  while (done < size)
    {
      ssize_t n = pread (fd, buffer + done, size - done, offset + done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          *out_errno = errno;
          return FALSE;
        }
      if (n == 0)
        break;
      done += n;
    }
  *out_read = done;
  return TRUE;
}

/* Reads the file's data extents, chunking across them, and stores each new
 * chunk. Returns FALSE (with a reason) when the file could not be read. */
static gboolean
read_file (Backup *backup,
           FileTask *task,
           const struct stat *st,
           guint8 *buffer,
           GArray *chunks,
           char **reason)
{
  g_autoptr (GArray) extents = NULL;
  g_autoptr (GError) error = NULL;
  CofferExtent whole = { 0, task->node->size };
  guint n_extents;
  gsize buffered = 0;

  if (maybe_sparse (st))
    extents = coffer_metadata_sparse_extents (task->fd, task->node->size, &error);
  if (error != NULL)
    {
      *reason = g_strdup (error->message);
      return FALSE;
    }
  n_extents = extents != NULL ? extents->len : 1;

  for (guint e = 0; e < n_extents; e++)
    {
      const CofferExtent *extent =
          extents != NULL ? &g_array_index (extents, CofferExtent, e) : &whole;
      guint64 offset = extent->offset;
      guint64 end = extent->offset + extent->length;
      gboolean last_extent = e + 1 == n_extents;

      while (offset < end || buffered > 0)
        {
          gsize want = MIN (READ_BUFFER_SIZE - buffered, end - offset);
          gsize got = 0;
          gsize consumed = 0;
          gboolean at_eof;
          int saved_errno = 0;

          if (stopped (backup))
            return TRUE;
          if (want > 0 && !read_all (task->fd, buffer + buffered, want, offset, &got, &saved_errno))
            {
              *reason = g_strdup_printf ("Cannot read it: %s", g_strerror (saved_errno));
              return FALSE;
            }
          if (got < want)
            end = offset + got; /* the file shrank: what is there is all */
          offset += got;
          buffered += got;
          add_counter (&backup->totals.bytes_read, got);
          add_counter (&backup->totals.bytes_scanned, got);
          maybe_report (backup);
          at_eof = offset >= end && last_extent;

          /* Cut as many chunks as the buffer holds; keep the rest. Chunks
           * continue across extents: the holes are simply not there. */
          while (consumed < buffered)
            {
              gsize length = coffer_chunker_next (backup->chunker, buffer + consumed,
                                                  buffered - consumed, at_eof);
              guint8 id[COFFER_BLOB_ID_SIZE];

              if (length == 0)
                break;
              coffer_blob_id (backup->options->keys, buffer + consumed, length, id);
              store_blob (backup, COFFER_BLOB_DATA, id, buffer + consumed, length);
              g_array_append_val (chunks, id);
              consumed += length;
            }
          memmove (buffer, buffer + consumed, buffered - consumed);
          buffered -= consumed;
          if (offset >= end && (!last_extent || buffered == 0))
            break;
        }
    }
  task->node->extents = g_steal_pointer (&extents);
  return TRUE;
}

static gboolean
same_stamp (const struct stat *a, const struct stat *b)
{
  return a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
         a->st_mtim.tv_nsec == b->st_mtim.tv_nsec && a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
         a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static gboolean
all_known (Backup *backup, GArray *chunks)
{
  for (guint i = 0; i < chunks->len; i++)
    if (!coffer_index_contains (backup->index, &g_array_index (chunks, guint8, i * 32)))
      return FALSE;
  return TRUE;
}

static void
stamp_from_stat (CofferFileStamp *stamp, const struct stat *st, guint64 fsid)
{
  stamp->fsid = fsid;
  stamp->inode = st->st_ino;
  stamp->size = st->st_size;
  stamp->mtime_ns = st->st_mtim.tv_sec * G_GINT64_CONSTANT (1000000000) + st->st_mtim.tv_nsec;
  stamp->ctime_ns = st->st_ctim.tv_sec * G_GINT64_CONSTANT (1000000000) + st->st_ctim.tv_nsec;
}

/* The files cache's key for a file: its path, or NULL — its filesystem
 * and inode — when it has several names. Walkers meet a hardlink's names
 * in no set order, and whichever they meet first holds its content: the
 * row the last backup wrote must be found under any of them. */
static const char *
cache_key (const char *path, const struct stat *st)
{
  return st->st_nlink > 1 ? NULL : path;
}

/* The file's chunks from the files cache when it is unchanged and every
 * chunk is in the index: the walker then need not open it. Its row stays as
 * it is: writing it again would change nothing. */
static GArray *
take_from_cache (Backup *backup, const char *path, const struct stat *st, guint64 fsid)
{
  CofferFileStamp stamp;
  g_autoptr (GArray) cached = NULL;

  stamp_from_stat (&stamp, st, fsid);
  cached = coffer_files_cache_lookup (backup->files_cache, cache_key (path, st), &stamp);
  if (cached == NULL || !all_known (backup, cached))
    return NULL;
  return g_steal_pointer (&cached);
}

/* Each worker thread reads into one buffer for all its files: allocating
 * 8 MiB a file, and faulting its pages in, cost more than small files do. */
static GPrivate read_buffer_key = G_PRIVATE_INIT (g_free);

static guint8 *
thread_read_buffer (void)
{
  guint8 *buffer = g_private_get (&read_buffer_key);

  if (buffer == NULL)
    {
      buffer = g_malloc (READ_BUFFER_SIZE);
      g_private_set (&read_buffer_key, buffer);
    }
  return buffer;
}

static void
file_process (Backup *backup, FileTask *task)
{
  CofferFileStamp stamp = { 0 };
  guint8 *buffer;
  g_autofree char *reason = NULL;
  struct stat before = task->st;
  struct stat after;
  gboolean ok = FALSE;

  if (stopped (backup))
    goto done;

  stamp_from_stat (&stamp, &before, task->fsid);

  buffer = thread_read_buffer ();
  /* A file that changes while it is read is read once more, then reported. */
  for (int attempt = 0; attempt < 2 && !ok; attempt++)
    {
      g_autoptr (GArray) chunks = g_array_new (FALSE, FALSE, COFFER_BLOB_ID_SIZE);

      g_clear_pointer (&reason, g_free);
      g_clear_pointer (&task->node->extents, g_array_unref);
      if (!read_file (backup, task, &before, buffer, chunks, &reason))
        break;
      if (fstat (task->fd, &after) != 0 || !same_stamp (&before, &after))
        {
          reason = g_strdup ("It changed while it was read.");
          before = after;
          task->node->size = after.st_size;
          continue;
        }
      task->node->chunks = g_steal_pointer (&chunks);
      ok = TRUE;
    }
  if (ok)
    {
      gint64 now = g_get_real_time () / G_USEC_PER_SEC;

      add_counter (&backup->totals.files_read, 1);
      /* Touched within a second of being read: it may still be changing.
       * A sparse file is read again each time: the cache keeps no holes. */
      if (now - before.st_mtim.tv_sec > 1 && now - before.st_ctim.tv_sec > 1 &&
          task->node->extents == NULL)
        coffer_files_cache_stage (backup->files_cache, cache_key (task->path, &task->st), &stamp,
                                  task->node->chunks);
    }

done:
  if (ok)
    {
      add_counter (&backup->files_stored, 1);
      settle_link_group (backup, task->node->hardlink_group, TRUE);
      dir_add (task->dir, task->node);
    }
  else
    {
      if (!stopped (backup))
        add_failed (backup, task->path, reason != NULL ? reason : "It could not be read.");
      settle_link_group (backup, task->node->hardlink_group, FALSE);
      coffer_node_free (task->node);
    }
  close (task->fd);
  dir_release (backup, task->dir);
  g_free (task->path);
  g_free (task);
}

static void
file_run (gpointer data, gpointer user_data)
{
  FileBatch *batch = data;
  Backup *backup = user_data;

  guint n_tasks = batch->n_tasks;

  for (guint i = 0; i < n_tasks; i++)
    file_process (backup, batch->tasks[i]);
  g_free (batch);

  g_mutex_lock (&backup->lock);
  backup->queued_batches--;
  g_atomic_int_add (&backup->open_files, -(gint) n_tasks);
  /* Waking walkers only when one waits spares a system call a batch. */
  if (backup->walkers_waiting > 0)
    g_cond_broadcast (&backup->room_cond);
  g_mutex_unlock (&backup->lock);
}

/* Hands the walker's batch to the workers, once one of them has room. */
static void
submit_batch (Walker *walker)
{
  Backup *backup = walker->backup;

  if (walker->batch == NULL || walker->batch->n_tasks == 0)
    return;

  g_mutex_lock (&backup->lock);
  while (backup->queued_batches >= MAX_QUEUED_BATCHES_PER_WORKER * backup->options->workers &&
         backup->error == NULL)
    {
      backup->walkers_waiting++;
      g_cond_wait (&backup->room_cond, &backup->lock);
      backup->walkers_waiting--;
    }
  backup->queued_batches++;
  g_mutex_unlock (&backup->lock);

  g_thread_pool_push (backup->workers, g_steal_pointer (&walker->batch), NULL);
}

/* Takes one of the open files the cap allows, if one is left. */
static gboolean
take_open_file (Backup *backup)
{
  gint open = g_atomic_int_get (&backup->open_files);

  while (open < backup->max_open_files)
    {
      if (g_atomic_int_compare_and_exchange (&backup->open_files, open, open + 1))
        return TRUE;
      open = g_atomic_int_get (&backup->open_files);
    }
  return FALSE;
}

/* Waits, before a walker opens a file, while too many are open: the
 * workers close them as they finish batches. The walker's own batch is
 * handed over first, since no worker could close those files otherwise. */
static void
reserve_open_file (Walker *walker)
{
  Backup *backup = walker->backup;

  gboolean taken;

  if (take_open_file (backup))
    return;
  g_mutex_lock (&backup->lock);
  while (!(taken = take_open_file (backup)) && backup->error == NULL)
    {
      if (walker->batch != NULL && walker->batch->n_tasks > 0)
        {
          g_mutex_unlock (&backup->lock);
          submit_batch (walker);
          g_mutex_lock (&backup->lock);
          continue;
        }
      backup->walkers_waiting++;
      g_cond_wait (&backup->room_cond, &backup->lock);
      backup->walkers_waiting--;
    }
  /* Stopping: the caller releases it all the same. */
  if (!taken)
    g_atomic_int_inc (&backup->open_files);
  g_mutex_unlock (&backup->lock);
}

static void
release_open_file (Backup *backup)
{
  g_atomic_int_add (&backup->open_files, -1);
}

static void
queue_file (Walker *walker, FileTask *task)
{
  if (walker->batch == NULL)
    walker->batch = g_new0 (FileBatch, 1);
  walker->batch->tasks[walker->batch->n_tasks++] = task;
  walker->batch->bytes += task->st.st_size;
  if (walker->batch->n_tasks == BATCH_FILES || walker->batch->bytes >= BATCH_BYTES)
    submit_batch (walker);
}

/* ---- Walking -------------------------------------------------------------- */

static gboolean
is_cachedir (int dirfd)
{
  char head[sizeof cachedir_signature - 1];
  int fd = openat (dirfd, "CACHEDIR.TAG", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  gboolean tagged;

  if (fd < 0)
    return FALSE;
  tagged = read (fd, head, sizeof head) == (ssize_t) sizeof head &&
           memcmp (head, cachedir_signature, sizeof head) == 0;
  close (fd);
  return tagged;
}

static char *
child_path (const char *parent, const char *name)
{
  return g_str_equal (parent, "/") ? g_strconcat ("/", name, NULL)
                                   : g_strconcat (parent, "/", name, NULL);
}

static void walk_dir (Walker *walker, Dir *dir, int fd, const char *path, dev_t dev, guint64 fsid);
static gboolean
hand_over (Walker *walker, Dir *dir, int fd, const char *path, dev_t dev, guint64 fsid);

/* O_NONBLOCK: should a file have become a fifo since it was listed,
 * opening it does not wait for a writer. */
#define OPEN_FILE_FLAGS (O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)

/* Captures a regular file that is not to be read: through @fd when the
 * walker opened it already (closed here), through a descriptor opened just
 * for that otherwise, or, when it cannot be opened for reading (it may
 * still be listed), as any other entry. */
static CofferNode *
capture_unread (
    Backup *backup, int dirfd, const char *name, const char *path, struct stat *st, int fd)
{
  g_autoptr (GError) error = NULL;
  CofferNode *node = NULL;
  gboolean skip = FALSE;
  struct stat now;

  if (fd >= 0)
    {
      node = coffer_metadata_capture_open_file (fd, name, st, backup->ids, path, NULL);
      close (fd);
      release_open_file (backup);
      if (node != NULL)
        return node;
    }
  else if ((fd = openat (dirfd, name, OPEN_FILE_FLAGS)) >= 0)
    {
      if (fstat (fd, &now) == 0 && now.st_dev == st->st_dev && now.st_ino == st->st_ino)
        node = coffer_metadata_capture_open_file (fd, name, st, backup->ids, path, NULL);
      close (fd);
      if (node != NULL)
        return node;
    }
  node = coffer_metadata_capture (dirfd, name, st, backup->ids, path, &skip, &error);
  if (node == NULL)
    add_failed (backup, path, error != NULL ? error->message : "It could not be read.");
  return node;
}

/* Handles a regular file, as @listed describes it: its fstat when @fd is
 * the file open already (counted among the open files; walk_file() closes
 * it), its fstatat when @fd is -1. One that is empty, unchanged since the
 * last backup, or a further name of a hardlink is not read: the walker
 * captures it and goes on. Any other is opened once, for its extended
 * attributes and for a worker to read. */
static void
walk_file (Walker *walker,
           Dir *dir,
           int dirfd,
           const char *name,
           const char *path,
           guint64 fsid,
           const struct stat *listed,
           int fd)
{
  Backup *backup = walker->backup;
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) chunks = NULL;
  gboolean from_cache = FALSE;
  gboolean first_name;
  gsize link_group;
  CofferNode *node;
  FileTask *task;
  struct stat st = *listed;

  add_counter (&backup->totals.files_scanned, 1);

  /* A hardlink's content is stored once, with the first of its names. */
  link_group = hardlink_group (backup, &st, path, &first_name);
  if (link_group == 0 || first_name)
    add_counter (&backup->bytes_found, st.st_size);
  if (st.st_size == 0 || (link_group != 0 && !first_name))
    chunks = g_array_new (FALSE, FALSE, COFFER_BLOB_ID_SIZE);
  else
    from_cache = (chunks = take_from_cache (backup, path, &st, fsid)) != NULL;
  if (chunks != NULL)
    {
      node = capture_unread (backup, dirfd, name, path, &st, fd);
      if (first_name)
        settle_link_group (backup, link_group, node != NULL);
      if (node == NULL)
        return;
      if (link_group != 0 && !first_name)
        note_later_name (backup, link_group, path);
      node->hardlink_group = link_group;
      if (from_cache)
        add_counter (&backup->totals.bytes_scanned, st.st_size);
      node->chunks = g_steal_pointer (&chunks);
      add_counter (&backup->files_stored, 1);
      dir_add (dir, node);
      return;
    }

  if (fd < 0)
    {
      reserve_open_file (walker);
      fd = openat (dirfd, name, OPEN_FILE_FLAGS);
      if (fd < 0)
        {
          int saved_errno = errno;
          g_autofree char *reason =
              g_strdup_printf ("Cannot open it: %s", g_strerror (saved_errno));
          if (saved_errno != ENOENT) /* gone since the listing: nothing to back up */
            add_failed (backup, path, reason);
          settle_link_group (backup, link_group, FALSE);
          release_open_file (backup);
          return;
        }
      if (fstat (fd, &st) != 0)
        st.st_mode = 0;
    }
  if (!S_ISREG (st.st_mode) || st.st_dev != listed->st_dev || st.st_ino != listed->st_ino)
    {
      add_failed (backup, path,
                  "It was replaced while it was being backed up; it is backed up "
                  "next time.");
      settle_link_group (backup, link_group, FALSE);
      close (fd);
      release_open_file (backup);
      return;
    }
  node = coffer_metadata_capture_open_file (fd, name, &st, backup->ids, path, &error);
  if (node == NULL)
    {
      add_failed (backup, path, error->message);
      settle_link_group (backup, link_group, FALSE);
      close (fd);
      release_open_file (backup);
      return;
    }
  node->hardlink_group = link_group;

  task = g_new0 (FileTask, 1);
  task->backup = backup;
  task->dir = dir;
  task->node = node;
  task->fd = fd;
  task->st = st;
  task->path = g_strdup (path);
  task->fsid = fsid;
  g_atomic_int_inc (&dir->pending);
  queue_file (walker, task);
}

/* Handles one entry of a folder being walked; @type is its d_type from the
 * listing, DT_UNKNOWN when there was none. */
static void
walk_entry (Walker *walker,
            Dir *dir,
            int dirfd,
            const char *name,
            const char *path,
            dev_t dev,
            guint64 fsid,
            guchar type)
{
  Backup *backup = walker->backup;
  g_autoptr (GError) error = NULL;
  CofferNode *node;
  gboolean skip = FALSE;
  struct stat st;

  if (g_hash_table_contains (backup->skip, path))
    return;

  /* A file the listing says is regular is opened straight away and its
   * fstat used: one system call fewer, and no second lookup of its name.
   * Anything else, or one that cannot be opened, is looked at by name. */
  if (type == DT_REG && !coffer_policy_is_excluded (backup->options->policy, path, FALSE))
    {
      int fd;

      reserve_open_file (walker);
      fd = openat (dirfd, name, OPEN_FILE_FLAGS);
      if (fd >= 0 && fstat (fd, &st) == 0 && S_ISREG (st.st_mode))
        {
          walk_file (walker, dir, dirfd, name, path, fsid, &st, fd);
          return;
        }
      if (fd >= 0)
        close (fd);
      release_open_file (backup);
    }

  if (fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
    {
      int saved_errno = errno;
      if (saved_errno != ENOENT) /* gone since the listing: nothing to back up */
        add_failed (backup, path, g_strerror (saved_errno));
      return;
    }
  if (S_ISSOCK (st.st_mode) ||
      coffer_policy_is_excluded (backup->options->policy, path, S_ISDIR (st.st_mode)))
    return;
  if (S_ISREG (st.st_mode))
    {
      walk_file (walker, dir, dirfd, name, path, fsid, &st, -1);
      return;
    }

  node = coffer_metadata_capture (dirfd, name, &st, backup->ids, path, &skip, &error);
  if (node == NULL)
    {
      if (!skip)
        add_failed (backup, path, error != NULL ? error->message : "It could not be read.");
      return;
    }

  if (S_ISDIR (st.st_mode))
    {
      Dir *child;
      int fd;

      /* Another filesystem below an item is followed only when selected. */
      if (st.st_dev != dev && !g_hash_table_contains (backup->items, path))
        {
          dir_add (dir, node);
          child = dir_new (dir, node);
          g_atomic_int_inc (&dir->pending);
          dir_release (backup, child);
          return;
        }
      fd = openat (dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        {
          int saved_errno = errno;
          add_failed (backup, path, g_strerror (saved_errno));
          coffer_node_free (node);
          return;
        }
      dir_add (dir, node);
      child = dir_new (dir, node);
      g_atomic_int_inc (&dir->pending);
      /* A pool walker with nothing to do takes the subfolder over. */
      if (hand_over (walker, child, fd, path, st.st_dev, st.st_dev == dev ? fsid : 0))
        return;
      walk_dir (walker, child, fd, path, st.st_dev, st.st_dev == dev ? fsid : 0);
      close (fd);
      return;
    }

  /* Symlinks, fifos, devices: their metadata is all there is. */
  dir_add (dir, node);
}

/* Lists the folder open as @fd into @names, each name after a byte that
 * holds its d_type. getdents64() on @fd itself spares the dup(),
 * fdopendir() and closedir() of a directory stream: four system calls, more
 * than listing a small folder takes. Returns 0, or the errno of a listing
 * that failed part way (what was listed before is kept). */
static int
list_folder (Walker *walker, int fd, GPtrArray *names)
{
  for (;;)
    {
      ssize_t got = getdents64 (fd, walker->listing, sizeof walker->listing);

      if (got < 0 && errno == EINTR)
        continue;
      if (got < 0)
        return errno;
      if (got == 0)
        return 0;
      for (ssize_t at = 0; at < got;)
        {
          const struct dirent64 *entry = (const struct dirent64 *) ((char *) walker->listing + at);
          gsize length = strlen (entry->d_name);
          char *item;

          at += entry->d_reclen;
          if (g_str_equal (entry->d_name, ".") || g_str_equal (entry->d_name, ".."))
            continue;
          item = g_malloc (length + 2);
          item[0] = (char) entry->d_type;
          memcpy (item + 1, entry->d_name, length + 1);
          g_ptr_array_add (names, item);
        }
    }
}

/* Walks the folder open as @fd, then releases the walker's hold on @dir.
 * @fsid is its filesystem's id when the caller knows it, 0 otherwise. */
static void
walk_dir (Walker *walker, Dir *dir, int fd, const char *path, dev_t dev, guint64 fsid)
{
  Backup *backup = walker->backup;
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  gboolean cachedir = FALSE;
  struct statfs fs;
  int list_errno;

  if (fsid == 0 && fstatfs (fd, &fs) == 0)
    memcpy (&fsid, &fs.f_fsid, MIN (sizeof fsid, sizeof fs.f_fsid));

  list_errno = list_folder (walker, fd, names);
  if (list_errno != 0)
    {
      g_autofree char *reason = g_strdup_printf ("Cannot list it: %s", g_strerror (list_errno));
      add_failed (backup, path, reason);
    }

  /* A cache folder keeps only its tag: its contents can be rebuilt. */
  for (guint i = 0; i < names->len && !cachedir; i++)
    if (g_str_equal ((char *) g_ptr_array_index (names, i) + 1, "CACHEDIR.TAG"))
      cachedir = is_cachedir (fd);
  for (guint i = 0; i < names->len && !stopped (backup); i++)
    {
      const char *item = g_ptr_array_index (names, i);
      const char *name = item + 1;
      g_autofree char *child = child_path (path, name);

      if (cachedir && !g_str_equal (name, "CACHEDIR.TAG"))
        continue;
      walk_entry (walker, dir, fd, name, child, dev, fsid, (guchar) item[0]);
      maybe_report (backup);
    }
  dir_release (backup, dir);
}

/* A subfolder a pool walker walks for another walker. */
typedef struct
{
  Dir *dir;
  int fd;
  char *path;
  dev_t dev;
  guint64 fsid;
} Subfolder;

static void
subfolder_run (gpointer data, gpointer user_data)
{
  Subfolder *subfolder = data;
  Backup *backup = user_data;
  g_autofree Walker *walker = g_new0 (Walker, 1);

  walker->backup = backup;
  walk_dir (walker, subfolder->dir, subfolder->fd, subfolder->path, subfolder->dev,
            subfolder->fsid);
  close (subfolder->fd);
  submit_batch (walker);
  g_free (subfolder->path);
  g_free (subfolder);

  g_atomic_int_inc (&backup->idle_walkers);
  g_mutex_lock (&backup->lock);
  if (--backup->subfolders_handed == 0)
    g_cond_signal (&backup->walked_cond);
  g_mutex_unlock (&backup->lock);
}

/* Hands the subfolder open as @fd over to an idle pool walker, if there is
 * one: a whole subtree at a time, so that walkers seldom wait for each
 * other. On two cores a backup with nothing new to read lists and looks up
 * files on both. Returns %FALSE when the caller is to walk it itself. */
static gboolean
hand_over (Walker *walker, Dir *dir, int fd, const char *path, dev_t dev, guint64 fsid)
{
  Backup *backup = walker->backup;
  Subfolder *subfolder;
  gint idle;

  do
    {
      idle = g_atomic_int_get (&backup->idle_walkers);
      if (idle == 0)
        return FALSE;
    }
  while (!g_atomic_int_compare_and_exchange (&backup->idle_walkers, idle, idle - 1));

  g_mutex_lock (&backup->lock);
  backup->subfolders_handed++;
  g_mutex_unlock (&backup->lock);
  subfolder = g_new0 (Subfolder, 1);
  subfolder->dir = dir;
  subfolder->fd = fd;
  subfolder->path = g_strdup (path);
  subfolder->dev = dev;
  subfolder->fsid = fsid;
  g_thread_pool_push (backup->walkers, subfolder, NULL);
  return TRUE;
}

/* The folders on the way to the items ("/", "/home", "/home/u" for
 * /home/u/Documents) are walked too, but list only what leads to an item. */
typedef struct
{
  GHashTable *children; /* name → Prefix */
  gboolean is_item;
} Prefix;

static void
prefix_free (Prefix *prefix)
{
  g_hash_table_unref (prefix->children);
  g_free (prefix);
}

static Prefix *
prefix_new (void)
{
  Prefix *prefix = g_new0 (Prefix, 1);

  prefix->children =
      g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) prefix_free);
  return prefix;
}

static void
walk_prefix (Walker *walker, Dir *dir, Prefix *prefix, int fd, const char *path)
{
  Backup *backup = walker->backup;
  g_autoptr (GList) names = g_hash_table_get_keys (prefix->children);
  struct statfs fs;
  guint64 fsid = 0;

  if (fstatfs (fd, &fs) == 0)
    memcpy (&fsid, &fs.f_fsid, MIN (sizeof fsid, sizeof fs.f_fsid));

  for (GList *l = names; l != NULL && !stopped (backup); l = l->next)
    {
      const char *name = l->data;
      Prefix *child = g_hash_table_lookup (prefix->children, name);
      g_autofree char *child_name = child_path (path, name);
      g_autoptr (GError) error = NULL;
      struct stat st;
      CofferNode *node;
      gboolean skip = FALSE;
      int child_fd;

      if (child->is_item)
        {
          /* The item itself, walked in full, on its own filesystem. */
          if (fstatat (fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            {
              int saved_errno = errno;
              add_failed (backup, child_name, g_strerror (saved_errno));
              continue;
            }
          walk_entry (walker, dir, fd, name, child_name, st.st_dev, fsid, DT_UNKNOWN);
          continue;
        }

      if (fstatat (fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR (st.st_mode) ||
          (node = coffer_metadata_capture (fd, name, &st, backup->ids, child_name, &skip,
                                           &error)) == NULL)
        {
          add_failed (backup, child_name, "The folder leading to a backup item cannot be read.");
          continue;
        }
      child_fd = openat (fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (child_fd < 0)
        {
          int saved_errno = errno;
          add_failed (backup, child_name, g_strerror (saved_errno));
          coffer_node_free (node);
          continue;
        }
      dir_add (dir, node);
      g_atomic_int_inc (&dir->pending);
      {
        Dir *child_dir = dir_new (dir, node);
        walk_prefix (walker, child_dir, child, child_fd, child_name);
        dir_release (backup, child_dir);
      }
      close (child_fd);
    }
}

static Prefix *
build_prefixes (GPtrArray *items)
{
  Prefix *root = prefix_new ();

  for (guint i = 0; i < items->len; i++)
    {
      const char *item = g_ptr_array_index (items, i);
      g_auto (GStrv) parts = g_strsplit (item + 1, "/", -1);
      Prefix *prefix = root;

      if (g_str_equal (item, "/"))
        {
          root->is_item = TRUE;
          continue;
        }
      for (guint p = 0; parts[p] != NULL; p++)
        {
          Prefix *child = g_hash_table_lookup (prefix->children, parts[p]);

          if (child == NULL)
            {
              child = prefix_new ();
              g_hash_table_insert (prefix->children, g_strdup (parts[p]), child);
            }
          prefix = child;
        }
      prefix->is_item = TRUE;
    }
  return root;
}

/* ---- The estimate ---------------------------------------------------------- */

/* The folders never backed up, whatever the policy says: @skip_paths and
 * the kernel's own. */
static GHashTable *
skip_set_new (const char *const *skip_paths)
{
  GHashTable *skip = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; skip_paths != NULL && skip_paths[i] != NULL; i++)
    g_hash_table_add (skip, g_canonicalize_filename (skip_paths[i], "/"));
  g_hash_table_add (skip, g_strdup ("/proc"));
  g_hash_table_add (skip, g_strdup ("/sys"));
  g_hash_table_add (skip, g_strdup ("/dev"));
  g_hash_table_add (skip, g_strdup ("/run"));
  return skip;
}

typedef struct
{
  CofferPolicy *policy;
  GHashTable *skip;
  GHashTable *linked; /* "dev:inode" of files with several names, counted */
  GCancellable *cancellable;
  Walker lister; /* for its listing buffer */
} Sizer;

static guint64
size_file (Sizer *sizer, const struct stat *st)
{
  if (st->st_nlink > 1 &&
      !g_hash_table_add (sizer->linked, g_strdup_printf ("%ju:%ju", (uintmax_t) st->st_dev,
                                                         (uintmax_t) st->st_ino)))
    return 0;
  return st->st_size;
}

static guint64
size_dir (Sizer *sizer, int fd, const char *path, dev_t dev)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  guint64 total = 0;

  list_folder (&sizer->lister, fd, names);
  /* A cache folder keeps only its tag. */
  for (guint i = 0; i < names->len; i++)
    {
      struct stat st;

      if (g_str_equal ((char *) g_ptr_array_index (names, i) + 1, "CACHEDIR.TAG") &&
          is_cachedir (fd))
        return fstatat (fd, "CACHEDIR.TAG", &st, AT_SYMLINK_NOFOLLOW) == 0 ? size_file (sizer, &st)
                                                                           : 0;
    }
  for (guint i = 0; i < names->len && !g_cancellable_is_cancelled (sizer->cancellable); i++)
    {
      const char *item = g_ptr_array_index (names, i);
      const char *name = item + 1;
      g_autofree char *child = child_path (path, name);
      guchar type = (guchar) item[0];
      struct stat st;
      int child_fd;

      if (g_hash_table_contains (sizer->skip, child))
        continue;
      if (type == DT_UNKNOWN)
        {
          if (fstatat (fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
          type = S_ISREG (st.st_mode) ? DT_REG : S_ISDIR (st.st_mode) ? DT_DIR : DT_UNKNOWN;
        }
      if (type == DT_REG && !coffer_policy_is_excluded (sizer->policy, child, FALSE) &&
          fstatat (fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG (st.st_mode))
        total += size_file (sizer, &st);
      else if (type == DT_DIR && !coffer_policy_is_excluded (sizer->policy, child, TRUE) &&
               (child_fd = openat (fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) >= 0)
        {
          if (fstat (child_fd, &st) == 0 && st.st_dev == dev)
            total += size_dir (sizer, child_fd, child, dev);
          close (child_fd);
        }
    }
  return total;
}

/* Whether @item lies below another of @items: it is totalled with that one. */
static gboolean
below_another_item (GPtrArray *items, const char *item)
{
  for (guint i = 0; i < items->len; i++)
    {
      const char *other = g_ptr_array_index (items, i);
      gsize length = strlen (other);

      if (!g_str_equal (other, item) && strncmp (item, other, length) == 0 &&
          (item[length] == '/' || g_str_equal (other, "/")))
        return TRUE;
    }
  return FALSE;
}

/**
 * coffer_backup_estimate:
 * @policy: what to back up
 * @skip_paths: (array zero-terminated=1) (nullable): folders never backed up,
 *   as for coffer_backup_run()
 * @cancellable: (nullable): stops the count; what was counted is returned
 *
 * Totals the sizes of the regular files a backup of @policy would look at,
 * without opening any: the walk's rules apply (exclusions, skipped folders,
 * folders holding a `CACHEDIR.TAG`, other filesystems below an item), and a
 * file with several names counts once. A first backup runs this in a
 * thread of its own for its ETA: one fstatat() a file, about a thirtieth of
 * the backup's CPU time.
 *
 * Returns: the bytes
 */
guint64
coffer_backup_estimate (CofferPolicy *policy,
                        const char *const *skip_paths,
                        GCancellable *cancellable)
{
  g_autofree Sizer *sizer = g_new0 (Sizer, 1);
  GPtrArray *items;
  guint64 total = 0;

  g_return_val_if_fail (policy != NULL, 0);

  items = policy->items;
  sizer->policy = policy;
  sizer->skip = skip_set_new (skip_paths);
  sizer->linked = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  sizer->cancellable = cancellable;
  for (guint i = 0; i < items->len && !g_cancellable_is_cancelled (cancellable); i++)
    {
      const char *item = g_ptr_array_index (items, i);
      struct stat st;
      int fd;

      if (below_another_item (items, item) || g_hash_table_contains (sizer->skip, item) ||
          lstat (item, &st) != 0)
        continue;
      if (S_ISREG (st.st_mode))
        total += size_file (sizer, &st);
      else if (S_ISDIR (st.st_mode) &&
               (fd = open (item, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) >= 0)
        {
          total += size_dir (sizer, fd, item, st.st_dev);
          close (fd);
        }
    }
  g_hash_table_unref (sizer->skip);
  g_hash_table_unref (sizer->linked);
  return total;
}

static gpointer
estimate_run (gpointer data)
{
  Backup *backup = data;
  guint64 total = coffer_backup_estimate (backup->options->policy, backup->options->skip_paths,
                                          backup->sizer_cancellable);

  if (!g_cancellable_is_cancelled (backup->sizer_cancellable))
    __atomic_store_n (&backup->estimate, MAX (total, 1), __ATOMIC_RELAXED);
  return NULL;
}

/* What bytes_scanned should reach: exact once the walk is done, the
 * estimate or the last backup's total before, if there is one. */
static guint64
bytes_expected (Backup *backup)
{
  guint64 found = __atomic_load_n (&backup->bytes_found, __ATOMIC_RELAXED);
  guint64 guess = __atomic_load_n (&backup->estimate, __ATOMIC_RELAXED);

  if (g_atomic_int_get (&backup->walk_done))
    return found;
  if (guess == 0)
    guess = backup->options->expected_bytes;
  return guess == 0 ? 0 : MAX (guess, found);
}

/* ---- The whole backup ----------------------------------------------------- */

/**
 * coffer_backup_load_index:
 * @vault: the vault
 * @machine_id: whose index
 * @keys: that machine's keys
 * @index: (type CofferIndex): the index to fill
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Reads a machine's index into @index, as coffer_index_load_from_vault()
 * does: a damaged or foreign index file or pack is logged and costs only
 * what it holds (packs no index file names are read from their headers).
 */
gboolean
coffer_backup_load_index (CofferVault *vault,
                          const char *machine_id,
                          const CofferMasterKeys *keys,
                          gpointer index,
                          GCancellable *cancellable,
                          GError **error)
{
  g_autoptr (CofferIndexReport) report = NULL;

  if (!coffer_index_load_from_vault (vault, machine_id, keys, index, &report, cancellable, error))
    return FALSE;
  for (guint i = 0; i < report->problems->len; i++)
    {
      CofferFailedItem *item = g_ptr_array_index (report->problems, i);

      g_message ("%s: %s (coffer check --repair mends this)", item->path, item->reason);
    }
  return TRUE;
}

static void
report (Backup *backup, const char *phase)
{
  backup->totals.phase = phase;
  backup->totals.bytes_expected = bytes_expected (backup);
  if (backup->options->progress != NULL)
    backup->options->progress (&backup->totals, backup->options->progress_data);
}

static gpointer
prepare_files_cache (gpointer data)
{
  Backup *backup = data;
  g_autoptr (GError) error = NULL;

  if (!coffer_files_cache_prepare (backup->files_cache, &error))
    g_warning ("The files cache will not be updated: %s", error->message);
  return NULL;
}

static void
join_cache_writer (Backup *backup)
{
  if (backup->cache_writer != NULL)
    g_thread_join (g_steal_pointer (&backup->cache_writer));
}

static void
backup_free (Backup *backup)
{
  join_cache_writer (backup);
  /* Rows of a backup that failed are dropped; committed ones stay. */
  if (backup->files_cache != NULL)
    coffer_files_cache_discard (backup->files_cache);
  g_clear_object (&backup->index);
  g_clear_pointer (&backup->chunker, coffer_chunker_free);
  g_clear_pointer (&backup->files_cache, coffer_files_cache_free);
  g_clear_pointer (&backup->ids, coffer_id_cache_free);
  g_clear_pointer (&backup->skip, g_hash_table_unref);
  g_clear_object (&backup->sizer_cancellable);
  g_clear_pointer (&backup->items, g_hash_table_unref);
  g_clear_pointer (&backup->hardlinks, g_hash_table_unref);
  g_clear_pointer (&backup->link_groups, g_ptr_array_unref);
  g_clear_pointer (&backup->pending_ids, g_hash_table_unref);
  for (guint i = 0; i < COFFER_BLOB_N_TYPES; i++)
    g_clear_pointer (&backup->writers[i], coffer_pack_writer_free);
  g_clear_pointer (&backup->pack_buffers, coffer_buffer_pool_unref);
  g_clear_pointer (&backup->failed, g_ptr_array_unref);
  g_clear_error (&backup->error);
  g_mutex_clear (&backup->lock);
  g_mutex_clear (&backup->pending_lock);
  g_mutex_clear (&backup->hardlinks_lock);
  g_cond_clear (&backup->cond);
  g_cond_clear (&backup->room_cond);
  g_cond_clear (&backup->walked_cond);
  g_free (backup);
}

/* The files the walker may hold open at once: a quarter of what this
 * process may open (the rest is for folders, the vault and the agent),
 * between 16 and 256. */
static gint
max_open_files (void)
{
  struct rlimit limit;

  if (getrlimit (RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY)
    return 256;
  return (gint) CLAMP (limit.rlim_cur / 4, 16, 256);
}

static Backup *
backup_new (const CofferBackupOptions *options, GCancellable *cancellable, GError **error)
{
  Backup *backup = g_new0 (Backup, 1);

  backup->options = options;
  backup->cancellable = cancellable;
  g_mutex_init (&backup->lock);
  g_mutex_init (&backup->pending_lock);
  g_mutex_init (&backup->hardlinks_lock);
  g_cond_init (&backup->cond);
  g_cond_init (&backup->room_cond);
  g_cond_init (&backup->walked_cond);
  backup->index = coffer_index_new ();
  backup->chunker = coffer_chunker_new (options->keys->chunker, COFFER_CHUNK_MIN, COFFER_CHUNK_AVG,
                                        COFFER_CHUNK_MAX);
  backup->ids = coffer_id_cache_new ();
  backup->skip = skip_set_new (options->skip_paths);
  backup->sizer_cancellable = g_cancellable_new ();
  backup->items = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  backup->hardlinks = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  backup->link_groups = g_ptr_array_new_with_free_func ((GDestroyNotify) link_group_free);
  backup->pending_ids =
      g_hash_table_new_full (coffer_blob_id_hash, coffer_blob_id_equal, g_free, NULL);
  backup->failed = g_ptr_array_new_with_free_func ((GDestroyNotify) coffer_failed_item_free);
  backup->last_checkpoint = g_get_monotonic_time ();
  backup->max_open_files = max_open_files ();
  /* As many uploaders as the store serves requests at once: two for a
   * folder, the concurrency setting (4 by default) for a network vault. */
  backup->n_uploaders = coffer_store_get_concurrency (coffer_vault_get_store (options->vault));
  /* Enough pack buffers for the data writer and every pack in flight. The
   * tree writer, slow to fill, has buffers of its own: holding a pooled
   * one, every page of it a data pack once touched, would cost memory. */
  backup->pack_buffers = coffer_buffer_pool_new (COFFER_PACK_BUFFER_SIZE,
                                                 1 + backup->n_uploaders + EXTRA_PACKS_IN_FLIGHT);
  for (guint i = 0; i < COFFER_BLOB_N_TYPES; i++)
    backup->writers[i] = coffer_pack_writer_new (options->keys, i, writer_pool (backup, i));

  for (guint i = 0; i < options->policy->items->len; i++)
    g_hash_table_add (backup->items, g_strdup (g_ptr_array_index (options->policy->items, i)));

  backup->files_cache = coffer_files_cache_open (options->cache_dir, options->machine_id, error);
  if (backup->files_cache == NULL)
    {
      backup_free (backup);
      return NULL;
    }
  return backup;
}

/* Walks every item, then waits for the workers and the uploads. */
static void
run_pipeline (Backup *backup)
{
  g_autoptr (GError) error = NULL;
  Prefix *prefixes = build_prefixes (backup->options->policy->items);
  Dir *root = dir_new (NULL, NULL);
  g_autofree Walker *walker = g_new0 (Walker, 1);
  int root_fd;

  walker->backup = backup;
  root_fd = open ("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (prefixes->is_item)
    {
      struct stat st;
      fstat (root_fd, &st);
      walk_dir (walker, root, root_fd, "/", st.st_dev, 0);
    }
  else
    {
      walk_prefix (walker, root, prefixes, root_fd, "/");
      dir_release (backup, root);
    }
  close (root_fd);
  prefix_free (prefixes);
  /* Whatever the walker still holds, even when it stopped early: the
   * workers close its files and release its folders. */
  submit_batch (walker);
  /* The subfolders handed over are walked, and their batches handed on. */
  g_mutex_lock (&backup->lock);
  while (backup->subfolders_handed > 0)
    g_cond_wait (&backup->walked_cond, &backup->lock);
  g_mutex_unlock (&backup->lock);
  g_thread_pool_free (g_steal_pointer (&backup->walkers), FALSE, TRUE);
  g_atomic_int_set (&backup->walk_done, TRUE);
  g_cancellable_cancel (backup->sizer_cancellable);

  /* The workers finish their files; the last one finishes the root. The
   * sealers then finish the chunks they were given. */
  g_thread_pool_free (g_steal_pointer (&backup->workers), FALSE, TRUE);
  /* Every file's row is staged: they are written (not committed) while
   * the last chunks are sealed and the last packs uploaded. */
  if (!stopped (backup))
    backup->cache_writer = g_thread_new ("coffer-files-cache", prepare_files_cache, backup);
  g_thread_pool_free (g_steal_pointer (&backup->sealers), FALSE, TRUE);

  g_mutex_lock (&backup->lock);
  if (backup->error == NULL)
    {
      for (guint i = 0; i < COFFER_BLOB_N_TYPES; i++)
        flush_pack_locked (backup, i);
    }
  g_mutex_unlock (&backup->lock);
  g_thread_pool_free (g_steal_pointer (&backup->uploaders), FALSE, TRUE);
}

/**
 * coffer_backup_run:
 * @options: what to back up, and where
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Backs up the policy's items and writes a recovery point. Files that cannot
 * be read do not fail the backup: they are in the result's failed items.
 * Blocks: call from a worker thread.
 *
 * Returns: (transfer full): the result, or %NULL with @error set
 */
CofferBackupResult *
coffer_backup_run (const CofferBackupOptions *options, GCancellable *cancellable, GError **error)
{
  CofferBackupOptions defaults = *options;
  CofferTicker *ticker = NULL;
  g_autoptr (CofferBackupResult) result = NULL;
  g_autoptr (CofferSnapshot) snapshot = NULL;
  Backup *backup;
  gint64 started = g_get_real_time () / G_USEC_PER_SEC;

  g_return_val_if_fail (options != NULL && options->policy != NULL, NULL);

  if (options->time > 0)
    started = options->time;

  if (options->policy->items->len == 0)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "There is nothing to back up: add items with “coffer policy set --add”.");
      return NULL;
    }
  if (defaults.workers == 0)
    defaults.workers = MAX (1, g_get_num_processors ());

  backup = backup_new (&defaults, cancellable, error);
  if (backup == NULL)
    return NULL;

  report (backup, "Preparing storage…");
  if (!coffer_backup_load_index (options->vault, options->machine_id, options->keys, backup->index,
                                 cancellable, error))
    {
      g_prefix_error (error, "Reading the vault's index: ");
      backup_free (backup);
      return NULL;
    }

  report (backup, "Data transfer is in progress…");
  /* One walker per core. The job's thread walks only until it has handed
   * the items over: it could not take a subfolder back from the pool. */
  backup->walkers = g_thread_pool_new (subfolder_run, backup, defaults.workers, TRUE, NULL);
  backup->idle_walkers = defaults.workers;
  backup->workers = g_thread_pool_new (file_run, backup, defaults.workers, TRUE, NULL);
  backup->sealers = g_thread_pool_new (seal_run, backup, defaults.workers, TRUE, NULL);
  backup->uploaders = g_thread_pool_new (upload_run, backup, backup->n_uploaders, TRUE, NULL);
  if (options->progress != NULL && options->expected_bytes == 0)
    backup->sizer = g_thread_new ("coffer-estimate", estimate_run, backup);
  if (options->progress != NULL)
    ticker = coffer_ticker_start ("coffer-progress", 250, report_tick, backup);
  run_pipeline (backup);
  coffer_ticker_stop (g_steal_pointer (&ticker));
  if (backup->sizer != NULL)
    g_thread_join (g_steal_pointer (&backup->sizer));

  /* Whatever was uploaded is named in the index, even when the backup
   * failed or was cancelled (hence no cancellable): the next one builds on
   * it. */
  {
    g_autoptr (GError) index_error = NULL;

    if (!write_index (backup, NULL, &index_error) && backup->error == NULL)
      backup->error = g_steal_pointer (&index_error);
  }
  if (backup->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&backup->error));
      backup_free (backup);
      return NULL;
    }
  g_assert (backup->root_done);

  report (backup, "Verifying data integrity…");
  snapshot = g_new0 (CofferSnapshot, 1);
  snapshot->time = started;
  snapshot->on_demand = options->on_demand;
  snapshot->retain_until = options->on_demand ? options->retain_until : 0;
  memcpy (snapshot->root, backup->root_id, sizeof snapshot->root);
  snapshot->items = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < options->policy->items->len; i++)
    g_ptr_array_add (snapshot->items, g_strdup (g_ptr_array_index (options->policy->items, i)));
  snapshot->host = g_strdup (g_get_host_name ());
  snapshot->files = backup->files_stored - backup->lost_link_names;
  snapshot->bytes = backup->totals.bytes_scanned;
  if (!coffer_snapshot_put (options->vault, options->machine_id, options->keys, snapshot,
                            cancellable, error))
    {
      g_prefix_error (error, "Writing the recovery point: ");
      backup_free (backup);
      return NULL;
    }

  /* Only now may the files cache name these chunks. */
  {
    g_autoptr (GError) cache_error = NULL;
    join_cache_writer (backup);
    if (!coffer_files_cache_commit (backup->files_cache, &cache_error))
      g_warning ("The files cache was not updated: %s", cache_error->message);
  }

  report (backup, "Job completed.");
  result = g_new0 (CofferBackupResult, 1);
  result->snapshot = g_steal_pointer (&snapshot);
  result->totals = backup->totals;
  result->failed = g_steal_pointer (&backup->failed);
  backup_free (backup);
  return g_steal_pointer (&result);
}
