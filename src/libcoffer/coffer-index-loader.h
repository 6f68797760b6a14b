/* coffer-index-loader.h: a machine's index, read from the vault so that one
 * bad object costs only what it holds. */
#pragma once

#include <gio/gio.h>

#include "coffer-index.h"
#include "coffer-keys.h"
#include "coffer-vault.h"

G_BEGIN_DECLS

/**
 * CofferIndexReport:
 * @problems: (element-type CofferFailedItem): each index file or pack that
 *   could not be used, named, with why
 * @bad_index_files: (element-type utf8): object names of the index files
 *   that could not be read (damaged, foreign, cut short, not a file)
 * @bad_packs: (element-type utf8): object names of packs no index file names
 *   and whose header cannot be read
 * @missing_packs: (element-type utf8): packs (64 hex digits) an index file
 *   names that are not in the vault; the index forgets them
 * @short_packs: (element-type utf8): packs (64 hex digits) smaller than what
 *   an index file says they hold
 * @scanned_packs: (element-type utf8): packs no index file names, read from
 *   their own headers (an interrupted backup leaves them; so does a lost
 *   index file); the index holds them as pending entries
 * @packs: (element-type CofferStoreEntry): every object under data/
 * @index_files: how many index files were read
 *
 * What coffer_index_load_from_vault() found on its way.
 */
typedef struct
{
  GPtrArray *problems;
  GPtrArray *bad_index_files;
  GPtrArray *bad_packs;
  GPtrArray *missing_packs;
  GPtrArray *short_packs;
  GPtrArray *scanned_packs;
  GPtrArray *packs;
  guint index_files;
} CofferIndexReport;

void coffer_index_report_free (CofferIndexReport *report);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CofferIndexReport, coffer_index_report_free)

gboolean coffer_index_load_from_vault (CofferVault *vault,
                                       const char *machine_id,
                                       const CofferMasterKeys *keys,
                                       CofferIndex *index,
                                       CofferIndexReport **out_report,
                                       GCancellable *cancellable,
                                       GError **error);

GArray *coffer_index_read_pack_header (CofferVault *vault,
                                       const CofferMasterKeys *keys,
                                       const char *object,
                                       guint64 size,
                                       GCancellable *cancellable,
                                       GError **error);

gboolean coffer_error_stops_reading (const GError *error);

G_END_DECLS
