/* coffer-policy.c: what to back up — items, exclusions and inclusions.
 *
 * Items are absolute paths. Exclusions and inclusions are patterns, matched
 * against the absolute path of each file and folder the walker meets:
 *
 *   /srv/cache      that folder (or file) and everything below it
 *                   ("subfolders: yes", the reference's default)
 *   /srv/cache/\*   the files directly in that folder, not its subfolders
 *                   ("subfolders: no")
 *   .tmp, *.tmp     a file type: files whose name ends so, in any case
 *   *~, core.[0-9]* a glob on the name of a file or folder
 *   /home/\*\/tmp    an absolute glob on the whole path ('*' stops at '/')
 *
 * A path an exclusion matches is skipped unless an inclusion matches it too.
 * Everything else about what is never backed up (the state and cache
 * folders, local vaults, /proc, /sys, /dev, /run, CACHEDIR.TAG) is the
 * walker's, not the policy's.
 */
#include "config.h"

#include "coffer-policy.h"

#include "coffer-error.h"
#include "coffer-input.h"

#include <fnmatch.h>
#include <string.h>

typedef enum
{
  PATTERN_SUBTREE,  /* an absolute path: it and everything below */
  PATTERN_CHILDREN, /* an absolute path, then "/" and "*": the files directly in it */
  PATTERN_TYPE,     /* ".ext": files whose name ends with it, in any case */
  PATTERN_NAME,     /* a glob on the last component */
  PATTERN_PATH,     /* an absolute glob on the whole path */
} PatternKind;

typedef struct
{
  PatternKind kind;
  char *text; /* the path, suffix or glob, without the decoration */
} Pattern;

static void
pattern_free (Pattern *pattern)
{
  g_free (pattern->text);
  g_free (pattern);
}

static gboolean
has_glob (const char *text)
{
  return strpbrk (text, "*?[") != NULL;
}

static Pattern *
pattern_compile (const char *source)
{
  Pattern *pattern = g_new0 (Pattern, 1);
  gsize length = strlen (source);

  g_autofree char *folder = length > 2 ? g_strndup (source, length - 2) : NULL;

  if (source[0] == '/' && folder != NULL && g_str_has_suffix (source, "/*") && !has_glob (folder))
    {
      pattern->kind = PATTERN_CHILDREN;
      pattern->text = g_canonicalize_filename (folder, "/");
    }
  else if (source[0] == '/' && !has_glob (source))
    {
      pattern->kind = PATTERN_SUBTREE;
      pattern->text = g_canonicalize_filename (source, "/");
    }
  else if (source[0] == '/')
    {
      pattern->kind = PATTERN_PATH;
      pattern->text = g_strdup (source);
    }
  else if ((source[0] == '.' && !has_glob (source + 1) && strchr (source, '/') == NULL) ||
           (source[0] == '*' && source[1] == '.' && !has_glob (source + 2)))
    {
      pattern->kind = PATTERN_TYPE;
      pattern->text = g_strdup (source[0] == '*' ? source + 1 : source);
    }
  else
    {
      pattern->kind = PATTERN_NAME;
      pattern->text = g_strdup (source);
    }
  return pattern;
}

static gboolean
is_below (const char *path, const char *folder)
{
  gsize length = strlen (folder);

  if (g_str_equal (folder, "/"))
    return TRUE;
  return strncmp (path, folder, length) == 0 && (path[length] == '\0' || path[length] == '/');
}

static gboolean
pattern_matches (const Pattern *pattern, const char *path, gboolean is_dir)
{
  const char *name = strrchr (path, '/');
  g_autofree char *parent = NULL;

  name = name != NULL ? name + 1 : path;
  switch (pattern->kind)
    {
      case PATTERN_SUBTREE:
        return is_below (path, pattern->text);
      case PATTERN_CHILDREN:
        if (is_dir)
          return FALSE;
        parent = g_path_get_dirname (path);
        return g_str_equal (parent, pattern->text);
      case PATTERN_TYPE:
        {
          gsize name_length = strlen (name);
          gsize suffix_length = strlen (pattern->text);

          return !is_dir && name_length > suffix_length &&
                 g_ascii_strcasecmp (name + name_length - suffix_length, pattern->text) == 0;
        }
      case PATTERN_NAME:
        return fnmatch (pattern->text, name, FNM_PERIOD) == 0;
      case PATTERN_PATH:
        return fnmatch (pattern->text, path, FNM_PATHNAME | FNM_PERIOD) == 0;
      default:
        g_assert_not_reached ();
    }
}

void
coffer_policy_free (CofferPolicy *policy)
{
  if (policy == NULL)
    return;

  g_clear_pointer (&policy->items, g_ptr_array_unref);
  g_clear_pointer (&policy->exclusions, g_ptr_array_unref);
  g_clear_pointer (&policy->inclusions, g_ptr_array_unref);
  g_clear_pointer (&policy->compiled_exclusions, g_ptr_array_unref);
  g_clear_pointer (&policy->compiled_inclusions, g_ptr_array_unref);
  g_free (policy);
}

static GPtrArray *
compile_all (GPtrArray *sources)
{
  GPtrArray *compiled = g_ptr_array_new_with_free_func ((GDestroyNotify) pattern_free);

  for (guint i = 0; i < sources->len; i++)
    g_ptr_array_add (compiled, pattern_compile (g_ptr_array_index (sources, i)));
  return compiled;
}

/**
 * coffer_policy_load:
 * @catalog: the agent's catalog
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the policy the catalog records
 */
CofferPolicy *
coffer_policy_load (CofferCatalog *catalog, GError **error)
{
  g_autoptr (CofferPolicy) policy = g_new0 (CofferPolicy, 1);

  policy->items = coffer_catalog_get_policy (catalog, "item", error);
  if (policy->items == NULL)
    return NULL;
  policy->exclusions = coffer_catalog_get_policy (catalog, "exclude", error);
  if (policy->exclusions == NULL)
    return NULL;
  policy->inclusions = coffer_catalog_get_policy (catalog, "include", error);
  if (policy->inclusions == NULL)
    return NULL;
  policy->compiled_exclusions = compile_all (policy->exclusions);
  policy->compiled_inclusions = compile_all (policy->inclusions);
  return g_steal_pointer (&policy);
}

/* @noun names the kind of text after "as" ("an item"). */
static gboolean
check_text (const char *text, const char *what, const char *noun, GError **error)
{
  if (text != NULL && !g_utf8_validate (text, -1, NULL))
    {
      g_autofree char *shown = coffer_input_escape (text, -1);

      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "“%s” is not valid UTF-8; Coffer cannot take it as %s yet.", shown, noun);
      return FALSE;
    }
  if (text == NULL || *text == '\0' || strlen (text) > 4096)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "%s must be between 1 and 4,096 bytes of text.", what);
      return FALSE;
    }
  return TRUE;
}

/**
 * coffer_policy_check_item:
 * @path: a proposed backup item
 * @error: return location for a #GError
 *
 * An item is an absolute path, without "." or ".." components.
 */
gboolean
coffer_policy_check_item (const char *path, GError **error)
{
  g_autofree char *canonical = NULL;

  if (!check_text (path, "A backup item", "an item", error))
    return FALSE;
  if (!g_path_is_absolute (path))
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "A backup item must be an absolute path, not “%s”.", path);
      return FALSE;
    }
  canonical = g_canonicalize_filename (path, "/");
  if (!g_str_equal (canonical, path))
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "Write the backup item “%s” as “%s”.", path, canonical);
      return FALSE;
    }
  return TRUE;
}

/**
 * coffer_policy_check_pattern:
 * @pattern: a proposed exclusion or inclusion
 * @error: return location for a #GError
 *
 * A pattern is an absolute path (a folder and its subfolders), an absolute
 * path ending in "/\*" (only that folder's files), a file type such as
 * ".tmp", or a glob on a name (no '/') or on an absolute path.
 */
gboolean
coffer_policy_check_pattern (const char *pattern, GError **error)
{
  if (!check_text (pattern, "An exclusion", "a pattern", error))
    return FALSE;
  if (pattern[0] != '/' && strchr (pattern, '/') != NULL)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "“%s” is neither a folder (an absolute path, or /path/* for the files "
                   "directly in it), a file type such as .tmp, nor a name pattern such as *~.",
                   pattern);
      return FALSE;
    }
  return TRUE;
}

static gboolean
any_matches (GPtrArray *patterns, const char *path, gboolean is_dir)
{
  for (guint i = 0; i < patterns->len; i++)
    if (pattern_matches (g_ptr_array_index (patterns, i), path, is_dir))
      return TRUE;
  return FALSE;
}

/**
 * coffer_policy_is_excluded:
 * @self: a #CofferPolicy
 * @path: an absolute path the walker met
 * @is_dir: whether it is a folder
 *
 * Returns: %TRUE when an exclusion matches @path and no inclusion does
 */
gboolean
coffer_policy_is_excluded (CofferPolicy *self, const char *path, gboolean is_dir)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return any_matches (self->compiled_exclusions, path, is_dir) &&
         !any_matches (self->compiled_inclusions, path, is_dir);
}
