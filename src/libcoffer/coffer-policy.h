/* coffer-policy.h: what to back up — items, exclusions and inclusions. */
#pragma once

#include <gio/gio.h>

#include "coffer-catalog.h"

G_BEGIN_DECLS

/**
 * CofferPolicy:
 * @items: absolute paths of the files and folders to back up, sorted
 * @exclusions: patterns of what not to back up (see coffer_policy_check_pattern())
 * @inclusions: patterns that win over the exclusions
 *
 * The backup items of this machine's policy. The schedule and retention
 * come with the scheduler.
 */
typedef struct
{
  GPtrArray *items;
  GPtrArray *exclusions;
  GPtrArray *inclusions;
  /*< private >*/
  GPtrArray *compiled_exclusions;
  GPtrArray *compiled_inclusions;
} CofferPolicy;

void coffer_policy_free (CofferPolicy *policy);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CofferPolicy, coffer_policy_free)

CofferPolicy *coffer_policy_load (CofferCatalog *catalog, GError **error);
gboolean coffer_policy_check_item (const char *path, GError **error);
gboolean coffer_policy_check_pattern (const char *pattern, GError **error);
gboolean coffer_policy_is_excluded (CofferPolicy *self, const char *path, gboolean is_dir);

G_END_DECLS
