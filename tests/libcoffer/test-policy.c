/* test-policy.c: exclusions skip what the user said, and nothing else. */
#include "config.h"

#include "coffer.h"

static CofferPolicy *
make_policy (const char *const *exclusions, const char *const *inclusions)
{
  g_autofree char *state_dir = coffer_paths_state_dir ();
  g_autoptr (CofferCatalog) catalog = NULL;
  g_autoptr (GArray) edits = g_array_new (FALSE, FALSE, sizeof (CofferPolicyEdit));
  g_autoptr (GError) error = NULL;
  CofferPolicy *policy;

  catalog = coffer_catalog_open (state_dir, &error);
  g_assert_no_error (error);
  for (guint i = 0; exclusions != NULL && exclusions[i] != NULL; i++)
    {
      CofferPolicyEdit edit = { "exclude", exclusions[i], TRUE };
      g_assert_true (coffer_policy_check_pattern (exclusions[i], NULL));
      g_array_append_val (edits, edit);
    }
  for (guint i = 0; inclusions != NULL && inclusions[i] != NULL; i++)
    {
      CofferPolicyEdit edit = { "include", inclusions[i], TRUE };
      g_array_append_val (edits, edit);
    }
  g_assert_true (
      coffer_catalog_edit_policy (catalog, (CofferPolicyEdit *) edits->data, edits->len, &error));
  policy = coffer_policy_load (catalog, &error);
  g_assert_no_error (error);
  return policy;
}

static void
test_exclusion_kinds (void)
{
  const char *exclusions[] = { "/srv/cache", "/home/u/Downloads/*", ".tmp", "*.MP3",
                               "*~",         "/home/*/scratch",     NULL };
  g_autoptr (CofferPolicy) policy = make_policy (exclusions, NULL);
  const struct
  {
    const char *path;
    gboolean is_dir;
    gboolean excluded;
  } cases[] = {
    /* A folder, with its subfolders. */
    { "/srv/cache", TRUE, TRUE },
    { "/srv/cache/a/b/c.txt", FALSE, TRUE },
    { "/srv/cache-old/c.txt", FALSE, FALSE },
    { "/srv", TRUE, FALSE },
    /* A folder's own files, not its subfolders. */
    { "/home/u/Downloads/setup.iso", FALSE, TRUE },
    { "/home/u/Downloads/keep", TRUE, FALSE },
    { "/home/u/Downloads/keep/notes.txt", FALSE, FALSE },
    /* File types, in any case, files only. */
    { "/home/u/a.tmp", FALSE, TRUE },
    { "/home/u/A.TMP", FALSE, TRUE },
    { "/home/u/song.mp3", FALSE, TRUE },
    { "/home/u/folder.tmp", TRUE, FALSE },
    { "/home/u/.tmp", FALSE, FALSE },
    { "/home/u/tmp", FALSE, FALSE },
    /* Name globs. */
    { "/home/u/notes.txt~", FALSE, TRUE },
    { "/home/u/notes.txt", FALSE, FALSE },
    /* Absolute globs: '*' stays within one component. */
    { "/home/u/scratch", TRUE, TRUE },
    { "/home/u/v/scratch", TRUE, FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    if (coffer_policy_is_excluded (policy, cases[i].path, cases[i].is_dir) != cases[i].excluded)
      g_error ("%s should %sbe excluded", cases[i].path, cases[i].excluded ? "" : "not ");
}

static void
test_inclusions_win (void)
{
  const char *exclusions[] = { ".log", NULL };
  const char *inclusions[] = { "important.log", NULL };
  g_autoptr (CofferPolicy) policy = make_policy (exclusions, inclusions);

  g_assert_true (coffer_policy_is_excluded (policy, "/var/app/debug.log", FALSE));
  g_assert_false (coffer_policy_is_excluded (policy, "/var/app/important.log", FALSE));
}

static void
test_rules (void)
{
  const char *bad_items[] = { "", "relative/path", "/a/../b", "/a/./b", "/a//b" };
  const char *bad_patterns[] = { "", "some/relative/*" };

  for (gsize i = 0; i < G_N_ELEMENTS (bad_items); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_false (coffer_policy_check_item (bad_items[i], &error));
      g_assert_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (bad_patterns); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_false (coffer_policy_check_pattern (bad_patterns[i], &error));
      g_assert_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT);
    }
  g_assert_true (coffer_policy_check_item ("/home/u/Documents", NULL));
  g_assert_true (coffer_policy_check_item ("/", NULL));
}

static void
test_edits_are_all_or_nothing (void)
{
  g_autofree char *state_dir = coffer_paths_state_dir ();
  g_autoptr (CofferCatalog) catalog = coffer_catalog_open (state_dir, NULL);
  g_autoptr (GPtrArray) items = NULL;
  g_autoptr (GError) error = NULL;
  const CofferPolicyEdit good[] = {
    { "item", "/home/u", TRUE },
    { "item", "/home/u", TRUE }, /* idempotent */
    { "item", "/etc", TRUE },
  };
  const CofferPolicyEdit bad[] = {
    { "item", "/srv", TRUE }, { "no-such-kind", "x", TRUE }, /* the catalog's CHECK refuses it */
  };

  g_assert_true (coffer_catalog_edit_policy (catalog, good, G_N_ELEMENTS (good), &error));
  g_assert_no_error (error);
  g_assert_false (coffer_catalog_edit_policy (catalog, bad, G_N_ELEMENTS (bad), &error));
  g_assert_nonnull (error);

  items = coffer_catalog_get_policy (catalog, "item", NULL);
  g_assert_cmpuint (items->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (items, 0), ==, "/etc");
  g_assert_cmpstr (g_ptr_array_index (items, 1), ==, "/home/u");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/libcoffer/policy/exclusion-kinds", test_exclusion_kinds);
  g_test_add_func ("/libcoffer/policy/inclusions-win", test_inclusions_win);
  g_test_add_func ("/libcoffer/policy/rules", test_rules);
  g_test_add_func ("/libcoffer/policy/edits-are-all-or-nothing", test_edits_are_all_or_nothing);

  return g_test_run ();
}
